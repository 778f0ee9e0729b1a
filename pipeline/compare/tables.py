"""All four tables of 05_compare from the cleaned data and the weights: :func:`comparison_tables`.

``p_bh`` is Benjamini–Hochberg over every raw ``p`` of the three result tables of the run together
(:func:`run_level_bh`). Small groups: a group with n < ``small_n`` — or, in weighted analyses, Kish effective
n < ``small_n`` — keeps its estimate with ``flag = "small"``; below ``min_n`` it is suppressed: estimates NaN,
``flag = "suppressed"``, ``reason = "样本量不足10，不予报告"`` in every table (thresholds: the run options
``small_n`` and ``min_n``, :class:`pipeline.options.RunOptions`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from pipeline import stats
from pipeline.compare.adjusted import adjusted_district_effects
from pipeline.compare.families import (
    _comparison_table,
    _unweighted_blocks,
    _weighted_block,
    family_table,
)
from pipeline.compare.outcomes import adjusted_outcomes, groupings
from pipeline.compare.unit_vs_peers import ALPHA, _peer_table, _public_peer_rows, _staff_case_peer_rows
from pipeline.config import Config
from pipeline.frames import casefile_frame, public_design, public_frame, staff_frame
from pipeline.parallel import SERIAL, Executor
from pipeline.schemas import empty_table
from pipeline.stats.small_groups import MIN_N, SMALL_N


def run_level_bh(*tables: pd.DataFrame) -> list[pd.DataFrame]:
    """Each table with ``p_bh``: Benjamini–Hochberg over every raw ``p`` of all ``tables`` together
    (:func:`pipeline.stats.adjust_across`), handed back table by table."""
    adjusted = stats.adjust_across([t[["p"]] for t in tables])["p_bh"].to_numpy()
    out, start = [], 0
    for t in tables:
        out.append(t.assign(p_bh=adjusted[start : start + len(t)]))
        start += len(t)
    return out


@dataclass(frozen=True)
class CompareTables:
    """The four tables of ``output/05_compare`` and the run summary."""

    comparisons: pd.DataFrame
    unit_vs_peers: pd.DataFrame
    adjusted: pd.DataFrame
    families: pd.DataFrame

    def summary(self, alpha: float = ALPHA) -> dict[str, Any]:
        tables = (self.comparisons, self.unit_vs_peers, self.adjusted)
        below = self.unit_vs_peers[self.unit_vs_peers["below_peers"]]
        return {
            "families": len(self.families),
            "tests": int(sum(t["p"].notna().sum() for t in tables)),
            "significant_bh": int(sum((t["p_bh"] < alpha).sum() for t in tables)),
            "suppressed_rows": int(sum((t["flag"] == "suppressed").sum() for t in tables)),
            "units_below_peers": int(below[["instrument", "unit"]].drop_duplicates()["unit"].nunique()),
            "unit_outcomes_below_peers": len(below),
        }


def comparison_tables(
    public: pd.DataFrame,
    public_weights: pd.DataFrame,
    staff: pd.DataFrame,
    casefiles: pd.DataFrame,
    config: Config,
    *,
    small_n: int = SMALL_N,
    min_n: int = MIN_N,
    alpha: float = ALPHA,
    executor: Executor = SERIAL,
) -> CompareTables:
    """Build every table of ``05_compare`` from the cleaned data and the public raking weights.

    Parameters
    ----------
    public, staff, casefiles : DataFrame
        ``02_clean`` tables (not modified).
    public_weights : DataFrame
        ``03_weight/public_weights.parquet`` (``record_id, weight``: raking weights, i.e. sampling weights
        calibrated to population margins; not frequency weights).
    config : Config
    small_n, min_n : int
        Small-group flag and suppression thresholds (see the module docstring).
    alpha : float
        Level for ``below_peers``/``above_peers`` and the summary counts.
    executor : pipeline.parallel.Executor
        May run the unweighted families in a forked second process while this one does the design-based
        work (threshold ``compare_parts_rows``, public rows; same tables: every piece is computed by the same
        code on the same data). Default: everything here.

    Raises
    ------
    DataError
        A public record without a weight, an unknown unit code in the case files, missing scale columns.
    """
    has_public = config.public is not None and len(public) > 0
    pub = (
        public_frame(public, public_weights, config, groupings=groupings(config, "public"))
        if has_public
        else None
    )
    design = public_design(pub, config) if pub is not None else None
    stf = staff_frame(staff, config) if config.staff is not None and len(staff) else pd.DataFrame()
    cases = casefile_frame(casefiles, config) if len(casefiles) else pd.DataFrame()
    opts = dict(small_n=small_n, min_n=min_n)
    # the unweighted families and unit comparisons in a second process (if it pays), the design-based work
    # here meanwhile

    def unweighted_work() -> tuple[list[pd.DataFrame], list[pd.DataFrame]]:
        blocks = _unweighted_blocks(pub if pub is not None else pd.DataFrame(), stf, cases, config, **opts)
        return blocks, _staff_case_peer_rows(stf, cases, config, alpha, **opts)

    size = len(pub) if pub is not None else 0
    background = executor.background(unweighted_work, size=size, threshold="compare_parts_rows")
    with background as unweighted:
        if pub is not None and design is not None:
            weighted = _weighted_block(pub, design, config, **opts)
            public_peers = _public_peer_rows(pub, design, config, alpha, **opts)
            adjusted = adjusted_district_effects(pub, adjusted_outcomes(pub, config), config, **opts)
        else:
            weighted, public_peers = pd.DataFrame(), pd.DataFrame()
            adjusted = empty_table("compare", "adjusted")
        unweighted_blocks, other_peers = unweighted.result()
    comparisons = _comparison_table([weighted, *unweighted_blocks], config)
    peers = _peer_table([public_peers, *other_peers])
    comparisons, peers, adjusted = run_level_bh(comparisons, peers, adjusted)
    families = family_table(comparisons, peers, adjusted)
    return CompareTables(comparisons, peers, adjusted, families)
