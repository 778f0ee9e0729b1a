"""Pure table builders of stage 04_reliability: scale reliability, construct validity, reviewer agreement.

No I/O here: :mod:`pipeline.stages.reliability` reads 02_clean / 03_weight, calls these functions and writes
what they return. Every statistic comes from :mod:`pipeline.stats` (checked against R there); this module only
decides which items, codes, weights and rows go in, and turns results into long tidy tables at full precision.

Conventions
-----------
* Likert codes come from the 02_clean item columns. Codes of options marked ``missing: true`` (不了解/说不清)
  and the skip code ``-3`` are missing; ``scale_range`` is the (min, max) of the scale's substantive codes.
  Reverse-keyed items (codebook ``reverse: true``) are reflected as ``min + max - x``.
* Missing data: listwise deletion per scale (``missing_rule = "listwise"``); every row states ``n`` used and
  ``n_dropped``. Construct validity (KMO, Bartlett, EFA, CFA) is listwise over all scale items of the
  questionnaire at once.
* Weights are sampling weights (03_weight design weights, joined on ``record_id``), not frequency weights;
  only alpha and item analysis are also computed weighted (``weighted = True``).
* A statistic that cannot be computed (fewer than 2 answered items, fewer than 3 complete cases, a constant
  item, a constant flag in kappa ...) gives a row with NaN and the reason in ``note``, never an exception.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pipeline import stats
from pipeline.config.codebook import Codebook
from pipeline.config.models import CasefileStandard
from pipeline.errors import DataError
from pipeline.frames import record_weights
from pipeline.stats.reliability import (
    ALPHA_GAIN_MAX,
    ALPHA_MIN,
    R_DROP_MIN,
    PreparedItems,
    bootstrap_intervals,
    prepare_items,
)

__all__ = [
    "SKIPPED",
    "MISSING_RULE",
    "RELIABILITY_COLUMNS",
    "ScaleReliability",
    "keyed_items",
    "scale_reliability",
    "construct_validity",
    "reviewer_agreement",
    "third_review",
    "misassigned_flags",
]

#: 问卷星 code for a question skipped by logic (01_ingest contract).
SKIPPED = -3
MISSING_RULE = "listwise"
CI_METHODS = ("feldt", "bootstrap", "duhachek")
#: above this many complete cases the bootstrap interval is left out: it would cost n_boot passes over the data,
#: and with so many respondents the analytic Feldt and Duhachek intervals are already accurate
BOOTSTRAP_MAX_N = 50_000
BOOTSTRAP_SKIPPED_NOTE = (
    f"完整样本超过 {BOOTSTRAP_MAX_N} 份，bootstrap 区间从略（大样本下 Feldt 与 Duhachek 区间已足够准确）"
)
DEFAULT_N_BOOT = 2000
#: Construct-validity results on fewer complete cases than this many per item carry a caveat.
SMALL_SAMPLE_RATIO = 5

RELIABILITY_COLUMNS = [
    "instrument",
    "scale",
    "scale_name",
    "statistic",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "ci_method",
    "confidence_level",
    "n",
    "n_dropped",
    "n_eff",
    "k",
    "weighted",
    "missing_rule",
    "note",
]
FLAG_COLUMNS = [
    "instrument",
    "scale",
    "scale_name",
    "item",
    "flag_code",
    "reason",
    "value",
    "threshold",
    "weighted",
]
VALIDITY_COLUMNS = [
    "instrument",
    "analysis",
    "item",
    "statistic",
    "estimate",
    "ci_low",
    "ci_high",
    "df",
    "pvalue",
    "n",
    "n_dropped",
    "note",
]
LOADING_COLUMNS = [
    "instrument",
    "method",
    "item",
    "scale",
    "factor",
    "loading",
    "primary_factor",
    "factor_scale",
    "misassigned",
    "flag",
]
AGREEMENT_COLUMNS = [
    "measure",
    "statistic",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "ci_method",
    "pvalue",
    "n_files",
    "n_raters",
    "n_dropped",
    "note",
]
THIRD_REVIEW_COLUMNS = [
    "case_id",
    "unit",
    "case_type",
    "n_reviewers",
    "score_1",
    "score_2",
    "score_diff",
    "tolerance",
    "grade_1",
    "grade_2",
    "score_beyond_tolerance",
    "grades_differ",
    "veto_disputed",
    "reason",
]

# Statistics of an AlphaResult reported without an interval of their own.
_POINT_STATS = {"alpha_std": "alpha_std", "lambda6": "lambda6", "average_r": "average_r"}


# ============================================================================================ scales
def _missing_codes(codebook: Codebook, item_id: str) -> frozenset[int]:
    return codebook.item(item_id).missing_codes | {SKIPPED}


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
    n_boot: int = DEFAULT_N_BOOT,
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


# ============================================================================================ validity
def _vrow(instrument: str, analysis: str, statistic: str, estimate: float, **values: Any) -> dict[str, Any]:
    row = {c: np.nan for c in VALIDITY_COLUMNS}
    row.update(
        {"instrument": instrument, "analysis": analysis, "item": "", "statistic": statistic, "note": ""}
    )
    row["estimate"] = estimate
    row.update(values)
    return row


def construct_validity(responses: pd.DataFrame, codebook: Codebook) -> tuple[pd.DataFrame, pd.DataFrame]:
    """KMO, Bartlett, EFA (as many factors as scales, oblimin) and CFA of the codebook structure.

    Items are all scale items of the questionnaire, keyed (reverse items reflected on their scale range,
    so that every item of a scale should load positively), listwise-complete over all of them, unweighted.

    Returns
    -------
    validity : pandas.DataFrame
        Tidy (:data:`VALIDITY_COLUMNS`): ``analysis`` is ``kmo`` (``statistic`` ``kmo`` overall, ``msa`` per
        ``item``), ``bartlett`` (``chi2`` with ``df``, ``pvalue``), ``efa`` (``ss_loadings``/``proportion`` per
        factor in ``item``, ``communality`` per item, ``n_misassigned``), ``cfa`` (``chi2``, ``cfi``, ``tli``,
        ``rmsea`` with its 90% interval, ``srmr``, ``converged``). A part that cannot be estimated gives one
        NaN row with the reason in ``note``.
    loadings : pandas.DataFrame
        Long (:data:`LOADING_COLUMNS`): one row per item × factor for ``method = "efa_oblimin"`` (pattern
        loadings, with the item's ``primary_factor``, the scale that factor stands for, ``misassigned`` and a
        Chinese ``flag``), and one row per item for ``method = "cfa"`` (standardized loading on its scale).
    """
    inst = codebook.instrument
    scales = codebook.questionnaire.scales
    ids = [i for s in scales for i in s.items]
    scale_of = {i: s.id for s in scales for i in s.items}
    x = keyed_items(responses, codebook, ids)
    for s in scales:
        rev = [i for i in s.items if codebook.item(i).reverse]
        if rev:
            lo, hi = _scale_range(codebook, list(s.items))
            x[rev] = lo + hi - x[rev]
    vrows: list[dict] = []
    lrows: list[dict] = []
    n_complete = int(np.count_nonzero(~np.isnan(x.to_numpy()).any(axis=1)))
    reason = ""
    if len(ids) < 3:
        reason = "量表题目少于3题，无法进行结构效度分析"
    elif n_complete <= len(ids):
        reason = (
            f"全部量表题均有实质作答的样本仅{n_complete}份，不多于题目数{len(ids)}，相关矩阵奇异，"
            "无法进行结构效度分析（按列表删除）"
        )
    if reason:
        for analysis, stat in (("kmo", "kmo"), ("bartlett", "chi2"), ("efa", "ss_loadings"), ("cfa", "chi2")):
            vrows.append(
                _vrow(inst, analysis, stat, np.nan, n=n_complete, n_dropped=len(x) - n_complete, note=reason)
            )
        return pd.DataFrame(vrows, columns=VALIDITY_COLUMNS), pd.DataFrame(columns=LOADING_COLUMNS)
    caveat = (
        f"（注意：完整样本仅{n_complete}份，少于题目数的{SMALL_SAMPLE_RATIO}倍，因子结果不稳定，仅供参考）"
        if n_complete < SMALL_SAMPLE_RATIO * len(ids)
        else ""
    )
    # the complete cases and their correlation matrix once for all four analyses; if they cannot be prepared,
    # each analysis is given the frame and reports its own reason
    items: pd.DataFrame | PreparedItems
    try:
        items = prepare_items(x)
    except DataError:
        items = x

    try:
        k = stats.kmo(items)
        vrows.append(_vrow(inst, "kmo", "kmo", k.overall, n=k.n, n_dropped=k.n_dropped))
        vrows += [
            _vrow(inst, "kmo", "msa", float(v), item=i, n=k.n, n_dropped=k.n_dropped)
            for i, v in k.per_item.items()
        ]
    except DataError as err:
        vrows.append(_vrow(inst, "kmo", "kmo", np.nan, note=f"无法计算KMO：{err}"))
    try:
        b = stats.bartlett_sphericity(items)
        vrows.append(
            _vrow(
                inst, "bartlett", "chi2", b.statistic, df=b.df, pvalue=b.pvalue, n=b.n, n_dropped=b.n_dropped
            )
        )
    except DataError as err:
        vrows.append(_vrow(inst, "bartlett", "chi2", np.nan, note=f"无法进行Bartlett球形检验：{err}"))

    n_factors = len(scales)
    try:
        e = stats.efa(items, n_factors, rotation="oblimin")
    except (DataError, np.linalg.LinAlgError) as err:
        vrows.append(_vrow(inst, "efa", "ss_loadings", np.nan, note=f"无法进行探索性因子分析：{err}"))
    else:
        common = {"n": e.n, "n_dropped": e.n_dropped}
        for _, r in e.variance.iterrows():
            vrows.append(
                _vrow(inst, "efa", "ss_loadings", float(r["ss_loadings"]), item=r["factor"], **common)
            )
            vrows.append(_vrow(inst, "efa", "proportion", float(r["proportion"]), item=r["factor"], **common))
        vrows += [
            _vrow(inst, "efa", "communality", float(v), item=i, **common) for i, v in e.communalities.items()
        ]
        mis = stats.misassigned_items(e, scale_of).set_index("item")
        vrows.append(
            _vrow(
                inst,
                "efa",
                "n_misassigned",
                float(mis["misassigned"].sum()),
                note=f"因子数={n_factors}（与代码本量表数相同），斜交旋转oblimin{caveat}",
                **common,
            )
        )
        for item in e.loadings.index:
            m = mis.loc[item]
            for factor in e.loadings.columns:
                lrows.append(
                    {
                        "instrument": inst,
                        "method": "efa_oblimin",
                        "item": item,
                        "scale": scale_of[item],
                        "factor": factor,
                        "loading": float(e.loadings.loc[item, factor]),
                        "primary_factor": m["primary_factor"],
                        "factor_scale": m["factor_scale"],
                        "misassigned": bool(m["misassigned"]),
                        "flag": m["flag"] + caveat if m["flag"] else "",
                    }
                )

    cfa = getattr(stats, "cfa", None)
    if cfa is not None:
        structure = {s.id: list(s.items) for s in scales}
        try:
            c = cfa(items, structure)
        except (DataError, np.linalg.LinAlgError, RuntimeError) as err:
            vrows.append(_vrow(inst, "cfa", "chi2", np.nan, note=f"无法进行验证性因子分析：{err}"))
        else:
            common = {"n": c.n, "n_dropped": c.n_dropped}
            vrows += [
                _vrow(inst, "cfa", "chi2", c.chi2, df=c.df, pvalue=c.pvalue, **common),
                _vrow(inst, "cfa", "cfi", c.cfi, **common),
                _vrow(inst, "cfa", "tli", c.tli, **common),
                _vrow(
                    inst, "cfa", "rmsea", c.rmsea, ci_low=c.rmsea_ci_low, ci_high=c.rmsea_ci_high, **common
                ),
                _vrow(inst, "cfa", "srmr", c.srmr, **common),
                _vrow(inst, "cfa", "converged", float(c.converged), **common),
            ]
            for _, r in c.loadings.iterrows():
                lrows.append(
                    {
                        "instrument": inst,
                        "method": "cfa",
                        "item": r["item"],
                        "scale": r["scale"],
                        "factor": r["scale"],
                        "loading": float(r["std_estimate"]),
                        "primary_factor": r["scale"],
                        "factor_scale": r["scale"],
                        "misassigned": False,
                        "flag": "",
                    }
                )
    return pd.DataFrame(vrows, columns=VALIDITY_COLUMNS), pd.DataFrame(lrows, columns=LOADING_COLUMNS)


# ============================================================================================ agreement
def _arow(measure: str, statistic: str, estimate: float = np.nan, **values: Any) -> dict[str, Any]:
    row = {c: np.nan for c in AGREEMENT_COLUMNS}
    row.update(
        {"measure": measure, "statistic": statistic, "estimate": estimate, "ci_method": "", "note": ""}
    )
    row.update(values)
    return row


def _slotted(reviews: pd.DataFrame) -> pd.DataFrame:
    """Reviews of files scored by two or more reviewers, with ``slot`` = 1, 2, ... in table order.

    Double scoring pairs different reviewers on different files, so the raters of the agreement statistics
    are the first and second review of a file (slots), not named persons.
    """
    r = reviews.reset_index(drop=True).copy()
    r["slot"] = r.groupby("case_id", sort=False).cumcount() + 1
    r["n_reviewers"] = r.groupby("case_id", sort=False)["case_id"].transform("size")
    return r[r["n_reviewers"] >= 2]


def _kappa_rows(measure: str, a: pd.Series, b: pd.Series, categories: list, weights_list) -> list[dict]:
    rows = []
    ok = a.notna().to_numpy() & b.notna().to_numpy()
    pa = float((a.to_numpy()[ok] == b.to_numpy()[ok]).mean()) if ok.any() else np.nan
    rows.append(
        _arow(measure, "percent_agreement", pa, n_files=int(ok.sum()), n_raters=2, n_dropped=int((~ok).sum()))
    )
    for weights in weights_list:
        name = "kappa" if weights is None else f"kappa_{weights}"
        try:
            k = stats.cohen_kappa(a, b, weights=weights, categories=categories)
        except DataError as err:
            values = pd.unique(pd.concat([a[ok], b[ok]]))
            reason = (
                f"两位评查员的结果均为同一类别（{values[0]}），kappa无定义"
                if len(values) == 1
                else f"kappa无法计算：{err}"
            )
            rows.append(
                _arow(
                    measure, name, n_files=int(ok.sum()), n_raters=2, n_dropped=int((~ok).sum()), note=reason
                )
            )
            continue
        rows.append(
            _arow(
                measure,
                name,
                k.kappa,
                se=k.se,
                ci_low=k.ci_low,
                ci_high=k.ci_high,
                ci_method="asymptotic (Fleiss-Cohen-Everitt 1969)",
                n_files=k.n,
                n_raters=2,
                n_dropped=k.n_dropped,
            )
        )
    return rows


def _flag_columns(reviews: pd.DataFrame, standard: CasefileStandard) -> dict[str, pd.Series]:
    """0/1 flags per review: ``any_veto``, each veto code, each defect code (count > 0)."""
    vetoes = [v.code for v in standard.vetoes]
    defects = [d.code for c in standard.categories for d in c.defects]
    for col in vetoes + defects:
        if col not in reviews.columns:
            raise DataError(f"casefile_reviews: column {col} not found")
    num = reviews[vetoes + defects].apply(pd.to_numeric, errors="coerce")
    flags = {"any_veto": num[vetoes].gt(0).any(axis=1).astype(int)}
    for col in vetoes + defects:
        flags[col] = num[col].gt(0).astype(int).where(num[col].notna())
    return flags


def reviewer_agreement(reviews: pd.DataFrame, standard: CasefileStandard) -> pd.DataFrame:
    """Agreement of the reviewers of double-scored case files, as one tidy table (:data:`AGREEMENT_COLUMNS`).

    The double-scored subset is every ``case_id`` with two or more rows in 02_clean ``casefile_reviews``.
    Raters are the first and second review of each file (slots 1 and 2, in table order).

    * ``score``: the six Shrout–Fleiss ICCs (``statistic`` ICC1 … ICC3k, F-based intervals, ``pvalue`` of the
      F test) on slots 1–2 (files lacking a score are dropped), and ``share_within_tolerance`` (files whose
      two scores differ by at most ``double_scoring_tolerance``).
    * ``grade``: ``percent_agreement``, ``kappa``, ``kappa_linear``, ``kappa_quadratic`` on the grade bands in
      the order of casefile.yaml.
    * ``any_veto``, each veto code and each defect code (count > 0): ``percent_agreement`` and ``kappa``;
      a flag constant in both raters gives NaN with the reason in ``note``.
    * Files with more than two reviewers: ``fleiss_kappa`` (with ``se`` under H0, ``pvalue``) per measure, by
      number of reviewers (``n_raters``).

    An empty double-scored subset gives a single row ``measure = "double_scoring"``, ``statistic = "n_files"``,
    estimate 0, saying so in ``note``.
    """
    for col in ("case_id", "score", "grade"):
        if col not in reviews.columns:
            raise DataError(f"casefile_reviews: column {col} not found")
    tol = standard.double_scoring_tolerance
    r = _slotted(reviews)
    n_files = int(r["case_id"].nunique())
    if n_files == 0:
        return pd.DataFrame(
            [
                _arow(
                    "double_scoring",
                    "n_files",
                    0.0,
                    n_files=0,
                    note="没有双评（两名及以上评查员）的案卷，无法计算评分一致性",
                )
            ],
            columns=AGREEMENT_COLUMNS,
        )
    rows = [_arow("double_scoring", "n_files", float(n_files), n_files=n_files)]
    pair = r[r["slot"] <= 2]
    score = pair.assign(score=pd.to_numeric(pair["score"], errors="coerce").astype(float))
    try:
        res = stats.icc(score, targets="case_id", raters="slot", ratings="score", incomplete="drop")
    except DataError as err:
        rows.append(_arow("score", "ICC2", n_files=n_files, n_raters=2, note=f"ICC无法计算：{err}"))
    else:
        for _, t in res.table.iterrows():
            rows.append(
                _arow(
                    "score",
                    t["type"],
                    float(t["icc"]),
                    ci_low=float(t["ci_low"]),
                    ci_high=float(t["ci_high"]),
                    ci_method="F",
                    pvalue=float(t["pvalue"]),
                    n_files=res.n_targets,
                    n_raters=res.n_raters,
                    n_dropped=res.n_dropped,
                    note=t["description"],
                )
            )
    wide = score.pivot(index="case_id", columns="slot", values="score").dropna()
    diff = (wide[1] - wide[2]).abs()
    rows.append(
        _arow(
            "score",
            "share_within_tolerance",
            float((diff <= tol).mean()) if len(diff) else np.nan,
            n_files=len(diff),
            n_raters=2,
            note=f"两评分差不超过{tol:g}分的案卷比例",
        )
    )

    grades = [g.grade for g in standard.grades]
    a_rows = pair[pair["slot"] == 1].set_index("case_id")
    b_rows = pair[pair["slot"] == 2].set_index("case_id").reindex(a_rows.index)
    ga = a_rows["grade"].astype(object).where(a_rows["grade"].notna(), np.nan)
    gb = b_rows["grade"].astype(object).where(b_rows["grade"].notna(), np.nan)
    rows += _kappa_rows("grade", ga, gb, grades, [None, "linear", "quadratic"])
    fa, fb = _flag_columns(a_rows, standard), _flag_columns(b_rows, standard)
    for measure in fa:
        rows += _kappa_rows(measure, fa[measure], fb[measure], [0, 1], [None])

    multi = r[r["n_reviewers"] > 2]
    if not multi.empty:
        flags = _flag_columns(multi, standard)
        measures = {"grade": (multi["grade"], grades), **{m: (v, [0, 1]) for m, v in flags.items()}}
        for m_raters, group in multi.groupby("n_reviewers"):
            for measure, (values, cats) in measures.items():
                v = values.loc[group.index]
                table = pd.crosstab(group["case_id"], pd.Categorical(v, categories=cats)).reindex(
                    columns=cats, fill_value=0
                )
                table = table[table.sum(axis=1) == m_raters]
                try:
                    fk = stats.fleiss_kappa(table)
                except DataError as err:
                    rows.append(
                        _arow(
                            measure,
                            "fleiss_kappa",
                            n_files=len(table),
                            n_raters=int(m_raters),
                            note=f"Fleiss kappa无定义：{err}",
                        )
                    )
                    continue
                rows.append(
                    _arow(
                        measure,
                        "fleiss_kappa",
                        fk.kappa,
                        se=fk.se0,
                        pvalue=fk.pvalue,
                        ci_method="se under H0 (Fleiss, Nee & Landis 1979)",
                        n_files=fk.n_subjects,
                        n_raters=fk.n_raters,
                    )
                )
    return pd.DataFrame(rows, columns=AGREEMENT_COLUMNS)


def third_review(reviews: pd.DataFrame, standard: CasefileStandard) -> pd.DataFrame:
    """Double-scored files (exactly two reviewers) that need a third review under casefile.yaml.

    The issue's rule is the score one: the two totals differ by more than ``double_scoring_tolerance``
    (``score_beyond_tolerance``). casefile.yaml (and 02_clean ``casefiles.needs_third_review``) also sends a file
    to a third reviewer when the grades differ (``grades_differ``) or a veto is disputed (``veto_disputed``:
    one reviewer records a veto code the other does not); such files are listed too, each with its reasons,
    so that ``third_review[third_review.score_beyond_tolerance]`` is the strict score-only list.

    Returns one row per file (:data:`THIRD_REVIEW_COLUMNS`), largest score difference first, with the Chinese
    ``reason`` naming every rule met.
    """
    tol = standard.double_scoring_tolerance
    r = _slotted(reviews)
    r = r[r["n_reviewers"] == 2].assign(
        score=lambda f: pd.to_numeric(f["score"], errors="coerce").astype(float)
    )
    if r.empty:
        return pd.DataFrame(columns=THIRD_REVIEW_COLUMNS)
    first = r[r["slot"] == 1].set_index("case_id")
    second = r[r["slot"] == 2].set_index("case_id").reindex(first.index)
    out = pd.DataFrame(
        {
            "case_id": first.index,
            "unit": first["unit"].to_numpy() if "unit" in first else "",
            "case_type": first["case_type"].to_numpy() if "case_type" in first else "",
            "n_reviewers": 2,
            "score_1": first["score"].to_numpy(),
            "score_2": second["score"].to_numpy(),
        }
    )
    out["score_diff"] = (out["score_1"] - out["score_2"]).abs()
    out["tolerance"] = float(tol)
    out["grade_1"] = first["grade"].astype(object).where(first["grade"].notna(), None).to_numpy()
    out["grade_2"] = second["grade"].astype(object).where(second["grade"].notna(), None).to_numpy()
    out["score_beyond_tolerance"] = (out["score_diff"] > tol).to_numpy()
    out["grades_differ"] = (out["grade_1"] != out["grade_2"]).to_numpy()
    vetoes = [v.code for v in standard.vetoes if v.code in first.columns]
    disputed = []
    for case in first.index:
        a = pd.to_numeric(first.loc[case, vetoes], errors="coerce").fillna(0).gt(0)
        b = pd.to_numeric(second.loc[case, vetoes], errors="coerce").fillna(0).gt(0)
        disputed.append([c for c in vetoes if a[c] != b[c]])
    out["veto_disputed"] = [bool(d) for d in disputed]
    reasons = []
    for k in range(len(out)):
        row = out.iloc[k]
        parts = []
        if row["score_beyond_tolerance"]:
            parts.append(
                f"两名评查员评分相差{row['score_diff']:g}分（{row['score_1']:g} 对 {row['score_2']:g}），"
                f"超过允许的{tol:g}分"
            )
        if row["grades_differ"]:
            parts.append(f"等级不一致（{row['grade_1']} 对 {row['grade_2']}）")
        if disputed[k]:
            parts.append(f"否决项有争议（{'、'.join(disputed[k])}）")
        reasons.append("；".join(parts) + "，需第三人复评或合议" if parts else "")
    out["reason"] = reasons
    keep = out["score_beyond_tolerance"] | out["grades_differ"] | out["veto_disputed"]
    out = out[keep].sort_values("score_diff", ascending=False, kind="stable")
    return out.reset_index(drop=True)[THIRD_REVIEW_COLUMNS]


def misassigned_flags(loadings: pd.DataFrame, codebook: Codebook | None = None) -> pd.DataFrame:
    """One flag (:data:`FLAG_COLUMNS`) per item that loads highest on another scale's EFA factor.

    ``codebook`` (optional) supplies the scales' names for ``scale_name``.
    """
    names = {s.id: s.name for s in codebook.questionnaire.scales} if codebook is not None else {}
    efa = loadings[(loadings["method"] == "efa_oblimin") & loadings["misassigned"].astype(bool)]
    efa = efa[efa["factor"] == efa["primary_factor"]]
    rows = [
        {
            "instrument": r["instrument"],
            "scale": r["scale"],
            "scale_name": names.get(r["scale"], ""),
            "item": r["item"],
            "flag_code": "loads_on_other_scale",
            "reason": r["flag"],
            "value": float(r["loading"]),
            "threshold": np.nan,
            "weighted": False,
        }
        for _, r in efa.iterrows()
    ]
    return pd.DataFrame(rows, columns=FLAG_COLUMNS)
