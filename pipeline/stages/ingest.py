"""Stage 01_ingest: read everything under ``raw/`` into typed tables (docs/DATA_CONTRACT.md § 01_ingest).

Reads ``raw/public/`` and ``raw/staff/`` (问卷星 exports in either mode, ``.xlsx``/``.xls``/``.csv``, and
paper-entry sheets), ``raw/casefiles/`` (case-file review workbooks) and ``raw/checkpoints/`` (checkpoint sheets).
Writes ``public.parquet``, ``staff.parquet``, ``casefile_reviews.parquet``, ``checkpoints.parquet`` and
``_ingest_report.json`` (per file: rows, mode, encoding, warnings, invalid cells). Nothing is dropped here; raw IPs,
序号, reviewer names never reach the output (keyed pseudonyms, see :mod:`pipeline.ingest.privacy`), free text is masked.

Answers that match no codebook option are written as −9 and listed under ``invalid_cells`` in the report (the clean
stage excludes those records); ``RunOptions.strict_codes`` (``--strict-codes``) makes the first one a DataError instead.
The pseudonym key is ``$FAZHI_PSEUDONYM_KEY`` if set, else derived from the digest of the analysis configuration
(report-only files excluded; :func:`pipeline.ingest.privacy.project_key`; ``raw/`` is never written).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipeline import paths
from pipeline.config import Codebook, Config
from pipeline.errors import DataError, Location
from pipeline.ingest import wjx
from pipeline.ingest.casefile_sheets import read_casefile_sheet
from pipeline.ingest.checkpoint_sheets import read_checkpoint_sheet
from pipeline.ingest.codebook_match import INVALID_CODE, Decoded, decode_export, match_export
from pipeline.ingest.columns import per_unique
from pipeline.ingest.excel import Sheet, is_table_file, read_sheets
from pipeline.ingest.paper import PAPER_CHANNEL, find_paper_header, read_paper_sheet
from pipeline.ingest.privacy import (
    KEY_ENV,
    UNKNOWN_PLACE,
    ip_columns,
    mask_series,
    project_key,
    pseudonym_series,
)
from pipeline.ingest.text import cell_text
from pipeline.parallel import SERIAL, Background, Executor
from pipeline.stages.base import StageContext, write_json, write_rows

NAME = "ingest"
REQUIRES: tuple[str, ...] = ()

RECORD_COLUMNS = ("record_id", "source_file", "source_sheet", "source_row")
META_OUT = (
    "respondent",
    "submitted_at",
    "duration_s",
    "channel",
    "channel_detail",
    "ip_key",
    "ip_province",
    "ip_city",
)
SURVEY_DIRS = {"public": paths.RAW_PUBLIC_DIR, "staff": paths.RAW_STAFF_DIR}


@dataclass
class IngestResult:
    tables: dict[str, pd.DataFrame]
    report: dict[str, Any] = field(default_factory=dict)


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if is_table_file(p)) if folder.is_dir() else []


def _record_ids(stem: str, sheet: str, rows: pd.Index, multi_sheet: bool) -> pd.Series:
    """``stem:row`` (``stem:sheet:row`` for multi-sheet files), built by Arrow in one pass, as a str column."""
    prefix = f"{stem}:{sheet}:" if multi_sheet else f"{stem}:"
    numbers = pa.array(rows.to_numpy(dtype=np.int64)).cast(pa.string())
    ids = pc.binary_join_element_wise(prefix, numbers, "")
    return pd.Series(pd.array(ids, dtype=pd.StringDtype(na_value=np.nan)), index=rows)


def _with_source(frame: pd.DataFrame, path: Path, sheet: str, multi_sheet: bool) -> pd.DataFrame:
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
        if it.type == "multiple":
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
    head = pd.DataFrame(
        {"record_id": [], "source_file": [], "source_sheet": [], "source_row": pd.Series([], dtype=np.int64)}
    )
    return pd.concat([head, rec.reset_index(drop=True)], axis=1)


def ingest_survey_file(
    path: Path, codebook: Codebook, key: bytes, *, strict: bool = False, executor: Executor = SERIAL
):
    """(records, report entry) of one survey file: a 问卷星 export or a paper-entry workbook."""
    sheets = read_sheets(path)
    parsed: list[tuple[Sheet, str, Any]] = []
    for sh in sheets:
        if sh.rows and wjx.looks_like_export(sh.rows[0]):
            parsed.append((sh, "wjx", None))
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
            export = wjx.export_from_sheet(sh, guess_kinds=False)
            with _keyed_in_background(export.meta, key, executor) as keyed:
                match = match_export(export, codebook)
                decoded = decode_export(export, codebook, match, strict=strict)
                records = survey_records(export.meta, decoded, export.mode, key, keyed=keyed.result())
            entry = {
                "mode": export.mode,
                "mode_source": export.mode_source,
                "encoding": export.encoding,
                "warnings": export.warnings + match.warnings,
            }
        else:
            meta, decoded = read_paper_sheet(sh, codebook, hr, strict=strict)
            # paper ids live in their own namespace: paper id 12 is not 问卷星 序号 12
            meta["seq"] = per_unique(meta["seq"], lambda v: f"paper:{cell_text(v)}")
            meta["duration_s"] = np.nan
            meta["channel"] = PAPER_CHANNEL
            meta["channel_detail"] = None
            records = survey_records(meta, decoded, "paper", key)
            entry = {"mode": "paper", "mode_source": "header", "encoding": None, "warnings": []}
        frames.append(_with_source(records, path, sh.name, multi))
        entry.update(
            file=path.name,
            sheet=sh.name,
            instrument=codebook.instrument,
            rows=len(records),
            invalid_cells=[i.as_dict() for i in decoded.issues],
            n_invalid_cells=sum(len(i.rows) for i in decoded.issues),
        )
        entries.append(entry)
    return frames, entries


def _ingest_sheets(folder: Path, reader, what: str, report: list[dict]) -> list[pd.DataFrame]:
    frames = []
    for path in _files(folder):
        sheets = read_sheets(path)
        got = [(sh, reader(sh)) for sh in sheets]
        got = [(sh, f) for sh, f in got if f is not None]
        if not got:
            raise DataError(f"不是{what} (not a {what} sheet): no header row found", Location(file=path.name))
        for sh, f in got:
            frames.append(_with_source(f, path, sh.name, len(got) > 1))
            report.append({"file": path.name, "sheet": sh.name, "kind": what, "rows": len(f), "warnings": []})
    return frames


def _ids_may_repeat(frames: list[pd.DataFrame]) -> bool:
    """Whether two records of ``frames`` (from :func:`_with_source`) may share a record id.

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


def _check_record_ids(frames: list[pd.DataFrame]) -> None:
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


PARTS = (*SURVEY_DIRS, "casefile_reviews", "checkpoints")
"""The stage's tables; each is read from its own raw folder(s), independently of the others."""


def ingest_part(
    raw: Path, config: Config, part: str, *, key: bytes, strict: bool = False, executor: Executor = SERIAL
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """One table of the stage (a name of :data:`PARTS`) and its report entries (one per file and sheet read)."""
    frames, entries = part_frames(raw, config, part, key=key, strict=strict, executor=executor)
    return (frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)), entries


def _checked(frames: list[pd.DataFrame], empty: pd.DataFrame) -> list[pd.DataFrame]:
    """``frames`` with their record ids checked, or ``[empty]`` when there are none."""
    if not frames:
        return [empty]
    _check_record_ids(frames)
    return frames


def part_frames(
    raw: Path, config: Config, part: str, *, key: bytes, strict: bool = False, executor: Executor = SERIAL
) -> tuple[list[pd.DataFrame], list[dict[str, Any]]]:
    """:func:`ingest_part` before its frames (one per file and sheet, or the empty table) are put one below the
    other: record ids checked, columns in contract order."""
    raw = Path(raw)
    if part in SURVEY_DIRS:
        codebook = config.codebook(part)
        frames: list[pd.DataFrame] = []
        files: list[dict[str, Any]] = []
        for path in _files(raw / SURVEY_DIRS[part]):
            f, entries = ingest_survey_file(path, codebook, key, strict=strict, executor=executor)
            frames += f
            files += entries
        empty = empty_survey(codebook)
        if not frames:
            return [empty], files
        _check_record_ids(frames)
        cols = list(empty.columns)
        if all(set(cols) <= set(f.columns) for f in frames):
            return [f[cols] for f in frames], files
        return [pd.concat(frames, ignore_index=True)[cols]], files
    report: list[dict[str, Any]] = []
    if part == "casefile_reviews":
        frames = _ingest_sheets(
            raw / paths.RAW_CASEFILE_DIR,
            lambda sh: read_casefile_sheet(sh, config.casefile, config.units, key),
            "案卷评查表",
            report,
        )
        return _checked(frames, _empty_casefile(config)), report
    if part == "checkpoints":
        frames = _ingest_sheets(
            raw / paths.RAW_CHECKPOINT_DIR,
            lambda sh: read_checkpoint_sheet(sh, config.indicators, config.units),
            "核查表",
            report,
        )
        return _checked(frames, _empty_checkpoints()), report
    raise ValueError(f"unknown ingest part '{part}' (known: {', '.join(PARTS)})")


def ingest_raw(raw: Path, config: Config, *, key: bytes, strict: bool = False) -> IngestResult:
    """Pure-ish core of the stage: read ``raw/`` and return the four tables and the report (writes nothing)."""
    raw = _raw_folder(raw)
    parts = {p: ingest_part(raw, config, p, key=key, strict=strict) for p in PARTS}
    tables = {p: table for p, (table, _) in parts.items()}
    files = [e for _, entries in parts.values() for e in entries]
    return IngestResult(tables=tables, report=_report(raw, {p: len(t) for p, t in tables.items()}, files))


def _raw_folder(raw: Path) -> Path:
    raw = Path(raw)
    if not raw.is_dir():
        raise DataError(f"原始数据目录不存在 (raw data folder not found): {raw}")
    return raw


def _report(raw: Path, rows: dict[str, int], files: list[dict[str, Any]]) -> dict[str, Any]:
    """``_ingest_report.json`` from the rows per table and the file entries (in :data:`PARTS` order)."""
    if not files:
        raise DataError(
            f"{raw} 下没有可读取的文件 (no input files): expected .xlsx/.xls/.csv in "
            f"{', '.join([paths.RAW_PUBLIC_DIR, paths.RAW_STAFF_DIR, paths.RAW_CASEFILE_DIR, paths.RAW_CHECKPOINT_DIR])}/"
        )
    return {
        "invalid_code": INVALID_CODE,
        "invalid_code_meaning": "answer not among the codebook options; clean excludes the record (see DATA_CONTRACT)",
        "rows": rows,
        "n_invalid_cells": sum(f.get("n_invalid_cells", 0) for f in files),
        "files": files,
    }


def _empty_casefile(config: Config) -> pd.DataFrame:
    cols = list(RECORD_COLUMNS) + ["case_id", "unit", "case_type", "reviewer"]
    cols += [v.code for v in config.casefile.vetoes] + [
        d.code for c in config.casefile.categories for d in c.defects
    ]
    cols += ["typed_score", "score", "grade", "score_mismatch"]
    return pd.DataFrame({c: pd.Series([], dtype=object) for c in cols})


def _empty_checkpoints() -> pd.DataFrame:
    cols = list(RECORD_COLUMNS) + ["unit", "point", "source", "rating", "score", "note"]
    return pd.DataFrame({c: pd.Series([], dtype=object) for c in cols})


def _part_bytes(raw: Path) -> dict[str, int]:
    """Size of the raw files each part reads."""
    folders = {
        **SURVEY_DIRS,
        "casefile_reviews": paths.RAW_CASEFILE_DIR,
        "checkpoints": paths.RAW_CHECKPOINT_DIR,
    }
    return {p: sum(f.stat().st_size for f in _files(raw / folders[p])) for p in PARTS}


def _main_part(raw: Path, executor: Executor) -> str | None:
    """The part this process ingests while a worker process does the others (the largest input), or None for
    all here (the executor's decision on the raw input's size, threshold ``ingest_parts_bytes``)."""
    sizes = _part_bytes(raw)
    parallel = executor.splits(sum(sizes.values()), "ingest_parts_bytes")
    return max(sizes, key=sizes.get) if parallel else None  # type: ignore[arg-type]


def _ingest_and_write(
    raw: Path, config: Config, part: str, key: bytes, strict: bool, dest: Path, executor: Executor
) -> tuple[list[dict[str, Any]], int]:
    """:func:`ingest_part`, its table written to ``dest`` (without first putting its frames together in
    pandas): (report entries, rows)."""
    frames, entries = part_frames(raw, config, part, key=key, strict=strict, executor=executor)
    write_rows(frames, dest, part)
    return entries, sum(len(f) for f in frames)


def run(ctx: StageContext, dest: Path) -> dict[str, Any]:
    """Each table is ingested and written on its own; with two cores and a large input the largest runs here
    and the others in a worker process (``RunOptions.workers``: 1 forces one process). Output is the same."""
    raw = _raw_folder(ctx.raw)
    key = project_key(ctx.config.analysis_digest or ctx.config.digest)
    strict, executor = ctx.options.strict_codes, ctx.executor
    tasks = {
        p: partial(_ingest_and_write, raw, ctx.config, p, key, strict, Path(dest), executor) for p in PARTS
    }
    done = executor.run_parts(tasks, here=_main_part(raw, executor))
    report = _report(
        raw, {p: rows for p, (_, rows) in done.items()}, [e for es, _ in done.values() for e in es]
    )
    report["pseudonym_key"] = (
        f"${KEY_ENV}" if os.environ.get(KEY_ENV) else f"config digest (default; set ${KEY_ENV} for real data)"
    )
    write_json(report, Path(dest) / "_ingest_report.json")
    return {
        "rows": report["rows"],
        "n_invalid_cells": report["n_invalid_cells"],
        "files": len(report["files"]),
    }
