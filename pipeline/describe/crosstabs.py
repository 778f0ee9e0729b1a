"""Crosstab tests: every declared grouping × every single-choice and matrix item.

The row percentages of a crosstab are the ``frequencies`` rows with ``by`` = the grouping. Here, one row per
grouping × item: the Rao–Scott second-order F test of independence (``svychisq(statistic = "F")``) and
Cramér's V of the weighted table (:func:`pipeline.stats.crosstab_test` states why it is taken from the
weighted cell proportions). Groups suppressed by the small-cell rule are left out of the test (and named in
``reason``); the test is flagged ``small`` when a remaining group is below the marking threshold.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline import stats
from pipeline.describe.common import Described, by_series, item_labels
from pipeline.describe.frequencies import choice_items
from pipeline.schemas import column_names


def crosstab_table(described: Described) -> pd.DataFrame:
    """``crosstabs.parquet`` rows of one questionnaire."""
    d = described
    rows = []
    for by in d.groupings:
        labels = by_series(d.frame, by)
        for item in choice_items(d):
            if d.codebook.variables.get(by) == item.id:
                continue
            values = d.frame[item.id]
            valid = values.isin(list(item.substantive_codes)).to_numpy()
            sizes = stats.small_group_flags(labels.where(valid, None).dropna(), weights=d.design.weights[
                valid & labels.notna().to_numpy()], rule=d.rule)  # fmt: skip
            suppressed = [str(g) for g in sizes.index[sizes["flag"].eq("suppressed")]]
            kept = labels.where(valid & ~labels.isin(suppressed).to_numpy(), None)
            test = stats.crosstab_test(d.design, kept.rename(by), values.where(valid).rename(item.id))
            small = sizes.loc[~sizes.index.isin(suppressed), "flag"].eq("small").any()
            reasons = [test.pop("reason")]
            if suppressed:
                reasons.append(f"已排除样本量不足{d.rule.suppress_below}的组：{'、'.join(suppressed)}")
            rows.append(
                {**item_labels(item), "by": by, **test, "n": int(kept.notna().sum()),
                 "n_groups": int((~sizes.index.isin(suppressed)).sum()),
                 "flag": "small" if small and np.isfinite(test["p"]) else ("" if np.isfinite(test["p"]) else
                                                                           "suppressed"),
                 "reason": "；".join(r for r in reasons if r)}
            )  # fmt: skip
    out = pd.DataFrame(
        rows,
        columns=[c for c in column_names("describe", "crosstabs") if c not in ("instrument", "weighted")],
    )
    out.insert(0, "instrument", d.instrument)
    out["weighted"] = d.weighted
    return out[column_names("describe", "crosstabs")]
