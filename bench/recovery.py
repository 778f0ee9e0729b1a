"""Recovery of planted problems: recall and precision of findings against ``truth.json`` (issue 16, deliverable 6).

Targets (from the plants in ``truth.json``; ``kind`` decided by the simulator, latent.py):

- a planted **common** problem (item I, units U) is recovered by a common finding on I (the item or any of its
  points) whose affected units cover at least half of U;
- a planted **individual** problem (I, u) — every unit of an individual plant is one — is recovered by any
  finding (common or individual) on I listing u.

Correctness of findings:

- a common finding is correct when its item carries a planted common problem;
- an individual finding (I, u) — each unit an individual finding lists counts once — is correct when (I, u) is
  planted (either kind) or u's true baseline quality on I is in the bottom :data:`BOTTOM_SHARE` (5 %) of the
  applicable unit × item cells (a unit that is truly that bad has a problem, planted or not).

Several findings of one kind on one item count once for recall and each for precision; there is no top-12/15
cap. With nothing planted, :func:`null_counts` gives the number of common findings and of individual findings
outside the bottom-5 % cells. Findings are any records with ``kind`` (common/individual, or 共性/个性), an item or
point id (``item``, ``point`` or ``indicator``) and ``units`` (a list or a comma/、-separated text), or a table
of one row per finding × unit (``id``, ``kind``, ``item``, ``member``) as the findings stage's ``findings_from``
returns.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

BOTTOM_SHARE = 0.05
KIND_NAMES = {"common": "common", "individual": "individual", "共性": "common", "个性": "individual"}


@dataclass(frozen=True)
class Finding:
    """One finding as the recovery rules see it: its kind, its second-level item and the units it lists."""

    kind: str
    item: str
    units: tuple[str, ...]


def item_of(indicator: str) -> str:
    """The second-level item of an item or observation-point id (``9.2.3`` → ``9.2``)."""
    return ".".join(str(indicator).split(".")[:2])


def _units(value: Any) -> tuple[str, ...]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ()
    if isinstance(value, str):
        return tuple(u.strip() for u in re.split(r"[,，、;；\s]+", value) if u.strip())
    return tuple(str(u) for u in value)


def as_findings(records: Iterable[Mapping[str, Any]] | Any) -> list[Finding]:
    """Normalise findings (a list of mappings or a DataFrame) to :class:`Finding`; other kinds are ignored."""
    if hasattr(records, "to_dict"):
        if {"id", "member"} <= set(records.columns):  # one row per finding × unit (findings_from)
            records = [
                {"kind": g["kind"].iloc[0], "item": g["item"].iloc[0], "units": list(g["member"])}
                for _, g in records.groupby("id", sort=False)
            ]
        else:
            records = records.to_dict("records")
    out = []
    for r in records:
        kind = KIND_NAMES.get(str(r.get("kind", "")))
        where = next((r[k] for k in ("item", "point", "indicator") if r.get(k) not in (None, "")), None)
        if kind is None or where is None:
            continue
        out.append(Finding(kind, item_of(where), _units(r.get("units"))))
    return out


@dataclass(frozen=True)
class Truth:
    """What the rules need from ``truth.json``."""

    common: tuple[tuple[str, frozenset[str]], ...]
    """Planted common problems: (item, units)."""
    individual: frozenset[tuple[str, str]]
    """Planted individual problems: (item, unit)."""
    planted: frozenset[tuple[str, str]]
    """Every planted cell (item, unit), either kind."""
    bottom: frozenset[tuple[str, str]]
    """Applicable cells whose baseline quality is in the bottom :data:`BOTTOM_SHARE`."""

    @property
    def common_items(self) -> frozenset[str]:
        return frozenset(i for i, _ in self.common)


def _kind(plant: Mapping[str, Any]) -> str:
    return plant.get("kind") or ("common" if len(plant["units"]) >= 3 else "individual")


def read_truth(truth: Mapping[str, Any], *, bottom_share: float = BOTTOM_SHARE) -> Truth:
    q = truth["quality"]
    units, items = q["units"], q["items"]
    base = np.asarray(q["baseline"], dtype=float)
    applies = np.asarray(q["applies"], dtype=bool) if q.get("applies") else np.ones_like(base, dtype=bool)
    cut = np.quantile(base[applies], bottom_share) if applies.any() else -np.inf
    bottom = frozenset(
        (items[j], units[i]) for i, j in zip(*np.nonzero(applies & (base <= cut)), strict=True)
    )
    common, individual, planted = [], set(), set()
    for p in truth.get("plants", []):
        cells = {(p["indicator"], u) for u in p["units"]}
        planted |= cells
        if _kind(p) == "common":
            common.append((p["indicator"], frozenset(p["units"])))
        else:
            individual |= cells
    return Truth(tuple(common), frozenset(individual), frozenset(planted), bottom)


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def score(findings: Iterable[Finding], truth: Truth) -> dict[str, Any]:
    """Recall and precision per kind (None where nothing to count), with the counts and the misses."""
    findings = list(findings)
    common = [f for f in findings if f.kind == "common"]
    individual = [(f.item, u) for f in findings if f.kind == "individual" for u in f.units]
    listed = {(f.item, u) for f in findings for u in f.units}
    hit_common = [
        any(f.item == item and len(set(f.units) & units) * 2 >= len(units) for f in common)
        for item, units in truth.common
    ]
    hit_individual = {cell: cell in listed for cell in sorted(truth.individual)}
    ok_common = [f.item in truth.common_items for f in common]
    ok_individual = [cell in truth.planted or cell in truth.bottom for cell in individual]
    return {
        "common": {
            "recall": _ratio(sum(hit_common), len(hit_common)),
            "precision": _ratio(sum(ok_common), len(ok_common)),
            "planted": len(hit_common),
            "found": len(common),
            "missed": [item for (item, _), hit in zip(truth.common, hit_common, strict=True) if not hit],
            "false": sorted({f.item for f, ok in zip(common, ok_common, strict=True) if not ok}),
        },
        "individual": {
            "recall": _ratio(sum(hit_individual.values()), len(hit_individual)),
            "precision": _ratio(sum(ok_individual), len(ok_individual)),
            "planted": len(hit_individual),
            "found": len(individual),
            "missed": [f"{i}:{u}" for (i, u), hit in hit_individual.items() if not hit],
            "false": sorted(
                f"{i}:{u}" for (i, u), ok in zip(individual, ok_individual, strict=True) if not ok
            ),
        },
    }


def null_counts(findings: Iterable[Finding], truth: Truth) -> dict[str, int]:
    """With nothing planted: common findings, and individual findings outside the bottom-5 % cells."""
    findings = list(findings)
    return {
        "common": sum(f.kind == "common" for f in findings),
        "individual_outside_bottom": sum(
            (f.item, u) not in truth.bottom for f in findings if f.kind == "individual" for u in f.units
        ),
    }


def mean_over(values: Iterable[float | None]) -> float | None:
    """Mean of the defined values (None when none is)."""
    vals = [v for v in values if v is not None]
    return float(np.mean(vals)) if vals else None
