"""Model of ``questionnaires/report.yaml``: the facts the statistics appendix and the units' documents print
that no other file holds (the evaluation's name, who commissioned and who carried it out, the report date, the
rectification deadline).

The file is optional: without it the appendix's title is the public questionnaire's title and the other fields
are left blank — never invented.
"""

from __future__ import annotations

from pydantic import Field

from pipeline.config.models import Model


class ReportSettings(Model):
    """report.yaml: the title page of ``09_report/statistics_appendix.docx`` and the units' notices."""

    title: str = ""
    """The evaluation's name on the title page (e.g. 某市法治建设第三方评估); blank: the public questionnaire's
    title."""
    subtitle: str = "统计附录"
    commissioner: str = ""
    """委托单位 (printed as 委托单位：…; blank: the line is left out)."""
    evaluator: str = ""
    """评估单位 (printed as 评估单位：…)."""
    date: str = ""
    """The report date as printed (e.g. 2026年12月); blank: left out. Not taken from the clock, so two runs
    print the same document."""
    rectification_days: int | None = Field(default=None, ge=1)
    """Default 整改时限 printed in each unit's 整改通知单 (e.g. 90 → "自通知之日起 90 日内"); blank: the column is
    left for the office to fill."""
