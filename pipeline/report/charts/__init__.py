"""The appendix's charts: which to draw (:func:`planned_charts`) and drawing them to PNG and SVG
(:func:`draw_charts`).

Planning reads only aggregates (06_describe, 03_weight diagnostics and margins, the weight column of the
weight tables, 02_clean flow and case files, 04_reliability, 05_compare, 07_score, 08_findings) and prepares
each chart's data; a chart whose stage has not run is not planned. Drawing is the slow part; it is spread over
the executor's processes (a forked worker draws every other chart). Each chart module draws one topic:

- :mod:`.sample` — response flow (section 1), margins and weights (2), α (3);
- :mod:`.describe` — Likert diverging bars and estimates per district and unit type (4);
- :mod:`.effects` — effect sizes of the significant comparisons (5);
- :mod:`.scores` — aspect scores per district and the units × aspects heatmaps (6);
- :mod:`.casefiles` — case-file scores and the Pareto chart of defects (7);
- :mod:`.findings` — the common problems (8).

matplotlib is imported when a chart is drawn, never when this package is imported.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from pipeline.parallel import SERIAL, Executor
from pipeline.report import style
from pipeline.report.charts import casefiles, describe, effects, findings, sample, scores
from pipeline.report.charts.base import Chart
from pipeline.report.inputs import ReportInputs

__all__ = ["Chart", "draw_charts", "planned_charts", "write_chart"]

#: The chart modules in section order.
MODULES = (sample, describe, effects, scores, casefiles, findings)


def planned_charts(inputs: ReportInputs) -> list[Chart]:
    """Every chart the appendix shows for this output folder, in section order (nothing drawn yet)."""
    charts = [chart for module in MODULES for chart in module.plan(inputs)]
    return sorted(charts, key=lambda c: c.section)


def write_chart(chart: Chart, dest_dir: Path) -> list[Path]:
    """Draw ``chart`` and write ``<dest_dir>/<key>.png`` (200 dpi) and ``.svg``, byte-identical every run."""
    fig = chart.draw()
    png = dest_dir / f"{chart.key}.png"
    svg = dest_dir / f"{chart.key}.svg"
    try:
        fig.savefig(png, dpi=style.DPI, metadata={"Software": None}, pil_kwargs={"compress_level": 3})
        fig.set_layout_engine("none")  # laid out by the first save: the second keeps that layout
        fig.savefig(svg, metadata={"Date": None, "Creator": None})
    finally:
        fig.clear()
    return [png, svg]


def _write_all(charts: list[Chart], dest_dir: Path) -> list[Path]:
    return [path for chart in charts for path in write_chart(chart, dest_dir)]


def draw_charts(charts: list[Chart], dest_dir: Path, executor: Executor = SERIAL) -> list[Path]:
    """Write every chart into ``dest_dir`` (PNG and SVG per chart); the files, in the order of ``charts``.

    With enough charts (``parallel.THRESHOLDS["report_charts"]``) a forked worker draws every other chart
    while this process draws the rest; the files are the same either way."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    style.setup()  # once here: a forked worker inherits the registered font
    if not executor.splits(len(charts), "report_charts") or len(charts) < 2:
        return _write_all(charts, dest_dir)
    parts = {
        "here": partial(_write_all, charts[0::2], dest_dir),
        "worker": partial(_write_all, charts[1::2], dest_dir),
    }
    done = executor.run_parts(parts, here="here")
    written = {p.stem: p for paths in done.values() for p in paths if p.suffix == ".png"}
    return [dest_dir / f"{c.key}{ext}" for c in charts if c.key in written for ext in (".png", ".svg")]
