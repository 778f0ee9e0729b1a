"""Paper-entry sheets: questionnaires answered on paper and typed into the ``fazhi-eval template public|staff``
workbook.

Layout: a header row (possibly below title rows) of item ids (``D_district``, ``P01`` …; a multiple-choice item
as one 0/1 column per option ``P27_1`` … ``P27_8`` plus ``P27_other_text``; a ranking item as one column per
option holding the rank the respondent gave it, 1 = first, empty = not ranked) and ``问卷编号`` (paper id), optionally
``调查日期`` and ``调查员``/``录入员`` (not written out). Values are codebook codes. A sheet is recognised as a paper
sheet when at least half of the codebook's items appear as headers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.config.codebook import Codebook
from pipeline.errors import DataError
from pipeline.ingest import wjx
from pipeline.ingest.codebook_match import INVALID_CODE, SKIPPED_CODE, Decoded, Issue, max_rank
from pipeline.ingest.excel import Sheet, find_header_row, frame_below
from pipeline.ingest.privacy import mask_series
from pipeline.ingest.text import cell_text, free_texts, numeric

PAPER_ID = "问卷编号"
PAPER_DATE = "调查日期"
PAPER_EXTRA = ("调查员", "录入员", "录入日期", "备注")
PAPER_CHANNEL = "纸质问卷"


def paper_columns(codebook: Codebook) -> list[str]:
    """The item columns of a paper-entry sheet, in form order."""
    return [c for it in codebook.items for c in paper_columns_of(it)]


def paper_columns_of(item) -> list[str]:
    if item.type == "ranking":
        return [f"{item.id}_{o.code}" for o in item.options]
    if item.type != "multiple":
        return [item.id]
    cols = [f"{item.id}_{o.code}" for o in item.options]
    return cols + ([f"{item.id}_other_text"] if any(o.other for o in item.options) else [])


def _valid_values(item) -> tuple[list[str], frozenset[int], list[str]]:
    """(column names, valid values, expected values for messages) of a coded item's paper columns."""
    if item.type == "multiple":
        return [f"{item.id}_{o.code}" for o in item.options], frozenset({0, 1}), ["0", "1"]
    if item.type == "ranking":
        top = max_rank(item)
        return [f"{item.id}_{o.code}" for o in item.options], frozenset(range(1, top + 1)), [f"1..{top}"]
    return [item.id], item.valid_codes, [f"{o.code}={o.text}" for o in item.options]


def _is_paper_header(codebook: Codebook):
    wanted = set(paper_columns(codebook))

    def check(cells: list[str]) -> bool:
        hit = sum(1 for c in cells if c.split(" ")[0] in wanted)
        return hit >= max(1, len(wanted) // 2)

    return check


def find_paper_header(sheet: Sheet, codebook: Codebook) -> int | None:
    return find_header_row(sheet, _is_paper_header(codebook))


def read_paper_sheet(
    sheet: Sheet, codebook: Codebook, header_row: int, *, strict: bool = False
) -> tuple[pd.DataFrame, Decoded]:
    """(meta, decoded answers) of a paper-entry sheet; meta has ``seq, submitted_at`` (index = source row)."""
    frame = frame_below(sheet, header_row)
    frame.columns = [c.split(" ")[0] for c in frame.columns]  # headers may read 'P01 您对…'
    if PAPER_ID not in frame.columns:
        raise DataError(
            f"缺少必需的列 (missing required column) '{PAPER_ID}'", sheet.location(row=header_row + 1)
        )
    owner = {c: it for it in codebook.items for c in paper_columns_of(it)}
    required_missing = [
        c
        for c, it in owner.items()
        if c not in frame.columns and it.required and not c.endswith("_other_text")
    ]
    if required_missing:
        raise DataError(
            f"缺少必需的列 (missing required column(s)): {required_missing[:10]}",
            sheet.location(row=header_row + 1),
        )
    issues: list[Issue] = []
    cols: dict[str, pd.Series] = {}
    idx = frame.index
    for it in codebook.items:
        if it.type in ("single", "matrix", "multiple", "ranking"):
            names, valid, expected = _valid_values(it)
        else:
            col = frame[it.id] if it.id in frame else pd.Series(None, index=idx, dtype=object)
            cols[it.id] = (
                numeric(col).astype("Float64") if it.type == "number" else mask_series(free_texts(col))
            )
            continue
        for name in names:
            if name not in frame:
                cols[name] = pd.Series(pd.NA, index=idx, dtype="Int64")
                continue
            raw = frame[name]
            num = numeric(raw)
            out = pd.Series(np.nan, index=idx)
            ok = num.isin(list(valid))
            out[ok] = num[ok]
            skipped = num.isin(list(wjx.SKIPPED_CODES))
            out[skipped] = SKIPPED_CODE if it.type in ("single", "matrix") else np.nan
            bad = raw.notna() & ~ok & ~num.isin(list(wjx.SKIPPED_CODES))
            if it.type == "ranking":  # 0 = not ranked, like an empty cell
                bad &= num != 0
            if bad.any():
                if strict:
                    r = int(bad[bad].index[0])
                    raise DataError(
                        f"未知代码 (unknown code) '{raw[r]}' for {it.id}; expected one of {expected}",
                        sheet.location(row=r, column=name),
                    )
                out[bad] = INVALID_CODE
                as_typed = raw[bad].map(lambda v: cell_text(v) or "")  # 7.0 read from Excel shows as 7
                for value, rows in raw[bad].groupby(as_typed, sort=False).groups.items():
                    issues.append(Issue(it.id, name, str(value), [int(r) for r in rows], expected))
            cols[name] = out.astype("Int64")
        if it.type == "multiple" and any(o.other for o in it.options):
            name = f"{it.id}_other_text"
            cols[name] = mask_series(free_texts(frame[name])) if name in frame else pd.Series(None, index=idx)
    meta = pd.DataFrame(index=idx)
    meta["seq"] = frame[PAPER_ID]
    meta["submitted_at"] = wjx.parse_datetime(frame[PAPER_DATE]) if PAPER_DATE in frame else pd.NaT
    meta["submitted_at"] = meta["submitted_at"].astype("datetime64[ns]")
    return meta, Decoded(frame=pd.DataFrame(cols, index=idx), issues=issues)
