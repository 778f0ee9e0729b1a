"""A questionnaire drafted from a 问卷星 export: what ``fazhi-eval codebook draft`` writes before a person edits it.

:func:`draft_from_exports` reads a parsed 按选项文本 export (:func:`pipeline.ingest.wjx.read_export`) and, when
given, the 按选项序号 export of the same responses, and returns a :class:`Draft`: numbered questions with their
wording, matrix rows, options (collected from the text cells in order of first appearance), a guessed type and the
decisions a person still has to make (``notes``). :mod:`pipeline.ingest.draft_yaml` writes it as YAML.

Option codes: with a code-mode export, each text-mode answer is paired row by row with the code 问卷星 wrote for
the same response, so the codes are 问卷星's own; multiple-choice and ranking options are coded by the position
of their ``第N题(选项)`` column. Without one, options get codes 1..k in a sensible order: Likert labels from the
favourable end, numeric bands (``1部``, ``3000-3499元``, ``18~24岁``) by their leading number, don't-know and 其他
options last (:func:`pipeline.ingest.labels.sensible_order`).

Types: ``multiple`` (``┋``-joined cells or 0/1 option columns), ``matrix`` (row sub-columns), ``ranking`` (cells
``A→B→C``), ``number`` (numbers only, many distinct values), ``text`` (most distinct answers given once), else
``single``.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.errors import DataError
from pipeline.ingest import wjx
from pipeline.ingest.columns import factorize
from pipeline.ingest.labels import (
    Likert,
    demographic_variable,
    is_exclusive,
    is_missing_like,
    is_other,
    max_choices_from_stem,
    recognise_likert,
    sensible_order,
)
from pipeline.ingest.text import cell_float, cell_text, normalize, normalize_option

TEXT_MIN_DISTINCT = 10
"""A column with more distinct answers than this (or than half its answers), most of them given once, is a
fill-in (``text``)."""
NUMBER_MIN_DISTINCT = 10
"""A numbers-only column with more distinct values than this is a fill-in number (fewer: coded choices)."""

_MARKERS = {normalize(t) for t in (*wjx.SKIPPED_TEXT, *wjx.EMPTY_TEXT)}
_CJK = r"\u3000-\u303f\u3400-\u9fff\uff00-\uffef"
_SPACE_IN_CJK = re.compile(rf"(?<=[{_CJK}])\s+(?=[{_CJK}])")
_SPACES = re.compile(r"\s+")


def clean_text(text: str | None) -> str:
    """Wording without stray spaces: ends stripped, runs collapsed, none between two Chinese characters."""
    s = _SPACES.sub(" ", (text or "").strip())
    return _SPACE_IN_CJK.sub("", s)


@dataclass(frozen=True)
class DraftOption:
    code: int
    text: str
    other: bool = False
    exclusive: bool = False
    missing: bool = False


@dataclass(frozen=True)
class DraftRow:
    id: str
    text: str


@dataclass(frozen=True)
class DraftResponseSet:
    """A recognised Likert scale as a named response set with its scoring."""

    name: str
    likert: Likert
    options: tuple[DraftOption, ...]
    scores: dict[int, float]
    """Code → 0–100, evenly spaced from the favourable end."""
    satisfied: tuple[int, ...] = ()
    basic_satisfied: tuple[int, ...] = ()


@dataclass(frozen=True)
class DraftQuestion:
    number: int
    type: str
    """single | multiple | matrix | ranking | text | number"""
    text: str
    id: str | None
    options: tuple[DraftOption, ...] = ()
    response_set: str | None = None
    rows: tuple[DraftRow, ...] = ()
    variable: str | None = None
    max_choices: int | None = None
    notes: tuple[str, ...] = ()
    """Decisions left to a person (written as ``# TODO`` comments)."""


@dataclass(frozen=True)
class ExportFacts:
    """What the export holds that the cleaning rules need."""

    n_rows: int
    has_submit_time: bool
    has_duration: bool
    has_ip: bool
    has_skipped: bool
    """Some cell says 问卷星 did not show the question (跳过, −2, −3): the form has skip logic."""


@dataclass(frozen=True)
class Draft:
    instrument: str
    title: str
    questions: tuple[DraftQuestion, ...]
    response_sets: dict[str, DraftResponseSet]
    facts: ExportFacts
    sources: tuple[str, ...]
    """File names of the exports the draft was made from."""

    @property
    def has_matrix(self) -> bool:
        return any(q.type == "matrix" for q in self.questions)

    def variables(self) -> dict[str, str]:
        return {q.variable: q.id or "" for q in self.questions if q.variable}


# --------------------------------------------------------------------------------------------------------------
# cells → labels


def _answers(col: pd.Series) -> tuple[list[str], list[int]]:
    """Distinct non-marker answers of a text-mode column (first-appearance order) and how often each occurs."""
    codes, uniques = factorize(col)
    counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
    texts, freq = [], []
    for u, n in zip(uniques, counts, strict=True):
        t = cell_text(u)
        if t and normalize(t) not in _MARKERS:
            texts.append(t)
            freq.append(int(n))
    return texts, freq


def _parts(answer: str, separator: str) -> list[tuple[str, bool]]:
    """``(label, had other text)`` of each part of a joined answer (``┋`` or ``→``)."""
    out = []
    for part in answer.split(separator):
        base, fill = wjx.split_other(part.strip())
        if base:
            out.append((clean_text(base), fill is not None))
    return out


def _labels(answers: list[str], separator: str | None) -> tuple[list[str], set[str]]:
    """Option labels in first-appearance order and those that carried 〖other text〗."""
    seen: dict[str, None] = {}
    with_fill: set[str] = set()
    for a in answers:
        for label, fill in _parts(a, separator) if separator else _parts(a, "\0"):
            seen.setdefault(label, None)
            if fill:
                with_fill.add(label)
    return list(seen), with_fill


def _guess_column_type(col: pd.Series) -> str:
    answers, freq = _answers(col)
    if not answers:
        return "text"
    if any(wjx.SEPARATOR_MULTI in a for a in answers):
        return "multiple"
    if sum(wjx.SEPARATOR_RANK in a for a in answers) * 2 > len(answers):
        return "ranking"
    numbers = [cell_float(a) for a in answers]
    if not np.isnan(numbers).any():
        if len(answers) > NUMBER_MIN_DISTINCT or any(not float(x).is_integer() for x in numbers):
            return "number"
        return "single"
    once = sum(1 for n in freq if n == 1)
    if len(answers) > min(TEXT_MIN_DISTINCT, sum(freq) // 2) and once * 2 > len(answers):
        return "text"
    return "single"


# --------------------------------------------------------------------------------------------------------------
# labels → coded options


def _pair_codes(text_col: pd.Series, code_col: pd.Series) -> tuple[dict[str, int], list[str]]:
    """Label → code from the same responses in both modes (the most frequent code per label), and conflicts."""
    pairs: dict[str, Counter[int]] = {}
    for t, c in zip(text_col.tolist(), code_col.tolist(), strict=True):
        text, code = cell_text(t), cell_float(c)
        if not text or normalize(text) in _MARKERS or np.isnan(code) or code in wjx.SKIPPED_CODES:
            continue
        label = clean_text(wjx.split_other(text)[0])
        pairs.setdefault(label, Counter())[int(code)] += 1
    mapping = {label: counts.most_common(1)[0][0] for label, counts in pairs.items()}
    problems = [f"选项「{lb}」在两个导出中对应多个代码 {sorted(c)}" for lb, c in pairs.items() if len(c) > 1]
    by_code = Counter(mapping.values())
    problems += [f"代码 {c} 对应多个选项" for c, n in by_code.items() if n > 1]
    return mapping, problems


def _option(code: int, label: str, *, with_fill: set[str], multi: bool) -> DraftOption:
    return DraftOption(
        code=code,
        text=label,
        other=label in with_fill or is_other(label),
        exclusive=multi and is_exclusive(label),
        missing=is_missing_like(label),
    )


def _ordered(labels: list[str]) -> list[str]:
    likert = recognise_likert(labels)
    if likert is not None:
        return list(likert.order) + list(likert.missing)
    return sensible_order(labels)


def _coded_options(
    labels: list[str], with_fill: set[str], paired: dict[str, int] | None, *, multi: bool = False
) -> tuple[tuple[DraftOption, ...], list[str]]:
    """Options with codes from the pairing (labels it lacks get the next free codes) or 1..k in order."""
    notes: list[str] = []
    if paired:
        codes = dict(paired)
        unpaired = [lb for lb in _ordered(labels) if lb not in codes]
        start = max(codes.values(), default=0) + 1
        for k, lb in enumerate(unpaired):
            codes[lb] = start + k
        if unpaired:
            notes.append(f"选项 {unpaired} 未在按序号导出中配对，代码为暂定")
        gaps = sorted(set(range(1, max(codes.values()) + 1)) - set(codes.values()))
        if gaps:
            notes.append(f"代码 {gaps} 无人选择，导出中看不到其选项文字：请补上")
        order = sorted(codes, key=codes.get)  # type: ignore[arg-type]
    else:
        order = _ordered(labels)
        codes = {lb: k for k, lb in enumerate(order, start=1)}
        notes.append("选项按导出中出现过的答案列出 (未被选过的选项不在其中)；代码须与问卷星的选项序号一致")
    return tuple(_option(codes[lb], lb, with_fill=with_fill, multi=multi) for lb in order), notes


def _position_options(
    sub_labels: list[str], labels: list[str], with_fill: set[str], *, multi: bool
) -> tuple[tuple[DraftOption, ...], list[str]]:
    """Options of a multiple-choice or ranking question coded by the position of their code-mode column."""
    order = [clean_text(lb) for lb in sub_labels]
    known = {normalize_option(lb) for lb in order}
    extra = [lb for lb in labels if normalize_option(lb) not in known]
    notes = [f"选项 {extra} 只在按文本导出中出现，代码为暂定"] if extra else []
    fills = with_fill | {
        o for o in order if any(normalize_option(o) == normalize_option(f) for f in with_fill)
    }
    options = tuple(
        _option(k, lb, with_fill=fills, multi=multi) for k, lb in enumerate(order + extra, start=1)
    )
    return options, notes


# --------------------------------------------------------------------------------------------------------------
# response sets


def _response_set(likert: Likert, options: tuple[DraftOption, ...], name: str) -> DraftResponseSet:
    code_of = {o.text: o.code for o in options}
    n = likert.points
    scores = {code_of[lb]: round(100 * (n - 1 - k) / (n - 1), 4) for k, lb in enumerate(likert.order)}
    satisfied = basic = ()
    if likert.family != "frequency":
        top = [code_of[lb] for lb in likert.order]
        satisfied = tuple(top[: n // 2])
        if n % 2:
            basic = tuple(top[: n // 2 + 1])
    opts = tuple(o if not o.missing else DraftOption(o.code, o.text, missing=True) for o in options)
    return DraftResponseSet(name, likert, opts, scores, satisfied, basic)


class _Sets:
    """Recognised Likert sets, one name per distinct option list (SAT5, SAT5_2, …)."""

    def __init__(self) -> None:
        self.sets: dict[str, DraftResponseSet] = {}

    def name_for(self, likert: Likert, options: tuple[DraftOption, ...]) -> str:
        for name, rs in self.sets.items():
            if rs.options == options:
                return name
        base = f"{likert.prefix}{likert.points}"
        name, k = base, 1
        while name in self.sets:
            k += 1
            name = f"{base}_{k}"
        self.sets[name] = _response_set(likert, options, name)
        return name


# --------------------------------------------------------------------------------------------------------------


def _check_pair(text: wjx.WjxExport, code: wjx.WjxExport) -> None:
    same_rows = text.n_rows == code.n_rows
    if same_rows:
        a, b = text.meta["seq"].astype(str).tolist(), code.meta["seq"].astype(str).tolist()
        same_rows = a == b
    if not same_rows:
        raise DataError(
            f"两个导出文件的答卷不一致 (the exports hold different responses: {text.n_rows} vs {code.n_rows} "
            "rows or another 序号 order): 按文本与按序号导出须来自同一次下载",
            code.location(row=1),
        )


def _title(export: wjx.WjxExport) -> str:
    """The survey title from 问卷星's download name ``{vid}_按文本_{标题}_{总数}_{有效数}``, else the file name."""
    parts = export.file.stem.split("_")
    if len(parts) >= 3 and parts[1] in ("按文本", "按序号", "按选项文本", "按选项序号"):
        return parts[2]
    return export.file.stem


def _facts(exports: list[wjx.WjxExport]) -> ExportFacts:
    skipped = False
    for e in exports:
        for c in e.cells.columns:
            _, uniques = e.factorized(c)
            if any(
                normalize(cell_text(u)) in {normalize(s) for s in wjx.SKIPPED_TEXT}
                or cell_float(u) in wjx.SKIPPED_CODES
                for u in uniques
            ):
                skipped = True
                break
    metas = [e.meta for e in exports]
    return ExportFacts(
        n_rows=exports[0].n_rows,
        has_submit_time=any(m["submitted_at"].notna().any() for m in metas),
        has_duration=any(m["duration_s"].notna().any() for m in metas),
        has_ip=any(m["ip"].notna().any() for m in metas),
        has_skipped=skipped,
    )


def draft_from_exports(
    text: wjx.WjxExport, code: wjx.WjxExport | None = None, *, instrument: str = "public"
) -> Draft:
    """The draft questionnaire of a 按选项文本 export, codes paired with its 按选项序号 twin when given.

    The two may be passed in either order; DataError when there is no text-mode export or the two exports hold
    different responses."""
    if text.mode == "code" and code is not None and code.mode == "text":
        text, code = code, text
    if text.mode == "code":
        raise DataError(
            "需要按选项文本导出的文件 (a 按选项文本 export is needed: option texts are read from it); "
            "按选项序号导出可作为第二个文件给出",
            text.location(row=1),
        )
    if code is not None:
        _check_pair(text, code)
    sets = _Sets()
    questions: list[DraftQuestion] = []
    for number, tq in text.questions.items():
        cq = code.questions.get(number) if code is not None else None
        questions.append(_question(text, tq, code, cq, sets))
    return Draft(
        instrument=instrument,
        title=_title(text),
        questions=tuple(questions),
        response_sets=sets.sets,
        facts=_facts([text] + ([code] if code is not None else [])),
        sources=tuple(e.file.name for e in ([text, code] if code is not None else [text])),
    )


def _question(
    text: wjx.WjxExport,
    tq: wjx.WjxQuestion,
    code: wjx.WjxExport | None,
    cq: wjx.WjxQuestion | None,
    sets: _Sets,
) -> DraftQuestion:
    number = tq.number
    stem = clean_text(tq.stem or "")
    qid = f"Q{number}"
    if tq.subs and tq.column is None and tq.kind != "multiple":
        return _matrix(text, tq, code, cq, sets, stem)
    if tq.subs and tq.column is None:  # 0/1 option columns even in text mode
        options = tuple(
            _option(k, clean_text(lb), with_fill=set(), multi=True) for k, (lb, _) in enumerate(tq.subs, 1)
        )
        return DraftQuestion(number, "multiple", stem, qid, options=options)
    col = text.cells[tq.column]
    kind = _guess_column_type(col)
    if kind == "single" and cq is not None and cq.column is None and cq.subs:
        kind = "multiple"  # nobody chose two options, but the code-mode export has one column per option
    if kind in ("text", "number"):
        variable = "age" if kind == "number" and demographic_variable(stem) == "age_group" else None
        return DraftQuestion(number, kind, stem, qid, variable=variable)
    answers, _ = _answers(col)
    separator = {"multiple": wjx.SEPARATOR_MULTI, "ranking": wjx.SEPARATOR_RANK}.get(kind)
    labels, with_fill = _labels(answers, separator)
    notes: list[str] = []
    if kind in ("multiple", "ranking"):
        if cq is not None and cq.subs:
            options, notes = _position_options([lb for lb, _ in cq.subs], labels, with_fill, multi=True)
        else:
            options, notes = _coded_options(sensible_order(labels), with_fill, None, multi=True)
        max_choices = max_choices_from_stem(stem) if kind == "multiple" else None
        if max_choices is not None:
            notes.append(f"题干写明最多选 {max_choices} 项 (max_choices)，请核对")
        if kind == "ranking":
            longest = max(len(_parts(a, wjx.SEPARATOR_RANK)) for a in answers)
            if longest < len(options):
                max_choices = longest
                notes.append(f"最多排了 {longest} 项：按前 {longest} 位排序题处理 (max_choices)，请核对")
        return DraftQuestion(
            number, kind, stem, qid, options=options, max_choices=max_choices, notes=tuple(notes)
        )
    paired = None
    if code is not None and cq is not None and cq.column is not None:
        paired, problems = _pair_codes(col, code.cells[cq.column])
        notes += problems
    options, more = _coded_options(labels, with_fill, paired)
    notes += more
    variable = demographic_variable(stem)
    likert = recognise_likert([o.text for o in options])
    if likert is not None and variable is None:
        return DraftQuestion(
            number, "single", stem, qid, response_set=sets.name_for(likert, options), notes=tuple(notes)
        )
    if variable is not None:
        notes.append(f"人口学题？variable: {variable} 为猜测，请核对")
    if variable == "district":
        notes.append("县区题：改用 options_from: districts (选项来自 units.yaml)，删去 options")
    if variable == "unit":
        notes.append("单位题：改用 options_from: units (选项来自 units.yaml)，删去 options")
    return DraftQuestion(number, "single", stem, qid, options=options, variable=variable, notes=tuple(notes))


def _matrix(
    text: wjx.WjxExport,
    tq: wjx.WjxQuestion,
    code: wjx.WjxExport | None,
    cq: wjx.WjxQuestion | None,
    sets: _Sets,
    stem: str,
) -> DraftQuestion:
    rows = tuple(DraftRow(f"Q{tq.number}_{k}", clean_text(lb)) for k, (lb, _) in enumerate(tq.subs, start=1))
    if not stem:  # 问卷星 heads a matrix by its rows only
        stem = f"第{tq.number}题"
    labels: dict[str, None] = {}
    with_fill: set[str] = set()
    for _, column in tq.subs:
        got, fills = _labels(_answers(text.cells[column])[0], None)
        labels.update(dict.fromkeys(got))
        with_fill |= fills
    paired: dict[str, int] | None = None
    notes: list[str] = []
    if code is not None and cq is not None:
        code_cols = {normalize(lb): c for lb, c in cq.subs}
        paired = {}
        for lb, column in tq.subs:
            if normalize(lb) in code_cols:
                got, problems = _pair_codes(text.cells[column], code.cells[code_cols[normalize(lb)]])
                paired.update(got)
                notes += problems
    options, more = _coded_options(list(labels), with_fill, paired)
    notes += more
    likert = recognise_likert([o.text for o in options])
    if stem == f"第{tq.number}题":
        notes.append("矩阵题的题干不在导出中：请从问卷星抄录 (text)")
    notes.append("量表归属 (scales)、反向题 (reverse) 与 feeds 请逐行确定")
    if likert is not None:
        return DraftQuestion(
            tq.number,
            "matrix",
            stem,
            None,
            response_set=sets.name_for(likert, options),
            rows=rows,
            notes=tuple(dict.fromkeys(notes)),
        )
    notes.append("选项不是可识别的李克特量表：请核对，或写成 response_sets 中的一组")
    return DraftQuestion(
        tq.number, "matrix", stem, None, options=options, rows=rows, notes=tuple(dict.fromkeys(notes))
    )
