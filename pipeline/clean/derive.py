"""Derived variables of the 02_clean response tables (docs/DATA_CONTRACT.md, 02_clean).

All functions are pure: they take a 01_ingest-shaped frame and return a new frame of derived columns with the
same index.

Item score (0–100)
    Only items whose options carry a scoring (:class:`pipeline.config.codebook.ItemScoring`, from the response set
    or the question) are scored: a substantive code maps to its ``scores`` entry; a reverse-worded item's score is
    mirrored within the scale's score range (``min + max − score``: 100 − s on a 0–100 scale). 不了解/说不清, not
    answered, skipped (−3) and invalid codes give NaN.
Scale score
    Mean of the answered item scores of the scale when at least ``min_answered_share`` of its items are answered
    (answered/n ≥ share), else NaN.
满意率 inputs
    ``satisfied_<item>`` = 1 if the answer is one of the scoring's ``satisfied`` codes (a reverse item's answer taken
    at its mirror position), 0 for any other substantive code, NA if 不了解/unanswered — so its mean is 满意率 with
    不了解 outside the denominator (docs/BACKGROUND.md §1c). ``basic_satisfied_<item>`` the same with
    ``basic_satisfied`` (5-point default: 非常/比较 for 满意, plus 一般 for 基本满意).
知晓率 input
    ``aware_<item>`` = 1 for a substantive answer, 0 for 不了解/说不清, NA if unanswered/skipped; only for items
    that have a 不了解 option. 知晓率 = mean.
Quiz score
    ``<item>_correct`` = 1 if the key was chosen, 0 for another option **or no answer**; ``quiz_score`` =
    100 × share correct over all quiz items (NaN only if none was answered).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.clean.items import codes, scored_items, substantive_code
from pipeline.config.codebook import Codebook, CodebookItem
from pipeline.config.models import Units


def _categorical_from_codes(c: pd.Series, label_of: dict, categories: list) -> pd.Series:
    """``pd.Categorical(c.map(label_of), categories=categories)`` without materialising a label per record: each codebook code
    is compared once against the (float) code column and the category position written where it matches."""
    position = {cat: k for k, cat in enumerate(categories)}
    v = c.to_numpy(dtype=float)
    out = np.full(len(v), -1, dtype=np.int64)
    for code, label in label_of.items():
        k = position.get(label, -1) if not pd.isna(label) else -1
        if k >= 0:
            out[v == code] = k
    cat = pd.Categorical.from_codes(out, dtype=pd.CategoricalDtype(pd.Index(categories)))
    return pd.Series(cat, index=c.index)


def demographics(frame: pd.DataFrame, codebook: Codebook, units: Units | None) -> pd.DataFrame:
    """One Categorical column per single-choice demographic ``variable``, labelled with the option text in
    codebook order. Unit questions (options carrying a unit code) give the unit **code** instead, plus
    ``<variable>_name``; the staff ``unit`` also gives ``unit_type`` (type id of units.yaml) and
    ``unit_type_name``. Invalid or missing answers give NaN."""
    out = {}
    types = {u.code: u.type for u in units.units} if units is not None else {}
    for it in codebook.items:
        if it.variable is None or it.type != "single":
            continue
        c = codes(frame, it.id)
        if it.options and all(o.unit for o in it.options):
            by_code = {o.code: o.unit for o in it.options}
            out[it.variable] = _categorical_from_codes(c, by_code, [o.unit for o in it.options])
            out[f"{it.variable}_name"] = _categorical_from_codes(
                c, it.text_by_code, [o.text for o in it.options]
            )
            if it.variable == "unit" and units is not None:
                type_of = {code: types.get(u, np.nan) for code, u in by_code.items()}
                out["unit_type"] = _categorical_from_codes(c, type_of, list(units.unit_types))
                type_name_of = {
                    code: (units.unit_types.get(t, np.nan) if not pd.isna(t) else np.nan)
                    for code, t in type_of.items()
                }
                out["unit_type_name"] = _categorical_from_codes(
                    c, type_name_of, list(units.unit_types.values())
                )
        else:
            out[it.variable] = _categorical_from_codes(c, it.text_by_code, [o.text for o in it.options])
    return pd.DataFrame(out, index=frame.index)


def oriented_code(frame: pd.DataFrame, item: CodebookItem) -> pd.Series:
    """The substantive code, reverse-coded (``min + max − x``) for reverse-worded items; NaN otherwise."""
    x = substantive_code(frame, item)
    if item.reverse:
        subs = item.substantive_codes
        x = min(subs) + max(subs) - x
    return x


def _lookup(x: np.ndarray, table: dict[float, float]) -> np.ndarray:
    """``Series(x).map(table)`` for float codes (NaN where the code is not a key), as one array lookup when the
    keys are small whole numbers."""
    keys = list(table)
    if keys and all(float(k).is_integer() and 0 <= k < 1000 for k in keys):
        lut = np.full(int(max(keys)) + 2, np.nan)  # last slot: any code that is not a key
        for k, v in table.items():
            lut[int(k)] = v
        ok = (x >= 0) & (x <= max(keys)) & (x == np.floor(x))  # NaN compares False
        return lut[np.where(ok, x, len(lut) - 1).astype(np.int64)]
    out = np.full(len(x), np.nan)
    for k, v in table.items():
        out[x == k] = v
    return out


def item_scores(
    frame: pd.DataFrame, codebook: Codebook, substantive: dict[str, pd.Series] | None = None
) -> pd.DataFrame:
    """``<item>_score`` (0–100) for every scored item (see :func:`pipeline.clean.items.scored_items`).
    ``substantive``: :func:`~pipeline.clean.items.substantive_code` per item id when already computed."""
    out = {}
    for it in scored_items(codebook):
        x = (substantive[it.id] if substantive is not None else substantive_code(frame, it)).to_numpy(float)
        table = {float(k): v for k, v in it.scoring.item_scores(it.reverse).items()}  # type: ignore[union-attr]
        out[f"{it.id}_score"] = _lookup(x, table)
    return pd.DataFrame(out, index=frame.index, dtype=float)


def scale_scores(scores: pd.DataFrame, codebook: Codebook) -> pd.DataFrame:
    """One column per scale: mean of its answered item scores when enough were answered (see module doc)."""
    q = codebook.questionnaire
    out = {}
    for scale in q.scales:
        block = scores[[f"{i}_score" for i in scale.items]]
        share = block.notna().sum(axis=1) / len(scale.items)
        out[scale.id] = block.mean(axis=1).where(share >= q.min_answered_share - 1e-12)
    return pd.DataFrame(out, index=scores.index, dtype=float)


def indicator_inputs(
    frame: pd.DataFrame, codebook: Codebook, substantive: dict[str, pd.Series] | None = None
) -> pd.DataFrame:
    """``satisfied_<item>``, ``basic_satisfied_<item>`` and ``aware_<item>`` (nullable Int64 0/1).
    ``substantive``: :func:`~pipeline.clean.items.substantive_code` per item id when already computed."""
    out = {}
    for it in scored_items(codebook):
        x = (substantive[it.id] if substantive is not None else substantive_code(frame, it)).to_numpy(float)
        missing = np.isnan(x)
        for name, basic in (("satisfied", False), ("basic_satisfied", True)):
            chosen = sorted(it.scoring.satisfied_codes(basic, it.reverse))  # type: ignore[union-attr]
            values = np.isin(x, chosen).astype(np.int64)  # NaN is in no list: 0 under the mask
            out[f"{name}_{it.id}"] = pd.arrays.IntegerArray(values, missing)
        if it.missing_codes:
            knows = ~missing  # the oriented code is NaN exactly where the code is not substantive
            unaware = np.isin(codes(frame, it.id).to_numpy(), list(it.missing_codes))
            out[f"aware_{it.id}"] = pd.arrays.IntegerArray(knows.astype(np.int64), ~(knows | unaware))
    return pd.DataFrame(out, index=frame.index, copy=False)


def quiz_scores(frame: pd.DataFrame, codebook: Codebook) -> pd.DataFrame:
    """``<item>_correct`` (Int64 0/1) per quiz item and ``quiz_score`` (0–100); empty frame without a quiz."""
    quiz = codebook.questionnaire.quiz
    if not quiz:
        return pd.DataFrame(index=frame.index)
    out = {}
    any_answered = pd.Series(False, index=frame.index)
    for q in quiz:
        c = codes(frame, q.item)
        valid = c.isin(list(codebook.item(q.item).valid_codes))
        any_answered |= valid
        out[f"{q.item}_correct"] = (c == q.key).astype("Int64")
    correct = pd.DataFrame(out, index=frame.index)
    correct["quiz_score"] = (100 * correct.sum(axis=1).astype(float) / len(quiz)).where(any_answered)
    return correct
