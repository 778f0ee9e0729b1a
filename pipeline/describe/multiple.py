"""Multiple-choice items: per option the case % and the response %, the number of options chosen, 其他 text.

Base: the respondents who answered the item (an ``<item>_<code>`` 0/1 column not missing; skipped respondents
have none). ``kind = "option"`` rows: the case % (weighted share of respondents choosing the option, with SE
and a ``svyciprop`` interval) and the response % (its weighted share of all choices made, no interval);
``kind = "n_chosen"`` rows (``option_code`` = number of options chosen): the weighted distribution of that
number, with intervals. ``mean_chosen`` is the weighted mean number of options chosen and ``other_text_n``
the respondents who wrote a 其他 text (both repeated on every row of the item).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline import stats
from pipeline.describe.common import Described, by_series, group_flags, item_labels
from pipeline.schemas import column_names


def multiple_table(described: Described) -> pd.DataFrame:
    """``multiple.parquet`` rows of one questionnaire (whole sample)."""
    d = described
    parts = []
    for item in d.codebook.items:
        columns = [f"{item.id}_{o.code}" for o in item.options]
        if item.type != "multiple" or not columns or any(c not in d.frame.columns for c in columns):
            continue
        chosen = d.frame[columns].astype("Float64").where(lambda x: x >= 0)
        answered = chosen.notna().any(axis=1).to_numpy()
        labels = by_series(d.frame, None, answered)
        rows = []
        w = d.design.weights
        picks = chosen.fillna(0).to_numpy(dtype=float)
        weighted_picks = (picks[answered] * w[answered, None]).sum(axis=0)
        for j, option in enumerate(item.options):
            p = stats.category_proportions(d.design, chosen.iloc[:, j].where(answered), [0, 1], by=labels,
                                           method=d.method, confidence_level=d.confidence_level).iloc[1]  # fmt: skip
            rows.append({"kind": "option", "option_code": option.code, "option_label": option.text,
                         "n": int(p["n"]), "percent": 100 * p["estimate"], "se": 100 * p["se"],
                         "ci_low": 100 * p["ci_low"], "ci_high": 100 * p["ci_high"],
                         "response_percent": 100 * weighted_picks[j] / weighted_picks.sum()
                         if weighted_picks.sum() > 0 else np.nan,
                         "n_valid": int(p["n_valid"]), "n_eff": p["n_eff"]})  # fmt: skip
        count = pd.Series(np.where(answered, picks.sum(axis=1), np.nan), index=d.frame.index, name="n_chosen")
        dist = stats.category_proportions(d.design, count, list(range(len(columns) + 1)), by=labels,
                                          method=d.method, confidence_level=d.confidence_level)  # fmt: skip
        for r in dist.itertuples(index=False):
            rows.append({"kind": "n_chosen", "option_code": int(r.level), "option_label": f"选{int(r.level)}项",
                         "n": int(r.n), "percent": 100 * r.estimate, "se": 100 * r.se, "ci_low": 100 * r.ci_low,
                         "ci_high": 100 * r.ci_high, "response_percent": np.nan, "n_valid": int(r.n_valid),
                         "n_eff": r.n_eff})  # fmt: skip
        out = pd.DataFrame(rows)
        mean = d.design.mean(count) if answered.sum() else None
        out["mean_chosen"] = float(mean["estimate"].iloc[0]) if mean is not None else np.nan
        other = f"{item.id}_other_text"
        out["other_text_n"] = (
            int(d.frame[other].astype("string").str.strip().fillna("").ne("").sum())
            if other in d.frame
            else 0
        )
        for key, value in item_labels(item).items():
            out[key] = value
        parts.append(group_flags(out, d.rule))
    if not parts:
        return pd.DataFrame(columns=column_names("describe", "multiple"))
    out = pd.concat(parts, ignore_index=True)
    out["instrument"], out["weighted"] = d.instrument, d.weighted
    return out[column_names("describe", "multiple")]
