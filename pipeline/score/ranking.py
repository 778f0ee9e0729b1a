"""Ranks of the units within each unit type, how sure they are, and tiers (梯队).

* ``rank`` — by the overall score, highest first (ties share the better rank).
* Sampling error — ``draws`` parametric draws of every point score, ``N(score, se)`` clipped to 0–100 (points
  without sampling error fixed), each rolled up to an overall score with the configured weights:
  ``rank_low_sampling`` … ``rank_high_sampling``.
* Alternative weights — the same number of draws of the weights of items, aspects and blocks, each group of
  siblings drawn from ``Dirichlet(concentration × weights)`` around the configured ones (the points' weights
  within an item, a detail of measurement, stay), scores fixed:
  ``rank_low_weights`` … ``rank_high_weights``; and ``rank_equal_weights``, the rank with equal weights among
  siblings at every level.
* ``rank_low`` … ``rank_high`` — both at once (each draw perturbs the scores and the weights), widened to contain
  ``rank`` and ``rank_equal_weights``: the interval to quote.
* ``tier`` — units in rank order; the first opens tier 1 and each unit joins the current tier when its interval
  reaches the tier's first unit's (``rank_low ≤ rank_high`` of that unit), otherwise it opens the next tier.
  Units of one tier cannot be told apart with confidence from the tier's leader.

Intervals are percentiles of the draw ranks (:func:`pipeline.stats.rank_intervals`); the draws are seeded by
the run's seed. A unit without an overall score has no rank.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline import stats
from pipeline.config.models import RankingSettings
from pipeline.score.aggregate import Level, roll_up
from pipeline.score.system import Tree

CHUNK = 200
"""Draws rolled up at once (bounds the memory of the draw arrays)."""


def overall_scores(point: Level, tree: Tree, weights: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """Overall score per unit (…, units) from point-level arrays, with ``weights`` per level (default: the
    configured ones; each may carry a leading draw axis): :func:`pipeline.score.aggregate.roll_up`'s scores."""
    w = weights or tree.weights
    level = point
    for lv, up, count in (("point", "item", True), ("item", "aspect", False), ("aspect", "block", False),
                          ("block", "overall", False)):  # fmt: skip
        level = roll_up(level, w[lv], tree.parent[lv], len(tree.ids[up]), count_points=count)
    return level.score[..., 0]


class FastOverall:
    """The overall scores of many draws at once: the score part of :func:`overall_scores` only, with each
    level's children summed per parent by ``np.add.reduceat`` over children sorted by parent (equal to
    :func:`overall_scores`, tested)."""

    def __init__(self, applies: np.ndarray, tree: Tree, start: str = "point"):
        self.steps = []
        chain = (("point", "item"), ("item", "aspect"), ("aspect", "block"), ("block", "overall"))
        for lv, up in chain[[c[0] for c in chain].index(start) :]:
            parent = tree.parent[lv]
            order = np.argsort(parent, kind="stable")
            starts = np.flatnonzero(np.r_[True, np.diff(parent[order]) != 0])
            self.steps.append((lv, order, starts, parent[order][starts], len(tree.ids[up])))
        self.applies = applies

    def __call__(self, score: np.ndarray, weights: dict[str, np.ndarray]) -> np.ndarray:
        applies = self.applies
        for lv, order, starts, present_parents, n_up in self.steps:
            w = np.asarray(weights[lv], dtype=float)[..., order]
            s = score[..., order]
            a = applies[..., order]
            has = a & ~np.isnan(s)
            ws = np.where(has, w[..., None, :] if w.ndim > 1 else w, 0.0)
            num = np.add.reduceat(ws * np.where(has, s, 0.0), starts, axis=-1)
            den = np.add.reduceat(ws, starts, axis=-1)
            up_applies = np.add.reduceat(a.astype(np.int8), starts, axis=-1) > 0
            with np.errstate(invalid="ignore", divide="ignore"):
                part = np.where(den > 0, num / den, np.nan)
            score = np.full((*part.shape[:-1], n_up), np.nan)
            score[..., present_parents] = part
            applies = np.zeros((*up_applies.shape[:-1], n_up), dtype=bool)
            applies[..., present_parents] = up_applies
        return score[..., 0]


def _dirichlet_weights(tree: Tree, rng: np.random.Generator, draws: int, concentration: float):
    """Per level (item, aspect, block) ``draws`` weight vectors, each sibling group Dirichlet around its weights."""
    out = {}
    for lv in ("item", "aspect", "block"):
        w, parent = tree.weights[lv], tree.parent[lv]
        g = rng.gamma(np.maximum(concentration * w, 1e-9)[None, :], size=(draws, len(w)))
        sums = np.zeros((draws, parent.max() + 1))
        np.add.at(sums.T, parent, g.T)
        group_total = np.array([w[parent == k].sum() for k in range(parent.max() + 1)])
        out[lv] = g / sums[:, parent] * group_total[parent]
    return out


def _equal_weights(tree: Tree) -> dict[str, np.ndarray]:
    out = {}
    for lv in ("point", "item", "aspect", "block"):
        parent = tree.parent[lv]
        size = np.bincount(parent)
        out[lv] = 1.0 / size[parent]
    return out


class ItemDraws:
    """Item scores (draws × units × items) with the sampled point scores drawn from N(score, se), clipped to
    0–100, point weights fixed. An item score is linear in its points' scores (the renormalised weights depend
    only on which points have data), so each draw is the item score plus the weighted sum of its points'
    deviations: only the sampled cells are drawn."""

    def __init__(self, point: Level, item: Level, tree: Tree):
        parent = tree.parent["point"]
        has = point.applies & ~np.isnan(point.score)
        w = np.where(has, tree.weights["point"], 0.0)
        den = np.zeros(item.score.shape)
        np.add.at(den.T, parent, w.T)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = w / den[:, parent]  # a point's share of its item for the unit
        unit, pt = np.nonzero(point.sampled & (point.var > 0) & has)
        self.unit, self.item = unit, parent[pt]
        self.score, self.sd = point.score[unit, pt], np.sqrt(point.var[unit, pt])
        self.share = share[unit, pt]
        self.base = item.score
        self.flat = unit * item.score.shape[1] + self.item

    def __call__(self, rng: np.random.Generator, draws: int) -> np.ndarray:
        noisy = np.clip(self.score + rng.standard_normal((draws, len(self.score))) * self.sd, 0.0, 100.0)
        size = self.base.size
        offsets = (np.arange(draws) * size)[:, None]
        delta = np.bincount((self.flat + offsets).ravel(), ((noisy - self.score) * self.share).ravel(),
                            minlength=draws * size)  # fmt: skip
        return self.base[None] + delta.reshape(draws, *self.base.shape)


def rank_units(
    point: Level,
    item: Level,
    tree: Tree,
    unit_codes: list[str],
    unit_types: list[str],
    settings: RankingSettings,
    seed: int,
) -> pd.DataFrame:
    """The ranking table rows (one per unit in ``unit_codes``; the point arrays hold those units only)."""
    score = overall_scores(point, tree)
    equal = overall_scores(point, tree, _equal_weights(tree))
    fast = FastOverall(item.applies, tree, start="item")
    item_draws = ItemDraws(point, item, tree)
    rng = np.random.default_rng([seed, 7])
    sampling, weighting, joint = [], [], []
    done = 0
    while done < settings.draws:
        b = min(CHUNK, settings.draws - done)
        noisy = item_draws(rng, b)
        weights = _dirichlet_weights(tree, rng, b, settings.weight_concentration)
        sampling.append(fast(noisy, tree.weights))
        weighting.append(fast(item.score, weights))
        joint.append(fast(noisy, weights))
        done += b
    draws = {k: (np.concatenate(v) if v else np.empty((0, len(unit_codes))))
             for k, v in (("sampling", sampling), ("weights", weighting), ("joint", joint))}  # fmt: skip
    types = np.asarray(unit_types)
    frames = []
    for t in dict.fromkeys(unit_types):
        idx = np.flatnonzero(types == t)
        level = settings.confidence_level
        parts = {
            k: stats.rank_intervals(score[idx], d[:, idx], confidence_level=level) for k, d in draws.items()
        }
        eq = stats.competition_ranks(np.where(np.isnan(score[idx]), np.nan, equal[idx]))
        joint_r = parts["joint"]
        low, high = np.fmin(joint_r.low, eq), np.fmax(joint_r.high, eq)
        frames.append(pd.DataFrame({
            "unit": np.asarray(unit_codes)[idx], "unit_type": t, "score": score[idx], "rank": joint_r.rank,
            "rank_low": low, "rank_high": high, "tier": tiers(joint_r.rank, low, high),
            "rank_low_sampling": parts["sampling"].low, "rank_high_sampling": parts["sampling"].high,
            "rank_low_weights": parts["weights"].low, "rank_high_weights": parts["weights"].high,
            "rank_equal_weights": eq, "n_units": int(np.sum(~np.isnan(score[idx]))),
        }))  # fmt: skip
    out = pd.concat(frames, ignore_index=True)
    for col in ("rank", "rank_low", "rank_high", "tier", "rank_low_sampling", "rank_high_sampling",
                "rank_low_weights", "rank_high_weights", "rank_equal_weights"):  # fmt: skip
        out[col] = pd.array(
            np.where(np.isnan(out[col].to_numpy(dtype=float)), np.nan, out[col]), dtype="Float64"
        )
        out[col] = out[col].round().astype("Int64")
    out["n_units"] = out["n_units"].astype("int64")
    return out


def tiers(rank: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Tier of each unit (see the module docstring); NaN for a unit without a rank.

    >>> tiers(np.array([1.0, 2.0, 3.0]), np.array([1.0, 1.0, 3.0]), np.array([2.0, 3.0, 3.0])).tolist()
    [1.0, 1.0, 2.0]
    """
    out = np.full(len(rank), np.nan)
    order = [i for i in np.argsort(rank, kind="stable") if not np.isnan(rank[i])]
    tier, leader_high = 0, -np.inf
    for i in order:
        if tier == 0 or low[i] > leader_high:
            tier += 1
            leader_high = high[i]
        out[i] = tier
    return out
