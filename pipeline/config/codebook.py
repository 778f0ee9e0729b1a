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

from pipeline.config.models import Option, Question, Questionnaire, Units


@dataclass(frozen=True)
class CodebookItem:
    """One analysable column of a questionnaire."""

    id: str
    number: int
    """Question number in the 问卷星 form."""
    type: str
    """single | multiple | matrix | text | number (a matrix row has type ``matrix``)."""
    question_text: str
    row_text: str | None
    """The row label of a matrix item; None otherwise."""
    options: tuple[Option, ...]
    reverse: bool = False
    variable: str | None = None
    max_choices: int | None = None
    feeds: tuple[str, ...] = ()
    required: bool = True

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

    def skipped_item_ids(self) -> set[str]:
        """Items inside a skip-logic block (may legitimately be unanswered)."""
        numbers = {n for rule in self.questionnaire.skip_logic for n in rule.questions}
        return {it.id for it in self.items if it.number in numbers}


def resolve_options(question: Question, questionnaire: Questionnaire, units: Units) -> list[Option]:
    """The options of a question, whichever way the YAML gives them."""
    if question.options:
        return list(question.options)
    if question.response_set:
        return list(questionnaire.response_sets[question.response_set].options)
    if question.options_from:
        chosen = [u for u in units.units if question.options_from == "units" or u.type == units.district_type]
        return [Option(code=i, text=u.name, unit=u.code) for i, u in enumerate(chosen, start=1)]
    return []
