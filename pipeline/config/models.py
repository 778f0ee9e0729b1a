"""Typed models of the configuration in ``questionnaires/`` (one model per YAML file).

The models check each file on its own (types, required keys, value ranges); the cross-file checks (every
referenced item, unit and indicator exists, weights sum to one, ...) live in :mod:`pipeline.config.checks`.
Every model forbids unknown keys, so a typo in a YAML key is reported instead of silently ignored.

Vocabulary
----------
question
    What the respondent sees under one number in the 问卷星 form (``number``). A matrix question has rows.
item
    One analysable answer column, with an ``id`` (``P01``, ``S13``, ``K02``, ``D_district``). A single-choice,
    multiple-choice or fill-in question is one item; a matrix question is one item per row.
source
    Where an observation point's evidence comes from: ``public`` (public survey), ``staff`` (staff survey),
    ``casefile`` (case-file review), ``document`` (document verification), ``online`` (online search),
    ``site`` (site visit).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Source = Literal["public", "staff", "casefile", "document", "online", "site"]
SOURCES: tuple[str, ...] = ("public", "staff", "casefile", "document", "online", "site")
CHECKPOINT_SOURCES: tuple[str, ...] = ("document", "online", "site")

Id = Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_.\-]+$")]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------------------------------
# questionnaires (public.yaml, staff.yaml)


class Option(Model):
    """One answer option: the code 问卷星 writes in 按选项序号 mode and the exact text respondents saw."""

    code: int
    text: str = Field(min_length=1)
    missing: bool = False
    """A 'don't know / can't say' option (不了解/说不清): counted for 知晓率, missing for scores."""
    other: bool = False
    """An 'other, please specify' option: 问卷星 writes ``其他〖free text〗`` in text mode."""
    unit: str | None = None
    """The unit code this option stands for (district and unit questions)."""
    exclusive: bool = False
    """In a multiple-choice question, an option that excludes all others (e.g. 无)."""


class Scoring(Model):
    """How the answers of an ordered option set become a 0–100 item score and the 满意 indicators.

    ``scores`` maps every substantive (non-``missing``) code to 0–100; when omitted the codes get evenly spaced
    scores from 0 to 100, the favourable end (``best``: ``high`` = the highest code, ``low`` = the lowest) at 100.
    ``satisfied`` are the codes counted by 满意率 and ``basic_satisfied`` those counted by 基本满意率 (both on the
    reverse-coded answer of a reverse item); by default the options above the scale's midpoint, and for
    ``basic_satisfied`` those plus the midpoint option of an odd-length scale (5 points: top 2 and top 3;
    4 points: top 2 and top 2; 7 points: top 3 and top 4).

    Example (a 4-point agreement scale, 4 = 非常同意): ``scoring: {best: high}`` scores 4→100, 3→66.7, 2→33.3,
    1→0, counts 4 and 3 as satisfied.
    """

    scores: dict[int, float] | None = None
    best: Literal["high", "low"] = "high"
    satisfied: list[int] | None = None
    basic_satisfied: list[int] | None = None

    @field_validator("scores")
    @classmethod
    def _scores_in_range(cls, v: dict[int, float] | None) -> dict[int, float] | None:
        bad = {k: s for k, s in (v or {}).items() if not 0 <= s <= 100}
        if bad:
            raise ValueError(f"分数须在 0–100 之间 (scores must lie in 0–100), got {bad}")
        return v


class ResponseSet(Model):
    """A reusable set of options, e.g. SAT5 or AGR5 (a Likert scale).

    ``scoring`` makes the items on this set scored (0–100, 满意率); ``ordered`` declares the options ordered (for
    cumulative percentages), implied by ``scoring``.
    """

    options: list[Option] = Field(min_length=2)
    scoring: Scoring | None = None
    ordered: bool = False

    @property
    def is_ordered(self) -> bool:
        return self.ordered or self.scoring is not None


class Row(Model):
    """One row of a matrix question: one item."""

    id: Id
    text: str = Field(min_length=1)
    reverse: bool = False
    feeds: list[str] = Field(default_factory=list)
    """Ids of indicator observation points (``9.4.1``) this item is evidence for."""


class Question(Model):
    """One numbered question of a questionnaire as shown in 问卷星.

    ``type``: ``single`` (one option), ``multiple`` (several, at most ``max_choices``), ``matrix`` (a Likert grid:
    one item per row, options from ``response_set``), ``ranking`` (options put in order, the first ``max_choices``
    or all), ``text`` (fill-in; free text, masked before output), ``number`` (fill-in number).
    Options come from exactly one of ``options`` (listed here), ``response_set`` (a named set) or ``options_from``
    (``districts`` or ``units``: one option per unit in ``units.yaml``, in file order, code = position from 1).
    ``scoring`` and ``ordered`` are for listed ``options`` what they are for a response set (:class:`ResponseSet`).
    ``number`` may be omitted: a question without one is numbered after the one before it (the first is 1), so
    inserting a question renumbers nothing by hand.
    """

    number: int = Field(ge=1)
    type: Literal["single", "multiple", "matrix", "ranking", "text", "number"]
    text: str = Field(min_length=1)
    id: Id | None = None
    """The item id of a non-matrix question (matrix questions name their items in ``rows``)."""
    rows: list[Row] = Field(default_factory=list)
    options: list[Option] = Field(default_factory=list)
    response_set: str | None = None
    options_from: Literal["districts", "units"] | None = None
    max_choices: int | None = Field(default=None, ge=1)
    reverse: bool = False
    variable: str | None = None
    """Semantic name of a demographic question (``district``, ``gender``, ``age_group``, ``unit``, ...)."""
    feeds: list[str] = Field(default_factory=list)
    required: bool = True
    scoring: Scoring | None = None
    ordered: bool = False

    @model_validator(mode="after")
    def _shape(self) -> Question:
        if self.type == "matrix":
            if not self.rows:
                raise ValueError("矩阵题须有 rows (a matrix question needs 'rows')")
            if self.id is not None:
                raise ValueError(
                    "矩阵题的题目编号写在 rows 中，不用 id (a matrix question names its items in 'rows')"
                )
        else:
            if self.id is None:
                raise ValueError(f"须给出题目编号 id (a {self.type} question needs an 'id')")
            if self.rows:
                raise ValueError(
                    f"只有矩阵题有 rows (only matrix questions have 'rows'; this one is {self.type})"
                )
        sources = [self.options, self.response_set, self.options_from]
        given = sum(bool(s) for s in sources)
        if self.type in ("single", "multiple", "matrix", "ranking") and given != 1:
            raise ValueError("须给出 options、response_set、options_from 三者之一 (give exactly one of them)")
        if self.type in ("text", "number") and given:
            raise ValueError(f"填空题 ({self.type}) 没有选项 (a fill-in question has no options)")
        if self.max_choices is not None and self.type not in ("multiple", "ranking"):
            raise ValueError("max_choices 只用于多选题和排序题 (only for multiple and ranking questions)")
        if self.scoring is not None and self.type not in ("single", "matrix"):
            raise ValueError(
                f"只有单选题和矩阵题计分 (only single-choice and matrix items are scored; this one is {self.type})"
            )
        if (self.scoring is not None or self.ordered) and not self.options:
            raise ValueError(
                "scoring/ordered 只能与题内列出的 options 一起使用；量表选项请在 response_sets 中设定 "
                "(only with listed options; give a response set its own scoring)"
            )
        codes = [o.code for o in self.options]
        if len(codes) != len(set(codes)):
            raise ValueError(
                f"选项代码重复 (duplicate option codes) {sorted({c for c in codes if codes.count(c) > 1})}"
            )
        return self

    def item_ids(self) -> list[str]:
        return [r.id for r in self.rows] if self.type == "matrix" else [self.id]  # type: ignore[list-item]


class Scale(Model):
    """A dimension of a questionnaire: the items whose mean makes its score."""

    id: Id
    name: str = Field(min_length=1)
    items: list[str] = Field(min_length=2)


class AttentionCheck(Model):
    item: str
    pass_code: int


class ShowIf(Model):
    """A display condition: the item's answer code is one of ``in``."""

    item: str
    in_: list[int] = Field(alias="in", min_length=1)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class SkipRule(Model):
    """Questions shown only when any of the conditions hold (问卷星 跳题/显示逻辑).

    The block is given by item ids (``items``; a matrix row's id stands for its whole question) or by question
    numbers (``questions``), not both. Item ids survive inserting a question; numbers do not."""

    questions: list[int] = Field(default_factory=list)
    """Question numbers of the block."""
    items: list[str] = Field(default_factory=list)
    """Item ids of the block (each names its whole question)."""
    show_if_any: list[ShowIf] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_way(self) -> SkipRule:
        if bool(self.questions) == bool(self.items):
            raise ValueError(
                "须给出 items (题目编号) 或 questions (题号) 之一 (give one of 'items' or 'questions')"
            )
        return self


class QuizItem(Model):
    item: str
    key: int
    """Code of the correct option."""
    basis: str | None = None
    """Legal basis of the key (e.g. 行政处罚法第三十六条)."""


class Questionnaire(Model):
    """public.yaml / staff.yaml: one questionnaire as respondents saw it, plus how to score it."""

    instrument: Literal["public", "staff"]
    title: str
    response_sets: dict[str, ResponseSet] = Field(default_factory=dict)
    questions: list[Question] = Field(min_length=1)
    scales: list[Scale] = Field(default_factory=list)
    attention_check: AttentionCheck | None = None
    skip_logic: list[SkipRule] = Field(default_factory=list)
    quiz: list[QuizItem] = Field(default_factory=list)
    min_answered_share: float = Field(default=2 / 3, gt=0, le=1)
    """A scale score needs at least this share of its items answered."""

    @model_validator(mode="before")
    @classmethod
    def _number_questions(cls, data: Any) -> Any:
        """Number the questions that omit ``number`` after the one before them (the first is 1); say where a
        questionnaire-wide ``score_map`` (an earlier layout) now belongs."""
        if not isinstance(data, dict):
            return data
        if "score_map" in data:
            raise ValueError(
                "score_map 已改为按选项集计分：请把它移到 response_sets.<名称>.scoring.scores "
                "(score_map moved: give each response set its own 'scoring')"
            )
        questions = data.get("questions")
        if isinstance(questions, list):
            numbered, previous = [], 0
            for q in questions:
                if isinstance(q, dict) and q.get("number") is None:
                    q = {**q, "number": previous + 1}
                if isinstance(q, dict) and isinstance(q.get("number"), int):
                    previous = q["number"]
                numbered.append(q)
            data = {**data, "questions": numbered}
        return data


# --------------------------------------------------------------------------------------------------
# casefile.yaml


class Veto(Model):
    code: Id
    text: str = Field(min_length=1)


class Defect(Model):
    code: Id
    text: str = Field(min_length=1)
    deduction: float = Field(gt=0)
    per: Literal["case", "occurrence"] = "occurrence"
    """``occurrence``: deducted once per occurrence counted; ``case``: once however many occurrences."""


class Category(Model):
    id: Id
    name: str = Field(min_length=1)
    max_points: float = Field(gt=0)
    defects: list[Defect] = Field(min_length=1)
    feeds: list[str] = Field(default_factory=list)


class GradeBand(Model):
    grade: str = Field(min_length=1)
    min_score: float = Field(ge=0)
    excluded_by: list[str] = Field(default_factory=list)
    """Defect codes that bar this grade (优秀 needs no B1/C5): the file falls to the next band."""


class CasefileStandard(Model):
    """casefile.yaml: the case-file review standard (行政执法案卷评查标准)."""

    title: str
    total_points: float = Field(gt=0)
    case_types: list[str] = Field(min_length=1)
    vetoes: list[Veto] = Field(min_length=1)
    veto_grade: str
    veto_feeds: list[str] = Field(default_factory=list)
    categories: list[Category] = Field(min_length=1)
    grades: list[GradeBand] = Field(min_length=2)
    """Highest band first; a score at or above ``min_score`` earns the band."""
    double_scoring_tolerance: float = Field(default=10, ge=0)
    """Two reviewers' totals differing by more than this need a third review."""


# --------------------------------------------------------------------------------------------------
# indicators.yaml


class ObservationPoint(Model):
    id: Id
    name: str = Field(min_length=1)
    weight: float = Field(gt=0, le=1)
    sources: list[Source] = Field(min_length=1)
    applies_to: list[str] = Field(default_factory=lambda: ["all"])
    """Unit types (from units.yaml), ``enforcement`` (units holding enforcement power), or ``all``."""
    pass_score: float = Field(default=70, ge=0, le=100)
    public_scope: Literal["district", "city", "none"] | None = None
    """Which public-survey estimate scores a unit on this point (07_score). Unset: a district its own district's
    estimate, a municipal unit the city-wide one. ``district``: districts only (municipal units get no public
    evidence on the point); ``city``: every unit the city-wide estimate; ``none``: the public answers score only
    the city as a whole (unit ``CITY``)."""


class IndicatorItem(Model):
    id: Id
    name: str = Field(min_length=1)
    weight: float = Field(gt=0, le=1)
    points: list[ObservationPoint] = Field(min_length=1)


class Aspect(Model):
    id: Id
    name: str = Field(min_length=1)
    weight: float = Field(gt=0, le=1)
    block: str
    items: list[IndicatorItem] = Field(min_length=1)


class RankingSettings(Model):
    """How 07_score ranks the units within each unit type and how sure the ranks are (docs/DATA_CONTRACT.md,
    07_score)."""

    draws: int = Field(default=1000, ge=0)
    """Simulated draws of the scores for the rank intervals (0: no intervals, only the ranks)."""
    weight_concentration: float = Field(default=100, gt=0)
    """Concentration of the Dirichlet draws of the weights around those configured (per group of siblings the
    draws are Dirichlet(concentration × weights)): 100 lets an aspect weight of 0.05 vary by about ±0.02."""
    confidence_level: float = Field(default=0.95, gt=0, lt=1)
    """Coverage of the rank intervals."""


class ExpectedCounts(Model):
    """The size the shipped system must have (a guard against a lost or duplicated aspect or item)."""

    aspects: int = Field(ge=1)
    items: int = Field(ge=1)


class IndicatorSystem(Model):
    """indicators.yaml: the three-level evaluation system (aspects → items → observation points)."""

    title: str
    expected_counts: ExpectedCounts | None = None
    """When given, the cross-check requires exactly this many aspects and second-level items."""
    blocks: dict[str, str] = Field(default_factory=dict)
    """Block id → Chinese name (法治兰州 / 法治政府 / 法治社会)."""
    source_weights: dict[Source, float]
    """Weight of each source when an observation point lists several (07_score fuses the sources of a point by
    these weights, renormalised over the sources with data for the unit); points, items and aspects are combined
    by their own ``weight``."""
    checkpoint_scores: dict[str, float]
    """Checkpoint rating text → score (完全落实 100, 基本落实 80, 部分落实 50, 未落实 0)."""
    aspects: list[Aspect] = Field(min_length=1)
    ranking: RankingSettings = Field(default_factory=RankingSettings)
    """Rank intervals and tiers of 07_score (all defaults when omitted)."""


# --------------------------------------------------------------------------------------------------
# units.yaml


class Unit(Model):
    code: Id
    name: str = Field(min_length=1)
    type: str
    parent: str | None = None
    headcount: int = Field(ge=0)
    enforcement: bool


class Units(Model):
    """units.yaml: the counties/districts and municipal departments evaluated."""

    unit_types: dict[str, str]
    """Type id → Chinese label."""
    district_type: str = "district"
    units: list[Unit] = Field(min_length=1)


# --------------------------------------------------------------------------------------------------
# population.yaml


class Margin(Model):
    """Population counts (or shares) per category of one variable, keyed by the option text."""

    variable: str | list[str]
    """A demographic ``variable`` of the public questionnaire, or several for an interaction margin."""
    targets: dict[str, float]
    """Category → count or share. For an interaction, keys join the option texts with ``×``."""
    source: str

    @field_validator("targets")
    @classmethod
    def _positive(cls, v: dict[str, float]) -> dict[str, float]:
        bad = {k: t for k, t in v.items() if t < 0}
        if bad:
            raise ValueError(f"targets must not be negative, got {bad}")
        return v


class Population(Model):
    """population.yaml: margins the public sample is raked to."""

    universe: str
    total: float = Field(gt=0)
    note: str = ""
    margins: list[Margin] = Field(min_length=1)
    rake_on: list[str | list[str]] = Field(min_length=1)
    """Which margins to use by default (variable names; a list for an interaction)."""
    weight_cap: float | None = Field(default=5.0, gt=1)
    """Largest allowed weight / mean weight; weights above it are trimmed and the sample re-raked."""


# --------------------------------------------------------------------------------------------------
# suggestions.yaml


class SuggestionTemplate(Model):
    problem: str = Field(min_length=1)
    """Problem statement; placeholders ``{units}``, ``{evidence}``, ``{score}``, ``{share}``."""
    suggestion: str = Field(min_length=1)
    basis: str = ""
    """Policy or legal basis (依据条款)."""
    responsible: str = ""


class Suggestions(Model):
    """suggestions.yaml: one rectification template per second-level indicator item."""

    templates: dict[str, SuggestionTemplate]
