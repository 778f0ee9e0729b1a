"""Map a parsed 问卷星 export (:mod:`pipeline.io.wjx`) onto a questionnaire's codebook and decode it to codes.

Matching is by question number **and** text, compared in :func:`pipeline.io.wjx.normalize`d form (full/half-width
punctuation, stray spaces, dash styles do not matter): a question column ``N、题干`` matches the codebook question
``N`` when the stems agree; a matrix row ``第N题(行)``/``N(行)`` matches the row of question ``N`` with that text;
a 按序号 option column ``第N题(选项)`` matches the option with that text (fill-in notes like ``【请注明】`` ignored).
An export in which fewer than :data:`MIN_MATCHED_SHARE` of the codebook's items are found belongs to another
questionnaire (or the wrong codebook was chosen) and is rejected, naming what was expected.

Decoding is vectorised per column: the distinct cells of a column are mapped once (``pd.factorize``) and the codes
spread back with one array lookup, so a column of a million cells costs a few milliseconds.

Invalid cells: a cell that is neither a known option (after normalisation), empty, nor a skip marker is written as
:data:`INVALID_CODE` (−9) and listed in the result's ``issues`` (file, row, column, value, expected options); the
clean stage excludes such records with a reason. A column in which more than :data:`MAX_INVALID_SHARE` of the
answered cells are invalid is not a typo but a mismatch (changed options, wrong questionnaire) and raises
DataError. ``strict=True`` raises DataError on the first invalid cell instead.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pipeline.config.codebook import Codebook, CodebookItem
from pipeline.errors import DataError
from pipeline.io import wjx
from pipeline.io.privacy import mask_series

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
    """Multiple choice in code mode: option code → ``第N题(选项)`` column."""


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
            "value": self.value,
            "n": len(self.rows),
            "rows": self.rows[:20],
            "expected": self.expected,
        }


@dataclass
class ExportMatch:
    items: dict[str, ItemColumns]
    missing: list[str]
    """Item ids of the codebook with no column in the export (optional items only; required ones raise)."""
    unused_columns: list[str]
    warnings: list[str] = field(default_factory=list)


def _same_text(a: str | None, b: str | None) -> bool:
    na, nb = wjx.normalize(a), wjx.normalize(b)
    if not na or not nb:
        return False
    if na == nb:
        return True
    return difflib.SequenceMatcher(None, na, nb, autojunk=False).ratio() >= STEM_SIMILARITY


def _same_option(a: str, b: str) -> bool:
    return wjx.normalize_option(a) == wjx.normalize_option(b)


def expected_header(item: CodebookItem, mode: str) -> str:
    """How 问卷星 heads the column(s) of an item (for error messages and templates)."""
    if item.type == "matrix":
        return f"第{item.number}题({item.row_text}) 或 {item.number}({item.row_text})"
    if item.type == "multiple" and mode == "code":
        return f"第{item.number}题({item.options[0].text}) …"
    return f"{item.number}、{item.question_text}"


def match_export(export: wjx.WjxExport, codebook: Codebook) -> ExportMatch:
    """Find every codebook item's column(s) in the export; DataError for another questionnaire or a missing
    required column (naming the file and the expected headers)."""
    found: dict[str, ItemColumns] = {}
    problems: list[str] = []
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
                col = next((c for lbl, c in q.subs if _same_text(lbl, it.row_text)), None)
                if col is None:
                    problems.append(
                        f"{it.id}: 找不到矩阵行 (matrix row not found) '{expected_header(it, export.mode)}'"
                    )
                else:
                    found[it.id] = ItemColumns(it, column=col)
                    used.add(col)
            continue
        it = first
        stem_ok = _same_text(q.stem, it.question_text) if q.stem else None
        if stem_ok is False:
            problems.append(
                f"第{number}题 题干不符 (stem differs): expected '{it.question_text}', found '{q.stem}'"
            )
            continue
        if it.type == "multiple" and q.subs and (export.mode == "code" or q.column is None):
            cols: dict[int, str] = {}
            for lbl, col in q.subs:
                opt = next((o for o in it.options if _same_option(lbl, o.text)), None)
                if opt is None:
                    raise DataError(
                        f"选项列与问卷不符 (option column not in codebook {codebook.instrument}.{it.id}): "
                        f"expected one of {[o.text for o in it.options]}",
                        export.location(row=1, column=col),
                    )
                cols[opt.code] = col
                used.add(col)
            found[it.id] = ItemColumns(it, option_columns=cols)
        elif q.column is not None and stem_ok:
            found[it.id] = ItemColumns(it, column=q.column)
            used.add(q.column)
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
    missing = [it for it in codebook.items if it.id not in found]
    required = [it for it in missing if it.required]
    if required:
        listing = "; ".join(f"{it.id} '{expected_header(it, export.mode)}'" for it in required[:10])
        raise DataError(
            f"缺少必需的列 (missing required column(s)) for {codebook.instrument}: {listing}",
            export.location(row=1),
        )
    unused = [c for c in export.cells.columns if c not in used]
    warnings = [f"可选题 {it.id} 不在导出中 (optional item absent; left empty)" for it in missing]
    warnings += [
        f"列 '{c}' 不属于问卷 {codebook.instrument}，未读入 (column not in codebook)" for c in unused
    ]
    return ExportMatch(
        items=found, missing=[it.id for it in missing], unused_columns=unused, warnings=warnings
    )


# --------------------------------------------------------------------------------------------------------------
# decoding


@dataclass
class Decoded:
    """Coded answer columns (index = source row) and the invalid cells found."""

    frame: pd.DataFrame
    issues: list[Issue]


def _option_lookup(item: CodebookItem) -> dict[str, int]:
    table = {wjx.normalize(o.text): o.code for o in item.options}
    for o in item.options:  # fill-in notes: 其他【请注明】 ~ 其他
        table.setdefault(wjx.normalize_option(o.text), o.code)
    return table


class _Collector:
    def __init__(self, export: wjx.WjxExport, strict: bool):
        self.export, self.strict, self.issues = export, strict, []

    def add(self, item: CodebookItem, column: str, bad: pd.Series, n_answered: int) -> None:
        """``bad``: the raw cells (index = source row) that are invalid."""
        if bad.empty:
            return
        expected = [f"{o.code}={o.text}" for o in item.options]
        first_row, first_val = int(bad.index[0]), bad.iloc[0]
        too_many = len(bad) >= MIN_INVALID_FOR_ERROR and len(bad) > MAX_INVALID_SHARE * max(n_answered, 1)
        if self.strict or too_many:
            what = (
                f"{len(bad)} of {n_answered} answers are not options of {item.id}"
                if too_many
                else f"'{first_val}' is not an option of {item.id}"
            )
            raise DataError(
                f"未知选项 (unknown option): {what} (first: '{first_val}'); expected one of {expected}",
                self.export.location(row=first_row, column=column),
            )
        for value, rows in bad.groupby(bad.astype(str), sort=False).groups.items():
            self.issues.append(Issue(item.id, column, str(value), [int(r) for r in rows], expected))


def _is_skip_text(norm: str) -> bool:
    return norm in {"(跳过)", "跳过"}


def _is_empty_text(norm: str) -> bool:
    return norm in {"(空)", "空", ""}


def _decode_single_text(col: pd.Series, item: CodebookItem, coll: _Collector, column: str):
    """Text mode single choice / matrix row → (Int64 codes, other text or None)."""
    codes_idx, uniques = pd.factorize(wjx.as_text(col), use_na_sentinel=True)
    lookup = _option_lookup(item)
    other_codes = {o.code for o in item.options if o.other}
    ucode = np.empty(len(uniques) + 1, dtype=float)
    uother = np.empty(len(uniques) + 1, dtype=object)
    ucode[-1], uother[-1] = np.nan, None  # index -1 = empty cell
    for k, u in enumerate(uniques):
        base, other = wjx.split_other(u)
        n = wjx.normalize(base)
        code = lookup.get(n, lookup.get(wjx.normalize_option(base)))
        if code is None and _is_skip_text(n):
            code = SKIPPED_CODE
        elif code is None and _is_empty_text(n):
            code = np.nan
        elif code is None:
            code = INVALID_CODE
        ucode[k] = code
        uother[k] = other if code in other_codes else None
    codes = pd.Series(ucode[codes_idx], index=col.index)
    bad = codes == INVALID_CODE
    coll.add(item, column, col[bad], int(codes.notna().sum()))
    return codes.astype("Int64"), pd.Series(uother[codes_idx], index=col.index, dtype=object)


def _decode_single_code(col: pd.Series, item: CodebookItem, coll: _Collector, column: str):
    num = wjx.numeric(col)
    present = col.notna() & (wjx.as_text(col).notna())
    valid = np.isin(num, list(item.valid_codes))
    skipped = np.isin(num, list(wjx.SKIPPED_CODES))
    text = wjx.as_text(col)
    skip_text = (
        text.map(lambda s: _is_skip_text(wjx.normalize(s)), na_action="ignore").fillna(False).astype(bool)
    )
    empty_text = text.map(lambda s: wjx.normalize(s) == "(空)", na_action="ignore").fillna(False).astype(bool)
    out = pd.Series(np.nan, index=col.index)
    out[valid] = num[valid]
    out[skipped | skip_text] = SKIPPED_CODE
    bad = present & ~valid & ~skipped & ~skip_text & ~empty_text
    out[bad] = INVALID_CODE
    coll.add(item, column, col[bad], int(present.sum()))
    return out.astype("Int64"), pd.Series(None, index=col.index, dtype=object)


def _decode_multi_text(
    col: pd.Series, item: CodebookItem, coll: _Collector, column: str
) -> dict[str, pd.Series]:
    text = wjx.as_text(col)
    n = len(col)
    codes = [o.code for o in item.options]
    pos_of = {c: k for k, c in enumerate(codes)}
    lookup = _option_lookup(item)
    other_code = next((o.code for o in item.options if o.other), None)
    mat = np.zeros((n, len(codes)), dtype=np.int64)
    row_pos = np.arange(n)
    norm_text = text.map(wjx.normalize, na_action="ignore")
    skipped = norm_text.map(_is_skip_text, na_action="ignore").fillna(False).to_numpy(dtype=bool)
    empty = text.isna().to_numpy() | norm_text.map(_is_empty_text, na_action="ignore").fillna(False).to_numpy(
        bool
    )
    answered = ~skipped & ~empty
    other_text = np.full(n, None, dtype=object)
    invalid_row = np.zeros(n, dtype=bool)
    if answered.any():
        parts = text[answered].str.split(f"[{wjx.SEPARATOR_MULTI}{wjx.SEPARATOR_RANK}]", regex=True)
        rows = np.repeat(row_pos[answered], parts.str.len().to_numpy())
        flat = pd.Series(np.concatenate(parts.to_numpy()) if len(parts) else [], dtype=object)
        idx, uniques = pd.factorize(flat)
        ucode = np.empty(len(uniques), dtype=np.int64)
        uother = np.empty(len(uniques), dtype=object)
        for k, u in enumerate(uniques):
            base, oth = wjx.split_other(str(u).strip())
            c = lookup.get(wjx.normalize(base), lookup.get(wjx.normalize_option(base), INVALID_CODE))
            ucode[k], uother[k] = c, (oth if c == other_code else None)
        pcode = ucode[idx]
        ok = pcode != INVALID_CODE
        mat[rows[ok], [pos_of[c] for c in pcode[ok]]] = 1
        invalid_row[rows[~ok]] = True
        has_other = np.array([o is not None for o in uother[idx]], dtype=bool)
        other_text[rows[has_other]] = uother[idx][has_other]
    out = pd.DataFrame(mat, index=col.index, columns=[f"{item.id}_{c}" for c in codes]).astype("Int64")
    out[~answered] = pd.NA
    out[skipped] = pd.NA
    out[invalid_row] = INVALID_CODE
    coll.add(item, column, col[invalid_row], int(answered.sum()))
    res = {c: out[c] for c in out.columns}
    if other_code is not None:
        res[f"{item.id}_other_text"] = pd.Series(other_text, index=col.index, dtype=object)
    return res


def _decode_multi_code(export: wjx.WjxExport, ic: ItemColumns, coll: _Collector) -> dict[str, pd.Series]:
    item = ic.item
    other_code = next((o.code for o in item.options if o.other), None)
    res: dict[str, pd.Series] = {}
    other_text = pd.Series(None, index=export.cells.index, dtype=object)
    for o in item.options:
        name = f"{item.id}_{o.code}"
        colname = ic.option_columns.get(o.code)
        if colname is None:
            res[name] = pd.Series(pd.NA, index=export.cells.index, dtype="Int64")
            continue
        col = export.cells[colname]
        num = wjx.numeric(col)
        out = pd.Series(np.nan, index=col.index)
        ok = num.isin([0, 1])
        out[ok] = num[ok]
        text = wjx.as_text(col)
        fill = num.isna() & text.notna()
        skip_text = text.map(lambda s: _is_skip_text(wjx.normalize(s)), na_action="ignore").fillna(False)
        fill &= ~skip_text.astype(bool)
        if o.code == other_code and fill.any():  # some exports put the 其他 fill-in text in the 0/1 column
            out[fill] = 1
            other_text[fill] = text[fill]
            fill[:] = False
        bad = fill | (num.notna() & ~ok & ~num.isin(list(wjx.SKIPPED_CODES)))
        out[bad] = INVALID_CODE
        coll.add(item, colname, col[bad], int(col.notna().sum()))
        res[name] = out.astype("Int64")
    if other_code is not None:
        res[f"{item.id}_other_text"] = other_text
    return res


def decode_export(
    export: wjx.WjxExport, codebook: Codebook, match: ExportMatch | None = None, *, strict: bool = False
) -> Decoded:
    """One typed column per item per docs/DATA_CONTRACT.md (codes, 0/1 option columns, masked texts)."""
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
            decode = _decode_single_text if export.mode == "text" else _decode_single_code
            codes, other = decode(export.cells[ic.column], it, coll, ic.column)
            cols[it.id] = codes
            if any(o.other for o in it.options):
                cols[f"{it.id}_other_text"] = mask_series(other)
        elif it.type == "multiple":
            if ic is None:
                for o in it.options:
                    cols[f"{it.id}_{o.code}"] = pd.Series(pd.NA, index=idx, dtype="Int64")
                continue
            if ic.option_columns:
                parts = _decode_multi_code(export, ic, coll)
            else:
                parts = _decode_multi_text(export.cells[ic.column], it, coll, ic.column)
            for name, s in parts.items():
                cols[name] = mask_series(s) if name.endswith("_other_text") else s
        elif it.type == "number":
            col = export.cells[ic.column] if ic else pd.Series(None, index=idx, dtype=object)
            cols[it.id] = wjx.numeric(col).astype("Float64")
        else:  # fill-in text
            col = export.cells[ic.column] if ic else pd.Series(None, index=idx, dtype=object)
            text = wjx.as_text(col)
            marker = text.map(lambda s: wjx.normalize(s) in {"(空)", "(跳过)"}, na_action="ignore")
            text = text.where(~marker.fillna(False).astype(bool), None)
            cols[it.id] = mask_series(text)
    return Decoded(frame=pd.DataFrame(cols, index=idx), issues=coll.issues)
