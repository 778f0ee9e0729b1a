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

from pipeline import stats
from pipeline.config.codebook import CodebookItem
from pipeline.describe.common import SKIPPED, Described, by_series, group_flags, item_labels
from pipeline.schemas import column_names

CHOICE_TYPES = ("single", "matrix")


def choice_items(described: Described) -> list[CodebookItem]:
    """The single-choice and matrix items of the codebook that have options and a column in the frame."""
    return [
        it
        for it in described.codebook.items
        if it.type in CHOICE_TYPES and it.substantive_codes and it.id in described.frame.columns
    ]


def item_frequencies(described: Described, item: CodebookItem, labels: pd.Series, by: str) -> pd.DataFrame:
    """The frequency rows of one item in the domains of ``labels`` (``by`` names the grouping, ``""`` none)."""
    d = described
    values = d.frame[item.id]
    codes = list(item.substantive_codes)
    props = stats.category_proportions(
        d.design, values.where(values.isin(codes)), codes, by=labels, method=d.method,
        confidence_level=d.confidence_level,
    )  # fmt: skip
    group_col = labels.name
    groups = props[group_col].drop_duplicates().tolist()
    # answers that are not in the base, by kind and group (domains as category_proportions orders them)
    gcode = pd.Index(groups).get_indexer(labels)
    inside = gcode >= 0
    raw = values.to_numpy(dtype=float, na_value=np.nan)

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(gcode[inside & mask], minlength=len(groups))

    skipped, unanswered = count(raw == SKIPPED), count(np.isnan(raw))
    dont_know = {c: count(raw == c) for c in item.missing_codes}
    k = len(codes)
    out = pd.DataFrame(
        {
            "by": by, "group": props[group_col].astype(str).to_numpy(), "option_code": props["level"].astype(int),
            "n": props["n"].astype(int), "percent": 100 * props["estimate"], "se": 100 * props["se"],
            "ci_low": 100 * props["ci_low"], "ci_high": 100 * props["ci_high"], "n_valid": props["n_valid"],
            "n_eff": props["n_eff"],
        }
    )  # fmt: skip
    out["cum_percent"] = out.groupby("group", sort=False)["percent"].cumsum() if item.ordered else np.nan
    out["missing_option"] = False
    n_dk = sum(dont_know.values()) if dont_know else np.zeros(len(groups), dtype=int)
    extra = [
        pd.DataFrame({"by": by, "group": [str(g) for g in groups], "option_code": c, "n": dont_know[c],
                      "n_valid": out["n_valid"].to_numpy()[::k], "n_eff": out["n_eff"].to_numpy()[::k],
                      "missing_option": True})
        for c in item.missing_codes
    ]  # fmt: skip
    out = pd.concat([out, *extra], ignore_index=True) if extra else out
    gi = pd.Index([str(g) for g in groups]).get_indexer(out["group"])
    out["n_dont_know"], out["n_skipped"], out["n_unanswered"] = n_dk[gi], skipped[gi], unanswered[gi]
    order = {c: i for i, c in enumerate(o.code for o in item.options)}
    rank = out["option_code"].map(order).to_numpy() + len(order) * pd.Index(
        [str(g) for g in groups]).get_indexer(out["group"])  # fmt: skip
    out = out.iloc[np.argsort(rank, kind="stable")]
    out["option_label"] = out["option_code"].map(item.text_by_code)
    out["item"] = item.id
    out["ordered"] = item.ordered
    return out


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
        labels = by_series(d.frame, by)
        for item in choice_items(d):
            if by is not None and d.codebook.variables.get(by) == item.id:
                continue  # a grouping by itself tells nothing
            parts.append(item_frequencies(d, item, labels, by or ""))
    if not parts:
        return pd.DataFrame(columns=column_names("describe", "frequencies"))
    out = _label_items(pd.concat(parts, ignore_index=True), choice_items(d))
    out = group_flags(out, d.rule)
    out.loc[out["flag"].eq("suppressed") & out["by"].ne(""), "n"] = np.nan
    out["instrument"], out["weighted"], out["method"] = d.instrument, d.weighted, d.method
    out["n"] = out["n"].astype("Int64")
    return out[column_names("describe", "frequencies")]
