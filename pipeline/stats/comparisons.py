"""Group comparisons: omnibus tests, post-hoc contrasts and "unit vs the rest of its peers".

What is here
------------
* Building blocks with pingouin's argument names: :func:`welch_anova`, :func:`kruskal`,
  :func:`games_howell` (``data, *, dv, between``), :func:`chi2_independence` (``data, *, x, y``),
  :func:`welch_ttest` and :func:`mann_whitney` (``x, y``).
* :func:`compare_groups` — the whole *family* (one outcome ``dv`` × one grouping ``by``) as one long tidy
  table (columns :data:`RESULT_COLUMNS`), unweighted or design-based.
* :func:`unit_vs_peers` — each unit against the rest of its peer group (evidence for 个性问题).

Multiplicity (see :mod:`pipeline.stats.multiplicity`)
-----------------------------------------------------
``p`` is each row's own p-value. ``p_holm`` is Holm within the family over the rows that are separate
hypotheses of that family:

* pairwise χ² (categorical), design-based pairwise contrasts and unit-vs-rest rows: Holm over the rows;
* Games–Howell rows: ``p_holm = p``, because the Games–Howell p-value is *already* simultaneous over all
  pairs (studentized range); adjusting it again would be a double correction;
* omnibus rows (``contrast == "all"``): ``p_holm = p`` — a family has one omnibus hypothesis; Welch's F and
  Kruskal–Wallis are two tests of it (the second a robustness check), not two hypotheses.

``p_bh`` is Benjamini–Hochberg over every row with a p-value of the returned table; call
:func:`~pipeline.stats.multiplicity.adjust_across` on all tables of a run to get BH across the run.

Small groups
------------
A group (or unit) with n < ``min_n`` (default 10; effective n = (Σw)²/Σw² when weighted) is *suppressed*:
it is left out of every test, its own row keeps n but estimates are NaN, ``flag = "suppressed"`` and
``reason = "样本量不足10，不予报告"``. A group with n < ``small_n`` (default 30) is kept with
``flag = "small"``. A contrast row takes the flag of its smaller group.

Weights
-------
Unweighted functions count every row once. With ``design=`` (a :class:`pipeline.stats.design.SurveyDesign`
carrying *sampling* weights, strata and calibration) the estimates and variances come from the design object
only; this module computes no design variance itself. It needs::

    design.domain_means_vcov(var, by) -> object with
        .means  : pandas.Series   domain means, indexed by domain label (sorted)
        .vcov   : pandas.DataFrame  their full linearization covariance matrix (same labels on both axes)
        .n      : pandas.Series   unweighted n per domain
        .n_eff  : pandas.Series   Kish effective n per domain, (Σw)² / Σw²
        .df     : int             design degrees of freedom, #PSU − #strata (R ``degf(design)``)

where ``by`` is a column name of the design's frame or a Series aligned on its index (NaN = outside every
domain but kept for the variance, i.e. zero weight, as R ``svyby``/``subset``); ``vcov`` may also be a bare
matrix in the order of ``means``. For categorical outcomes it calls ``design.chisq(dv, by)`` (Rao–Scott F;
reads ``statistic``, ``ndf``/``df1``, ``ddf``/``df2``, ``pvalue``) and ``design.proportion(dv, level, by=by)``
(domain shares with logit intervals, ``n`` and ``n_eff``), both of which exist today.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats as st
from statsmodels.stats.proportion import proportion_confint

from pipeline.errors import DataError, Location
from pipeline.stats._ranks import kruskal_h, mannwhitneyu_asymptotic, rankdata_average
from pipeline.stats._studentized_range import studentized_range_ppf, studentized_range_sf
from pipeline.stats.domains import design_domain_means as _domain_means
from pipeline.stats.domains import domain_mean_table
from pipeline.stats.effect_sizes import (
    EffectSize,
    _hedges_g_arrays,
    cramers_v_from_chi2,
    epsilon_squared_from_h,
    hedges_g_from_moments,
    omega_squared_from_sums,
    rank_biserial_from_u,
)
from pipeline.stats.inference import ConfidenceInterval, t_pvalue, t_quantile
from pipeline.stats.multiplicity import benjamini_hochberg, holm
from pipeline.stats.small_groups import MIN_N, SMALL_N, GroupFlag, SmallGroupRule

FISHER_EXPECTED_BELOW = 5.0

RESULT_COLUMNS = [
    "family",
    "dv",
    "by",
    "test",
    "contrast",
    "group_a",
    "group_b",
    "level",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "statistic",
    "df1",
    "df2",
    "p",
    "p_holm",
    "p_bh",
    "effect_name",
    "effect",
    "effect_ci_low",
    "effect_ci_high",
    "n",
    "n_a",
    "n_b",
    "n_eff_a",
    "n_eff_b",
    "weighted",
    "flag",
    "reason",
]
UNIT_COLUMNS = [*RESULT_COLUMNS[:4], "unit", "peer_group", *RESULT_COLUMNS[4:8], "mean_unit", "mean_rest"]
UNIT_COLUMNS += RESULT_COLUMNS[8:]


# --- result types --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OmnibusResult:
    """An omnibus test across k groups (Welch's F or Kruskal–Wallis).

    ``df2`` is NaN for Kruskal–Wallis (χ² reference). ``effect`` is ω² (Welch) or ε² (Kruskal–Wallis).
    """

    test: str
    statistic: float
    df1: float
    df2: float
    pvalue: float
    effect: EffectSize
    n: int
    n_groups: int


@dataclass(frozen=True)
class ChiSquareResult:
    """Test of independence of two categorical columns.

    ``test`` is ``"chi2"`` (Pearson), ``"chi2_yates"`` (2×2 with continuity correction) or ``"fisher"``
    (2×2 with an expected count below 5; ``pvalue`` is then Fisher's exact two-sided p, while ``statistic``
    stays the Pearson χ² used for Cramér's V). ``odds_ratio`` is the sample odds ratio for 2×2 tables.
    """

    test: str
    statistic: float
    df: int
    pvalue: float
    effect: EffectSize
    n: int
    min_expected: float
    odds_ratio: float


@dataclass(frozen=True)
class TwoSampleResult:
    """Two-sample comparison of x with y (Welch's t or Mann–Whitney U).

    ``difference`` = mean(x) − mean(y) with ``se`` and CI for Welch; NaN for Mann–Whitney.
    ``effect`` is Hedges' g (Welch) or the rank-biserial correlation (Mann–Whitney).
    """

    test: str
    statistic: float
    df: float
    pvalue: float
    difference: float
    se: float
    ci_low: float
    ci_high: float
    effect: EffectSize
    n_x: int
    n_y: int

    def confidence_interval(self) -> ConfidenceInterval:
        """``ConfidenceInterval(ci_low, ci_high)`` of the difference, at the requested confidence level."""
        return ConfidenceInterval(self.ci_low, self.ci_high)


# --- input handling and vectorised group moments ----------------------------------------------------------


def _require_columns(data: Any, *columns: str | None) -> None:
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    for col in columns:
        if col is not None and col not in data.columns:
            raise DataError(f"column {col!r} not found in the data", Location(column=str(col)))


def _numeric(series: pd.Series, name: str) -> np.ndarray:
    if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
        raise DataError(
            f"column {name!r} must be numeric for this comparison (dtype {series.dtype})",
            Location(column=name),
        )
    values = series.to_numpy(dtype=float, na_value=np.nan)
    if np.isinf(values).any():
        raise DataError(f"column {name!r} contains infinite values", Location(column=name))
    return values


@dataclass(frozen=True)
class _Groups:
    labels: np.ndarray  # sorted group labels
    codes: np.ndarray  # group index of each kept row
    values: np.ndarray  # dv of each kept row
    n: np.ndarray
    mean: np.ndarray
    m2: np.ndarray  # sum of squared deviations from the group mean
    rows: np.ndarray | None = None  # which rows of the data were kept (boolean mask)

    @property
    def var(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.m2 / (self.n - 1)


def _moments(codes: np.ndarray, values: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group n, mean and centred sum of squares by ``bincount`` (two passes: exact, no cancellation)."""
    n = np.bincount(codes, minlength=k).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(codes, weights=values, minlength=k) / n
    dev = values - mean[codes]
    m2 = np.bincount(codes, weights=dev * dev, minlength=k)
    return n, mean, m2


def _cached(cache: dict | None, key: tuple, compute):
    """``compute()``, remembered in ``cache`` under ``key`` (no cache: computed every time)."""
    if cache is None:
        return compute()
    if key not in cache:
        cache[key] = compute()
    return cache[key]


def _groups(data: pd.DataFrame, dv: str, between: str, cache: dict | None = None) -> _Groups:
    """Groups of ``between`` (sorted labels, only those with a value of ``dv``) and their moments.

    ``cache`` (one dict per :func:`compare_groups` call) keeps each grouping column's sorted codes, so a
    column is factorized once for all outcomes; a group's labels and codes are those of factorizing the kept
    rows (the groups with a value, in sorted order).
    """
    _require_columns(data, dv, between)
    values = _numeric(data[dv], dv)
    all_codes, all_labels = _cached(cache, ("codes", between), lambda: pd.factorize(data[between], sort=True))
    keep = ~np.isnan(values) & (all_codes >= 0)
    kept_codes = all_codes[keep]
    present = np.flatnonzero(np.bincount(kept_codes, minlength=len(all_labels)))
    if present.size == len(all_labels):
        codes, labels = kept_codes, all_labels
    else:
        remap = np.full(len(all_labels), -1, dtype=np.intp)
        remap[present] = np.arange(present.size)
        codes, labels = remap[kept_codes], all_labels[present]
    values = values[keep]
    n, mean, m2 = _moments(codes, values, len(labels))
    return _Groups(np.asarray(labels, dtype=object), codes, values, n, mean, m2, keep)


def _need_groups(g: _Groups, between: str, *, min_groups: int = 2, need_variance: bool = False) -> None:
    if len(g.labels) < min_groups:
        raise DataError(
            f"column {between!r} has {len(g.labels)} group(s) with data; at least {min_groups} are needed",
            Location(column=between),
        )
    few = g.labels[g.n < 2]
    if len(few):
        raise DataError(
            f"column {between!r}: group(s) {list(few)} have fewer than 2 values", Location(column=between)
        )
    if need_variance:
        flat = g.labels[g.m2 <= 0]
        if len(flat):
            raise DataError(
                f"column {between!r}: group(s) {list(flat)} have zero variance; Welch weights are undefined",
                Location(column=between),
            )


# --- Welch ANOVA ------------------------------------------------------------------------------------------


def _welch_from_moments(n, mean, var) -> tuple[float, float, float, float]:
    k = len(n)
    w = n / var
    sw = w.sum()
    adj_mean = (w * mean).sum() / sw
    a = (w * (mean - adj_mean) ** 2).sum() / (k - 1)
    lam = ((1 - w / sw) ** 2 / (n - 1)).sum()
    f = a / (1 + 2 * (k - 2) * lam / (k**2 - 1))
    df2 = (k**2 - 1) / (3 * lam)
    return float(f), float(k - 1), float(df2), float(st.f.sf(f, k - 1, df2))


def welch_anova(
    data: pd.DataFrame, *, dv: str, between: str, confidence_level: float = 0.95
) -> OmnibusResult:
    """Welch's heteroscedastic one-way ANOVA, with classical ω² as effect size.

    Formula (Welch 1951), with w_i = n_i / s_i², W = Σw_i, x̄* = Σw_i x̄_i / W::

        F = [Σ w_i (x̄_i − x̄*)² / (k − 1)] / [1 + 2(k − 2)Λ / (k² − 1)],  Λ = Σ (1 − w_i/W)² / (n_i − 1)
        df1 = k − 1,  df2 = (k² − 1) / (3Λ)

    The effect is ω² of the classical ANOVA with its noncentral-F interval
    (:func:`~pipeline.stats.effect_sizes.omega_squared_from_sums`).

    Parameters
    ----------
    data : DataFrame
        One row per respondent; unweighted (each row counts once).
    dv : str
        Numeric outcome column.
    between : str
        Grouping column. Rows with a missing ``dv`` or ``between`` are dropped.
    confidence_level : float, default 0.95
        For the ω² interval.

    Returns
    -------
    OmnibusResult

    Raises
    ------
    DataError
        Missing or non-numeric column, fewer than two groups, a group with < 2 values or zero variance.

    Examples
    --------
    Same statistic, df and p as R ``oneway.test(y ~ g, var.equal = FALSE)`` and
    ``pingouin.welch_anova`` (tests/reference/compare, tolerance 1e-6).
    """
    g = _groups(data, dv, between)
    _need_groups(g, between, need_variance=True)
    f, df1, df2, p = _welch_from_moments(g.n, g.mean, g.var)
    n = int(g.n.sum())
    grand = float((g.n * g.mean).sum() / n)
    effect = omega_squared_from_sums(
        ss_between=float((g.n * (g.mean - grand) ** 2).sum()),
        ss_within=float(g.m2.sum()),
        n=n,
        k=len(g.labels),
        confidence_level=confidence_level,
    )
    return OmnibusResult("welch_anova", f, df1, df2, p, effect, n, len(g.labels))


# --- Kruskal–Wallis ---------------------------------------------------------------------------------------


def _split(g: _Groups) -> list[np.ndarray]:
    order = np.argsort(g.codes, kind="stable")
    return np.split(g.values[order], np.cumsum(g.n[:-1]).astype(int))


def kruskal(data: pd.DataFrame, *, dv: str, between: str) -> OmnibusResult:
    """Kruskal–Wallis rank test (tie-corrected H, χ² reference on k − 1 df) with ε² = H/((n²−1)/(n+1)).

    ``dv`` may be ordinal (Likert codes); rows with a missing value are dropped; unweighted.

    Raises
    ------
    DataError
        Missing or non-numeric column, fewer than two groups.

    Examples
    --------
    Same H, df and p as R ``kruskal.test(y ~ g)`` (tests/reference/compare, tolerance 1e-6).
    """
    g = _groups(data, dv, between)
    if len(g.labels) < 2:
        raise DataError(f"column {between!r} has fewer than two groups with data", Location(column=between))
    parts = _split(g)
    if np.ptp(g.values) == 0:
        raise DataError(f"column {dv!r} is constant; Kruskal–Wallis is undefined", Location(column=dv))
    h = float(st.kruskal(*parts).statistic)
    df = len(parts) - 1
    n = int(g.n.sum())
    return OmnibusResult(
        "kruskal",
        h,
        float(df),
        math.nan,
        float(st.chi2.sf(h, df)),
        epsilon_squared_from_h(h, n),
        n,
        len(parts),
    )


# --- Games–Howell -----------------------------------------------------------------------------------------


def _games_howell_table(labels, n, mean, var, m2, confidence_level: float, effect: bool) -> pd.DataFrame:
    k = len(labels)
    i, j = np.triu_indices(k, 1)
    v = var / n
    se = np.sqrt(v[i] + v[j])
    diff = mean[i] - mean[j]
    t = diff / se
    df = (v[i] + v[j]) ** 2 / (v[i] ** 2 / (n[i] - 1) + v[j] ** 2 / (n[j] - 1))
    p = studentized_range_sf(np.sqrt(2) * np.abs(t), k, df)
    half = studentized_range_ppf(confidence_level, k, df) / np.sqrt(2) * se
    table = pd.DataFrame(
        {
            "A": labels[i],
            "B": labels[j],
            "mean_A": mean[i],
            "mean_B": mean[j],
            "n_A": n[i].astype(int),
            "n_B": n[j].astype(int),
            "diff": diff,
            "se": se,
            "statistic": t,
            "df": df,
            "p": p,
            "ci_low": diff - half,
            "ci_high": diff + half,
        }
    )
    if effect:
        g, g_lo, g_hi = _hedges_g_arrays(
            mean[i], mean[j], var[i], var[j], n[i], n[j], confidence_level=confidence_level
        )
        table["hedges_g"], table["hedges_g_ci_low"], table["hedges_g_ci_high"] = g, g_lo, g_hi
    return table


def games_howell(
    data: pd.DataFrame,
    *,
    dv: str,
    between: str,
    confidence_level: float = 0.95,
    effsize: bool = True,
) -> pd.DataFrame:
    """Games–Howell pairwise comparisons (unequal variances and n), simultaneous over all pairs.

    For groups i < j (sorted labels)::

        t = (x̄_i − x̄_j) / √(s_i²/n_i + s_j²/n_j),   ν = Welch–Satterthwaite df
        p = P(Q_{k,ν} ≥ √2·|t|),                      CI = (x̄_i − x̄_j) ± q_{1−α; k, ν}/√2 · se

    Q is the studentized range; p and CI are already family-wise over the k(k−1)/2 pairs.

    Parameters
    ----------
    data, dv, between
        As :func:`welch_anova` (unweighted; missing rows dropped).
    confidence_level : float, default 0.95
    effsize : bool, default True
        Add Hedges' g with its noncentral-t CI (columns ``hedges_g``, ``hedges_g_ci_low/high``).

    Returns
    -------
    DataFrame
        ``A, B, mean_A, mean_B, n_A, n_B, diff, se, statistic, df, p, ci_low, ci_high`` (+ Hedges' g).

    Raises
    ------
    DataError
        As :func:`welch_anova`.

    Examples
    --------
    p equals ``ptukey(sqrt(2)*abs(t), k, df, lower.tail = FALSE)`` in R and
    ``pingouin.pairwise_gameshowell``; the CI uses the exact quantile (R ``qtukey`` is only accurate to about
    4 decimals, so the reference solves ``ptukey(q) = 0.95`` with ``uniroot``).
    """
    g = _groups(data, dv, between)
    _need_groups(g, between, need_variance=True)
    return _games_howell_table(g.labels, g.n, g.mean, g.var, g.m2, confidence_level, effsize)


# --- two-sample tests -------------------------------------------------------------------------------------


def _finite(x, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=float).ravel()
    arr = arr[~np.isnan(arr)]
    if np.isinf(arr).any():
        raise DataError(f"sample {name} contains infinite values")
    return arr


def _welch_t(m1, m2, v1, v2, n1, n2, confidence_level):
    a, b = v1 / n1, v2 / n2
    se = np.sqrt(a + b)
    diff = m1 - m2
    df = (a + b) ** 2 / (a**2 / (n1 - 1) + b**2 / (n2 - 1))
    t = diff / se
    p = t_pvalue(t, df)
    half = t_quantile(confidence_level, df) * se
    return diff, se, t, df, p, diff - half, diff + half


def welch_ttest(x, y, *, confidence_level: float = 0.95) -> TwoSampleResult:
    """Welch's two-sample t-test of mean(x) − mean(y), with Hedges' g.

    t = (x̄ − ȳ)/√(s_x²/n_x + s_y²/n_y) on Welch–Satterthwaite df; two-sided p; CI x̄ − ȳ ± t_{ν,1−α/2}·se.
    NaN are dropped; unweighted.

    Raises
    ------
    DataError
        A sample with fewer than 2 values.

    Examples
    --------
    Same t, df, p, CI as R ``t.test(x, y, var.equal = FALSE)`` (tests/reference/compare, 1e-6).
    """
    x, y = _finite(x, "x"), _finite(y, "y")
    if len(x) < 2 or len(y) < 2:
        raise DataError(f"Welch t-test needs at least 2 values per sample (got {len(x)} and {len(y)})")
    m1, m2, v1, v2 = x.mean(), y.mean(), x.var(ddof=1), y.var(ddof=1)
    diff, se, t, df, p, lo, hi = _welch_t(m1, m2, v1, v2, len(x), len(y), confidence_level)
    g = hedges_g_from_moments(m1, m2, v1, v2, len(x), len(y), confidence_level=confidence_level)
    return TwoSampleResult(
        "welch_t",
        float(t),
        float(df),
        float(p),
        float(diff),
        float(se),
        float(lo),
        float(hi),
        g,
        len(x),
        len(y),
    )


def mann_whitney(x, y, *, continuity: bool = True) -> TwoSampleResult:
    """Mann–Whitney U test (two-sided, normal approximation with tie correction).

    ``statistic`` is U of x = Σ ranks(x) − n_x(n_x+1)/2 (R's W). The p-value uses the normal approximation
    with tie-corrected variance and, by default, the continuity correction: this is R
    ``wilcox.test(x, y, exact = FALSE, correct = TRUE)`` and ``scipy.stats.mannwhitneyu(method="asymptotic",
    use_continuity=True)``. No exact p-value is computed (samples here have ties). Effect: rank-biserial
    correlation. NaN dropped; unweighted.

    Raises
    ------
    DataError
        An empty sample.
    """
    x, y = _finite(x, "x"), _finite(y, "y")
    if len(x) < 1 or len(y) < 1:
        raise DataError("Mann–Whitney needs at least one value per sample")
    u, p = mannwhitneyu_asymptotic(x, y, continuity)
    nan = math.nan
    return TwoSampleResult(
        "mann_whitney",
        u,
        nan,
        p,
        nan,
        nan,
        nan,
        nan,
        rank_biserial_from_u(u, len(x), len(y)),
        len(x),
        len(y),
    )


# --- χ² / Fisher ------------------------------------------------------------------------------------------


def _chi2_from_table(
    table: np.ndarray, *, correction: bool, confidence_level: float, fisher_below: float
) -> ChiSquareResult:
    table = np.asarray(table, dtype=float)
    n = int(table.sum())
    pearson = st.chi2_contingency(table, correction=False)
    expected_min = float(pearson.expected_freq.min())
    df = int(pearson.dof)
    effect = cramers_v_from_chi2(
        float(pearson.statistic),
        n=n,
        n_rows=table.shape[0],
        n_cols=table.shape[1],
        confidence_level=confidence_level,
    )
    odds = math.nan
    if table.shape == (2, 2):
        with np.errstate(divide="ignore", invalid="ignore"):
            odds = float(table[0, 0] * table[1, 1] / (table[0, 1] * table[1, 0]))
        if expected_min < fisher_below:
            p = float(st.fisher_exact(table, alternative="two-sided").pvalue)
            return ChiSquareResult("fisher", float(pearson.statistic), df, p, effect, n, expected_min, odds)
        if correction:
            yates = st.chi2_contingency(table, correction=True)
            return ChiSquareResult(
                "chi2_yates", float(yates.statistic), df, float(yates.pvalue), effect, n, expected_min, odds
            )
    return ChiSquareResult(
        "chi2", float(pearson.statistic), df, float(pearson.pvalue), effect, n, expected_min, odds
    )


def chi2_independence(
    data: pd.DataFrame,
    *,
    x: str,
    y: str,
    correction: bool = False,
    confidence_level: float = 0.95,
) -> ChiSquareResult:
    """Pearson χ² test of independence of ``x`` and ``y``; Fisher's exact test for a small 2×2 table.

    χ² = Σ (O − E)²/E on (r−1)(c−1) df. If the table is 2×2 and any expected count is below 5, the p-value is
    Fisher's exact two-sided p (R ``fisher.test``; "small" = any expected count < 5). Otherwise Pearson
    without continuity correction (R ``chisq.test(correct = FALSE)``); ``correction=True`` gives Yates' for
    2×2 (R's default ``chisq.test``). Effect: Cramér's V with noncentral-χ² CI. Larger tables with small
    expected counts keep the χ² p-value; check ``min_expected``.

    Rows with a missing ``x`` or ``y`` are dropped; unweighted (use ``SurveyDesign.chisq`` for Rao–Scott).

    Raises
    ------
    DataError
        A missing column, or fewer than two observed categories in ``x`` or ``y``.

    Examples
    --------
    R: ``chisq.test(table(x, y), correct = FALSE)``, ``chisq.test(table(x, y))``, ``fisher.test(table(x, y))``
    (tests/reference/compare, 1e-6).
    """
    _require_columns(data, x, y)
    table = pd.crosstab(data[x], data[y])
    for col, size in ((x, table.shape[0]), (y, table.shape[1])):
        if size < 2:
            raise DataError(f"column {col!r} has fewer than two observed categories", Location(column=col))
    return _chi2_from_table(
        table.to_numpy(),
        correction=correction,
        confidence_level=confidence_level,
        fisher_below=FISHER_EXPECTED_BELOW,
    )


# --- long family tables -----------------------------------------------------------------------------------


def _row(**fields) -> dict:
    row = dict.fromkeys(RESULT_COLUMNS, math.nan)
    row.update(flag="", reason="", weighted=False, group_a=None, group_b=None, level=None, effect_name="")
    row.update(fields)
    return row


def _flag(n: float, small_n: int, min_n: int) -> GroupFlag:
    return SmallGroupRule(flag_below=small_n, suppress_below=min_n).flag(n)


def _reason_small(small_n: int) -> str:
    return SmallGroupRule(flag_below=small_n).small_reason


def _finish(rows: list[dict], columns: list[str], holm_mask_tests: set[str]) -> pd.DataFrame:
    table = pd.DataFrame(rows, columns=columns)
    table["p_holm"] = table["p"]
    for _, idx in table.groupby("family", sort=False).groups.items():
        sub = table.loc[idx]
        mask = sub["test"].isin(holm_mask_tests) & sub["p"].notna()
        if mask.any():
            table.loc[sub.index[mask], "p_holm"] = holm(sub.loc[mask, "p"].to_numpy())
    table["p_bh"] = benjamini_hochberg(table["p"].to_numpy(dtype=float))
    for col in ("n", "n_a", "n_b"):
        table[col] = table[col].astype("Int64")
    return table


def _excluded_reason(labels, min_n: int) -> str:
    if len(labels) == 0:
        return ""
    return f"已排除样本量不足{min_n}的组：{'、'.join(map(str, labels))}"


def _continuous_family(data, dv, by, *, small_n, min_n, confidence_level, cache=None) -> list[dict]:
    g = _groups(data, dv, by, cache)
    family = f"{dv} ~ {by}"
    base = {"family": family, "dv": dv, "by": by}
    rows = []
    for i, label in enumerate(g.labels):
        flag, reason = _flag(g.n[i], small_n, min_n)
        row = _row(**base, test="mean", contrast=str(label), group_a=label, n=int(g.n[i]), n_a=int(g.n[i]))
        if flag != "suppressed":
            se = math.sqrt(g.var[i] / g.n[i])
            half = t_quantile(confidence_level, g.n[i] - 1) * se
            row.update(estimate=g.mean[i], se=se, ci_low=g.mean[i] - half, ci_high=g.mean[i] + half)
        row.update(flag=flag, reason=reason)
        rows.append(row)
    keep = (g.n >= min_n) & (g.m2 > 0)
    excluded = _excluded_reason(g.labels[g.n < min_n], min_n)
    flat = g.labels[(g.n >= min_n) & (g.m2 <= 0)]
    if len(flat):  # Welch weights n/s² are undefined for a constant group
        excluded = "；".join(r for r in (excluded, f"已排除方差为0的组：{'、'.join(map(str, flat))}") if r)
    labels, n, mean, m2 = g.labels[keep], g.n[keep], g.mean[keep], g.m2[keep]
    var = m2 / (n - 1)
    n_total = int(n.sum())
    if len(labels) < 2:
        for test in ("welch_anova", "kruskal"):
            rows.append(
                _row(
                    **base,
                    test=test,
                    contrast="all",
                    n=n_total,
                    flag="suppressed",
                    reason="有效组数不足2，无法比较",
                )
            )
        return rows
    small = n.min() < small_n
    omni_flag, omni_reason = ("small", _reason_small(small_n)) if small else ("", "")
    omni_reason = "；".join(r for r in (omni_reason, excluded) if r)
    f, df1, df2, p = _welch_from_moments(n, mean, var)
    grand = float((n * mean).sum() / n_total)
    om = omega_squared_from_sums(
        ss_between=float((n * (mean - grand) ** 2).sum()),
        ss_within=float(m2.sum()),
        n=n_total,
        k=len(labels),
        confidence_level=confidence_level,
    )
    rows.append(
        _row(**base, test="welch_anova", contrast="all", statistic=f, df1=df1, df2=df2, p=p,
             effect_name="omega_squared", effect=om.estimate, effect_ci_low=om.ci_low, effect_ci_high=om.ci_high,
             n=n_total, flag=omni_flag, reason=omni_reason)
    )  # fmt: skip
    kept_codes = np.flatnonzero(keep)
    remap = np.full(len(g.labels), -1)
    remap[kept_codes] = np.arange(len(kept_codes))
    kept_group = remap[g.codes]
    in_kept = kept_group >= 0
    kept_values = g.values[in_kept]
    if np.ptp(kept_values) > 0:
        ranks = None
        if in_kept.all():  # the same rows as another grouping of this outcome: rank them once
            known = cache.get("ranks", {}).get(dv) if cache is not None else None
            if known is not None and np.array_equal(known[0], g.rows):
                ranks = known[1]
            else:
                ranks = rankdata_average(kept_values)
                if cache is not None:
                    cache["ranks"] = {dv: (g.rows, ranks)}  # outcomes come one after another: keep the last
        h = kruskal_h(kept_values, kept_group[in_kept], len(kept_codes), ranks)
        eps = epsilon_squared_from_h(h, n_total)
        rows.append(
            _row(**base, test="kruskal", contrast="all", statistic=h, df1=float(len(kept_codes) - 1),
                 p=float(st.chi2.sf(h, len(kept_codes) - 1)), effect_name="epsilon_squared", effect=eps.estimate,
                 n=n_total, flag=omni_flag, reason=omni_reason)
        )  # fmt: skip
    gh = _games_howell_table(labels, n, mean, var, m2, confidence_level, effect=True)
    for r in gh.itertuples(index=False):
        flag, reason = _flag(min(r.n_A, r.n_B), small_n, min_n)
        rows.append(
            _row(**base, test="games_howell", contrast=f"{r.A} vs {r.B}", group_a=r.A, group_b=r.B,
                 estimate=r.diff, se=r.se, ci_low=r.ci_low, ci_high=r.ci_high, statistic=r.statistic, df1=r.df,
                 p=r.p, effect_name="hedges_g", effect=r.hedges_g, effect_ci_low=r.hedges_g_ci_low,
                 effect_ci_high=r.hedges_g_ci_high, n=int(r.n_A + r.n_B), n_a=int(r.n_A), n_b=int(r.n_B),
                 flag=flag, reason=reason)
        )  # fmt: skip
    return rows


def _chi2_row(base, result: ChiSquareResult, **fields) -> dict:
    e = result.effect
    return _row(**base, test=result.test, statistic=result.statistic, df1=float(result.df), p=result.pvalue,
                effect_name="cramers_v", effect=e.estimate, effect_ci_low=e.ci_low, effect_ci_high=e.ci_high,
                n=result.n, **fields)  # fmt: skip


def _crosstab(data: pd.DataFrame, row: str, col: str, cache: dict | None = None) -> pd.DataFrame:
    """``pd.crosstab(frame[row], frame[col])`` of the rows with both values, from integer codes.

    The same table (observed levels only, sorted — category order for a categorical —, index and columns
    named after the columns, int64 counts) without pandas' groupby; each column's codes are computed once
    per ``cache``.
    """
    r_all, r_labels = _cached(cache, ("codes", row), lambda: pd.factorize(data[row], sort=True))
    c_all, c_labels = _cached(cache, ("codes", col), lambda: pd.factorize(data[col], sort=True))
    both = (r_all >= 0) & (c_all >= 0)
    nr, nc = len(r_labels), len(c_labels)
    counts = np.bincount(r_all[both] * nc + c_all[both], minlength=nr * nc).reshape(nr, nc)
    rows, cols = counts.sum(axis=1) > 0, counts.sum(axis=0) > 0
    return pd.DataFrame(counts[rows][:, cols], index=_label_index(r_labels[rows], row),
                        columns=_label_index(c_labels[cols], col))  # fmt: skip


def _label_index(labels: pd.Index, name: str) -> pd.Index:
    """Labels as crosstab names them: object labels re-inferred (all text: ``str`` dtype), others kept."""
    if labels.dtype == object:
        return pd.Index(np.asarray(labels), name=name)
    return labels.rename(name)


def _categorical_family(data, dv, by, *, small_n, min_n, confidence_level, cache=None) -> list[dict]:
    _require_columns(data, dv, by)
    table = _crosstab(data, by, dv, cache)
    family = f"{dv} ~ {by}"
    base = {"family": family, "dv": dv, "by": by}
    rows = []
    if table.shape[1] < 2:
        raise DataError(f"column {dv!r} has fewer than two observed categories", Location(column=dv))
    group_n = table.sum(axis=1)
    for label, counts in table.iterrows():
        n_g = int(group_n[label])
        flag, reason = _flag(n_g, small_n, min_n)
        for level, count in counts.items():
            row = _row(**base, test="proportion", contrast=f"{label}: {level}", group_a=label, level=level,
                       n=n_g, n_a=n_g, flag=flag, reason=reason)  # fmt: skip
            if flag != "suppressed":
                lo, hi = proportion_confint(int(count), n_g, alpha=1 - confidence_level, method="wilson")
                prop = count / n_g
                row.update(estimate=prop, se=math.sqrt(prop * (1 - prop) / n_g), ci_low=lo, ci_high=hi)
            rows.append(row)
    keep = group_n.index[group_n >= min_n]
    excluded = _excluded_reason(list(group_n.index[group_n < min_n]), min_n)
    kept = table.loc[keep]
    kept = kept.loc[:, kept.sum(axis=0) > 0]
    if len(keep) < 2 or kept.shape[1] < 2:
        rows.append(
            _row(**base, test="chi2", contrast="all", flag="suppressed", reason="有效组数不足2，无法比较")
        )
        return rows
    omni = _chi2_from_table(kept.to_numpy(), correction=False, confidence_level=confidence_level,
                            fisher_below=FISHER_EXPECTED_BELOW)  # fmt: skip
    small = group_n[keep].min() < small_n
    reason = "；".join(r for r in ((_reason_small(small_n) if small else ""), excluded) if r)
    rows.append(_chi2_row(base, omni, contrast="all", flag="small" if small else "", reason=reason))
    for a, b in itertools.combinations(keep, 2):
        sub = kept.loc[[a, b]]
        sub = sub.loc[:, sub.sum(axis=0) > 0]
        n_a, n_b = int(group_n[a]), int(group_n[b])
        flag, reason = _flag(min(n_a, n_b), small_n, min_n)
        fields = dict(
            contrast=f"{a} vs {b}", group_a=a, group_b=b, n_a=n_a, n_b=n_b, flag=flag, reason=reason
        )
        if sub.shape[1] < 2:
            rows.append(_row(**base, test="chi2", **fields, n=n_a + n_b))
            continue
        res = _chi2_from_table(sub.to_numpy(), correction=False, confidence_level=confidence_level,
                               fisher_below=FISHER_EXPECTED_BELOW)  # fmt: skip
        row = _chi2_row(base, res, **fields)
        if sub.shape[1] == 2:  # binary outcome: difference in the share of the second category
            share = sub.iloc[:, 1] / sub.sum(axis=1)
            row["estimate"] = float(share.iloc[0] - share.iloc[1])
            row["level"] = sub.columns[1]
        rows.append(row)
    return rows


# --- design-based path ------------------------------------------------------------------------------------


def _contrast(means, vcov, a, b) -> tuple[float, float]:
    diff = float(means[a] - means[b])
    var = float(vcov.loc[a, a] + vcov.loc[b, b] - 2 * vcov.loc[a, b])
    return diff, math.sqrt(var) if var > 0 else math.nan


def _weighted_continuous_family(data, dv, by, design, *, small_n, min_n, confidence_level) -> list[dict]:
    found = domain_mean_table(design, dv, by, small_n=small_n, min_n=min_n, confidence_level=confidence_level)
    means, vcov, n, n_eff, design_df = found.means, found.vcov, found.n, found.n_eff, found.df
    base = {"family": f"{dv} ~ {by}", "dv": dv, "by": by, "weighted": True}
    rows = []
    for r in found.table.itertuples(index=False):
        row = _row(**base, test="svy_mean", contrast=str(r.group), group_a=r.group, n=r.n, n_a=r.n,
                   n_eff_a=r.n_eff, flag=r.flag, reason=r.reason)  # fmt: skip
        if r.flag != "suppressed":
            row.update(estimate=r.estimate, se=r.se, ci_low=r.ci_low, ci_high=r.ci_high)
        rows.append(row)
    keep = [lab for lab in means.index if n_eff[lab] >= min_n]
    excluded = _excluded_reason([lab for lab in means.index if n_eff[lab] < min_n], min_n)
    k = len(keep)
    if k < 2:
        rows.append(
            _row(
                **base, test="svy_wald_f", contrast="all", flag="suppressed", reason="有效组数不足2，无法比较"
            )
        )
        return rows
    m = means[keep].to_numpy()
    v = vcov.loc[keep, keep].to_numpy()
    c = np.hstack([-np.ones((k - 1, 1)), np.eye(k - 1)])  # m_j − m_first, as the dummies of svyglm(y ~ g)
    cm = c @ m
    wald = float(cm @ np.linalg.solve(c @ v @ c.T, cm))
    df1, df2 = float(k - 1), design_df - k + 1
    small = n_eff[keep].min() < small_n
    reason = "；".join(r for r in ((_reason_small(small_n) if small else ""), excluded) if r)
    rows.append(
        _row(**base, test="svy_wald_f", contrast="all", statistic=wald / df1, df1=df1, df2=df2,
             p=float(st.f.sf(wald / df1, df1, df2)), n=int(n[keep].sum()), flag="small" if small else "",
             reason=reason)
    )  # fmt: skip
    tq2 = t_quantile(confidence_level, df2)
    for a, b in itertools.combinations(keep, 2):
        diff, se = _contrast(means, vcov, a, b)
        t = diff / se
        flag, reason = _flag(min(n_eff[a], n_eff[b]), small_n, min_n)
        rows.append(
            _row(**base, test="svy_contrast", contrast=f"{a} vs {b}", group_a=a, group_b=b, estimate=diff, se=se,
                 ci_low=diff - tq2 * se, ci_high=diff + tq2 * se, statistic=t, df1=df2,
                 p=float(t_pvalue(t, df2)), n=int(n[a] + n[b]), n_a=int(n[a]), n_b=int(n[b]),
                 n_eff_a=float(n_eff[a]), n_eff_b=float(n_eff[b]), flag=flag, reason=reason)
        )  # fmt: skip
    return rows


def _first_attr(obj: Any, *names: str) -> float:
    for name in names:
        if hasattr(obj, name):
            return float(getattr(obj, name))
    raise AttributeError(f"{type(obj).__name__} has none of the attributes {names}")


def _weighted_categorical_family(data, dv, by, design, *, small_n, min_n, confidence_level) -> list[dict]:
    for name in ("chisq", "proportion"):
        if not hasattr(design, name):
            raise TypeError(f"{type(design).__name__} has no method {name}() (needed for a categorical dv)")
    base = {"family": f"{dv} ~ {by}", "dv": dv, "by": by, "weighted": True}
    rows = []
    kept_n_eff = {}
    for level in sorted(data[dv].dropna().unique()):
        table = design.proportion(dv, level, by=by, method="logit", confidence_level=confidence_level)
        for rec in table.to_dict("records"):
            group = rec[by]
            flag, reason = _flag(rec["n_eff"], small_n, min_n)
            kept_n_eff[group] = rec["n_eff"]
            row = _row(**base, test="svy_proportion", contrast=f"{group}: {level}", group_a=group, level=level,
                       n=int(rec["n"]), n_a=int(rec["n"]), n_eff_a=float(rec["n_eff"]), flag=flag,
                       reason=reason)  # fmt: skip
            if flag != "suppressed":
                row.update(
                    estimate=rec["estimate"], se=rec["se"], ci_low=rec["ci_low"], ci_high=rec["ci_high"]
                )
            rows.append(row)
    res = design.chisq(dv, by)
    small = min(kept_n_eff.values()) < small_n if kept_n_eff else False
    rows.append(
        _row(**base, test="rao_scott", contrast="all", statistic=_first_attr(res, "statistic"),
             df1=_first_attr(res, "ndf", "df1"), df2=_first_attr(res, "ddf", "df2"),
             p=_first_attr(res, "pvalue"), n=int(data[[dv, by]].dropna().shape[0]),
             flag="small" if small else "", reason=_reason_small(small_n) if small else "")
    )  # fmt: skip
    return rows


def _is_categorical(series: pd.Series) -> bool:
    return (
        pd.api.types.is_bool_dtype(series)
        or isinstance(series.dtype, pd.CategoricalDtype)
        or not pd.api.types.is_numeric_dtype(series)
    )


def compare_groups(
    data: pd.DataFrame,
    *,
    dv: str | Sequence[str],
    by: str | Sequence[str],
    design: Any = None,
    kind: Literal["auto", "continuous", "categorical"] = "auto",
    small_n: int = SMALL_N,
    min_n: int = MIN_N,
    confidence_level: float = 0.95,
) -> pd.DataFrame:
    """Compare groups on one or more outcomes: every family (dv × by) as one long tidy table.

    Continuous ``dv`` (unweighted): per-group ``mean`` rows (t-interval), ``welch_anova`` (effect ω²),
    ``kruskal`` (effect ε²) and ``games_howell`` pairwise rows (difference, simultaneous CI, Hedges' g).
    Categorical ``dv`` (unweighted): per-group ``proportion`` rows (Wilson CI), an omnibus ``chi2`` (or
    ``fisher`` for a small 2×2) row with Cramér's V, and pairwise group-vs-group χ²/Fisher rows (for a binary
    outcome ``estimate`` is the difference in the share of ``level``). With ``design``: ``svy_mean`` rows,
    a design-based Wald F (``svy_wald_f``, as R ``regTermTest``; df2 = design df − k + 1) and pairwise
    ``svy_contrast`` rows (as ``svyglm`` + ``svycontrast``), or Rao–Scott (``rao_scott``) for a categorical dv.

    Parameters
    ----------
    data : DataFrame
        One row per respondent. Rows with a missing ``dv`` or ``by`` are dropped (per family).
    dv, by : str or sequence of str
        Outcome(s) and grouping column(s); every combination is one family.
    design : SurveyDesign, optional
        Design object for weighted (sampling-weight) estimates; see the module docstring for the method used.
    kind : {"auto", "continuous", "categorical"}
        ``"auto"``: categorical if ``dv`` is non-numeric, boolean or categorical dtype, else continuous.
    small_n, min_n : int, default 30 and 10
        Flag groups with n (or effective n) below ``small_n`` as ``"small"``; suppress and exclude below
        ``min_n`` (reason ``"样本量不足10，不予报告"``).
    confidence_level : float, default 0.95

    Returns
    -------
    DataFrame
        Columns :data:`RESULT_COLUMNS`, full precision; ``p_holm`` within family, ``p_bh`` over the table
        (see the module docstring; use ``adjust_across`` for run-level BH).

    Raises
    ------
    DataError
        A missing column, a non-numeric ``dv`` with ``kind="continuous"``, an unknown ``kind``.
    NotImplementedError
        ``design`` lacks the method the weighted path needs.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"y": [3.1, 4.0, 3.6, 5.2, 4.4, 5.9, 6.3, 5.1, 7.0, 6.8, 7.9, 8.4],
    ...                    "g": list("aaaabbbbcccc")})
    >>> table = compare_groups(df, dv="y", by="g", small_n=2, min_n=2)  # toy groups of 4: thresholds lowered
    >>> table.query("test == 'welch_anova'")[["statistic", "df1", "df2", "p"]].round(6).values.tolist()
    [[17.203297, 2.0, 5.968147, 0.00333]]

    R: ``oneway.test(y ~ g, d)`` gives F = 17.203297 on 2 and 5.968147 df, p = 0.003330.
    """
    if kind not in ("auto", "continuous", "categorical"):
        raise DataError(f"kind must be 'auto', 'continuous' or 'categorical', got {kind!r}")
    dvs = [dv] if isinstance(dv, str) else list(dv)
    bys = [by] if isinstance(by, str) else list(by)
    _require_columns(data, *dvs, *bys)
    rows: list[dict] = []
    cache: dict = {}  # grouping codes and ranks shared by the families of this call
    for d, b in itertools.product(dvs, bys):
        categorical = _is_categorical(data[d]) if kind == "auto" else kind == "categorical"
        opts = dict(small_n=small_n, min_n=min_n, confidence_level=confidence_level)
        if design is None and categorical:
            rows += _categorical_family(data, d, b, **opts, cache=cache)
        elif design is None:
            rows += _continuous_family(data, d, b, **opts, cache=cache)
        else:
            family = _weighted_categorical_family if categorical else _weighted_continuous_family
            rows += family(data, d, b, design, **opts)
    return _finish(rows, RESULT_COLUMNS, {"chi2", "fisher", "svy_contrast"})


# --- unit vs rest of its peer group -----------------------------------------------------------------------


def _unit_peers(data: pd.DataFrame, unit: str, peer_group: str | None) -> pd.Series:
    """Peer label per unit (one value per unit; "all" when ``peer_group`` is None)."""
    if peer_group is None:
        return pd.Series("all", index=pd.Index(data[unit].dropna().unique()))
    frame = data[[unit, peer_group]].dropna(subset=[unit])
    if frame[peer_group].isna().any():
        bad = frame.loc[frame[peer_group].isna(), unit].unique()[:5]
        raise DataError(
            f"column {peer_group!r} is missing for unit(s) {list(bad)}", Location(column=peer_group)
        )
    counts = frame.groupby(unit, observed=True)[peer_group].nunique()
    if (counts > 1).any():
        raise DataError(
            f"column {peer_group!r} must hold one value per unit; units {list(counts.index[counts > 1][:5])} "
            "have several",
            Location(column=peer_group),
        )
    return frame.groupby(unit, observed=True)[peer_group].first()


def unit_vs_peers(
    data: pd.DataFrame,
    *,
    dv: str | Sequence[str],
    unit: str,
    peer_group: str | None = None,
    design: Any = None,
    small_n: int = SMALL_N,
    min_n: int = MIN_N,
    confidence_level: float = 0.95,
) -> pd.DataFrame:
    """Each unit against the rest of its peer group: mean difference, Welch t, CI, Hedges' g, Holm and BH.

    For unit u in peer group P (``peer_group`` column, e.g. unit type; ``None`` = all other units)::

        difference = x̄_u − x̄_{P∖u},  se = √(s_u²/n_u + s_r²/n_r),  Welch–Satterthwaite df, two-sided p

    (R ``t.test(x[u], x[P & !u], var.equal = FALSE)``); Hedges' g with noncentral-t CI. Moments of "the rest"
    are obtained from peer-group totals minus the unit (Chan's update), vectorised over units. Holm is over
    all units of the family (``dv`` × unit), BH over the table.

    With ``design``: domain means of "unit" and "rest" (everyone outside P kept for the variance with zero
    weight) via ``design.domain_means_vcov(dv, by=<Series on data.index>)``; the difference and its se are
    those of R ``svycontrast(svyby(~dv, ~domain, design, svymean, covmat = TRUE), c(unit = 1, rest = -1))``
    (tested). No Hedges' g. Flags use the effective n. A design with ``unit_vs_peers_contrasts``
    (:class:`SurveyDesign`) gives the same numbers for all units in one pass.

    Degrees of freedom of the design-based t (``df1``): ``degf(design) − 1 = n − H − 1`` for every unit, with
    n *all* respondents of the design (whatever their peer group and whether ``dv`` is missing) and H its
    strata: the df of the whole design, minus one for the contrast. This is the df of R
    ``svyttest(dv ~ I(unit == u), design)`` only when that test runs on the whole design, i.e. without
    ``peer_group`` and with ``dv`` observed for everyone. With peer groups R would test on
    ``subset(design, peer group == P)``, whose df counts only P's respondents with a value (``svyglm`` drops
    the others) minus their strata, minus 1 — fewer; domain estimation keeps the whole design's df (the
    variance uses every stratum). The difference in p is small unless a peer group is small: at t = 2 the
    two-sided p is 0.0458 on 1000 df, 0.0464 on 300 and 0.0510 on 50. Unweighted rows use Welch's df, as
    ``t.test``.

    Several outcomes (a sequence ``dv``) are one family each, computed with the units and peer groups
    factorized once; the rows come outcome by outcome, as separate calls would give them (BH over the table
    is then over all of them).

    Parameters
    ----------
    data : DataFrame
        One row per respondent or case; ``unit`` holds the unit code (kept in every output row).
    dv : str or sequence of str
        Numeric outcome(s). Rows with a missing ``dv`` or ``unit`` are dropped.
    unit : str
        Unit code column.
    peer_group : str, optional
        Column with one value per unit defining its peers.
    design : SurveyDesign, optional
        Design for weighted estimates (sampling weights). Its frame must share ``data``'s index.
    small_n, min_n : int, default 30 and 10
        Flags as :func:`compare_groups`; a unit (or its rest) below ``min_n`` is suppressed.
    confidence_level : float, default 0.95

    Returns
    -------
    DataFrame
        :data:`RESULT_COLUMNS` plus ``unit``, ``peer_group``, ``mean_unit``, ``mean_rest``; test ``"welch_t"``
        (or ``"svy_contrast"``), ``contrast = "U03 vs rest of city"``.

    Raises
    ------
    DataError
        Missing/non-numeric column, a unit with several or no peer-group values.
    """
    dvs = [dv] if isinstance(dv, str) else list(dv)
    _require_columns(data, *dvs, unit, peer_group)
    if design is not None:  # the unweighted path checks each outcome as it reads it
        for d in dvs:
            _numeric(data[d], d)
    peers = _unit_peers(data, unit, peer_group)
    by_label = unit if peer_group is None else f"{unit} | {peer_group}"
    rest = " vs rest" + ("" if peer_group is None else f" of {peer_group}")
    bases = {d: {"family": f"{d} ~ {unit}{rest}", "dv": d, "by": by_label} for d in dvs}
    if design is not None:
        rows = _weighted_unit_rows(data, dvs, unit, peers, design, bases, small_n, min_n, confidence_level)
        return _finish(rows, UNIT_COLUMNS, {"svy_contrast"})
    # units in sorted order once; each outcome keeps the units with a value (as factorizing its rows would)
    unit_codes, unit_labels = pd.factorize(data[unit], sort=True)
    rows = []
    for d in dvs:
        values = _numeric(data[d], d)
        rows += _unweighted_unit_rows(values, unit_codes, unit_labels, peers, bases[d], small_n, min_n,
                                      confidence_level)  # fmt: skip
    return _finish(rows, UNIT_COLUMNS, {"welch_t"})


def _unweighted_unit_rows(
    values, unit_codes, unit_labels, peers, base, small_n, min_n, confidence_level
) -> list[dict]:
    """Welch rows of one outcome: every unit with a value against the rest of its peer group."""
    keep = ~np.isnan(values) & (unit_codes >= 0)
    kept_codes = unit_codes[keep]
    present = np.flatnonzero(np.bincount(kept_codes, minlength=len(unit_labels)))  # units with a value
    remap = np.full(len(unit_labels), -1, dtype=np.intp)
    remap[present] = np.arange(present.size)
    codes, labels = remap[kept_codes], unit_labels[present]
    x = values[keep]
    k = len(labels)
    n_u, mean_u, m2_u = _moments(codes, x, k)
    peer_of_unit = peers.reindex(labels).to_numpy()
    peer_codes, _ = pd.factorize(peer_of_unit, sort=True)
    n_p, mean_p, m2_p = _moments(peer_codes[codes], x, peer_codes.max() + 1)
    n_p, mean_p, m2_p = n_p[peer_codes], mean_p[peer_codes], m2_p[peer_codes]
    n_r = n_p - n_u
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_r = (n_p * mean_p - n_u * mean_u) / n_r
        m2_r = np.maximum(m2_p - m2_u - (mean_r - mean_u) ** 2 * n_u * n_r / n_p, 0.0)
        var_u, var_r = m2_u / (n_u - 1), m2_r / (n_r - 1)
        diff, se, t, df, p, lo, hi = _welch_t(mean_u, mean_r, var_u, var_r, n_u, n_r, confidence_level)
    testable = (np.minimum(n_u, n_r) >= max(min_n, 2)) & ((var_u > 0) | (var_r > 0))
    g, g_lo, g_hi = np.full((3, k), np.nan)
    if testable.any():
        g[testable], g_lo[testable], g_hi[testable] = _hedges_g_arrays(
            mean_u[testable],
            mean_r[testable],
            var_u[testable],
            var_r[testable],
            n_u[testable],
            n_r[testable],
            confidence_level=confidence_level,
        )
    rows = []
    for i, lab in enumerate(labels):
        flag, reason = _flag(min(n_u[i], n_r[i]), small_n, min_n)
        row = _row(**base, test="welch_t", contrast=f"{lab} vs rest of {peer_of_unit[i]}", group_a=lab,
                   group_b="rest", n=int(n_u[i] + n_r[i]), n_a=int(n_u[i]), n_b=int(n_r[i]), flag=flag,
                   reason=reason)  # fmt: skip
        row.update(unit=lab, peer_group=peer_of_unit[i], mean_unit=mean_u[i], mean_rest=mean_r[i])
        if flag == "suppressed" or not (var_u[i] > 0 or var_r[i] > 0):
            row.update(mean_unit=math.nan, mean_rest=math.nan)
            if flag != "suppressed":
                row.update(reason="方差为0，无法检验")
        else:
            row.update(estimate=diff[i], se=se[i], ci_low=lo[i], ci_high=hi[i], statistic=t[i], df1=df[i],
                       p=p[i], effect_name="hedges_g", effect=g[i], effect_ci_low=g_lo[i],
                       effect_ci_high=g_hi[i])  # fmt: skip
        rows.append(row)
    return rows


def _weighted_unit_rows(
    data, dvs, unit, peers, design, bases, small_n, min_n, confidence_level
) -> list[dict]:
    # unit and peer group of every row as integer codes (-1: no unit), computed once per call: comparing
    # a million labels per unit was most of the cost of this function
    unit_codes, unit_labels = pd.factorize(data[unit])
    peer_codes, _ = pd.factorize(peers.reindex(unit_labels).to_numpy())
    row_peer = np.where(unit_codes >= 0, peer_codes[unit_codes], -1)
    code_of = {lab: i for i, lab in enumerate(unit_labels)}
    if hasattr(design, "unit_vs_peers_contrasts_many"):
        fast = design.unit_vs_peers_contrasts_many(dvs, unit_codes, peer_codes)
    elif hasattr(design, "unit_vs_peers_contrasts"):
        fast = {d: design.unit_vs_peers_contrasts(d, unit_codes, peer_codes) for d in dvs}
    else:
        fast = None
    rows = []
    for d in dvs:
        base = {**bases[d], "weighted": True}
        if fast is not None:
            rows += _weighted_unit_rows_fast(fast[d], peers, code_of, base, small_n, min_n, confidence_level)
        else:
            rows += _per_unit_rows(data, d, design, unit_codes, peer_codes, row_peer, code_of, peers, base, small_n,
                                   min_n, confidence_level)  # fmt: skip
    return rows


def _per_unit_rows(data, dv, design, unit_codes, peer_codes, row_peer, code_of, peers, base, small_n, min_n,
                   confidence_level) -> list[dict]:  # fmt: skip
    """Rows of one outcome from two domain means per unit (designs without ``unit_vs_peers_contrasts``)."""
    rows = []
    for lab in sorted(peers.index):
        peer = peers[lab]
        in_unit = unit_codes == code_of[lab]
        in_rest = ~in_unit & (row_peer == peer_codes[code_of[lab]]) & (row_peer >= 0)
        # the two domains as a categorical ("rest" < "unit", as the sorted labels); other rows: no domain
        domain_codes = np.where(in_unit, 1, np.where(in_rest, 0, -1)).astype(np.int8)
        domain = pd.Series(
            pd.Categorical.from_codes(domain_codes, categories=["rest", "unit"]), index=data.index
        )
        means, vcov, n, n_eff, design_df = _domain_means(design, dv, domain)
        n_a, n_b = int(n.get("unit", 0)), int(n.get("rest", 0))
        e_a, e_b = float(n_eff.get("unit", 0.0)), float(n_eff.get("rest", 0.0))
        flag, reason = _flag(min(e_a, e_b), small_n, min_n)
        row = _row(**base, test="svy_contrast", contrast=f"{lab} vs rest of {peer}", group_a=lab, group_b="rest",
                   n=n_a + n_b, n_a=n_a, n_b=n_b, n_eff_a=e_a, n_eff_b=e_b, flag=flag, reason=reason)  # fmt: skip
        row.update(unit=lab, peer_group=peer, mean_unit=math.nan, mean_rest=math.nan)
        if flag != "suppressed":
            diff, se = _contrast(means, vcov, "unit", "rest")
            df = design_df - 1
            t = diff / se
            half = t_quantile(confidence_level, df) * se
            row.update(mean_unit=float(means["unit"]), mean_rest=float(means["rest"]), estimate=diff, se=se,
                       ci_low=diff - half, ci_high=diff + half, statistic=t, df1=df,
                       p=float(t_pvalue(t, df)))  # fmt: skip
        rows.append(row)
    return rows


def _weighted_unit_rows_fast(fast, peers, code_of, base, small_n, min_n, confidence_level) -> list[dict]:
    """Rows of :func:`_weighted_unit_rows` from ``design.unit_vs_peers_contrasts`` (all units in one pass)."""
    rows = []
    for lab in sorted(peers.index):
        peer = peers[lab]
        r = fast.iloc[code_of[lab]]
        n_a, n_b = int(r["n_unit"]), int(r["n_rest"])
        # a rest without any row is no domain at all (effective n 0, as the per-unit path reports it)
        e_a, e_b = float(r["n_eff_unit"]), float(r["n_eff_rest"]) if r["rows_rest"] > 0 else 0.0
        flag, reason = _flag(min(e_a, e_b), small_n, min_n)
        row = _row(**base, test="svy_contrast", contrast=f"{lab} vs rest of {peer}", group_a=lab, group_b="rest",
                   n=n_a + n_b, n_a=n_a, n_b=n_b, n_eff_a=e_a, n_eff_b=e_b, flag=flag, reason=reason)  # fmt: skip
        row.update(unit=lab, peer_group=peer, mean_unit=math.nan, mean_rest=math.nan)
        if flag != "suppressed":
            diff, var = float(r["estimate"]), float(r["var"])
            se = math.sqrt(var) if var > 0 else math.nan
            df = float(r["df"]) - 1
            t = diff / se
            half = t_quantile(confidence_level, df) * se
            row.update(mean_unit=float(r["mean_unit"]), mean_rest=float(r["mean_rest"]), estimate=diff, se=se,
                       ci_low=diff - half, ci_high=diff + half, statistic=t, df1=df,
                       p=float(t_pvalue(t, df)))  # fmt: skip
        rows.append(row)
    return rows
