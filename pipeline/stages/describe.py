"""Stage 06_describe: the descriptive tables every survey report starts with.

Reads ``02_clean/public.parquet``, ``02_clean/staff.parquet``, ``03_weight/public_weights.parquet`` and
``03_weight/staff_weights.parquet``; writes (columns in ``docs/DATA_CONTRACT.md``, section 06_describe)
``frequencies``, ``crosstabs``, ``multiple``, ``ranking``, ``scales``, ``scale_bins`` and ``quiz``
(core: :mod:`pipeline.describe`), the open-answer tables (:mod:`pipeline.describe.open_answers`) and
``describe.xlsx`` (:mod:`pipeline.describe.workbook`). Small cells follow ``analysis.yaml: small_cells`` or
``--small-n``/``--min-n``; proportion intervals are logit (``svyciprop`` default) or, with ``--korn-graubard``, Korn–Graubard.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.describe import describe_tables
from pipeline.describe.open_answers import open_answer_tables
from pipeline.describe.tables import TABLES
from pipeline.describe.workbook import describe_workbook
from pipeline.safe_cells import write_report_xlsx
from pipeline.stages.base import StageContext, write_table

NAME = "describe"
REQUIRES = ("clean", "weight")


def run(ctx: StageContext, dest: Path) -> dict[str, Any]:
    small_n, min_n = ctx.options.small_cells(ctx.config)
    inputs = {}
    for instrument in ("public", "staff"):
        configured = ctx.config.questionnaire(instrument) is not None
        inputs[instrument] = ctx.read_table("clean", instrument) if configured else pd.DataFrame()
        inputs[f"{instrument}_weights"] = (
            ctx.read_table("weight", f"{instrument}_weights") if configured else pd.DataFrame()
        )
    found = describe_tables(
        inputs["public"], inputs["public_weights"], inputs["staff"], inputs["staff_weights"], ctx.config,
        small_n=small_n, min_n=min_n, method="beta" if ctx.options.korn_graubard else "logit",
    )  # fmt: skip
    for name in TABLES:
        write_table(found.tables[name], dest, name)
    opened = open_answer_tables({i: inputs[i] for i in ("public", "staff")}, ctx.config, seed=ctx.seed)
    for name, table in opened.items():
        write_table(table, dest, name)
    write_report_xlsx(describe_workbook({**found.tables, **opened}, ctx.config), dest / "describe.xlsx")
    return found.summary()
