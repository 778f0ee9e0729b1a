"""Chart of the differences (section 5): the effect sizes, with their intervals, of the omnibus tests that
were significant after Holm's correction, one chart per questionnaire (and the case files)."""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd

from pipeline.report import style
from pipeline.report.blocks import Figure
from pipeline.report.charts.base import Chart, grouping_label, instrument_label
from pipeline.report.inputs import ReportInputs

#: Omnibus tests whose effect size has an interval, and the effect's name in the chart.
OMNIBUS = {"welch_anova": "ω²", "chi2": "Cramér's V", "fisher": "Cramér's V"}
#: ``contrast`` of an omnibus row (pairwise rows name their two groups).
OMNIBUS_CONTRAST = "all"
#: Significance level of the Holm-corrected p.
ALPHA = 0.05
#: Labels of the case-file outcomes (05_compare ``instrument`` = casefile).
CASEFILE_OUTCOMES = {"score": "案卷得分", "grade": "案卷等次", "veto": "否决项"}


def plan(inputs: ReportInputs) -> list[Chart]:
    """One effect-size chart per instrument with at least one significant omnibus test."""
    table = inputs.table("compare", "comparisons")
    if table is None:
        return []
    omnibus = table["test"].isin(list(OMNIBUS)) & (table["contrast"] == OMNIBUS_CONTRAST)
    rows = table[omnibus & (table["p_holm"] < ALPHA) & table["effect"].notna()]
    names = _outcome_names(inputs)
    charts = []
    for instrument, part in rows.groupby("instrument", sort=False):
        instrument = str(instrument)
        data = pd.DataFrame(
            {
                "label": [
                    _label(names.get((instrument, dv), dv), grouping_label(inputs.config, instrument, by))
                    for dv, by in zip(part["dv"], part["by"], strict=True)
                ],
                "effect_name": [OMNIBUS[t] for t in part["test"]],
                "effect": part["effect"].to_numpy(float),
                "low": part["effect_ci_low"].to_numpy(float),
                "high": part["effect_ci_high"].to_numpy(float),
            }
        ).sort_values(["effect_name", "effect"], ascending=[True, False], kind="stable")
        label = "案卷" if instrument == "casefile" else f"{instrument_label(instrument)}问卷"
        charts.append(
            Chart(
                Figure(
                    f"effects_{instrument}",
                    f"{label}显著差异的效应量及 95% 置信区间",
                    inputs.source("compare", "comparisons"),
                    note="总体检验 Holm 校正后 p < 0.05 的比较（未加权）：连续结果为 Welch 方差分析的 ω²，"
                    "分类结果为 Cramér's V。",
                ),
                section=5,
                after=None,
                draw=partial(draw_effects, data),
            )
        )
    return charts


def _outcome_names(inputs: ReportInputs) -> dict[tuple[str, str], str]:
    """(instrument, dv) → its name: scales and the index from 06_describe/scales, case-file outcomes."""
    names = {("casefile", k): v for k, v in CASEFILE_OUTCOMES.items()}
    scales = inputs.table("describe", "scales")
    if scales is not None:
        first = scales.drop_duplicates(["instrument", "variable"])
        names.update(
            {(i, v): n for i, v, n in zip(first["instrument"], first["variable"], first["name"], strict=True)}
        )
    for instrument in inputs.config.instruments:
        for item in inputs.config.codebook(instrument).items:
            if item.scored:
                names.setdefault((instrument, f"satisfied_{item.id}"), f"{item.text}（满意率）")
    return names


#: Characters of a label line in the effect-size chart.
LABEL_WIDTH = 24


def _label(outcome: str, grouping: str) -> str:
    """``outcome × grouping`` on one line when it fits, else the grouping on a line of its own."""
    one = f"{outcome} × {grouping}"
    return one if len(one) <= LABEL_WIDTH else f"{style.wrap(outcome, LABEL_WIDTH)}\n× {grouping}"


def draw_effects(data: pd.DataFrame):
    """Per effect-size kind a panel of dots with intervals, largest first."""
    kinds = list(dict.fromkeys(data["effect_name"]))
    lines = np.array([t.count("\n") + 1 for t in data["label"]])
    heights = [float(lines[(data["effect_name"] == k).to_numpy()].sum()) for k in kinds]
    fig = style.figure(1.5 + 0.5 * sum(heights) + 1.0 * len(kinds))
    axes = fig.subplots(len(kinds), 1, squeeze=False, gridspec_kw={"height_ratios": heights})[:, 0]
    for ax, kind in zip(axes, kinds, strict=True):
        part = data[data["effect_name"] == kind]
        spans = np.array([t.count("\n") + 1 for t in part["label"]], dtype=float)
        y = np.cumsum(spans) - spans / 2  # a two-line label gets two rows of room
        est = part["effect"].to_numpy()
        err = np.clip(
            np.nan_to_num(np.vstack([est - part["low"].to_numpy(), part["high"].to_numpy() - est])), 0, None
        )
        ax.errorbar(est, y, xerr=err, fmt="o", color=style.MAIN, markersize=3.5, capsize=1.5, elinewidth=0.9)
        ax.set_yticks(y, part["label"].tolist())
        ax.set_ylim(spans.sum(), 0)
        ax.set_xlim(0, None)
        ax.set_xlabel(kind)
        ax.grid(axis="x", linewidth=0.3, color="#DDDDDD")
    return fig
