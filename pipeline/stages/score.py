"""Stage 07_score: every unit scored on the indicator system (points, items, aspects, blocks, overall, with
coverage), and ranked within its unit type with rank intervals and tiers.

Reads ``02_clean/public``, ``staff``, ``casefiles``, ``casefile_reviews``, ``checkpoints`` and
``03_weight/public_weights``, ``staff_weights``; writes (columns in ``docs/DATA_CONTRACT.md``, section 07_score)
``point_sources``, ``scores``, ``ranking`` and ``scores.xlsx`` (core: :mod:`pipeline.score`). Small survey cells
are flagged by ``analysis.yaml: small_cells`` or ``--small-n``/``--min-n``; the rank draws are seeded by
``--seed``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.safe_cells import save_workbook
from pipeline.score import Inputs, score_tables
from pipeline.score.evidence import needed_columns
from pipeline.score.tables import TABLES
from pipeline.score.workbook import scores_workbook
from pipeline.stages.base import StageContext, write_table

NAME = "score"
REQUIRES = ("clean", "weight")
WORKBOOK = "scores.xlsx"


def run(ctx: StageContext, dest: Path) -> dict[str, Any]:
    small_n, min_n = ctx.options.small_cells(ctx.config)
    read: dict[str, pd.DataFrame] = {}
    for instrument in ("public", "staff"):
        if ctx.config.questionnaire(instrument) is not None:
            # a public questionnaire without a district question scores the city only
            read[instrument] = ctx.read_table(
                "clean", instrument, columns=needed_columns(ctx.config, instrument), optional=["district"]
            )
            read[f"{instrument}_weights"] = ctx.read_table("weight", f"{instrument}_weights")
    for table in ("casefiles", "casefile_reviews", "checkpoints"):
        if ctx.has_table("clean", table):
            read[table] = ctx.read_table("clean", table)
    found = score_tables(Inputs(**read), ctx.config, small_n=small_n, min_n=min_n, seed=ctx.seed)
    for name in TABLES:
        write_table(found.tables[name], dest, name)
    save_workbook(scores_workbook(found.tables["scores"], found.tables["ranking"]), dest / WORKBOOK,
                  reproducible=True)  # fmt: skip
    return found.summary()
