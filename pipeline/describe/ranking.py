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

Overall and by every grouping (as the frequencies); the small-cell rule applies to the Kish n of each
domain's respondents who ranked.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline import stats
from pipeline.config.codebook import CodebookItem
from pipeline.describe.common import (
    Described,
    domain_labels,
    domains,
    group_flags,
    item_labels,
    option_items,
    shares,
    slots_of,
    sums_of,
)
from pipeline.schemas import column_names


def _means(d: Described, values: pd.Series, labels: pd.Series, groups: tuple[str, ...]) -> list[dict]:
    """Weighted mean of ``values`` in each of ``groups`` (:func:`pipeline.stats.domain_mean_table`, t interval);
    an empty group gets NaN."""
    empty = {"estimate": np.nan, "se": np.nan, "ci_low": np.nan, "ci_high": np.nan, "n": 0, "n_eff": 0.0}
    if labels.isna().all():
        return [empty] * len(groups)
    t = stats.domain_mean_table(d.design, values, labels, small_n=d.rule.flag_below, min_n=0,
                                confidence_level=d.confidence_level).table.set_index("group")  # fmt: skip
    keys = ("estimate", "se", "ci_low", "ci_high", "n", "n_eff")
    return [{k: t.at[g, k] for k in keys} if g in t.index else empty for g in groups]


def ranking_items(described: Described) -> list[tuple[CodebookItem, list[str]]]:
    """The ranking items with every ``<item>_<code>`` rank column in the frame, and those columns."""
    return option_items(described, "ranking")


def _item_rows(d: Described, item: CodebookItem, columns: list[str], by: str | None) -> pd.DataFrame:
    """The rows of one ranking item in the domains of ``by``: per domain, every option's measures."""
    dom = domains(d, by)
    k = item.max_choices or len(columns)
    ranks = d.frame[columns].astype("Float64")
    ranks = ranks.where((ranks >= 1) & (ranks <= k))
    answered = ranks.notna().any(axis=1).to_numpy()
    labels = domain_labels(d, by, answered)
    inside = answered & (dom.gcode >= 0)
    n_groups = len(dom.labels)
    n_valid = np.bincount(dom.gcode[inside], minlength=n_groups)
    w = d.design.weights
    sw = np.bincount(dom.gcode[inside], weights=w[inside], minlength=n_groups)
    sw2 = np.bincount(dom.gcode[inside], weights=w[inside] ** 2, minlength=n_groups)
    with np.errstate(divide="ignore", invalid="ignore"):
        n_eff_base = np.where(n_valid > 0, stats.kish_n_eff_from_sums(sw, sw2), 0.0)
    per_group: list[list[dict]] = [[] for _ in range(n_groups)]
    for j, option in enumerate(item.options):
        rank = ranks.iloc[:, j].astype(float)
        ranked = rank.notna().to_numpy()
        means = _means(d, rank, domain_labels(d, by, ranked), dom.labels)
        tops = []
        for t in range(1, k + 1):
            top = pd.Series(np.where(answered, (rank <= t).astype(float), np.nan), index=d.frame.index)
            key = ("ranking", item.id, j, t)
            if ("slots", key) not in d.cache:
                d.cache[("slots", key)] = slots_of(top, [0, 1])
            tops.append(shares(d, dom, sums_of(d, dom, d.cache[("slots", key)], key=key)))
        points = pd.Series(np.where(answered, (k + 1 - rank).fillna(0.0), np.nan), index=d.frame.index)
        borda = _means(d, points, labels, dom.labels)
        for g in range(n_groups):
            base = {"option_code": option.code, "option_label": option.text, "k": k, "n_valid": int(n_valid[g]),
                    "n_eff_base": float(n_eff_base[g])}  # fmt: skip
            rows = per_group[g]
            rows.append({**base, "measure": "mean_rank", **means[g]})
            for t, p in enumerate(tops, start=1):
                rows.append({**base, "measure": "share_first" if t == 1 else f"share_top_{t}",
                             "estimate": 100 * p["estimate"][g, 1], "se": 100 * p["se"][g, 1],
                             "ci_low": 100 * p["ci_low"][g, 1], "ci_high": 100 * p["ci_high"][g, 1],
                             "n": int(p["n"][g, 1]), "n_eff": p["n_eff"][g]})  # fmt: skip
            rows.append({**base, "measure": "borda", **borda[g]})
    parts = []
    for g, rows in enumerate(per_group):
        part = pd.DataFrame(rows)
        part["by"], part["group"] = dom.by, dom.labels[g]
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def ranking_table(described: Described) -> pd.DataFrame:
    """``ranking.parquet`` rows of one questionnaire: overall and by every grouping."""
    d = described
    parts = []
    for item, columns in ranking_items(d):
        for by in (None, *d.groupings):
            out = _item_rows(d, item, columns, by)
            for key, value in item_labels(item).items():
                out[key] = value
            parts.append(group_flags(out, d.rule, size="n_eff_base"))
    if not parts:
        return pd.DataFrame(columns=column_names("describe", "ranking"))
    out = pd.concat(parts, ignore_index=True)
    out.loc[out["flag"].eq("suppressed") & out["by"].ne(""), "n"] = np.nan
    out["instrument"], out["weighted"] = d.instrument, d.weighted
    out["n"] = out["n"].astype("Int64")
    return out[column_names("describe", "ranking")]
