"""Open answers: fill-in (``text``) items and the 其他 texts of choice items, summarised for the report.

Three long tables, one row group per questionnaire × open column (``source`` = ``text`` for a fill-in item's own
column, ``other`` for ``<item>_other_text``):

- ``open_answers``: how many respondents wrote something, how many of them said nothing (an answer that is, as
  a whole, one of the no-comment texts 无 / 没有意见 … of ``analysis.yaml: open_answers.no_comment``), the
  length of the substantive answers in characters (mean, median, max) and their number of words;
- ``open_answer_terms``: the most frequent words (``kind`` = ``word``) and two-word phrases (``kind`` =
  ``phrase``: two adjacent words, both kept) of the substantive answers, counted once per answer (``n`` =
  answers containing it, ``percent`` of the substantive answers) and in total (``occurrences``);
- ``open_answer_samples``: a deterministic sample of substantive answers for the appendix: the distinct texts
  ordered by the SHA-256 of the run's seed and the text, the first ``samples`` kept.

Counts are of respondents, unweighted: open answers are quoted and counted, not estimated. The texts were
masked at ingest (:mod:`pipeline.ingest.masking`); they are masked once more here (idempotent) so that nothing
this module writes can hold a phone or ID number, and mask placeholders (``[电话]``) are not counted as words. A
name typed beside a title (``王小明主任``) is hidden as in the name review list (``○○○主任``,
:func:`pipeline.clean.names.hide_names`) before anything is counted or sampled.

Words come from ``rjieba`` (bindings to jieba-rs, the maintained Rust port of jieba's dictionary and HMM
segmenter; the Python ``jieba`` package has had no release since 2020). Stop words: the Chinese function words
of ``stop_words.txt`` beside this module plus ``analysis.yaml: open_answers.stop_words``; words shorter than
``min_chars`` characters and tokens without a letter (punctuation, numbers) are left out.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from functools import cache
from importlib import resources

import pandas as pd

from pipeline.clean.names import hide_names
from pipeline.config import Config
from pipeline.config.analysis import OpenAnswers
from pipeline.config.codebook import Codebook, CodebookItem
from pipeline.describe.common import item_labels
from pipeline.ingest.masking import MASKS, mask_series
from pipeline.schemas import column_names

TABLES = ("open_answers", "open_answer_terms", "open_answer_samples")
"""The open-answer tables of 06_describe, in writing order."""
NO_COMMENT = (
    "无", "没有", "暂无", "无意见", "没有意见", "暂无意见", "无建议", "没有建议", "暂无建议", "无意见建议",
    "没有意见建议", "没意见", "没什么", "没什么意见", "没什么建议", "不知道", "不清楚", "说不清", "无所谓",
    "挺好", "挺好的", "很好", "都好", "还好", "还行", "可以", "好", "满意", "没", "否", "/", "-", "—", "...",
    "…", "。", "略", "无无", "nothing", "none", "no", "na", "n/a",
)  # fmt: skip
"""Default no-comment answers (compared after NFKC, lower case, spaces and end punctuation removed)."""
_PLACEHOLDERS = re.compile("|".join(re.escape(p) for p in dict.fromkeys(ph for _, ph in MASKS)))
_END_PUNCT = " \t\r\n\u3000。.!！?？,，;；~～、"


@cache
def default_stop_words() -> frozenset[str]:
    """The stop words shipped with the package (``stop_words.txt``: one a line, ``#`` comments)."""
    text = resources.files("pipeline.describe").joinpath("stop_words.txt").read_text(encoding="utf-8")
    return frozenset(w.strip() for w in text.splitlines() if w.strip() and not w.startswith("#"))


def stop_words(settings: OpenAnswers) -> frozenset[str]:
    """The default stop words (unless switched off) and the configured ones."""
    base = default_stop_words() if settings.default_stop_words else frozenset()
    return base | frozenset(w.strip() for w in settings.stop_words if w.strip())


def normalised(text: str) -> str:
    """An answer folded for comparison with the no-comment list: NFKC, lower case, spaces and end punctuation
    stripped."""
    return unicodedata.normalize("NFKC", text).lower().strip(_END_PUNCT)


def open_columns(codebook: Codebook, frame: pd.DataFrame) -> list[tuple[CodebookItem, str, str]]:
    """``(item, source, column)`` of every open column of a questionnaire present in ``frame``, in form
    order: a fill-in item's own column (``text``) and each choice item's ``<id>_other_text`` (``other``)."""
    found = []
    for item in codebook.items:
        if item.type == "text" and item.id in frame.columns:
            found.append((item, "text", item.id))
        elif any(o.other for o in item.options) and f"{item.id}_other_text" in frame.columns:
            found.append((item, "other", f"{item.id}_other_text"))
    return found


def words(text: str, stop: frozenset[str], min_chars: int) -> list[str | None]:
    """The words of one answer, in order: rjieba's segmentation of the text with mask placeholders removed.
    A stop word, a token shorter than ``min_chars`` or a token holding no letter (punctuation, numbers) is
    left out and leaves a ``None`` in its place, so that phrases are only made of words adjacent in the text."""
    import rjieba

    cleaned = _PLACEHOLDERS.sub(" ", unicodedata.normalize("NFKC", text))
    out: list[str | None] = []
    for token in rjieba.cut(cleaned):
        token = token.strip().lower()
        if not token:
            continue
        keep = len(token) >= min_chars and token not in stop and any(c.isalpha() for c in token)
        out.append(token if keep else None)
    return out


def _sample_order(seed: int, text: str) -> str:
    return hashlib.sha256(f"{seed}\x1f{text}".encode()).hexdigest()


def summarise_column(
    answers: pd.Series, settings: OpenAnswers, *, seed: int, stop: frozenset[str]
) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    """(summary row, terms, samples) of one open column (one value per respondent; missing = no answer)."""
    texts = mask_series(answers).dropna().astype(str)
    texts = texts[texts.str.strip() != ""]
    texts = texts.map(lambda t: hide_names(t)[0]).astype(str)
    no_comment = frozenset(normalised(t) for t in (settings.no_comment or NO_COMMENT))
    said_nothing = texts.map(lambda t: normalised(t) in no_comment).astype(bool)
    substantive = texts[~said_nothing]
    lengths = substantive.map(lambda t: len(t.strip())).astype(float)
    segmented = {t: words(t, stop, settings.min_chars) for t in substantive.unique()}
    doc_freq: Counter[tuple[str, str]] = Counter()
    occurrences: Counter[tuple[str, str]] = Counter()
    n_words = 0
    for text in substantive:
        ws = segmented[text]
        phrases = [("phrase", a + b) for a, b in zip(ws, ws[1:], strict=False) if a and b]
        terms = [("word", w) for w in ws if w]
        n_words += len(terms)
        terms += phrases
        occurrences.update(terms)
        doc_freq.update(set(terms))
    summary = {
        "n_answers": len(texts),
        "n_no_comment": int(said_nothing.sum()),
        "n_substantive": len(substantive),
        "mean_chars": float(lengths.mean()) if len(lengths) else float("nan"),
        "median_chars": float(lengths.median()) if len(lengths) else float("nan"),
        "max_chars": int(lengths.max()) if len(lengths) else 0,
        "n_words": n_words,
        "n_distinct_words": sum(1 for kind, _ in occurrences if kind == "word"),
    }
    rows = []
    for kind in ("word", "phrase"):
        ranked = sorted(
            ((term, n) for (k, term), n in doc_freq.items() if k == kind and (kind == "word" or n > 1)),
            key=lambda tn: (-tn[1], -occurrences[(kind, tn[0])], tn[0]),
        )[: settings.top_terms]
        for rank, (term, n) in enumerate(ranked, start=1):
            rows.append(
                {
                    "kind": kind,
                    "rank": rank,
                    "term": term,
                    "n": n,
                    "percent": 100.0 * n / len(substantive),
                    "occurrences": occurrences[(kind, term)],
                }
            )
    distinct = sorted(substantive.unique(), key=lambda t: _sample_order(seed, t))[: settings.samples]
    samples = [{"rank": i, "text": t, "chars": len(t.strip())} for i, t in enumerate(distinct, start=1)]
    return summary, pd.DataFrame(rows), pd.DataFrame(samples)


def open_answer_tables(
    responses: dict[str, pd.DataFrame], config: Config, *, seed: int
) -> dict[str, pd.DataFrame]:
    """The open-answer tables of every configured questionnaire (``responses``: instrument → its 02_clean
    table; a questionnaire without responses or without open columns adds no rows)."""
    settings = config.analysis.open_answers
    stop = stop_words(settings)
    parts: dict[str, list[pd.DataFrame]] = {name: [] for name in TABLES}
    for instrument, frame in responses.items():
        questionnaire = config.questionnaire(instrument)
        if questionnaire is None or not len(frame):
            continue
        codebook = Codebook.from_config(questionnaire, config.units)
        for item, source, column in open_columns(codebook, frame):
            summary, terms, samples = summarise_column(frame[column], settings, seed=seed, stop=stop)
            keys = {"instrument": instrument, **item_labels(item), "source": source, "column": column}
            parts["open_answers"].append(pd.DataFrame([{**keys, "n_respondents": len(frame), **summary}]))
            for name, table in (("open_answer_terms", terms), ("open_answer_samples", samples)):
                if len(table):
                    parts[name].append(table.assign(**keys))
    return {name: _layout(name, found) for name, found in parts.items()}


def _layout(name: str, found: list[pd.DataFrame]) -> pd.DataFrame:
    """The parts of one table concatenated in its schema's column order, each column of its schema's kind."""
    from pipeline.schemas import empty_table

    empty = empty_table("describe", name)
    if not found:
        return empty
    table = pd.concat(found, ignore_index=True)[column_names("describe", name)]
    return table.astype(empty.dtypes.to_dict())
