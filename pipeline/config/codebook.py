"""A questionnaire flattened to its items: what ingest, clean, the simulator and templates all need.

``Codebook.from_config(questionnaire, units)`` resolves every question's options (listed, from a response set,
or generated from ``units.yaml``) and gives one :class:`CodebookItem` per analysable column.

Example
-------
>>> cb = Codebook.from_config(config.public, config.units)      # doctest: +SKIP
>>> cb.item("P05").reverse, [o.code for o in cb.item("P05").options]
(True, [5, 4, 3, 2, 1, 99])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from pipeline.config.models import Option, Question, Questionnaire, Scoring, SkipRule, Units


@dataclass(frozen=True)
class ItemScoring:
    """An item's scoring resolved from its :class:`~pipeline.config.models.Scoring` and options.

    ``scores``: substantive code → 0–100; ``satisfied`` / ``basic_satisfied``: the codes counted by 满意率 and
    基本满意率, as declared (before reverse coding). :meth:`item_scores` and :meth:`satisfied_codes` apply an
    item's reverse coding: a reverse item's answer counts as the option in the mirror position of the scale
    (the best-scored as the worst, and so on), so its score is ``min + max − score``.
    """

    scores: dict[int, float]
    satisfied: frozenset[int]
    basic_satisfied: frozenset[int]

    @classmethod
    def resolve(cls, scoring: Scoring, options: tuple[Option, ...] | list[Option]) -> ItemScoring:
        codes = sorted(o.code for o in options if not o.missing)
        if scoring.scores is not None:
            scores = {int(k): float(v) for k, v in scoring.scores.items()}
        else:
            ordered = codes if scoring.best == "high" else codes[::-1]
            k = len(ordered)
            scores = {c: 100.0 * i / (k - 1) if k > 1 else 100.0 for i, c in enumerate(ordered)}
        best_first = sorted(scores, key=lambda c: (-scores[c], c))
        k = len(best_first)
        top = frozenset(best_first[: k // 2])
        basic = frozenset(best_first[: k // 2 + (k % 2)])
        return cls(
            scores=scores,
            satisfied=frozenset(scoring.satisfied) if scoring.satisfied is not None else top,
            basic_satisfied=(
                frozenset(scoring.basic_satisfied) if scoring.basic_satisfied is not None else basic
            ),
        )

    @property
    def points(self) -> int:
        return len(self.scores)

    @property
    def score_range(self) -> tuple[float, float]:
        return min(self.scores.values()), max(self.scores.values())

    @property
    def best(self) -> str:
        """``high`` when the highest code scores highest, ``low`` when the lowest does."""
        lo, hi = min(self.scores), max(self.scores)
        return "high" if self.scores[hi] >= self.scores[lo] else "low"

    def mirror(self) -> dict[int, int]:
        """Code → the code in the mirror position of the scale (by score)."""
        by_score = sorted(self.scores, key=lambda c: (self.scores[c], c))
        return dict(zip(by_score, by_score[::-1], strict=True))

    def item_scores(self, reverse: bool = False) -> dict[int, float]:
        """Code → 0–100 score of an item on this scoring (reverse-coded when ``reverse``)."""
        if not reverse:
            return dict(self.scores)
        lo, hi = self.score_range
        return {c: lo + hi - s for c, s in self.scores.items()}

    def satisfied_codes(self, basic: bool = False, reverse: bool = False) -> frozenset[int]:
        """The answer codes counted by 满意率 (``basic``: 基本满意率) of an item (reverse-coded when ``reverse``)."""
        chosen = self.basic_satisfied if basic else self.satisfied
        if not reverse:
            return chosen
        mirror = self.mirror()
        return frozenset(c for c in self.scores if mirror[c] in chosen)


@dataclass(frozen=True)
class CodebookItem:
    """One analysable column of a questionnaire."""

    id: str
    number: int
    """Question number in the 问卷星 form."""
    type: str
    """single | multiple | matrix | ranking | text | number (a matrix row has type ``matrix``)."""
    question_text: str
    row_text: str | None
    """The row label of a matrix item; None otherwise."""
    options: tuple[Option, ...]
    reverse: bool = False
    variable: str | None = None
    max_choices: int | None = None
    feeds: tuple[str, ...] = ()
    required: bool = True
    scoring: ItemScoring | None = None
    """How the answers are scored (from the response set or the question); None for an unscored item."""
    ordered: bool = False
    """The options are ordered categories (declared, or implied by a scoring)."""
    response_set: str | None = None
    """The name of the response set the options come from, if any."""

    @property
    def scored(self) -> bool:
        return self.scoring is not None

    @property
    def text(self) -> str:
        """What the respondent read for this item (the row label of a matrix row)."""
        return self.row_text if self.row_text is not None else self.question_text

    @cached_property
    def code_by_text(self) -> dict[str, int]:
        return {o.text: o.code for o in self.options}

    @cached_property
    def text_by_code(self) -> dict[int, str]:
        return {o.code: o.text for o in self.options}

    @property
    def valid_codes(self) -> frozenset[int]:
        return frozenset(o.code for o in self.options)

    @property
    def missing_codes(self) -> frozenset[int]:
        """Codes of 不了解/说不清 options: counted for 知晓率, missing for scores."""
        return frozenset(o.code for o in self.options if o.missing)

    @property
    def substantive_codes(self) -> tuple[int, ...]:
        return tuple(o.code for o in self.options if not o.missing)


@dataclass(frozen=True)
class Codebook:
    """All items of one questionnaire in form order, plus its scales and scoring rules."""

    questionnaire: Questionnaire
    items: tuple[CodebookItem, ...]
    _by_id: dict[str, CodebookItem] = field(repr=False, compare=False)

    @classmethod
    def from_config(cls, questionnaire: Questionnaire, units: Units) -> Codebook:
        items: list[CodebookItem] = []
        for q in questionnaire.questions:
            options = tuple(resolve_options(q, questionnaire, units))
            scoring, ordered = question_scoring(q, questionnaire)
            resolved = ItemScoring.resolve(scoring, options) if scoring is not None and options else None
            shared = {"scoring": resolved, "ordered": ordered, "response_set": q.response_set}
            if q.type == "matrix":
                for row in q.rows:
                    items.append(
                        CodebookItem(
                            id=row.id,
                            number=q.number,
                            type="matrix",
                            question_text=q.text,
                            row_text=row.text,
                            options=options,
                            reverse=row.reverse,
                            feeds=tuple(row.feeds),
                            required=q.required,
                            **shared,
                        )
                    )
            else:
                items.append(
                    CodebookItem(
                        id=q.id or "",
                        number=q.number,
                        type=q.type,
                        question_text=q.text,
                        row_text=None,
                        options=options,
                        reverse=q.reverse,
                        variable=q.variable,
                        max_choices=q.max_choices,
                        feeds=tuple(q.feeds),
                        required=q.required,
                        **shared,
                    )
                )
        return cls(questionnaire=questionnaire, items=tuple(items), _by_id={i.id: i for i in items})

    @property
    def instrument(self) -> str:
        return self.questionnaire.instrument

    def item(self, item_id: str) -> CodebookItem:
        return self._by_id[item_id]

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._by_id

    def by_variable(self, variable: str) -> CodebookItem:
        """The demographic item whose ``variable`` is given (``district``, ``gender``, ``unit`` ...)."""
        for it in self.items:
            if it.variable == variable:
                return it
        raise KeyError(f"{self.instrument}: no question has variable '{variable}'")

    @property
    def variables(self) -> dict[str, str]:
        """Demographic variable name → item id."""
        return {it.variable: it.id for it in self.items if it.variable}

    def scale_items(self, scale_id: str) -> list[CodebookItem]:
        scale = next(s for s in self.questionnaire.scales if s.id == scale_id)
        return [self._by_id[i] for i in scale.items]

    def questions_by_number(self) -> dict[int, list[CodebookItem]]:
        out: dict[int, list[CodebookItem]] = {}
        for it in self.items:
            out.setdefault(it.number, []).append(it)
        return out

    def block_numbers(self, rule: SkipRule) -> tuple[int, ...]:
        """The question numbers of a skip rule's block (given as numbers, or as item ids)."""
        if rule.questions:
            return tuple(rule.questions)
        return tuple(dict.fromkeys(self._by_id[i].number for i in rule.items if i in self._by_id))

    def block_items(self, rule: SkipRule) -> list[CodebookItem]:
        """The items of a skip rule's block, in form order."""
        numbers = set(self.block_numbers(rule))
        return [it for it in self.items if it.number in numbers]

    def skipped_item_ids(self) -> set[str]:
        """Items inside a skip-logic block (may legitimately be unanswered)."""
        return {it.id for rule in self.questionnaire.skip_logic for it in self.block_items(rule)}

    @property
    def scored_items(self) -> list[CodebookItem]:
        """The items that get a 0–100 score (their options carry a scoring), in form order."""
        return [it for it in self.items if it.scoring is not None]


def question_scoring(question: Question, questionnaire: Questionnaire) -> tuple[Scoring | None, bool]:
    """(scoring, ordered) of a question's options: from its response set, or declared with its own options.
    Only single-choice and matrix items are scored."""
    if question.response_set:
        rs = questionnaire.response_sets.get(question.response_set)
        scoring, ordered = (rs.scoring, rs.is_ordered) if rs is not None else (None, False)
    else:
        scoring, ordered = question.scoring, question.ordered or question.scoring is not None
    if question.type not in ("single", "matrix"):
        scoring = None
    return scoring, ordered


def resolve_options(question: Question, questionnaire: Questionnaire, units: Units | None) -> list[Option]:
    """The options of a question, whichever way the YAML gives them (``options_from`` needs ``units``)."""
    if question.options:
        return list(question.options)
    if question.response_set:
        rs = questionnaire.response_sets.get(question.response_set)  # unknown: reported by the config checks
        return list(rs.options) if rs is not None else []
    if question.options_from and units is not None:
        chosen = [u for u in units.units if question.options_from == "units" or u.type == units.district_type]
        return [Option(code=i, text=u.name, unit=u.code) for i, u in enumerate(chosen, start=1)]
    return []
