"""Answers of ordered items (Likert, agreement, frequency sets of any length) from the latent model.

For respondent ``r`` and ordered item ``j`` of scale ``s``::

    y = b_j + λ·Q_j(r) + 0.55·G_r + 0.45·S_rs + 0.6·ε + bias_r,     answer = ladder_j[#{cuts_j < y}]

``Q_j(r)`` = the true quality (latent.py) of the indicator items ``j`` feeds, as seen by ``r`` (own unit or
district); ``G`` a general and ``S`` a scale factor of the respondent; ``b_j`` ~ N(0.15, 0.2) an item
offset. ``ladder_j`` = the item's substantive codes from the worst to the best score (``scoring.scores``; an
ordered item without scoring counts its codes upwards). The cuts sit where a 0–100 true score crosses the
midpoints between neighbouring option scores; the true score is the piecewise-linear map through
(12.5, 25 … 87.5) → :data:`CUTS` (extended linearly beyond), which for the five-point 0/25/50/75/100 scales is
exactly :data:`CUTS` — so a 4-, 7- or 10-point set has the same latent spread as a five-point one. Reverse-worded
items take the mirror position on the ladder. Don't-know (code of the ``missing`` option) replaces the answer with
probability ``r_j · dk_mult_r``, ``r_j`` ~ U(3%, 10%). The attention-check item gets its pass code except for a
``fail_rate`` share. Cutpoints give a 满意率 (top two of five) of roughly 70–80%.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from pipeline.config.codebook import Codebook, CodebookItem
from pipeline.simulate.responses import is_latent, ladder, ladder_scores

CUTS = np.array([-1.9, -1.15, -0.45, 0.6])
#: the 0–100 true scores at which :data:`CUTS` sit: midpoints between the five-point scale's option scores.
CUT_SCORES = np.array([12.5, 37.5, 62.5, 87.5])
DK_RANGE = (0.03, 0.10)


def latent_cuts(scores: np.ndarray) -> np.ndarray:
    """Cutpoints on the latent ``y`` between options scored ``scores`` (ascending; any range, rescaled to 0–100)."""
    lo, hi = scores[0], scores[-1]
    pos = 100.0 * (scores - lo) / (hi - lo) if hi > lo else np.linspace(0.0, 100.0, len(scores))
    mid = (pos[:-1] + pos[1:]) / 2
    if np.array_equal(mid, CUT_SCORES):
        return CUTS
    cuts = np.interp(mid, CUT_SCORES, CUTS)
    first = (CUTS[1] - CUTS[0]) / (CUT_SCORES[1] - CUT_SCORES[0])
    last = (CUTS[-1] - CUTS[-2]) / (CUT_SCORES[-1] - CUT_SCORES[-2])
    cuts = np.where(mid < CUT_SCORES[0], CUTS[0] + first * (mid - CUT_SCORES[0]), cuts)
    return np.where(mid > CUT_SCORES[-1], CUTS[-1] + last * (mid - CUT_SCORES[-1]), cuts)


def ordered_answers(item: CodebookItem, y: np.ndarray) -> np.ndarray:
    """Codes of an ordered item from the latent ``y`` (reverse items mirrored on the ladder)."""
    steps = ladder(item)
    k = np.searchsorted(latent_cuts(ladder_scores(item)), y)
    if item.reverse:
        k = len(steps) - 1 - k
    return steps[k].astype(np.int16)


def likert_answers(
    cb: Codebook,
    rng: np.random.Generator,
    n: int,
    perceived: Callable[[tuple[str, ...]], np.ndarray],
    *,
    loading: float,
    bias: np.ndarray,
    dk_mult: np.ndarray,
    ac_fail_rate: float,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Codes of every ordered item and of the attention check; also the boolean array of planted AC failures."""
    q = cb.questionnaire
    scale_of = {i: k for k, s in enumerate(q.scales) for i in s.items}
    g = rng.standard_normal(n)
    s = rng.standard_normal((n, max(len(q.scales), 1)))
    ac_item = q.attention_check.item if q.attention_check else None
    out: dict[str, np.ndarray] = {}
    for item in cb.items:
        if item.id == ac_item or not is_latent(item):
            continue
        b = 0.15 + 0.2 * rng.standard_normal()
        eps = rng.standard_normal(n)
        k = scale_of.get(item.id)
        scale_part = 0.45 * s[:, k] if k is not None else 0.45 * rng.standard_normal(n)
        y = b + loading * perceived(item.feeds) + 0.55 * g + scale_part + 0.6 * eps + bias
        code = ordered_answers(item, y)
        missing = sorted(item.missing_codes)
        rate = rng.uniform(*DK_RANGE)
        dk = rng.random(n) < rate * dk_mult
        if missing:
            code = np.where(dk, missing[0], code).astype(np.int16)
        out[item.id] = code
    fail = np.zeros(n, dtype=bool)
    if ac_item is not None:
        item = cb.item(ac_item)
        pass_code = q.attention_check.pass_code  # type: ignore[union-attr]
        others = np.array([c for c in item.substantive_codes if c != pass_code])
        fail = rng.random(n) < ac_fail_rate
        code = np.full(n, pass_code, dtype=np.int16)
        code[fail] = others[rng.integers(0, len(others), int(fail.sum()))]
        out[ac_item] = code
    return out, fail
