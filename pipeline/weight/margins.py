"""Population margins of ``questionnaires/population.yaml``, keyed the way the cleaned public table stores them."""

from __future__ import annotations

from typing import Any

from pipeline.config import Codebook, Config

INTERACTION_SEPARATOR = "×"


def margin_key(variable: str | list[str]) -> str | tuple[str, ...]:
    """The column (or tuple of columns) a margin applies to."""
    return tuple(variable) if isinstance(variable, list) else variable


def population_margins(config: Config) -> dict[str | tuple[str, ...], dict[Any, float]]:
    """The margins of population.yaml the public sample is weighted on (``analysis.yaml: public.weight_on``,
    by default ``rake_on``), keyed the way the cleaned frame stores the variables.

    The YAML keys categories by option text; the cleaned frame holds the option text, except for options that
    stand for a unit (districts), where it holds the unit code. Interaction keys join texts with ``×``.
    """
    codebook = config.codebook("public")
    by_variable = {margin_key(m.variable): m for m in config.population.margins}  # type: ignore[union-attr]
    margins: dict[str | tuple[str, ...], dict[Any, float]] = {}
    for key in config.plan("public").weight_on:
        margin = by_variable[key]
        variables = list(key) if isinstance(key, tuple) else [key]
        converters = [_frame_value(codebook, v) for v in variables]
        targets: dict[Any, float] = {}
        for label, target in margin.targets.items():
            parts = label.split(INTERACTION_SEPARATOR) if len(variables) > 1 else [label]
            values = tuple(conv(p.strip()) for conv, p in zip(converters, parts, strict=True))
            targets[values if len(values) > 1 else values[0]] = target
        margins[key] = targets
    return margins


def _frame_value(codebook: Codebook, variable: str):
    item = codebook.by_variable(variable)
    unit_by_text = {o.text: o.unit for o in item.options if o.unit}
    return lambda text: unit_by_text.get(text, text)
