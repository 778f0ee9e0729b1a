"""The stage's four tables (:data:`PARTS`), each read from its own raw folder, and the ingest report.

:func:`part_frames` reads one part: the survey files of ``raw/public/`` or ``raw/staff/``
(:func:`pipeline.ingest.surveys.ingest_survey_file`), or the sheets of ``raw/casefiles/``
(:func:`pipeline.ingest.casefile_sheets.read_casefile_sheet`) or ``raw/checkpoints/``
(:func:`pipeline.ingest.checkpoint_sheets.read_checkpoint_sheet`), as one frame per file and sheet with record ids
checked; :func:`ingest_part` puts them together. :func:`ingest_raw` does all four and :func:`ingest_report` builds
``_ingest_report.json``; :func:`part_bytes` is the size of each part's input (the stage shell decides the
two-process split on it). Nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline import paths
from pipeline.config import Config
from pipeline.errors import DataError, Location
from pipeline.ingest.casefile_sheets import read_casefile_sheet
from pipeline.ingest.checkpoint_sheets import read_checkpoint_sheet
from pipeline.ingest.codebook_match import INVALID_CODE
from pipeline.ingest.excel import is_table_file, read_sheets
from pipeline.ingest.overlap import file_overlaps
from pipeline.ingest.records import RECORD_COLUMNS, check_record_ids, with_source
from pipeline.ingest.report_warnings import report_warnings
from pipeline.ingest.surveys import empty_survey, ingest_survey_file
from pipeline.parallel import SERIAL, Executor

SURVEY_DIRS = {"public": paths.RAW_PUBLIC_DIR, "staff": paths.RAW_STAFF_DIR}
"""The raw folder of each survey instrument."""
PARTS = (*SURVEY_DIRS, "casefile_reviews", "checkpoints")
"""The stage's tables; each is read from its own raw folder(s), independently of the others."""


#: The configuration files each non-survey part needs.
PART_NEEDS = {"casefile_reviews": ("casefile", "units"), "checkpoints": ("indicators", "units")}


def configured_parts(config: Config) -> tuple[list[str], list[dict[str, str]]]:
    """The parts this configuration can ingest, and a skip entry (``what``, ``reason``) for each other one:
    a questionnaire not configured, or case files / checkpoints without the files that read them."""
    parts, skipped = [], []
    for part in PARTS:
        if part in SURVEY_DIRS:
            missing = [] if config.questionnaire(part) is not None else [f"{part}"]
        else:
            missing = [name for name in PART_NEEDS[part] if getattr(config, name) is None]
        if missing:
            skipped.append(
                {
                    "what": part,
                    "reason": f"没有 {', '.join(m + '.yaml' for m in missing)}，不读取 (not configured)",
                }
            )
        else:
            parts.append(part)
    return parts, skipped


@dataclass
class IngestResult:
    """The four tables of :func:`ingest_raw` (by :data:`PARTS` name) and the ingest report."""

    tables: dict[str, pd.DataFrame]
    report: dict[str, Any] = field(default_factory=dict)


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if is_table_file(p)) if folder.is_dir() else []


def _ingest_sheets(folder: Path, reader, what: str, report: list[dict]) -> list[pd.DataFrame]:
    frames = []
    for path in _files(folder):
        sheets = read_sheets(path)
        got = [(sh, reader(sh)) for sh in sheets]
        got = [(sh, f) for sh, f in got if f is not None]
        if not got:
            raise DataError(f"不是{what} (not a {what} sheet): no header row found", Location(file=path.name))
        for sh, f in got:
            frames.append(with_source(f, path, sh.name, len(got) > 1))
            report.append(
                {
                    "file": path.name,
                    "sheet": sh.name,
                    "kind": what,
                    "rows": len(f),
                    "warnings": [],
                    "layout_warnings": list(sh.warnings),
                }
            )
    return frames


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
    check_record_ids(frames)
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
        check_record_ids(frames)
        for overlap in file_overlaps(frames):  # one entry per frame, in the same order
            files[overlap.position].setdefault("overlaps", []).append(overlap.as_dict())
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
    raw = raw_folder(raw)
    parts = {p: ingest_part(raw, config, p, key=key, strict=strict) for p in configured_parts(config)[0]}
    tables = {p: table for p, (table, _) in parts.items()}
    files = [e for _, entries in parts.values() for e in entries]
    return IngestResult(
        tables=tables, report=ingest_report(raw, {p: len(t) for p, t in tables.items()}, files)
    )


def raw_folder(raw: Path) -> Path:
    raw = Path(raw)
    if not raw.is_dir():
        raise DataError(f"原始数据目录不存在 (raw data folder not found): {raw}")
    return raw


def ingest_report(raw: Path, rows: dict[str, int], files: list[dict[str, Any]]) -> dict[str, Any]:
    """``_ingest_report.json`` from the rows per table and the file entries (in :data:`PARTS` order): also the
    ``warnings`` of :func:`pipeline.ingest.report_warnings.report_warnings` and, as ``skipped``, each survey
    instrument whose raw folder holds no file (its table is empty; later stages have nothing of it to analyse).
    """
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
        "warnings": report_warnings(files),
        "skipped": skipped_instruments(files) + unread_files(raw),
    }


SYSTEM_FILES = frozenset({"thumbs.db", "desktop.ini"})
"""Files an operating system leaves in folders; never data, passed over without a word (as are hidden files and
Excel/WPS lock files ``~$…``)."""


def unread_files(raw: Path) -> list[dict[str, str]]:
    """``{what, reason}`` for each file or subfolder of a raw input folder that is not read: not a spreadsheet
    (a ``.txt`` note, a ``.docx``, a ``.zip``), so the user sees that it was left out."""
    out = []
    for folder in [*SURVEY_DIRS.values(), paths.RAW_CASEFILE_DIR, paths.RAW_CHECKPOINT_DIR]:
        base = Path(raw) / folder
        if not base.is_dir():
            continue
        for p in sorted(base.iterdir()):
            name = p.name
            if is_table_file(p) or name.startswith((".", "~$")) or name.lower() in SYSTEM_FILES:
                continue
            reason = (
                "子文件夹，未读取 (subfolder, not read)"
                if p.is_dir()
                else "不是 .xlsx/.xls/.csv 表格，未读取 (not a spreadsheet, not read)"
            )
            out.append({"what": f"{folder}/{name}", "reason": reason})
    return out


def skipped_instruments(files: list[dict[str, Any]]) -> list[dict[str, str]]:
    """``{what, reason}`` for each survey instrument of :data:`SURVEY_DIRS` without any file read."""
    read = {f.get("instrument") for f in files}
    return [
        {
            "what": instrument,
            "reason": f"原始数据中 {folder}/ 为空或不存在，此问卷无记录 (raw folder empty or absent: no records)",
        }
        for instrument, folder in SURVEY_DIRS.items()
        if instrument not in read
    ]


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


def part_bytes(raw: Path) -> dict[str, int]:
    """Size of the raw files each part reads."""
    folders = {
        **SURVEY_DIRS,
        "casefile_reviews": paths.RAW_CASEFILE_DIR,
        "checkpoints": paths.RAW_CHECKPOINT_DIR,
    }
    return {p: sum(f.stat().st_size for f in _files(raw / folders[p])) for p in PARTS}
