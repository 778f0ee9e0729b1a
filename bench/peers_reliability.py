"""Speed of our Cronbach's alpha and item analysis against pingouin on the same data.

Run: ``.venv/bin/python -m bench.peers_reliability`` (or ``run()`` from Python). Each record:
``{"task", "n", "ours_s", "peer", "peer_s", "ratio"}`` with ``ratio = peer_s / ours_s`` (best of 3,
``time.perf_counter``); ratio > 1 means we are faster.

Tasks (one simulated 6-item five-point scale, one reverse-keyed item already reflected, no missing values):

* ``cronbach_alpha``: ``stats.cronbach_alpha`` (alpha, standardized alpha, lambda 6, Feldt CI) vs
  ``pingouin.cronbach_alpha(nan_policy="listwise")`` (alpha and its Feldt CI).
* ``item_analysis``: ``stats.item_analysis`` (means, SDs, corrected item-total r, r.cor, alpha if deleted,
  response frequencies, flags) vs what a pingouin user writes: ``pingouin.cronbach_alpha`` on the scale and on
  each k-1 item subset, plus the corrected item-total correlations with pandas ``corrwith``. The peer computes
  less (no frequencies, no r.cor), so the comparison favours the peer.

Before timing, each pair is checked to give the same alpha / alpha-if-deleted (to 1e-9).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from bench.timing import best_of as _best_of
from pipeline import stats

K_ITEMS = 6
AGREE_TOL = 1e-9


def simulate(n_rows: int, seed: int) -> pd.DataFrame:
    """A one-factor 6-item five-point scale (codes 1..5), n_rows respondents."""
    rng = np.random.default_rng(seed)
    f = rng.standard_normal(n_rows)
    loadings = np.array([0.8, 0.7, 0.6, 0.65, 0.5, 0.3])
    z = f[:, None] * loadings + rng.standard_normal((n_rows, K_ITEMS)) * np.sqrt(1 - loadings**2)
    codes = np.digitize(z + 0.3, [-1.5, -0.5, 0.5, 1.5]) + 1
    return pd.DataFrame(codes, columns=[f"q{j + 1}" for j in range(K_ITEMS)])


def _pingouin_item_analysis(items: pd.DataFrame) -> pd.DataFrame:
    import pingouin as pg

    total = items.sum(axis=1)
    rows = []
    for c in items.columns:
        rest = items.drop(columns=c)
        rows.append(
            {
                "item": c,
                "r_drop": items[c].corr(total - items[c]),
                "alpha_if_deleted": pg.cronbach_alpha(data=rest, nan_policy="listwise")[0],
            }
        )
    scale = pg.cronbach_alpha(data=items, nan_policy="listwise")[0]
    return pd.DataFrame(rows).assign(scale_alpha=scale)


def run(n_rows: int = 1_000_000, seed: int = 0) -> list[dict]:
    """Time ours vs pingouin on ``n_rows`` simulated respondents; return one record per task."""
    import pingouin as pg

    items = simulate(n_rows, seed)
    records = []

    def ours_alpha():
        return stats.cronbach_alpha(items, scale_range=(1, 5))

    def peer_alpha():
        return pg.cronbach_alpha(data=items, nan_policy="listwise")

    a, b = ours_alpha().alpha, peer_alpha()[0]
    if abs(a - b) > AGREE_TOL:
        raise RuntimeError(f"alpha disagrees with pingouin: {a} vs {b}")
    ours_s, _ = _best_of(ours_alpha)
    peer_s, _ = _best_of(peer_alpha)
    records.append(
        {
            "task": "cronbach_alpha",
            "n": n_rows,
            "ours_s": ours_s,
            "peer": "pingouin.cronbach_alpha",
            "peer_s": peer_s,
            "ratio": peer_s / ours_s,
        }
    )

    def ours_items():
        return stats.item_analysis(items, scale_range=(1, 5))

    def peer_items():
        return _pingouin_item_analysis(items)

    o, p = ours_items(), peer_items()
    if np.max(np.abs(o["alpha_if_deleted"].to_numpy() - p["alpha_if_deleted"].to_numpy())) > AGREE_TOL:
        raise RuntimeError("alpha if deleted disagrees with pingouin")
    ours_s, _ = _best_of(ours_items)
    peer_s, _ = _best_of(peer_items)
    records.append(
        {
            "task": "item_analysis",
            "n": n_rows,
            "ours_s": ours_s,
            "peer": "pingouin.cronbach_alpha x (k+1) + pandas corrwith",
            "peer_s": peer_s,
            "ratio": peer_s / ours_s,
        }
    )
    return records


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
