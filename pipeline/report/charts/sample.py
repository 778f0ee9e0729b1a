"""Charts of the sample: the response flow (section 1), sample against population margins and the weight
distribution (section 2), and Cronbach's α per scale (section 3)."""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd

from pipeline import paths
from pipeline.report import style
from pipeline.report.blocks import Figure
from pipeline.report.charts.base import Chart, instrument_label
from pipeline.report.inputs import ReportInputs
from pipeline.stats.reliability import ALPHA_MIN

#: Bins of the weight distribution chart (weights relative to their mean, from 0 to the largest).
WEIGHT_BINS = 40


def plan(inputs: ReportInputs) -> list[Chart]:
    """The flow, margins, weights and α charts whose inputs exist."""
    return [*_flow(inputs), *_margins(inputs), *_weights(inputs), *_alpha(inputs)]


# -- response flow ----------------------------------------------------------------------------------------


def _flow(inputs: ReportInputs) -> list[Chart]:
    flow = inputs.table("clean", "flow")
    if flow is None:
        return []
    charts = []
    for instrument, rows in flow.groupby("instrument", sort=False):
        if rows.empty or int(rows["n_before"].iloc[0]) == 0:
            continue
        raw = rows[rows["rule"] == "raw"]
        valid = rows[rows["rule"] == "valid"]
        excluded = rows[(rows["action"] == "exclude") & (rows["n_excluded"] > 0)]
        if raw.empty or valid.empty:
            continue
        steps = [(raw["reason"].iloc[0], 0, int(raw["n_after"].iloc[0]), "total")]
        steps += [(r.reason, int(r.n_after), int(r.n_excluded), "excluded") for r in excluded.itertuples()]
        steps.append((valid["reason"].iloc[0], 0, int(valid["n_after"].iloc[0]), "total"))
        label = instrument_label(str(instrument))
        charts.append(
            Chart(
                Figure(
                    f"flow_{instrument}",
                    f"{label}问卷样本流程：原始记录、按原因剔除与有效样本",
                    inputs.source("clean", "flow"),
                    note="剔除原因按清洗规则的执行顺序排列；仅标记、不剔除的规则未列出。",
                ),
                section=1,
                after=None,
                draw=partial(draw_flow, steps),
            )
        )
    return charts


def draw_flow(steps: list[tuple[str, int, int, str]]):
    """A waterfall of the response flow: the raw and valid totals, each exclusion as a floating bar."""
    fig = style.figure(1.6 + 0.75 * len(steps))
    ax = fig.add_subplot()
    y = np.arange(len(steps))
    top = max(start + width for _, start, width, _ in steps)
    for yi, (_, start, width, kind) in zip(y, steps, strict=True):
        colour = style.MAIN if kind == "total" else style.NEGATIVE[0]
        ax.barh(yi, width, left=start, color=colour, height=0.6)
        text = f"{width:,}" if kind == "total" else f"−{width:,}"
        ax.text(start + width + top * 0.01, yi, text, va="center", fontsize=style.SMALL_PT)
    ax.set_yticks(y, [style.wrap(label, 12) for label, *_ in steps])
    ax.invert_yaxis()
    ax.set_xlim(0, top * 1.12)
    ax.set_xlabel("记录数")
    ax.xaxis.set_major_formatter(_thousands())
    return fig


def _thousands():
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda x, _: f"{x:,.0f}")


# -- margins ----------------------------------------------------------------------------------------------


def _margins(inputs: ReportInputs) -> list[Chart]:
    margins = inputs.table("weight", "margins")
    freq = inputs.table("describe", "frequencies")
    if margins is None or freq is None or margins.empty or "public" not in inputs.config.instruments:
        return []
    codebook = inputs.config.codebook("public")
    names = style.unit_names(inputs.config)
    panels = []
    for variable, rows in margins.groupby("variable", sort=False):
        if variable not in codebook.variables:
            continue  # an interaction margin: no single question holds the sample's shares
        item = codebook.variables[variable]
        counts = freq[(freq["instrument"] == "public") & (freq["by"] == "") & (freq["item"] == item)]
        counts = counts[~counts["missing_option"]].set_index("option_label")["n"].astype(float)
        if counts.sum() <= 0:
            continue
        labels = [names.get(str(c), str(c)) for c in rows["category"]]
        target = rows["target"].to_numpy(float)
        sample = counts.reindex(labels).fillna(0).to_numpy(float)
        panels.append(
            (
                codebook.item(item).question_text,
                labels,
                100 * sample / counts.sum(),
                100 * target / target.sum(),
            )
        )
    if not panels:
        return []
    figure = Figure(
        "margins_public",
        "公众样本结构与总体结构对比（未加权样本与人口目标）",
        f"{inputs.source('weight', 'margins')}, {inputs.source('describe', 'frequencies')}",
        note="加权后各类别占比与总体目标一致。",
    )
    return [Chart(figure, section=2, after=None, draw=partial(draw_margins, panels))]


def draw_margins(panels: list[tuple[str, list[str], np.ndarray, np.ndarray]]):
    """Per variable a panel of paired bars: the unweighted sample share and the population share."""
    heights = [len(labels) for _, labels, _, _ in panels]
    fig = style.figure(1.5 + 0.55 * sum(heights) + 0.8 * len(panels))
    axes = fig.subplots(len(panels), 1, gridspec_kw={"height_ratios": heights}, squeeze=False)[:, 0]
    for ax, (title, labels, sample, target) in zip(axes, panels, strict=True):
        y = np.arange(len(labels))
        ax.barh(y - 0.2, sample, height=0.4, color=style.MUTED, label="样本（未加权）")
        ax.barh(y + 0.2, target, height=0.4, color=style.MAIN, label="总体")
        ax.set_yticks(y, labels)
        ax.invert_yaxis()
        ax.set_title(title, loc="left")
        ax.set_xlabel("占比（%）")
    axes[0].legend(loc="lower right", frameon=False, ncols=2, bbox_to_anchor=(1, 1))
    return fig


# -- weights ----------------------------------------------------------------------------------------------


def _weights(inputs: ReportInputs) -> list[Chart]:
    import pyarrow.parquet as pq

    diagnostics = inputs.table("weight", "diagnostics")
    charts = []
    for instrument in inputs.config.instruments:
        path = paths.table_path(inputs.out, "weight", f"{instrument}_weights")
        if not path.exists():
            continue
        weights = pq.read_table(path, columns=["weight"]).column("weight").to_numpy(zero_copy_only=False)
        weights = weights[np.isfinite(weights)]
        if weights.size == 0 or weights.mean() <= 0:
            continue
        relative = weights / weights.mean()
        counts, edges = np.histogram(relative, bins=WEIGHT_BINS, range=(0, max(relative.max(), 1.0) * 1.02))
        deff = None
        if diagnostics is not None:
            row = diagnostics[
                (diagnostics["instrument"] == instrument)
                & (diagnostics["scope"] == "overall")
                & (diagnostics["statistic"] == "deff_kish")
            ]
            deff = float(row["value"].iloc[0]) if len(row) else None
        note = f"n = {weights.size:,}" + (f"；Kish 设计效应 {deff:.2f}" if deff is not None else "")
        charts.append(
            Chart(
                Figure(
                    f"weights_{instrument}",
                    f"{instrument_label(instrument)}问卷权重分布（权重 / 平均权重）",
                    inputs.source("weight", f"{instrument}_weights"),
                    note=note,
                ),
                section=2,
                after=None,
                draw=partial(draw_weights, counts, edges),
            )
        )
    return charts


def draw_weights(counts: np.ndarray, edges: np.ndarray):
    """The binned weights as one outlined histogram, the mean weight (1) marked."""
    fig = style.figure(6.5)
    ax = fig.add_subplot()
    ax.stairs(counts, edges, fill=True, color=style.MAIN, alpha=0.85)
    ax.axvline(1.0, color=style.REFERENCE, linestyle="--", linewidth=0.8)
    ax.text(1.0, 1.0, " 平均权重", transform=ax.get_xaxis_transform(), va="top", fontsize=style.SMALL_PT)
    ax.set_xlabel("权重 / 平均权重")
    ax.set_ylabel("人数")
    ax.set_xlim(0, edges[-1])
    return fig


# -- reliability ------------------------------------------------------------------------------------------


def _alpha(inputs: ReportInputs) -> list[Chart]:
    table = inputs.table("reliability", "reliability")
    if table is None:
        return []
    rows = table[(table["statistic"] == "alpha") & (table["ci_method"] == "feldt") & ~table["weighted"]]
    rows = rows[np.isfinite(rows["estimate"].to_numpy(float))]
    if rows.empty:
        return []
    data = pd.DataFrame(
        {
            "label": [
                f"{instrument_label(i)}：{n}"
                for i, n in zip(rows["instrument"], rows["scale_name"], strict=True)
            ],
            "estimate": rows["estimate"].to_numpy(float),
            "low": rows["ci_low"].to_numpy(float),
            "high": rows["ci_high"].to_numpy(float),
        }
    )
    figure = Figure(
        "alpha",
        "各量表 Cronbach's α 系数及 95% 置信区间",
        inputs.source("reliability", "reliability"),
        note=f"未加权，列表删除；区间为 Feldt 区间；虚线为 α = {ALPHA_MIN:.2f}。",
    )
    return [Chart(figure, section=3, after=None, draw=partial(draw_alpha, data, ALPHA_MIN))]


def draw_alpha(data: pd.DataFrame, line: float):
    """α per scale as a dot with its interval, the acceptance line dashed."""
    fig = style.figure(2.0 + 0.6 * len(data))
    ax = fig.add_subplot()
    y = np.arange(len(data))
    est = data["estimate"].to_numpy()
    err = np.vstack([est - data["low"].to_numpy(), data["high"].to_numpy() - est])
    ax.errorbar(est, y, xerr=np.nan_to_num(err), fmt="o", color=style.MAIN, markersize=4, capsize=2)
    ax.axvline(line, color=style.ACCENT, linestyle="--", linewidth=0.8)
    ax.set_yticks(y, [style.wrap(t, 16) for t in data["label"]])
    ax.invert_yaxis()
    low = min(line, float(np.nanmin(data["low"].fillna(data["estimate"])))) - 0.05
    ax.set_xlim(max(low, 0), 1)
    ax.set_xlabel("α")
    return fig
