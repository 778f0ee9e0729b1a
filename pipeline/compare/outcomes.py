"""What 05_compare analyses: the groupings, the outcomes of each questionnaire, and the columns it reads.

This is the one home of these lists in code (the analysis layout is not yet configuration). An outcome is
compared only when its column exists and has data (:func:`present`).

* Continuous outcomes: every scale score of the questionnaire, ``SI`` (满意度指数, :mod:`pipeline.frames`) and the
  direct items of :data:`PUBLIC_DIRECT` / :data:`STAFF_DIRECT` (never mixed into ``SI``); case files: ``score``.
* Categorical outcomes: :data:`PUBLIC_CATEGORICAL`, :data:`STAFF_CATEGORICAL`, :data:`CASEFILE_CATEGORICAL`.
* Unit vs peers also takes every item score that feeds an indicator observation point (:func:`indicator_items`);
  the public unit-vs-peers and adjusted analyses take :data:`PUBLIC_OVERALL` as their one direct item.
"""

from __future__ import annotations

import pandas as pd

from pipeline.config import Config
from pipeline.errors import DataError
from pipeline.frames import SI

PUBLIC_GROUPINGS = ("district", "gender", "age_group", "education", "occupation", "residence")
STAFF_GROUPINGS = ("unit_type", "district", "rank", "post")
CASEFILE_GROUPINGS = ("unit_type", "district", "case_type")
ADJUST_CONTROLS = ("gender", "age_group", "education")
"""Demographic controls of the adjusted district gaps (:mod:`pipeline.compare.adjusted`)."""

PUBLIC_OVERALL = "P25_score"
"""The public questionnaire's direct overall-satisfaction item (0–100)."""
PUBLIC_DIRECT = (PUBLIC_OVERALL, "P26_score")
STAFF_DIRECT = ("S24_score", "quiz_score")
PUBLIC_CATEGORICAL = ("satisfied_P25",)
STAFF_CATEGORICAL = ("satisfied_S24",)
CASEFILE_CONTINUOUS = ("score",)
CASEFILE_CATEGORICAL = ("grade", "veto")


def present(frame: pd.DataFrame, columns) -> list[str]:
    """The ``columns`` that ``frame`` has and that hold at least one value, in the order given."""
    return [c for c in columns if c in frame.columns and frame[c].notna().any()]


def scale_ids(config: Config, instrument: str) -> list[str]:
    """The scale-score columns of a questionnaire, in codebook order."""
    return [s.id for s in config.codebook(instrument).questionnaire.scales]


def indicator_items(config: Config, instrument: str) -> list[str]:
    """``<item>_score`` columns of the Likert items that feed an indicator observation point."""
    cb = config.codebook(instrument)
    return [f"{it.id}_score" for it in cb.items if it.feeds and it.type in ("matrix", "single")]


def group_outcomes(frame: pd.DataFrame, config: Config, instrument: str) -> tuple[list[str], list[str]]:
    """(continuous, categorical) outcomes of an instrument's group comparisons that ``frame`` has."""
    if instrument == "casefile":
        return present(frame, CASEFILE_CONTINUOUS), present(frame, CASEFILE_CATEGORICAL)
    direct, categorical = (
        (PUBLIC_DIRECT, PUBLIC_CATEGORICAL) if instrument == "public" else (STAFF_DIRECT, STAFF_CATEGORICAL)
    )
    return present(frame, [*scale_ids(config, instrument), SI, *direct]), present(frame, categorical)


def peer_outcomes(frame: pd.DataFrame, config: Config, instrument: str) -> list[str]:
    """Outcomes of the unit-vs-peers comparisons of an instrument that ``frame`` has (an outcome that is also
    an indicator item, such as ``S24_score``, once)."""
    if instrument == "casefile":
        return present(frame, CASEFILE_CONTINUOUS)
    direct = [PUBLIC_OVERALL] if instrument == "public" else list(STAFF_DIRECT)
    dvs = present(frame, [*scale_ids(config, instrument), SI, *direct])
    return list(dict.fromkeys(dvs + present(frame, indicator_items(config, instrument))))


def adjusted_outcomes(frame: pd.DataFrame, config: Config) -> list[str]:
    """Outcomes of the adjusted district gaps (public scales, ``SI``, :data:`PUBLIC_OVERALL`)."""
    return present(frame, [*scale_ids(config, "public"), SI, PUBLIC_OVERALL])


def optional_inputs(instrument: str) -> list[str]:
    """The columns of :func:`input_columns` that may be absent: the direct and categorical outcomes named here
    (a questionnaire without them is compared on its scales)."""
    if instrument == "public":
        return [*PUBLIC_DIRECT, *PUBLIC_CATEGORICAL]
    return [*STAFF_DIRECT, *STAFF_CATEGORICAL]


def input_columns(config: Config, instrument: str) -> list[str]:
    """The ``02_clean`` columns 05_compare uses from ``public`` or ``staff`` (the stage reads only these; the
    others would only cost memory at a million rows); :func:`optional_inputs` may be absent."""
    if instrument == "public":  # plus the raking variables of the design
        groupings, outcomes = PUBLIC_GROUPINGS, [*PUBLIC_DIRECT, *PUBLIC_CATEGORICAL]
        keys = [c for key in config.population.rake_on for c in ([key] if isinstance(key, str) else key)]
    elif instrument == "staff":  # plus the unit code (district and unit-vs-peers come from it)
        # a staff respondent's district is its unit's (pipeline.frames.staff_frame), not a cleaned column
        groupings = [g for g in STAFF_GROUPINGS if g != "district"]
        outcomes = [*STAFF_DIRECT, *STAFF_CATEGORICAL]
        keys = ["unit"]
    else:
        raise DataError(f"input_columns(): instrument must be 'public' or 'staff', got {instrument!r}")
    scales = scale_ids(config, instrument)
    columns = ["record_id", *keys, *groupings, *scales, *outcomes, *indicator_items(config, instrument)]
    return list(dict.fromkeys(columns))
