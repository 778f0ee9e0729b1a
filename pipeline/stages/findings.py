"""Stage 08_findings: the evaluation's common and individual problems, ranked, with evidence and suggestions.

Reads ``02_clean/checkpoints.parquet``, ``02_clean/casefiles.parquet``, ``05_compare/unit_vs_peers.parquet`` and,
when the score stage has written it, ``07_score/scores.parquet`` (affected units' item scores with intervals);
``questionnaires/findings.yaml`` (thresholds), ``suggestions.yaml`` (wording) and ``findings_review.yaml`` (the
evaluators' decisions). Writes ``findings.parquet`` (one row per problem × unit), ``states.parquet`` (every
unit × item's posterior probability of a problem), ``item_tests.parquet`` (city-wide excess per item),
``findings.json``, ``findings.md`` and ``problem_list.xlsx`` (core: :mod:`pipeline.findings`; columns in
``docs/DATA_CONTRACT.md``, section 08_findings).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from pipeline import atomic, paths
from pipeline.findings import findings_from, infer, structure
from pipeline.findings.records import COLUMNS, apply_review, build_records, cell_scores
from pipeline.findings.report import findings_json, findings_markdown, write_problem_list
from pipeline.findings.states import ITEM_TEST_COLUMNS, STATE_COLUMNS
from pipeline.stages.base import StageContext, json_text, write_table

NAME = "findings"
REQUIRES = ("clean", "compare", "score")
REPORT_CONFIG = ("suggestions.yaml", "findings.yaml", "findings_review.yaml")


def run(ctx: StageContext, dest: Path) -> dict[str, Any]:
    config = ctx.config
    checkpoints, casefiles, peers = (
        ctx.read_table(stage, table) if ctx.has_table(stage, table) else pd.DataFrame()
        for stage, table in (("clean", "checkpoints"), ("clean", "casefiles"), ("compare", "unit_vs_peers"))
    )
    if config.indicators is None or config.units is None:
        records = pd.DataFrame(columns=COLUMNS)
        write_table(records, dest, "findings")
        write_table(
            pd.DataFrame(columns=STATE_COLUMNS),
            dest,
            "states",
        )
        write_table(pd.DataFrame(columns=ITEM_TEST_COLUMNS), dest, "item_tests")
        atomic.write_text(dest / "findings.json", json_text(findings_json(records, {}, [])))
        atomic.write_text(dest / "findings.md", findings_markdown(records))
        write_problem_list(records, dest / "problem_list.xlsx")
        reason = "没有 indicators.yaml 或 units.yaml，无法推断问题 (no indicator system or units configured)"
        return {"common": 0, "individual": 0, "rows": 0, "skipped": [{"what": "findings", "reason": reason}]}
    has_scores = "score" in paths.STAGE_FOLDERS and ctx.has_table("score", "scores")
    scores = ctx.read_table("score", "scores") if has_scores else None
    st = structure(config)
    states = infer(checkpoints, casefiles, peers, config)
    found = findings_from(states, st, config.findings)
    records = build_records(found, states, st, config, cell_scores(checkpoints, scores, st))
    records, warnings = apply_review(records, config.findings_review, st)
    records = _keep_top(records, config.findings.max_common, config.findings.max_individual)
    write_table(records, dest, "findings")
    write_table(states.cells, dest, "states")
    write_table(states.items, dest, "item_tests")
    atomic.write_text(dest / "findings.json", json_text(findings_json(records, states.parameters, warnings)))
    atomic.write_text(dest / "findings.md", findings_markdown(records))
    write_problem_list(records, dest / "problem_list.xlsx")
    kinds = records.drop_duplicates("id")["kind"].value_counts()
    summary: dict[str, Any] = {
        "common": int(kinds.get("common", 0)),
        "individual": int(kinds.get("individual", 0)),
        "rows": len(records),
        "scores": "07_score" if scores is not None else "checkpoints",
    }
    if warnings:
        summary["warnings"] = warnings
    return summary


def _keep_top(records: pd.DataFrame, max_common: int, max_individual: int) -> pd.DataFrame:
    keep = pd.Series(True, index=records.index)
    for kind, most in (("common", max_common), ("individual", max_individual)):
        if most:
            keep &= ~((records["kind"] == kind) & (records["rank"] > most))
    return records[keep].reset_index(drop=True)
