"""The indicator system laid out for scoring: the tree as arrays, the units, and which sources are meant to reach
which unit on which observation point.

A point applies to a unit when its ``applies_to`` names ``all``, the unit's type, or ``enforcement`` for a unit
holding enforcement power. A source of the point is *intended* for the unit (counted in the coverage's
denominator) when the evaluation's design sends that source to the unit:

* ``public`` — by the point's ``public_scope`` (unset: a district gets its own district's estimate, a municipal
  unit the city-wide one; ``district``: districts only; ``city``: every unit; ``none``: no unit);
* ``staff``, ``document``, ``online``, ``site`` — every unit;
* ``casefile`` — units with enforcement power (only their files are drawn).

A point none of whose sources is intended for a unit does not apply to it. The city as a whole (unit
:data:`CITY`) gets every point that applies to some unit, from every source it lists.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.config import Config
from pipeline.config.models import SOURCES

CITY = "CITY"
"""Unit code of the city as a whole (城市整体) in the score tables."""
CITY_NAME = "城市整体"
CITY_TYPE = "city"
LEVELS = ("point", "item", "aspect", "block", "overall")
OVERALL = "overall"


@dataclass(frozen=True)
class Tree:
    """The indicator tree: per level its ids, names, configured weights and each node's parent index."""

    ids: dict[str, list[str]]
    names: dict[str, list[str]]
    weights: dict[str, np.ndarray]
    parent: dict[str, np.ndarray]
    """Index of each node's parent in the next level (``overall`` has none)."""
    points: pd.DataFrame
    """One row per point: ``aspect, item, point, name, weight, sources, applies_to, public_scope, pass_score``."""


def tree(config: Config) -> Tree:
    """The indicator system of ``config`` as a :class:`Tree` (blocks in ``blocks`` order, then any other)."""
    ind = config.indicators
    blocks = list(ind.blocks) + [a.block for a in ind.aspects if a.block not in ind.blocks]
    blocks = list(dict.fromkeys(blocks))
    rows = []
    ids: dict[str, list[str]] = {lv: [] for lv in LEVELS}
    names: dict[str, list[str]] = {lv: [] for lv in LEVELS}
    weights: dict[str, list[float]] = {lv: [] for lv in LEVELS}
    parent: dict[str, list[int]] = {lv: [] for lv in LEVELS}
    for b in blocks:
        ids["block"].append(b)
        names["block"].append(ind.blocks.get(b, b))
        weights["block"].append(sum(a.weight for a in ind.aspects if a.block == b))
        parent["block"].append(0)
    for a in ind.aspects:
        ids["aspect"].append(a.id)
        names["aspect"].append(a.name)
        weights["aspect"].append(a.weight)
        parent["aspect"].append(blocks.index(a.block))
        for it in a.items:
            ids["item"].append(it.id)
            names["item"].append(it.name)
            weights["item"].append(it.weight)
            parent["item"].append(len(ids["aspect"]) - 1)
            for p in it.points:
                ids["point"].append(p.id)
                names["point"].append(p.name)
                weights["point"].append(p.weight)
                parent["point"].append(len(ids["item"]) - 1)
                rows.append({"aspect": a.id, "item": it.id, "point": p.id, "name": p.name, "weight": p.weight,
                             "sources": tuple(p.sources), "applies_to": tuple(p.applies_to),
                             "public_scope": p.public_scope, "pass_score": p.pass_score})  # fmt: skip
    ids["overall"], names["overall"], weights["overall"], parent["overall"] = [OVERALL], ["总分"], [1.0], [0]
    return Tree(
        ids=ids,
        names=names,
        weights={k: np.asarray(v, dtype=float) for k, v in weights.items()},
        parent={k: np.asarray(v, dtype=int) for k, v in parent.items()},
        points=pd.DataFrame(rows),
    )


@dataclass(frozen=True)
class UnitTable:
    """The units scored, in ``units.yaml`` order, then :data:`CITY`."""

    codes: list[str]
    names: list[str]
    types: list[str]
    district: np.ndarray
    """True for a unit of the district type."""
    enforcement: np.ndarray


def unit_table(config: Config) -> UnitTable:
    units = config.units.units
    district_type = config.units.district_type
    return UnitTable(
        codes=[u.code for u in units] + [CITY],
        names=[u.name for u in units] + [CITY_NAME],
        types=[u.type for u in units] + [CITY_TYPE],
        district=np.array([u.type == district_type for u in units] + [False]),
        enforcement=np.array([u.enforcement for u in units] + [True]),
    )


def intended(points: pd.DataFrame, units: UnitTable) -> dict[str, np.ndarray]:
    """Per source, a (units × points) mask: the source is meant to reach the unit on the point and the point
    applies to the unit (see the module docstring)."""
    n_units, n_points = len(units.codes), len(points)
    city = np.array([c == CITY for c in units.codes])
    types = np.array(units.types)
    applies = np.zeros((n_units, n_points), dtype=bool)
    for j, targets in enumerate(points["applies_to"]):
        a = np.zeros(n_units, dtype=bool)
        for t in targets:
            a |= True if t == "all" else (units.enforcement if t == "enforcement" else types == t)
        applies[:, j] = a
    applies[city] = applies[~city].any(axis=0)
    out = {}
    for s in SOURCES:
        lists = np.array([s in src for src in points["sources"]])
        if s == "public":
            scope = points["public_scope"].to_numpy()
            reach = np.zeros((n_units, n_points), dtype=bool)
            for j, sc in enumerate(scope):
                if sc is None:
                    reach[:, j] = True
                elif sc == "district":
                    reach[:, j] = units.district
                elif sc == "city":
                    reach[:, j] = True
            reach[city] = True
        elif s == "casefile":
            reach = np.repeat(units.enforcement[:, None], n_points, axis=1)
        else:
            reach = np.ones((n_units, n_points), dtype=bool)
        out[s] = applies & reach & lists[None, :]
    return out


def public_target(points: pd.DataFrame, units: UnitTable) -> np.ndarray:
    """(units × points) text: which public estimate scores the unit — a district code, :data:`CITY`, or ""."""
    n_units = len(units.codes)
    out = np.full((n_units, len(points)), "", dtype=object)
    codes = np.array(units.codes, dtype=object)
    for j, sc in enumerate(points["public_scope"].to_numpy()):
        if sc is None:
            out[:, j] = np.where(units.district, codes, CITY)
        elif sc == "district":
            out[:, j] = np.where(units.district, codes, "")
        elif sc == "city":
            out[:, j] = CITY
    out[np.array(units.codes) == CITY] = CITY
    return out
