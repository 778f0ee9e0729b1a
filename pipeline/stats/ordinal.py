"""An ordered probit with a location per group and a random cell effect: the no-problem model of checkpoint
ratings (完全落实 > 基本落实 > 部分落实 > 未落实) that :mod:`pipeline.findings.states` reads on all four levels.

Model: a cell c of group (unit) u has ratings ``level = cut(μ_u + s·e_c + ε)``, ``e_c`` and ``ε`` independent
N(0, 1), the cuts shared by every group. The ratings of one cell share ``e_c``, so they move together along the
scale. This is the cumulative-link model with a random intercept (Agresti 2010, *Analysis of Ordinal
Categorical Data*, ch. 10; R ``ordinal::clmm``), fitted here by a grid search because it is fitted once per run
on a few thousand cells, with weights, and only its marginal likelihood per cell is needed.

Example::

    >>> import numpy as np
    >>> counts = np.array([[0.0, 0.0, 1.0, 1.0]])     # one cell: 基本落实 and 完全落实
    >>> float(np.exp(ordinal_cell_loglik(counts, np.array([0.5]), np.array([-1.5, -0.6, 0.5]), 0.0)[0])) < 1
    True
"""

from __future__ import annotations

import numpy as np
from scipy import special
from scipy import stats as sps

CELL_SD_GRID = np.linspace(0.0, 1.5, 16)
"""Values tried for the SD of the cell effect in :func:`ordinal_null` (in units of the rating noise)."""
_LOCATIONS = np.linspace(-4, 4, 161)
_NODES, _NODE_WEIGHTS = np.polynomial.hermite_e.hermegauss(15)
_NODE_WEIGHTS = _NODE_WEIGHTS / _NODE_WEIGHTS.sum()


def level_probs(x: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """P(level j | latent location x) of an ordered probit with unit noise, shape (…, levels)."""
    edges = np.concatenate([[-np.inf], cuts, [np.inf]])
    return np.clip(np.diff(sps.norm.cdf(edges - x[..., None]), axis=-1), 1e-12, 1.0)


def ordinal_cell_loglik(
    counts: np.ndarray, location: np.ndarray, cuts: np.ndarray, sd: float, index: np.ndarray | None = None
) -> np.ndarray:
    """log ∫ Π_j P(level j | location + sd·e)^count_j φ(e) de per cell (rows of ``counts``), by Gauss–Hermite
    quadrature: the ordered probit with a random cell effect of :func:`ordinal_null`. ``location`` is per cell,
    or per unit with ``index`` the unit of each cell (the level probabilities are then computed once a unit)."""
    logp = np.log(level_probs(location[:, None] + sd * _NODES[None, :], cuts))
    if index is not None:
        logp = logp[index]
    return special.logsumexp(np.einsum("cl,cnl->cn", counts, logp), axis=1, b=_NODE_WEIGHTS)


def ordinal_null(
    counts: np.ndarray, unit_idx: np.ndarray, n_units: int, weights: np.ndarray
) -> tuple[np.ndarray, float]:
    """Per cell, log P(its ratings | no problem) under an ordered probit with a location per unit and a random
    cell effect — level = cut(μ_u + s·e + ε), e and ε independent N(0, 1), cuts shared by all units — and the
    fitted ``s``.

    Why: the ratings are ordered, and the ratings of one cell share its item-specific quality, so a cell worse
    than its unit's others has its ratings lowered together along the scale (a 未落实 with a 部分落实, rarely
    with a 完全落实). Reading the levels rather than failed/passed uses that a problem state fails about half
    its points as 未落实 while a unit without one gives 未落实 for about a fifth of its failures (the
    cumulative-link model with a random intercept: Agresti 2010, *Analysis of Ordinal Categorical Data*,
    ch. 10). Fit, each cell weighted by ``weights`` (its chance of no problem): the marginal model first (unit
    locations by a grid search, cuts corrected so that the units' predicted level shares match the observed
    ones, alternated), then ``s`` by the marginal likelihood over :data:`CELL_SD_GRID`, locations and cuts
    scaled by √(1 + s²) so the marginal shares stay; the cell effect is integrated by Gauss–Hermite
    quadrature."""
    n_levels = counts.shape[1]
    unit_counts = np.stack(
        [np.bincount(unit_idx, weights=weights * counts[:, j], minlength=n_units) for j in range(n_levels)],
        axis=1,
    )
    total = max(float(unit_counts.sum()), 1e-12)
    target = np.clip(np.cumsum(unit_counts.sum(axis=0) / total)[:-1], 1e-4, 1 - 1e-4)
    cuts = sps.norm.ppf(target)
    share = unit_counts.sum(axis=1) / total
    for _ in range(20):
        mu = _LOCATIONS[np.argmax(unit_counts @ np.log(level_probs(_LOCATIONS, cuts)).T, axis=1)]
        current = (share[:, None] * sps.norm.cdf(cuts[None, :] - mu[:, None])).sum(axis=0)
        cuts = np.sort(cuts + sps.norm.ppf(target) - sps.norm.ppf(np.clip(current, 1e-4, 1 - 1e-4)))
    best, out = -np.inf, (np.zeros(len(counts)), 0.0)
    for sd in CELL_SD_GRID:
        scale = np.sqrt(1 + sd**2)
        l0 = ordinal_cell_loglik(counts, mu * scale, cuts * scale, sd, unit_idx)
        fit = float((weights * l0).sum())
        if fit > best:
            best, out = fit, (l0, float(sd))
    return out
