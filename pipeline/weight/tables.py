"""The weight stage's tables from the cleaned responses: :func:`weight_tables` (and the columns it reads)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from pipeline import stats
from pipeline.config import Config
from pipeline.errors import DataError
from pipeline.schemas import empty_table
from pipeline.weight.diagnostics import PUBLIC_GROUPING, rake_diagnostics, weight_diagnostics
from pipeline.weight.weights import public_weights, staff_weights


@dataclass(frozen=True)
class WeightTables:
    """The four 03_weight tables, and the public raking's result they came from."""

    public_weights: pd.DataFrame
    staff_weights: pd.DataFrame
    margins: pd.DataFrame
    diagnostics: pd.DataFrame
    rake: stats.RakeResult | None
    """The public raking (or post-stratification); None when the public survey is not weighted."""
    methods: dict[str, str] = field(default_factory=dict)
    """Instrument → weighting method used (``none``, ``cells``, ``raking``)."""
    skipped: list[dict[str, str]] = field(default_factory=list)
    warnings: list[dict[str, str]] = field(default_factory=list)
    """Units with more staff respondents than their headcount (:func:`headcount_warnings`)."""

    def summary(self) -> dict[str, Any]:
        """Counts and the raking's headline numbers for the run manifest."""
        out: dict[str, Any] = {"public_n": len(self.public_weights), "weighting": dict(self.methods)}
        if self.rake is not None:
            out |= {
                "public_iterations": self.rake.iterations,
                "public_deff": round(float(self.rake.deff), 4),
                "public_n_eff": round(float(self.rake.n_eff), 1),
                "public_trimmed": int(self.rake.n_trimmed),
            }
        out["staff_n"] = len(self.staff_weights)
        if self.skipped:
            out["skipped"] = list(self.skipped)
        if self.warnings:
            out["warnings"] = list(self.warnings)
        return out


def input_columns(config: Config, instrument: str) -> list[str]:
    """The ``02_clean`` columns :func:`weight_tables` uses from ``public`` (record id, the diagnostics grouping,
    the raking variables) or ``staff`` (record id, unit): a million cleaned rows carry ~180 columns."""
    if instrument == "public":
        grouping = [PUBLIC_GROUPING] if PUBLIC_GROUPING in config.codebook("public").variables else []
        return list(dict.fromkeys(["record_id", *grouping, *config.plan("public").weight_variables]))
    if instrument == "staff":
        return ["record_id", "unit"] if "unit" in config.codebook("staff").variables else ["record_id"]
    raise DataError(f"input_columns(): instrument must be 'public' or 'staff', got {instrument!r}")


def weight_tables(public: pd.DataFrame, staff: pd.DataFrame, config: Config) -> WeightTables:
    """Raking weights of the cleaned public responses, unit weights of the staff responses, the achieved margins
    and the diagnostics of both (``public`` and ``staff`` need only their :func:`input_columns`)."""
    skipped = []
    methods = {}
    parts = []
    if config.public is not None and not public.empty:
        pw, rake = public_weights(public, config)
        methods["public"] = config.plan("public").weighting
        if rake is not None:
            parts.append(rake_diagnostics(rake))
        groups = public[PUBLIC_GROUPING] if PUBLIC_GROUPING in public.columns else None
        parts.append(weight_diagnostics("public", pw["weight"], groups))
    else:
        rake = None
        pw = pd.DataFrame({"record_id": pd.Series(dtype="string"), "weight": pd.Series(dtype="float64")})
        if config.public is not None:
            skipped.append(
                {"what": "public weighting", "reason": "公众问卷没有有效样本，不加权 (no valid responses)"}
            )
    if config.staff is not None and not staff.empty:
        sw = staff_weights(staff, config)
        methods["staff"] = config.plan("staff").weighting
        parts.append(weight_diagnostics("staff", sw["weight"], sw["unit"]))
    else:
        sw = pd.DataFrame({c: pd.Series(dtype=t) for c, t in (("record_id", "string"), ("unit", "string"),
                                                                ("weight", "float64"))})  # fmt: skip
    margins = rake.margins if rake is not None else empty_table("weight", "margins")
    diagnostics = pd.concat(parts, ignore_index=True) if parts else empty_table("weight", "diagnostics")
    return WeightTables(pw, sw, margins, diagnostics, rake, methods, skipped, headcount_warnings(sw, config))


def headcount_warnings(staff_weights: pd.DataFrame, config: Config) -> list[dict[str, str]]:
    """One warning per unit whose staff respondents outnumber its ``units.yaml: headcount`` (the headcount is
    probably outdated: the unit's weight falls below 1 and its estimates count as a census, with no sampling
    error)."""
    if config.units is None or staff_weights.empty or "unit" not in staff_weights.columns:
        return []
    counts = staff_weights["unit"].astype(str).value_counts()
    out = []
    for unit in config.units.units:
        n = int(counts.get(unit.code, 0))
        if n > unit.headcount:
            out.append(
                {
                    "code": "respondents_above_headcount",
                    "file": "units.yaml",
                    "message": f"{unit.name}（{unit.code}）有效答卷 {n:,} 份，多于在编人数 {unit.headcount:,}："
                    "请核实 headcount；该单位按全员调查处理（无抽样误差）"
                    f" (more staff respondents than the unit's headcount: check units.yaml)",
                }
            )
    return out
