"""The statistics appendix assembled: the nine sections from their builders, the charts placed in them, every
table and figure numbered, and the title page's facts.

:func:`appendix` is what the report stage writes and what a notebook inspects: ``appendix(inputs).sections``
holds every table as a frame with its source, before any layout.
"""

from __future__ import annotations

import re
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


#: Where a chart goes: the first of its candidate tables present in its section (``{i}`` the questionnaire,
#: ``{s}`` the scale or unit type of the chart key); none present: the end of the section.
ANCHORS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (r"flow_(?P<i>\w+)", ("overview.flow.{i}", "overview.samples")),
    (r"margins_(?P<i>\w+)", ("sampling.margins.{i}",)),
    (r"weights_(?P<i>\w+)", ("sampling.diagnostics",)),
    (r"alpha", ("reliability.alpha",)),
    (r"likert_(?P<i>[a-z]+)_(?P<s>\w+)", ("describe.scales.{i}.{s}.district", "describe.scales.{i}")),
    (r"(district|unit_type)_(?P<i>\w+)", ("describe.scales.{i}",)),
    (r"effects_(?P<i>\w+)", ("differences.pairwise.{i}", "differences.omnibus.{i}")),
    (r"aspects_district", ("scores.aspects.district",)),
    (r"heatmap_units_aspects_(?P<s>\w+)", ("scores.aspects.{s}", "scores.city")),
    (r"casefile_scores", ("casefiles.units",)),
    (r"casefile_pareto", ("casefiles.defects",)),
    (r"findings_overview", ("problems.summary",)),
)


def anchor(chart_key: str, table_keys: list[str]) -> str | None:
    """The key of the table a chart is placed after (:data:`ANCHORS`), or None (the end of its section)."""
    for pattern, candidates in ANCHORS:
        match = re.fullmatch(pattern, chart_key)
        if match:
            for template in candidates:
                key = template.format(**match.groupdict())
                if key in table_keys:
                    return key
            return None
    return None


def place_charts(sections: list[Section], charts: list) -> list[Section]:
    """Each chart's figure inserted in its section after the table it illustrates (``Chart.after`` when the
    chart names one, else :func:`anchor`), in the charts' order; else at the end. A section that only says its
    stage has not run gets none."""
    out = []
    for section in sections:
        mine = [c for c in charts if c.section == section.number]
        if not mine or section.missing:
            out.append(section)
            continue
        blocks = list(section.blocks)
        table_keys = [b.key for b in blocks if isinstance(b, Table)]
        after: dict[str | None, list[Figure]] = {}
        for chart in mine:
            target = chart.after if chart.after in table_keys else anchor(chart.figure.key, table_keys)
            after.setdefault(target, []).append(chart.figure)
        placed: list = []
        for block in blocks:
            placed.append(block)
            if isinstance(block, Table):
                placed.extend(after.pop(block.key, []))
        placed.extend(after.pop(None, []))
        out.append(Section(section.number, section.title, tuple(placed), section.missing))
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
