"""Likert answers from the latent model.

For respondent ``r`` and five-point item ``j`` of scale ``s``::

    y = b_j + λ·Q_j(r) + 0.55·G_r + 0.45·S_rs + 0.6·ε + bias_r,     code = 1 + #{cuts < y}

``Q_j(r)`` = the true quality (latent.py) of the indicator items ``j`` feeds, as seen by ``r`` (own unit or
district); ``G`` a general and ``S`` a scale factor of the respondent; ``b_j`` ~ N(0.15, 0.2) an item
offset. Reverse-worded items are then recoded ``6 − code``. Don't-know (code of the ``missing`` option) replaces
the answer with probability ``r_j · dk_mult_r``, ``r_j`` ~ U(3%, 10%). The attention-check item gets its pass
code except for a ``fail_rate`` share. Cutpoints give a 满意率 (codes 4–5) of roughly 70–80%.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from pipeline.config.codebook import Codebook
from pipeline.simulate.responses import is_likert, ordinal

CUTS = np.array([-1.9, -1.15, -0.45, 0.6])
DK_RANGE = (0.03, 0.10)


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
    """Codes of every Likert item and of the attention check; also the boolean array of planted AC failures."""
    q = cb.questionnaire
    scale_of = {i: k for k, s in enumerate(q.scales) for i in s.items}
    g = rng.standard_normal(n)
    s = rng.standard_normal((n, max(len(q.scales), 1)))
    ac_item = q.attention_check.item if q.attention_check else None
    out: dict[str, np.ndarray] = {}
    for item in cb.items:
        if item.id == ac_item or not is_likert(item):
            continue
        b = 0.15 + 0.2 * rng.standard_normal()
        eps = rng.standard_normal(n)
        k = scale_of.get(item.id)
        scale_part = 0.45 * s[:, k] if k is not None else 0.45 * rng.standard_normal(n)
        y = b + loading * perceived(item.feeds) + 0.55 * g + scale_part + 0.6 * eps + bias
        code = ordinal(y, CUTS)
        if item.reverse:
            code = (6 - code).astype(np.int16)
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
