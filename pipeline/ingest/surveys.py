"""One survey file, a 问卷星 export or a paper-entry workbook, as records in contract order.

:func:`ingest_survey_file` recognises each sheet (:func:`pipeline.ingest.wjx.looks_like_export`, else
:func:`pipeline.ingest.paper.find_paper_header`), matches and decodes its answers
(:mod:`pipeline.ingest.codebook_match`, :mod:`pipeline.ingest.paper`) and puts the meta columns in front:
:func:`keyed_columns` (keyed pseudonyms of 序号 and of the IP, the IP's place; for a large export computed while the
answers are decoded, if the executor gives it a second process) and :func:`survey_records` (meta + coded answers).
:func:`empty_survey` is the zero-row table with every column, for an instrument without files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.config import Codebook
from pipeline.errors import DataError, Location
from pipeline.ingest import wjx
from pipeline.ingest.codebook_match import Decoded, decode_export, match_export
from pipeline.ingest.columns import per_unique
from pipeline.ingest.excel import Sheet, find_header_row, read_sheets
from pipeline.ingest.paper import PAPER_CHANNEL, find_paper_header, read_paper_sheet
from pipeline.ingest.privacy import UNKNOWN_PLACE, ip_columns, mask_series, pseudonym_series
from pipeline.ingest.records import with_source
from pipeline.ingest.text import cell_text
from pipeline.parallel import SERIAL, Background, Executor


def survey_records(
    meta: pd.DataFrame, decoded: Decoded, mode: str, key: bytes, *, keyed: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Meta + coded answers in contract order (index = source row). ``keyed``: :func:`keyed_columns` of
    ``meta`` when already computed."""
    keyed = keyed_columns(meta, key) if keyed is None else keyed
    out = pd.DataFrame(index=meta.index)
    out["respondent"] = keyed["respondent"]
    out["submitted_at"] = meta["submitted_at"].astype("datetime64[ns]")
    out["duration_s"] = meta["duration_s"].astype(float) if "duration_s" in meta else np.nan
    for col in ("channel", "channel_detail"):
        out[col] = mask_series(meta[col]).astype(object) if col in meta else None
    out = out.join(keyed[["ip_key", "ip_province", "ip_city"]])
    out = out.join(decoded.frame)
    out["mode"] = mode
    return out


KEYED_COLUMNS_META = ("seq", "ip")
"""The meta columns :func:`keyed_columns` reads."""


def keyed_columns(meta: pd.DataFrame, key: bytes) -> pd.DataFrame:
    """``respondent, ip_key, ip_province, ip_city``: the keyed pseudonyms of 序号 and of the IP, and the IP's place
    (:mod:`pipeline.ingest.privacy`)."""
    out = pd.DataFrame(index=meta.index)
    out["respondent"] = pseudonym_series(meta["seq"], key)
    if "ip" in meta:
        out = out.join(ip_columns(meta["ip"], key))
    else:
        out["ip_key"], out["ip_province"], out["ip_city"] = "", UNKNOWN_PLACE, UNKNOWN_PLACE
    return out


def _keyed_in_background(meta: pd.DataFrame, key: bytes, executor: Executor) -> Background:
    """:func:`keyed_columns` of ``meta``, computed while the answers are decoded: hashing is a third of the work
    of a large text-mode export, so the executor may give it a second process (threshold
    ``ingest_keyed_rows``)."""
    columns = meta[[c for c in KEYED_COLUMNS_META if c in meta]]
    return executor.background(keyed_columns, columns, key, size=len(meta), threshold="ingest_keyed_rows")


def empty_survey(codebook: Codebook) -> pd.DataFrame:
    """A zero-row survey table with every contract column."""
    exp_meta = pd.DataFrame(
        {
            "seq": [],
            "submitted_at": pd.Series([], dtype="datetime64[ns]"),
            "duration_s": [],
            "channel": [],
            "channel_detail": [],
            "ip": [],
        }
    )
    cols: dict[str, pd.Series] = {}
    for it in codebook.items:
        if it.type == "ranking":
            for o in it.options:
                cols[f"{it.id}_{o.code}"] = pd.Series([], dtype="Int64")
        elif it.type == "multiple":
            for o in it.options:
                cols[f"{it.id}_{o.code}"] = pd.Series([], dtype="Int64")
            if any(o.other for o in it.options):
                cols[f"{it.id}_other_text"] = pd.Series([], dtype=object)
        elif it.type in ("single", "matrix"):
            cols[it.id] = pd.Series([], dtype="Int64")
            if any(o.other for o in it.options):
                cols[f"{it.id}_other_text"] = pd.Series([], dtype=object)
        else:
            cols[it.id] = pd.Series([], dtype="Float64" if it.type == "number" else object)
    rec = survey_records(exp_meta, Decoded(pd.DataFrame(cols), []), "text", b"")
    text = {c: pd.Series([], dtype=object) for c in ("record_id", "source_file", "source_sheet")}
    head = pd.DataFrame({**text, "source_row": pd.Series([], dtype=np.int64)})
    return pd.concat([head, rec.reset_index(drop=True)], axis=1)


def ingest_survey_file(
    path: Path, codebook: Codebook, key: bytes, *, strict: bool = False, executor: Executor = SERIAL
):
    """(records, report entry) of one survey file: a 问卷星 export or a paper-entry workbook."""
    sheets = read_sheets(path)
    parsed: list[tuple[Sheet, str, Any]] = []
    for sh in sheets:
        if sh.rows and (hr := find_header_row(sh, wjx.looks_like_export)) is not None:
            parsed.append((sh, "wjx", hr))  # title rows typed above the header are passed over
        elif sh.frame is None and (hr := find_paper_header(sh, codebook)) is not None:
            parsed.append((sh, "paper", hr))
    if not parsed:
        raise DataError(
            f"既不是问卷星导出也不是纸质录入表 (neither a 问卷星 export nor a paper-entry sheet of {codebook.instrument}): "
            "expected a header with 序号 and '1、题干' columns, or the item-id header of "
            f"`fazhi-eval template {codebook.instrument}`",
            Location(file=path.name),
        )
    frames, entries = [], []
    multi = len(parsed) > 1
    for sh, kind, hr in parsed:
        if kind == "wjx":
            export = wjx.export_from_sheet(sh, guess_kinds=False, header_row=hr)
            with _keyed_in_background(export.meta, key, executor) as keyed:
                match = match_export(export, codebook)
                decoded = decode_export(export, codebook, match, strict=strict)
                records = survey_records(export.meta, decoded, export.mode, key, keyed=keyed.result())
            entry = {
                "mode": export.mode,
                "mode_source": export.mode_source,
                "encoding": export.encoding,
                "warnings": export.warnings + match.warnings,
                "similar_matches": [m.as_dict() for m in match.similar],
                "meta_columns": export.meta_columns,
            }
        else:
            meta, decoded = read_paper_sheet(sh, codebook, hr, strict=strict)
            # paper ids live in their own namespace: paper id 12 is not 问卷星 序号 12
            meta["seq"] = per_unique(meta["seq"], lambda v: f"paper:{cell_text(v)}")
            meta["duration_s"] = np.nan
            meta["channel"] = PAPER_CHANNEL
            meta["channel_detail"] = None
            records = survey_records(meta, decoded, "paper", key)
            entry = {
                "mode": "paper",
                "mode_source": "header",
                "encoding": None,
                "warnings": [],
                "similar_matches": [],
            }
        frames.append(with_source(records, path, sh.name, multi))
        entry.update(
            file=path.name,
            sheet=sh.name,
            layout_warnings=list(sh.warnings),
            instrument=codebook.instrument,
            rows=len(records),
            invalid_cells=[i.as_dict() for i in decoded.issues],
            n_invalid_cells=sum(len(i.rows) for i in decoded.issues),
        )
        entries.append(entry)
    return frames, entries
