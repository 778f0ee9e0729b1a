"""Midranks without sorting the data, and the rank tests built on them (private kernel of :mod:`comparisons`).

Each function equals a scipy function bit for bit (tested in ``tests/test_ranks_kernel.py``) and is faster at a
million values, because scipy sorts the pooled sample while Likert answers have a handful of distinct values:

* :func:`rankdata_average` — ``scipy.stats.rankdata(values, method="average")``, plus the tie sum
  ``Σ(t³ − t)`` over tied groups that ``scipy.stats.tiecorrect`` and the rank tests use;
* :func:`kruskal_h` — ``scipy.stats.kruskal(*groups).statistic`` (tie-corrected H);
* :func:`mannwhitneyu_asymptotic` — U of x and the two-sided p of ``scipy.stats.mannwhitneyu(x, y,
  method="asymptotic", use_continuity=...)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special


def rankdata_average(values: np.ndarray) -> tuple[np.ndarray, float]:
    """Midrank of every value (``scipy.stats.rankdata(values, method="average")``) and the tie sum ``Σ(t³ − t)``.

    The distinct values are found by hashing and only they are sorted; each value's midrank is
    ``(first position when sorted + 1) + (copies − 1) / 2`` from the counts of the smaller values. Same floats
    as scipy's ``_rankdata`` (midranks and tie array, summed in the same order), without an O(n log n) sort of
    the data. ``values`` must have no NaN (as for the rank tests, which drop them first).
    """
    codes, uniques = pd.factorize(values)
    order = np.argsort(uniques, kind="stable")
    counts = np.bincount(codes, minlength=len(uniques))[order]
    starts = np.cumsum(counts) - counts  # 0-based position of each distinct value's first copy when sorted
    midrank = np.empty(len(uniques))
    midrank[order] = (starts + 1).astype(float) + (counts.astype(float) - 1) / 2
    totaln = len(values)
    t = np.zeros(totaln)
    t[starts] = counts
    return midrank[codes], np.sum(t**3 - t, axis=-1)


def kruskal_h(
    values: np.ndarray, group: np.ndarray, k: int, ranks: tuple[np.ndarray, float] | None = None
) -> float:
    """Tie-corrected Kruskal–Wallis H of ``values`` in groups ``group`` (0..k−1): ``scipy.stats.kruskal``'s.

    ``H = [12 / (N (N + 1)) Σ R_g² / n_g − 3 (N + 1)] / (1 − Σ(t³ − t) / (N³ − N))``, in scipy's arithmetic
    (same midranks, rank sums, tie array and formula order). Rank sums are sums of half-integers below 2**52,
    so exact in any order. ``ranks``: :func:`rankdata_average` of ``values`` when already known (the same rows
    ranked for another grouping).
    """
    rank, tie_sum = rankdata_average(values) if ranks is None else ranks
    rank_sums = np.bincount(group, weights=rank, minlength=k)
    n = [int(c) for c in np.bincount(group, minlength=k)]
    totaln = sum(n)
    ties = 1 - tie_sum / (totaln**3 - totaln)
    ssbn = sum(rank_sums[i] ** 2 / n[i] for i in range(k))
    h = 12.0 / (totaln * (totaln + 1)) * ssbn - 3 * (totaln + 1)
    h /= ties
    return float(h)


def mannwhitneyu_asymptotic(x: np.ndarray, y: np.ndarray, continuity: bool) -> tuple[float, float]:
    """U of x and the two-sided asymptotic p of ``scipy.stats.mannwhitneyu(x, y, method="asymptotic")``.

    ``U_x = R_x − n_x (n_x + 1)/2``; ``z = (max(U_x, n_x n_y − U_x) − n_x n_y / 2 − 0.5·continuity) / σ`` with
    the tie-corrected ``σ² = n_x n_y / 12 · ((N + 1) − Σ(t³ − t) / (N (N − 1)))``; ``p = 2 Φ(−z)``. scipy's
    formula step by step on the midranks of :func:`rankdata_average`, so U and p are bit-for-bit scipy's.
    """
    n1, n2 = x.shape[-1], y.shape[-1]
    rank, tie_term = rankdata_average(np.concatenate([x, y]))
    r1 = np.sum(rank[:n1], axis=-1)
    u1 = r1 - n1 * (n1 + 1) / 2
    u = np.maximum(u1, n1 * n2 - u1)
    n = n1 + n2
    s = np.sqrt(n1 * n2 / 12 * ((n + 1) - tie_term / (n * (n - 1))))
    numerator = u - n1 * n2 / 2
    if continuity:
        numerator -= 0.5
    with np.errstate(divide="ignore", invalid="ignore"):
        z = numerator / s
    p = np.clip(special.ndtr(-z) * 2, 0.0, 1.0)
    return float(u1), float(p)
