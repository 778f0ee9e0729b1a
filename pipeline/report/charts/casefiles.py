"""Charts of the case-file review (section 7): the file scores of each unit, and a Pareto chart of the
defect categories."""

from __future__ import annotations

from functools import partial

import numpy as np

from pipeline.report import style
from pipeline.report.blocks import Figure
from pipeline.report.charts.base import Chart
from pipeline.report.inputs import ReportInputs


def plan(inputs: ReportInputs) -> list[Chart]:
    """The score distribution and the Pareto chart, when 02_clean has case files."""
    files = inputs.table("clean", "casefiles")
    standard = inputs.config.casefile
    if files is None or files.empty or standard is None:
        return []
    return [*_scores(inputs, files), *_pareto(inputs, files)]


def _scores(inputs: ReportInputs, files) -> list[Chart]:
    names = style.unit_names(inputs.config)
    order = [u for u in style.unit_order(inputs.config) if u in set(files["unit"])]
    order += sorted(set(files["unit"]) - set(order))
    scores = [files.loc[files["unit"] == u, "score"].dropna().to_numpy(float) for u in order]
    grades = [(g.grade, g.min_score) for g in inputs.config.casefile.grades if g.min_score > 0]
    figure = Figure(
        "casefile_scores",
        "各单位案卷评查得分分布",
        inputs.source("clean", "casefiles"),
        note="每点为一卷案卷（两名评查人员时取均值），竖短线为单位均值；虚线为等次分数线。",
    )
    draw = partial(draw_scores, scores, [names.get(u, u) for u in order], grades)
    return [Chart(figure, section=7, after=None, draw=draw)]


def draw_scores(scores: list[np.ndarray], units: list[str], grades: list[tuple[str, float]]):
    """A strip per unit (chart order): every file's score and the unit mean, grade lines dashed."""
    n = len(units)
    fig = style.figure(2.2 + 0.36 * n)
    ax = fig.add_subplot()
    for i, values in enumerate(scores):
        if values.size == 0:
            continue
        ax.scatter(values, np.full(values.size, i), s=9, color=style.MAIN, alpha=0.6, linewidths=0)
        ax.scatter([values.mean()], [i], marker="|", s=70, color=style.REFERENCE, linewidths=1.4)
    for grade, line in grades:
        ax.axvline(line, color=style.MUTED, linestyle="--", linewidth=0.7)
        ax.text(
            line, 1.0, f" {grade}", transform=ax.get_xaxis_transform(), va="bottom", fontsize=style.SMALL_PT
        )
    ax.set_yticks(np.arange(n), units)
    ax.set_ylim(n - 0.5, -0.5)
    low = min((v.min() for v in scores if v.size), default=0)
    ax.set_xlim(max(0, np.floor(low / 10) * 10 - 2), 101)
    ax.set_xlabel("案卷得分")
    ax.grid(axis="x", linewidth=0.3, color="#DDDDDD")
    return fig


def _pareto(inputs: ReportInputs, files) -> list[Chart]:
    counts = []
    for category in inputs.config.casefile.categories:
        codes = [d.code for d in category.defects if d.code in files.columns]
        counts.append((category.name, float(files[codes].to_numpy(float).sum()) if codes else 0.0))
    counts = sorted((c for c in counts if c[1] > 0), key=lambda c: -c[1])
    if not counts:
        return []
    figure = Figure(
        "casefile_pareto",
        "案卷问题类别帕累托图",
        inputs.source("clean", "casefiles"),
        note="柱为各类别问题的发现次数（两名评查人员时取均值），折线为累计占比。",
    )
    return [Chart(figure, section=7, after=None, draw=partial(draw_pareto, counts))]


def draw_pareto(counts: list[tuple[str, float]]):
    """Bars of the defect counts per category, largest first, with the cumulative share on a second axis."""
    labels = [style.wrap(name, 5) for name, _ in counts]
    values = np.array([v for _, v in counts])
    fig = style.figure(7.5)
    ax = fig.add_subplot()
    x = np.arange(len(values))
    ax.bar(x, values, color=style.MAIN, width=0.6)
    ax.set_xticks(x, labels)
    ax.set_ylabel("问题次数")
    share = ax.twinx()
    share.plot(x, 100 * np.cumsum(values) / values.sum(), color=style.ACCENT, marker="o", markersize=3.5)
    share.set_ylim(0, 105)
    share.set_ylabel("累计占比（%）")
    share.spines["right"].set_visible(True)
    return fig
