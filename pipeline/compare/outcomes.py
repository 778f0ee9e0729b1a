"""What 05_compare analyses, read from the analysis plan (``questionnaires/analysis.yaml``, resolved by
:func:`pipeline.config.plan.analysis_plan`), and the columns it reads.

An outcome is compared only when its column exists and has data (:func:`present`).

* Groupings: ``plan.groupings`` of each instrument.
* Continuous outcomes: ``plan.scored`` (scale scores, ``SI`` — 满意度指数, :mod:`pipeline.frames` — and direct
  item scores); categorical outcomes: ``plan.categorical``.
* Unit vs peers: ``plan.peer_outcomes``; adjusted district gaps: ``plan.adjusted``.
"""

from __future__ import annotations

import pandas as pd

from pipeline.config import Config
from pipeline.errors import DataError
from pipeline.frames import SI


def present(frame: pd.DataFrame, columns) -> list[str]:
    """The ``columns`` that ``frame`` has and that hold at least one value, in the order given."""
    return [c for c in columns if c in frame.columns and frame[c].notna().any()]


def groupings(config: Config, instrument: str) -> tuple[str, ...]:
    """The grouping columns of an instrument's group comparisons."""
    return config.plan(instrument).groupings


def scale_ids(config: Config, instrument: str) -> list[str]:
    """The scale-score columns of a questionnaire, in codebook order."""
    return [s.id for s in config.codebook(instrument).questionnaire.scales]


def group_outcomes(frame: pd.DataFrame, config: Config, instrument: str) -> tuple[list[str], list[str]]:
    """(continuous, categorical) outcomes of an instrument's group comparisons that ``frame`` has."""
    plan = config.plan(instrument)
    return present(frame, plan.scored), present(frame, plan.categorical)


def peer_outcomes(frame: pd.DataFrame, config: Config, instrument: str) -> list[str]:
    """Outcomes of the unit-vs-peers comparisons of an instrument that ``frame`` has."""
    plan = config.plan(instrument)
    return present(frame, plan.peer_outcomes) if plan.unit_vs_peers else []


def adjusted_outcomes(frame: pd.DataFrame, config: Config) -> list[str]:
    """Outcomes of the adjusted district gaps (none when the plan has no adjusted analysis)."""
    adjusted = config.plan("public").adjusted
    return present(frame, adjusted.outcomes) if adjusted is not None else []


def optional_inputs(config: Config, instrument: str) -> list[str]:
    """The columns of :func:`input_columns` that may be absent: every outcome but the scales (a table written
    before an outcome was declared is compared on what it has)."""
    required = {*scale_ids(config, instrument), *_keys(config, instrument), *_groups(config, instrument)}
    return [c for c in input_columns(config, instrument) if c not in required]


def _keys(config: Config, instrument: str) -> list[str]:
    plan = config.plan(instrument)
    if instrument == "public":
        return ["record_id", *plan.weight_variables, *plan.groupings]
    # a staff respondent's district and unit type are its unit's (pipeline.frames.staff_frame)
    has_unit = "unit" in config.codebook("staff").variables and config.units is not None
    return ["record_id", "unit", "unit_type"] if has_unit else ["record_id"]


def _groups(config: Config, instrument: str) -> list[str]:
    """The grouping columns as cleaned (a staff respondent's ``district`` is derived later, from its unit)."""
    return [g for g in config.plan(instrument).groupings if instrument == "public" or g != "district"]


def input_columns(config: Config, instrument: str) -> list[str]:
    """The ``02_clean`` columns 05_compare uses from ``public`` or ``staff`` (the stage reads only these; the
    others would only cost memory at a million rows); :func:`optional_inputs` may be absent."""
    if instrument not in ("public", "staff"):
        raise DataError(f"input_columns(): instrument must be 'public' or 'staff', got {instrument!r}")
    plan = config.plan(instrument)
    groups = _groups(config, instrument)
    outcomes = [*plan.scored, *plan.categorical, *plan.peer_outcomes]
    if plan.adjusted is not None:
        outcomes += [*plan.adjusted.controls, *plan.adjusted.outcomes]
    columns = [*_keys(config, instrument), *groups, *scale_ids(config, instrument), *outcomes]
    return [c for c in dict.fromkeys(columns) if c != SI]


def design_suffix(config: Config) -> str:
    """What a design-based family's name says of its weights: `` (weighted)``, or `` (equal weights)`` when the
    public survey is not weighted (``analysis.yaml: public.weighting: none``)."""
    return " (equal weights)" if config.plan("public").weighting == "none" else " (weighted)"
