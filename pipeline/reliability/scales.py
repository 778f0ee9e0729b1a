"""Reliability of every scale of a questionnaire: the ``reliability``, ``items`` and ``flags`` tables.

Likert codes come from the 02_clean item columns. Codes of options marked ``missing: true`` (不了解/说不清) and
the skip code ``-3`` are missing; ``scale_range`` is the (min, max) of the scale's substantive codes.
Reverse-keyed items (codebook ``reverse: true``) are reflected as ``min + max - x``. Missing data: listwise
deletion per scale (``missing_rule = "listwise"``); every row states ``n`` used and ``n_dropped``. Weights are
sampling weights (03_weight, joined by :func:`pipeline.frames.record_weights`), not frequency weights; alpha
and item analysis are also computed weighted (``weighted = True``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pipeline import stats
from pipeline.config.codebook import Codebook
from pipeline.errors import DataError
from pipeline.frames import record_weights
from pipeline.ingest.codebook_match import SKIPPED_CODE  # a question skipped by logic (01_ingest contract)
from pipeline.options import N_BOOT
from pipeline.reliability.columns import FLAG_COLUMNS, RELIABILITY_COLUMNS
from pipeline.stats.reliability import (
    ALPHA_GAIN_MAX,
    ALPHA_MIN,
    R_DROP_MIN,
    PreparedItems,
    bootstrap_intervals,
    prepare_items,
)

MISSING_RULE = "listwise"


CI_METHODS = ("feldt", "bootstrap", "duhachek")


#: above this many complete cases the bootstrap interval is left out: it would cost n_boot passes over the data,
#: and with so many respondents the analytic Feldt and Duhachek intervals are already accurate
BOOTSTRAP_MAX_N = 50_000


BOOTSTRAP_SKIPPED_NOTE = (
    f"完整样本超过 {BOOTSTRAP_MAX_N} 份，bootstrap 区间从略（大样本下 Feldt 与 Duhachek 区间已足够准确）"
)


# Statistics of an AlphaResult reported without an interval of their own.
_POINT_STATS = {"alpha_std": "alpha_std", "lambda6": "lambda6", "average_r": "average_r"}


# ============================================================================================ scales
def _missing_codes(codebook: Codebook, item_id: str) -> frozenset[int]:
    return codebook.item(item_id).missing_codes | {SKIPPED_CODE}


def keyed_items(responses: pd.DataFrame, codebook: Codebook, item_ids: list[str]) -> pd.DataFrame:
    """Item codes as floats with 不了解/说不清 (``missing: true`` options) and skipped (−3) set to NaN.

    The result holds one float block (column-major), so that selecting a scale's columns and converting them
    to numpy costs no consolidation.

    Raises
    ------
    DataError
        An item column is absent, or holds a code that is neither substantive nor missing (column named).
    """
    out = np.empty((len(responses), len(item_ids)), order="F")
    for j, item_id in enumerate(item_ids):
        if item_id not in responses.columns:
            raise DataError(
                f"{codebook.instrument}: item column {item_id} not found in the cleaned responses"
            )
        col = responses[item_id]
        if not pd.api.types.is_numeric_dtype(col.dtype):
            col = pd.to_numeric(col, errors="coerce")
        values = out[:, j]
        values[:] = col.to_numpy(dtype=float, na_value=np.nan)
        # plain numpy membership tests: pandas' hashed isin costs ~10x more for a handful of codes
        np.putmask(values, np.isin(values, list(_missing_codes(codebook, item_id))), np.nan)
        bad = ~np.isnan(values) & ~np.isin(values, list(codebook.item(item_id).substantive_codes))
        if bad.any():
            raise DataError(
                f"{codebook.instrument}: item column {item_id} holds code {values[bad][0]:g}, "
                "which is not an option of the codebook"
            )
    return pd.DataFrame(out, index=responses.index, columns=list(item_ids), copy=False)


def _scale_range(codebook: Codebook, item_ids: list[str]) -> tuple[float, float]:
    codes = [c for i in item_ids for c in codebook.item(i).substantive_codes]
    return float(min(codes)), float(max(codes))


@dataclass(frozen=True)
class ScaleReliability:
    """The three tables of :func:`scale_reliability` (long tidy, full precision)."""

    reliability: pd.DataFrame
    items: pd.DataFrame
    flags: pd.DataFrame


def _row(base: Mapping[str, Any], **values: Any) -> dict[str, Any]:
    row = {c: np.nan for c in RELIABILITY_COLUMNS}
    row.update({"ci_method": "", "note": "", "missing_rule": MISSING_RULE})
    row.update(base)
    row.update(values)
    return row


def _alpha_rows(
    base: dict[str, Any], prep: PreparedItems, boot: tuple[float, float] | None
) -> list[dict[str, Any]]:
    """Alpha with each interval of :data:`CI_METHODS`, then the point statistics, from prepared items.

    ``boot`` is the bootstrap interval, computed beforehand for the scale's weightings together (see
    :func:`_bootstrap_intervals`); None when it was left out for the sample size.
    """
    # the point statistics do not depend on the interval: the bootstrap row takes them from the Feldt result
    results = {m: stats.cronbach_alpha(prep, ci=m) for m in CI_METHODS if m != "bootstrap"}
    rows = []
    for method in CI_METHODS:
        bootstrap = method == "bootstrap"
        res = results["feldt" if bootstrap else method]
        ci_low, ci_high = (
            (boot if boot is not None else (np.nan, np.nan)) if bootstrap else res.confidence_interval()
        )
        notes = list(res.notes) + ([BOOTSTRAP_SKIPPED_NOTE] if bootstrap and boot is None else [])
        rows.append(
            _row(
                base,
                statistic="alpha",
                estimate=res.alpha,
                se=res.se,
                ci_low=ci_low,
                ci_high=ci_high,
                ci_method=method,
                confidence_level=res.confidence_level,
                n=res.n,
                n_dropped=res.n_dropped,
                n_eff=res.n_eff,
                k=res.k,
                note="；".join(notes),
            )
        )
    for stat, attr in _POINT_STATS.items():
        rows.append(
            _row(
                base,
                statistic=stat,
                estimate=getattr(res, attr),
                n=res.n,
                n_dropped=res.n_dropped,
                n_eff=res.n_eff,
                k=res.k,
            )
        )
    return rows


def _flag(base: Mapping[str, Any], item: str, code: str, reason: str, value: float, threshold: float) -> dict:
    return {
        "instrument": base["instrument"],
        "scale": base["scale"],
        "scale_name": base["scale_name"],
        "item": item,
        "flag_code": code,
        "reason": reason,
        "value": float(value),
        "threshold": float(threshold),
        "weighted": False,
    }


def _item_flags(base: Mapping[str, Any], table: pd.DataFrame, codebook: Codebook) -> list[dict]:
    """Item-level flags of the unweighted item analysis (scale-level alpha flag is added separately)."""
    out = []
    for _, r in table.iterrows():
        item = r["item"]
        marked = "代码本已标记为反向题" if codebook.item(item).reverse else "代码本未标记为反向题"
        if r["r_drop"] < 0:
            out.append(
                _flag(
                    base,
                    item,
                    "r_drop_negative",
                    f"{item}的校正题总相关为负（{r['r_drop']:.3f}），可能是代码本反向计分设置错误（{marked}），请核对题目措辞",
                    r["r_drop"],
                    0.0,
                )
            )
        elif r["r_drop"] < R_DROP_MIN:
            out.append(
                _flag(
                    base,
                    item,
                    "r_drop_low",
                    f"{item}的校正题总相关为{r['r_drop']:.3f}，低于{R_DROP_MIN:.2f}，与本量表其他题目关联较弱",
                    r["r_drop"],
                    R_DROP_MIN,
                )
            )
        gain = r["alpha_if_deleted"] - r["scale_alpha"]
        if gain > ALPHA_GAIN_MAX:
            out.append(
                _flag(
                    base,
                    item,
                    "alpha_if_deleted_higher",
                    f"删除{item}后α由{r['scale_alpha']:.3f}升至{r['alpha_if_deleted']:.3f}"
                    f"（提高{gain:.3f}，超过{ALPHA_GAIN_MAX:.2f}），建议复核该题",
                    gain,
                    ALPHA_GAIN_MAX,
                )
            )
    return out


def scale_reliability(
    responses: pd.DataFrame,
    codebook: Codebook,
    weights: pd.DataFrame | None = None,
    *,
    seed: int,
    n_boot: int = N_BOOT,
) -> ScaleReliability:
    """Reliability of every codebook scale of one questionnaire: long table, item table, flags.

    Parameters
    ----------
    responses : pandas.DataFrame
        02_clean ``public``/``staff`` table (``record_id`` and one code column per item).
    codebook : Codebook
        Scales, reverse-keyed items and options (``missing: true`` codes become NaN).
    weights : pandas.DataFrame, optional
        03_weight ``record_id, weight`` (sampling weights). When given, alpha and the item analysis are also
        computed weighted (rows with ``weighted = True``); records without a weight are dropped listwise.
    seed : int
        Seed of the bootstrap interval (the stage passes ``ctx.seed``).
    n_boot : int
        Bootstrap replicates.

    Returns
    -------
    ScaleReliability
        ``reliability`` (:data:`RELIABILITY_COLUMNS`; statistics ``alpha`` with Feldt, bootstrap and Duhachek
        intervals, ``alpha_std``, ``lambda6``, ``average_r``, ``omega_total``), ``items`` (one row per item ×
        weighted: ``n, mean, sd, r_drop, r_cor, alpha_if_deleted, scale_alpha, freq_<code>, flag_codes,
        flags``) and ``flags`` (:data:`FLAG_COLUMNS`, from the unweighted analysis; Chinese ``reason``).

    Raises
    ------
    DataError
        An item column is absent or holds a code outside the codebook (named); ``weights`` lacks
        ``record_id``/``weight``.
    """
    w_full = (
        None
        if weights is None
        else record_weights(responses, weights, table=f"{codebook.instrument} weights")
    )
    scales = codebook.questionnaire.scales
    # every scale item keyed in one pass (an item column may serve more than one scale)
    keyed = keyed_items(responses, codebook, list(dict.fromkeys(i for s in scales for i in s.items)))
    rel_rows: list[dict] = []
    item_tables: list[pd.DataFrame] = []
    flag_rows: list[dict] = []
    for scale in scales:
        ids = list(scale.items)
        answered = [i for i in ids if not np.isnan(keyed[i].to_numpy()).all()]
        unanswered = [i for i in ids if i not in answered]
        note = f"无人作答的题目已排除：{'、'.join(unanswered)}" if unanswered else ""
        x = keyed[answered]
        reverse = [i for i in answered if codebook.item(i).reverse]
        scale_range = _scale_range(codebook, ids)
        weightings = [None] if w_full is None else [None, w_full]
        preps: list[PreparedItems | DataError | None] = []
        for w in weightings:
            preps.append(_prepare_scale(x, reverse, scale_range, w, preps[0] if preps else None)
                         if len(answered) >= 2 else None)  # fmt: skip
        n_complete = int(np.count_nonzero(~np.isnan(x.to_numpy()).any(axis=1)))
        boots = _bootstrap_intervals(preps, n_complete, seed=seed, n_boot=n_boot)
        for w, prepared, boot in zip(weightings, preps, boots, strict=True):
            r, t, f = _scale_tables(
                scale,
                x,
                codebook,
                w,
                prepared,
                scale_range=scale_range,
                note=note,
                boot=boot,
            )
            rel_rows += r
            item_tables += t
            flag_rows += f

    reliability = pd.DataFrame(rel_rows, columns=RELIABILITY_COLUMNS)
    items = pd.concat(item_tables, ignore_index=True) if item_tables else pd.DataFrame()
    items = _order_item_columns(items)
    flags = pd.DataFrame(flag_rows, columns=FLAG_COLUMNS)
    return ScaleReliability(reliability=reliability, items=items, flags=flags)


def _bootstrap_intervals(
    preps: list[PreparedItems | DataError | None], n_complete: int, *, seed: int, n_boot: int
) -> list[tuple[float, float] | None]:
    """Bootstrap interval of alpha per preparation (None: not prepared, or ``n_complete`` -- rows complete on
    the items, weights aside -- above :data:`BOOTSTRAP_MAX_N`).

    The unweighted and weighted preparations of a scale usually share their complete cases, and then their
    intervals come from one set of draws (:func:`pipeline.stats.reliability.bootstrap_intervals`).
    """
    if n_complete > BOOTSTRAP_MAX_N:
        return [None] * len(preps)
    ok = [i for i, p in enumerate(preps) if isinstance(p, PreparedItems)]
    found = bootstrap_intervals([preps[i] for i in ok], seed=seed, n_boot=n_boot)
    out: list[tuple[float, float] | None] = [None] * len(preps)
    for i, interval in zip(ok, found, strict=True):
        out[i] = interval
    return out


def _prepare_scale(
    x: pd.DataFrame,
    reverse: list[str],
    scale_range: tuple[float, float],
    w: np.ndarray | None,
    unweighted: PreparedItems | DataError | None,
) -> PreparedItems | DataError:
    """The scale's complete cases prepared (weighted when ``w`` is given), or the DataError saying why not.

    The weighted preparation starts from the ``unweighted`` one when there is one (the same complete cases,
    unless some lack a weight).
    """
    try:
        if w is None:
            return prepare_items(x, reverse=reverse, scale_range=scale_range)
        if isinstance(unweighted, PreparedItems):
            return unweighted.with_weights(w)
        return prepare_items(x, reverse=reverse, scale_range=scale_range, weights=w)
    except DataError as err:
        return err


def _scale_tables(
    scale: Any,
    x: pd.DataFrame,
    codebook: Codebook,
    w: np.ndarray | None,
    prepared: PreparedItems | DataError | None,
    *,
    scale_range: tuple[float, float],
    note: str,
    boot: tuple[float, float] | None,
) -> tuple[list[dict], list[pd.DataFrame], list[dict]]:
    """Reliability rows, item table and flags of one scale, unweighted (``w`` None) or weighted.

    ``x`` holds the keyed codes of the scale's answered items, ``prepared`` their complete cases (see
    :func:`_prepare_scale`; None when fewer than two items were answered): alpha with its three intervals,
    omega and the item analysis all start from them. When they could not be prepared, alpha and the item
    analysis report why in ``note``; omega is then asked on the frame itself, so that its row gives omega's
    own reason.
    """
    weighted = w is not None
    answered = list(x.columns)
    reverse = [i for i in answered if codebook.item(i).reverse]
    base = {
        "instrument": codebook.instrument,
        "scale": scale.id,
        "scale_name": scale.name,
        "weighted": weighted,
        "k": len(answered),
    }
    rel_rows: list[dict] = []
    flag_rows: list[dict] = []
    if len(answered) < 2:
        reason = f"作答题目少于2题（{len(answered)}题），无法计算信度" + (f"；{note}" if note else "")
        names = ["alpha"] + ([] if weighted else ["omega_total"])
        rel_rows += [_row(base, statistic=s, n=0, n_dropped=len(x), note=reason) for s in names]
        if not weighted:
            flag_rows.append(_flag(base, "", "not_estimable", reason, np.nan, np.nan))
        return rel_rows, [], flag_rows

    values = x.to_numpy()
    prep = prepared if isinstance(prepared, PreparedItems) else None
    failure = prepared if isinstance(prepared, DataError) else None
    if prep is not None:
        rows = _alpha_rows(base, prep, boot)
    else:
        n_usable = int((~np.isnan(values).any(axis=1) & (np.isfinite(w) if weighted else True)).sum())
        reason = f"无法计算α：{failure}" + (f"；{note}" if note else "")
        rows = [_row(base, statistic="alpha", n=n_usable, n_dropped=len(x) - n_usable, note=reason)]
        if not weighted:
            flag_rows.append(_flag(base, "", "not_estimable", reason, np.nan, np.nan))
    if note:
        for r in rows:
            r["note"] = "；".join(p for p in (r["note"], note) if p)
    rel_rows += rows
    alpha_row = rows[0]
    if not weighted:
        try:
            if prep is not None:
                om = stats.omega_total(prep)
            else:
                om = stats.omega_total(x, reverse=reverse, scale_range=scale_range)
            rel_rows.append(
                _row(base, statistic="omega_total", estimate=om.omega_total, n=om.n, n_dropped=om.n_dropped)
            )
        except DataError as err:
            rel_rows.append(_row(base, statistic="omega_total", note=f"无法计算ω：{err}"))
        if np.isfinite(alpha_row["estimate"]) and alpha_row["estimate"] < ALPHA_MIN:
            flag_rows.append(
                _flag(
                    base,
                    "",
                    "alpha_low",
                    f"量表“{scale.name}”的α={alpha_row['estimate']:.3f}，低于{ALPHA_MIN:.2f}，内部一致性不足",
                    alpha_row["estimate"],
                    ALPHA_MIN,
                )
            )
    if prep is None:
        table = pd.DataFrame({"item": answered, "note": f"无法进行题目分析：{failure}"})
    else:
        table = stats.item_analysis(prep)
        table["note"] = note
        table["n_dropped"] = len(x) - int(table["n"].iloc[0])
        if not weighted:
            flag_rows += _item_flags(base, table, codebook)
    table.insert(0, "weighted", weighted)
    table.insert(0, "scale_name", scale.name)
    table.insert(0, "scale", scale.id)
    table.insert(0, "instrument", codebook.instrument)
    table["missing_rule"] = MISSING_RULE
    return rel_rows, [table], flag_rows


def _order_item_columns(items: pd.DataFrame) -> pd.DataFrame:
    if items.empty:
        return items
    freq = sorted((c for c in items.columns if c.startswith("freq_")), key=lambda c: float(c[5:]))
    first = [
        "instrument",
        "scale",
        "scale_name",
        "item",
        "weighted",
        "reversed",
        "n",
        "n_dropped",
        "mean",
        "sd",
        "r_drop",
        "r_cor",
        "alpha_if_deleted",
        "scale_alpha",
    ]
    last = ["flag_codes", "flags", "missing_rule", "note"]
    for col in first + last:
        if col not in items.columns:
            items[col] = np.nan
    return items[first + freq + last]
