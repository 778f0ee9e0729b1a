"""Internal-consistency reliability of a multi-item scale: Cronbach's alpha, McDonald's omega, item analysis.

One family of statistics per module (the pattern of ``pingouin.reliability``). Every number here was checked
against R: ``psych::alpha`` (alpha, standardized alpha, Guttman's lambda 6, average r, alpha if deleted,
corrected item-total r, Feldt and Duhachek intervals), ``psych::omega(x, nfactors = 1)`` (omega total) and
``survey::svycralpha`` (alpha with sampling weights); see ``tests/reference/psych/make_reference.R``.

Conventions shared by all functions
-----------------------------------
* ``items`` is a respondents x items DataFrame of numeric codes (non-substantive codes such as 99 "不了解"
  must already be missing).
* Reverse-keyed items (``reverse=``) are reflected on the response scale, ``min + max - x``. The range comes
  from ``scale_range=(min, max)`` (the pipeline passes the codebook range); if it is not given, the observed
  minimum and maximum over all items of the scale are used (as ``psych::alpha`` does) and the result says so.
* Missing data: listwise deletion per scale (``missing="listwise"``): a respondent is used only if every item
  (and the weight) is present. The result states the ``n`` used and how many rows were dropped.
* Weights are *sampling* weights (inverse inclusion probabilities or calibrated/raked weights), not frequency
  weights: they change the estimate (as in ``survey::svycralpha``), and interval estimates use Kish's effective
  sample size ``n_eff = (sum w)^2 / sum w^2`` instead of ``n``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import special  # the F and normal quantiles scipy.stats would call, without importing scipy.stats

from pipeline.errors import DataError
from pipeline.stats._items import (
    PreparedItems,
    as_prepared,
    cov2cor,
    prepare_items,  # noqa: F401 (used by the doctests; imported from here by callers)
)
from pipeline.stats.descriptives import kish_n_eff
from pipeline.stats.inference import ConfidenceInterval

#: Item-analysis thresholds (defaults of the keyword arguments of :func:`item_analysis`).
ALPHA_MIN = 0.70
R_DROP_MIN = 0.30
ALPHA_GAIN_MAX = 0.02

_CI_METHODS = ("feldt", "bootstrap", "duhachek")


# --------------------------------------------------------------------------------------------- results
@dataclass(frozen=True)
class AlphaResult:
    """Cronbach's alpha of one scale, with interval and companion coefficients (full precision).

    Attributes
    ----------
    alpha : float
        Raw alpha, ``k/(k-1) * (1 - sum(diag C) / sum(C))`` from the (weighted) covariance matrix ``C``.
    alpha_std : float
        Standardized alpha, the same formula on the correlation matrix ``R``.
    ci_low, ci_high : float
        Confidence interval for raw alpha at ``confidence_level`` by ``ci_method``.
    ci_method : str
        ``"feldt"``, ``"bootstrap"`` (percentile) or ``"duhachek"`` (asymptotic normal).
    confidence_level : float
    se : float
        Asymptotic standard error of alpha (Duhachek & Iacobucci 2004; ``ase`` in ``psych::alpha``).
    lambda6 : float
        Guttman's lambda 6, ``1 - (k - sum smc) / sum(R)``, as ``G6(smc)`` in ``psych::alpha``.
    average_r : float
        Mean inter-item correlation.
    n : int
        Respondents used (after listwise deletion).
    n_dropped : int
        Respondents dropped because an item (or the weight) was missing.
    k : int
        Number of items.
    weighted : bool
        Whether sampling weights were applied.
    alpha_unweighted : float
        Raw alpha of the same respondents without weights, to report beside the weighted one (equals
        ``alpha`` when unweighted).
    n_eff : float
        Kish effective sample size used for the interval (equals ``n`` when unweighted).
    missing : str
        Missing-data rule applied (``"listwise"``).
    scale_range : tuple of float or None
        Response range used to reflect reverse-keyed items (None if no item was reversed).
    notes : tuple of str
        Plain statements about choices made on the caller's behalf (e.g. a range taken from the data).
    """

    alpha: float
    alpha_std: float
    ci_low: float
    ci_high: float
    ci_method: str
    confidence_level: float
    se: float
    lambda6: float
    average_r: float
    n: int
    n_dropped: int
    k: int
    weighted: bool
    alpha_unweighted: float
    n_eff: float
    missing: str = "listwise"
    scale_range: tuple[float, float] | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    def confidence_interval(self) -> ConfidenceInterval:
        """``ConfidenceInterval(ci_low, ci_high)`` at ``confidence_level``."""
        return ConfidenceInterval(self.ci_low, self.ci_high)


@dataclass(frozen=True)
class OmegaResult:
    """McDonald's omega total from a one-factor minres model (as ``psych::omega(x, nfactors = 1)``).

    Attributes
    ----------
    omega_total : float
        ``(V_t - sum u2) / V_t`` with ``V_t`` the sum of the sign-aligned correlation matrix and ``u2`` the
        uniquenesses ``1 - lambda^2``.
    loadings : pandas.Series
        One-factor minres loadings, indexed by item, signed so that their sum is positive.
    uniquenesses : pandas.Series
    n, n_dropped, k : int
    missing : str
    scale_range : tuple of float or None
    notes : tuple of str
    """

    omega_total: float
    loadings: pd.Series
    uniquenesses: pd.Series
    n: int
    n_dropped: int
    k: int
    missing: str = "listwise"
    scale_range: tuple[float, float] | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)


# --------------------------------------------------------------------------------------------- core
def _kish(w: np.ndarray | None, n: int) -> float:
    return float(n) if w is None else kish_n_eff(w)


def _alpha_from_cov(c: np.ndarray) -> float:
    k = c.shape[0]
    return k / (k - 1) * (1.0 - np.trace(c) / c.sum())


def _smc(r: np.ndarray) -> np.ndarray:
    """Squared multiple correlations ``1 - 1/diag(R^-1)`` (pseudo-inverse like ``psych::smc``)."""
    return 1.0 - 1.0 / np.diag(np.linalg.pinv(r))


def _duhachek_q(c: np.ndarray) -> float:
    """Duhachek & Iacobucci (2004) asymptotic variance factor Q; ``se = sqrt(Q / n)`` (psych::alpha)."""
    k = c.shape[0]
    s, tr = c.sum(), np.trace(c)
    cc = c @ c
    return (2 * k**2 / ((k - 1) ** 2 * s**3)) * (s * (np.trace(cc) + tr**2) - 2 * tr * cc.sum())


def _feldt(alpha: float, n: float, k: int, level: float) -> tuple[float, float]:
    """Feldt (1965) interval: (1 - alpha)/(1 - alpha_hat) ~ F(n-1, (n-1)(k-1)) (psych::alpha.ci)."""
    a = 1 - level
    df1, df2 = n - 1, (n - 1) * (k - 1)
    low = 1 - (1 - alpha) * special.fdtri(df1, df2, 1 - a / 2)  # = scipy.stats.f.ppf(1 - a / 2, df1, df2)
    high = 1 - (1 - alpha) * special.fdtri(df1, df2, a / 2)
    return float(low), float(high)


#: Draws per block of bootstrap replicates: the block's draws and counts (8 bytes each) stay in the CPU's caches.
#: Larger blocks stream them through memory instead: at 37,000 respondents, 2,000 replicates took ~2x as long
#: with 20 million cells per block than with about a million.
_BOOT_CELLS = 1 << 20


def _bootstrap_many(
    x: np.ndarray, weights: Sequence[np.ndarray | None], n_boot: int, level: float, seed: int
) -> list[tuple[float, float]]:
    """Percentile bootstrap intervals of alpha for each weighting of the same rows, from one set of draws.

    Resampling rows is the same as multiplying each respondent's weight by its multinomial count, and alpha
    depends on the (weighted) covariance only through a ratio, so the divisor cancels. Each replicate's alpha
    therefore needs only five weighted sums: of the weights, the items, the squared items, the total and the
    squared total. They are computed for a block of replicates at once as one matrix product (counts x
    weighted data), instead of one covariance matrix per replicate in a Python loop. Every weighting in
    ``weights`` (None: unweighted) gets its five sums from the same counts, so the draws -- most of the cost --
    are made once; each interval equals that of a call with its weighting alone (same seed, same draws).
    """
    rng = np.random.default_rng(seed)
    n, k = x.shape
    total = x.sum(axis=1)
    data = np.column_stack([x, np.square(x).sum(axis=1), total, np.square(total), np.ones(n)])
    width = k + 4
    data = np.hstack([data if w is None else data * np.asarray(w, dtype=float)[:, None] for w in weights])
    stats = np.empty((len(weights), n_boot))
    block = max(1, min(n_boot, _BOOT_CELLS // max(n, 1)))
    offsets = np.arange(block) * n
    for start in range(0, n_boot, block):
        size = min(block, n_boot - start)
        # n draws with replacement per replicate, counted per respondent (a multinomial(n, 1/n) vector)
        draws = rng.integers(0, n, size=(size, n))
        draws += offsets[:size, None]
        all_sums = np.bincount(draws.ravel(), minlength=size * n).reshape(size, n) @ data
        for m in range(len(weights)):
            sums = all_sums[:, m * width : (m + 1) * width]
            sums = sums[:, :-1] / sums[:, -1:]
            means = sums[:, :k]
            item_var = sums[:, k] - np.square(means).sum(axis=1)
            total_var = sums[:, k + 2] - np.square(sums[:, k + 1])
            stats[m, start : start + size] = k / (k - 1) * (1 - item_var / total_var)
    a = 1 - level
    return [tuple(float(q) for q in np.quantile(row, [a / 2, 1 - a / 2])) for row in stats]


def bootstrap_intervals(
    prepared: Sequence[PreparedItems], *, confidence_level: float = 0.95, n_boot: int = 2000, seed: int = 0
) -> list[ConfidenceInterval]:
    """The ``ci="bootstrap"`` interval of :func:`cronbach_alpha` for each of several prepared scales.

    Scales prepared from the same complete cases (e.g. unweighted and ``with_weights``, which share them when
    every case has a weight) are resampled from one set of draws: each interval equals
    ``cronbach_alpha(p, ci="bootstrap", ...)`` for that ``p`` (tested), at about the cost of one.

    Examples
    --------
    >>> import pandas as pd
    >>> x = pd.DataFrame({"a": [1, 2, 3, 4, 5, 3], "b": [2, 2, 3, 5, 4, 3], "c": [4, 3, 3, 2, 1, 2]})
    >>> p = prepare_items(x, reverse=["c"], scale_range=(1, 5))
    >>> pw = p.with_weights([1, 2, 1, 1, 2, 1])
    >>> both = bootstrap_intervals([p, pw], n_boot=200, seed=1)
    >>> import numpy as np
    >>> alone = cronbach_alpha(pw, ci="bootstrap", n_boot=200, seed=1).confidence_interval()
    >>> bool(np.allclose(both[1], alone, rtol=0, atol=1e-12))
    True
    """
    _check_level(confidence_level)
    out: list[ConfidenceInterval | None] = [None] * len(prepared)
    groups: dict[int, list[int]] = {}
    for i, p in enumerate(prepared):
        groups.setdefault(id(p.x), []).append(i)
    for members in groups.values():
        x = prepared[members[0]].x
        found = _bootstrap_many(x, [prepared[i].w for i in members], n_boot, confidence_level, seed)
        for i, (low, high) in zip(members, found, strict=True):
            out[i] = ConfidenceInterval(low, high)
    return out  # type: ignore[return-value]


def _check_level(confidence_level: float) -> None:
    if not 0 < confidence_level < 1:
        raise DataError(f"confidence_level must lie strictly between 0 and 1, got {confidence_level!r}")


# --------------------------------------------------------------------------------------------- public
def cronbach_alpha(
    items: pd.DataFrame | PreparedItems,
    *,
    reverse: Sequence[str] = (),
    scale_range: tuple[float, float] | None = None,
    weights=None,
    ci: str = "feldt",
    confidence_level: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
    missing: str = "listwise",
) -> AlphaResult:
    r"""Cronbach's alpha (raw and standardized), Guttman's lambda 6 and a confidence interval.

    .. math::

        \alpha = \frac{k}{k-1}\Bigl(1 - \frac{\sum_j s_j^2}{s_T^2}\Bigr), \qquad
        \alpha_{std} = \frac{k \bar r}{1 + (k-1)\bar r}, \qquad
        \lambda_6 = 1 - \frac{\sum_j (1 - \mathrm{smc}_j)}{\sum_{jl} r_{jl}}

    with item variances :math:`s_j^2`, total-score variance :math:`s_T^2` (the sum of the covariance matrix)
    and squared multiple correlations :math:`\mathrm{smc}_j`.

    Parameters
    ----------
    items : pandas.DataFrame or PreparedItems
        Respondents x items, numeric codes; non-substantive codes (e.g. 99) must be missing already. Or the
        same prepared by :func:`prepare_items` (with its reverse items, range and weights; then leave
        ``reverse``, ``scale_range``, ``weights`` and ``missing`` out), to share the work between statistics.
    reverse : sequence of str
        Reverse-keyed item columns, reflected as ``min + max - x`` on ``scale_range``.
    scale_range : (float, float), optional
        Response range, e.g. ``(1, 5)``. Values outside it raise. If omitted, the observed range is used
        for reflection and a note says so.
    weights : array-like or pandas.Series, optional
        Sampling weights (not frequency weights), one per row of ``items``. The weighted alpha equals
        ``survey::svycralpha`` for a design with these weights; the standardized alpha, lambda 6 and average
        r use the weighted correlation matrix; intervals use Kish's effective sample size.
    ci : {"feldt", "bootstrap", "duhachek"}
        Feldt's F interval (``psych::alpha.ci``), percentile bootstrap over respondents (seeded), or the
        asymptotic normal interval ``alpha +- z * se`` of Duhachek & Iacobucci (2004). ``psych::alpha``
        prints the latter with z = 1.96; here z is the exact normal quantile.
    confidence_level : float
    n_boot, seed : int
        Bootstrap replicates and seed (``numpy.random.default_rng(seed)``); used only with ``ci="bootstrap"``.
    missing : {"listwise"}
        Respondents with any missing item (or weight) are dropped for this scale; ``n``/``n_dropped`` say how
        many were used/dropped. (``psych::alpha`` uses pairwise covariances instead; on complete data they agree.)

    Returns
    -------
    AlphaResult

    Raises
    ------
    DataError
        Fewer than two items; a non-numeric or constant item column (named); a value outside ``scale_range``
        (column named); an unknown reverse item; bad weights; fewer than 3 complete rows; unknown ``ci``;
        ``reverse``/``scale_range``/``weights`` given again with prepared items.

    References
    ----------
    Cronbach (1951) Psychometrika 16:297. Feldt (1965) Psychometrika 30:357. Duhachek & Iacobucci (2004)
    J Appl Psychol 89:792. Guttman (1945) Psychometrika 10:255. Revelle, psych::alpha.

    Examples
    --------
    >>> import pandas as pd
    >>> x = pd.DataFrame({"a": [1, 2, 3, 4, 5, 3], "b": [2, 2, 3, 5, 4, 3], "c": [5, 4, 3, 2, 1, 2]})
    >>> res = cronbach_alpha(x, reverse=["c"], scale_range=(1, 5))
    >>> round(res.alpha, 4)  # R: psych::alpha(data.frame(a, b, c = 6 - c))$total$raw_alpha
    0.9491
    """
    if ci not in _CI_METHODS:
        raise DataError(f"ci={ci!r} is not one of {', '.join(_CI_METHODS)}")
    _check_level(confidence_level)
    p = as_prepared(items, reverse=reverse, scale_range=scale_range, weights=weights, missing=missing)
    n, k = p.x.shape
    c = p.cov
    r = cov2cor(c)
    alpha = float(_alpha_from_cov(c))
    sum_r = r.sum()
    alpha_std = float(k / (k - 1) * (1 - k / sum_r))
    lambda6 = float(1 - (k - _smc(r).sum()) / sum_r)
    average_r = float((sum_r - k) / (k * (k - 1)))
    n_eff = _kish(p.w, n)
    se = float(np.sqrt(_duhachek_q(c) / n_eff))
    if ci == "feldt":
        low, high = _feldt(alpha, n_eff, k, confidence_level)
    elif ci == "duhachek":
        z = special.ndtri(1 - (1 - confidence_level) / 2)  # = scipy.stats.norm.ppf
        low, high = alpha - z * se, alpha + z * se
    else:
        low, high = _bootstrap_many(p.x, [p.w], n_boot, confidence_level, seed)[0]
    return AlphaResult(
        alpha=alpha,
        alpha_std=alpha_std,
        ci_low=float(low),
        ci_high=float(high),
        ci_method=ci,
        confidence_level=confidence_level,
        se=se,
        lambda6=lambda6,
        average_r=average_r,
        n=n,
        n_dropped=p.n_dropped,
        k=k,
        weighted=p.w is not None,
        alpha_unweighted=alpha if p.w is None else float(_alpha_from_cov(p.cov_unweighted)),
        n_eff=n_eff,
        missing=missing,
        scale_range=p.scale_range,
        notes=p.notes,
    )


def _minres(r: np.ndarray, n_factors: int, *, tol: float = 1e-12, max_iter: int = 10_000) -> np.ndarray:
    """Minimum-residual (minres / ULS) factor loadings of a correlation matrix, as ``psych::fa(fm="minres")``.

    Hand-written on purpose: factor_analyzer 0.5.1's ``FactorAnalyzer.fit`` fails with scikit-learn >= 1.6
    (``check_array(force_all_finite=...)`` was removed), and its objective also sums the diagonal residuals,
    unlike psych, which minimises the off-diagonal (lower-triangle) residuals. Minimising the off-diagonal
    residuals leaves the diagonal fitted exactly, so the solution is the fixed point
    ``psi = 1 - diag(L L')`` with ``L`` the leading eigenpairs of ``R - diag(psi)``. We start from the SMCs
    (as psych), take a few L-BFGS-B steps on psych's objective with bounds [0.005, 1], then iterate the fixed
    point to ``tol``: psych stops its optimiser earlier, so our solution is the more precise of the two
    (they agree to ~1e-5 in loadings).
    """
    from scipy.optimize import minimize

    p = r.shape[0]
    lower = np.tril_indices(p, -1)

    def loadings(psi: np.ndarray) -> np.ndarray:
        s = r.copy()
        np.fill_diagonal(s, 1.0 - psi)
        val, vec = np.linalg.eigh(s)
        val, vec = val[::-1][:n_factors], vec[:, ::-1][:, :n_factors]
        return vec * np.sqrt(np.maximum(val, 0.0))

    def objective(psi: np.ndarray) -> float:
        lam = loadings(psi)
        return float(np.sum((r - lam @ lam.T)[lower] ** 2))

    def gradient(psi: np.ndarray) -> np.ndarray:  # psych's FAgr.minres
        lam = loadings(psi)
        return np.sum(lam**2, axis=1) + psi - 1.0

    start = np.clip(1.0 - _smc(r), 0.005, 1.0)
    res = minimize(objective, start, jac=gradient, method="L-BFGS-B", bounds=[(0.005, 1.0)] * p)
    psi = res.x
    for _ in range(max_iter):
        new = np.clip(1.0 - np.sum(loadings(psi) ** 2, axis=1), 0.005, 1.0)
        done = np.max(np.abs(new - psi)) < tol
        psi = new
        if done:
            break
    return loadings(psi)


def omega_total(
    items: pd.DataFrame | PreparedItems,
    *,
    reverse: Sequence[str] = (),
    scale_range: tuple[float, float] | None = None,
    missing: str = "listwise",
) -> OmegaResult:
    r"""McDonald's omega total from a one-factor minres model, as ``psych::omega(x, nfactors = 1)$omega.tot``.

    .. math::

        \omega_t = \frac{V_t - \sum_j u_j^2}{V_t}, \qquad u_j^2 = 1 - \lambda_j^2, \qquad
        V_t = \mathbf 1' D R D \mathbf 1

    where :math:`\lambda` are one-factor minres loadings of the Pearson correlation matrix :math:`R` and
    :math:`D` flips items whose loading is negative (psych's ``flip = TRUE``). What psych computes with
    ``nfactors = 1``: ``schmid()`` fits ``fa(R, 1, fm = "minres")`` and skips rotation ("Omega_h for 1 factor is
    not meaningful, just omega_t"); ``omega.tot`` uses the *observed* total variance :math:`V_t`, not the
    model-implied :math:`(\sum\lambda)^2 + \sum u^2`, so it differs slightly from the textbook
    :math:`(\sum\lambda)^2 / ((\sum\lambda)^2 + \sum u^2)`. Factor extraction is minres (psych's default);
    see :func:`_minres` for why it is hand-written.

    Parameters
    ----------
    items, reverse, scale_range, missing
        As in :func:`cronbach_alpha`. No weights: psych's omega has none either (prepared items must have
        been prepared without weights).

    Returns
    -------
    OmegaResult

    Raises
    ------
    DataError
        As :func:`cronbach_alpha`; also fewer than three items (one factor is not identified with two).

    References
    ----------
    McDonald (1999) Test theory: a unified treatment. Revelle & Zinbarg (2009) Psychometrika 74:145.

    Examples
    --------
    >>> import pandas as pd
    >>> x = pd.DataFrame({"a": [1, 2, 3, 4, 5, 3, 2], "b": [2, 2, 3, 5, 4, 3, 3],
    ...                   "c": [5, 4, 3, 2, 1, 2, 4], "d": [1, 3, 3, 4, 4, 2, 1]})
    >>> round(omega_total(x, reverse=["c"], scale_range=(1, 5)).omega_total, 6)
    0.943536

    R: ``psych::omega(data.frame(a, b, c = 6 - c, d), nfactors = 1)$omega.tot`` gives 0.9435358.
    """
    p = as_prepared(items, reverse=reverse, scale_range=scale_range, missing=missing, min_items=3)
    if p.w is not None:
        raise DataError("omega_total takes no weights (as psych::omega): prepare the items without weights")
    r = p.corr_unweighted
    lam = _minres(r, 1)[:, 0]
    key = np.where(lam < 0, -1.0, 1.0)
    lam = lam * key
    u2 = 1.0 - lam**2
    vt = float((r * np.outer(key, key)).sum())
    omega = (vt - u2.sum()) / vt
    return OmegaResult(
        omega_total=float(omega),
        loadings=pd.Series(lam, index=list(p.items), name="loading"),
        uniquenesses=pd.Series(u2, index=list(p.items), name="uniqueness"),
        n=p.x.shape[0],
        n_dropped=p.n_dropped,
        k=p.x.shape[1],
        missing=missing,
        scale_range=p.scale_range,
        notes=p.notes,
    )


def _weighted_mean_sd(v: np.ndarray, w: np.ndarray | None) -> tuple[float, float]:
    if w is None:
        return float(v.mean()), float(v.std(ddof=1))
    n = len(v)
    m = float(np.average(v, weights=w))
    var = float(np.average((v - m) ** 2, weights=w)) * n / (n - 1)
    return m, float(np.sqrt(var))


def item_analysis(
    items: pd.DataFrame | PreparedItems,
    *,
    reverse: Sequence[str] = (),
    scale_range: tuple[float, float] | None = None,
    weights=None,
    alpha_min: float = ALPHA_MIN,
    r_drop_min: float = R_DROP_MIN,
    alpha_gain_max: float = ALPHA_GAIN_MAX,
    missing: str = "listwise",
) -> pd.DataFrame:
    r"""Per-item statistics of one scale with plain-language flags (one row per item, tidy).

    Columns
    -------
    item, reversed
        Item name and whether it was reflected (``min + max - x``).
    n
        Respondents used (the same complete cases for every item: listwise per scale).
    mean, sd
        On the keyed scale (after reflection); weighted if ``weights`` (sd with divisor n - 1).
    r_drop
        Corrected item-total correlation: item vs. the sum of the *other* items,
        :math:`\sum_{l\ne j} c_{jl} / \sqrt{c_{jj} \sum_{l,m\ne j} c_{lm}}` (``r.drop`` of ``psych::alpha``).
    r_cor
        Item-total correlation corrected for item overlap and reliability,
        :math:`\sum_l \tilde r_{jl} / \sqrt{\sum \tilde R}` with SMCs on the diagonal (``r.cor`` of psych).
    alpha_if_deleted
        Raw alpha of the remaining items: the same estimator as :func:`cronbach_alpha` (weighted if weights).
    scale_alpha
        The scale's alpha (repeated on every row, so the table stands alone).
    freq_<value>
        Share of each observed response value among the complete cases, *as answered* (before reflection),
        weighted if ``weights``; one wide column per value, e.g. ``freq_1`` ... ``freq_5``. When
        ``scale_range`` is given, every integer value in the range gets a column (zero if unused).
    flag_codes, flags
        Machine codes and Chinese reasons, each joined by ``";"`` / ``"；"`` (empty string if none):

        ============================ ======================================================
        ``scale_alpha_low``          scale alpha < ``alpha_min`` (.70), on every row
        ``r_drop_negative``          r_drop < 0: 可能反向计分错误 (possibly mis-keyed)
        ``r_drop_low``               0 <= r_drop < ``r_drop_min`` (.30)
        ``alpha_if_deleted_higher``  alpha_if_deleted - alpha > ``alpha_gain_max`` (.02)
        ============================ ======================================================

    Parameters
    ----------
    items, reverse, scale_range, weights, missing
        As in :func:`cronbach_alpha` (sampling weights, listwise deletion).
    alpha_min, r_drop_min, alpha_gain_max : float
        Flag thresholds.

    Raises
    ------
    DataError
        As :func:`cronbach_alpha`. A two-item scale is accepted; its ``alpha_if_deleted`` is NaN (one item
        has no alpha) and never flagged.

    Examples
    --------
    >>> import pandas as pd
    >>> x = pd.DataFrame({"a": [1, 2, 3, 4, 5, 3], "b": [2, 2, 3, 5, 4, 3], "c": [5, 4, 3, 2, 1, 2]})
    >>> item_analysis(x, scale_range=(1, 5)).loc[2, "flag_codes"]
    'scale_alpha_low;r_drop_negative;alpha_if_deleted_higher'
    """
    p = as_prepared(
        items, reverse=reverse, scale_range=scale_range, weights=weights, missing=missing, min_items=2
    )
    n, k = p.x.shape
    c = p.cov
    alpha = float(_alpha_from_cov(c))
    r = cov2cor(c)
    rc = r.copy()
    np.fill_diagonal(rc, _smc(r))
    r_cor = rc.sum(axis=0) / np.sqrt(rc.sum())
    total = c.sum()
    col = c.sum(axis=0)
    diag = np.diag(c)
    rest_var = total - 2 * col + diag  # variance of the sum of the other items
    r_drop = (col - diag) / np.sqrt(diag * rest_var)
    keep = ~np.eye(k, dtype=bool)
    alpha_del = (
        np.array([_alpha_from_cov(c[np.ix_(keep[j], keep[j])]) for j in range(k)])
        if k > 2
        else np.full(k, np.nan)
    )

    # response frequencies, as answered (per item: contiguous passes over the column-major answers)
    raw = p.raw
    wts = np.ones(n) if p.w is None else p.w
    lo_obs, hi_obs = float(p.observed_min.min()), float(p.observed_max.max())
    lo_i, hi_i = lo_obs, hi_obs
    if p.scale_range is not None:
        lo_i, hi_i = min(lo_i, p.scale_range[0]), max(hi_i, p.scale_range[1])
    if lo_i.is_integer() and hi_i.is_integer() and hi_i - lo_i <= 1000 and p.integer_codes:
        # integer codes: one bincount pass per item (counted, or weights summed), from the codes' offsets to
        # the lowest answer; values below it down to the range's minimum get zero rows in front
        size = int(hi_i - lo_i) + 1
        below = int(lo_obs - lo_i)
        offsets = p.code_offsets
        counts = np.column_stack(
            [
                np.bincount(offsets[:, j], weights=p.w, minlength=size - below)
                if p.w is not None
                else np.bincount(offsets[:, j], minlength=size - below)
                for j in range(k)
            ]
        )
        if below:
            counts = np.vstack([np.zeros((below, k), dtype=counts.dtype), counts])
        values = lo_i + np.arange(size)
        keep = counts.sum(axis=1) > 0
        if p.scale_range is not None:
            keep |= (values >= p.scale_range[0]) & (values <= p.scale_range[1])
        freq = {f"freq_{v:g}": counts[i] / wts.sum() for i, v in enumerate(values) if keep[i]}
    else:
        freq = {f"freq_{v:g}": (wts[:, None] * (raw == v)).sum(axis=0) / wts.sum() for v in np.unique(raw)}

    rows = []
    for j, name in enumerate(p.items):
        mean, sd = _weighted_mean_sd(p.x[:, j], p.w)
        codes: list[str] = []
        texts: list[str] = []
        if alpha < alpha_min:
            codes.append("scale_alpha_low")
            texts.append(f"量表α={alpha:.3f}，低于{alpha_min:.2f}，内部一致性不足")
        if r_drop[j] < 0:
            codes.append("r_drop_negative")
            texts.append(f"校正题总相关为负（{r_drop[j]:.3f}），可能反向计分错误")
        elif r_drop[j] < r_drop_min:
            codes.append("r_drop_low")
            texts.append(f"校正题总相关{r_drop[j]:.3f}，低于{r_drop_min:.2f}，与量表其他题目关联弱")
        gain = alpha_del[j] - alpha
        if gain > alpha_gain_max:
            codes.append("alpha_if_deleted_higher")
            texts.append(
                f"删除该题后α升至{alpha_del[j]:.3f}（提高{gain:.3f}，超过{alpha_gain_max:.2f}），建议复核或删除"
            )
        rows.append(
            {
                "item": name,
                "reversed": name in p.reversed_,
                "n": n,
                "mean": mean,
                "sd": sd,
                "r_drop": float(r_drop[j]),
                "r_cor": float(r_cor[j]),
                "alpha_if_deleted": float(alpha_del[j]),
                "scale_alpha": alpha,
                **{key: float(v[j]) for key, v in freq.items()},
                "flag_codes": ";".join(codes),
                "flags": "；".join(texts),
            }
        )
    return pd.DataFrame(rows)
