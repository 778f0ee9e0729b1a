"""The simulator's ground truth: each unit's true quality on each second-level indicator item, and planted problems.

Model (all on a z scale, one SD = the spread of true quality between units)::

    baseline[u, i] = 0.5·g[u] + 0.55·a[u, aspect(i)] + 0.67·e[u, i]
    quality[u, i]  = baseline[u, i] + Σ plants(effect)

with ``g`` (the unit's general standard), ``a`` (its standard on an aspect) and ``e`` (item-specific) independent
N(0, 1), so that items of one aspect correlate more (≈0.55) than items of different aspects (≈0.25).

A plant ``{indicator, units, effect, label[, kind]}`` puts the listed units (``all`` = every unit the item applies
to) into a **problem state** on the item: ``state[u, i]`` is ``COMMON`` or ``INDIVIDUAL`` (``NONE`` elsewhere).
``kind`` is optional: without it a plant of one or two units is individual (each unit its own problem), a plant
of three or more units common. The state has a signature in every source that feeds the item:

- checkpoint points (checkpoints.py): each rated 部分落实/未落实 with probability 0.75 (common) or 0.9
  (individual), against 0.15 on average for a unit without the problem (lower for better units: the rating
  follows ``baseline``);
- case-file defect categories that feed the item (casefiles.py): defect rate × 3 (the veto rate × 3 for the
  item the veto rate feeds);
- survey items that feed the item (public.py, staff.py): they read ``quality``, shifted by the plant's ``effect``
  (in SD).

Baseline differences between units stay (a bad unit is rated lower everywhere). Plants are applied after every
random draw, so the same seed with and without a plant gives the same noise and differs only where the plant
acts.

Without indicators.yaml there are no items: a unit's quality is its general standard ``g`` alone (and there is
nothing to plant); without units.yaml there are no units (and no unit effect).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from pipeline.config.models import IndicatorSystem, ObservationPoint, Unit, Units
from pipeline.errors import ConfigError

#: loadings of the general, aspect and item components (their squares sum to ≈1).
LOAD_GENERAL, LOAD_ASPECT, LOAD_ITEM = 0.5, 0.55, 0.67
#: problem states of a unit × item cell.
NONE, COMMON, INDIVIDUAL = 0, 1, 2
KINDS = {"common": COMMON, "individual": INDIVIDUAL}
#: a plant without ``kind`` is common from this many units on.
COMMON_MIN_UNITS = 3


@dataclass(frozen=True)
class Plant:
    """One planted problem: ``units`` in a problem state on ``indicator`` (``effect`` SD on its survey items)."""

    indicator: str
    units: tuple[str, ...]
    effect: float
    label: str = ""
    kind: str = ""
    """``common`` or ``individual``; empty = decided by the number of units (:data:`COMMON_MIN_UNITS`)."""

    @property
    def resolved_kind(self) -> str:
        if self.kind:
            return self.kind
        return "common" if len(self.units) >= COMMON_MIN_UNITS else "individual"


@dataclass(frozen=True)
class Latent:
    """True quality, units × second-level items (z scale), before and after the plants."""

    unit_codes: tuple[str, ...]
    item_ids: tuple[str, ...]
    baseline: np.ndarray
    quality: np.ndarray
    plants: tuple[Plant, ...]
    point_item: dict[str, str] = field(repr=False)
    """Observation point id → second-level item id."""
    general: np.ndarray | None = field(default=None, repr=False)
    """Each unit's general standard ``g`` (the quality of every item when there are no indicator items)."""
    state: np.ndarray | None = field(default=None, repr=False)
    """Problem state per unit × item (:data:`NONE`, :data:`COMMON`, :data:`INDIVIDUAL`)."""

    def cell_state(self, unit_index: int, item: str) -> int:
        if self.state is None or item not in self.item_ids:
            return NONE
        return int(self.state[unit_index, self.item_index(item)])

    def feeds_baseline(self, feeds: tuple[str, ...] | list[str]) -> np.ndarray:
        """Per unit, the mean baseline quality (no plants) of the items the points ``feeds`` belong to."""
        items = sorted({self.item_of_point(p) for p in feeds} & set(self.item_ids))
        if not items:
            return self.feeds_quality(feeds) if not self.item_ids else self.baseline.mean(axis=1)
        return self.baseline[:, [self.item_index(i) for i in items]].mean(axis=1)

    def feeds_problem(self, feeds: tuple[str, ...] | list[str]) -> np.ndarray:
        """Per unit, whether any item the points ``feeds`` belong to is in a problem state."""
        items = sorted({self.item_of_point(p) for p in feeds} & set(self.item_ids))
        if not items or self.state is None:
            return np.zeros(len(self.unit_codes), dtype=bool)
        return (self.state[:, [self.item_index(i) for i in items]] != NONE).any(axis=1)

    def unit_index(self, code: str) -> int:
        return self.unit_codes.index(code)

    def item_index(self, item: str) -> int:
        return self.item_ids.index(item)

    def feeds_quality(self, feeds: tuple[str, ...] | list[str]) -> np.ndarray:
        """Per unit, the mean true quality of the items the observation points ``feeds`` belong to.

        With no feeds (an overall item), the unit's mean over all items; with no items at all, ``general``.
        """
        items = sorted({self.item_of_point(p) for p in feeds} & set(self.item_ids))
        if not items:
            if not self.item_ids:
                return self.general if self.general is not None else np.zeros(len(self.unit_codes))
            return self.quality.mean(axis=1)
        idx = [self.item_index(i) for i in items]
        return self.quality[:, idx].mean(axis=1)

    def item_of_point(self, point: str) -> str:
        return self.point_item.get(point, point.rsplit(".", 1)[0])


def applies(point_or_scope: list[str], unit: Unit) -> bool:
    """Whether an ``applies_to`` list covers a unit (``all``, its type, or ``enforcement``)."""
    return any(
        a == "all" or a == unit.type or (a == "enforcement" and unit.enforcement) for a in point_or_scope
    )


def item_applies(points: list[ObservationPoint], unit: Unit) -> bool:
    return any(applies(p.applies_to, unit) for p in points)


def load_plants(path: str | Path | None, indicators: IndicatorSystem, units: Units) -> list[Plant]:
    """Read a plant spec YAML (a list of ``{indicator, units, effect, label[, kind]}``) and check it against the
    config. An empty list (or an empty file) plants nothing."""
    if path is None:
        return []
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError([f"{path.name}: 无法读取 (cannot read): {exc}"]) from exc
    if isinstance(data, dict) and "plants" in data:
        data = data["plants"]
    if data is None:
        data = []
    if not isinstance(data, list):
        raise ConfigError([f"{path.name}: 应为列表 (expected a list of {{indicator, units, effect}})"])
    items = {it.id: it for a in indicators.aspects for it in a.items}
    by_code = {u.code: u for u in units.units}
    problems: list[str] = []
    plants: list[Plant] = []
    for k, entry in enumerate(data):
        where = f"{path.name}: [{k}]"
        if not isinstance(entry, dict) or not {"indicator", "units", "effect"} <= set(entry):
            problems.append(f"{where}: needs keys indicator, units, effect")
            continue
        ind = str(entry["indicator"])
        if ind not in items:
            problems.append(f"{where}.indicator: unknown second-level item '{ind}'")
            continue
        if entry["units"] == "all":
            codes = tuple(u.code for u in units.units if item_applies(items[ind].points, u))
        elif isinstance(entry["units"], list):
            unknown = [c for c in entry["units"] if str(c) not in by_code]
            if unknown:
                problems.append(f"{where}.units: unknown unit code(s) {unknown}")
                continue
            codes = tuple(str(c) for c in entry["units"])
        else:
            problems.append(f"{where}.units: a list of unit codes or 'all'")
            continue
        try:
            effect = float(entry["effect"])
        except (TypeError, ValueError):
            problems.append(f"{where}.effect: a number (SD shift), got {entry['effect']!r}")
            continue
        kind = str(entry.get("kind") or "")
        if kind and kind not in KINDS:
            problems.append(f"{where}.kind: common or individual, got {kind!r}")
            continue
        plants.append(Plant(ind, codes, effect, str(entry.get("label", "")), kind))
    if problems:
        raise ConfigError(problems)
    return plants


def draw_latent(
    indicators: IndicatorSystem | None, units: Units | None, rng: np.random.Generator, plants: list[Plant]
) -> Latent:
    """Draw the true unit × item quality and apply the plants (see the module docstring)."""
    unit_codes = tuple(u.code for u in units.units) if units is not None else ()
    aspects = indicators.aspects if indicators is not None else []
    item_ids = tuple(it.id for a in aspects for it in a.items)
    aspect_of = np.array([k for k, a in enumerate(aspects) for _ in a.items], dtype=int)
    n_u, n_i = len(unit_codes), len(item_ids)
    g = rng.standard_normal(n_u)
    a = rng.standard_normal((n_u, len(aspects)))
    e = rng.standard_normal((n_u, n_i))
    baseline = LOAD_GENERAL * g[:, None] + LOAD_ASPECT * a[:, aspect_of] + LOAD_ITEM * e
    quality = baseline.copy()
    state = np.full((n_u, n_i), NONE, dtype=np.int8)
    for p in plants:
        rows = [unit_codes.index(c) for c in p.units]
        col = item_ids.index(p.indicator)
        quality[rows, col] += p.effect
        # an individual problem is the stronger state where a unit carries both
        state[rows, col] = np.maximum(state[rows, col], KINDS[p.resolved_kind])
    point_item = {pt.id: it.id for a_ in aspects for it in a_.items for pt in it.points}
    return Latent(unit_codes, item_ids, baseline, quality, tuple(plants), point_item, general=g, state=state)
