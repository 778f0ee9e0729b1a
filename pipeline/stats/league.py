"""Ranks of scores and their intervals over simulated draws (the uncertainty of a league table).

A unit's rank is ``1 + the number of units scoring strictly higher`` (competition ranking, R
``rank(-x, ties.method = "min")``); its interval is the central ``confidence_level`` range of its rank over
draws of the scores (percentiles of R ``quantile(type = 7)``, numpy's default), widened to contain the rank of
the scores themselves. Goldstein & Spiegelhalter (1996), "League tables and their limitations", JRSS A 159(3).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def competition_ranks(scores: np.ndarray) -> np.ndarray:
    """Rank of each score along the last axis, highest first: ``1 + #{j: scores_j > scores_i}``.

    Missing scores (NaN) get rank NaN and do not count for the others. Works on a vector or on draws ``(B, n)``.

    Examples
    --------
    >>> competition_ranks(np.array([70.0, 90.0, 70.0, np.nan])).tolist()
    [2.0, 1.0, 2.0, nan]

    R: ``rank(-c(70, 90, 70), ties.method = "min")`` gives 2 1 2.
    """
    s = np.asarray(scores, dtype=float)
    valid = ~np.isnan(s)
    filled = np.where(valid, s, -np.inf)
    higher = (filled[..., None, :] > filled[..., :, None]).sum(axis=-1)
    return np.where(valid, 1.0 + higher, np.nan)


@dataclass(frozen=True)
class RankIntervals:
    """Per unit: ``rank`` of the scores, ``low`` and ``high`` ends of its interval over the draws."""

    rank: np.ndarray
    low: np.ndarray
    high: np.ndarray


def rank_intervals(scores: np.ndarray, draws: np.ndarray, *, confidence_level: float = 0.95) -> RankIntervals:
    """Ranks of ``scores`` (n) and their intervals over ``draws`` (B × n draws of the same scores).

    ``low``/``high`` are the ``(1 ∓ confidence_level) / 2`` quantiles of each unit's draw ranks (linear
    interpolation, R ``quantile(type = 7)``) rounded outwards to whole ranks, then widened to contain ``rank``.
    A unit whose score is missing gets NaN; with no draws the interval is the rank itself.

    Examples
    --------
    >>> r = rank_intervals(np.array([80.0, 70.0]), np.array([[80.0, 70.0], [70.0, 80.0]]))
    >>> r.rank.tolist(), r.low.tolist(), r.high.tolist()
    ([1.0, 2.0], [1.0, 1.0], [2.0, 2.0])
    """
    if not 0 < confidence_level < 1:
        raise ValueError(f"confidence_level must lie strictly between 0 and 1, got {confidence_level!r}")
    rank = competition_ranks(scores)
    draws = np.asarray(draws, dtype=float)
    if draws.size == 0:
        return RankIntervals(rank=rank, low=rank.copy(), high=rank.copy())
    ranks = competition_ranks(draws)
    alpha = (1 - confidence_level) / 2
    with np.errstate(invalid="ignore"):
        low = np.floor(np.quantile(ranks, alpha, axis=0) + 1e-9)
        high = np.ceil(np.quantile(ranks, 1 - alpha, axis=0) - 1e-9)
    low = np.fmin(low, rank)
    high = np.fmax(high, rank)
    missing = np.isnan(rank)
    low[missing] = high[missing] = np.nan
    return RankIntervals(rank=rank, low=low, high=high)
