"""Which columns of a 01_ingest response table hold which codebook item, and when an item counts as answered.

Conventions of docs/DATA_CONTRACT.md (01_ingest): a single-choice or matrix item is one nullable ``Int64`` column
named by the item id (``<NA>`` = not answered, :data:`SKIPPED` = not shown / skipped by 问卷星 logic); a
multiple-choice item is one 0/1 column per option, ``<item>_<code>``; a ranking item is one column per option,
``<item>_<code>``, holding the option's rank (1 = first, ``<NA>`` = not ranked); a fill-in item is one masked text
column.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.config.codebook import Codebook, CodebookItem
from pipeline.config.models import SkipRule
from pipeline.errors import DataError
from pipeline.ingest.codebook_match import INVALID_CODE, SKIPPED_CODE

SKIPPED = SKIPPED_CODE
"""Code ingest writes for an item 问卷星 skipped or did not show (``(跳过)``, −2, −3 in the export)."""
INVALID = INVALID_CODE
"""Code ingest writes for an answer that matches no codebook option (caught by the ``invalid_code`` rule)."""

CODED_TYPES = ("single", "matrix")
OPTION_COLUMN_TYPES = ("multiple", "ranking")
"""Item types stored as one column per option."""


def option_columns(item: CodebookItem) -> list[str]:
    """The per-option columns of a multiple-choice (0/1) or ranking (rank) item, ``<item>_<code>``, in option
    order."""
    return [f"{item.id}_{o.code}" for o in item.options]


def item_columns(item: CodebookItem) -> list[str]:
    """Every answer column of one item (one for single/matrix/fill-in, one per option for multiple/ranking)."""
    return option_columns(item) if item.type in OPTION_COLUMN_TYPES else [item.id]


def answer_columns(codebook: Codebook) -> list[str]:
    """All answer columns of a questionnaire, in form order."""
    return [c for it in codebook.items for c in item_columns(it)]


def require_columns(frame: pd.DataFrame, codebook: Codebook) -> None:
    """Raise DataError naming the columns a 01_ingest table lacks."""
    meta = [
        "record_id",
        "source_file",
        "source_sheet",
        "source_row",
        "respondent",
        "submitted_at",
        "duration_s",
    ]
    missing = [c for c in meta + answer_columns(codebook) if c not in frame.columns]
    if missing:
        raise DataError(f"{codebook.instrument}: 01_ingest 表缺少列 (missing columns): {', '.join(missing)}")


def codes(frame: pd.DataFrame, item_id: str) -> pd.Series:
    """The codes of a single/matrix item as float (NaN = not answered), for vectorised comparisons."""
    s = frame[item_id]
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        return pd.Series(s.to_numpy(dtype=float, na_value=np.nan), index=s.index, name=s.name, copy=False)
    return pd.to_numeric(s, errors="coerce").astype(float)


def answered(frame: pd.DataFrame, item: CodebookItem) -> pd.Series:
    """True where the respondent gave an answer to ``item`` (不了解 counts; NA and SKIPPED do not).

    A multiple-choice item is answered when at least one option column is 1; a ranking item when any option has a
    rank (an invalid one included); a fill-in when its text is not blank.
    """
    if item.type == "ranking":
        ranked = np.zeros(len(frame), dtype=bool)
        for col in option_columns(item):
            c = codes(frame, col).to_numpy()
            ranked |= ~np.isnan(c) & (c != SKIPPED)
        return pd.Series(ranked, index=frame.index, copy=False)
    if item.type == "multiple":
        chosen = np.zeros(len(frame), dtype=bool)
        for col in option_columns(item):
            chosen |= codes(frame, col).to_numpy() == 1
        return pd.Series(chosen, index=frame.index, copy=False)
    if item.type in ("text", "number"):
        s = frame[item.id]
        return s.notna() & (s.astype(str).str.strip() != "")
    c = codes(frame, item.id)
    return c.notna() & (c != SKIPPED)


def substantive_code(frame: pd.DataFrame, item: CodebookItem) -> pd.Series:
    """The code where it is a substantive option (not 不了解, not skipped, valid), else NaN."""
    c = codes(frame, item.id)
    v = c.to_numpy()
    return pd.Series(
        np.where(np.isin(v, list(item.substantive_codes)), v, np.nan), index=c.index, name=c.name, copy=False
    )


def shown(frame: pd.DataFrame, rule: SkipRule) -> pd.Series:
    """Whether a skip-logic block was shown: True if any condition holds, False if every condition item was
    answered and none holds, ``<NA>`` if it cannot be told (a condition item unanswered)."""
    any_true = pd.Series(False, index=frame.index)
    all_known = pd.Series(True, index=frame.index)
    for cond in rule.show_if_any:
        c = codes(frame, cond.item)
        any_true |= c.isin(cond.in_)
        all_known &= c.notna() & (c != SKIPPED)
    out = pd.Series(pd.array(np.where(any_true, True, False), dtype="boolean"), index=frame.index)
    out[~any_true & ~all_known] = pd.NA
    return out


def block_items(codebook: Codebook, rule: SkipRule) -> list[CodebookItem]:
    """The items of the questions a skip rule hides."""
    return codebook.block_items(rule)


def likert_matrix_items(codebook: Codebook) -> list[CodebookItem]:
    """Rows of Likert matrix questions, the attention check excluded."""
    check = codebook.questionnaire.attention_check
    skip = {check.item} if check else set()
    return [it for it in codebook.items if it.type == "matrix" and it.id not in skip]


def scored_items(codebook: Codebook) -> list[CodebookItem]:
    """Items that get a 0–100 score: single-choice and matrix items whose options carry a scoring (declared on
    the response set or the question) — demographics, quiz items and the attention check excepted."""
    q = codebook.questionnaire
    skip = {k.item for k in q.quiz} | ({q.attention_check.item} if q.attention_check else set())
    return [
        it
        for it in codebook.items
        if it.scoring is not None and it.id not in skip and it.variable is None and it.type in CODED_TYPES
    ]
