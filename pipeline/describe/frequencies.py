"""Frequencies of every single-choice and matrix item: the 频数/百分比 table of each question, overall and by
every grouping (the row percentages of each grouping × item crosstab).

Per option: respondents choosing it (``n``) and its weighted share of the valid answers in percent with a
design-based SE and interval (:func:`pipeline.stats.category_proportions`: ``svyciprop``, logit by default,
Korn–Graubard ``beta`` on request), and for ordered response sets the cumulative percentage. The base of the
percentages is the *substantive* answers (``n_valid``); 不了解-type options (``missing: true``) keep their count
with no percentage, and the answers that are not there are counted by kind: ``n_skipped`` (−3, not shown by
the questionnaire's logic) and ``n_unanswered`` (empty). Groups below the small-cell rule are flagged
(``small``) or lose counts and estimates (``suppressed``), on the Kish effective n of their valid answers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.config.codebook import CodebookItem
from pipeline.describe.common import (
    Described,
    Domains,
    domains,
    group_flags,
    item_labels,
    item_slots,
    shares,
    sums_of,
)
from pipeline.schemas import column_names

CHOICE_TYPES = ("single", "matrix")


def choice_items(described: Described) -> list[CodebookItem]:
    """The single-choice and matrix items of the codebook that have options and a column in the frame."""
    return [
        it
        for it in described.codebook.items
        if it.type in CHOICE_TYPES and it.substantive_codes and it.id in described.frame.columns
    ]


def item_frequencies(described: Described, item: CodebookItem, dom: Domains) -> dict[str, np.ndarray]:
    """The frequency rows of one item in the domains ``dom``, as columns (domains in the grouping's order,
    options in codebook order within each)."""
    d = described
    slots = item_slots(d, item)
    sums = sums_of(d, dom, slots, key=item.id)
    props = shares(d, dom, sums)
    k, n_groups = slots.k, len(dom.labels)
    counts = np.zeros((n_groups + 1, sums.n.shape[1]), dtype=np.int64)
    np.add.at(counts, dom.combos.group, sums.n)
    counts = counts[:n_groups]
    # columns of every option (substantive: its share; 不了解-type: its count only), in codebook order
    where = {c: j for j, c in enumerate(slots.codes)}
    where.update({c: k + j for j, c in enumerate(slots.missing)})
    options = [o.code for o in item.options if o.code in where]
    column = np.asarray([where[c] for c in options], dtype=np.intp)
    substantive = column < k
    sub_col = np.where(substantive, column, 0)
    n_opt = len(options)

    def per_option(values: np.ndarray) -> np.ndarray:  # domains × substantive levels → rows, NaN for 不了解
        return np.where(substantive[None, :], values[:, sub_col], np.nan).ravel()

    percent = 100 * props["estimate"]
    cum = np.cumsum(percent, axis=1) if item.ordered else np.full_like(percent, np.nan)
    dont_know = counts[:, k : k + len(slots.missing)].sum(axis=1)
    rep = np.repeat
    return {
        "by": np.full(n_groups * n_opt, dom.by, dtype=object),
        "group": rep(np.asarray(dom.labels, dtype=object), n_opt),
        "option_code": np.tile(np.asarray(options, dtype=np.int64), n_groups),
        "n": counts[:, column].ravel(),
        "percent": per_option(percent),
        "se": per_option(100 * props["se"]),
        "ci_low": per_option(100 * props["ci_low"]),
        "ci_high": per_option(100 * props["ci_high"]),
        "n_valid": rep(props["n_valid"], n_opt),
        "n_eff": rep(props["n_eff"], n_opt),
        "cum_percent": per_option(cum),
        "missing_option": np.tile(~substantive, n_groups),
        "n_dont_know": rep(dont_know, n_opt),
        "n_skipped": rep(counts[:, slots.skipped], n_opt),
        "n_unanswered": rep(counts[:, slots.unanswered], n_opt),
        "option_label": np.tile(
            np.asarray([item.text_by_code.get(c) for c in options], dtype=object), n_groups
        ),
        "item": np.full(n_groups * n_opt, item.id, dtype=object),
        "ordered": np.full(n_groups * n_opt, item.ordered),
    }


def _label_items(out: pd.DataFrame, items: list[CodebookItem]) -> pd.DataFrame:
    """The item-naming columns of every row, from its ``item``."""
    by_id = {it.id: it for it in items}
    for key in ("number", "question", "row_text"):
        out[key] = out["item"].map({i: item_labels(it)[key] for i, it in by_id.items()})
    out["type"] = out["item"].map({i: it.type for i, it in by_id.items()})
    return out


def frequency_table(described: Described) -> pd.DataFrame:
    """``frequencies.parquet`` rows of one questionnaire: every choice item overall and by every grouping."""
    d = described
    parts = []
    for by in (None, *d.groupings):
        dom = domains(d, by)
        for item in choice_items(d):
            if by is not None and d.codebook.variables.get(by) == item.id:
                continue  # a grouping by itself tells nothing
            parts.append(item_frequencies(d, item, dom))
    if not parts:
        return pd.DataFrame(columns=column_names("describe", "frequencies"))
    columns = {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}
    out = _label_items(pd.DataFrame(columns), choice_items(d))
    out = group_flags(out, d.rule)
    out.loc[out["flag"].eq("suppressed") & out["by"].ne(""), "n"] = np.nan
    out["instrument"], out["weighted"], out["method"] = d.instrument, d.weighted, d.method
    out["n"] = out["n"].astype("Int64")
    return out[column_names("describe", "frequencies")]
