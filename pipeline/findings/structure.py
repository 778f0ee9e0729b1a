"""The indicator system as lookups the findings need: point → item → aspect, which items apply to a unit."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.config import Config
from pipeline.config.models import Unit


def applies(scope: list[str], unit: Unit) -> bool:
    """Whether an ``applies_to`` list covers ``unit`` (``all``, its type, or ``enforcement``)."""
    return any(a == "all" or a == unit.type or (a == "enforcement" and unit.enforcement) for a in scope)


@dataclass(frozen=True)
class Structure:
    """Names and parents of every item and point, the units, and which items apply to which unit."""

    point_item: dict[str, str]
    point_name: dict[str, str]
    point_pass: dict[str, float]
    point_sources: dict[str, tuple[str, ...]]
    item_name: dict[str, str]
    item_aspect: dict[str, str]
    item_points: dict[str, tuple[str, ...]]
    aspect_name: dict[str, str]
    units: dict[str, Unit]
    applicable: dict[str, frozenset[str]]
    """unit code → the items with at least one point applying to it."""
    district_type: str

    def path(self, item: str, point: str = "") -> str:
        """``aspect › item (› point)`` in words, e.g. ``9 行政执法 › 9.1 三项制度落实``."""
        aspect = self.item_aspect[item]
        parts = [f"{aspect} {self.aspect_name[aspect]}", f"{item} {self.item_name[item]}"]
        if point:
            parts.append(f"{point} {self.point_name[point]}")
        return " › ".join(parts)

    def applicable_units(self, item: str) -> list[str]:
        return [u for u, items in self.applicable.items() if item in items]

    def is_district(self, unit: str) -> bool:
        return unit in self.units and self.units[unit].type == self.district_type


def structure(config: Config) -> Structure:
    ind, units = config.indicators, config.units
    point_item, point_name, point_pass, point_sources = {}, {}, {}, {}
    item_name, item_aspect, item_points, aspect_name = {}, {}, {}, {}
    scopes: dict[str, list[list[str]]] = {}
    for aspect in ind.aspects if ind else []:
        aspect_name[aspect.id] = aspect.name
        for item in aspect.items:
            item_name[item.id], item_aspect[item.id] = item.name, aspect.id
            item_points[item.id] = tuple(p.id for p in item.points)
            scopes[item.id] = [p.applies_to for p in item.points]
            for p in item.points:
                point_item[p.id], point_name[p.id] = item.id, p.name
                point_pass[p.id], point_sources[p.id] = p.pass_score, tuple(p.sources)
    unit_map = {u.code: u for u in units.units} if units else {}
    applicable = {
        code: frozenset(i for i, sc in scopes.items() if any(applies(s, u) for s in sc))
        for code, u in unit_map.items()
    }
    return Structure(
        point_item, point_name, point_pass, point_sources, item_name, item_aspect, item_points, aspect_name,
        unit_map, applicable, units.district_type if units else "district",
    )  # fmt: skip
