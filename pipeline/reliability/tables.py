"""All seven tables of 04_reliability from the parts computed for each questionnaire: :func:`reliability_tables`."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import pandas as pd

from pipeline.config.codebook import Codebook
from pipeline.reliability.scales import ScaleReliability
from pipeline.reliability.validity import misassigned_flags
from pipeline.schemas import empty_table


@dataclass(frozen=True)
class ReliabilityTables:
    """The tables of ``output/04_reliability`` (columns in :mod:`pipeline.reliability.columns`)."""

    reliability: pd.DataFrame
    items: pd.DataFrame
    flags: pd.DataFrame
    validity: pd.DataFrame
    loadings: pd.DataFrame
    agreement: pd.DataFrame
    third_review: pd.DataFrame

    def as_dict(self) -> dict[str, pd.DataFrame]:
        """Table name → table, in the order the stage writes them."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def summary(self) -> dict[str, Any]:
        """The stage's summary for the manifest and the console."""
        third, agreement = self.third_review, self.agreement
        double = agreement.loc[
            (agreement["measure"] == "double_scoring") & (agreement["statistic"] == "n_files"), "estimate"
        ]
        return {
            "scales_analysed": len(self.reliability[["instrument", "scale"]].drop_duplicates()),
            "flags": len(self.flags),
            "files_needing_third_review": len(third),
            "files_scores_beyond_tolerance": int(third["score_beyond_tolerance"].sum()) if len(third) else 0,
            "double_scored_files": int(double.iloc[0]) if len(double) else 0,
        }


def reliability_tables(
    scales: list[ScaleReliability],
    validity: list[tuple[pd.DataFrame, pd.DataFrame]],
    codebooks: list[Codebook],
    agreement: tuple[pd.DataFrame, pd.DataFrame],
) -> ReliabilityTables:
    """The stage's tables from its parts: per questionnaire (in the same order in each list) the scale
    reliability (:func:`~pipeline.reliability.scales.scale_reliability`), the construct validity
    (:func:`~pipeline.reliability.validity.construct_validity`: validity and loadings tables) and its codebook;
    and the reviewer agreement and third-review tables
    (:mod:`pipeline.reliability.agreement`). Flags of items loading on another scale's factor are added to each
    questionnaire's item flags."""
    flags: list[pd.DataFrame] = []
    for res, (_, loadings), codebook in zip(scales, validity, codebooks, strict=True):
        flags += [res.flags, misassigned_flags(loadings, codebook)]
    found = [f for f in flags if not f.empty]
    return ReliabilityTables(
        reliability=_rows([res.reliability for res in scales], "reliability"),
        items=_rows([res.items for res in scales], "items"),
        flags=pd.concat(found, ignore_index=True)
        if found
        else (flags[0] if flags else empty_table(STAGE, "flags")),
        validity=_rows([v for v, _ in validity], "validity"),
        loadings=_rows([lo for _, lo in validity], "loadings"),
        agreement=agreement[0],
        third_review=agreement[1],
    )


STAGE = "reliability"


def _rows(frames: list[pd.DataFrame], table: str) -> pd.DataFrame:
    """The frames one below the other; the table's empty schema when there are none (no questionnaire with
    scales)."""
    return pd.concat(frames, ignore_index=True) if frames else empty_table(STAGE, table)
