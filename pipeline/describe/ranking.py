"""Ranking items: per option the mean rank, the share ranked first, the share ranked in the top t, a Borda score.

A ranking item has one column ``<item>_<code>`` per option holding the rank the respondent gave it (1 = first,
missing = not ranked); k is the number of ranks a respondent may give (``max_choices``, else the number of
options). The base is the respondents who ranked at least one option (skipped and unanswered respondents are
left out). Measures (``measure``), each weighted with its design-based SE and interval:

* ``mean_rank`` — the mean rank of the option among the respondents who ranked it (lower = preferred); t
  interval (:func:`pipeline.stats.domain_mean_table`);
* ``share_first`` — percent of respondents ranking the option first (``svyciprop`` interval);
* ``share_top_<t>`` for t = 2 … k — percent ranking it at rank t or better (``share_top_<k>`` = ranked at all);
* ``borda`` — Borda score: an option ranked r gets k − r + 1 points (k for first, 1 for the k-th), an
  unranked option 0; the mean points over the base, from 0 (nobody ranked it) to k (everyone ranked it
  first); t interval.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline import stats
from pipeline.describe.common import Described, by_series, group_flags, item_labels
from pipeline.schemas import column_names


def _mean_row(d: Described, values: pd.Series, labels: pd.Series) -> dict:
    t = stats.domain_mean_table(d.design, values, labels, small_n=d.rule.flag_below, min_n=0,
                                confidence_level=d.confidence_level).table  # fmt: skip
    if not len(t):
        return {"estimate": np.nan, "se": np.nan, "ci_low": np.nan, "ci_high": np.nan, "n": 0, "n_eff": 0.0}
    r = t.iloc[0]
    return {k: r[k] for k in ("estimate", "se", "ci_low", "ci_high", "n", "n_eff")}


def ranking_table(described: Described) -> pd.DataFrame:
    """``ranking.parquet`` rows of one questionnaire (whole sample)."""
    d = described
    parts = []
    for item in d.codebook.items:
        columns = [f"{item.id}_{o.code}" for o in item.options]
        if item.type != "ranking" or not columns or any(c not in d.frame.columns for c in columns):
            continue
        k = item.max_choices or len(columns)
        ranks = d.frame[columns].astype("Float64")
        ranks = ranks.where((ranks >= 1) & (ranks <= k))
        answered = ranks.notna().any(axis=1).to_numpy()
        labels = by_series(d.frame, None, answered)
        n_valid = int(answered.sum())
        rows = []
        for j, option in enumerate(item.options):
            rank = ranks.iloc[:, j].astype(float)
            base = {"option_code": option.code, "option_label": option.text, "k": k, "n_valid": n_valid}
            ranked = labels.where(rank.notna(), None)
            rows.append({**base, "measure": "mean_rank", **_mean_row(d, rank, ranked)})
            for t in range(1, k + 1):
                top = pd.Series(np.where(answered, (rank <= t).astype(float), np.nan), index=d.frame.index)
                p = stats.category_proportions(d.design, top, [0, 1], by=labels, method=d.method,
                                               confidence_level=d.confidence_level).iloc[1]  # fmt: skip
                rows.append({**base, "measure": "share_first" if t == 1 else f"share_top_{t}",
                             "estimate": 100 * p["estimate"], "se": 100 * p["se"], "ci_low": 100 * p["ci_low"],
                             "ci_high": 100 * p["ci_high"], "n": int(p["n"]), "n_eff": p["n_eff"]})  # fmt: skip
            points = pd.Series(np.where(answered, (k + 1 - rank).fillna(0.0), np.nan), index=d.frame.index)
            rows.append({**base, "measure": "borda", **_mean_row(d, points, labels)})
        out = pd.DataFrame(rows)
        for key, value in item_labels(item).items():
            out[key] = value
        out["n_eff_base"] = float(stats.kish_n_eff(d.design.weights[answered])) if n_valid else 0.0
        parts.append(group_flags(out, d.rule, size="n_eff_base"))
    if not parts:
        return pd.DataFrame(columns=column_names("describe", "ranking"))
    out = pd.concat(parts, ignore_index=True)
    out["instrument"], out["weighted"] = d.instrument, d.weighted
    out["n"] = out["n"].astype("Int64")
    return out[column_names("describe", "ranking")]
