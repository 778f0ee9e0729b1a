"""Model of ``questionnaires/analysis.yaml``: what the analysis stages analyse, and how.

One section per instrument (``public``, ``staff``, ``casefile``) plus the one small-cell rule every stage uses.
Every key is optional: an omitted key takes the default of :data:`DEFAULTS` (what the bundled questionnaires
are analysed by), and an absent file means all defaults. What a section names is resolved against the
questionnaire by :func:`pipeline.config.plan.analysis_plan`, which says what will run and what is skipped and why.

Outcome names
-------------
``scales`` (every scale of the questionnaire), a scale id, ``SI`` (满意度指数), the id of a scored item (its
``<id>_score``), ``quiz_score``; for unit-vs-peers also ``indicator_items`` (every scored item that feeds an
indicator observation point). Categorical outcomes: a derived 0/1 column (``satisfied_P25``,
``basic_satisfied_P25``, ``aware_P25``), a demographic ``variable`` or the id of a single-choice item (compared
on its options). Case files: ``score``; ``grade``, ``veto``.

Groupings and controls are demographic ``variable`` names; staff also ``unit_type`` and ``district`` (from the
respondent's unit in ``units.yaml``); case files ``unit_type``, ``district``, ``case_type``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from pipeline.config.models import Model
from pipeline.stats.small_groups import MIN_N, SMALL_N

Weighting = Literal["none", "cells", "raking"]
Variable = str | list[str]


class SmallCells(Model):
    """The small-cell rule: estimates on fewer than ``suppress_below`` cases are suppressed, on fewer than
    ``mark_below`` marked (样本量较小); weighted estimates count the Kish effective n."""

    suppress_below: int = Field(default=MIN_N, ge=1)
    mark_below: int = Field(default=SMALL_N, ge=1)

    @model_validator(mode="after")
    def _order(self) -> SmallCells:
        if self.mark_below < self.suppress_below:
            raise ValueError(
                "mark_below 不能小于 suppress_below (mark_below must be at least suppress_below)"
            )
        return self


class Outcomes(Model):
    scored: list[str] | None = None
    """Continuous (0–100) outcomes."""
    categorical: list[str] | None = None


class PeerComparison(Model):
    """Each unit (public: district; staff: unit; case files: unit) against the rest of its unit type."""

    enabled: bool = True
    outcomes: list[str] | None = None


class Adjusted(Model):
    """Weighted gaps between the groups of ``by`` without and with demographic ``controls``."""

    enabled: bool = True
    by: str = "district"
    controls: list[str] | None = None
    outcomes: list[str] | None = None


class InstrumentAnalysis(Model):
    weighting: Weighting | None = None
    """``none`` (equal weights, said in every table note), ``cells`` (post-stratification: population share
    of each cell / sample share, on one variable or one interaction) or ``raking`` (iterative proportional
    fitting to the margins of ``population.yaml``)."""
    weight_on: list[Variable] | None = None
    """The variables weighted on (default: ``rake_on`` of ``population.yaml``; staff: ``unit`` headcounts)."""
    groupings: list[str] | None = None
    not_compared: list[str] = Field(default_factory=list)
    """Demographic variables deliberately left out of the groupings (no warning for them)."""
    outcomes: Outcomes = Outcomes()
    unit_vs_peers: PeerComparison = PeerComparison()
    adjusted: Adjusted | None = None


class OpenAnswers(Model):
    """How 06_describe summarises open answers (fill-in items and 其他 texts): words left out of the term
    counts, answers that say nothing, how many terms and sample answers are listed."""

    stop_words: list[str] = Field(default_factory=list)
    """Words left out of the term counts, in addition to the default list of Chinese function words shipped
    with the package (``pipeline/describe/stop_words.txt``) unless ``default_stop_words`` is false."""
    default_stop_words: bool = True
    no_comment: list[str] | None = None
    """Whole answers that say nothing (无, 没有意见 …): counted, left out of terms and samples (default: the list
    in :data:`pipeline.describe.open_answers.NO_COMMENT`)."""
    top_terms: int = Field(default=20, ge=1)
    """Words (and two-word phrases) listed per item, most frequent first."""
    samples: int = Field(default=10, ge=0)
    """Sample answers per item for the appendix (distinct texts in a seeded hash order)."""
    min_chars: int = Field(default=2, ge=1)
    """Shortest word counted, in characters."""


class Analysis(Model):
    """analysis.yaml: groupings, outcomes, controls, comparisons, weighting and the small-cell rule."""

    small_cells: SmallCells = SmallCells()
    open_answers: OpenAnswers = OpenAnswers()
    public: InstrumentAnalysis = InstrumentAnalysis()
    staff: InstrumentAnalysis = InstrumentAnalysis()
    casefile: InstrumentAnalysis = InstrumentAnalysis()

    def section(self, instrument: str) -> InstrumentAnalysis:
        return {"public": self.public, "staff": self.staff, "casefile": self.casefile}[instrument]


#: What an omitted key means, per instrument. ``variables``: every single-choice demographic ``variable`` of
#: the questionnaire (staff: ``unit_type`` and ``district`` first, from the unit); outcome defaults name no item,
#: so a team's own questionnaire is compared on its scales and 满意度指数 until it declares more.
DEFAULTS: dict[str, dict[str, object]] = {
    "public": {
        "weighting": "raking",
        "groupings": ["variables"],
        "scored": ["scales", "SI"],
        "categorical": [],
        "peer_outcomes": ["scales", "SI", "indicator_items"],
        "adjusted": {
            "by": "district",
            "controls": ["gender", "age_group", "education"],
            "outcomes": ["scales", "SI"],
        },
    },
    "staff": {
        "weighting": "cells",
        "groupings": ["variables"],
        "scored": ["scales", "SI", "quiz_score"],
        "categorical": [],
        "peer_outcomes": ["scales", "SI", "quiz_score", "indicator_items"],
        "adjusted": None,
    },
    "casefile": {
        "weighting": "none",
        "groupings": ["unit_type", "district", "case_type"],
        "scored": ["score"],
        "categorical": ["grade", "veto"],
        "peer_outcomes": ["score"],
        "adjusted": None,
    },
}
