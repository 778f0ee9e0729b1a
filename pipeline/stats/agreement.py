"""Inter-rater agreement for double-scored case files: ICC (Shrout & Fleiss), Cohen's kappa, Fleiss' kappa.

Checked against R: ``psych::ICC(x, lmer = FALSE)`` (all six forms with F tests and intervals), the published
Shrout & Fleiss (1979) Table 2 example, ``psych::cohen.kappa`` (unweighted kappa, its variance and interval;
weighted kappa point estimates), the Fleiss, Cohen & Everitt (1969) weighted-kappa variance written out in R,
and ``irr::kappam.fleiss`` on Fleiss' (1971) diagnoses data. See ``tests/reference/psych/make_reference.R``.

Why not pingouin: ``pingouin.intraclass_corr`` rounds its confidence intervals to two decimals.
Why not statsmodels for kappa: it is used as a cross-check in the tests, but its interface takes a contingency
table and returns an untyped ``Bunch``; the arithmetic is short and written out here with its formula.

``scipy.stats`` is imported inside the functions that use it: importing it takes ~0.5 s, which a stage that
imports this module for something else should not pay.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.errors import DataError
from pipeline.stats.inference import ConfidenceInterval

_ICC_DESCRIPTION = {
    "ICC1": "单评分者，单因素随机（评分者不同）/ single rater, one-way random",
    "ICC2": "单评分者，双因素随机，绝对一致 / single rater, two-way random, absolute agreement",
    "ICC3": "单评分者，双因素固定，一致性 / single rater, two-way mixed, consistency",
    "ICC1k": "平均k位评分者，单因素随机 / mean of k raters, one-way random",
    "ICC2k": "平均k位评分者，双因素随机，绝对一致 / mean of k raters, two-way random, absolute agreement",
    "ICC3k": "平均k位评分者，双因素固定，一致性 / mean of k raters, two-way mixed, consistency",
}


def _check_level(confidence_level: float) -> None:
    if not 0 < confidence_level < 1:
        raise DataError(f"confidence_level must lie strictly between 0 and 1, got {confidence_level!r}")


# ============================================================================================= ICC
@dataclass(frozen=True)
class ICCResult:
    """All six Shrout & Fleiss intraclass correlations of one balanced targets x raters design.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per form, columns ``type`` (ICC1, ICC2, ICC3, ICC1k, ICC2k, ICC3k), ``description``,
        ``icc``, ``f``, ``df1``, ``df2``, ``pvalue``, ``ci_low``, ``ci_high`` (as ``psych::ICC``'s results).
    n_targets, n_raters : int
        Targets and raters in the (balanced) design used.
    n_dropped : int
        Targets dropped for lacking a rating (only with ``incomplete="drop"``).
    dropped_targets : tuple
        Their labels.
    confidence_level : float
    ms_between, ms_within, ms_raters, ms_error : float
        Mean squares: targets, within targets (one-way), raters, residual.
    """

    table: pd.DataFrame
    n_targets: int
    n_raters: int
    n_dropped: int
    dropped_targets: tuple
    confidence_level: float
    ms_between: float
    ms_within: float
    ms_raters: float
    ms_error: float

    def get(self, form: str) -> pd.Series:
        """The row of ``table`` for one form, e.g. ``result.get("ICC2")["icc"]``."""
        rows = self.table.loc[self.table["type"] == form]
        if rows.empty:
            raise KeyError(f"unknown ICC form {form!r}; one of {', '.join(self.table['type'])}")
        return rows.iloc[0]


def _wide_ratings(
    data: pd.DataFrame, targets: str, raters: str, ratings: str, incomplete: str
) -> tuple[np.ndarray, list, tuple]:
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"data must be a long-format pandas DataFrame, got {type(data).__name__}")
    for role, col in (("targets", targets), ("raters", raters), ("ratings", ratings)):
        if col not in data.columns:
            raise DataError(f"{role} column {col!r} not found (columns: {', '.join(map(str, data.columns))})")
    if incomplete not in ("error", "drop"):
        raise DataError(f"incomplete={incomplete!r} must be 'error' or 'drop'")
    values = data[ratings]
    if not pd.api.types.is_numeric_dtype(values):
        coerced = pd.to_numeric(values, errors="coerce")
        bad = coerced.isna() & values.notna()
        if bad.any():
            raise DataError(f"ratings column {ratings}: non-numeric value {values[bad].iloc[0]!r}")
        values = coerced
    frame = pd.DataFrame({"t": data[targets], "r": data[raters], "y": values.astype(float)})
    if frame["t"].isna().any() or frame["r"].isna().any():
        col = targets if frame["t"].isna().any() else raters
        raise DataError(f"{col} column has missing labels")
    dup = frame.duplicated(["t", "r"], keep=False)
    if dup.any():
        t, r = frame.loc[dup, ["t", "r"]].iloc[0]
        raise DataError(
            f"target {t!r} has more than one rating from rater {r!r} (columns {targets}, {raters})"
        )
    wide = frame.pivot(index="t", columns="r", values="y")
    lacking = wide.isna().any(axis=1)
    dropped: tuple = ()
    if lacking.any():
        if incomplete == "error":
            t = wide.index[lacking][0]
            who = ", ".join(map(str, wide.columns[wide.loc[t].isna()]))
            raise DataError(
                f"unbalanced design: target {t!r} (column {targets}) lacks a rating from rater(s) {who} "
                f"in column {ratings}; {int(lacking.sum())} target(s) incomplete. "
                "Pass incomplete='drop' to use complete targets only."
            )
        dropped = tuple(wide.index[lacking])
        wide = wide.loc[~lacking]
    if wide.shape[0] < 2:
        raise DataError(
            f"need at least 2 targets with complete ratings in column {targets}, got {wide.shape[0]}"
        )
    if wide.shape[1] < 2:
        raise DataError(f"need at least 2 raters in column {raters}, got {wide.shape[1]}")
    return wide.to_numpy(dtype=float), list(wide.columns), dropped


def icc(
    data: pd.DataFrame,
    *,
    targets: str,
    raters: str,
    ratings: str,
    confidence_level: float = 0.95,
    incomplete: str = "error",
) -> ICCResult:
    r"""Intraclass correlations ICC1, ICC2, ICC3, ICC1k, ICC2k, ICC3k with F tests and intervals.

    From the two-way ANOVA of an n targets x k raters table (mean squares :math:`MS_B` targets,
    :math:`MS_J` raters, :math:`MS_E` residual, :math:`MS_W` within targets):

    .. math::

        ICC1 = \frac{MS_B - MS_W}{MS_B + (k-1) MS_W}, \quad
        ICC2 = \frac{MS_B - MS_E}{MS_B + (k-1) MS_E + k (MS_J - MS_E)/n}, \quad
        ICC3 = \frac{MS_B - MS_E}{MS_B + (k-1) MS_E}

    and the average-measure forms ICC1k :math:`=(MS_B - MS_W)/MS_B`, ICC2k, ICC3k :math:`=(MS_B-MS_E)/MS_B`.
    F tests: :math:`MS_B/MS_W` on (n-1, n(k-1)) for ICC1/ICC1k, :math:`MS_B/MS_E` on (n-1, (n-1)(k-1))
    otherwise. Intervals: F-based (exact for ICC1/ICC3; Satterthwaite approximation for ICC2), computed
    exactly as ``psych::ICC(x, lmer = FALSE)``; psych's default ``lmer = TRUE`` estimates the variance
    components by REML and defines :math:`MS_W` differently, so it can differ in ICC1 on the same data.

    For the double-scored case files (docs/BACKGROUND.md §2) report ICC2 (``ICC(2,1)``): reviewers are a sample of
    possible reviewers and absolute agreement of the scores matters.

    Parameters
    ----------
    data : pandas.DataFrame
        Long format, one row per (target, rater) rating.
    targets, raters, ratings : str
        Column names: rated object (case file), rater (reviewer), numeric rating (score).
    confidence_level : float
    incomplete : {"error", "drop"}
        Design must be balanced (every target rated by every rater). ``"error"`` (default) raises naming
        the first target lacking a rating; ``"drop"`` uses complete targets only and reports how many (and
        which) were dropped in ``n_dropped`` / ``dropped_targets``. Missing ratings (NaN) count as lacking.

    Returns
    -------
    ICCResult

    Raises
    ------
    DataError
        Missing column (named); non-numeric rating; a (target, rater) pair rated twice; unbalanced design
        (with ``incomplete="error"``, naming the target); fewer than 2 targets or raters.

    References
    ----------
    Shrout & Fleiss (1979) Psychol Bull 86:420. McGraw & Wong (1996) Psychol Methods 1:30. Revelle, psych::ICC.

    Examples
    --------
    Shrout & Fleiss (1979), Table 2 (6 targets, 4 judges); published ICC(2,1) = .29:

    >>> import pandas as pd
    >>> sf = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]
    >>> long = pd.DataFrame([(t, j, y) for t, row in enumerate(sf) for j, y in enumerate(row)],
    ...                     columns=["case", "judge", "score"])
    >>> res = icc(long, targets="case", raters="judge", ratings="score")
    >>> round(float(res.get("ICC2")["icc"]), 6)  # psych::ICC(sf, lmer = FALSE): 0.2897638
    0.289764
    """
    from scipy import stats as sps

    _check_level(confidence_level)
    x, _, dropped = _wide_ratings(data, targets, raters, ratings, incomplete)
    n, k = x.shape
    gm = x.mean()
    ss_b = k * np.sum((x.mean(axis=1) - gm) ** 2)
    ss_j = n * np.sum((x.mean(axis=0) - gm) ** 2)
    ss_t = np.sum((x - gm) ** 2)
    ss_e = ss_t - ss_b - ss_j
    msb = ss_b / (n - 1)
    msj = ss_j / (k - 1)
    mse = ss_e / ((n - 1) * (k - 1))
    msw = (ss_j + ss_e) / (n * (k - 1))

    icc1 = (msb - msw) / (msb + (k - 1) * msw)
    icc2 = (msb - mse) / (msb + (k - 1) * mse + k * (msj - mse) / n)
    icc3 = (msb - mse) / (msb + (k - 1) * mse)
    icc1k = (msb - msw) / msb
    icc2k = (msb - mse) / (msb + (msj - mse) / n)
    icc3k = (msb - mse) / msb

    f1, df1n, df1d = msb / msw, n - 1, n * (k - 1)
    f3, df3n, df3d = msb / mse, n - 1, (n - 1) * (k - 1)
    p1 = sps.f.sf(f1, df1n, df1d)
    p3 = sps.f.sf(f3, df3n, df3d)

    q = 1 - (1 - confidence_level) / 2
    f1l = f1 / sps.f.ppf(q, df1n, df1d)
    f1u = f1 * sps.f.ppf(q, df1d, df1n)
    f3l = f3 / sps.f.ppf(q, df3n, df3d)
    f3u = f3 * sps.f.ppf(q, df3d, df3n)
    ci1 = ((f1l - 1) / (f1l + k - 1), (f1u - 1) / (f1u + k - 1))
    ci3 = ((f3l - 1) / (f3l + k - 1), (f3u - 1) / (f3u + k - 1))
    ci1k = (1 - 1 / f1l, 1 - 1 / f1u)
    ci3k = (1 - 1 / f3l, 1 - 1 / f3u)
    # ICC2: Satterthwaite df for the denominator (Shrout & Fleiss 1979, eq. 7), as psych::ICC
    fj = msj / mse
    vn = (k - 1) * (n - 1) * (k * icc2 * fj + n * (1 + (k - 1) * icc2) - k * icc2) ** 2
    vd = (n - 1) * k**2 * icc2**2 * fj**2 + (n * (1 + (k - 1) * icc2) - k * icc2) ** 2
    v = vn / vd
    fu = sps.f.ppf(q, n - 1, v)
    fl = sps.f.ppf(q, v, n - 1)
    l2 = n * (msb - fu * mse) / (fu * (k * msj + (k * n - k - n) * mse) + n * msb)
    u2 = n * (fl * msb - mse) / (k * msj + (k * n - k - n) * mse + n * fl * msb)
    ci2 = (l2, u2)
    ci2k = (l2 * k / (1 + l2 * (k - 1)), u2 * k / (1 + u2 * (k - 1)))

    forms = [
        ("ICC1", icc1, f1, df1n, df1d, p1, ci1),
        ("ICC2", icc2, f3, df3n, df3d, p3, ci2),
        ("ICC3", icc3, f3, df3n, df3d, p3, ci3),
        ("ICC1k", icc1k, f1, df1n, df1d, p1, ci1k),
        ("ICC2k", icc2k, f3, df3n, df3d, p3, ci2k),
        ("ICC3k", icc3k, f3, df3n, df3d, p3, ci3k),
    ]
    table = pd.DataFrame(
        [
            {
                "type": name,
                "description": _ICC_DESCRIPTION[name],
                "icc": float(val),
                "f": float(f),
                "df1": float(d1),
                "df2": float(d2),
                "pvalue": float(p),
                "ci_low": float(ci[0]),
                "ci_high": float(ci[1]),
            }
            for name, val, f, d1, d2, p, ci in forms
        ]
    )
    return ICCResult(
        table=table,
        n_targets=n,
        n_raters=k,
        n_dropped=len(dropped),
        dropped_targets=dropped,
        confidence_level=confidence_level,
        ms_between=float(msb),
        ms_within=float(msw),
        ms_raters=float(msj),
        ms_error=float(mse),
    )


# ============================================================================================= Cohen
@dataclass(frozen=True)
class KappaResult:
    """Cohen's (weighted) kappa of two raters.

    Attributes
    ----------
    kappa : float
    se : float
        Large-sample standard error (Fleiss, Cohen & Everitt 1969), not the null-hypothesis SE.
    ci_low, ci_high : float
        ``kappa -+ z * se``, clipped to [-1, 1] as ``psych::cohen.kappa`` does.
    weights : str or None
        None (unweighted), "linear" or "quadratic".
    percent_agreement : float
        Share of exact agreement (unweighted observed agreement).
    observed, expected : float
        (Weighted) observed and chance agreement :math:`p_o`, :math:`p_e`.
    n, n_dropped : int
        Pairs used; pairs dropped because either rating was missing.
    categories : tuple
        Category order used for the weights.
    confidence_level : float
    """

    kappa: float
    se: float
    ci_low: float
    ci_high: float
    weights: str | None
    percent_agreement: float
    observed: float
    expected: float
    n: int
    n_dropped: int
    categories: tuple
    confidence_level: float

    def confidence_interval(self) -> ConfidenceInterval:
        """``ConfidenceInterval(ci_low, ci_high)`` at ``confidence_level``."""
        return ConfidenceInterval(self.ci_low, self.ci_high)


def _as_series(v, name: str) -> pd.Series:
    if isinstance(v, pd.Series):
        return v.reset_index(drop=True)
    arr = np.asarray(v, dtype=object)
    if arr.ndim != 1:
        raise DataError(f"{name}: ratings must be one-dimensional")
    return pd.Series(arr, name=name)


def cohen_kappa(
    a,
    b,
    *,
    weights: str | None = None,
    categories: Sequence | None = None,
    confidence_level: float = 0.95,
) -> KappaResult:
    r"""Cohen's kappa for two raters, unweighted or with linear/quadratic agreement weights.

    With cell proportions :math:`p_{ij}`, margins :math:`p_{i\cdot}`, :math:`p_{\cdot j}` and agreement
    weights :math:`w_{ij} = 1 - (|i-j|/(K-1))^{s}` (s = 1 linear, s = 2 quadratic; identity if unweighted),
    on the *positions* i, j of the K categories:

    .. math::

        \kappa_w = \frac{p_o - p_e}{1 - p_e}, \quad p_o = \sum w_{ij} p_{ij}, \quad
        p_e = \sum w_{ij} p_{i\cdot} p_{\cdot j}

    .. math::

        \widehat{Var}(\kappa_w) = \frac{\sum_{ij} p_{ij}[w_{ij} - (\bar w_{i\cdot} + \bar w_{\cdot j})
        (1-\kappa_w)]^2 - [\kappa_w - p_e(1-\kappa_w)]^2}{n (1-p_e)^2}

    with :math:`\bar w_{i\cdot} = \sum_j p_{\cdot j} w_{ij}`, :math:`\bar w_{\cdot j} = \sum_i p_{i\cdot}
    w_{ij}` (Fleiss, Cohen & Everitt 1969). Unweighted kappa, its variance and interval equal
    ``psych::cohen.kappa``. The weighted point estimates equal psych's too, but **psych's weighted variance
    is not used**: psych 2.2.9 computes :math:`\bar w_{\cdot j}` as ``rowSums(w * rs)`` (a row sum where a
    column sum is meant), which can make the variance negative (psych then sets it to 0 and prints a zero-
    width interval); here the published formula is used and checked against an independent R transcription
    of it and against ``statsmodels.stats.inter_rater.cohens_kappa``.

    Parameters
    ----------
    a, b : array-like or pandas.Series
        Ratings of the same objects by rater A and rater B (same length, aligned by position).
    weights : {None, "linear", "quadratic"}
    categories : sequence, optional
        All categories in order (e.g. grades ``["不合格", "合格", "良好", "优秀"]`` or ``[1, 2, 3, 4]``).
        Default: the sorted union of observed values, as psych. Required for weighted kappa on non-numeric
        labels (their order cannot be guessed). Listing unused categories changes weighted kappa (K changes).
    confidence_level : float

    Missing data: pairs where either rating is missing are dropped (``n_dropped``).

    Raises
    ------
    DataError
        Different lengths; a rating not among ``categories``; unknown ``weights``; weighted kappa on
        non-numeric labels without ``categories``; fewer than 2 complete pairs.

    References
    ----------
    Cohen (1960) Educ Psychol Meas 20:37; Cohen (1968) Psychol Bull 70:213; Fleiss, Cohen & Everitt (1969)
    Psychol Bull 72:323.

    Examples
    --------
    >>> res = cohen_kappa([1, 2, 3, 3, 2, 1, 4, 4], [1, 2, 3, 2, 2, 1, 4, 3])
    >>> round(res.kappa, 6), res.percent_agreement  # psych::cohen.kappa(cbind(a, b))$kappa
    (0.666667, 0.75)
    """
    from scipy import stats as sps

    _check_level(confidence_level)
    if weights not in (None, "linear", "quadratic"):
        raise DataError(f"weights={weights!r} must be None, 'linear' or 'quadratic'")
    sa, sb = _as_series(a, "a"), _as_series(b, "b")
    name_a = str(a.name) if isinstance(a, pd.Series) and a.name is not None else "a"
    name_b = str(b.name) if isinstance(b, pd.Series) and b.name is not None else "b"
    if len(sa) != len(sb):
        raise DataError(f"ratings {name_a} and {name_b} differ in length ({len(sa)} vs {len(sb)})")
    ok = (sa.notna() & sb.notna()).to_numpy()
    n_dropped = int((~ok).sum())
    sa, sb = sa[ok], sb[ok]
    if len(sa) < 2:
        raise DataError(f"fewer than 2 complete rating pairs in {name_a}, {name_b}")
    if categories is None:
        observed = pd.unique(pd.concat([sa, sb], ignore_index=True))
        try:
            cats = sorted(observed)
        except TypeError as err:
            raise DataError(f"ratings in {name_a}, {name_b} mix types; pass categories= in order") from err
        numeric = all(isinstance(c, (int, float, np.integer, np.floating)) for c in cats)
        if weights is not None and not numeric:
            raise DataError(
                f"weighted kappa needs the category order for the labels in {name_a}, {name_b}: pass categories="
            )
    else:
        cats = list(categories)
        if len(set(cats)) != len(cats):
            raise DataError("categories contains duplicates")
    pos = {c: i for i, c in enumerate(cats)}
    for s, nm in ((sa, name_a), (sb, name_b)):
        unknown = [v for v in pd.unique(s) if v not in pos]
        if unknown:
            bad = unknown[0].item() if isinstance(unknown[0], np.generic) else unknown[0]
            raise DataError(f"ratings column {nm}: value {bad!r} is not among the categories {cats}")
    kk = len(cats)
    if kk < 2:
        raise DataError(f"ratings in {name_a}, {name_b} use a single category; kappa is undefined")
    ia = sa.map(pos).to_numpy(dtype=int)
    ib = sb.map(pos).to_numpy(dtype=int)
    n = len(ia)
    p = np.zeros((kk, kk))
    np.add.at(p, (ia, ib), 1.0)
    p /= n
    d = np.abs(np.subtract.outer(np.arange(kk), np.arange(kk))) / (kk - 1)
    if weights is None:
        w = np.eye(kk)
    elif weights == "linear":
        w = 1.0 - d
    else:
        w = 1.0 - d**2
    pr, pc = p.sum(axis=1), p.sum(axis=0)
    po = float(np.sum(w * p))
    pe = float(np.sum(w * np.outer(pr, pc)))
    if pe >= 1:
        raise DataError(
            f"ratings in {name_a}, {name_b} leave no room for chance-corrected agreement (p_e = 1)"
        )
    kappa = (po - pe) / (1 - pe)
    wi = w @ pc  # \bar w_{i.}
    wj = w.T @ pr  # \bar w_{.j}
    s = np.sum(p * (w - np.add.outer(wi, wj) * (1 - kappa)) ** 2)
    var = (s - (kappa - pe * (1 - kappa)) ** 2) / (n * (1 - pe) ** 2)
    se = float(np.sqrt(max(var, 0.0)))
    z = sps.norm.ppf(1 - (1 - confidence_level) / 2)
    return KappaResult(
        kappa=float(kappa),
        se=se,
        ci_low=float(max(kappa - z * se, -1.0)),
        ci_high=float(min(kappa + z * se, 1.0)),
        weights=weights,
        percent_agreement=float(np.trace(p)),
        observed=po,
        expected=pe,
        n=n,
        n_dropped=n_dropped,
        categories=tuple(cats),
        confidence_level=confidence_level,
    )


# ============================================================================================= Fleiss
@dataclass(frozen=True)
class FleissKappaResult:
    """Fleiss' kappa for a fixed number of raters per subject.

    Attributes
    ----------
    kappa : float
    se0 : float
        Standard error under H0: kappa = 0 (Fleiss, Nee & Landis 1979), as ``irr::kappam.fleiss``.
    z, pvalue : float
        ``kappa / se0`` and its two-sided normal p-value.
    observed, expected : float
        Mean per-subject agreement :math:`\\bar P` and chance agreement :math:`\\bar P_e`.
    category_kappa : pandas.Series
        Kappa for each category vs. the rest (Fleiss 1971, eq. 17).
    n_subjects, n_raters, n_categories : int
    """

    kappa: float
    se0: float
    z: float
    pvalue: float
    observed: float
    expected: float
    category_kappa: pd.Series
    n_subjects: int
    n_raters: int
    n_categories: int


def fleiss_kappa(table) -> FleissKappaResult:
    r"""Fleiss' kappa from a subjects x categories table of counts (how many raters chose each category).

    .. math::

        P_i = \frac{\sum_j n_{ij}^2 - m}{m(m-1)}, \quad \bar P = \frac1N\sum_i P_i, \quad
        p_j = \frac{\sum_i n_{ij}}{Nm}, \quad \bar P_e = \sum_j p_j^2, \quad
        \kappa = \frac{\bar P - \bar P_e}{1 - \bar P_e}

    .. math::

        SE_0 = \frac{\sqrt 2}{\sum_j p_j q_j \sqrt{N m (m-1)}}
        \sqrt{\Bigl(\sum_j p_j q_j\Bigr)^2 - \sum_j p_j q_j (q_j - p_j)}, \quad q_j = 1 - p_j

    Raters need not be the same people across subjects, but every subject must have the same number m of
    ratings.

    Parameters
    ----------
    table : pandas.DataFrame or 2-D array-like
        N subjects (rows) x K categories (columns) of non-negative integer counts.

    Raises
    ------
    DataError
        Negative or non-integer counts (column named); subjects with different rating totals (row named);
        fewer than 2 raters per subject; all ratings in one category.

    References
    ----------
    Fleiss (1971) Psychol Bull 76:378 (diagnoses example: kappa = .430). Fleiss, Nee & Landis (1979) Psychol
    Bull 86:974. Gamer et al., ``irr::kappam.fleiss``.

    Examples
    --------
    Wikipedia "Fleiss' kappa" worked example (10 subjects, 14 raters, published kappa 0.210):

    >>> t = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
    ...      [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]
    >>> round(fleiss_kappa(t).kappa, 3)
    0.21
    """
    from scipy import stats as sps

    frame = table if isinstance(table, pd.DataFrame) else pd.DataFrame(np.asarray(table))
    if frame.ndim != 2 or frame.shape[1] < 2 or frame.shape[0] < 1:
        raise DataError("table must be subjects x categories with at least 2 category columns")
    for c in frame.columns:
        col = pd.to_numeric(frame[c], errors="coerce")
        bad = col.isna() | (col < 0) | (col != np.round(col))
        if bad.any():
            raise DataError(
                f"category column {c}: count {frame[c][bad].iloc[0]!r} in row {frame.index[bad][0]!r} "
                "is not a non-negative integer"
            )
    x = frame.to_numpy(dtype=float)
    totals = x.sum(axis=1)
    m = totals[0]
    if np.any(totals != m):
        i = int(np.argmax(totals != m))
        raise DataError(
            f"subject (row) {frame.index[i]!r} has {totals[i]:g} ratings but row {frame.index[0]!r} has {m:g}; "
            "Fleiss' kappa needs the same number of ratings per subject"
        )
    if m < 2:
        raise DataError("each subject needs at least 2 ratings")
    n_sub = x.shape[0]
    pi = (np.sum(x**2, axis=1) - m) / (m * (m - 1))
    p_bar = float(pi.mean())
    pj = x.sum(axis=0) / (n_sub * m)
    pe = float(np.sum(pj**2))
    if pe >= 1:
        raise DataError("all ratings fall into one category; kappa is undefined")
    kappa = (p_bar - pe) / (1 - pe)
    qj = 1 - pj
    spq = np.sum(pj * qj)
    se0 = np.sqrt(2) / (spq * np.sqrt(n_sub * m * (m - 1))) * np.sqrt(spq**2 - np.sum(pj * qj * (qj - pj)))
    z = kappa / se0
    with np.errstate(divide="ignore", invalid="ignore"):
        kj = 1 - np.sum(x * (m - x), axis=0) / (n_sub * m * (m - 1) * pj * qj)
    return FleissKappaResult(
        kappa=float(kappa),
        se0=float(se0),
        z=float(z),
        pvalue=float(2 * sps.norm.sf(abs(z))),
        observed=p_bar,
        expected=pe,
        category_kappa=pd.Series(kj, index=list(frame.columns), name="kappa"),
        n_subjects=n_sub,
        n_raters=int(m),
        n_categories=x.shape[1],
    )
