"""What the describe tables share: the instrument's design and groupings, item labels, the small-cell rule."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline import stats
from pipeline.config.codebook import Codebook, CodebookItem
from pipeline.stats.small_groups import SmallGroupRule

SKIPPED = -3
"""Code of an item skipped by the questionnaire's logic (02_clean, as 01_ingest writes it)."""
OVERALL = ""
"""``by`` and ``group`` of the rows for the whole sample."""


@dataclass(frozen=True)
class Described:
    """One questionnaire ready to describe: its analysis frame, design, codebook, groupings and options."""

    instrument: str
    frame: pd.DataFrame
    design: stats.SurveyDesign
    codebook: Codebook
    groupings: tuple[str, ...]
    rule: SmallGroupRule
    weighted: bool
    method: str = "logit"
    confidence_level: float = 0.95


def item_labels(item: CodebookItem) -> dict:
    """The columns that name an item in every describe table."""
    return {
        "item": item.id,
        "number": item.number,
        "question": item.question_text,
        "row_text": item.row_text or "",
    }


def by_series(frame: pd.DataFrame, by: str | None, rows: np.ndarray | None = None) -> pd.Series:
    """The domain labels of ``by`` as text (one label ``""`` for the whole sample), missing outside ``rows``."""
    if by is None:
        labels = pd.Series(OVERALL, index=frame.index, dtype=object)
    else:
        labels = (
            frame[by]
            .astype(object)
            .where(frame[by].notna(), None)
            .map(lambda v: None if v is None else str(v))
        )
    if rows is not None:
        labels = labels.where(rows, None)
    return labels.rename(by or "group")


def group_flags(table: pd.DataFrame, rule: SmallGroupRule, size: str = "n_eff") -> pd.DataFrame:
    """``flag`` and ``reason`` of each row from its group's size (:class:`SmallGroupRule`, vectorized);
    suppressed rows lose their estimates."""
    sizes = table[size].astype(float).to_numpy()
    hidden = ~(sizes >= rule.suppress_below)
    small = ~hidden & (sizes < rule.flag_below)
    table = table.assign(
        flag=np.where(hidden, "suppressed", np.where(small, "small", "")),
        reason=np.where(hidden, rule.suppressed_reason, np.where(small, rule.small_reason, "")),
    )
    for col in ("percent", "estimate", "se", "ci_low", "ci_high", "cum_percent", "sd"):
        if col in table.columns:
            table.loc[hidden, col] = np.nan
    return table
