"""Chart of the problem list (section 8): the common problems by the share of units they affect."""

from __future__ import annotations

from functools import partial

import numpy as np

from pipeline.report import style
from pipeline.report.blocks import Figure
from pipeline.report.charts.base import Chart
from pipeline.report.inputs import ReportInputs


def plan(inputs: ReportInputs) -> list[Chart]:
    """The overview of the common problems, when 08_findings found any."""
    findings = inputs.table("findings", "findings")
    if findings is None:
        return []
    common = findings[findings["kind"] == "common"].drop_duplicates("id")
    if common.empty:
        return []
    common = common.sort_values(["share", "rank"], ascending=[False, True], kind="stable")
    individual = findings.loc[findings["kind"] == "individual", "id"].nunique()
    figure = Figure(
        "findings_overview",
        "共性问题涉及单位占比",
        inputs.source("findings", "findings"),
        note=f"占比 = 涉及单位数 / 该指标适用单位数；另有个性问题 {individual} 项（见问题清单）。",
    )
    data = (
        common["path"].tolist(),
        common["share"].to_numpy(float),
        common["n_affected"].to_numpy(int),
        common["n_applicable"].to_numpy(int),
    )
    return [Chart(figure, section=8, after=None, draw=partial(draw_overview, *data))]


def draw_overview(labels: list[str], share: np.ndarray, affected: np.ndarray, applicable: np.ndarray):
    """Horizontal bars of the affected share, largest first, each labelled ``n/N``."""
    n = len(labels)
    fig = style.figure(2.0 + 0.85 * n)
    ax = fig.add_subplot()
    y = np.arange(n)
    ax.barh(y, 100 * share, color=style.ACCENT, height=0.6)
    for yi, (s, a, t) in enumerate(zip(share, affected, applicable, strict=True)):
        ax.text(100 * s + 0.8, yi, f"{a}/{t}", va="center", fontsize=style.SMALL_PT)
    ax.set_yticks(y, [style.wrap(t.split(" › ")[-1], 18) for t in labels])
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_xlim(0, min(100, 100 * float(share.max()) * 1.25 + 5))
    ax.set_xlabel("涉及单位占比（%）")
    return fig
