"""Each unit against the rest of its peer group, per outcome (``unit_vs_peers.parquet``): the evidence for
individual problems (个性问题).

* public: each district against the other districts, design-based (``svy_contrast``); effect = difference /
  weighted SD of the outcome among the districts;
* staff: each unit against the other units of its ``unit_type`` (Welch t, Hedges' g), unweighted;
* case files: each enforcement unit against the other enforcement units of its type, on the file ``score``.

Holm is within a family = one outcome × all units of the instrument; ``below_peers`` = estimate < 0 and
``p_holm < alpha``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline import stats
from pipeline.compare.columns import PEER_COLUMNS
from pipeline.compare.families import _standardize, labels_as_text
from pipeline.compare.outcomes import design_suffix, peer_outcomes
from pipeline.config import Config
from pipeline.frames import unit_lookup
from pipeline.schemas import empty_table
from pipeline.stats.small_groups import MIN_N, SMALL_N

ALPHA = 0.05
"""Significance level for ``below_peers`` / ``above_peers`` and the run summary's counts."""


def _peer_rows(table: pd.DataFrame, instrument: str, config: Config, alpha: float) -> pd.DataFrame:
    units = unit_lookup(config)
    names, types = units.names, units.types
    table = table.copy()
    table.insert(0, "instrument", instrument)
    table["unit"] = table["unit"].astype(str)
    table["unit_name"] = table["unit"].map(names)
    table["peer_group"] = table["unit"].map(types)
    table["peer_group_name"] = table["peer_group"].map(config.units.unit_types)  # type: ignore[union-attr]
    table["family"] = (
        instrument
        + ": "
        + table["dv"]
        + " ~ unit vs rest of its type"
        + np.where(table["weighted"], design_suffix(config), "")
    )
    significant = table["p_holm"] < alpha
    table["below_peers"] = significant & (table["estimate"] < 0)
    table["above_peers"] = significant & (table["estimate"] > 0)
    return table


def unit_vs_peers_table(
    public: pd.DataFrame,
    design: stats.SurveyDesign,
    staff: pd.DataFrame,
    casefiles: pd.DataFrame,
    config: Config,
    *,
    small_n: int = SMALL_N,
    min_n: int = MIN_N,
    alpha: float = ALPHA,
) -> pd.DataFrame:
    """Each unit against the rest of its unit type, per outcome (``unit_vs_peers.parquet`` before run BH).

    * public: each district vs the other districts, design-based (``svy_contrast``), on the public scales,
      ``SI``, ``P25_score`` and every indicator-feeding item score; effect = difference / weighted SD;
    * staff: each unit vs the other units of its ``unit_type`` (Welch t, Hedges' g) on the staff scales,
      ``SI``, ``S24_score``, ``quiz_score`` and every indicator-feeding item score;
    * case files: each enforcement unit vs the other enforcement units of its type on the case-file ``score``.

    Holm is within a family = one outcome × all units of the instrument; ``below_peers`` = estimate < 0 and
    ``p_holm < alpha``.
    """
    opts = dict(small_n=small_n, min_n=min_n)
    parts = [
        _public_peer_rows(public, design, config, alpha, **opts),
        *_staff_case_peer_rows(staff, casefiles, config, alpha, **opts),
    ]
    return _peer_table(parts)


def _public_peer_rows(
    public: pd.DataFrame, design: stats.SurveyDesign, config: Config, alpha: float, **opts
) -> pd.DataFrame:
    """Each district against the other districts, design-based, on every public outcome."""
    pub_dvs = peer_outcomes(public, config, "public") if len(public) else []
    if not pub_dvs:
        return empty_table("compare", "unit_vs_peers")
    in_peer_group = public["district"].notna().to_numpy()
    # every outcome of an instrument in one call: units and peer groups are factorized once
    t = stats.unit_vs_peers(public, dv=pub_dvs, unit="district", design=design, **opts)
    pub = _peer_rows(t, "public", config, alpha)
    sd = {dv: stats.weighted_sd(design.frame[dv], design.weights, rows=in_peer_group) for dv in pub_dvs}
    _standardize(pub, sd, pub["estimate"].notna())
    return pub


def _staff_case_peer_rows(
    staff: pd.DataFrame, casefiles: pd.DataFrame, config: Config, alpha: float, **opts
) -> list[pd.DataFrame]:
    """Each staff unit and each enforcement unit (case files) against the other units of its type."""
    parts = []
    staff_dvs = peer_outcomes(staff, config, "staff") if len(staff) and config.staff is not None else []
    if staff_dvs:
        staff_frame = staff.assign(unit=staff["unit"].astype(str), unit_type=staff["unit_type"].astype(str))
        t = stats.unit_vs_peers(staff_frame, dv=staff_dvs, unit="unit", peer_group="unit_type", **opts)
        parts.append(_peer_rows(t, "staff", config, alpha))
    if not len(casefiles) or config.units is None:
        return parts
    enforcement = {u.code for u in config.units.units if u.enforcement}
    cases = casefiles[casefiles["unit"].astype(str).isin(enforcement)]
    case_dvs = peer_outcomes(cases, config, "casefile")
    if len(cases) and cases["unit"].nunique() > 1 and case_dvs:
        cases = cases.assign(unit=cases["unit"].astype(str))
        t = stats.unit_vs_peers(cases, dv=case_dvs, unit="unit", peer_group="unit_type", **opts)
        parts.append(_peer_rows(t, "casefile", config, alpha))
    return parts


def _peer_table(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """The parts as one ``unit_vs_peers`` table, columns :data:`PEER_COLUMNS`."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return empty_table("compare", "unit_vs_peers")
    table = pd.concat(parts, ignore_index=True)
    return labels_as_text(table[PEER_COLUMNS])
