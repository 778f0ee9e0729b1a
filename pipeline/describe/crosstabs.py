"""Crosstab tests: every declared grouping × every single-choice and matrix item.

The row percentages of a crosstab are the ``frequencies`` rows with ``by`` = the grouping. Here, one row per
grouping × item: the Rao–Scott second-order F test of independence (``svychisq(statistic = "F")``) and
Cramér's V of the weighted table (:func:`pipeline.stats.crosstab_test` states why it is taken from the
weighted cell proportions). Groups suppressed by the small-cell rule are left out of the test (and named in
``reason``); the test is flagged ``small`` when a remaining group is below the marking threshold. Every test
that cannot be computed says why in ``reason``. The sums are those of the frequencies (one pass per grouping
and item, :mod:`pipeline.stats._frequencies`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline import stats
from pipeline.describe.common import Described, domains, item_labels, item_slots, sums_of
from pipeline.describe.frequencies import choice_items
from pipeline.schemas import column_names
from pipeline.stats import _frequencies as kernel

NOT_TESTED = dict(
    statistic=np.nan, ndf=np.nan, ddf=np.nan, p=np.nan, pearson=np.nan, deff=np.nan, cramers_v=np.nan
)


def _test(d: Described, dom, sums, rows: np.ndarray, cols: np.ndarray, col_labels: list[str]) -> dict:
    """The test of the domains ``rows`` × levels ``cols``, or NaN with the reason it cannot be computed."""
    if len(rows) < 2:
        return {**NOT_TESTED, "reason": "可检验的组不足2个，无法检验 (fewer than 2 groups left to test)"}
    if len(cols) < 2:
        return {**NOT_TESTED, "reason": "有效选项不足2个，无法检验 (fewer than 2 options chosen)"}
    inside = np.isin(dom.combos.group, rows)
    empty = [col_labels[j] for j, c in enumerate(cols) if sums.n[inside, c].sum() == 0]
    if empty:
        return {
            **NOT_TESTED,
            "reason": f"选项“{'、'.join(empty)}”只出现在被排除或未填分组的答卷中，χ²无法计算 "
            "(an option occurs only in groups left out: a column of the table is empty)",
        }
    try:
        with np.errstate(divide="ignore", invalid="ignore"):
            res = kernel.crosstab(
                d.design, dom.combos, sums, rows, cols, tuple(dom.labels[r] for r in rows), tuple(cols)
            )
    except (kernel.SingularTable, np.linalg.LinAlgError):
        return {
            **NOT_TESTED,
            "reason": "交叉表中的空单元格使 Rao–Scott 校正矩阵奇异，无法检验 "
            "(empty cells make the Rao–Scott correction singular)",
        }
    m = min(len(rows), len(cols)) - 1
    out = dict(
        statistic=res.statistic, ndf=res.ndf, ddf=res.ddf, p=res.pvalue, pearson=res.pearson,
        deff=res.mean_deff, cramers_v=float(np.sqrt(res.pearson / d.design.n / m)), reason="",
    )  # fmt: skip
    if not np.isfinite(out["p"]):
        out["reason"] = "检验统计量无法计算（设计效应为0或表格退化）(the statistic is not finite)"
    return out


def crosstab_table(described: Described) -> pd.DataFrame:
    """``crosstabs.parquet`` rows of one questionnaire."""
    d = described
    rows = []
    for by in d.groupings:
        dom = domains(d, by)
        n_groups = len(dom.labels)
        for item in choice_items(d):
            if d.codebook.variables.get(by) == item.id:
                continue
            slots = item_slots(d, item)
            sums = sums_of(d, dom, slots, key=item.id)
            k = slots.k
            inside = dom.combos.group < n_groups
            valid_n = np.bincount(dom.combos.group[inside], weights=sums.n[inside, :k].sum(axis=1),
                                  minlength=n_groups)  # fmt: skip
            sw = np.bincount(
                dom.combos.group[inside], weights=sums.w1[inside, :k].sum(axis=1), minlength=n_groups
            )
            sw2 = np.bincount(
                dom.combos.group[inside], weights=sums.w2[inside, :k].sum(axis=1), minlength=n_groups
            )
            present = np.flatnonzero(valid_n > 0)
            with np.errstate(divide="ignore", invalid="ignore"):
                n_eff = stats.kish_n_eff_from_sums(sw[present], sw2[present])
            flags = d.rule.flag_array(n_eff)[0]
            kept = present[flags != "suppressed"]
            suppressed = [dom.labels[g] for g in present[flags == "suppressed"]]
            cols = np.flatnonzero(sums.n[:, :k].sum(axis=0) > 0)
            labels = item.text_by_code
            test = _test(
                d, dom, sums, kept, cols, [str(labels.get(slots.codes[c], slots.codes[c])) for c in cols]
            )
            small = bool((flags[flags != "suppressed"] == "small").any())
            reasons = [test.pop("reason")]
            if suppressed:
                reasons.append(f"已排除样本量不足{d.rule.suppress_below}的组：{'、'.join(suppressed)}")
            ok = np.isfinite(test["p"])
            rows.append(
                {**item_labels(item), "by": by, **test, "n": int(valid_n[kept].sum()), "n_groups": int(kept.size),
                 "flag": ("small" if small else "") if ok else "suppressed",
                 "reason": "；".join(r for r in reasons if r)}
            )  # fmt: skip
    out = pd.DataFrame(
        rows,
        columns=[c for c in column_names("describe", "crosstabs") if c not in ("instrument", "weighted")],
    )
    out.insert(0, "instrument", d.instrument)
    out["weighted"] = d.weighted
    return out[column_names("describe", "crosstabs")]
