"""Weighted frequency tables of categorical answers: every level's share in every domain in one pass, and the
Rao–Scott test of a two-way table with a Cramér's V for weighted tables.

:func:`category_proportions` gives, for one coded variable, the design-based share of each level among the
respondents with a valid answer, overall or in each domain of ``by``, with its linearization SE and a
``svyciprop`` interval — the numbers of ``svyciprop(~I(y == k), subset(design, !is.na(y)), method = ...)`` (and
``svyby`` of it), for all levels and domains at once: O(n) ``bincount``s and one variance pass over the
(stratum × calibration cell × domain × level) combinations, instead of one pass over the rows per level.

:func:`crosstab_test` is :meth:`SurveyDesign.chisq` (Rao–Scott second-order F, ``svychisq(statistic = "F")``)
plus Cramér's V of the weighted table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats as sps

from pipeline.errors import DataError
from pipeline.stats.descriptives import kish_n_eff_from_sums
from pipeline.stats.design import SurveyDesign

Method = Literal["logit", "beta"]
METHODS = ("logit", "beta")


def _values(design: SurveyDesign, values) -> np.ndarray:
    if isinstance(values, str):
        values = design.frame[values] if values in design.frame.columns else None
        if values is None:
            raise DataError("category_proportions(): column not found in the design's frame")
    if isinstance(values, pd.Series):
        if not values.index.equals(design.frame.index):
            raise DataError(f"category_proportions(): '{values.name}' is not aligned to the design's frame")
        return values.to_numpy(dtype=float, na_value=np.nan)
    out = np.asarray(values, dtype=float)
    if out.shape != (design.n,):
        raise DataError(f"category_proportions(): {out.size} values for {design.n} respondents")
    return out


def category_proportions(
    design: SurveyDesign,
    values,
    levels: Sequence[float],
    *,
    by: str | pd.Series | None = None,
    method: Method = "logit",
    confidence_level: float = 0.95,
) -> pd.DataFrame:
    """The weighted share of each of ``levels`` among the valid answers, overall or per domain, with CIs.

    For level k in domain g, ``p_gk = Σ_{i∈g, y_i=k} w_i / Σ_{i∈g, y_i valid} w_i`` (a Hájek ratio). Its
    standard error is the linearization SE of that ratio on the whole design (domain estimation: rows outside
    the domain or without a valid answer stay in the design with zero influence): influence
    ``(1{y_i = k} − p_gk) / Σ_{i∈g valid} w_i`` on the domain's valid rows. Intervals, with
    ``df`` = the domain's valid respondents minus the strata they fall in (``degf`` of
    ``subset(design, g & !is.na(y))``):

    * ``"logit"`` (default) — ``svyciprop(method = "logit")``: ``expit(logit(p) ± t_df · se / (p (1 − p)))``;
    * ``"beta"`` — Korn & Graubard (1998), ``svyciprop(method = "beta")``: Clopper–Pearson at the effective
      sample size ``n* = p (1 − p) / se² · (t_{m−1} / t_df)²``, ``m`` = R's ``nrow(design)`` (the domain's valid
      rows; all rows of a calibrated design).

    A share of 0 or 1 has SE 0: the logit interval is then ``[p, p]``, the beta one uses the domain's Kish
    effective n as ``n*`` (as :meth:`SurveyDesign.proportion`, whose numbers these equal level by level).

    Parameters
    ----------
    design : SurveyDesign
        The sample's design (sampling weights, strata, calibration).
    values : str, Series or array
        The coded answer of each respondent (a column of the design's frame, or aligned to it). Values that
        are missing or not among ``levels`` (skipped, unanswered, "don't know" left out by the caller) are not
        valid answers: they are in no domain.
    levels : sequence of numbers
        The codes to report, in this order; a level nobody chose gets share 0.
    by : str or Series, optional
        Domain column (as :meth:`SurveyDesign.mean`); rows with a missing label belong to no domain.
    method : {"logit", "beta"}
    confidence_level : float

    Returns
    -------
    DataFrame
        One row per domain × level (domains in :meth:`SurveyDesign.mean` order, levels as given): ``[by]``
        (when given), ``level, n`` (respondents choosing it), ``estimate, se, ci_low, ci_high, n_valid``
        (valid respondents of the domain), ``n_eff`` (their Kish effective n), ``df``.

    Raises
    ------
    DataError
        Unknown method, misaligned values or domain column.

    Examples
    --------
    >>> import pandas as pd
    >>> from pipeline import stats
    >>> df = pd.DataFrame({"y": [1, 1, 2, 2, 2, None]})
    >>> d = stats.SurveyDesign(df, weights=[1.0, 3.0, 1.0, 1.0, 2.0, 1.0])
    >>> category_proportions(d, "y", [1, 2])[["level", "n", "estimate"]].values.tolist()
    [[1.0, 2.0, 0.5], [2.0, 3.0, 0.5]]
    """
    if method not in METHODS:
        raise DataError(f"category_proportions(): method '{method}' is not one of {', '.join(METHODS)}")
    y = _values(design, values)
    glevels, gcode = design._groups(by)
    n_groups, k = len(glevels), len(levels)
    level_of = pd.Index(np.asarray(levels, dtype=float)).get_indexer(y)  # -1: missing or not a level
    valid = (level_of >= 0) & (gcode >= 0)
    n_cells = n_groups * k
    cell = np.where(valid, gcode * k + level_of, n_cells)
    w = design.weights
    wv = np.where(valid, w, 0.0)
    sw_cell = np.bincount(cell, weights=wv, minlength=n_cells + 1)[:n_cells].reshape(n_groups, k)
    n_cell = np.bincount(cell, minlength=n_cells + 1)[:n_cells].reshape(n_groups, k)
    dom = np.where(valid, gcode, n_groups)
    sw = np.bincount(dom, weights=wv, minlength=n_groups + 1)[:n_groups]
    sw2 = np.bincount(dom, weights=wv * wv, minlength=n_groups + 1)[:n_groups]
    n_valid = n_cell.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = sw_cell / sw[:, None]
        inv_sw = np.where(sw > 0, 1.0 / np.where(sw > 0, sw, 1.0), 0.0)
    p0 = np.nan_to_num(p)
    # influence of every (domain, level) share for a row of cell (g, j): (1{j = k} − p_gk) / sw_g in domain g
    z = np.zeros((n_cells + 1, n_cells))
    eye = np.eye(k)
    for g in range(n_groups):
        block = slice(g * k, (g + 1) * k)
        z[block, block] = (eye - p0[g][None, :]) * inv_sw[g]
    var = design._grouped_variance(cell, z, diagonal=True).reshape(n_groups, k)
    se = np.where(n_valid[:, None] > 0, np.sqrt(np.maximum(var, 0.0)), np.nan)
    dfs, _ = design._group_degf(np.where(valid, gcode, -1), n_groups)
    dfs = np.asarray(dfs, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        neff = kish_n_eff_from_sums(sw, sw2)
    lo, hi = _intervals(p, se, dfs, n_valid, neff, method, confidence_level, design)
    out = {}
    if by is not None:
        out[SurveyDesign._by_name(by)] = np.repeat(np.asarray(glevels, dtype=object), k)
    out.update(
        level=np.tile(np.asarray(levels, dtype=float), n_groups),
        n=n_cell.ravel(),
        estimate=p.ravel(),
        se=se.ravel(),
        ci_low=lo.ravel(),
        ci_high=hi.ravel(),
        n_valid=np.repeat(n_valid, k),
        n_eff=np.repeat(neff, k),
        df=np.repeat(dfs, k),
    )
    return pd.DataFrame(out)


def _intervals(p, se, dfs, n_valid, neff, method, confidence_level, design):
    """Interval bounds of shares ``p`` (domains × levels), as :meth:`SurveyDesign.proportion` computes them."""
    alpha = 1.0 - confidence_level
    df = np.broadcast_to(dfs[:, None], p.shape)
    var = se * se
    with np.errstate(divide="ignore", invalid="ignore"):
        if method == "logit":
            t = np.where(df > 0, sps.t.ppf(1 - alpha / 2, np.where(df > 0, df, 1)), np.nan)
            eta = np.log(p / (1 - p))
            half = t * se / (p * (1 - p))
            lo, hi = 1 / (1 + np.exp(-(eta - half))), 1 / (1 + np.exp(-(eta + half)))
            flat = var == 0
            lo, hi = np.where(flat, p, lo), np.where(flat, p, hi)
            bad = ~(df > 0) | ~np.isfinite(p)
            return np.where(bad, np.nan, lo), np.where(bad, np.nan, hi)
        n_star = np.where(var > 0, p * (1 - p) / var, neff[:, None])
        rows = (
            np.full(p.shape, float(design.n))
            if design._cal is not None
            else np.broadcast_to(n_valid[:, None].astype(float), p.shape)
        )
        ok = (df > 0) & (rows > 1)
        ratio = sps.t.ppf(alpha / 2, np.where(ok, rows - 1, 1)) / sps.t.ppf(alpha / 2, np.where(ok, df, 1))
        n_star = np.where(ok, n_star * ratio**2, np.nan)
        lo = np.where(p > 0, sps.beta.ppf(alpha / 2, n_star * p, n_star * (1 - p) + 1), 0.0)
        hi = np.where(p < 1, sps.beta.ppf(1 - alpha / 2, n_star * p + 1, n_star * (1 - p)), 1.0)
        bad = ~np.isfinite(p)
        return np.where(bad, np.nan, lo), np.where(bad, np.nan, hi)


def crosstab_test(design: SurveyDesign, row: str | pd.Series, col: str | pd.Series) -> dict[str, float]:
    """Rao–Scott test of independence of a weighted two-way table and its Cramér's V.

    The test is :meth:`SurveyDesign.chisq` (``svychisq(~row + col, design, statistic = "F")``). Cramér's V
    of a weighted table is taken from the weighted cell proportions ``p_ij`` (``svytable``), not from the
    test statistic: ``V = sqrt(φ² / (min(r, c) − 1))``, ``φ² = Σ (p_ij − p_i· p_·j)² / (p_i· p_·j)`` — the
    unweighted formula applied to the population table the weights estimate (equivalently Pearson's X² of the
    weighted table scaled to n, divided by n). It describes the strength of the association in the
    population and, unlike a V computed from the Rao–Scott statistic, does not shrink with the design effect
    (which measures the sampling variance, not the association); with equal weights it is the classical V.

    Returns
    -------
    dict
        ``statistic`` (F), ``ndf``, ``ddf``, ``p``, ``pearson`` (X² of the weighted table scaled to n),
        ``deff`` (mean generalized design effect), ``cramers_v``; NaN values and a ``reason`` when either
        variable has fewer than two observed levels.
    """
    try:
        with np.errstate(divide="ignore", invalid="ignore"):  # a level only in rows left out: X² is NaN
            res = design.chisq(row, col)
    except DataError:
        return dict(
            statistic=np.nan, ndf=np.nan, ddf=np.nan, p=np.nan, pearson=np.nan, deff=np.nan, cramers_v=np.nan,
            reason="有效类别不足2，无法检验 (fewer than 2 observed levels)",
        )  # fmt: skip
    m = min(len(res.rows), len(res.cols)) - 1
    v = float(np.sqrt(res.pearson / design.n / m)) if m > 0 else np.nan
    return dict(
        statistic=res.statistic, ndf=res.ndf, ddf=res.ddf, p=res.pvalue, pearson=res.pearson,
        deff=res.mean_deff, cramers_v=v, reason="",
    )  # fmt: skip
