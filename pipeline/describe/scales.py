"""Scales, the satisfaction index and scored items: weighted mean, SD and 满意率 with intervals, overall and per
district (staff also per unit type and unit), and the distribution of scale scores in bins of 20 points.

Means use :func:`pipeline.stats.domain_mean_table` — the one function behind every table of district means
(05_compare's ``svy_mean`` rows are the same numbers) — with a t interval on the design's df; the SD is the
weighted SD (divisor Σw, :func:`pipeline.stats.weighted_sd`, no interval). 满意率 (percent satisfied, with a
``svyciprop`` interval):

* of a scored item — the share of its substantive answers counted ``satisfied`` by its scoring
  (``satisfied_<item>`` of 02_clean);
* of a scale — the share of respondents whose scale score is at least ``threshold``, the lowest 0–100 score
  any item of the scale gives to an answer counted ``satisfied`` (reverse coding applied): a respondent is
  satisfied with the scale when their average answer is at least a satisfied one;
* of ``SI`` (满意度指数, the mean of the scale scores) — the same with the lowest threshold of its scales.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from pipeline import stats
from pipeline.describe.common import (
    Described,
    Slots,
    domain_labels,
    domains,
    finest_of,
    group_flags,
    shares,
    slots_of,
    sums_of,
)
from pipeline.frames import SI
from pipeline.schemas import column_names

BINS = (0.0, 20.0, 40.0, 60.0, 80.0, 100.0)
"""Edges of the scale score bins: [0, 20), [20, 40), …, [80, 100] (the last includes 100)."""
SCALE_BYS = ("district", "unit_type", "unit")
"""Domains of the scale table besides the whole sample, where the frame has the column."""


def satisfied_threshold(described: Described, items) -> float:
    """The lowest score any of ``items`` gives to an answer counted satisfied (NaN if none is scored)."""
    found = [
        it.scoring.item_scores(it.reverse)[c]
        for it in items
        if it.scoring is not None
        for c in it.scoring.satisfied_codes(reverse=it.reverse)
        if c in it.scoring.scores
    ]
    return min(found) if found else math.nan


def _variables(d: Described) -> list[tuple[str, str, str, float, pd.Series | None]]:
    """(column, kind, name, threshold, satisfied indicator) of every scale, SI and scored item in the frame."""
    q = d.codebook.questionnaire
    out = []
    thresholds = []
    for s in q.scales:
        if s.id not in d.frame.columns:
            continue
        threshold = satisfied_threshold(d, d.codebook.scale_items(s.id))
        thresholds.append(threshold)
        out.append((s.id, "scale", s.name, threshold, None))
    if SI in d.frame.columns and thresholds:
        out.append((SI, "index", "满意度指数", min(thresholds), None))
    for it in d.codebook.scored_items:
        col = f"{it.id}_score"
        if col in d.frame.columns:
            sat = d.frame[f"satisfied_{it.id}"] if f"satisfied_{it.id}" in d.frame.columns else None
            out.append((col, "item", it.text, satisfied_threshold(d, [it]), sat))
    return out


def _sds(d: Described, by: str | None, column: str, values: pd.Series, present: np.ndarray) -> np.ndarray:
    """Weighted SD of ``values`` in every domain of ``by``, from sums over the finest combinations taken once
    per variable (:func:`pipeline.stats.weighted_sd_from_sums`)."""
    dom = domains(d, by)
    n_groups = len(dom.labels)
    if dom.of_fine is None:
        return stats.weighted_sd_by_group(
            values, d.design.weights, np.where(present, dom.gcode, -1), n_groups
        )
    key = ("moments", column)
    if key not in d.cache:  # per finest combination: Σw, weighted mean, Σ w (y − mean)², count
        fine = finest_of(d)
        y = np.where(present, values.to_numpy(dtype=float, na_value=np.nan), 0.0)
        w = np.where(present, d.design.weights, 0.0)
        sw = np.bincount(fine.index, weights=w, minlength=fine.size)
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = np.bincount(fine.index, weights=w * y, minlength=fine.size) / sw
        dev = y - np.nan_to_num(mean)[fine.index]
        m2 = np.bincount(fine.index, weights=w * dev * dev, minlength=fine.size)
        d.cache[key] = (sw, mean, m2, np.bincount(fine.index, weights=present, minlength=fine.size))
    return stats.weighted_sd_pooled(*d.cache[key], dom.combos.group[dom.of_fine], n_groups)


def _satisfied_rows(d: Described, by: str | None, sat: pd.Series, rows: np.ndarray, base: dict) -> dict:
    """满意率 rows of one variable by ``by`` (as columns): the share of 1 among the 0/1 answers of ``sat`` on
    ``rows``, in every group with an answer."""
    dom = domains(d, by)
    key = ("satisfied", base["variable"])
    if ("slots", key) not in d.cache:
        d.cache[("slots", key)] = slots_of(sat.where(rows), [0, 1])
    props = shares(d, dom, sums_of(d, dom, d.cache[("slots", key)], key=key))
    present = np.flatnonzero(props["n_valid"] > 0)
    flag, reason = d.rule.flag_array(props["n_eff"][present])
    hide = flag == "suppressed"

    def pct(name: str) -> np.ndarray:
        return np.where(hide, np.nan, 100 * props[name][present, 1])

    return _block(base, by, np.asarray(dom.labels, dtype=object)[present], "satisfied", {
        "estimate": pct("estimate"), "se": pct("se"), "ci_low": pct("ci_low"), "ci_high": pct("ci_high"),
        "n": props["n_valid"][present], "n_eff": props["n_eff"][present], "flag": flag, "reason": reason})  # fmt: skip


def _block(base: dict, by: str | None, groups: np.ndarray, statistic, values: dict) -> dict:
    """Columns of a block of rows: ``base`` and ``by`` repeated, ``groups`` and ``values`` as given."""
    size = len(groups)
    out = {
        key: np.full(size, value, dtype=object if isinstance(value, str) else float)
        for key, value in base.items()
    }
    statistic = np.full(size, statistic, dtype=object) if isinstance(statistic, str) else statistic
    return {
        **out,
        "by": np.full(size, by or "", dtype=object),
        "group": groups,
        "statistic": statistic,
        **values,
    }


def scale_table(described: Described) -> pd.DataFrame:
    """``scales.parquet`` rows of one questionnaire (groups in each grouping's category order)."""
    d = described
    blocks = []
    bys = [None, *(b for b in SCALE_BYS if b in d.frame.columns)]
    for column, kind, name, threshold, sat in _variables(d):
        values = d.frame[column].astype(float)
        present = values.notna().to_numpy()
        if sat is None and not math.isnan(threshold):
            sat = pd.Series(np.where(values.isna(), np.nan, values >= threshold - 1e-9), index=d.frame.index)
        base = {"variable": column, "kind": kind, "name": name, "threshold": threshold}
        for by in bys:
            labels = domain_labels(d, by, present)
            if labels.isna().all():
                continue
            means = stats.domain_mean_table(d.design, values.rename(column), labels, small_n=d.rule.flag_below,
                                            min_n=d.rule.suppress_below,
                                            confidence_level=d.confidence_level).table  # fmt: skip
            sd_of = dict(zip(domains(d, by).labels, _sds(d, by, column, values, present), strict=True))
            # a mean row then an SD row per group
            groups = means["group"].astype(str).to_numpy(dtype=object)
            flag = means["flag"].to_numpy(dtype=object)
            sd = np.where(flag == "suppressed", np.nan, np.asarray([sd_of[g] for g in groups], dtype=float))
            nan = np.full(len(groups), np.nan)

            def twice(mean_values, sd_values):
                return np.column_stack([np.asarray(mean_values), np.asarray(sd_values)]).ravel()

            blocks.append(_block(base, by, twice(groups, groups), twice(["mean"] * len(groups), ["sd"] * len(groups)), {
                "estimate": twice(means["estimate"], sd), "se": twice(means["se"], nan),
                "ci_low": twice(means["ci_low"], nan), "ci_high": twice(means["ci_high"], nan),
                "n": twice(means["n"], means["n"]), "n_eff": twice(means["n_eff"], means["n_eff"]),
                "flag": twice(flag, flag), "reason": twice(means["reason"], means["reason"])}))  # fmt: skip
            if sat is not None:
                blocks.append(_satisfied_rows(d, by, sat.astype(float), present, base))
    columns = [c for c in column_names("describe", "scales") if c not in ("instrument", "weighted")]
    blocks = [b for b in blocks if len(b["group"])]
    if blocks:
        out = pd.DataFrame({c: np.concatenate([b[c] for b in blocks]) for c in columns})
    else:
        out = pd.DataFrame(columns=columns)
    out.insert(0, "instrument", d.instrument)
    out["weighted"] = d.weighted
    for col in ("estimate", "se", "ci_low", "ci_high", "n_eff", "threshold"):
        out[col] = out[col].astype(float)
    out["n"] = out["n"].astype("Int64")
    return out[column_names("describe", "scales")]


def scale_bin_table(described: Described) -> pd.DataFrame:
    """``scale_bins.parquet`` rows: the weighted distribution of each scale score and SI over :data:`BINS`."""
    d = described
    parts = []
    variables = [v for v in _variables(d) if v[1] in ("scale", "index")]
    labels_text = np.asarray([f"{int(lo)}–{int(hi)}" for lo, hi in zip(BINS[:-1], BINS[1:], strict=True)])
    n_bins = len(BINS) - 1
    for column, _kind, name, _threshold, _sat in variables:
        key = ("bins", column)
        if ("slots", key) not in d.cache:
            values = d.frame[column].astype(float).to_numpy()
            bins = np.clip(np.searchsorted(BINS, values, side="right") - 1, 0, n_bins - 1)
            slot = np.where(np.isnan(values), n_bins, bins).astype(np.intp)
            d.cache[("slots", key)] = Slots(codes=tuple(range(n_bins)), missing=(), slot=slot)
        slots = d.cache[("slots", key)]
        for by in (None, *(b for b in SCALE_BYS[:1] if b in d.frame.columns)):
            dom = domains(d, by)
            p = shares(d, dom, sums_of(d, dom, slots, key=key))
            present = np.flatnonzero(p["n_valid"] > 0)
            if not present.size:
                continue
            g = np.repeat(present, n_bins)
            level = np.tile(np.arange(n_bins), present.size)

            def cells(name: str, scale: float = 1.0, _g=g, _level=level, _p=p) -> np.ndarray:
                return scale * _p[name][_g, _level]

            parts.append(pd.DataFrame({"variable": column, "name": name, "by": dom.by,
                                       "group": np.asarray(dom.labels, dtype=object)[g], "bin": labels_text[level],
                                       "lower": np.asarray(BINS)[level], "upper": np.asarray(BINS)[level + 1],
                                       "n": cells("n").astype(np.int64), "percent": cells("estimate", 100),
                                       "se": cells("se", 100), "ci_low": cells("ci_low", 100),
                                       "ci_high": cells("ci_high", 100), "n_valid": p["n_valid"][g],
                                       "n_eff": p["n_eff"][g]}))  # fmt: skip
    if not parts:
        return pd.DataFrame(columns=column_names("describe", "scale_bins"))
    out = group_flags(pd.concat(parts, ignore_index=True), d.rule)
    out["instrument"], out["weighted"] = d.instrument, d.weighted
    return out[column_names("describe", "scale_bins")]
