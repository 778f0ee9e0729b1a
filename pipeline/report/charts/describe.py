"""Charts of the descriptive statistics (section 4): each Likert scale's items as diverging stacked bars, and
the scale and index estimates per district and unit type with the city-wide line."""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd

from pipeline.report import style
from pipeline.report.blocks import Figure
from pipeline.report.charts.base import Chart, instrument_label
from pipeline.report.inputs import ReportInputs

#: The index of the scales (05/06 ``SI``), shown first among the estimates.
INDEX = "SI"


def plan(inputs: ReportInputs) -> list[Chart]:
    """Likert and estimate charts whose inputs exist."""
    return [*_likert(inputs), *_estimates(inputs)]


# -- Likert diverging bars --------------------------------------------------------------------------------


def _likert(inputs: ReportInputs) -> list[Chart]:
    freq = inputs.table("describe", "frequencies")
    if freq is None:
        return []
    overall = freq[(freq["by"] == "") & ~freq["missing_option"]]
    charts = []
    for instrument in inputs.config.instruments:
        codebook = inputs.config.codebook(instrument)
        rows_of = overall[overall["instrument"] == instrument]
        for scale in codebook.questionnaire.scales:
            data = _scale_shares(rows_of, codebook.scale_items(scale.id))
            if data is None:
                continue
            shares, labels, answers = data
            charts.append(
                Chart(
                    Figure(
                        f"likert_{instrument}_{scale.id}",
                        f"{instrument_label(instrument)}问卷“{scale.name}”各题回答分布",
                        inputs.source("describe", "frequencies"),
                        note="加权百分比，基数为作出实质回答者（不含“不了解”类）；按净满意度（正向减负向）排序；"
                        "反向计分题按计分方向排列。",
                    ),
                    section=4,
                    after=None,
                    draw=partial(draw_likert, shares, labels, answers),
                )
            )
    return charts


def _scale_shares(rows: pd.DataFrame, items) -> tuple[np.ndarray, list[str], list[str]] | None:
    """Per item the weighted shares of its answers worst → best (by the item's scoring, reverse-coded), the
    items sorted by net satisfaction (best first); ``None`` without data or a common answer scale."""
    shares, labels, answers = [], [], None
    for item in items:
        if item.scoring is None:
            return None
        scores = item.scoring.item_scores(item.reverse)
        order = sorted(scores, key=lambda c: (scores[c], c))  # worst → best
        got = rows[rows["item"] == item.id].set_index("option_code")["percent"]
        if got.empty:
            continue
        shares.append(got.reindex(order).fillna(0.0).to_numpy(float))
        labels.append(item.text)
        if answers is None:
            answers = [item.text_by_code[c] for c in order]
        elif len(order) != len(answers):
            return None
    if not shares or answers is None:
        return None
    matrix = np.vstack(shares)
    half = matrix.shape[1] // 2
    net = matrix[:, -half:].sum(axis=1) - matrix[:, :half].sum(axis=1)
    order = np.argsort(-net, kind="stable")
    return matrix[order], [labels[i] for i in order], answers


def draw_likert(shares: np.ndarray, labels: list[str], answers: list[str]):
    """Diverging stacked bars: negative answers left of zero, the neutral middle split across it, positive
    answers right; net satisfaction written at the right end."""
    n_items, k = shares.shape
    half = k // 2
    colours = style.likert_colours(k)
    fig = style.figure(2.6 + 1.0 * n_items)
    ax = fig.add_subplot()
    y = np.arange(n_items)
    neutral = shares[:, half] if k % 2 else np.zeros(n_items)
    left = -(shares[:, :half].sum(axis=1) + neutral / 2)
    for j in range(k):
        ax.barh(
            y,
            shares[:, j],
            left=left,
            color=colours[j],
            height=0.65,
            label=answers[j],
            edgecolor="white",
            linewidth=0.4,
        )
        for yi, (x0, w) in enumerate(zip(left, shares[:, j], strict=True)):
            if w >= 6:
                dark = colours[j] in (style.NEGATIVE[0], style.POSITIVE[-1])
                ax.text(
                    x0 + w / 2,
                    yi,
                    f"{w:.0f}",
                    ha="center",
                    va="center",
                    fontsize=style.SMALL_PT,
                    color="white" if dark else "black",
                )
        left = left + shares[:, j]
    net = shares[:, -half:].sum(axis=1) - shares[:, :half].sum(axis=1)
    right = float(np.max(left))
    for yi, value in enumerate(net):
        ax.text(right + 3, yi, f"{value:+.0f}", va="center", fontsize=style.SMALL_PT)
    ax.text(right + 3, -0.75, "净满意度", va="bottom", fontsize=style.SMALL_PT)
    ax.axvline(0, color=style.REFERENCE, linewidth=0.6)
    ax.set_yticks(y, [style.wrap(t, 16) for t in labels])
    ax.invert_yaxis()
    ax.set_xlim(min(-60, float(np.min(-(shares[:, :half].sum(axis=1) + neutral / 2))) - 2), right + 14)
    ax.set_xlabel("百分比（%）")
    ax.xaxis.set_major_formatter(_absolute())
    ax.legend(
        loc="upper center",
        bbox_to_anchor=(0.5, -0.12 - 0.25 / n_items),
        ncols=k,
        frameon=False,
        handlelength=1.2,
        columnspacing=1.0,
    )
    return fig


def _absolute():
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda x, _: f"{abs(x):.0f}")


# -- estimates per district and unit type -------------------------------------------------------------------


def _estimates(inputs: ReportInputs) -> list[Chart]:
    scales = inputs.table("describe", "scales")
    if scales is None:
        return []
    means = scales[(scales["statistic"] == "mean") & scales["kind"].isin(["scale", "index"])]
    names = style.unit_names(inputs.config)
    types = style.type_labels(inputs.config)
    order = style.unit_order(inputs.config)
    charts = []
    for instrument in inputs.config.instruments:
        rows = means[means["instrument"] == instrument]
        variables = list(dict.fromkeys(rows["variable"]))
        variables = [v for v in variables if v == INDEX] + [v for v in variables if v != INDEX]
        for by, labels, group_order, what in (
            ("district", names, _in_order(order, rows.loc[rows["by"] == "district", "group"]), "县区"),
            ("unit_type", types, list(types), "单位类型"),
        ):
            panels = []
            for variable in variables:
                city = rows[(rows["variable"] == variable) & (rows["by"] == "")]
                part = rows[(rows["variable"] == variable) & (rows["by"] == by)].set_index("group")
                part = part.reindex([g for g in group_order if g in part.index])
                if part.empty or city.empty:
                    continue
                panels.append(
                    (
                        str(city["name"].iloc[0]),
                        [labels.get(g, g) for g in part.index],
                        part[["estimate", "ci_low", "ci_high"]].to_numpy(float),
                        (part["flag"] == "small").to_numpy(bool),
                        float(city["estimate"].iloc[0]),
                    )
                )
            if not panels:
                continue
            label = instrument_label(instrument)
            charts.append(
                Chart(
                    Figure(
                        f"{by}_{instrument}",
                        f"{label}各{what}满意度指数与各量表得分及 95% 置信区间",
                        inputs.source("describe", "scales"),
                        note="得分 0–100；虚线为全市（全体）估计；空心点为样本量较小（标记†）的组，"
                        "样本量不足的组不予报告。" + ("加权估计。" if instrument == "public" else ""),
                    ),
                    section=4,
                    after=None,
                    draw=partial(draw_estimates, panels),
                )
            )
    return charts


def _in_order(order: list[str], groups: pd.Series) -> list[str]:
    """The groups present, in the charts' unit order; groups that are no unit (``市直``) last."""
    present = list(dict.fromkeys(groups))
    return [g for g in order if g in present] + [g for g in present if g not in order]


def draw_estimates(panels: list[tuple[str, list[str], np.ndarray, np.ndarray, float]]):
    """Small multiples, one per scale: each group's mean with its interval, the city-wide mean dashed."""
    cols = 2 if len(panels) > 1 else 1
    rows = -(-len(panels) // cols)
    n_groups = max(len(p[1]) for p in panels)
    fig = style.figure(1.0 + rows * (1.4 + 0.42 * n_groups))
    axes = fig.subplots(rows, cols, squeeze=False, sharex=True)
    low = min(np.nanmin(p[2][:, 1]) for p in panels if np.isfinite(p[2][:, 1]).any())
    high = max(np.nanmax(p[2][:, 2]) for p in panels if np.isfinite(p[2][:, 2]).any())
    for i, ax in enumerate(axes.flat):
        if i >= len(panels):
            ax.set_visible(False)
            continue
        title, labels, values, small, city = panels[i]
        y = np.arange(len(labels))
        est = values[:, 0]
        err = np.nan_to_num(np.vstack([est - values[:, 1], values[:, 2] - est]))
        ax.errorbar(est, y, xerr=err, fmt="none", ecolor=style.MAIN, elinewidth=0.9, capsize=1.5)
        ax.scatter(est[~small], y[~small], color=style.MAIN, s=14, zorder=3)
        ax.scatter(est[small], y[small], facecolor="white", edgecolor=style.MAIN, s=14, zorder=3)
        ax.axvline(city, color=style.ACCENT, linestyle="--", linewidth=0.8)
        ax.set_yticks(y, [style.wrap(t, 8) for t in labels])
        ax.set_ylim(len(labels) - 0.5, -0.5)
        ax.set_title(style.wrap(title, 16), loc="left")
        ax.set_xlim(np.floor(low / 5) * 5 - 2, np.ceil(high / 5) * 5 + 2)
        ax.grid(axis="x", linewidth=0.3, color="#DDDDDD")
    for ax in axes[-1]:
        ax.set_xlabel("得分")
    return fig
