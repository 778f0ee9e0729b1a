"""Multiple-choice items: per option the case % and the response %, the number of options chosen, 其他 text —
overall and by every grouping (as the frequencies).

Base: the respondents who answered the item (an ``<item>_<code>`` 0/1 column not missing; skipped respondents
have none). ``kind = "option"`` rows: the case % (weighted share of respondents choosing the option, with SE
and a ``svyciprop`` interval) and the response % (its weighted share of all choices made, no interval);
``kind = "n_chosen"`` rows (``option_code`` = number of options chosen): the weighted distribution of that
number, with intervals. ``mean_chosen`` is the weighted mean number of options chosen and ``other_text_n``
the respondents who wrote a 其他 text (both per domain, repeated on every row of the item and domain). The
sums are those of :mod:`pipeline.stats._frequencies`: one pass over the rows per option, whatever the
number of groupings.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.config.codebook import CodebookItem
from pipeline.describe.common import (
    Described,
    Domains,
    Slots,
    domains,
    group_flags,
    item_labels,
    option_items,
    shares,
    slots_of,
    sums_of,
)
from pipeline.schemas import column_names


def multiple_items(described: Described) -> list[tuple[CodebookItem, list[str]]]:
    """The multiple-choice items with every ``<item>_<code>`` column in the frame, and those columns."""
    return option_items(described, "multiple")


def _prepared(d: Described, item: CodebookItem, columns: list[str]) -> dict:
    """Per item, once: the 0/1 slots of every option on the answered rows, the number chosen, the 其他 flag."""
    key = ("multiple", item.id)
    if key not in d.cache:
        chosen = d.frame[columns].astype("Float64").where(lambda x: x >= 0)
        answered = chosen.notna().any(axis=1).to_numpy()
        picks = chosen.fillna(0).to_numpy(dtype=float)
        count = pd.Series(np.where(answered, picks.sum(axis=1), np.nan), index=d.frame.index)
        other = f"{item.id}_other_text"
        wrote = (
            d.frame[other].astype("string").str.strip().fillna("").ne("").to_numpy()
            if other in d.frame
            else np.zeros(len(d.frame), dtype=bool)
        )
        d.cache[key] = {
            "options": [slots_of(chosen[c].where(answered), [0, 1]) for c in columns],
            "count": slots_of(count, list(range(len(columns) + 1))),
            "wrote": wrote,
        }
    return d.cache[key]


def _rows(d: Described, item: CodebookItem, prep: dict, dom: Domains) -> pd.DataFrame:
    """The rows of one item in the domains ``dom``: per domain, the option rows then the n_chosen rows."""
    n_groups = len(dom.labels)
    per_option = [
        shares(d, dom, sums_of(d, dom, slots, key=("multiple", item.id, j)))
        for j, slots in enumerate(prep["options"])
    ]
    count_slots: Slots = prep["count"]
    dist = shares(d, dom, sums_of(d, dom, count_slots, key=("multiple", item.id, "count")))
    # weighted picks of every option per domain: the weight total of its level 1
    sw_chosen = np.column_stack([_chosen_weight(d, dom, j, item, prep) for j in range(len(per_option))])
    total = sw_chosen.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        response = np.where(total[:, None] > 0, 100 * sw_chosen / total[:, None], np.nan)
        levels = np.arange(count_slots.k, dtype=float)
        mean_chosen = (dist["estimate"] * levels[None, :]).sum(axis=1)
    mean_chosen = np.where(dist["n_valid"] > 0, mean_chosen, np.nan)
    wrote = np.bincount(dom.gcode[prep["wrote"] & (dom.gcode >= 0)], minlength=n_groups)
    rows = []
    for g in range(n_groups):
        common = {
            "by": dom.by,
            "group": dom.labels[g],
            "mean_chosen": mean_chosen[g],
            "other_text_n": int(wrote[g]),
        }
        for j, (option, p) in enumerate(zip(item.options, per_option, strict=True)):
            rows.append({"kind": "option", "option_code": option.code, "option_label": option.text,
                         "n": int(p["n"][g, 1]), "percent": 100 * p["estimate"][g, 1], "se": 100 * p["se"][g, 1],
                         "ci_low": 100 * p["ci_low"][g, 1], "ci_high": 100 * p["ci_high"][g, 1],
                         "response_percent": response[g, j], "n_valid": int(p["n_valid"][g]),
                         "n_eff": p["n_eff"][g], **common})  # fmt: skip
        for c in range(count_slots.k):
            rows.append({"kind": "n_chosen", "option_code": c, "option_label": f"选{c}项",
                         "n": int(dist["n"][g, c]), "percent": 100 * dist["estimate"][g, c],
                         "se": 100 * dist["se"][g, c], "ci_low": 100 * dist["ci_low"][g, c],
                         "ci_high": 100 * dist["ci_high"][g, c], "response_percent": np.nan,
                         "n_valid": int(dist["n_valid"][g]), "n_eff": dist["n_eff"][g], **common})  # fmt: skip
    return pd.DataFrame(rows)


def _chosen_weight(d: Described, dom: Domains, j: int, item: CodebookItem, prep: dict) -> np.ndarray:
    """Σw of the answered rows that chose option ``j``, per domain."""
    sums = sums_of(d, dom, prep["options"][j], key=("multiple", item.id, j))
    valid = sums.w1[:, 1]
    n_groups = len(dom.labels)
    inside = dom.combos.group < n_groups
    return np.bincount(dom.combos.group[inside], weights=valid[inside], minlength=n_groups)


def multiple_table(described: Described) -> pd.DataFrame:
    """``multiple.parquet`` rows of one questionnaire: overall and by every grouping."""
    d = described
    parts = []
    for item, columns in multiple_items(d):
        prep = _prepared(d, item, columns)
        for by in (None, *d.groupings):
            out = _rows(d, item, prep, domains(d, by))
            for key, value in item_labels(item).items():
                out[key] = value
            parts.append(group_flags(out, d.rule))
    if not parts:
        return pd.DataFrame(columns=column_names("describe", "multiple"))
    out = pd.concat(parts, ignore_index=True)
    out.loc[out["flag"].eq("suppressed") & out["by"].ne(""), "n"] = np.nan
    out["instrument"], out["weighted"] = d.instrument, d.weighted
    out["n"] = out["n"].astype("Int64")
    return out[column_names("describe", "multiple")]
