"""Stage 09_report: the statistics appendix (Word and Excel), its charts, and each unit's documents.

Reads the tables of every earlier stage that has run (aggregates wherever they exist: frequencies, scales,
diagnostics, scores, findings — never the response rows, except the weight column for the weight chart),
``_manifest.json`` and ``_run_report.json``, and ``questionnaires/report.yaml`` (title page, deadline). Writes
``statistics_appendix.docx``, ``statistics_appendix.xlsx``, ``charts/<key>.png`` (200 dpi) and ``.svg``,
``units/`` (each unit's 整改通知单 and score card) and ``contents.parquet`` (every table and figure: number,
key, title, source stage table; see ``docs/DATA_CONTRACT.md``, section 09_report). A section whose stage has not
run says so in one line. ``fazhi-eval report --pdf`` converts the Word document afterwards (:mod:`pipeline.report.pdf`),
outside the stage folder, so the stage's output never depends on what the machine has installed.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from pipeline import paths
from pipeline.report.appendix import appendix, report_meta
from pipeline.report.inputs import ReportInputs
from pipeline.stages.base import StageContext, write_table

NAME = "report"
REQUIRES = ("ingest", "clean", "weight", "reliability", "compare", "describe", "score", "findings")
REPORT_CONFIG = ("report.yaml",)
DOCX, XLSX, CHARTS, UNITS = paths.REPORT_DOCX, paths.REPORT_XLSX, paths.REPORT_CHARTS, paths.REPORT_UNITS


def run(ctx: StageContext, dest: Path) -> dict[str, Any]:
    from pipeline.report.charts import draw_charts, planned_charts
    from pipeline.report.docx_writer import write_appendix_docx
    from pipeline.report.notices import write_unit_documents
    from pipeline.report.xlsx_writer import write_appendix_xlsx
    from pipeline.results import use_cjk_font

    progress = _Progress()
    inputs = ReportInputs(ctx.out, ctx.config)
    font = use_cjk_font()
    charts = planned_charts(inputs) if font is not None else []
    # Two thirds of the charts are drawn by a forked worker while this process builds the tables, the workbook
    # and the unit documents and then draws the rest (the Word document needs every chart).
    away = [c for i, c in enumerate(charts) if i % 3]
    with ctx.executor.background(
        draw_charts, away, dest / CHARTS, size=len(charts), threshold="report_charts"
    ) as drawing:
        built = appendix(inputs, charts=charts or False)
        progress(f"表格 {len(built.tables())} 张 (tables built)")
        meta = report_meta(ctx.config)
        write_appendix_xlsx(built.sections, built.numbers, dest / XLSX)
        progress(XLSX)
        units: list[Path] = []
        if ctx.config.units is not None:
            units = write_unit_documents(
                inputs.table("findings", "findings"),
                inputs.table("score", "scores"),
                inputs.table("score", "ranking"),
                ctx.config.units,
                dest / UNITS,
                meta,
            )
        progress(f"单位文件 {len(units)} 份 (unit documents)")
        draw_charts([c for i, c in enumerate(charts) if not i % 3], dest / CHARTS)
        drawing.result()
        progress(f"图表 {len(charts)} 幅 (charts drawn, PNG + SVG)")
    write_appendix_docx(built.sections, built.numbers, dest / CHARTS, dest / DOCX, meta)
    progress(DOCX)
    write_table(built.contents(), dest, "contents")
    summary: dict[str, Any] = {
        "tables": len(built.tables()),
        "figures": len(built.figures()),
        "unit_documents": len(units),
        "sections_without_stage": [s.number for s in built.sections if s.missing],
    }
    if font is None:
        summary["skipped"] = [
            {
                "what": "charts",
                "reason": "mplfonts 的中文字体不可用，未绘制图表 (no CJK font: charts skipped)",
            }
        ]
    return summary


class _Progress:
    """Prints one indented line per finished batch with the seconds since the stage began."""

    def __init__(self) -> None:
        self.start = time.perf_counter()

    def __call__(self, what: str) -> None:
        print(f"    … {what} ({time.perf_counter() - self.start:.1f} s)", flush=True)
