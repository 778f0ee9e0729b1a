"""All describe tables of a run: each configured questionnaire described by every module of this package.

Public survey: the 03_weight raking weights and :func:`pipeline.frames.public_design` (calibrated on the
variables weighted on), as 05_compare's design-based families. Staff survey: its 03_weight unit weights
(headcount / respondents) in :func:`pipeline.frames.staff_design` (strata = units, fpc = headcount), so that
city-wide percentages stand for the staff of the city rather than over-representing units that returned many
questionnaires; within one unit the weight is constant, so a unit's percentages are its unweighted ones (with
the finite population correction of its SE). Staff frequencies are also given per unit (groups below the
small-cell rule suppressed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from pipeline import frames
from pipeline.config import Config
from pipeline.config.codebook import Codebook
from pipeline.describe.common import Described
from pipeline.describe.crosstabs import crosstab_table
from pipeline.describe.frequencies import frequency_table
from pipeline.describe.multiple import multiple_table
from pipeline.describe.quiz import quiz_table
from pipeline.describe.ranking import ranking_table
from pipeline.describe.scales import scale_bin_table, scale_table
from pipeline.schemas import column_names
from pipeline.stats.small_groups import SmallGroupRule

TABLES = ("frequencies", "crosstabs", "multiple", "ranking", "scales", "scale_bins", "quiz")
"""The tables of 06_describe, in writing order."""
BUILDERS = {
    "frequencies": frequency_table,
    "crosstabs": crosstab_table,
    "multiple": multiple_table,
    "ranking": ranking_table,
    "scales": scale_table,
    "scale_bins": scale_bin_table,
    "quiz": quiz_table,
}
STAFF_EXTRA_GROUPINGS = ("unit",)


@dataclass
class DescribeTables:
    """The tables of 06_describe (name → long table) and what was left out."""

    tables: dict[str, pd.DataFrame]
    skipped: list[dict[str, str]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {f"{name}_rows": len(t) for name, t in self.tables.items()}
        if self.skipped:
            out["skipped"] = self.skipped
        return out


def describe_instrument(described: Described) -> dict[str, pd.DataFrame]:
    """Every describe table of one questionnaire."""
    return {name: BUILDERS[name](described) for name in TABLES}


def _codebook(config: Config, instrument: str) -> Codebook:
    return Codebook.from_config(config.questionnaire(instrument), config.units)


def describe_tables(
    public: pd.DataFrame,
    public_weights: pd.DataFrame,
    staff: pd.DataFrame,
    staff_weights: pd.DataFrame,
    config: Config,
    *,
    small_n: int,
    min_n: int,
    method: str = "logit",
) -> DescribeTables:
    """The 06_describe tables of both questionnaires (a questionnaire without responses is skipped)."""
    rule = SmallGroupRule(flag_below=small_n, suppress_below=min_n)
    found: dict[str, list[pd.DataFrame]] = {name: [] for name in TABLES}
    skipped = []
    for instrument, responses, weights in (
        ("public", public, public_weights),
        ("staff", staff, staff_weights),
    ):
        if config.questionnaire(instrument) is None:
            continue
        if len(responses) < 2:
            skipped.append(
                {"what": instrument, "reason": "有效答卷不足2份，未作描述统计 (fewer than 2 valid responses)"}
            )
            continue
        plan = config.plan(instrument)
        if instrument == "public":
            frame = frames.public_frame(responses, weights, config, groupings=plan.groupings)
            design = frames.public_design(frame, config)
            groupings = tuple(plan.groupings)
            weighted = plan.weighting != "none"
        else:
            frame = frames.staff_frame(responses, config, weights=weights)
            design = frames.staff_design(frame, config)
            groupings = tuple(dict.fromkeys((*plan.groupings, *STAFF_EXTRA_GROUPINGS)))
            weighted = True
        groupings = tuple(g for g in groupings if g in frame.columns)
        described = Described(
            instrument=instrument, frame=frame, design=design, codebook=_codebook(config, instrument),
            groupings=groupings, rule=rule, weighted=weighted, method=method,
        )  # fmt: skip
        for name, table in describe_instrument(described).items():
            found[name].append(table)
    tables = {
        name: pd.concat([t for t in parts if len(t)], ignore_index=True)
        if any(len(t) for t in parts)
        else pd.DataFrame(columns=column_names("describe", name))
        for name, parts in found.items()
    }
    return DescribeTables(tables=tables, skipped=skipped)
