"""What the describe tables share: the instrument's design and groupings, item labels, the small-cell rule."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from pipeline import stats
from pipeline.clean.items import option_columns
from pipeline.config.codebook import Codebook, CodebookItem
from pipeline.stats import _frequencies as kernel
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
    cache: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)
    """Sums shared by the tables of one questionnaire (domains, item slots, item sums), built on first use."""


@dataclass(frozen=True)
class Domains:
    """The domains of one grouping (``by`` = "" for the whole sample): labels in the grouping's category order,
    each row's domain code (-1: no label) and the design's combinations with them."""

    by: str
    labels: tuple[str, ...]
    gcode: np.ndarray
    combos: kernel.Combinations
    of_fine: np.ndarray | None = None
    """Each finest combination's combination here (None: a grouping outside the finest ones)."""


@dataclass(frozen=True)
class Slots:
    """An item's answer of each row as a slot: ``0 … k-1`` its substantive codes (``codes``), then its
    不了解-type codes (``missing``), then skipped (−3), unanswered (empty) and any other value."""

    codes: tuple[int, ...]
    missing: tuple[int, ...]
    slot: np.ndarray

    @property
    def k(self) -> int:
        return len(self.codes)

    @property
    def skipped(self) -> int:
        return self.k + len(self.missing)

    @property
    def unanswered(self) -> int:
        return self.skipped + 1

    @property
    def n_slots(self) -> int:
        return self.skipped + 3


def option_items(described: Described, kind: str) -> list[tuple[CodebookItem, list[str]]]:
    """The items of question type ``kind`` (``multiple`` or ``ranking``) whose per-option columns
    (:func:`pipeline.clean.items.option_columns`) are all in the frame, each with those columns."""
    out = []
    for item in described.codebook.items:
        columns = option_columns(item)
        if item.type == kind and columns and all(c in described.frame.columns for c in columns):
            out.append((item, columns))
    return out


def domain_codes(frame: pd.DataFrame, by: str | None) -> tuple[tuple[str, ...], np.ndarray]:
    """Labels (as text) of the domains of ``by`` that occur, in the grouping's category order (sorted text for
    a column without categories), and each row's domain code (-1: missing label); one domain "" for None."""
    if by is None:
        return (OVERALL,), np.zeros(len(frame), dtype=np.intp)
    col = frame[by]
    if isinstance(col.dtype, pd.CategoricalDtype):
        codes = col.cat.codes.to_numpy().astype(np.intp)
        observed = np.flatnonzero(np.bincount(codes[codes >= 0], minlength=len(col.cat.categories)))
        remap = np.full(len(col.cat.categories) + 1, -1, dtype=np.intp)
        remap[observed] = np.arange(observed.size)
        return tuple(str(col.cat.categories[i]) for i in observed), remap[codes]
    text = col.astype(object).where(col.notna(), None).map(lambda v: None if v is None else str(v))
    codes, uniques = pd.factorize(text, sort=True, use_na_sentinel=True)
    return tuple(uniques), codes.astype(np.intp, copy=False)


def finest_of(described: Described) -> kernel.Finest:
    """The finest combinations of the design with every grouping of the questionnaire (built once)."""
    if "finest" not in described.cache:
        codes = [domain_codes(described.frame, by) for by in described.groupings]
        described.cache["domain_codes"] = dict(zip(described.groupings, codes, strict=True))
        described.cache["finest"] = kernel.finest(described.design, [gcode for _, gcode in codes])
    return described.cache["finest"]


def domains(described: Described, by: str | None) -> Domains:
    """:class:`Domains` of ``by`` (None: the whole sample; else one of the questionnaire's groupings or
    ``SCALE_BYS``), built once per questionnaire."""
    key = ("domains", by)
    if key not in described.cache:
        d = described
        cal = d.design._cal
        n_cells = cal["w0_cell"].size if cal is not None else 1
        if by is None or by in d.groupings:
            fine = finest_of(d)
            labels, gcode = d.cache["domain_codes"][by] if by is not None else domain_codes(d.frame, None)
            which = None if by is None else d.groupings.index(by)
            combos, of_fine = kernel.combinations_of(fine, which, len(labels), n_cells)
        else:
            labels, gcode = domain_codes(d.frame, by)
            combos, of_fine = kernel.combinations(d.design, gcode, len(labels)), None
        d.cache[key] = Domains(by=by or OVERALL, labels=labels, gcode=gcode, combos=combos, of_fine=of_fine)
    return described.cache[key]


def domain_labels(described: Described, by: str | None, rows: np.ndarray) -> pd.Series:
    """The domains of ``by`` as a categorical Series (the grouping's category order), missing outside ``rows``
    — the ``by`` of :func:`pipeline.stats.domain_mean_table`."""
    dom = domains(described, by)
    codes = np.where(rows, dom.gcode, -1)
    return pd.Series(
        pd.Categorical.from_codes(codes, categories=pd.Index(dom.labels, dtype=object)),
        index=described.frame.index,
        name=by or "group",
    )


def slots_of(values: pd.Series, codes, missing=()) -> Slots:
    """:class:`Slots` of a coded column: ``codes`` are the levels of the base, ``missing`` counted apart."""
    known = [*codes, *missing]
    k_all = len(known)
    other = k_all + 2
    arr = values.array
    if isinstance(arr, pd.arrays.IntegerArray) and all(float(c).is_integer() for c in known):
        # Int64 codes (02_clean's item columns): a lookup table over the codes' range, no float copy
        data, empty = arr._data, arr._mask
        lo = min([*(int(c) for c in known), SKIPPED])
        hi = max([*(int(c) for c in known), SKIPPED])
        table = np.full(hi - lo + 3, other, dtype=np.intp)  # [below, lo … hi, above]
        table[SKIPPED - lo + 1] = k_all
        for j, c in enumerate(known):
            table[int(c) - lo + 1] = j
        slot = table[np.clip(data - (lo - 1), 0, hi - lo + 2)]
        slot[empty] = k_all + 1
    else:
        raw = values.to_numpy(dtype=float, na_value=np.nan)
        known_f = np.asarray(known, dtype=float)
        slot = np.full(raw.size, other, dtype=np.intp)
        if k_all:
            order = np.argsort(known_f, kind="stable")
            pos = np.minimum(np.searchsorted(known_f[order], raw), k_all - 1)
            hit = known_f[order][pos] == raw
            slot = np.where(hit, order[pos], other)
        slot[(raw == SKIPPED) & (slot == other)] = k_all
        slot[np.isnan(raw)] = k_all + 1
    return Slots(codes=tuple(int(c) for c in codes), missing=tuple(int(c) for c in missing), slot=slot)


def item_slots(described: Described, item: CodebookItem) -> Slots:
    """:class:`Slots` of a single-choice or matrix item (built once per questionnaire)."""
    key = ("slots", item.id)
    if key not in described.cache:
        described.cache[key] = slots_of(
            described.frame[item.id], list(item.substantive_codes), list(item.missing_codes)
        )
    return described.cache[key]


def weights_squared(described: Described) -> np.ndarray:
    if "w2" not in described.cache:
        described.cache["w2"] = described.design.weights**2
    return described.cache["w2"]


def sums_of(described: Described, dom: Domains, slots: Slots, key: Any = None) -> kernel.ItemSums:
    """The kernel's sums of ``slots`` by the domains ``dom``: one pass over the rows per item (``key`` names
    it, so that every grouping and table reuses that pass), then summed up to ``dom``'s combinations."""
    d = described
    w2 = weights_squared(d)
    if dom.of_fine is None or key is None:
        return kernel.item_sums(d.design, dom.combos, slots.slot, slots.k, w2, n_slots=slots.n_slots)
    if ("fine_sums", key) not in d.cache:
        fine = finest_of(d)
        d.cache[("fine_sums", key)] = kernel.item_sums(
            d.design, fine, slots.slot, slots.k, w2, n_slots=slots.n_slots
        )
    return kernel.summed_up(d.cache[("fine_sums", key)], dom.of_fine, dom.combos.size)


def shares(described: Described, dom: Domains, sums: kernel.ItemSums) -> dict[str, np.ndarray]:
    """The weighted shares of the levels in every domain (``category_proportions``' numbers) from ``sums``."""
    d = described
    return kernel.proportions(
        d.design, dom.combos, sums, method=d.method, confidence_level=d.confidence_level
    )


def item_labels(item: CodebookItem) -> dict:
    """The columns that name an item in every describe table."""
    return {
        "item": item.id,
        "number": item.number,
        "question": item.question_text,
        "row_text": item.row_text or "",
    }


def group_flags(table: pd.DataFrame, rule: SmallGroupRule, size: str = "n_eff") -> pd.DataFrame:
    """``flag`` and ``reason`` of each row from its group's size (:class:`SmallGroupRule`, vectorized; the
    size rounded to 9 decimals as the rule does); suppressed rows lose their estimates."""
    flag, reason = rule.flag_array(table[size].astype(float).to_numpy())
    hidden = flag == "suppressed"
    table = table.assign(flag=flag, reason=reason)
    for col in ("percent", "estimate", "se", "ci_low", "ci_high", "cum_percent", "sd"):
        if col in table.columns:
            table.loc[hidden, col] = np.nan
    return table
