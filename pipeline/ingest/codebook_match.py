"""Map a parsed 问卷星 export (:mod:`pipeline.ingest.wjx`) onto a questionnaire's codebook and decode it to codes.

Matching is by question number **and** text, compared in :func:`pipeline.ingest.text.normalize`d form
(full/half-width punctuation, stray spaces, dash styles do not matter): a question column ``N、题干`` matches the
codebook question ``N`` when the stems agree; a matrix row ``第N题(行)``/``N(行)`` matches the row of question ``N``
with that text; a 按序号 option column ``第N题(选项)`` matches the option with that text (fill-in notes like
``【请注明】`` ignored). An export in which fewer than :data:`MIN_MATCHED_SHARE` of the codebook's items are found
belongs to another questionnaire (or the wrong codebook was chosen) and is rejected, naming what was expected.

Decoding is vectorised per column: the distinct cells of a column are mapped once (``pd.factorize``) and the codes
spread back with one array lookup, so a column of a million cells costs a few milliseconds.

Ranking items (type ``ranking``) are decoded to one nullable ``Int64`` column per option, ``<item>_<code>``,
holding the rank the option got (1 = ranked first; ``<NA>`` = not ranked). Text mode writes the ranked options
joined by ``→`` in rank order (``A→B→C``); code mode is taken to write one ``第N题(选项)`` column per option
holding its rank number (an inferred layout: no real export at hand shows it; 0 or empty = not ranked). An answer
naming an option the codebook lacks, or one option twice, is written as −9 in every column of the item; rank
numbers outside 1..k are −9 in their cell (the clean stage's ``invalid_code`` rule checks ranks are 1..k,
distinct and consecutive). The 其他 fill-in text of a ranking item is not kept.

Invalid cells: a cell that is neither a known option (after normalisation), empty, nor a skip marker is written as
:data:`INVALID_CODE` (−9) and listed in the result's ``issues`` (file, row, column, value, expected options); the
clean stage excludes such records with a reason. A column in which more than :data:`MAX_INVALID_SHARE` of the
answered cells are invalid is not a typo but a mismatch (changed options, wrong questionnaire) and raises
DataError. ``strict=True`` raises DataError on the first invalid cell instead.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pipeline.config.codebook import Codebook, CodebookItem
from pipeline.errors import DataError
from pipeline.ingest import wjx
from pipeline.ingest.columns import factorize, per_unique, spread
from pipeline.ingest.privacy import mask_series, mask_text
from pipeline.ingest.text import cell_float, cell_text, free_text, normalize, normalize_option, numeric

INVALID_CODE = -9
"""Written for an answer that is not a codebook option (documented in docs/DATA_CONTRACT.md)."""
SKIPPED_CODE = -3
"""Written for a question 问卷星 did not show (``(跳过)``, −2, −3)."""
MIN_MATCHED_SHARE = 0.5
"""Below this share of codebook items found, the export is taken to belong to another questionnaire."""
STEM_SIMILARITY = 0.8
"""difflib ratio above which two normalised stems count as the same (edited punctuation, a dropped 的)."""
MAX_INVALID_SHARE = 0.2
MIN_INVALID_FOR_ERROR = 5
"""A column with more than 20 % invalid answered cells (and at least 5) raises DataError instead of −9."""


@dataclass(frozen=True)
class ItemColumns:
    """Where one codebook item sits in the export."""

    item: CodebookItem
    column: str | None = None
    """The one column of a single/matrix/fill-in item, or of a multiple-choice item in text mode."""
    option_columns: dict[int, str] = field(default_factory=dict)
    """Multiple choice or ranking in code mode: option code → ``第N题(选项)`` column."""


@dataclass
class Issue:
    """Invalid cells of one column (all rows are kept in ``rows``; ``examples`` shows the first few)."""

    item: str
    column: str
    value: str
    rows: list[int]
    expected: list[str]

    def as_dict(self) -> dict[str, object]:
        return {
            "item": self.item,
            "column": self.column,
            "value": mask_text(self.value),  # a typist may have put a phone number into a choice column
            "n": len(self.rows),
            "rows": self.rows[:20],
            "expected": self.expected,
        }


@dataclass(frozen=True)
class SimilarMatch:
    """A column matched to a codebook item by similarity (:data:`STEM_SIMILARITY`), not by equal text."""

    item: str
    column: str
    expected: str
    """The codebook's wording (question text or matrix row)."""
    similarity: float
    """difflib ratio of the two normalised texts, in [STEM_SIMILARITY, 1)."""

    def as_dict(self) -> dict[str, object]:
        return {
            "item": self.item,
            "column": self.column,
            "expected": self.expected,
            "similarity": round(self.similarity, 3),
        }


@dataclass
class ExportMatch:
    items: dict[str, ItemColumns]
    missing: list[str]
    """Item ids of the codebook with no column in the export (optional items only; required ones raise)."""
    unused_columns: list[str]
    warnings: list[str] = field(default_factory=list)
    similar: list[SimilarMatch] = field(default_factory=list)
    """Columns matched by similarity rather than equal text (an analyst checks these)."""


def _similarity(a: str | None, b: str | None) -> float:
    """1.0 for texts equal after :func:`normalize`, else their difflib ratio; 0.0 if either is empty."""
    na, nb = normalize(a), normalize(b)
    if not na or not nb:
        return 0.0
    if na == nb:
        return 1.0
    return difflib.SequenceMatcher(None, na, nb, autojunk=False).ratio()


def _same_text(a: str | None, b: str | None) -> bool:
    return _similarity(a, b) >= STEM_SIMILARITY


def _label_match(target: str | None, candidates: list[tuple[str, str]]) -> tuple[str, float] | None:
    """(column, similarity) whose label equals ``target`` after normalisation (similarity 1.0); else the single
    most similar one above :data:`STEM_SIMILARITY` (rows of one matrix can differ by a word, so exact matches
    always win); None when none is close enough or two are equally close."""
    nt = normalize(target)
    for lbl, col in candidates:
        if normalize(lbl) == nt:
            return col, 1.0
    scored = sorted(
        (
            (difflib.SequenceMatcher(None, nt, normalize(lbl), autojunk=False).ratio(), col)
            for lbl, col in candidates
        ),
        reverse=True,
    )
    if scored and scored[0][0] >= STEM_SIMILARITY and (len(scored) == 1 or scored[1][0] < scored[0][0]):
        return scored[0][1], scored[0][0]
    return None


def _best_label(target: str | None, candidates: list[tuple[str, str]]) -> str | None:
    """The column of :func:`_label_match`, or None."""
    got = _label_match(target, candidates)
    return got[0] if got else None


def _same_option(a: str, b: str) -> bool:
    return normalize_option(a) == normalize_option(b)


def expected_header(item: CodebookItem, mode: str) -> str:
    """How 问卷星 heads the column(s) of an item (for error messages and templates)."""
    if item.type == "matrix":
        return f"第{item.number}题({item.row_text}) 或 {item.number}({item.row_text})"
    if item.type in ("multiple", "ranking") and mode == "code":
        return f"第{item.number}题({item.options[0].text}) …"
    return f"{item.number}、{item.question_text}"


MODE_VOTE_SHARE = 0.8
"""Share of choice columns that must agree before the codebook overrides the export's detected mode."""


def vote_mode(export: wjx.WjxExport, codebook: Codebook) -> str | None:
    """``text`` or ``code`` as the codebook sees the choice columns: a column votes ``text`` when its answers are
    option texts and ``code`` when they are option codes. None when too few columns agree."""
    votes = {"text": 0, "code": 0}
    for number, items in codebook.questions_by_number().items():
        q = export.questions.get(number)
        if q is None or items[0].type not in ("single", "matrix"):
            continue
        it = items[0]
        cols = [q.column] if it.type == "single" and q.column else [c for _, c in q.subs][: len(items)]
        texts = {normalize_option(o.text) for o in it.options} | {normalize(o.text) for o in it.options}
        for col in cols:
            _, uniques = export.factorized(col)
            as_text = [normalize(wjx.split_other(str(u))[0]) for u in uniques[:50]]
            n_text = sum(t in texts for t in as_text)
            n_code = sum(cell_float(u) in it.valid_codes for u in uniques[:50])
            if n_text > n_code:
                votes["text"] += 1
            elif n_code > n_text:
                votes["code"] += 1
    total = votes["text"] + votes["code"]
    if total == 0:
        return None
    best = max(votes, key=votes.get)  # type: ignore[arg-type]
    return best if votes[best] >= MODE_VOTE_SHARE * total else None


def match_export(export: wjx.WjxExport, codebook: Codebook) -> ExportMatch:
    """Find every codebook item's column(s) in the export; DataError for another questionnaire or a missing
    required column (naming the file and the expected headers).

    The export's mode is checked against the codebook first (:func:`vote_mode`): when the answers clearly are
    option texts (or codes) the mode is set accordingly, with a warning if that contradicts the file name.
    """
    mode_warnings: list[str] = []
    voted = vote_mode(export, codebook)
    if voted is not None and voted != export.mode:
        if export.mode_source == "file name":
            mode_warnings.append(
                f"文件名显示为 {export.mode} 模式，但答案是选项{'文本' if voted == 'text' else '序号'} "
                f"(file name says {export.mode} mode, answers are {voted}s): read as {voted}"
            )
        export.mode, export.mode_source = voted, "codebook"  # type: ignore[assignment]
    found: dict[str, ItemColumns] = {}
    similar: list[SimilarMatch] = []
    problems: list[str] = []
    option_errors: list[DataError] = []
    used: set[str] = set()
    for number, items in codebook.questions_by_number().items():
        q = export.questions.get(number)
        first = items[0]
        if q is None:
            problems.append(f"第{number}题 不在导出中 (question {number} not in export)")
            continue
        if first.type == "matrix":
            if q.stem and q.column and not q.subs:
                problems.append(f"第{number}题 应为矩阵题 (matrix expected), found '{q.column}'")
                continue
            for it in items:
                got = _label_match(it.row_text, [(lbl, c) for lbl, c in q.subs if c not in used])
                if got is None:
                    problems.append(
                        f"{it.id}: 找不到矩阵行 (matrix row not found) '{expected_header(it, export.mode)}'"
                    )
                else:
                    col, score = got
                    found[it.id] = ItemColumns(it, column=col)
                    used.add(col)
                    if score < 1.0:
                        similar.append(SimilarMatch(it.id, col, it.row_text or "", score))
            continue
        it = first
        stem_score = _similarity(q.stem, it.question_text) if q.stem else None
        stem_ok = None if stem_score is None else stem_score >= STEM_SIMILARITY
        if stem_ok is False:
            problems.append(
                f"第{number}题 题干不符 (stem differs): expected '{it.question_text}', found '{q.stem}'"
            )
            continue
        if it.type in ("multiple", "ranking") and q.subs and (export.mode == "code" or q.column is None):
            cols: dict[int, str] = {}
            unknown: list[str] = []
            for lbl, col in q.subs:
                opt = next((o for o in it.options if _same_option(lbl, o.text)), None)
                if opt is None:
                    unknown.append(col)
                else:
                    cols[opt.code] = col
                    used.add(col)
            if not cols:  # no label is an option: another question under this number
                problems.append(
                    f"第{number}题 选项列与问卷不符 (option columns differ): found '{q.subs[0][1]}'"
                )
                continue
            for col in unknown:  # raised only if the export otherwise matches (see below)
                option_errors.append(
                    DataError(
                        f"选项列与问卷不符 (option column not in codebook {codebook.instrument}.{it.id}): "
                        f"expected one of {[o.text for o in it.options]}",
                        export.location(row=1, column=col),
                    )
                )
            found[it.id] = ItemColumns(it, option_columns=cols)
            if stem_score is not None and stem_score < 1.0:
                similar.append(SimilarMatch(it.id, q.column or q.subs[0][1], it.question_text, stem_score))
        elif q.column is not None and stem_ok:
            found[it.id] = ItemColumns(it, column=q.column)
            used.add(q.column)
            if stem_score is not None and stem_score < 1.0:
                similar.append(SimilarMatch(it.id, q.column, it.question_text, stem_score))
        else:
            problems.append(f"{it.id}: 找不到列 (column not found) '{expected_header(it, export.mode)}'")

    n_items = len(codebook.items)
    if len(found) < MIN_MATCHED_SHARE * n_items:
        sample = "; ".join(problems[:5])
        raise DataError(
            f"导出文件与问卷 '{codebook.questionnaire.title}' ({codebook.instrument}) 不符: only {len(found)} of "
            f"{n_items} items found — an export of another questionnaire, or the wrong codebook? "
            f"Expected e.g. '{expected_header(codebook.items[0], export.mode)}'. First problems: {sample}",
            export.location(row=1),
        )
    if option_errors:
        raise option_errors[0]
    missing = [it for it in codebook.items if it.id not in found]
    required = [it for it in missing if it.required]
    if required:
        listing = "; ".join(f"{it.id} '{expected_header(it, export.mode)}'" for it in required[:10])
        raise DataError(
            f"缺少必需的列 (missing required column(s)) for {codebook.instrument}: {listing}",
            export.location(row=1),
        )
    unused = [c for c in export.cells.columns if c not in used]
    warnings = mode_warnings + [
        f"可选题 {it.id} 不在导出中 (optional item absent; left empty)" for it in missing
    ]
    warnings += [
        f"列 '{c}' 不属于问卷 {codebook.instrument}，未读入 (column not in codebook)" for c in unused
    ]
    return ExportMatch(
        items=found,
        missing=[it.id for it in missing],
        unused_columns=unused,
        warnings=warnings,
        similar=similar,
    )


# --------------------------------------------------------------------------------------------------------------
# decoding


@dataclass
class Decoded:
    """Coded answer columns (index = source row) and the invalid cells found."""

    frame: pd.DataFrame
    issues: list[Issue]


def _option_lookup(item: CodebookItem) -> dict[str, int]:
    table = {normalize(o.text): o.code for o in item.options}
    for o in item.options:  # fill-in notes: 其他【请注明】 ~ 其他
        table.setdefault(normalize_option(o.text), o.code)
    return table


class _Collector:
    def __init__(self, export: wjx.WjxExport, strict: bool):
        self.export, self.strict, self.issues = export, strict, []

    def add(self, item: CodebookItem, column: str, col: pd.Series, bad: np.ndarray, n_answered: int) -> None:
        """``bad``: boolean mask over ``col`` of the invalid cells."""
        if not bad.any():
            return
        cells = col[bad].astype(object)
        expected = [f"{o.code}={o.text}" for o in item.options]
        first_row, first_val = int(cells.index[0]), cells.iloc[0]
        n_bad = len(cells)
        too_many = n_bad >= MIN_INVALID_FOR_ERROR and n_bad > MAX_INVALID_SHARE * max(n_answered, 1)
        if self.strict or too_many:
            what = (
                f"{n_bad} of {n_answered} answers are not options of {item.id}"
                if too_many
                else f"'{first_val}' is not an option of {item.id}"
            )
            raise DataError(
                f"未知选项 (unknown option): {what} (first: '{first_val}'); expected one of {expected}",
                self.export.location(row=first_row, column=column),
            )
        for value, rows in cells.groupby(cells.astype(str), sort=False).groups.items():
            self.issues.append(Issue(item.id, column, str(value), [int(r) for r in rows], expected))


_SKIP_NORM = frozenset({"(跳过)", "跳过"})
_EMPTY_NORM = frozenset({"(空)", "空", ""})
_NA = object()
"""Per-distinct-value result meaning 'not answered'."""


def _single_value(
    u: object, item: CodebookItem, lookup: dict[str, int], mode: str
) -> tuple[float, str | None]:
    """(code or NaN, other text) of one distinct cell of a single-choice/matrix column."""
    text = cell_text(u)
    if not text:
        return np.nan, None
    if mode == "code":
        f = cell_float(u)
        if f in item.valid_codes:
            return f, None
        if f in wjx.SKIPPED_CODES:
            return SKIPPED_CODE, None
    base, other = wjx.split_other(text)
    n = normalize(base)
    if mode == "text":
        code = lookup.get(n, lookup.get(normalize_option(base)))
        if code is not None:
            is_other = any(o.other and o.code == code for o in item.options)
            return float(code), (other if is_other else None)
    if n in _SKIP_NORM:
        return SKIPPED_CODE, None
    if n in _EMPTY_NORM:
        return np.nan, None
    return INVALID_CODE, None


def _spread_int64(codes: np.ndarray, per_value: np.ndarray) -> pd.arrays.IntegerArray:
    """Int64 codes per cell from float codes per distinct value (NaN = missing; code −1 = missing): two array
    lookups, no per-cell float intermediate."""
    missing = np.append(np.isnan(per_value), True)
    ints = np.append(np.where(missing[:-1], 0, per_value).astype(np.int64), 0)
    return pd.arrays.IntegerArray(ints[codes], missing[codes])


def _occurrences(codes: np.ndarray, n_uniques: int) -> np.ndarray:
    """How many cells hold each distinct value (``codes`` from :func:`~pipeline.ingest.columns.factorize`, −1
    not counted)."""
    return np.bincount(codes + 1, minlength=n_uniques + 1)[1:]


def _decode_single(
    col: pd.Series,
    item: CodebookItem,
    coll: _Collector,
    column: str,
    mode: str,
    factorized=None,
    *,
    with_other: bool = True,
):
    """Single choice / matrix row → (Int64 codes, other text or None), one evaluation per distinct cell.

    ``with_other=False``: the item has no 其他 option, so no other-text column is built (None instead)."""
    codes, uniques = factorized if factorized is not None else factorize(col)
    lookup = _option_lookup(item)
    res = [_single_value(u, item, lookup, mode) for u in uniques]
    values = np.array([r[0] for r in res], dtype=float)
    invalid = values == INVALID_CODE
    n_answered = int(_occurrences(codes, len(uniques))[~np.isnan(values)].sum())
    if invalid.any():
        coll.add(item, column, col, np.append(invalid, False)[codes], n_answered)
    other = (
        pd.Series(spread(codes, [r[1] for r in res], None), index=col.index, dtype=object)
        if with_other
        else None
    )
    return pd.Series(_spread_int64(codes, values), index=col.index), other


def _decode_multi_text(
    col: pd.Series, item: CodebookItem, coll: _Collector, column: str, factorized=None
) -> dict[str, pd.Series]:
    """``┋``-joined choices → one 0/1 column per option: each distinct answer string is split once into a row of
    the option matrix, then each option's column is gathered by the factorised codes."""
    codes, uniques = factorized if factorized is not None else factorize(col)
    opt_codes = [o.code for o in item.options]
    pos_of = {c: k for k, c in enumerate(opt_codes)}
    lookup = _option_lookup(item)
    other_code = next((o.code for o in item.options if o.other), None)
    k = len(opt_codes)
    umat = np.zeros((len(uniques), k), dtype=float)
    uother = np.full(len(uniques) + 1, None, dtype=object)
    uinvalid = np.zeros(len(uniques), dtype=bool)
    for j, u in enumerate(uniques):
        text = cell_text(u)
        n = normalize(text) if text else ""
        if n in _SKIP_NORM or n in _EMPTY_NORM:
            umat[j] = np.nan
            continue
        for part in re.split(f"[{wjx.SEPARATOR_MULTI}{wjx.SEPARATOR_RANK}]", text):
            base, oth = wjx.split_other(part.strip())
            c = lookup.get(normalize(base), lookup.get(normalize_option(base)))
            if c is None:
                uinvalid[j] = True
                continue
            umat[j, pos_of[c]] = 1
            if c == other_code and oth:
                uother[j] = oth
        if uinvalid[j]:
            umat[j] = INVALID_CODE
    if uinvalid.any():
        n_answered = int(_occurrences(codes, len(uniques))[~np.isnan(umat[:, 0])].sum())
        coll.add(item, column, col, np.append(uinvalid, False)[codes], n_answered)
    res = {
        f"{item.id}_{c}": pd.Series(_spread_int64(codes, umat[:, pos]), index=col.index)
        for c, pos in pos_of.items()
    }
    if other_code is not None:
        res[f"{item.id}_other_text"] = pd.Series(uother[codes], index=col.index, dtype=object)
    return res


_CHECKED = frozenset({"√", "✓", "✔", "是", "选中", "已选"})
_UNCHECKED = frozenset({"未选", "否", "未选中"})


def _multi_code_value(u: object, is_other: bool, label: str = "") -> tuple[float, str | None]:
    text = cell_text(u)
    if not text:
        return np.nan, None
    f = cell_float(u)
    if f in (0, 1):
        return f, None
    n = normalize(text)
    if n in _CHECKED or (label and normalize_option(text) == normalize_option(label)):
        return 1.0, None  # some text-mode exports write the option's own text (or a tick) into its column
    if n in _UNCHECKED:
        return 0.0, None
    if f in wjx.SKIPPED_CODES or normalize(text) in _SKIP_NORM:
        return np.nan, None
    if is_other and np.isnan(f):  # some exports put the 其他 fill-in text in the 0/1 column
        return 1.0, text
    return INVALID_CODE, None


def _decode_option_columns(
    export: wjx.WjxExport, ic: ItemColumns, coll: _Collector, decode
) -> tuple[dict[str, pd.Series], pd.Series | None]:
    """The ``<item>_<code>`` columns of a code-mode item with one ``第N题(选项)`` column per option (multiple
    choice, ranking): ``decode(option, uniques)`` gives each distinct cell's value and, for the option whose
    cells carry a free text, the texts (else None). Returns the columns and that free text (None if none)."""
    item = ic.item
    idx = export.cells.index
    res: dict[str, pd.Series] = {}
    text = None
    for o in item.options:
        name = f"{item.id}_{o.code}"
        colname = ic.option_columns.get(o.code)
        if colname is None:
            res[name] = pd.Series(pd.NA, index=idx, dtype="Int64")
            continue
        col = export.cells[colname]
        codes, uniques = factorize(col)
        values_of, texts_of = decode(o, uniques)
        values = spread(codes, values_of, np.nan, float)
        if texts_of is not None:
            text = pd.Series(spread(codes, texts_of, None), index=idx, dtype=object)
        coll.add(item, colname, col, values == INVALID_CODE, int((~np.isnan(values)).sum()))
        res[name] = pd.Series(values, index=idx).astype("Int64")
    return res, text


def _decode_multi_code(export: wjx.WjxExport, ic: ItemColumns, coll: _Collector) -> dict[str, pd.Series]:
    item = ic.item
    other_code = next((o.code for o in item.options if o.other), None)

    def decode(o, uniques):
        vals = [_multi_code_value(u, o.code == other_code, o.text) for u in uniques]
        return [v[0] for v in vals], ([v[1] for v in vals] if o.code == other_code else None)

    res, other_text = _decode_option_columns(export, ic, coll, decode)
    # a row that chose something answered the question: its empty option cells are 'not chosen'
    chose = pd.concat(list(res.values()), axis=1).eq(1).any(axis=1)
    for name, col in res.items():
        res[name] = col.mask(chose & col.isna(), 0)
    if other_code is not None:
        res[f"{item.id}_other_text"] = (
            other_text if other_text is not None else pd.Series(None, index=export.cells.index, dtype=object)
        )
    return res


def max_rank(item: CodebookItem) -> int:
    """The largest rank a ranking item can hold: ``max_choices`` (rank the top k) or the number of options."""
    return item.max_choices or len(item.options)


def _decode_rank_text(
    col: pd.Series, item: CodebookItem, coll: _Collector, column: str, factorized=None
) -> dict[str, pd.Series]:
    """``A→B→C`` → one rank column per option (1 = first), each distinct answer split once."""
    codes, uniques = factorized if factorized is not None else factorize(col)
    pos_of = {o.code: k for k, o in enumerate(item.options)}
    lookup = _option_lookup(item)
    umat = np.full((len(uniques), len(item.options)), np.nan)
    uinvalid = np.zeros(len(uniques), dtype=bool)
    for j, u in enumerate(uniques):
        text = cell_text(u)
        n = normalize(text) if text else ""
        if n in _SKIP_NORM or n in _EMPTY_NORM:
            continue
        for rank, part in enumerate(re.split(f"[{wjx.SEPARATOR_RANK}{wjx.SEPARATOR_MULTI}]", text), start=1):
            base, _ = wjx.split_other(part.strip())
            c = lookup.get(normalize(base), lookup.get(normalize_option(base)))
            if c is None or not np.isnan(umat[j, pos_of[c]]):
                uinvalid[j] = True
                break
            umat[j, pos_of[c]] = rank
        if uinvalid[j]:
            umat[j] = INVALID_CODE
    if uinvalid.any():
        n_answered = int(_occurrences(codes, len(uniques))[~np.isnan(umat).all(axis=1)].sum())
        coll.add(item, column, col, np.append(uinvalid, False)[codes], n_answered)
    return {
        f"{item.id}_{c}": pd.Series(_spread_int64(codes, umat[:, pos]), index=col.index)
        for c, pos in pos_of.items()
    }


def _rank_value(u: object, top: int) -> float:
    text = cell_text(u)
    if not text or normalize(text) in (_SKIP_NORM | _EMPTY_NORM):
        return np.nan
    f = cell_float(u)
    if f == 0 or f in wjx.SKIPPED_CODES:
        return np.nan
    return f if f.is_integer() and 1 <= f <= top else INVALID_CODE


def _decode_rank_code(export: wjx.WjxExport, ic: ItemColumns, coll: _Collector) -> dict[str, pd.Series]:
    """One ``第N题(选项)`` column per option holding its rank (inferred layout, see the module docstring)."""
    top = max_rank(ic.item)
    res, _ = _decode_option_columns(
        export, ic, coll, lambda o, uniques: ([_rank_value(u, top) for u in uniques], None)
    )
    return res


def _fill_in(col: pd.Series) -> pd.Series:
    """Fill-in text: 问卷星 markers → None, the rest kept as typed and masked (once per distinct text)."""

    def one(u: object) -> str | None:
        text = cell_text(u)
        if not text or normalize(text) in (_SKIP_NORM | _EMPTY_NORM):
            return None
        return mask_text(free_text(u))  # as typed: a stripped "\t=2+3" would be a formula

    return per_unique(col, one)


def decode_export(
    export: wjx.WjxExport, codebook: Codebook, match: ExportMatch | None = None, *, strict: bool = False
) -> Decoded:
    """One typed column per item per docs/DATA_CONTRACT.md (codes, 0/1 option columns, rank columns, masked
    texts)."""
    match = match or match_export(export, codebook)
    coll = _Collector(export, strict)
    cols: dict[str, pd.Series] = {}
    idx = export.cells.index
    for it in codebook.items:
        ic = match.items.get(it.id)
        if it.type in ("single", "matrix"):
            if ic is None:
                cols[it.id] = pd.Series(pd.NA, index=idx, dtype="Int64")
                continue
            has_other = any(o.other for o in it.options)
            codes, other = _decode_single(
                export.cells[ic.column],
                it,
                coll,
                ic.column,
                export.mode,
                export.factorized(ic.column, keep=False),
                with_other=has_other,
            )
            cols[it.id] = codes
            if has_other:
                cols[f"{it.id}_other_text"] = mask_series(other)
        elif it.type == "multiple":
            if ic is None:
                for o in it.options:
                    cols[f"{it.id}_{o.code}"] = pd.Series(pd.NA, index=idx, dtype="Int64")
                continue
            if ic.option_columns:
                parts = _decode_multi_code(export, ic, coll)
            else:
                parts = _decode_multi_text(
                    export.cells[ic.column], it, coll, ic.column, export.factorized(ic.column, keep=False)
                )
            for name, s in parts.items():
                cols[name] = mask_series(s) if name.endswith("_other_text") else s
        elif it.type == "ranking":
            if ic is None:
                for o in it.options:
                    cols[f"{it.id}_{o.code}"] = pd.Series(pd.NA, index=idx, dtype="Int64")
            elif ic.option_columns:
                cols.update(_decode_rank_code(export, ic, coll))
            else:
                factorized = export.factorized(ic.column, keep=False)
                cols.update(_decode_rank_text(export.cells[ic.column], it, coll, ic.column, factorized))
        elif it.type == "number":
            col = export.cells[ic.column] if ic else pd.Series(None, index=idx, dtype=object)
            cols[it.id] = numeric(col).astype("Float64")
        else:  # fill-in text
            col = export.cells[ic.column] if ic else pd.Series(None, index=idx, dtype=object)
            cols[it.id] = _fill_in(col)
    return Decoded(frame=pd.DataFrame(cols, index=idx, copy=False), issues=coll.issues)
