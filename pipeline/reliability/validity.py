"""Construct validity of a questionnaire's scales: the ``validity`` and ``loadings`` tables.

KMO, Bartlett's test of sphericity, an exploratory factor analysis (minres, oblimin, one factor per scale) and
a confirmatory factor analysis of the scales as configured, listwise over all scale items of the questionnaire
at once; items that load mainly on another scale's factor are flagged.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pipeline import stats
from pipeline.config.codebook import Codebook
from pipeline.errors import DataError
from pipeline.reliability.columns import FLAG_COLUMNS, LOADING_COLUMNS, VALIDITY_COLUMNS
from pipeline.reliability.scales import _scale_range, keyed_items
from pipeline.stats.reliability import (
    PreparedItems,
    prepare_items,
)

#: Construct-validity results on fewer complete cases than this many per item carry a caveat.
SMALL_SAMPLE_RATIO = 5


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
