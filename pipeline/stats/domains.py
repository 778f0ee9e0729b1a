"""Domain means with confidence intervals and the small-group rule: the one function behind every table of
group means (district scale means of 05_compare and 06_describe, and the scores that follow them).

:func:`domain_mean_table` asks a design for its domain means and their covariance
(``design.domain_means_vcov(variable, by)``, as :class:`~pipeline.stats.SurveyDesign` gives them), lays them
out one row per domain with a t interval on the design's degrees of freedom, and applies the small-group rule
on each domain's Kish effective n. Comparisons reuse the covariance it returns for their contrasts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pipeline.stats.inference import t_quantile
from pipeline.stats.small_groups import MIN_N, SMALL_N, SmallGroupRule


@dataclass(frozen=True)
class DomainMeanTable:
    """Domain means of one variable: their covariance for contrasts and a row per domain for reports.

    Attributes
    ----------
    means, n, n_eff : pandas.Series
        Weighted mean, respondents used and Kish effective n per domain (indexed by domain label).
    vcov : pandas.DataFrame
        Linearization covariance of the means (``svyby(..., covmat = TRUE)``).
    df : float
        Design degrees of freedom (``degf(design)``) used by the t intervals.
    table : pandas.DataFrame
        One row per domain: ``group, estimate, se, ci_low, ci_high, n, n_eff, flag, reason``; a suppressed
        domain (effective n below ``min_n``) has NaN estimate, se and interval.
    """

    means: pd.Series
    vcov: pd.DataFrame
    n: pd.Series
    n_eff: pd.Series
    df: float
    table: pd.DataFrame


def design_domain_means(design: Any, variable: str | pd.Series, by: Any) -> tuple:
    """(means, vcov, n, n_eff, df) from ``design.domain_means_vcov(variable, by)``, aligned on the means' index.

    Raises
    ------
    TypeError
        The design has no ``domain_means_vcov``.
    """
    method = getattr(design, "domain_means_vcov", None)
    if method is None:
        raise TypeError(
            f"{type(design).__name__} has no method domain_means_vcov(var, by) returning domain means, their "
            "covariance matrix, n, n_eff and design df; the weighted comparisons need it "
            "(see pipeline.stats.comparisons module docstring)"
        )
    res = method(variable, by)
    means = pd.Series(res.means, dtype=float)
    if isinstance(res.vcov, pd.DataFrame):
        vcov = res.vcov.loc[means.index, means.index]
    else:  # a bare matrix is taken in the order of ``means``
        vcov = pd.DataFrame(np.asarray(res.vcov, dtype=float), index=means.index, columns=means.index)
    n = pd.Series(res.n, index=None if isinstance(res.n, pd.Series) else means.index).reindex(means.index)
    n_eff = pd.Series(res.n_eff, index=None if isinstance(res.n_eff, pd.Series) else means.index)
    n_eff = n_eff.reindex(means.index)
    return means, vcov, n, n_eff, float(res.df)


def domain_mean_table(
    design: Any,
    variable: str | pd.Series,
    by: Any,
    *,
    small_n: int = SMALL_N,
    min_n: int = MIN_N,
    confidence_level: float = 0.95,
) -> DomainMeanTable:
    """Weighted mean of ``variable`` in each domain of ``by`` with a t interval and the small-group flag.

    ``estimate ± t_{df, (1 + confidence_level)/2} · se`` with ``df`` the design's degrees of freedom
    (``confint(svyby(~variable, ~by, design, svymean, na.rm = TRUE), df = degf(design))``); the flag is
    :class:`~pipeline.stats.SmallGroupRule` ``(small_n, min_n)`` on the domain's Kish effective n.

    Parameters
    ----------
    design : SurveyDesign
        Any object with ``domain_means_vcov(variable, by)`` (:meth:`SurveyDesign.domain_means_vcov`).
    variable : str or Series
        Numeric column of the design's frame (or a Series aligned to it); missing values are left out.
    by : str or Series
        Domain column; rows with a missing label belong to no domain.

    Returns
    -------
    DomainMeanTable

    Examples
    --------
    >>> import pandas as pd
    >>> from pipeline import stats
    >>> df = pd.DataFrame({"y": [1.0, 2.0, 3.0, 4.0], "g": ["a", "a", "b", "b"]})
    >>> t = domain_mean_table(stats.SurveyDesign(df, weights=[1.0, 1.0, 2.0, 2.0]), "y", "g", min_n=1)
    >>> t.table[["group", "estimate", "flag"]].values.tolist()
    [['a', 1.5, 'small'], ['b', 3.5, 'small']]
    """
    means, vcov, n, n_eff, df = design_domain_means(design, variable, by)
    rule = SmallGroupRule(flag_below=small_n, suppress_below=min_n)
    tq = t_quantile(confidence_level, df)
    flag, reason = rule.flag_array(n_eff.to_numpy(dtype=float))
    shown = flag != "suppressed"
    est = np.where(shown, means.to_numpy(dtype=float), math.nan)
    # a constant domain can give a variance of -1e-45, not < 0
    se = np.where(shown, np.sqrt(np.maximum(np.diag(vcov.to_numpy(dtype=float)), 0.0)), math.nan)
    table = pd.DataFrame(
        {"group": means.index.to_numpy(dtype=object), "estimate": est, "se": se, "ci_low": est - tq * se,
         "ci_high": est + tq * se, "n": n.to_numpy().astype(int), "n_eff": n_eff.to_numpy(dtype=float),
         "flag": flag, "reason": reason},
        columns=["group", "estimate", "se", "ci_low", "ci_high", "n", "n_eff", "flag", "reason"],
    )  # fmt: skip
    return DomainMeanTable(means=means, vcov=vcov, n=n, n_eff=n_eff, df=df, table=table)
