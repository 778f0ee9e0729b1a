"""Counts of several kinds that share one unit's level: the negative multinomial (Gamma-mixed Poisson).

A unit u has counts ``k_uc`` of categories c, each Poisson with mean ``μ_uc·f_u``, where ``f_u`` ~ Gamma(κ, 1/κ)
(mean 1, variance 1/κ) is the unit's own level shared by all its categories. Integrating ``f_u`` out::

    log P(k_u) = Σ_c [k_c·log μ_c − log k_c!] + log Γ(K + κ) − log Γ(κ) + κ·log κ − (K + κ)·log(M + κ)

with ``K = Σ_c k_c`` and ``M = Σ_c μ_c`` (Johnson, Kotz & Balakrishnan 1997, *Discrete Multivariate
Distributions*, ch. 36; the single-category case is the negative binomial with size κ). A category raised
against the unit's others is then strong evidence, while a unit high in every category is explained by its
``f_u`` in part. Non-integer counts (averages of two reviewers) pass through the gamma function.

Example::

    >>> import numpy as np
    >>> k, mu = np.array([[3.0, 1.0]]), np.array([[1.5, 1.0]])
    >>> bool(negative_multinomial_logpmf(k, 3 * mu, 15.0)[0] < negative_multinomial_logpmf(k, mu, 15.0)[0])
    True
"""

from __future__ import annotations

import numpy as np
from scipy import special

SHAPE_GRID = np.geomspace(1.0, 1000.0, 61)
"""Values of κ tried by :func:`negative_multinomial_shape`."""


def negative_multinomial_logpmf(k: np.ndarray, mean: np.ndarray, shape: float) -> np.ndarray:
    """log P(counts) per row of ``k`` (rows units, columns categories) at Poisson means ``mean`` times a shared
    Gamma(``shape``, 1/``shape``) factor (module docstring)."""
    k, mean = np.asarray(k, dtype=float), np.maximum(np.asarray(mean, dtype=float), 1e-300)
    total, big = k.sum(axis=1), mean.sum(axis=1)
    return (
        (k * np.log(mean) - special.gammaln(k + 1)).sum(axis=1)
        + special.gammaln(total + shape) - special.gammaln(shape)
        + shape * np.log(shape) - (total + shape) * np.log(big + shape)
    )  # fmt: skip


def negative_multinomial_shape(k: np.ndarray, mean: np.ndarray, *, least: float = 0.0) -> float:
    """The κ on :data:`SHAPE_GRID` (at least ``least``) maximising the summed :func:`negative_multinomial_logpmf`
    of the rows of ``k`` at their means ``mean`` (the terms free of κ left out, every κ at once)."""
    grid = SHAPE_GRID[least <= SHAPE_GRID]
    if not len(grid):
        return float(SHAPE_GRID[-1])
    total = np.asarray(k, dtype=float).sum(axis=1)[:, None]
    big = np.asarray(mean, dtype=float).sum(axis=1)[:, None]
    fits = (
        special.gammaln(total + grid)
        - special.gammaln(grid)
        + grid * np.log(grid)
        - (total + grid) * np.log(big + grid)
    ).sum(axis=0)
    return float(grid[int(np.argmax(fits))])
