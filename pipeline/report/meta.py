"""The appendix's title-page facts: what the evaluation is, who commissioned it, who carried it out, when.

They come from ``questionnaires/report.yaml`` when present (:class:`pipeline.config.report.ReportSettings`);
otherwise the title is the public questionnaire's and the rest is left blank, never invented.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReportMeta:
    """Title page of the appendix and header of each unit's documents.

    Examples
    --------
    >>> ReportMeta(title="某市法治建设第三方评估").subtitle
    '统计附录'
    """

    title: str
    subtitle: str = "统计附录"
    commissioner: str = ""
    evaluator: str = ""
    date_text: str = ""
    rectification_days: int | None = None
    """Default 整改时限 of the units' notices, in days (``report.yaml``); None: left for the office."""
