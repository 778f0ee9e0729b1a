"""The weight stage's tables from the cleaned responses: :func:`weight_tables` (and the columns it reads)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from pipeline import stats
from pipeline.config import Config
from pipeline.errors import DataError
from pipeline.weight.diagnostics import PUBLIC_GROUPING, rake_diagnostics, weight_diagnostics
from pipeline.weight.weights import public_weights, staff_weights


@dataclass(frozen=True)
class WeightTables:
    """The four 03_weight tables, and the public raking's result they came from."""

    public_weights: pd.DataFrame
    staff_weights: pd.DataFrame
    margins: pd.DataFrame
    diagnostics: pd.DataFrame
    rake: stats.RakeResult

    def summary(self) -> dict[str, Any]:
        """Counts and the raking's headline numbers for the run manifest."""
        return {
            "public_n": len(self.public_weights),
            "public_iterations": self.rake.iterations,
            "public_deff": round(float(self.rake.deff), 4),
            "public_n_eff": round(float(self.rake.n_eff), 1),
            "public_trimmed": int(self.rake.n_trimmed),
            "staff_n": len(self.staff_weights),
        }


def input_columns(config: Config, instrument: str) -> list[str]:
    """The ``02_clean`` columns :func:`weight_tables` uses from ``public`` (record id, the diagnostics grouping,
    the raking variables) or ``staff`` (record id, unit): a million cleaned rows carry ~180 columns."""
    if instrument == "public":
        names: list[str] = ["record_id", PUBLIC_GROUPING]
        for wanted in config.population.rake_on:
            names.extend(wanted if isinstance(wanted, list) else [wanted])
        return list(dict.fromkeys(names))
    if instrument == "staff":
        return ["record_id", "unit"]
    raise DataError(f"input_columns(): instrument must be 'public' or 'staff', got {instrument!r}")


def weight_tables(public: pd.DataFrame, staff: pd.DataFrame, config: Config) -> WeightTables:
    """Raking weights of the cleaned public responses, unit weights of the staff responses, the achieved margins
    and the diagnostics of both (``public`` and ``staff`` need only their :func:`input_columns`)."""
    if public.empty:
        raise DataError("02_clean/public.parquet 没有有效样本 (no valid public responses to weight)")
    pw, rake = public_weights(public, config)
    sw = staff_weights(staff, config)
    diagnostics = pd.concat(
        [
            rake_diagnostics(rake),
            weight_diagnostics("public", pw["weight"], public[PUBLIC_GROUPING]),
            weight_diagnostics("staff", sw["weight"], sw["unit"]),
        ],
        ignore_index=True,
    )
    return WeightTables(pw, sw, rake.margins, diagnostics, rake)
