"""Stage outputs turned into analysis frames and survey designs: the one place that does it.

Every stage that analyses cleaned responses (04_reliability, 05_compare and the stages after them) and the
analysts' API (:func:`pipeline.results.survey_design`) build their frames and designs here, so a notebook's
design is the stage's design:

* :func:`record_weights` — the one join of 03_weight weights onto cleaned responses (by ``record_id``);
* :func:`public_frame`, :func:`staff_frame`, :func:`casefile_frame` — 02_clean tables with what the analyses
  add to them: weights, the satisfaction index ``SI``, each unit's district, type and name;
* :func:`public_design`, :func:`staff_design` — the :class:`~pipeline.stats.SurveyDesign` of each
  questionnaire (the staff one with its strata collapse and finite population correction).

Weights are sampling weights (raking weights for the public, headcount / respondents for the staff), never
frequency weights.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipeline import stats
from pipeline.config import Config
from pipeline.errors import DataError

SI = "SI"
"""Column of the satisfaction index (满意度指数) in the analysis frames."""
CITY_LEVEL = "市直"
"""The ``district`` value of a staff respondent or case file of a municipal (non-district) unit."""
COLLAPSED_STRATUM = "collapsed"
"""Stratum of the staff units pooled because each has a single respondent (:func:`staff_design`)."""


@dataclass(frozen=True)
class UnitLookup:
    """Each unit code's name, type, and district (its own code for a district, else its parent or 市直)."""

    names: dict[str, str]
    types: dict[str, str]
    district: dict[str, str]


def unit_lookup(config: Config) -> UnitLookup:
    """Names, types and districts of the units of ``units.yaml``."""
    units = config.units
    if units is None:
        return UnitLookup(names={}, types={}, district={})
    return UnitLookup(
        names={u.code: u.name for u in units.units},
        types={u.code: u.type for u in units.units},
        district={
            u.code: (u.code if u.type == units.district_type else (u.parent or CITY_LEVEL))
            for u in units.units
        },
    )


def satisfaction_index(frame: pd.DataFrame, scales: list[str], *, min_share: float) -> pd.Series:
    """满意度指数: the equal-weight mean of a respondent's scale scores, NaN when fewer than ``min_share`` of
    the scales have a score (the share the questionnaire uses for items within a scale)."""
    missing = [s for s in scales if s not in frame.columns]
    if missing:
        raise DataError(f"scale score column(s) {missing} not found (needed for the satisfaction index)")
    values = frame[scales].astype(float)
    enough = values.notna().sum(axis=1) >= math.ceil(min_share * len(scales) - 1e-9)
    return values.mean(axis=1).where(enough)


def record_weights(responses: pd.DataFrame, weights: pd.DataFrame, *, table: str = "weights") -> np.ndarray:
    """The weight of each response, joined on ``record_id`` (first row of an id in ``weights``; NaN if none).

    That is ``responses.record_id.map(weights.drop_duplicates("record_id").set_index("record_id").weight)``,
    done by Arrow: when both list the same distinct ids in the same order (as 03_weight writes them), the
    weights as they stand; otherwise one hash lookup (``index_in`` gives the first position of each id). Ids
    Arrow cannot compare (mixed types) take the pandas route. ``table`` names the weights in messages.
    """
    for col in ("record_id", "weight"):
        if col not in weights.columns:
            raise DataError(f"{table}: column {col} not found")
    if "record_id" not in responses.columns:
        raise DataError("column record_id not found in the cleaned responses")
    values = weights["weight"].astype(float).to_numpy()
    try:
        ids, table_ids = (_arrow(responses["record_id"]), _arrow(weights["record_id"]))
        if ids.equals(table_ids) and len(pc.unique(table_ids)) == len(table_ids):
            return values.copy()
        pos = pc.index_in(ids, value_set=table_ids.cast(ids.type))
    except (pa.ArrowException, TypeError):
        by_id = weights.drop_duplicates("record_id").set_index("record_id")["weight"].astype(float)
        return responses["record_id"].map(by_id).to_numpy(dtype=float)
    found = pos.is_valid().to_numpy(zero_copy_only=False)
    out = np.full(len(responses), np.nan)
    out[found] = values[pos.drop_null().to_numpy()]
    return out


def _arrow(column: pd.Series) -> pa.Array:
    """A column as one Arrow array (zero-copy for Arrow-backed columns of a single chunk)."""
    array = pa.array(column)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def _with_weights(responses: pd.DataFrame, weights: pd.DataFrame, table: str) -> pd.DataFrame:
    """``responses`` with the ``weight`` of each record; a DataError naming ``table`` when one has none."""
    weight = record_weights(responses, weights, table=table)
    unweighted = np.isnan(weight)
    if unweighted.any():
        missing = responses.loc[unweighted, "record_id"].nunique()
        raise DataError(f"{table}: {missing} record_id(s) have no weight")
    return responses.assign(weight=weight)


def public_frame(
    public: pd.DataFrame, weights: pd.DataFrame, config: Config, *, groupings: tuple[str, ...] = ()
) -> pd.DataFrame:
    """Cleaned public responses with their raking ``weight`` and ``SI``; a new frame on a RangeIndex.

    ``groupings``: categorical columns whose unused categories are dropped (a group with no respondent is
    not a group of the analysis)."""
    frame = _with_weights(public.reset_index(drop=True), weights, "03_weight/public_weights.parquet")
    q = config.public
    frame[SI] = satisfaction_index(frame, [s.id for s in q.scales], min_share=q.min_answered_share)
    for col in groupings:
        if isinstance(frame[col].dtype, pd.CategoricalDtype):
            frame[col] = frame[col].cat.remove_unused_categories()
    return frame


def public_design(frame: pd.DataFrame, config: Config) -> stats.SurveyDesign:
    """The public sample's design: its weights calibrated on the variables weighted on (``analysis.yaml:
    public.weight_on``, by default ``population.yaml: rake_on``: raking, or post-stratification for ``cells``);
    with ``weighting: none`` equal weights and no calibration."""
    plan = config.plan("public")
    return stats.SurveyDesign(frame, weights="weight", calibrated_on=list(plan.weight_on) or None)


def staff_frame(staff: pd.DataFrame, config: Config, weights: pd.DataFrame | None = None) -> pd.DataFrame:
    """Cleaned staff responses with ``district`` (the unit's district, or 市直) and ``SI``; with ``weights``
    (03_weight ``staff_weights``) also each record's ``weight``."""
    district = unit_lookup(config).district
    frame = staff.reset_index(drop=True).copy()
    frame["district"] = frame["unit"].astype(str).map(district).fillna(CITY_LEVEL)
    q = config.staff
    frame[SI] = satisfaction_index(frame, [s.id for s in q.scales], min_share=q.min_answered_share)
    if weights is not None:
        frame = _with_weights(frame, weights, "03_weight/staff_weights.parquet")
    return frame


def staff_design(frame: pd.DataFrame, config: Config) -> stats.SurveyDesign:
    """The staff survey's design: unit weights (headcount / respondents), stratified by unit with the unit
    headcount as finite population correction —
    ``svydesign(ids = ~1, strata = ~stratum, fpc = ~stratum_size, weights = ~weight)``.

    ``frame`` is :func:`staff_frame` with weights. A unit with a single respondent has no within-stratum
    variance; such units are pooled into one collapsed stratum (``stratum = "collapsed"``, size = the sum of
    their headcounts; Rust & Kalton 1987), or, if there is only one, joined to the smallest other unit of its
    type.
    """
    headcount = {u.code: float(u.headcount) for u in config.units.units}
    frame = frame.copy()
    frame["headcount"] = frame["unit"].astype(str).map(headcount)
    if frame["headcount"].isna().any():
        bad = sorted(set(frame.loc[frame["headcount"].isna(), "unit"].astype(str)))
        raise DataError(f"02_clean/staff.parquet: column 'unit' has unit(s) without a headcount: {bad[:5]}")
    frame["unit"] = frame["unit"].astype(str)
    frame["stratum"] = _collapsed_strata(frame["unit"], unit_lookup(config).types)
    # A unit with more respondents than its configured headcount (an outdated headcount) counts as fully
    # enumerated (finite population correction 0) instead of stopping every staff estimate; 03_weight warns
    # about it (pipeline.weight.tables.headcount_warnings).
    by_stratum = frame.groupby("stratum")["unit"]
    frame["stratum_size"] = np.maximum(
        by_stratum.transform(lambda units: sum(headcount[u] for u in units.unique())).to_numpy(dtype=float),
        by_stratum.transform("size").to_numpy(dtype=float),
    )
    return stats.SurveyDesign(frame, weights="weight", strata="stratum", fpc="stratum_size")


def _collapsed_strata(unit: pd.Series, unit_type: dict[str, str]) -> pd.Series:
    """Stratum per respondent: its unit, with single-respondent units collapsed (see :func:`staff_design`)."""
    n = unit.value_counts()
    lonely = sorted(n.index[n == 1])
    stratum = unit.copy()
    if len(lonely) >= 2:
        stratum[unit.isin(lonely)] = COLLAPSED_STRATUM
    elif len(lonely) == 1:
        others = n[(n >= 2) & (n.index.map(unit_type) == unit_type.get(lonely[0]))]
        others = others if len(others) else n[n >= 2]
        if len(others):
            stratum[unit == lonely[0]] = others.sort_values(kind="stable").index[0]
    return stratum


def casefile_frame(casefiles: pd.DataFrame, config: Config) -> pd.DataFrame:
    """Case files with the unit's ``unit_name``, ``unit_type`` and ``district`` (or 市直); ``grade`` as text and
    ``veto`` as 一票否决/无否决 labels."""
    units = unit_lookup(config)
    frame = casefiles.reset_index(drop=True).copy()
    unit = frame["unit"].astype(str)
    unknown = sorted(set(unit) - set(units.types))
    if unknown:
        raise DataError(f"casefiles.parquet: column 'unit' has unknown unit code(s) {unknown[:5]}")
    frame["unit_name"] = unit.map(units.names)
    frame["unit_type"] = unit.map(units.types)
    frame["district"] = unit.map(units.district)
    frame["grade"] = frame["grade"].astype(object).where(frame["grade"].notna(), None)
    frame["veto"] = frame["veto"].map({True: "一票否决", False: "无否决"})
    return frame
