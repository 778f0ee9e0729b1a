"""Speed of our Games–Howell and Welch ANOVA against pingouin on the same data (8 districts).

Run: ``.venv/bin/python -m bench.peers_comparisons`` (or ``run()`` from Python). Each record:
``{"task", "n", "ours_s", "peer", "peer_s", "ratio"}`` with ``ratio = peer_s / ours_s`` (best of 3,
``time.perf_counter``).

Fairness: both sides start from the same DataFrame with a string district column (no pre-computed codes).
Ours does *more* work than the peer: Games–Howell also returns simultaneous confidence intervals and Hedges'
g with a noncentral-t CI per pair (pingouin returns p and a point g only); Welch ANOVA also returns ω² with a
noncentral-F CI. The two results are checked to agree before timing is reported.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pingouin as pg

from bench.timing import best_of as _best_of
from pipeline import stats

DISTRICTS = ["城关区", "七里河区", "西固区", "安宁区", "红古区", "永登县", "皋兰县", "榆中县"]


def simulate(n_rows: int, seed: int) -> pd.DataFrame:
    """Unequal district sizes, means and SDs: a 0–100 index score per respondent."""
    rng = np.random.default_rng(seed)
    shares = np.array([35, 17, 10, 11, 4, 9, 4, 10], dtype=float)
    codes = rng.choice(len(DISTRICTS), n_rows, p=shares / shares.sum())
    mu = np.array([72, 70, 68, 74, 66, 65, 67, 69], dtype=float)
    sd = np.array([12, 14, 11, 13, 15, 16, 12, 14], dtype=float)
    return pd.DataFrame(
        {"district": np.asarray(DISTRICTS, dtype=object)[codes], "score": rng.normal(mu[codes], sd[codes])}
    )


def run(n_rows: int = 1_000_000, seed: int = 0) -> list[dict]:
    """Time games_howell and welch_anova against pingouin; one record per comparison."""
    frame = simulate(n_rows, seed)
    records = []

    ours_s, ours = _best_of(lambda: stats.games_howell(frame, dv="score", between="district"))
    peer_s, peer = _best_of(lambda: pg.pairwise_gameshowell(data=frame, dv="score", between="district"))
    # ours integrates the exact finite-df tail; scipy (pingouin) switches to the ν = ∞ formula above 1e5
    np.testing.assert_allclose(ours["p"].to_numpy(), peer["pval"].to_numpy(), atol=1e-6)
    records.append(
        {
            "task": "Games–Howell, 8 groups (28 pairs; ours + CIs and g CIs)",
            "n": n_rows,
            "ours_s": ours_s,
            "peer": f"pingouin {pg.__version__} pairwise_gameshowell",
            "peer_s": peer_s,
            "ratio": peer_s / ours_s,
        }
    )

    ours_s, ours = _best_of(lambda: stats.welch_anova(frame, dv="score", between="district"))
    peer_s, peer = _best_of(lambda: pg.welch_anova(data=frame, dv="score", between="district"))
    np.testing.assert_allclose(ours.statistic, peer["F"].iloc[0], rtol=1e-9)
    records.append(
        {
            "task": "Welch ANOVA, 8 groups (ours + ω² CI)",
            "n": n_rows,
            "ours_s": ours_s,
            "peer": f"pingouin {pg.__version__} welch_anova",
            "peer_s": peer_s,
            "ratio": peer_s / ours_s,
        }
    )
    return records


if __name__ == "__main__":
    for record in run():
        print(record)
