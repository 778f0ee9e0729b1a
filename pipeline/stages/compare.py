"""Stage 05_compare: group comparisons, each unit against its peers, and demographically adjusted district gaps.

Reads ``02_clean/public.parquet``, ``02_clean/staff.parquet``, ``02_clean/casefiles.parquet`` and
``03_weight/public_weights.parquet``; writes (columns in ``docs/DATA_CONTRACT.md``, section 05_compare)

- ``comparisons.parquet``: every family (one outcome × one grouping) — public survey design-based (raking
  weights, Wald F, Rao–Scott χ², pairwise contrasts) with the unweighted tests (Welch ANOVA, Kruskal–Wallis,
  Games–Howell, χ²) alongside; staff survey and case files unweighted;
- ``unit_vs_peers.parquet``: each district / department against the rest of its unit type;
- ``adjusted.parquet``: weighted district gaps without and with gender, age group and education controls;
- ``families.parquet``: one row per family (the Holm scope).

``p_holm`` is Holm within a family, ``p_bh`` Benjamini–Hochberg over every p-value of the three result tables.
Small groups: thresholds are ``analysis.yaml: small_cells`` (``mark_below``, ``suppress_below``), or the run
options ``--small-n``/``--min-n`` where given (:meth:`pipeline.options.RunOptions.small_cells`; weighted
analyses use the Kish effective n). Suppressed groups have NaN estimates,
``flag = "suppressed"`` and ``reason = "样本量不足10，不予报告"``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.compare import comparison_tables
from pipeline.compare.outcomes import input_columns, optional_inputs
from pipeline.stages.base import StageContext, write_table

NAME = "compare"
REQUIRES = ("clean", "weight")


def run(ctx: StageContext, dest: Path) -> dict[str, Any]:
    small_n, min_n = ctx.options.small_cells(ctx.config)
    casefiles = (
        ctx.read_table("clean", "casefiles") if ctx.has_table("clean", "casefiles") else pd.DataFrame()
    )
    public, staff = (
        ctx.read_table(
            "clean", i, columns=input_columns(ctx.config, i), optional=optional_inputs(ctx.config, i)
        )
        if ctx.config.questionnaire(i) is not None
        else pd.DataFrame()
        for i in ("public", "staff")
    )
    tables = comparison_tables(
        public,
        ctx.read_table("weight", "public_weights", columns=["record_id", "weight"])
        if ctx.config.public is not None
        else pd.DataFrame(),
        staff,
        casefiles,
        ctx.config,
        small_n=small_n,
        min_n=min_n,
        executor=ctx.executor,
    )
    for name in ("comparisons", "unit_vs_peers", "adjusted", "families"):
        write_table(getattr(tables, name), dest, name)
    return tables.summary()
