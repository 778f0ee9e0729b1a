"""Effect sizes for group comparisons, each with its confidence interval where one is defined.

One family per module (pingouin's layout): the ANOVA-type ω², the Kruskal–Wallis ε², Hedges' g for two
groups, Cramér's V for contingency tables and the rank-biserial correlation for Mann–Whitney. Every function
returns a frozen :class:`EffectSize`; the ``*_from_*`` helpers take the sufficient statistics so that
:mod:`pipeline.stats.comparisons` can compute them from vectorised group sums without a second pass.

Confidence intervals invert a noncentral distribution at the *observed* test statistic (Steiger & Fouladi
1997; Steiger 2004): the noncentrality bounds ``λ_low, λ_high`` solve ``P(T ≤ t_obs; λ) = 1 − α/2`` and
``= α/2`` (a bound is 0 when the observed statistic is too small for a positive root), and are then mapped
onto the effect scale. Intervals are two-sided; R ``effectsize`` 0.8.3 defaults to one-sided ones
(``alternative = "greater"``), so compare with ``alternative = "two.sided"``: Hedges' g and Cramér's V
(``adjust = FALSE``) then agree with it; ω² does not, because effectsize maps a different statistic onto a
different scale (see :func:`omega_squared_from_sums`).

All functions here are unweighted (each row counts once). Weighted comparisons go through
:class:`pipeline.stats.design.SurveyDesign`; sampling weights are not frequency weights and must not be
passed as repeat counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, special
from scipy import stats as st

from pipeline.errors import DataError
from pipeline.stats.inference import ConfidenceInterval


@dataclass(frozen=True)
class EffectSize:
    """An effect size with its confidence interval.

    Attributes
    ----------
    name : str
        ``"omega_squared"``, ``"epsilon_squared"``, ``"hedges_g"``, ``"cramers_v"`` or ``"rank_biserial"``.
    estimate : float
        Point estimate at full precision (ω² may be negative; it is not truncated).
    ci_low, ci_high : float
        Confidence bounds; NaN where no interval is defined (ε², rank-biserial).
    confidence_level : float
        Coverage of ``[ci_low, ci_high]``.
    method : str
        How the interval was obtained (human-readable, English).
    """

    name: str
    estimate: float
    ci_low: float
    ci_high: float
    confidence_level: float
    method: str

    def confidence_interval(self) -> ConfidenceInterval:
        """``ConfidenceInterval(ci_low, ci_high)`` at ``confidence_level``."""
        return ConfidenceInterval(self.ci_low, self.ci_high)


def _check_level(confidence_level: float) -> None:
    if not 0 < confidence_level < 1:
        raise DataError(f"confidence_level must lie in (0, 1), got {confidence_level!r}")


def _inside(x: float, *params: float) -> bool:
    """``x`` inside (0, ∞) and every parameter finite and > 0 (a noncentrality ≥ 0): the case in which
    scipy's ``rv_continuous.cdf`` returns exactly its ``_cdf`` ufunc, so the ufunc may be called directly
    (scipy's argument handling costs ~20x the ufunc per scalar call, and root searches call it often)."""
    *dfs, lam = params
    return 0 < x < math.inf and all(0 < d < math.inf for d in dfs) and 0 <= lam < math.inf


def _ncx2_cdf(x: float, df: float, lam: float) -> float:
    """Noncentral chi-square cdf; scipy returns NaN at very large noncentrality (λ in the thousands, as with
    a million respondents), where the normal approximation with the exact mean k + λ and variance
    2(k + 2λ) is accurate to O(λ^-1/2). Inside the support: scipy's own ufuncs (``chdtr``/``chndtr``, what
    ``chi2.cdf``/``ncx2.cdf`` evaluate), else scipy's distribution objects."""
    if _inside(x, df, lam):
        value = special.chdtr(df, x) if lam == 0 else special.chndtr(x, df, lam)
    else:
        value = st.chi2.cdf(x, df) if lam == 0 else st.ncx2.cdf(x, df, lam)
    if np.isfinite(value):
        return float(value)
    return float(st.norm.cdf((x - (df + lam)) / math.sqrt(2 * (df + 2 * lam))))


def _ncf_cdf(x: float, df1: float, df2: float, lam: float) -> float:
    """Noncentral F cdf with the same large-λ fallback: a normal with the exact mean and variance of the
    noncentral F (Johnson, Kotz & Balakrishnan 1995, ch. 30), or of df1·F's chi-square limit when df2 ≤ 4.
    Inside the support: scipy's ufuncs ``fdtr``/``ncfdtr`` directly, as :func:`_ncx2_cdf`."""
    if _inside(x, df1, df2, lam):
        value = special.fdtr(df1, df2, x) if lam == 0 else special.ncfdtr(df1, df2, lam, x)
    else:
        value = st.f.cdf(x, df1, df2) if lam == 0 else st.ncf.cdf(x, df1, df2, lam)
    if np.isfinite(value):
        return float(value)
    if df2 <= 4:
        return _ncx2_cdf(df1 * x, df1, lam)
    mean = df2 * (df1 + lam) / (df1 * (df2 - 2))
    var = (
        2 * (df2 / df1) ** 2 * ((df1 + lam) ** 2 + (df1 + 2 * lam) * (df2 - 2)) / ((df2 - 2) ** 2 * (df2 - 4))
    )
    return float(st.norm.cdf((x - mean) / math.sqrt(var)))


def _ncp_bound(cdf, observed: float, target: float) -> float:
    """Noncentrality λ ≥ 0 with ``cdf(observed, λ) = target``; 0 if ``cdf(observed, 0) < target``.

    The cdf decreases in λ for the noncentral F and chi-square, so the root is bracketed by doubling.
    """
    if not np.isfinite(observed) or cdf(observed, 0.0) < target:
        return 0.0
    hi = max(10.0, 2.0 * observed)
    while cdf(observed, hi) > target:
        hi *= 2.0
        if hi > 1e8:
            return math.inf
    return optimize.brentq(lambda lam: cdf(observed, lam) - target, 0.0, hi, xtol=1e-12, rtol=1e-13)


def _group_values(data: pd.DataFrame, dv: str, between: str) -> list[np.ndarray]:
    for col in (dv, between):
        if col not in data.columns:
            raise DataError(f"column {col!r} not found in the data", None)
    frame = data[[dv, between]].dropna()
    values = pd.to_numeric(frame[dv], errors="coerce")
    if values.isna().any():
        raise DataError(f"column {dv!r} must be numeric")
    return [g.to_numpy(dtype=float) for _, g in values.groupby(frame[between], sort=True, observed=True)]


# --- ω² (classical one-way ANOVA) ---------------------------------------------------------------------------


def omega_squared_from_sums(
    *, ss_between: float, ss_within: float, n: int, k: int, confidence_level: float = 0.95
) -> EffectSize:
    """ω² from the classical one-way ANOVA sums of squares, CI by noncentral-F inversion (Steiger 2004).

    Formula (Hays 1963; Olejnik & Algina 2003)::

        ω² = (SS_b − (k − 1)·MS_w) / (SS_t + MS_w),   MS_w = SS_w / (n − k),   SS_t = SS_b + SS_w

    Interval: Steiger's (2004, eq. 16) noncentrality interval. The bounds ``λ_low, λ_high`` of the
    noncentrality of the *observed* classical ``F = MS_b / MS_w`` on (k − 1, n − k) df solve
    ``P(F ≤ F_obs; λ_low) = 1 − α/2`` and ``P(F ≤ F_obs; λ_high) = α/2`` (0 when ``F_obs`` is too small), and
    each maps to ``ω² = λ / (λ + n)``: the population ω² is ``f² / (1 + f²)`` and ``λ = n f²``. This is MBESS's
    ``conf.limits.ncf`` followed by ``convert.ncf.to.omegasq(λ, N) = λ / (λ + N)``. Why this one: it is the
    interval for the population ω² that the point estimate estimates, from the sampling distribution of the F
    actually observed.

    It is *not* R ``effectsize``'s interval (0.8.3, ``omega_squared(aov(y ~ g), alternative =
    "two.sided")``): effectsize ("based on MBESS::ci.R2") first turns the estimate back into a pseudo
    ``F* = (ω̂²/(k − 1)) / ((1 − ω̂²)/(n − k))``, inverts the noncentral F at ``F*`` (smaller than ``F_obs``)
    and maps each bound with the η² formula ``λ / (λ + n − k)``; its interval is lower and narrower. On
    ``tests/reference/compare/compare_data.csv``, ``y ~ unit`` (the example below): ours [0.0287, 0.1782],
    effectsize's [0.0012, 0.1314].

    We report the classical ω² next to Welch's F as well: ω² describes the share of variance explained,
    which does not depend on which test is used; Welch's F only changes the test. Unweighted. Missing values:
    none here (sums are given).

    Raises
    ------
    DataError
        ``k < 2``, ``n ≤ k``, or a confidence level outside (0, 1).

    References
    ----------
    Steiger, J. H. (2004). Beyond the F test: effect size confidence intervals and tests of close fit in the
    analysis of variance and contrast analysis. *Psychol. Methods* 9, 164–182 (eq. 16).

    Examples
    --------
    The sums of ``aov(y ~ unit)`` on ``tests/reference/compare/compare_data.csv`` (240 rows, 12 units):

    >>> e = omega_squared_from_sums(ss_between=4184.0068, ss_within=27013.23029, n=240, k=12)
    >>> round(e.estimate, 4), round(e.ci_low, 4), round(e.ci_high, 4)
    (0.092, 0.0287, 0.1782)

    R: ``F <- (4184.0068 / 11) / (27013.23029 / 228)``; ``uniroot(function(l) pf(F, 11, 228, l) - 0.975,
    c(0, 1000))`` and ``... - 0.025`` give λ with ``λ / (λ + 240)`` = 0.028705 and 0.178187.
    """
    _check_level(confidence_level)
    if k < 2 or n <= k:
        raise DataError(f"ω² needs at least 2 groups and more observations than groups (k={k}, n={n})")
    df1, df2 = k - 1, n - k
    ms_w = ss_within / df2
    estimate = (ss_between - df1 * ms_w) / (ss_between + ss_within + ms_w)
    f_obs = (ss_between / df1) / ms_w if ms_w > 0 else math.inf
    alpha = 1 - confidence_level

    def cdf(x: float, lam: float) -> float:
        return _ncf_cdf(x, df1, df2, lam)

    lo = _ncp_bound(cdf, f_obs, 1 - alpha / 2)
    hi = _ncp_bound(cdf, f_obs, alpha / 2)
    return EffectSize(
        "omega_squared",
        float(estimate),
        lo / (lo + n),
        hi / (hi + n) if np.isfinite(hi) else 1.0,
        confidence_level,
        "noncentral F inversion (classical ANOVA F), λ/(λ+n)",
    )


def omega_squared(data: pd.DataFrame, *, dv: str, between: str, confidence_level: float = 0.95) -> EffectSize:
    """ω² of a one-way layout (classical ANOVA formula), with noncentral-F confidence interval.

    Parameters
    ----------
    data : DataFrame
        One row per respondent. Rows with a missing ``dv`` or ``between`` are dropped.
    dv, between : str
        Numeric outcome and grouping column.
    confidence_level : float, default 0.95

    Returns
    -------
    EffectSize
        See :func:`omega_squared_from_sums` for the formula.

    Raises
    ------
    DataError
        A column is missing or ``dv`` is not numeric, or fewer than two groups remain.

    Examples
    --------
    Matches R: ``fit <- aov(y ~ g); s <- summary(fit)[[1]]; (SSb - dfb*MSw)/(SSt + MSw)`` and the CI
    from ``uniroot`` on ``pf(F, dfb, dfw, ncp)`` (``tests/reference/compare/make_reference.R``).
    """
    groups = _group_values(data, dv, between)
    n = sum(len(g) for g in groups)
    grand = np.concatenate(groups).mean() if n else math.nan
    ss_b = float(sum(len(g) * (g.mean() - grand) ** 2 for g in groups))
    ss_w = float(sum(((g - g.mean()) ** 2).sum() for g in groups))
    return omega_squared_from_sums(
        ss_between=ss_b, ss_within=ss_w, n=n, k=len(groups), confidence_level=confidence_level
    )


# --- ε² (Kruskal–Wallis) -------------------------------------------------------------------------------------


def epsilon_squared_from_h(h: float, n: int) -> EffectSize:
    """Kruskal–Wallis ε² = H / ((n² − 1)/(n + 1)) = H / (n − 1) (Tomczak & Tomczak 2014).

    ``H`` is the tie-corrected Kruskal–Wallis statistic (as R's ``kruskal.test``). This is the *rank* ε²,
    not the ANOVA ε² = (SS_b − (k−1)MS_w)/SS_t, which this package does not use. No analytic confidence
    interval exists; ``ci_low``/``ci_high`` are NaN.
    """
    if n < 2:
        raise DataError(f"ε² needs at least two observations (n={n})")
    return EffectSize(
        "epsilon_squared", float(h / ((n**2 - 1) / (n + 1))), math.nan, math.nan, math.nan, "no interval"
    )


def epsilon_squared(data: pd.DataFrame, *, dv: str, between: str) -> EffectSize:
    """Kruskal–Wallis ε² of ``dv`` across the groups of ``between`` (see :func:`epsilon_squared_from_h`).

    Rows with a missing value are dropped. Raises :class:`~pipeline.errors.DataError` for a missing or
    non-numeric column.

    Examples
    --------
    R: ``kruskal.test(y ~ g)$statistic / ((n^2 - 1) / (n + 1))``.
    """
    groups = _group_values(data, dv, between)
    if len(groups) < 2:
        raise DataError(f"column {between!r} has fewer than two groups with data")
    h = st.kruskal(*groups).statistic
    return epsilon_squared_from_h(float(h), sum(len(g) for g in groups))


# --- Hedges' g -----------------------------------------------------------------------------------------------


def _hedges_j(df: float) -> float:
    """Exact small-sample correction J(df) = Γ(df/2) / (√(df/2) Γ((df−1)/2)) (Hedges 1981)."""
    return math.exp(special.gammaln(df / 2) - 0.5 * math.log(df / 2) - special.gammaln((df - 1) / 2))


def _nct_cdf(t: np.ndarray, df: np.ndarray, delta: np.ndarray) -> np.ndarray:
    # scipy's nct.cdf returns NaN far in the tails; there the cdf is 0 (δ ≫ t) or 1 (δ ≪ t). With finite t,
    # df > 0 and δ (nct's support and arguments) nct.cdf is its ufunc nctdtr: called directly (faster)
    t, df, delta = np.broadcast_arrays(np.asarray(t, dtype=float), np.asarray(df, dtype=float), delta)
    if np.isfinite(t).all() and (df > 0).all() and np.isfinite(delta).all():
        value = special.nctdtr(df, delta, t)
    else:
        value = st.nct.cdf(t, df, delta)
    return np.where(np.isnan(value), np.where(delta > t, 0.0, 1.0), value)


def _nct_ncp_bound(t_obs: np.ndarray, df: np.ndarray, target: float) -> np.ndarray:
    """δ with ``P(T_ν(δ) ≤ t_obs) = target``, vectorised Illinois (regula falsi) on a bracketing interval."""
    step = 4.0 * np.sqrt(1 + t_obs**2 / (2 * df))  # ≈ 4 SE of the noncentrality
    lo, hi = t_obs - step, t_obs + step
    f_lo = _nct_cdf(t_obs, df, lo) - target
    f_hi = _nct_cdf(t_obs, df, hi) - target
    while (f_lo < 0).any() or (f_hi > 0).any():  # cdf decreases in δ: need f(lo) ≥ 0 ≥ f(hi)
        lo = np.where(f_lo < 0, lo - step, lo)
        hi = np.where(f_hi > 0, hi + step, hi)
        f_lo = _nct_cdf(t_obs, df, lo) - target
        f_hi = _nct_cdf(t_obs, df, hi) - target
    for _ in range(200):
        mid = hi - f_hi * (hi - lo) / (f_hi - f_lo)
        mid = np.where(np.isfinite(mid), mid, (lo + hi) / 2)
        f_mid = _nct_cdf(t_obs, df, mid) - target
        flip = np.sign(f_mid) != np.sign(f_hi)
        lo = np.where(flip, hi, lo)
        f_lo = np.where(flip, f_hi, f_lo / 2)
        hi, f_hi = mid, f_mid
        if np.all((np.abs(hi - lo) < 1e-12 * (1 + np.abs(hi))) | (np.abs(f_mid) < 1e-15)):
            break
    return hi


def _hedges_g_arrays(mean_x, mean_y, var_x, var_y, n_x, n_y, *, confidence_level: float = 0.95):
    """Vectorised Hedges' g and its noncentral-t CI for many pairs at once (see :func:`hedges_g_from_moments`).

    Returns ``(g, ci_low, ci_high)`` arrays; NaN where a pair has n < 2 in a group or zero pooled variance.
    Used by Games–Howell tables and :func:`~pipeline.stats.comparisons.unit_vs_peers`, where one scalar root
    search per pair would dominate the run time.
    """
    _check_level(confidence_level)
    mean_x, mean_y, var_x, var_y, n_x, n_y = np.broadcast_arrays(
        *(np.asarray(a, dtype=float) for a in (mean_x, mean_y, var_x, var_y, n_x, n_y))
    )
    df = n_x + n_y - 2
    with np.errstate(invalid="ignore", divide="ignore"):
        sp = np.sqrt(((n_x - 1) * var_x + (n_y - 1) * var_y) / df)
        d = (mean_x - mean_y) / sp
        scale = np.sqrt(1 / n_x + 1 / n_y)
    ok = (n_x >= 2) & (n_y >= 2) & (sp > 0) & np.isfinite(d)
    g = np.full(d.shape, np.nan)
    lo, hi = g.copy(), g.copy()
    if ok.any():
        j = np.exp(special.gammaln(df[ok] / 2) - 0.5 * np.log(df[ok] / 2) - special.gammaln((df[ok] - 1) / 2))
        t_obs = d[ok] / scale[ok]
        alpha = 1 - confidence_level
        g[ok] = j * d[ok]
        lo[ok] = j * _nct_ncp_bound(t_obs, df[ok], 1 - alpha / 2) * scale[ok]
        hi[ok] = j * _nct_ncp_bound(t_obs, df[ok], alpha / 2) * scale[ok]
    return g, lo, hi


def hedges_g_from_moments(
    mean_x: float,
    mean_y: float,
    var_x: float,
    var_y: float,
    n_x: int,
    n_y: int,
    *,
    confidence_level: float = 0.95,
) -> EffectSize:
    """Hedges' g of x minus y from group moments, CI by noncentral-t inversion.

    Formula::

        d = (x̄ − ȳ) / s_p,   s_p² = ((n_x−1)s_x² + (n_y−1)s_y²) / (n_x+n_y−2)
        g = J·d,             J = Γ(ν/2) / (√(ν/2) Γ((ν−1)/2)),   ν = n_x + n_y − 2

    CI: t = d / √(1/n_x + 1/n_y); the noncentralities δ with ``P(T_ν(δ) ≤ t) = 1 − α/2`` and ``α/2`` give
    the bounds J·δ·√(1/n_x + 1/n_y) (Steiger & Fouladi 1997; R ``effectsize`` 0.8.3 ``hedges_g(x, y,
    alternative = "two.sided")`` agrees to ~1e-6).
    The pooled SD is used even when the test is Welch's t: g is a standardised difference, not a test.
    Zero pooled variance gives NaN.

    Raises
    ------
    DataError
        A group with fewer than two observations, or a confidence level outside (0, 1).
    """
    _check_level(confidence_level)
    if n_x < 2 or n_y < 2:
        raise DataError(f"Hedges' g needs at least two observations per group (n={n_x}, {n_y})")
    g, lo, hi = _hedges_g_arrays(mean_x, mean_y, var_x, var_y, n_x, n_y, confidence_level=confidence_level)
    return EffectSize(
        "hedges_g", float(g), float(lo), float(hi), confidence_level, "noncentral t inversion, times J"
    )


def hedges_g(x, y, *, confidence_level: float = 0.95) -> EffectSize:
    """Hedges' g (bias-corrected standardised mean difference x − y) with noncentral-t CI.

    Parameters
    ----------
    x, y : array-like
        The two samples; NaN are dropped.
    confidence_level : float, default 0.95

    Raises
    ------
    DataError
        A sample has fewer than two finite values.

    Examples
    --------
    Matches the ``hedges()`` function in ``tests/reference/compare/make_reference.R`` (R, ``uniroot`` on
    ``pt(t, df, ncp)``) to 1e-6.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    x, y = x[np.isfinite(x)], y[np.isfinite(y)]
    if len(x) < 2 or len(y) < 2:
        raise DataError(f"Hedges' g needs at least two values per sample (got {len(x)} and {len(y)})")
    return hedges_g_from_moments(
        x.mean(), y.mean(), x.var(ddof=1), y.var(ddof=1), len(x), len(y), confidence_level=confidence_level
    )


# --- Cramér's V ----------------------------------------------------------------------------------------------


def cramers_v_from_chi2(
    chi2: float, *, n: int, n_rows: int, n_cols: int, confidence_level: float = 0.95
) -> EffectSize:
    """Cramér's V = √(χ² / (n·(min(r, c) − 1))) from the Pearson χ² (no Yates correction, no bias correction).

    CI: noncentral chi-square inversion on df = (r−1)(c−1); each bound λ maps to √(λ / (n·(min(r,c)−1)))
    (as R ``effectsize`` 0.8.3 ``cramers_v(table, adjust = FALSE, alternative = "two.sided")``; its defaults
    are the bias-corrected V and a one-sided interval).
    """
    _check_level(confidence_level)
    m = min(n_rows, n_cols) - 1
    if m < 1 or n < 1:
        raise DataError(
            f"Cramér's V needs a table with at least 2 rows and 2 columns (got {n_rows}×{n_cols})"
        )
    df = (n_rows - 1) * (n_cols - 1)
    alpha = 1 - confidence_level

    def cdf(x: float, lam: float) -> float:
        return _ncx2_cdf(x, df, lam)

    lo = _ncp_bound(cdf, chi2, 1 - alpha / 2)
    hi = _ncp_bound(cdf, chi2, alpha / 2)
    return EffectSize(
        "cramers_v",
        math.sqrt(chi2 / (n * m)),
        math.sqrt(lo / (n * m)),
        min(1.0, math.sqrt(hi / (n * m))),
        confidence_level,
        "noncentral chi-square inversion",
    )


def cramers_v(data: pd.DataFrame, *, x: str, y: str, confidence_level: float = 0.95) -> EffectSize:
    """Cramér's V of the cross-table of ``x`` and ``y`` (rows with a missing value dropped).

    See :func:`cramers_v_from_chi2` for formula and interval.

    Examples
    --------
    R: ``cs <- chisq.test(table(x, y), correct = FALSE); sqrt(cs$statistic / (n * (min(dim) - 1)))``.
    """
    for col in (x, y):
        if col not in data.columns:
            raise DataError(f"column {col!r} not found in the data")
    table = pd.crosstab(data[x], data[y])
    if min(table.shape) < 2:
        raise DataError(f"columns {x!r} and {y!r} need at least two observed categories each")
    chi2 = st.chi2_contingency(table.to_numpy(), correction=False).statistic
    return cramers_v_from_chi2(
        float(chi2),
        n=int(table.to_numpy().sum()),
        n_rows=table.shape[0],
        n_cols=table.shape[1],
        confidence_level=confidence_level,
    )


# --- rank-biserial -------------------------------------------------------------------------------------------


def rank_biserial_from_u(u_x: float, n_x: int, n_y: int) -> EffectSize:
    """Rank-biserial correlation r = 2·U_x/(n_x·n_y) − 1 (Kerby 2014); positive when x tends to be larger.

    ``U_x`` is the Mann–Whitney U of sample x (R ``wilcox.test(x, y)$statistic``). No interval (NaN).
    """
    return EffectSize("rank_biserial", 2 * u_x / (n_x * n_y) - 1, math.nan, math.nan, math.nan, "no interval")
