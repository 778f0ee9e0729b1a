"""Small shared pieces of inference: the confidence-interval type every result returns, t quantiles and p-values.

Light on purpose (``scipy.stats`` is imported inside the t functions, not at import): the reliability and
weighting code import this module without paying for scipy's distributions.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class ConfidenceInterval(NamedTuple):
    """Lower and upper confidence bound, as ``scipy.stats``' ``ConfidenceInterval(low, high)``.

    Returned by the ``confidence_interval()`` method of every result with one interval; the coverage is the
    result's ``confidence_level``. A tuple, so ``low, high = result.confidence_interval()`` works; for a
    result with several coefficients ``low`` and ``high`` are Series indexed like the estimates.
    """

    low: float
    high: float


def t_quantile(confidence_level, df):
    """Two-sided critical value of Student's t: ``t_{df, (1 + confidence_level) / 2}``.

    The half-width of a t interval is ``t_quantile(confidence_level, df) * se`` (as R ``confint`` for a
    t-based estimate). Evaluated as ``scipy.stats.t.ppf(0.5 + confidence_level / 2, df)``, the expression used
    throughout the package, so results are bit-for-bit those of the code it replaces. ``df`` may be an array
    (broadcast), ``inf`` (normal quantile) or a design's degrees of freedom (:attr:`SurveyDesign.degf`,
    :meth:`SurveyDesign.subset_degf`).

    Raises
    ------
    DataError
        ``confidence_level`` is not strictly between 0 and 1.

    Examples
    --------
    >>> float(t_quantile(0.95, 10))
    2.228138851986274

    R: ``qt(0.975, 10)`` gives 2.2281388519862739.
    """
    from scipy import stats  # here: importing scipy.stats costs ~0.5 s, and only t quantiles need it

    if not 0 < confidence_level < 1:
        from pipeline.errors import DataError

        raise DataError(f"confidence_level must lie strictly between 0 and 1, got {confidence_level!r}")
    return stats.t.ppf(0.5 + confidence_level / 2, df)


def t_pvalue(statistic, df):
    """Two-sided p-value of a t statistic: ``2 P(T_df > |t|)``, as ``2 * scipy.stats.t.sf(abs(t), df)``.

    Vectorised over ``statistic`` and ``df``; the same floats as the expression it replaces.

    Examples
    --------
    >>> round(float(t_pvalue(2.5, 10)), 12)
    0.031446844237

    R: ``2 * pt(-abs(2.5), 10)`` gives 0.031446844236608776.
    """
    from scipy import stats

    return 2 * stats.t.sf(np.abs(statistic), df)
