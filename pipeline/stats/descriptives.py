"""Weighted descriptive quantities shared across the pipeline: Kish's effective sample size, the weighted SD.

numpy only (no ``scipy.stats``), so the weighting stage can use it cheaply. Weights here are *sampling* weights
(inverse inclusion probabilities, raked weights), never frequency weights: they change the estimate, not the
number of respondents.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.errors import DataError


def _floats(values, what: str) -> np.ndarray:
    """``values`` as a float array (a Series' missing values as NaN)."""
    if isinstance(values, pd.Series):
        return values.to_numpy(dtype=float, na_value=np.nan)
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1:
        raise DataError(f"{what} must be one-dimensional (got shape {arr.shape})")
    return arr


def kish_n_eff(weights) -> float:
    """Kish effective sample size ``n_eff = (Σ w)² / Σ w²`` of a set of sampling weights.

    The number of respondents of an unweighted (simple random) sample with the same precision for a mean,
    under the design effect of unequal weighting alone: ``n_eff = n / deff_Kish``, ``deff_Kish = n Σw² / (Σw)²``.
    Equal weights give ``n``. Used for the small-group rule (:class:`~pipeline.stats.SmallGroupRule`) and
    for intervals of weighted statistics (e.g. :func:`~pipeline.stats.cronbach_alpha`).

    Parameters
    ----------
    weights : array-like or Series
        Sampling weights of the respondents counted (not frequency weights). Missing weights are not
        allowed: select the respondents first.

    Returns
    -------
    float
        ``(Σw)² / Σw²`` (sums in numpy's pairwise order: the same float as ``w.sum() ** 2 / (w ** 2).sum()``);
        0.0 for no respondents or all-zero weights.

    Raises
    ------
    DataError
        A weight is missing, infinite or negative, or the weights are not one-dimensional.

    References
    ----------
    Kish, L. (1965). *Survey Sampling*, sec. 11.7. Wiley.

    Examples
    --------
    >>> kish_n_eff([1.0, 2.0, 3.0, 4.0])
    3.3333333333333335

    R: ``w <- c(1, 2, 3, 4); sum(w)^2 / sum(w^2)`` gives 3.3333333333333335.
    """
    w = _floats(weights, "weights")
    if not np.isfinite(w).all() or (w < 0).any():
        raise DataError("weights: sampling weights must be finite and non-negative (missing found or < 0)")
    if w.size == 0 or not w.any():
        return 0.0
    return float(w.sum() ** 2 / np.square(w).sum())


def kish_n_eff_from_sums(sum_w, sum_w2):
    """:func:`kish_n_eff` from the sums it is made of, ``(Σw)² / Σw²``, element-wise for arrays of groups (the
    fast paths that sum weights per group with one ``bincount``); NaN (with no warning raised here) where
    ``Σw² = 0``.

    >>> kish_n_eff_from_sums(10.0, 30.0)
    3.3333333333333335
    """
    return sum_w**2 / sum_w2


def weighted_sd(values, weights, *, rows=None) -> float:
    """Weighted standard deviation with divisor ``Σw``: ``sqrt(Σ w (y − ȳ_w)² / Σ w)``, ``ȳ_w = Σ w y / Σ w``.

    The population-form (maximum-likelihood) SD of the weighted distribution, as
    ``statsmodels.stats.weightstats.DescrStatsW(y, weights=w).std`` (``ddof=0``); no ``n / (n − 1)`` factor
    (``survey::svyvar`` has one). It is the scale for standardized weighted differences (difference / SD).

    Parameters
    ----------
    values : array-like or Series
        The outcome, one value per respondent. Missing values (NaN) are left out with their weights.
    weights : array-like
        Sampling weights, same length as ``values`` (not frequency weights).
    rows : array-like of bool, optional
        Respondents to use (e.g. those in a peer group); default all.

    Returns
    -------
    float
        The SD over the respondents used with a value; NaN when fewer than two remain.

    Raises
    ------
    DataError
        ``values``, ``weights`` and ``rows`` differ in length.

    Examples
    --------
    >>> round(weighted_sd([2.0, 4.0, 4.0, 5.0], [1.0, 2.0, 3.0, 4.0]), 12)
    0.871779788708

    R: ``y <- c(2, 4, 4, 5); w <- 1:4; m <- weighted.mean(y, w); sqrt(sum(w * (y - m)^2) / sum(w))`` gives
    0.87177978870813466.
    """
    y = _floats(values, "values")
    w = _floats(weights, "weights")
    if w.shape != y.shape or (rows is not None and np.shape(rows) != y.shape):
        raise DataError(
            f"weighted_sd(): values ({y.size}), weights ({w.size}) and rows must have one entry per respondent"
        )
    keep = ~np.isnan(y) if rows is None else (~np.isnan(y) & np.asarray(rows, dtype=bool))
    if keep.sum() < 2:
        return float("nan")
    yk, wk = y[keep], w[keep]
    m = np.average(yk, weights=wk)
    return float(np.sqrt(np.average((yk - m) ** 2, weights=wk)))


def weighted_sd_by_group(values, weights, groups, n_groups: int) -> np.ndarray:
    """:func:`weighted_sd` in every group at once: ``groups`` gives each respondent's group ``0 … n_groups-1``
    (-1: in none); missing values are left out. O(n) ``bincount``s (a two-pass mean then squared deviations,
    as :func:`weighted_sd`); NaN for a group with fewer than two values.

    Examples
    --------
    >>> sd = weighted_sd_by_group([2.0, 4.0, 4.0, 5.0, 1.0], [1.0, 2.0, 3.0, 4.0, 1.0], [0, 0, 0, 0, 1], 2)
    >>> [round(float(x), 10) for x in sd]
    [0.8717797887, nan]
    """
    y = _floats(values, "values")
    w = _floats(weights, "weights")
    g = np.asarray(groups, dtype=np.intp)
    if w.shape != y.shape or g.shape != y.shape:
        raise DataError(
            "weighted_sd_by_group(): values, weights and groups must have one entry per respondent"
        )
    keep = ~np.isnan(y) & (g >= 0)
    key = np.where(keep, g, n_groups)
    yk, wk = np.where(keep, y, 0.0), np.where(keep, w, 0.0)
    count = np.bincount(key, minlength=n_groups + 1)[:n_groups]
    sw = np.bincount(key, weights=wk, minlength=n_groups + 1)[:n_groups]
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.bincount(key, weights=wk * yk, minlength=n_groups + 1)[:n_groups] / sw
        dev = yk - np.append(mean, 0.0)[key]
        var = np.bincount(key, weights=wk * dev * dev, minlength=n_groups + 1)[:n_groups] / sw
    return np.where(count >= 2, np.sqrt(var), np.nan)


def weighted_sd_pooled(sum_w, mean, m2, count, groups, n_groups: int) -> np.ndarray:
    """:func:`weighted_sd` of groups made of parts, from each part's ``Σw``, weighted mean and
    ``m2 = Σ w (y − mean)²`` (Chan et al.'s pairwise update: ``M2_g = Σ m2 + Σ Σw (mean − mean_g)²``, stable
    where the one-pass ``Σwy² / Σw − mean²`` is not); ``groups`` gives each part's group (``n_groups``: none),
    ``count`` its values. NaN for a group with fewer than two values.

    Examples
    --------
    >>> y, w = np.array([2.0, 4.0, 4.0, 5.0]), np.array([1.0, 2.0, 3.0, 4.0])
    >>> parts = [(y[:2], w[:2]), (y[2:], w[2:])]
    >>> sw = [pw.sum() for _, pw in parts]
    >>> mean = [np.average(py, weights=pw) for py, pw in parts]
    >>> m2 = [(pw * (py - m) ** 2).sum() for (py, pw), m in zip(parts, mean)]
    >>> round(float(weighted_sd_pooled(sw, mean, m2, [2, 2], np.array([0, 0]), 1)[0]), 10)
    0.8717797887
    """
    sw, mean, m2 = (np.asarray(a, dtype=float) for a in (sum_w, mean, m2))
    g = np.asarray(groups, dtype=np.intp)
    size = n_groups + 1
    sw_g = np.bincount(g, weights=sw, minlength=size)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_g = np.bincount(g, weights=np.where(sw > 0, sw * mean, 0.0), minlength=size) / sw_g
        spread = np.where(sw > 0, sw * (mean - mean_g[g]) ** 2, 0.0)
        m2_g = np.bincount(g, weights=np.where(sw > 0, m2, 0.0), minlength=size) + np.bincount(
            g, weights=spread, minlength=size
        )
        var = m2_g / sw_g
    n = np.bincount(g, weights=np.asarray(count, dtype=float), minlength=size)
    return np.where(n >= 2, np.sqrt(var), np.nan)[:n_groups]
