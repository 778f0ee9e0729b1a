"""Stage 01_ingest: read everything under ``raw/`` into typed tables (docs/DATA_CONTRACT.md § 01_ingest).

Reads ``raw/public/`` and ``raw/staff/`` (问卷星 exports in either mode, ``.xlsx``/``.xls``/``.csv``, and
paper-entry sheets), ``raw/casefiles/`` (case-file review workbooks) and ``raw/checkpoints/`` (checkpoint sheets).
Writes ``public.parquet``, ``staff.parquet``, ``casefile_reviews.parquet``, ``checkpoints.parquet`` and
``_ingest_report.json`` (per file: rows, mode, encoding, warnings, invalid cells; the analyst's ``warnings`` of
:mod:`pipeline.ingest.report_warnings`, also returned in the summary for the console; ``skipped`` instruments). Nothing is dropped here; raw IPs,
序号, reviewer names never reach the output (keyed pseudonyms, see :mod:`pipeline.ingest.privacy`), free text is
masked. The core is :mod:`pipeline.ingest` (one part per table: :func:`pipeline.ingest.parts.part_frames`).

Answers that match no codebook option are written as −9 and listed under ``invalid_cells`` in the report (the clean
stage excludes those records); ``RunOptions.strict_codes`` (``--strict-codes``) makes the first one a DataError instead.
The pseudonym key is ``$FAZHI_PSEUDONYM_KEY`` if set, else derived from the digest of the analysis configuration
(report-only files excluded; :func:`pipeline.ingest.privacy.project_key`; ``raw/`` is never written). While it is
unset the summary's first warning says so (code ``pseudonym_key_default``), on every run; setting or changing it
re-runs the stage (:func:`reuse_salt`).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from pipeline.config import Config
from pipeline.ingest.parts import configured_parts, ingest_report, part_bytes, part_frames, raw_folder
from pipeline.ingest.privacy import default_key_warning, key_fingerprint, key_source, project_key
from pipeline.parallel import Executor
from pipeline.stages.base import StageContext, write_json, write_rows

NAME = "ingest"
REQUIRES: tuple[str, ...] = ()


def run(ctx: StageContext, dest: Path) -> dict[str, Any]:
    """Each table is ingested and written on its own; with two cores and a large input the largest runs here
    and the others in a worker process (``RunOptions.workers``: 1 forces one process). Output is the same."""
    raw = raw_folder(ctx.raw)
    key = project_key(ctx.config.analysis_digest or ctx.config.digest)
    strict, executor = ctx.options.strict_codes, ctx.executor
    parts, skipped = configured_parts(ctx.config)
    tasks = {
        p: partial(_ingest_and_write, raw, ctx.config, p, key, strict, Path(dest), executor) for p in parts
    }
    done = executor.run_parts(tasks, here=_main_part(raw, executor, parts))
    report = ingest_report(
        raw, {p: rows for p, (_, rows) in done.items()}, [e for es, _ in done.values() for e in es]
    )
    report["pseudonym_key"] = key_source()
    write_json(report, Path(dest) / "_ingest_report.json")
    summary = {
        "rows": report["rows"],
        "n_invalid_cells": report["n_invalid_cells"],
        "files": len(report["files"]),
        "warnings": [w for w in [default_key_warning()] if w] + report["warnings"],
        "skipped": report["skipped"],
    }
    return summary | ({"skipped": skipped} if skipped else {})


def reuse_salt() -> str:
    """What the runner adds to this stage's reuse key besides ``raw/`` and the configuration: the pseudonym key's
    fingerprint (:func:`pipeline.ingest.privacy.key_fingerprint`), so a new ``$FAZHI_PSEUDONYM_KEY`` re-runs
    ingest."""
    return key_fingerprint()


def _main_part(raw: Path, executor: Executor, parts: list[str]) -> str | None:
    """The part this process ingests while a worker process does the others (the largest input), or None for
    all here (the executor's decision on the raw input's size, threshold ``ingest_parts_bytes``)."""
    sizes = {p: n for p, n in part_bytes(raw).items() if p in parts}
    if not sizes:
        return None
    parallel = executor.splits(sum(sizes.values()), "ingest_parts_bytes")
    return max(sizes, key=sizes.get) if parallel else None  # type: ignore[arg-type]


def _ingest_and_write(
    raw: Path, config: Config, part: str, key: bytes, strict: bool, dest: Path, executor: Executor
) -> tuple[list[dict[str, Any]], int]:
    """:func:`~pipeline.ingest.parts.ingest_part`, its table written to ``dest`` (without first putting its frames
    together in pandas): (report entries, rows)."""
    frames, entries = part_frames(raw, config, part, key=key, strict=strict, executor=executor)
    write_rows(frames, dest, part)
    return entries, sum(len(f) for f in frames)
