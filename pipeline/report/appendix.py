"""The statistics appendix assembled: the nine sections from their builders, the charts placed in them, every
table and figure numbered, and the title page's facts.

:func:`appendix` is what the report stage writes and what a notebook inspects: ``appendix(inputs).sections``
holds every table as a frame with its source, before any layout.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from pipeline.config import Config
from pipeline.report import sections as section_registry
from pipeline.report.blocks import Figure, Section, Table, numbered
from pipeline.report.inputs import ReportInputs
from pipeline.report.meta import ReportMeta

CONTENTS_COLUMNS = ["number", "kind", "key", "section", "title", "source", "rows", "sheet"]


@dataclass(frozen=True)
class Appendix:
    """``sections`` in order with their figures placed; ``numbers``: key → "表 4.1" / "图 4.1"; ``charts``:
    the planned charts (:class:`pipeline.report.charts.Chart`), drawn by the stage."""

    sections: list[Section]
    numbers: dict[str, str]
    charts: list

    def tables(self) -> list[Table]:
        return [t for s in self.sections for t in s.tables()]

    def figures(self) -> list[Figure]:
        return [f for s in self.sections for f in s.figures()]

    def contents(self) -> pd.DataFrame:
        """One row per table and figure: ``number, kind (table|figure), key, section, title, source, rows,
        sheet`` (the workbook sheet of a table) — where each number of the appendix comes from."""
        from pipeline.report.xlsx_writer import table_sheet_name

        rows = []
        for s in self.sections:
            for b in s.blocks:
                if isinstance(b, Table):
                    number = self.numbers[b.key]
                    rows.append(
                        [
                            number,
                            "table",
                            b.key,
                            s.number,
                            b.title,
                            b.source,
                            len(b.frame),
                            table_sheet_name(number),
                        ]
                    )
                elif isinstance(b, Figure):
                    rows.append([self.numbers[b.key], "figure", b.key, s.number, b.title, b.source, 0, ""])
        return pd.DataFrame(rows, columns=CONTENTS_COLUMNS).astype({"section": "int64", "rows": "int64"})


def appendix(inputs: ReportInputs, *, charts: bool | list = True) -> Appendix:
    """Build every section from the stage outputs in ``inputs`` and place the charts: ``True`` plans them
    (:func:`pipeline.report.charts.planned_charts`), a list places those, ``False`` none (tables only, e.g.
    where matplotlib's CJK font is unavailable)."""
    built = [module.section(inputs) for module in section_registry.modules()]
    planned: list = []
    if charts is True:
        from pipeline.report.charts import planned_charts

        planned = planned_charts(inputs)
    elif charts:
        planned = list(charts)
    built = place_charts(built, planned)
    return Appendix(built, numbered(built), planned)


def place_charts(sections: list[Section], charts: list) -> list[Section]:
    """Each chart's figure inserted in its section: after the table it names (``Chart.after``), else at the
    end; a section that only says its stage has not run gets none."""
    out = []
    for section in sections:
        mine = [c for c in charts if c.section == section.number]
        if not mine or section.missing:
            out.append(section)
            continue
        blocks = list(section.blocks)
        for chart in mine:
            keys = [getattr(b, "key", None) for b in blocks]
            at = keys.index(chart.after) + 1 if chart.after in keys else len(blocks)
            blocks.insert(at, chart.figure)
        out.append(Section(section.number, section.title, tuple(blocks), section.missing))
    return out


def report_meta(config: Config) -> ReportMeta:
    """The title page from ``report.yaml``; without a title, the public (else the staff) questionnaire's."""
    settings = config.report
    title = settings.title
    if not title:
        for instrument in config.instruments:
            title = getattr(config.questionnaire(instrument), "title", "") or ""
            if title:
                break
    return ReportMeta(
        title=title or "法治建设第三方评估",
        subtitle=settings.subtitle,
        commissioner=settings.commissioner,
        evaluator=settings.evaluator,
        date_text=settings.date,
        rectification_days=settings.rectification_days,
    )
