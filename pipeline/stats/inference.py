"""Small shared pieces of inference: the confidence-interval type every result returns.

Light on purpose (no ``scipy.stats`` at import): :mod:`pipeline.stats.reliability` and the weighting code
import it without paying for scipy's distributions.
"""

from __future__ import annotations

from typing import NamedTuple


class ConfidenceInterval(NamedTuple):
    """Lower and upper confidence bound, as ``scipy.stats``' ``ConfidenceInterval(low, high)``.

    Returned by the ``confidence_interval()`` method of every result with one interval; the coverage is the
    result's ``confidence_level``. A tuple, so ``low, high = result.confidence_interval()`` works; for a
    result with several coefficients ``low`` and ``high`` are Series indexed like the estimates.
    """

    low: float
    high: float
