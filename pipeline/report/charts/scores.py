"""Charts of the indicator scores (section 6): the aspect scores of each district against the city, and a
units × aspects heatmap, one figure per group of unit types so that every unit's row stays readable."""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd

from pipeline.report import style
from pipeline.report.blocks import Figure
from pipeline.report.charts.base import Chart
from pipeline.report.inputs import ReportInputs
from pipeline.score.system import CITY

#: Most unit rows in one heatmap figure (unit types are never split; more rows start the next figure).
HEATMAP_ROWS = 50


def plan(inputs: ReportInputs) -> list[Chart]:
    """The aspect dot plot and the heatmaps, when 07_score has run."""
    scores = inputs.table("score", "scores")
    if scores is None or inputs.config.units is None:
        return []
    aspects = scores[scores["level"] == "aspect"]
    if aspects.empty:
        return []
    wide = aspects.pivot_table(index="unit", columns="id", values="score", aggfunc="first", dropna=False)
    aspect_ids = [a.id for a in inputs.config.indicators.aspects] if inputs.config.indicators else list(wide)
    aspect_ids = [a for a in aspect_ids if a in wide.columns]
    names = dict(zip(aspects["id"], aspects["name"], strict=False))
    columns = [f"{a} {names.get(a, '')}".strip() for a in aspect_ids]
    wide = wide[aspect_ids]
    return [*_districts(inputs, wide, columns), *_heatmaps(inputs, wide, columns)]


def _districts(inputs: ReportInputs, wide: pd.DataFrame, columns: list[str]) -> list[Chart]:
    colours = style.district_colours(inputs.config)
    names = style.unit_names(inputs.config)
    districts = [c for c in colours if c in wide.index]
    if not districts:
        return []
    values = wide.loc[districts].to_numpy(float)
    city = wide.loc[CITY].to_numpy(float) if CITY in wide.index else None
    figure = Figure(
        "aspects_district",
        "各县区一级指标得分",
        inputs.source("score", "scores"),
        note="竖线为城市整体得分；得分 0–100。",
    )
    draw = partial(
        draw_aspects, values, city, columns, [names[d] for d in districts], [colours[d] for d in districts]
    )
    return [Chart(figure, section=6, after=None, draw=draw)]


def draw_aspects(
    values: np.ndarray, city: np.ndarray | None, aspects: list[str], units: list[str], colours: list[str]
):
    """Per aspect one row: a dot per district in its colour, the city's score as a short bar."""
    n = len(aspects)
    fig = style.figure(3.0 + 0.62 * n)
    ax = fig.add_subplot()
    y = np.arange(n)
    for j, (unit, colour) in enumerate(zip(units, colours, strict=True)):
        ax.scatter(values[j], y, s=16, color=colour, label=unit, zorder=3, linewidths=0)
    if city is not None:
        ax.scatter(
            city, y, marker="|", s=160, color=style.REFERENCE, label="城市整体", zorder=4, linewidths=1.6
        )
    ax.set_yticks(y, [style.wrap(a, 14) for a in aspects])
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_xlim(0, 100)
    ax.set_xlabel("得分")
    ax.grid(axis="y", linewidth=0.3, color="#DDDDDD")
    ax.legend(
        loc="upper center",
        bbox_to_anchor=(0.5, -0.06 - 1.2 / n),
        ncols=5,
        frameon=False,
        handletextpad=0.3,
        columnspacing=1.0,
    )
    return fig


def _heatmaps(inputs: ReportInputs, wide: pd.DataFrame, columns: list[str]) -> list[Chart]:
    names = style.unit_names(inputs.config)
    types = style.unit_types(inputs.config)
    type_labels = style.type_labels(inputs.config)
    order = [u for u in style.unit_order(inputs.config) if u in wide.index]
    size = {t: sum(types[u] == t for u in order) for t in type_labels}
    groups: list[list[str]] = []  # unit types, consecutive in chart order, at most HEATMAP_ROWS rows a figure
    for unit_type in (t for t in type_labels if size[t]):
        if groups and sum(size[t] for t in groups[-1]) + size[unit_type] <= HEATMAP_ROWS:
            groups[-1].append(unit_type)
        else:
            groups.append([unit_type])
    city = wide.loc[[CITY]] if CITY in wide.index else wide.iloc[:0]
    finite = wide.to_numpy(float)[np.isfinite(wide.to_numpy(float))]
    low = (
        float(min(np.floor(np.percentile(finite, 1) / 10) * 10, 60)) if finite.size else 0.0
    )  # one scale for all
    charts = []
    for group in groups:
        units = [u for u in order if types[u] in group]
        frame = pd.concat([city, wide.loc[units]])
        labels = (["城市整体"] if len(city) else []) + [names[u] for u in units]
        bands = [(type_labels[t], sum(types[u] == t for u in units)) for t in group]
        what = "、".join(type_labels[t] for t in group)
        charts.append(
            Chart(
                Figure(
                    f"heatmap_units_aspects_{group[0]}",
                    f"各单位一级指标得分热力图（{what}）",
                    inputs.source("score", "scores"),
                    note=f"颜色越深得分越高（色阶自 {low:.0f} 分起，低于者同色）；空白为该指标不适用或无数据；首行为城市整体。",
                ),
                section=6,
                after=None,
                draw=partial(draw_heatmap, frame.to_numpy(float), labels, columns, bands, len(city), low),
            )
        )
    return charts


def draw_heatmap(
    values: np.ndarray,
    units: list[str],
    aspects: list[str],
    bands: list[tuple[str, int]],
    n_top: int,
    low: float,
):
    """Units (rows, chart order) × aspects (columns) coloured by score; unit types separated by white lines."""
    from matplotlib import colormaps

    n_rows, n_cols = values.shape
    fig = style.figure(4.2 + 0.36 * n_rows)
    ax = fig.add_subplot()
    cmap = colormaps[style.SEQUENTIAL].with_extremes(bad="white")
    image = ax.imshow(
        np.ma.masked_invalid(values), cmap=cmap, vmin=low, vmax=100, aspect="auto", interpolation="nearest"
    )
    ax.set_yticks(np.arange(n_rows), units)
    ax.set_xticks(np.arange(n_cols), [style.vertical(a.split(" ", 1)[-1]) for a in aspects], linespacing=0.95)
    ax.xaxis.tick_top()
    ax.tick_params(axis="both", length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    edge = n_top - 0.5
    for _, size in bands:
        if edge > -0.5:
            ax.axhline(edge, color="white", linewidth=2.5)
        edge += size
    colourbar = fig.colorbar(image, ax=ax, location="bottom", shrink=0.5, aspect=30, pad=0.01)
    colourbar.set_label("得分")
    return fig
