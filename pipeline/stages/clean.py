"""Clean stage: from every raw response record to the valid sample, with a reason for each exclusion.

Reads ``output/01_ingest/``: ``public.parquet``, ``staff.parquet``, and when present ``casefile_reviews.parquet``,
``checkpoints.parquet``. Writes ``output/02_clean/`` (docs/DATA_CONTRACT.md, 02_clean):

- ``public.parquet``, ``staff.parquet`` — the kept records: the ingest columns (``ip_key`` dropped), one
  ``flag_<rule>`` column per rule whose action is ``flag``, and the derived variables of
  :mod:`pipeline.clean.derive` (:func:`pipeline.clean.responses.cleaned_responses`, which also masks free text
  again and checks that raw rows = kept + excluded for every ``source_file``);
- ``exclusions.parquet`` — one row per excluded record (``instrument, record_id, source_file, source_sheet,
  source_row, rule, reason, detail``); rules, order and defaults in ``questionnaires/cleaning.yaml``;
- ``flow.parquet`` — raw → valid per instrument (:mod:`pipeline.clean.flow`);
- ``casefiles.parquet`` (one row per case file, :mod:`pipeline.clean.casefiles`), ``casefile_reviews.parquet``
  (passed through) and ``checkpoints.parquet`` (notes masked again, :mod:`pipeline.clean.checkpoints`);
- ``name_review.parquet`` and ``name_review.csv`` (UTF-8 with BOM, for Excel/WPS) — free texts of 01_ingest that may
  name a person, the names hidden (:mod:`pipeline.clean.names`); the summary warns with their count.

Before anything is written the circuit breaker (:mod:`pipeline.clean.breaker`, ``cleaning.yaml:
circuit_breaker``) may stop the stage with a DataError: it also reads ``01_ingest/_ingest_report.json`` (which
meta columns each 问卷星 export had, which file yielded no record). Records excluded as duplicates of another
file's records are listed in the summary's ``warnings``.
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from pipeline import paths
from pipeline.clean.casefiles import casefile_scores, casefile_summary
from pipeline.clean.checkpoints import masked_checkpoints
from pipeline.clean.names import empty_review, name_candidates, review_message
from pipeline.clean.responses import cleaned_responses, free_text_columns
from pipeline.safe_cells import write_csv
from pipeline.stages.base import StageContext, write_table

NAME = "clean"
REQUIRES = ("ingest",)
INSTRUMENTS = ("public", "staff")
PARTS = (*INSTRUMENTS, "casefiles", "checkpoints")
"""Independent parts of the stage: each reads its own 01_ingest table(s) and writes its own 02_clean table(s)."""


def _ingest_files(ctx: StageContext) -> list[dict[str, Any]] | None:
    """The file entries of ``01_ingest/_ingest_report.json`` (for the circuit breaker), None if it is absent."""
    path = ctx.stage_dir("ingest") / "_ingest_report.json"
    return json.loads(path.read_text(encoding="utf-8")).get("files", []) if path.exists() else None


def _clean_part(
    ctx: StageContext, part: str, dest: Path, files: list[dict[str, Any]] | None
) -> dict[str, Any]:
    """Clean one part and write its table(s) to ``dest``; returns its summary (and, for an instrument, its
    exclusions and flow, which are written together by :func:`run`). ``{}`` for an absent optional input."""
    cfg = ctx.config
    if part in INSTRUMENTS and cfg.questionnaire(part) is None:
        return {}
    if part in INSTRUMENTS:  # the table is handed over as the only reference: the core frees it (peak memory)
        result = cleaned_responses(
            ctx.read_table("ingest", part),
            cfg.codebook(part),
            cfg.units,
            cfg.cleaning,
            ctx.executor,
            files=files,
        )
        write_table(result.kept, dest, part)
        return {
            "summary": result.summary(),
            "exclusions": result.exclusions,
            "flow": result.flow,
            "warnings": list(result.warnings),
        }
    if part == "casefiles" and ctx.has_table("ingest", "casefile_reviews") and cfg.casefile is not None:
        reviews = ctx.read_table("ingest", "casefile_reviews")
        cases = casefile_scores(reviews, cfg.casefile)
        write_table(reviews, dest, "casefile_reviews")
        write_table(cases, dest, "casefiles")
        return {"summary": casefile_summary(cases)}
    if part == "checkpoints" and ctx.has_table("ingest", "checkpoints"):
        checkpoints = masked_checkpoints(ctx.read_table("ingest", "checkpoints"))
        write_table(checkpoints, dest, "checkpoints")
        return {"summary": int(len(checkpoints))}
    return {}


def _main_part(ctx: StageContext) -> str | None:
    """The instrument cleaned in this process while a worker does the other parts (the one with most records),
    or None to do everything here (the executor's decision on the records' count, threshold
    ``clean_parts_rows``)."""
    rows = {
        i: pq.ParquetFile(paths.table_path(ctx.out, "ingest", i)).metadata.num_rows
        if ctx.has_table("ingest", i)
        else 0
        for i in INSTRUMENTS
    }
    parallel = ctx.executor.splits(sum(rows.values()), "clean_parts_rows")
    return max(rows, key=rows.get) if parallel else None  # type: ignore[arg-type]


def run(ctx: StageContext, dest: Path) -> dict[str, Any]:
    """Every part cleaned and written on its own (see :func:`_main_part` for the two-process split; the output
    is the same either way), then the exclusions and flow of both instruments together."""
    files = _ingest_files(ctx)
    done = ctx.executor.run_parts(
        {p: partial(_clean_part, ctx, p, Path(dest), files) for p in PARTS}, here=_main_part(ctx)
    )
    for table in ("exclusions", "flow"):
        write_table(
            pd.concat([done[i][table] for i in INSTRUMENTS if done[i]], ignore_index=True), dest, table
        )
    review = _name_review(ctx)
    write_table(review, dest, "name_review")
    write_csv(review, Path(dest) / "name_review.csv")
    summary: dict[str, Any] = {p: done[p]["summary"] for p in PARTS if done[p]}
    summary["name_review"] = int(len(review))
    warnings = [w for i in INSTRUMENTS if done[i] for w in done[i]["warnings"]]
    warnings += [review_message(len(review))] if len(review) else []
    return summary | ({"warnings": warnings} if warnings else {})


def _name_review(ctx: StageContext) -> pd.DataFrame:
    """:func:`~pipeline.clean.names.name_candidates` of every free-text column of the 01_ingest tables (every
    record, kept or not: 01_ingest holds them all), reading only those columns."""
    found = []
    for part in INSTRUMENTS:
        if ctx.config.questionnaire(part) is None or not ctx.has_table("ingest", part):
            continue
        names = pq.read_schema(paths.table_path(ctx.out, "ingest", part)).names
        columns = free_text_columns(pd.DataFrame(columns=names), ctx.config.codebook(part))
        frame = ctx.read_table("ingest", part, columns=["record_id", "source_file", *columns])
        found.append(name_candidates(frame, columns, part))
    if ctx.has_table("ingest", "checkpoints"):
        frame = ctx.read_table("ingest", "checkpoints", columns=["record_id", "source_file", "note"])
        found.append(name_candidates(frame, ["note"], "checkpoints"))
    found = [f for f in found if len(f)]
    return pd.concat(found, ignore_index=True) if found else empty_review()
