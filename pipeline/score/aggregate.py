"""From source scores to point, item, aspect, block and overall scores, renormalised over what was measured.

At every level a node's score is the weighted mean of its children's scores over the children that **apply** to
the unit and **have a score** (weights renormalised over them): a child without data is left out, never counted
as zero. Sources are fused within a point by ``indicators.yaml: source_weights`` the same way; points, items and
aspects use their own ``weight``; a block's weight is the sum of its aspects' weights, and the overall score is
the weighted mean of the blocks (so the blocks keep their 30/45/25 shares when an aspect is missing).

``coverage`` is the share of the intended weight that was measured: for a point, the source weight with data over
the source weight intended for the unit (:func:`pipeline.score.system.intended`); above it,
``Σ w_c · coverage_c / Σ w_c`` over the applicable children — the share of the unit's applicable weight, in
the product of the weights down the tree, that rests on data.

Standard errors combine the children's as independent, ``se = sqrt(Σ (w_c / Σw)² se_c²)`` over the children
with a score, a child without sampling error (checkpoint ratings) adding 0; NaN when no child has sampling error.
Independence is an approximation: points fed by the same respondents are positively correlated, so an aggregate
SE is somewhat too small. Intervals above the sources are normal: ``score ± z · se``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.config.models import SOURCES


@dataclass(frozen=True)
class Level:
    """One level's arrays over (…, units, nodes): score, variance (0 where not sampled), whether any sampled
    part contributed, applicability, coverage, number of points with a score, and the sources used (bool per
    source: (sources, …, units, nodes))."""

    score: np.ndarray
    var: np.ndarray
    sampled: np.ndarray
    applies: np.ndarray
    coverage: np.ndarray
    n: np.ndarray
    sources: np.ndarray


def membership(parent: np.ndarray, n_parents: int, weights: np.ndarray | None = None) -> np.ndarray:
    """(children × parents) matrix: ``weights`` (default 1) where the child belongs to the parent."""
    m = np.zeros((len(parent), n_parents))
    m[np.arange(len(parent)), parent] = 1.0 if weights is None else weights
    return m


def fuse_sources(
    score: dict[str, np.ndarray],
    var: dict[str, np.ndarray],
    n: dict[str, np.ndarray],
    intended: dict[str, np.ndarray],
    source_weights: dict[str, float],
) -> Level:
    """Point level: the sources of each unit × point fused by ``source_weights`` over those with a score.

    Arrays are (units × points); ``var`` is NaN for a source without sampling error."""
    shape = next(iter(intended.values())).shape
    num, den, want = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    total_n = np.zeros(shape)
    present = {}
    for s in SOURCES:
        w = float(source_weights.get(s, 0.0))
        has = intended[s] & ~np.isnan(score[s])
        present[s] = has
        want += w * intended[s]
        num += np.where(has, w * np.nan_to_num(score[s]), 0.0)
        den += w * has
        total_n += np.where(has, n[s], 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(den > 0, num / den, np.nan)
        v, sampled = np.zeros(shape), np.zeros(shape, dtype=bool)
        for s in SOURCES:
            w = float(source_weights.get(s, 0.0))
            has_var = present[s] & ~np.isnan(var[s])
            v += np.where(has_var, (w / np.where(den > 0, den, 1)) ** 2 * np.nan_to_num(var[s]), 0.0)
            sampled |= has_var
        applies = want > 0
        coverage = np.where(applies, den / np.where(want > 0, want, 1), np.nan)
    return Level(score=out, var=v, sampled=sampled, applies=applies, coverage=coverage,
                 n=total_n, sources=np.stack([present[s] for s in SOURCES]))  # fmt: skip


def roll_up(
    child: Level, weights: np.ndarray, parent: np.ndarray, n_parents: int, *, count_points: bool
) -> Level:
    """The next level up from ``child``: weighted means renormalised over the applicable children with a score.

    ``weights`` is (children,) or (…, children) for per-draw weights; ``count_points``: the child is the point
    level, so its ``n`` counts one point each (above, the points with a score are summed)."""
    weights = np.asarray(weights, dtype=float)
    m = membership(parent, n_parents)  # children × parents
    wm = weights[..., :, None] * m  # (…, children, parents)
    has = child.applies & ~np.isnan(child.score)
    with np.errstate(invalid="ignore", divide="ignore"):
        den = _dot(has, wm)
        num = _dot(np.where(has, child.score, 0.0), wm)
        score = np.where(den > 0, num / den, np.nan)
        var = _dot(np.where(has, child.var, 0.0), wm**2) / np.where(den > 0, den, 1) ** 2
        sampled = _dot(has & child.sampled, m) > 0
        applies_w = _dot(child.applies, wm)
        applies = _dot(child.applies, m) > 0
        coverage = np.where(
            applies, _dot(np.where(child.applies, child.coverage, 0.0), wm) / applies_w, np.nan
        )
    n = _dot(has.astype(float) if count_points else np.where(has, child.n, 0.0), m)
    # the sources used are not followed through per-draw arrays (the rank draws need scores only)
    sources = _dot(child.sources & has, m) > 0 if child.sources.shape[1:] == has.shape else np.zeros(0, bool)
    return Level(score=score, var=np.where(sampled, var, 0.0), sampled=sampled, applies=applies,
                 coverage=coverage, n=n, sources=sources)  # fmt: skip


def _dot(a: np.ndarray, m: np.ndarray) -> np.ndarray:
    """``a @ m`` over the last axis of ``a`` (…, units, children) and ``m`` (children, parents) or per draw
    (…, children, parents)."""
    return np.matmul(np.asarray(a, dtype=float), m)
