"""Stage 03_weight: survey weights for both questionnaires, with diagnostics.

Reads ``02_clean/public.parquet`` and ``02_clean/staff.parquet`` (only the columns weighting uses); writes

- ``public_weights.parquet`` (``record_id, weight``): raking of the public sample to the population margins of
  ``questionnaires/population.yaml`` (``rake_on``), trimmed at ``weight_cap`` × mean weight and re-raked;
- ``staff_weights.parquet`` (``record_id, unit, weight``): unit headcount / respondents of the unit;
- ``margins.parquet``: achieved vs target margin per raking variable and category;
- ``diagnostics.parquet``: tidy ``instrument, scope, statistic, value`` (iterations, converged, deff, n_eff,
  weight quantiles, max/min ratio, trimmed count), overall and per district / unit.

The computations are in :mod:`pipeline.weight`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.stages.base import StageContext, write_table
from pipeline.weight.tables import input_columns, weight_tables

NAME = "weight"
REQUIRES = ("clean",)


def run(ctx: StageContext, dest: Path) -> dict[str, Any]:
    public, staff = (
        ctx.read_table("clean", i, columns=input_columns(ctx.config, i))
        if ctx.config.questionnaire(i) is not None
        else pd.DataFrame()
        for i in ("public", "staff")
    )
    tables = weight_tables(public, staff, ctx.config)
    for name in ("public_weights", "staff_weights", "margins", "diagnostics"):
        write_table(getattr(tables, name), dest, name)
    return tables.summary()
