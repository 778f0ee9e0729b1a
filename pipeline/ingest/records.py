"""Where each record comes from: the source columns every ingested table starts with, and unique record ids.

:func:`with_source` puts ``record_id, source_file, source_sheet, source_row`` (:data:`RECORD_COLUMNS`) in front of
the rows read from one sheet; the id is ``stem:row`` (``stem:sheet:row`` for a workbook with several sheets read).
:func:`check_record_ids` rejects two records with one id (two raw files with the same name stem).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.errors import DataError

RECORD_COLUMNS = ("record_id", "source_file", "source_sheet", "source_row")
"""The columns :func:`with_source` puts in front of every ingested table."""


def _record_ids(stem: str, sheet: str, rows: pd.Index, multi_sheet: bool) -> pd.Series:
    """``stem:row`` (``stem:sheet:row`` for multi-sheet files), built by Arrow in one pass, as a str column."""
    prefix = f"{stem}:{sheet}:" if multi_sheet else f"{stem}:"
    numbers = pa.array(rows.to_numpy(dtype=np.int64)).cast(pa.string())
    ids = pc.binary_join_element_wise(prefix, numbers, "")
    return pd.Series(pd.array(ids, dtype=pd.StringDtype(na_value=np.nan)), index=rows)


def with_source(frame: pd.DataFrame, path: Path, sheet: str, multi_sheet: bool) -> pd.DataFrame:
    """The rows read from one sheet (index = source row) with :data:`RECORD_COLUMNS` in front, index reset."""
    rows = frame.index
    head = pd.DataFrame(
        {
            "record_id": _record_ids(path.stem, sheet, rows, multi_sheet),
            "source_file": path.name,
            "source_sheet": sheet,
            "source_row": rows.to_numpy(dtype=np.int64),
        },
        index=rows,
    )
    return pd.concat([head, frame], axis=1).reset_index(drop=True)


def _ids_may_repeat(frames: list[pd.DataFrame]) -> bool:
    """Whether two records of ``frames`` (from :func:`with_source`) may share a record id.

    An id is a prefix ending in ``:`` followed by the source row's digits, so ids with different prefixes never
    coincide (one prefix would have to end in a digit); within a frame of strictly increasing rows ids are
    distinct. Only frames that share a prefix, or whose rows are not increasing, need the full check."""
    prefixes = set()
    for f in frames:
        if len(f) == 0:
            continue
        rows = f["source_row"].to_numpy()
        if not (np.diff(rows) > 0).all():
            return True
        first_id, first_row = f["record_id"].iloc[0], str(rows[0])
        prefix = first_id[: len(first_id) - len(first_row)]
        if prefix in prefixes or not prefix.endswith(":") or not first_id.endswith(first_row):
            return True
        prefixes.add(prefix)
    return False


def check_record_ids(frames: list[pd.DataFrame]) -> None:
    """DataError naming the first record id that two records of ``frames`` share (see :func:`_ids_may_repeat`)."""
    if not _ids_may_repeat(frames):
        return
    ids = pd.concat([f["record_id"] for f in frames], ignore_index=True)
    dup = ids.duplicated()
    if dup.any():
        raise DataError(
            f"记录编号重复 (duplicate record_id '{ids[dup].iloc[0]}'): two raw files "
            "with the same name stem? Rename one."
        )
