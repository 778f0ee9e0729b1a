"""Group comparisons of the evaluation as tidy tables: the pure core of stage ``05_compare``.

Every function here takes DataFrames (and the loaded :class:`~pipeline.config.Config`) and returns DataFrames;
nothing reads or writes files. :func:`comparison_tables` builds all four tables of ``output/05_compare``
(see ``docs/DATA_CONTRACT.md``):

* ``comparisons`` — every family (one outcome × one grouping) as long rows of
  :data:`pipeline.stats.comparisons.RESULT_COLUMNS` plus ``instrument`` and ``group_a_name``/``group_b_name``;
  the public survey design-based (raking weights, :class:`~pipeline.stats.SurveyDesign`) with the unweighted
  tests alongside as their own families; staff survey and case files unweighted.
* ``unit_vs_peers`` — each unit against the rest of its peer group (its unit type), per outcome.
* ``adjusted`` — weighted district gaps before and after demographic controls.
* ``families`` — one row per family: what it holds and how its p-values were adjusted.

Outcomes
--------
``SI`` (满意度指数) is the equal-weight mean of a respondent's scale scores (public PG, LE, JS, PF, SG; staff
SA–SF), computed when at least ``min_answered_share`` of the scales have a score (the same share the
questionnaire uses for items within a scale; domain.md §: 满意度指数 = Σ w_k·scale_k with equal w_k). The direct
overall item is reported beside it, never mixed in: ``P25_score`` (public), ``S24_score`` (staff), each 0–100.

Multiplicity
------------
``p_holm`` is Holm within a family (as :func:`pipeline.stats.compare_groups` defines it); ``p_bh`` is
Benjamini–Hochberg over every raw ``p`` of *all three* result tables of the run (:func:`run_level_bh`).
The weighted and the unweighted analyses of one outcome × grouping are separate families (the weighted one is
the primary result; the unweighted one is the robustness check).

Small groups
------------
``small_n`` (default :data:`SMALL_N` = 30) and ``min_n`` (default :data:`MIN_N` = 10) are keyword defaults of
:func:`comparison_tables` (and the stage's ``ctx.options``), not configuration files. A group with
n < ``small_n`` — or, in weighted analyses, Kish effective n < ``small_n`` — keeps its estimate with
``flag = "small"``; below ``min_n`` (weighted: effective n < ``min_n``, which is never more lenient than n) it
is suppressed: estimates NaN, ``flag = "suppressed"``, ``reason = "样本量不足10，不予报告"`` in every table.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import t as stats_t

from pipeline import stats
from pipeline.config import Config
from pipeline.errors import DataError
from pipeline.stats.comparisons import RESULT_COLUMNS, UNIT_COLUMNS

SMALL_N = 30
"""Groups (or units) with n, or effective n when weighted, below this are flagged ``small``."""
MIN_N = 10
"""Groups below this n (effective n when weighted) are suppressed in every output table."""
ALPHA = 0.05
"""Significance level for ``below_peers`` / ``above_peers`` and the summary counts."""
PARALLEL_MIN_ROWS = 2_000
"""Public responses from which :func:`comparison_tables` uses a second process by default (if 2 CPUs).

Measured on the default sample (2,756 cleaned public responses, 2 cores, 4 interleaved runs each): stage 4.4 s with one
process, 3.5 s with two; a fork costs milliseconds, so only toy inputs stay in one process."""

PUBLIC_GROUPINGS = ("district", "gender", "age_group", "education", "occupation", "residence")
STAFF_GROUPINGS = ("unit_type", "district", "rank", "post")
CASEFILE_GROUPINGS = ("unit_type", "district", "case_type")
ADJUST_CONTROLS = ("gender", "age_group", "education")
CITY_LEVEL = "市直"
"""The ``district`` value of a staff respondent or case file of a municipal (non-district) unit."""
SI = "SI"

PUBLIC_DIRECT = ("P25_score", "P26_score")
STAFF_DIRECT = ("S24_score", "quiz_score")
PUBLIC_CATEGORICAL = ("satisfied_P25",)
STAFF_CATEGORICAL = ("satisfied_S24",)
CASEFILE_CONTINUOUS = ("score",)
CASEFILE_CATEGORICAL = ("grade", "veto")

EXTRA_COLUMNS = ["instrument", "group_a_name", "group_b_name"]
COMPARISON_COLUMNS = ["instrument", *RESULT_COLUMNS[:6], "group_a_name", "group_b_name", *RESULT_COLUMNS[6:]]
PEER_COLUMNS = [
    "instrument",
    *UNIT_COLUMNS[:4],
    "unit",
    "unit_name",
    "peer_group",
    "peer_group_name",
    *UNIT_COLUMNS[6:],
    "below_peers",
    "above_peers",
]
ADJUSTED_COLUMNS = [
    "instrument", "family", "dv", "district", "district_name", "reference", "reference_name", "controls",
    "unadjusted_diff", "unadjusted_se", "unadjusted_ci_low", "unadjusted_ci_high", "unadjusted_p",
    "adjusted_diff", "se", "ci_low", "ci_high", "statistic", "df", "p", "p_holm", "p_bh",
    "gap_change", "n", "n_eff", "weighted", "flag", "reason",
]  # fmt: skip
FAMILY_COLUMNS = [
    "family", "table", "instrument", "dv", "by", "weighted", "kind", "tests", "n_rows", "n_tests",
    "n_groups", "holm_over", "description",
]  # fmt: skip


# --- analysis frames --------------------------------------------------------------------------------------


def satisfaction_index(frame: pd.DataFrame, scales: list[str], *, min_share: float) -> pd.Series:
    """Equal-weight mean of the available scale scores; NaN when fewer than ``min_share`` of them exist."""
    missing = [s for s in scales if s not in frame.columns]
    if missing:
        raise DataError(f"scale score column(s) {missing} not found (needed for the satisfaction index)")
    values = frame[scales].astype(float)
    enough = values.notna().sum(axis=1) >= math.ceil(min_share * len(scales) - 1e-9)
    return values.mean(axis=1).where(enough)


def _unit_lookup(config: Config) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    units = config.units
    names = {u.code: u.name for u in units.units}
    types = {u.code: u.type for u in units.units}
    district = {
        u.code: (u.code if u.type == units.district_type else (u.parent or CITY_LEVEL)) for u in units.units
    }
    return names, types, district


def public_analysis_frame(public: pd.DataFrame, weights: pd.DataFrame, config: Config) -> pd.DataFrame:
    """Cleaned public responses with their raking ``weight`` and ``SI``; a new frame on a RangeIndex."""
    frame, unweighted = _with_weights(public.reset_index(drop=True), weights)
    if unweighted.any():
        missing = frame.loc[unweighted, "record_id"].nunique()
        raise DataError(f"03_weight/public_weights.parquet: {missing} record_id(s) have no weight")
    q = config.public
    frame[SI] = satisfaction_index(frame, [s.id for s in q.scales], min_share=q.min_answered_share)
    for col in PUBLIC_GROUPINGS:
        if isinstance(frame[col].dtype, pd.CategoricalDtype):
            frame[col] = frame[col].cat.remove_unused_categories()
    return frame


def _with_weights(public: pd.DataFrame, weights: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """``public`` with the ``weight`` of its ``record_id`` (a left merge) and which rows have no weight.

    One weight per record id (as 03_weight writes them): a hash lookup of the public ids, the same frame as
    the merge in 3/4 of its time at a million rows; otherwise the merge itself.
    """
    ids = pd.Index(weights["record_id"])
    if ids.is_unique and "weight" not in public.columns:
        pos = ids.get_indexer(public["record_id"])
        weight = weights["weight"].reset_index(drop=True).reindex(pos)  # -1: no such label, NaN as the merge
        return public.assign(weight=weight.array), pos < 0
    frame = public.merge(
        weights[["record_id", "weight"]], on="record_id", how="left", indicator="_has_weight"
    )
    return frame, (frame.pop("_has_weight") == "left_only").to_numpy()


def staff_analysis_frame(staff: pd.DataFrame, config: Config) -> pd.DataFrame:
    """Cleaned staff responses with ``district`` (the unit's district, or 市直) and ``SI``."""
    _, _, district = _unit_lookup(config)
    frame = staff.reset_index(drop=True).copy()
    frame["district"] = frame["unit"].astype(str).map(district).fillna(CITY_LEVEL)
    q = config.staff
    frame[SI] = satisfaction_index(frame, [s.id for s in q.scales], min_share=q.min_answered_share)
    return frame


def casefile_analysis_frame(casefiles: pd.DataFrame, config: Config) -> pd.DataFrame:
    """Case files with the unit's ``unit_name``, ``unit_type`` and ``district`` (or 市直)."""
    names, types, district = _unit_lookup(config)
    frame = casefiles.reset_index(drop=True).copy()
    unit = frame["unit"].astype(str)
    unknown = sorted(set(unit) - set(types))
    if unknown:
        raise DataError(f"casefiles.parquet: column 'unit' has unknown unit code(s) {unknown[:5]}")
    frame["unit_name"] = unit.map(names)
    frame["unit_type"] = unit.map(types)
    frame["district"] = unit.map(district)
    frame["grade"] = frame["grade"].astype(object).where(frame["grade"].notna(), None)
    frame["veto"] = frame["veto"].map({True: "一票否决", False: "无否决"})
    return frame


def input_columns(config: Config, instrument: str) -> list[str]:
    """The ``02_clean`` columns :func:`comparison_tables` uses from ``public`` or ``staff`` (the stage reads only
    these; the others would only cost memory at a million rows). Optional ones may be absent from a table."""
    if instrument == "public":  # plus the raking variables of the design
        q, groupings, outcomes = config.public, PUBLIC_GROUPINGS, [*PUBLIC_DIRECT, *PUBLIC_CATEGORICAL]
        keys = [c for key in config.population.rake_on for c in ([key] if isinstance(key, str) else key)]
    elif instrument == "staff":  # plus the unit code (district and unit-vs-peers come from it)
        q, groupings, outcomes = config.staff, STAFF_GROUPINGS, [*STAFF_DIRECT, *STAFF_CATEGORICAL]
        keys = ["unit"]
    else:
        raise DataError(f"input_columns(): instrument must be 'public' or 'staff', got {instrument!r}")
    scales = [s.id for s in q.scales]
    columns = ["record_id", *keys, *groupings, *scales, *outcomes, *indicator_items(config, instrument)]
    return list(dict.fromkeys(columns))


def public_design(frame: pd.DataFrame, config: Config) -> stats.SurveyDesign:
    """The public sample's design: raking weights calibrated on ``population.yaml: rake_on``."""
    calibrated_on = [tuple(v) if isinstance(v, list) else v for v in config.population.rake_on]
    return stats.SurveyDesign(frame, weights="weight", calibrated_on=calibrated_on)


def indicator_items(config: Config, instrument: str) -> list[str]:
    """``<item>_score`` columns of the Likert items that feed an indicator observation point."""
    cb = config.codebook(instrument)
    return [f"{it.id}_score" for it in cb.items if it.feeds and it.type in ("matrix", "single")]


# --- comparisons ------------------------------------------------------------------------------------------


def _present(frame: pd.DataFrame, columns) -> list[str]:
    return [c for c in columns if c in frame.columns and frame[c].notna().any()]


def _two_group_rows(
    frame: pd.DataFrame, dv: str, by: str, min_n: int, small_n: int, codes_of: dict | None = None
) -> list[dict]:
    """Welch's t and Mann–Whitney rows for a family with exactly two groups of n ≥ ``min_n``.

    ``codes_of``: a dict that keeps each grouping column's codes for the next outcome (factorized once).
    """
    values = frame[dv].to_numpy(dtype=float, na_value=np.nan)
    codes_of = {} if codes_of is None else codes_of
    if by not in codes_of:
        codes_of[by] = pd.factorize(frame[by])
    codes, labels = codes_of[by]
    keep = (codes >= 0) & ~np.isnan(values)
    counts = np.bincount(codes[keep], minlength=len(labels))
    kept = sorted(labels[counts >= min_n])
    if len(kept) != 2:
        return []
    a, b = kept
    code_of = {label: i for i, label in enumerate(labels)}
    x = values[keep & (codes == code_of[a])]
    y = values[keep & (codes == code_of[b])]
    if np.ptp(np.concatenate([x, y])) == 0:
        return []
    small = min(len(x), len(y)) < small_n
    base = dict.fromkeys(RESULT_COLUMNS, math.nan)
    base.update(family=f"{dv} ~ {by}", dv=dv, by=by, contrast=f"{a} vs {b}", group_a=a, group_b=b, level=None,
                n=len(x) + len(y), n_a=len(x), n_b=len(y), weighted=False, flag="small" if small else "",
                reason=f"样本量不足{small_n}，结果仅供参考" if small else "")  # fmt: skip
    rows = []  # alternative tests of the family's one hypothesis: p_holm = p, as the omnibus rows
    wt = stats.welch_ttest(x, y)
    rows.append({**base, "test": "welch_t", "estimate": wt.difference, "se": wt.se, "ci_low": wt.ci_low,
                 "ci_high": wt.ci_high, "statistic": wt.statistic, "df1": wt.df, "p": wt.pvalue, "p_holm": wt.pvalue,
                 "effect_name": "hedges_g", "effect": wt.effect.estimate, "effect_ci_low": wt.effect.ci_low,
                 "effect_ci_high": wt.effect.ci_high})  # fmt: skip
    mw = stats.mann_whitney(x, y)
    rows.append({**base, "test": "mann_whitney", "statistic": mw.statistic, "p": mw.pvalue, "p_holm": mw.pvalue,
                 "effect_name": "rank_biserial", "effect": mw.effect.estimate})  # fmt: skip
    return rows


def _weighted_sd(design: stats.SurveyDesign, dv: str, mask: np.ndarray | None = None) -> float:
    y = design.frame[dv].to_numpy(dtype=float, na_value=np.nan)
    w = design.weights
    keep = ~np.isnan(y) if mask is None else (~np.isnan(y) & mask)
    if keep.sum() < 2:
        return math.nan
    yk, wk = y[keep], w[keep]
    m = np.average(yk, weights=wk)
    return float(np.sqrt(np.average((yk - m) ** 2, weights=wk)))


def _standardize(table: pd.DataFrame, sd: dict[str, float], rows: pd.Series) -> None:
    """Weighted contrasts: effect = difference / weighted SD of the dv (SD taken as known for the CI)."""
    s = table.loc[rows, "dv"].map(sd)
    table.loc[rows, "effect_name"] = "standardized_difference"
    table.loc[rows, "effect"] = table.loc[rows, "estimate"] / s
    table.loc[rows, "effect_ci_low"] = table.loc[rows, "ci_low"] / s
    table.loc[rows, "effect_ci_high"] = table.loc[rows, "ci_high"] / s


def _family_block(
    frame: pd.DataFrame,
    instrument: str,
    continuous: list[str],
    categorical: list[str],
    groupings: list[str],
    *,
    design: stats.SurveyDesign | None,
    small_n: int,
    min_n: int,
) -> pd.DataFrame:
    opts = dict(small_n=small_n, min_n=min_n)
    parts = []
    if continuous:
        parts.append(stats.compare_groups(frame, dv=continuous, by=groupings, design=design, kind="continuous",
                                          **opts))  # fmt: skip
    if categorical:
        parts.append(stats.compare_groups(frame, dv=categorical, by=groupings, design=design, kind="categorical",
                                          **opts))  # fmt: skip
    if design is None and continuous:
        codes_of: dict = {}
        extra = [
            r
            for dv in continuous
            for by in groupings
            for r in _two_group_rows(frame, dv, by, min_n, small_n, codes_of)
        ]
        if extra:
            parts.append(pd.DataFrame(extra, columns=RESULT_COLUMNS))
    table = pd.concat([p for p in parts if len(p)], ignore_index=True)
    if design is not None:
        sd = {dv: _weighted_sd(design, dv) for dv in continuous}
        _standardize(table, sd, table["test"] == "svy_contrast")
    suffix = " (weighted)" if design is not None else ""
    table["family"] = instrument + ": " + table["family"] + suffix
    table.insert(0, "instrument", instrument)
    return table


def _name_groups(table: pd.DataFrame, names: dict[str, str], unit_bys: set[str]) -> pd.DataFrame:
    is_unit = table["by"].isin(unit_bys)
    for side in ("a", "b"):
        labels = table[f"group_{side}"].map(lambda v: names.get(str(v)) if v is not None else None)
        table[f"group_{side}_name"] = labels.where(is_unit, None)
    return table


def group_comparisons(
    public: pd.DataFrame,
    design: stats.SurveyDesign,
    staff: pd.DataFrame,
    casefiles: pd.DataFrame,
    config: Config,
    *,
    small_n: int = SMALL_N,
    min_n: int = MIN_N,
) -> pd.DataFrame:
    """All group-comparison families of the run (``comparisons.parquet`` before run-level BH)."""
    opts = dict(small_n=small_n, min_n=min_n)
    blocks = [
        _weighted_block(public, design, config, **opts),
        *_unweighted_blocks(public, staff, casefiles, config, **opts),
    ]
    return _comparison_table(blocks, config)


def _weighted_block(public: pd.DataFrame, design: stats.SurveyDesign, config: Config, **opts) -> pd.DataFrame:
    """The design-based families of the public survey."""
    pub_cont = _present(public, [s.id for s in config.public.scales] + [SI, *PUBLIC_DIRECT])
    pub_cat = _present(public, PUBLIC_CATEGORICAL)
    return _family_block(public, "public", pub_cont, pub_cat, list(PUBLIC_GROUPINGS), design=design, **opts)


def _unweighted_blocks(
    public: pd.DataFrame, staff: pd.DataFrame, casefiles: pd.DataFrame, config: Config, **opts
) -> list[pd.DataFrame]:
    """The unweighted families: public survey (robustness check), staff survey, case files."""
    pub_cont = _present(public, [s.id for s in config.public.scales] + [SI, *PUBLIC_DIRECT])
    pub_cat = _present(public, PUBLIC_CATEGORICAL)
    staff_cont = _present(staff, [s.id for s in config.staff.scales] + [SI, *STAFF_DIRECT])
    staff_cat = _present(staff, STAFF_CATEGORICAL)
    blocks = [
        _family_block(public, "public", pub_cont, pub_cat, list(PUBLIC_GROUPINGS), design=None, **opts),
        _family_block(staff, "staff", staff_cont, staff_cat, list(STAFF_GROUPINGS), design=None, **opts),
    ]
    if len(casefiles):
        blocks.append(
            _family_block(casefiles, "casefile", _present(casefiles, CASEFILE_CONTINUOUS),
                          _present(casefiles, CASEFILE_CATEGORICAL), list(CASEFILE_GROUPINGS), design=None, **opts)
        )  # fmt: skip
    return blocks


def _comparison_table(blocks: list[pd.DataFrame], config: Config) -> pd.DataFrame:
    """The blocks as one table with unit names and text labels, columns :data:`COMPARISON_COLUMNS`."""
    table = pd.concat(blocks, ignore_index=True)
    names, _, _ = _unit_lookup(config)
    table = _name_groups(table, names, {"district"})
    return _labels_as_text(table[COMPARISON_COLUMNS])


def _labels_as_text(table: pd.DataFrame) -> pd.DataFrame:
    """Group and level labels as text (they mix codes, option texts and 0/1 levels across families)."""
    table = table.copy()
    for col in ("group_a", "group_b", "level"):
        values = table[col]
        table[col] = values.map(lambda v: None if v is None or (isinstance(v, float) and math.isnan(v)) else (
            str(int(v)) if isinstance(v, (bool, np.bool_, np.integer)) or (isinstance(v, float) and v.is_integer())
            else str(v)))  # fmt: skip
    return table


# --- unit vs peers ----------------------------------------------------------------------------------------


def _peer_rows(table: pd.DataFrame, instrument: str, config: Config, alpha: float) -> pd.DataFrame:
    names, types, _ = _unit_lookup(config)
    table = table.copy()
    table.insert(0, "instrument", instrument)
    table["unit"] = table["unit"].astype(str)
    table["unit_name"] = table["unit"].map(names)
    table["peer_group"] = table["unit"].map(types)
    table["peer_group_name"] = table["peer_group"].map(config.units.unit_types)
    table["family"] = (
        instrument
        + ": "
        + table["dv"]
        + " ~ unit vs rest of its type"
        + np.where(table["weighted"], " (weighted)", "")
    )
    significant = table["p_holm"] < alpha
    table["below_peers"] = significant & (table["estimate"] < 0)
    table["above_peers"] = significant & (table["estimate"] > 0)
    return table


def unit_peer_comparisons(
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
    pub_dvs = _present(public, [s.id for s in config.public.scales] + [SI, "P25_score"])
    pub_dvs = list(dict.fromkeys(pub_dvs + _present(public, indicator_items(config, "public"))))
    in_peer_group = public["district"].notna().to_numpy()
    # every outcome of an instrument in one call: units and peer groups are factorized once
    t = stats.unit_vs_peers(public, dv=pub_dvs, unit="district", design=design, **opts)
    pub = _peer_rows(t, "public", config, alpha)
    sd = {dv: _weighted_sd(design, dv, in_peer_group) for dv in pub_dvs}
    _standardize(pub, sd, pub["estimate"].notna())
    return pub


def _staff_case_peer_rows(
    staff: pd.DataFrame, casefiles: pd.DataFrame, config: Config, alpha: float, **opts
) -> list[pd.DataFrame]:
    """Each staff unit and each enforcement unit (case files) against the other units of its type."""
    parts = []
    staff_dvs = _present(staff, [s.id for s in config.staff.scales] + [SI, *STAFF_DIRECT])
    # an outcome that is also an indicator item (S24_score) is one family, not two copies of the same rows
    staff_dvs = list(dict.fromkeys(staff_dvs + _present(staff, indicator_items(config, "staff"))))
    staff_frame = staff.assign(unit=staff["unit"].astype(str), unit_type=staff["unit_type"].astype(str))
    if staff_dvs:
        t = stats.unit_vs_peers(staff_frame, dv=staff_dvs, unit="unit", peer_group="unit_type", **opts)
        parts.append(_peer_rows(t, "staff", config, alpha))
    enforcement = {u.code for u in config.units.units if u.enforcement}
    cases = casefiles[casefiles["unit"].astype(str).isin(enforcement)]
    case_dvs = _present(cases, CASEFILE_CONTINUOUS)
    if len(cases) and cases["unit"].nunique() > 1 and case_dvs:
        cases = cases.assign(unit=cases["unit"].astype(str))
        t = stats.unit_vs_peers(cases, dv=case_dvs, unit="unit", peer_group="unit_type", **opts)
        parts.append(_peer_rows(t, "casefile", config, alpha))
    return parts


def _peer_table(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """The parts as one ``unit_vs_peers`` table, columns :data:`PEER_COLUMNS`."""
    table = pd.concat(parts, ignore_index=True)
    return _labels_as_text(table[PEER_COLUMNS])


# --- adjusted district effects ----------------------------------------------------------------------------


def _district_terms(coef: pd.DataFrame) -> pd.DataFrame:
    rows = coef[coef["term"].str.startswith("C(district)[T.")].copy()
    rows["district"] = rows["term"].str.slice(len("C(district)[T."), -1)
    return rows.set_index("district")


def _treatment_patterns(frame: pd.DataFrame, factors: list[str]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The model matrix of ``1 + C(f1) + C(f2) + ...`` as its distinct rows (``SurveyDesign.regress_patterns``).

    Same matrix as patsy's treatment coding (patsy builds ``C(f)`` row by row in Python, about 12 s per model
    at a million rows): levels are the categories (all of them, in order) of a categorical column, else the
    sorted values; the first level is the reference. One pattern per combination of levels present; a row
    with a missing factor value has pattern ``-1`` (dropped, as patsy drops it). Returns each row's pattern,
    the pattern rows (intercept first, then each factor's non-reference levels) and patsy's term names
    (``"Intercept"``, ``"C(f)[T.level]"``).
    """
    key = np.zeros(len(frame), dtype=np.int64)
    missing = np.zeros(len(frame), dtype=bool)
    sizes, terms = [], ["Intercept"]
    for factor in factors:
        values = frame[factor]
        if isinstance(values.dtype, pd.CategoricalDtype):
            levels = list(values.cat.categories)
            codes = values.cat.codes.to_numpy()
        else:
            levels = sorted(pd.unique(values.dropna()))
            codes = pd.Categorical(values, categories=levels).codes
        missing |= codes < 0
        key = key * len(levels) + codes
        sizes.append(len(levels))
        terms += [f"C({factor})[T.{level}]" for level in levels[1:]]
    pattern = np.full(len(frame), -1, dtype=np.intp)
    pattern[~missing], combos = pd.factorize(key[~missing])
    columns = [np.ones(len(combos))]
    for radix_index, size in enumerate(sizes):
        code = (combos // math.prod(sizes[radix_index + 1 :])) % size
        columns += [(code == j).astype(float) for j in range(1, size)]
    return pattern, np.column_stack(columns), terms


def _unadjusted_terms(design: stats.SurveyDesign, col: str, used: np.ndarray, confidence_level: float = 0.95):
    """The coefficients of ``svyglm(col ~ C(district))`` without a second model fit.

    In a one-factor model the coefficient of district g is ``ȳ_g − ȳ_ref`` and its linearization variance is
    that of the domain-mean contrast, ``V_gg + V_rr − 2 V_gr``; df as ``svyglm``: degf of the rows used − k + 1.
    """
    res = design.domain_means_vcov(col, "district")
    means, vcov = res.means, res.vcov
    labels = [str(x) for x in means.index]
    ref = means.index[0]
    df = float(design._degf(used) + 1 - len(labels))
    rows = []
    for label, key in zip(labels[1:], means.index[1:], strict=True):
        diff = float(means[key] - means[ref])
        se = math.sqrt(max(vcov.loc[key, key] + vcov.loc[ref, ref] - 2 * vcov.loc[key, ref], 0.0))
        t = diff / se if se > 0 else math.nan
        q = stats_t.ppf(0.5 + confidence_level / 2, df)
        rows.append({"district": label, "estimate": diff, "se": se, "t": t, "p": 2 * stats_t.sf(abs(t), df),
                     "ci_low": diff - q * se, "ci_high": diff + q * se, "df": df})  # fmt: skip
    return pd.DataFrame(rows).set_index("district")


def adjusted_district_effects(
    frame: pd.DataFrame,
    dvs: list[str],
    config: Config,
    *,
    controls: tuple[str, ...] = ADJUST_CONTROLS,
    small_n: int = SMALL_N,
    min_n: int = MIN_N,
) -> pd.DataFrame:
    """Weighted district gaps to the reference district, without and with demographic controls.

    For each ``dv``: ``svyglm(dv ~ C(district))`` and ``svyglm(dv ~ C(district) + C(gender) + C(age_group) +
    C(education))`` (the public raking design; the adjusted model through :meth:`SurveyDesign.regress_patterns`,
    the model matrix given once per combination of levels), both on the respondents with every control
    answered, so the two differ only by the adjustment. The reference district is the first
    district level (``units.yaml`` order) with data (column ``reference``). ``gap_change = adjusted_diff −
    unadjusted_diff`` is the part of a gap that is the district's demographic mix. A district with effective
    n < ``min_n`` is suppressed (NaN estimates; its respondents stay in the model); below ``small_n`` flagged.
    Holm within a family = one ``dv`` over the non-reference districts.
    """
    names, _, _ = _unit_lookup(config)
    complete = frame[list(controls)].notna().all(axis=1).to_numpy()
    calibration = [c for key in config.population.rake_on for c in ([key] if isinstance(key, str) else key)]
    # only the columns the models use
    slim = frame[list(dict.fromkeys(["weight", "district", *controls, *calibration]))]
    cc = {}
    for dv in dvs:
        y = frame[dv].to_numpy(dtype=float, na_value=np.nan)
        cc[f"{dv}__cc"] = np.where(complete, y, np.nan)
    pattern, x, terms = _treatment_patterns(slim, ["district", *controls])
    design = public_design(slim.assign(**cc), config)
    w_all = design.weights
    # district codes (the design has checked that no district is missing) and each district's rows in their
    # original order (a stable sort), for the n and Kish n_eff of every outcome without a mask per district
    district_codes, uniques = pd.factorize(frame["district"])
    district_labels = np.array([str(v) for v in uniques], dtype=object)
    code_of = {label: i for i, label in enumerate(district_labels)}
    by_district = np.argsort(district_codes, kind="stable")
    bounds = np.searchsorted(district_codes[by_district], np.arange(len(district_labels) + 1))
    order = [str(c) for c in frame["district"].cat.categories] if hasattr(frame["district"], "cat") else []
    rows = []
    for dv in dvs:
        col = f"{dv}__cc"
        used = ~np.isnan(cc[col])
        unadj = _unadjusted_terms(design, col, used)
        adj = _district_terms(design.regress_patterns(col, pattern, x, terms))
        present = set(district_labels[np.bincount(district_codes[used], minlength=len(district_labels)) > 0])
        reference = next((c for c in order if c in present), sorted(present)[0])
        used_by_district = used[by_district]
        for district in adj.index:
            code = code_of.get(district)
            part = slice(bounds[code], bounds[code + 1]) if code is not None else slice(0, 0)
            w = w_all[
                by_district[part][used_by_district[part]]
            ]  # weights of the district's rows used, in order
            n = len(w)
            n_eff = float(w.sum() ** 2 / (w**2).sum()) if n else 0.0
            if not n_eff >= min_n:
                flag, reason = "suppressed", f"样本量不足{min_n}，不予报告"
            elif n_eff < small_n:
                flag, reason = "small", f"样本量不足{small_n}，结果仅供参考"
            else:
                flag, reason = "", ""
            row = dict.fromkeys(ADJUSTED_COLUMNS, math.nan)
            row.update(instrument="public", family=f"public: {dv} ~ district | adjusted (weighted)", dv=dv,
                       district=district, district_name=names.get(district), reference=reference,
                       reference_name=names.get(reference), controls=" + ".join(controls), n=n, n_eff=n_eff,
                       weighted=True, flag=flag, reason=reason)  # fmt: skip
            if flag != "suppressed":
                u, a = unadj.loc[district], adj.loc[district]
                row.update(unadjusted_diff=u["estimate"], unadjusted_se=u["se"], unadjusted_ci_low=u["ci_low"],
                           unadjusted_ci_high=u["ci_high"], unadjusted_p=u["p"], adjusted_diff=a["estimate"],
                           se=a["se"], ci_low=a["ci_low"], ci_high=a["ci_high"], statistic=a["t"], df=a["df"],
                           p=a["p"], gap_change=a["estimate"] - u["estimate"])  # fmt: skip
            rows.append(row)
    table = pd.DataFrame(rows, columns=ADJUSTED_COLUMNS)
    for _, idx in table.groupby("family", sort=False).groups.items():
        table.loc[idx, "p_holm"] = stats.holm(table.loc[idx, "p"].to_numpy(dtype=float))
    table["n"] = table["n"].astype("Int64")
    return table


# --- families and run-level BH ----------------------------------------------------------------------------


def _holm_over(tests: set[str], table: str) -> str:
    if table == "unit_vs_peers":
        return "every unit of the instrument (one test per unit)"
    if table == "adjusted":
        return "every non-reference district (adjusted coefficient)"
    if "svy_contrast" in tests:
        return "pairwise design-based contrasts; svy_wald_f/rao_scott rows keep p"
    if tests & {"chi2", "fisher"} and "proportion" in tests:
        return "pairwise chi2/Fisher rows; the omnibus row keeps p"
    return "none needed: omnibus rows keep p; Games–Howell p is already simultaneous over pairs"


def family_table(comparisons: pd.DataFrame, peers: pd.DataFrame, adjusted: pd.DataFrame) -> pd.DataFrame:
    """One row per family of the three result tables: what it compares and what Holm was taken over."""
    rows = []
    for name, table in (("comparisons", comparisons), ("unit_vs_peers", peers), ("adjusted", adjusted)):
        if table.empty:
            continue
        by_col = "by" if "by" in table.columns else None
        for family, sub in table.groupby("family", sort=False):
            tests = set(sub["test"]) if "test" in sub.columns else {"svy_regression"}
            by = sub[by_col].iloc[0] if by_col else "district"
            if name == "comparisons":
                groups = set(sub["group_a"].dropna().astype(str)) | set(sub["group_b"].dropna().astype(str))
                groups.discard("rest")
                n_groups = len(groups)
                kind = "categorical" if tests & {"proportion", "svy_proportion"} else "continuous"
            elif name == "unit_vs_peers":
                n_groups, kind = int(sub["unit"].nunique()), "continuous"
            else:
                n_groups, kind = int(sub["district"].nunique()) + 1, "continuous"
            weighted = bool(sub["weighted"].iloc[0])
            rows.append(
                {
                    "family": family,
                    "table": name,
                    "instrument": sub["instrument"].iloc[0],
                    "dv": sub["dv"].iloc[0],
                    "by": by,
                    "weighted": weighted,
                    "kind": kind,
                    "tests": ",".join(sorted(tests)),
                    "n_rows": len(sub),
                    "n_tests": int(sub["p"].notna().sum()),
                    "n_groups": n_groups,
                    "holm_over": _holm_over(tests, name),
                    "description": f"{sub['dv'].iloc[0]} 按 {by} 比较（{'加权' if weighted else '未加权'}）",
                }
            )
    return pd.DataFrame(rows, columns=FAMILY_COLUMNS)


def run_level_bh(*tables: pd.DataFrame) -> list[pd.DataFrame]:
    """Benjamini–Hochberg over every raw ``p`` of all ``tables`` together, written to each table's ``p_bh``."""
    sizes = [len(t) for t in tables]
    allp = np.concatenate([t["p"].to_numpy(dtype=float) for t in tables])
    adjusted = stats.benjamini_hochberg(allp)
    out, start = [], 0
    for t, size in zip(tables, sizes, strict=True):
        t = t.copy()
        t["p_bh"] = adjusted[start : start + size]
        out.append(t)
        start += size
    return out


# --- a second process -------------------------------------------------------------------------------------


def _available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _second_process(n_rows: int, workers: int | None) -> bool:
    """Whether to use a second process: asked for, or by default with 2 CPUs and a large sample."""
    if "fork" not in multiprocessing.get_all_start_methods() or multiprocessing.current_process().daemon:
        return False  # no fork, or a daemon process (which may not start children)
    if workers is not None:
        return workers >= 2
    return _available_cpus() >= 2 and n_rows >= PARALLEL_MIN_ROWS


class _Background:
    """``compute()`` started in a forked child process (if ``in_child``); :meth:`result` gives its value.

    The child inherits the data copy-on-write, so nothing large is pickled: only the result comes back
    through a pipe. An exception in the child is raised again by :meth:`result`; if the child dies without
    a result (e.g. killed for memory), ``compute()`` runs here instead. Without a child, ``compute()`` runs
    when the result is asked for. Leaving the ``with`` block stops a child whose result was not taken.
    """

    def __init__(self, compute: Callable[[], Any], *, in_child: bool):
        self._compute, self._process = compute, None
        if in_child:
            ctx = multiprocessing.get_context("fork")
            self._receive, send = ctx.Pipe(duplex=False)
            self._process = ctx.Process(target=self._child, args=(send,), daemon=True)
            self._process.start()
            send.close()

    def _child(self, send) -> None:
        try:
            outcome = ("ok", self._compute())
        except BaseException as exc:  # noqa: BLE001 -- handed to the parent, which raises it
            outcome = ("error", exc)
        try:
            send.send(outcome)
        except Exception:  # a value or exception that cannot be pickled: the traceback's text
            send.send(("error", RuntimeError(traceback.format_exc())))

    def result(self) -> Any:
        if self._process is None:
            return self._compute()
        try:
            status, value = self._receive.recv()
        except EOFError:
            status, value = "lost", None
        finally:
            self._stop()
        if status == "error":
            raise value
        return value if status == "ok" else self._compute()

    def _stop(self) -> None:
        if self._process is not None:
            self._receive.close()
            if self._process.is_alive():
                self._process.terminate()
            self._process.join()
            self._process = None

    def __enter__(self) -> _Background:
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop()


# --- everything -------------------------------------------------------------------------------------------


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
    workers: int | None = None,
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
    workers : int, optional
        Processes to use: 1 computes everything here; 2 runs the unweighted families in a forked second
        process while this one does the design-based work (same tables: every piece is computed by the same
        code on the same data). Default: 2 when two CPUs are available and the public sample has at least
        :data:`PARALLEL_MIN_ROWS` rows (below that a process start costs more than it saves).

    Raises
    ------
    DataError
        A public record without a weight, an unknown unit code in the case files, missing scale columns.
    """
    pub = public_analysis_frame(public, public_weights, config)
    design = public_design(pub, config)
    stf = staff_analysis_frame(staff, config)
    cases = casefile_analysis_frame(casefiles, config)
    opts = dict(small_n=small_n, min_n=min_n)
    # the unweighted families and unit comparisons in a second process (if it pays), the design-based work
    # here meanwhile
    in_child = _second_process(len(pub), workers)

    def unweighted_work() -> tuple[list[pd.DataFrame], list[pd.DataFrame]]:
        blocks = _unweighted_blocks(pub, stf, cases, config, **opts)
        return blocks, _staff_case_peer_rows(stf, cases, config, alpha, **opts)

    with _Background(unweighted_work, in_child=in_child) as unweighted:
        weighted = _weighted_block(pub, design, config, **opts)
        public_peers = _public_peer_rows(pub, design, config, alpha, **opts)
        adj_dvs = _present(pub, [s.id for s in config.public.scales] + [SI, "P25_score"])
        adjusted = adjusted_district_effects(pub, adj_dvs, config, **opts)
        unweighted_blocks, other_peers = unweighted.result()
    comparisons = _comparison_table([weighted, *unweighted_blocks], config)
    peers = _peer_table([public_peers, *other_peers])
    comparisons, peers, adjusted = run_level_bh(comparisons, peers, adjusted)
    families = family_table(comparisons, peers, adjusted)
    return CompareTables(comparisons, peers, adjusted, families)
