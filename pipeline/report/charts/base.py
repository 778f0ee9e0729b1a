"""What a planned chart is, and the helpers the chart modules share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline.report.blocks import Figure
from pipeline.run_report import INSTRUMENT_LABELS

if TYPE_CHECKING:
    import matplotlib.figure

    from pipeline.config import Config

#: Groupings that are not a question's variable (derived from units.yaml), in words.
DERIVED_GROUPINGS = {"district": "县区", "unit_type": "单位类型", "unit": "单位", "case_type": "案件类型"}


@dataclass(frozen=True)
class Chart:
    """One chart of the appendix, planned but not drawn.

    ``figure`` is the block the documents show (files ``charts/<key>.png`` and ``.svg``); ``section`` the
    appendix section it belongs to (1 调查概况 … 8 问题清单); ``after`` the key of the table it follows, or
    ``None`` for the end of the section; ``draw`` makes the matplotlib figure from aggregates prepared when the
    chart was planned (a picklable ``functools.partial`` of a module-level function, so a forked worker can
    draw it).
    """

    figure: Figure
    section: int
    after: str | None
    draw: Callable[[], matplotlib.figure.Figure]

    @property
    def key(self) -> str:
        return self.figure.key


def instrument_label(instrument: str) -> str:
    """``公众`` / ``公职人员`` (the instrument id for an unknown one)."""
    return INSTRUMENT_LABELS.get(instrument, instrument)


def grouping_label(config: Config, instrument: str, by: str) -> str:
    """A grouping in words: the question of its variable (``您的年龄段``) or a derived grouping's name."""
    if by in DERIVED_GROUPINGS:
        return DERIVED_GROUPINGS[by]
    if instrument in config.instruments:
        codebook = config.codebook(instrument)
        if by in codebook.variables:
            return codebook.by_variable(by).question_text
    return by
