"""Stage 03_weight: survey weights for both questionnaires, with diagnostics.

Reads ``02_clean/public.parquet`` and ``02_clean/staff.parquet``; writes

- ``public_weights.parquet`` (``record_id, weight``): raking of the public sample to the population margins of
  ``questionnaires/population.yaml`` (``rake_on``), trimmed at ``weight_cap`` × mean weight and re-raked;
- ``staff_weights.parquet`` (``record_id, unit, weight``): unit headcount / respondents of the unit;
- ``margins.parquet``: achieved vs target margin per raking variable and category;
- ``diagnostics.parquet``: tidy ``instrument, scope, statistic, value`` (iterations, converged, deff, n_eff,
  weight quantiles, max/min ratio, trimmed count), overall and per district / unit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline import stats
from pipeline.config import Codebook, Config
from pipeline.errors import DataError
from pipeline.stages.base import StageContext, write_table

NAME = "weight"
REQUIRES = ("clean",)

INTERACTION_SEPARATOR = "×"


def margin_key(variable: str | list[str]) -> str | tuple[str, ...]:
    """The column (or tuple of columns) a margin applies to."""
    return tuple(variable) if isinstance(variable, list) else variable


def population_margins(config: Config) -> dict[str | tuple[str, ...], dict[Any, float]]:
    """The ``rake_on`` margins of population.yaml, keyed the way the cleaned frame stores the variables.

    The YAML keys categories by option text; the cleaned frame holds the option text, except for options that
    stand for a unit (districts), where it holds the unit code. Interaction keys join texts with ``×``.
    """
    codebook = config.codebook("public")
    by_variable = {margin_key(m.variable): m for m in config.population.margins}
    margins: dict[str | tuple[str, ...], dict[Any, float]] = {}
    for wanted in config.population.rake_on:
        key = margin_key(wanted)
        margin = by_variable[key]
        variables = list(key) if isinstance(key, tuple) else [key]
        converters = [_frame_value(codebook, v) for v in variables]
        targets: dict[Any, float] = {}
        for label, target in margin.targets.items():
            parts = label.split(INTERACTION_SEPARATOR) if len(variables) > 1 else [label]
            values = tuple(conv(p.strip()) for conv, p in zip(converters, parts, strict=True))
            targets[values if len(values) > 1 else values[0]] = target
        margins[key] = targets
    return margins


def _frame_value(codebook: Codebook, variable: str):
    item = codebook.by_variable(variable)
    unit_by_text = {o.text: o.unit for o in item.options if o.unit}
    return lambda text: unit_by_text.get(text, text)


def public_weights(responses: pd.DataFrame, config: Config) -> tuple[pd.DataFrame, stats.RakeResult]:
    """Rake the cleaned public responses to the configured population margins."""
    margins = population_margins(config)
    columns: list[str] = []
    for key in margins:
        columns.extend(key if isinstance(key, tuple) else [key])
    # raking columns as Python objects: rake's coding (and so its summation order) stays the one the weights
    # were checked with; the Categorical route is faster but moves the converged margins' last digits
    frame = pd.DataFrame({col: responses[col].astype(object) for col in dict.fromkeys(columns)})
    result = stats.rake(frame, margins=margins, cap=config.population.weight_cap)
    # record ids stay in their Arrow array (no million Python strings made and parsed back)
    weights = pd.DataFrame({"record_id": responses["record_id"].array, "weight": result.weights.to_numpy()})
    return weights, result


def staff_weights(responses: pd.DataFrame, config: Config) -> pd.DataFrame:
    """Unit headcount divided by the unit's respondents (a design stratified by unit)."""
    totals = {u.code: float(u.headcount) for u in config.units.units}
    unit = responses["unit"].astype(str)
    present = set(unit.unique())
    totals = {code: n for code, n in totals.items() if code in present}
    w = stats.cell_weights(pd.DataFrame({"unit": unit}), cell="unit", totals=totals)
    return pd.DataFrame(
        {"record_id": responses["record_id"].array, "unit": unit.array, "weight": np.asarray(w)}
    )


def weight_diagnostics(instrument: str, weights: pd.Series, groups: pd.Series | None) -> pd.DataFrame:
    """Tidy diagnostics (``instrument, scope, statistic, value``), overall and per group."""
    rows: list[dict[str, Any]] = []

    def describe(scope: str, w: np.ndarray) -> None:
        w = w[np.isfinite(w)]
        if w.size == 0:
            return
        n_eff = w.sum() ** 2 / np.square(w).sum()
        # one partition for the four quantiles (each is the same interpolation as a call of its own)
        p05, p25, p75, p95 = np.quantile(w, [0.05, 0.25, 0.75, 0.95])
        stats_ = {
            "n": float(w.size),
            "sum_weight": float(w.sum()),
            "n_eff": float(n_eff),
            "deff_kish": float(w.size / n_eff),
            "min": float(w.min()),
            "p05": float(p05),
            "p25": float(p25),
            "median": float(np.median(w)),
            "p75": float(p75),
            "p95": float(p95),
            "max": float(w.max()),
            "max_min_ratio": float(w.max() / w.min()) if w.min() > 0 else float("inf"),
        }
        rows.extend(
            {"instrument": instrument, "scope": scope, "statistic": k, "value": v} for k, v in stats_.items()
        )

    values = weights.to_numpy(dtype=float)
    describe("overall", values)
    if groups is not None:
        for label, rows_of_group in _rows_by_group(groups):
            describe(label, values[rows_of_group])
    return pd.DataFrame(rows)


def _rows_by_group(groups: pd.Series) -> list[tuple[str, np.ndarray]]:
    """``(label, row positions)`` per group: ``groupby(groups.astype(str)).groups``, from integer codes.

    Labels are the values as text in sorted order, positions ascending; missing values form no group.
    """
    codes, names = pd.factorize(groups.astype(str), sort=True, use_na_sentinel=True)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(names) + 1))
    return [(str(name), order[bounds[i] : bounds[i + 1]]) for i, name in enumerate(names)]


def rake_diagnostics(result: stats.RakeResult) -> pd.DataFrame:
    rows = {
        "iterations": float(result.iterations),
        "converged": float(result.converged),
        "max_margin_error": float(result.max_margin_error),
        "n_trimmed": float(result.n_trimmed),
    }
    return pd.DataFrame(
        [{"instrument": "public", "scope": "overall", "statistic": k, "value": v} for k, v in rows.items()]
    )


def _raking_columns(config: Config) -> list[str]:
    names: list[str] = ["record_id", "district"]
    for wanted in config.population.rake_on:
        names.extend(wanted if isinstance(wanted, list) else [wanted])
    return list(dict.fromkeys(names))


def run(ctx: StageContext, dest: Path) -> dict[str, Any]:
    # only the columns weighting needs: a million cleaned rows carry ~180 columns
    public = ctx.read_table("clean", "public", columns=_raking_columns(ctx.config))
    staff = ctx.read_table("clean", "staff", columns=["record_id", "unit"])
    if public.empty:
        raise DataError("02_clean/public.parquet 没有有效样本 (no valid public responses to weight)")
    pw, rake = public_weights(public, ctx.config)
    sw = staff_weights(staff, ctx.config)
    diagnostics = pd.concat(
        [
            rake_diagnostics(rake),
            weight_diagnostics("public", pw["weight"], public["district"]),
            weight_diagnostics("staff", sw["weight"], sw["unit"]),
        ],
        ignore_index=True,
    )
    write_table(pw, dest, "public_weights")
    write_table(sw, dest, "staff_weights")
    write_table(rake.margins, dest, "margins")
    write_table(diagnostics, dest, "diagnostics")
    return {
        "public_n": len(pw),
        "public_iterations": rake.iterations,
        "public_deff": round(float(rake.deff), 4),
        "public_n_eff": round(float(rake.n_eff), 1),
        "public_trimmed": int(rake.n_trimmed),
        "staff_n": len(sw),
    }
