"""Survey weights: raking of the public sample to the population margins, unit weights for staff."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline import stats
from pipeline.config import Config
from pipeline.weight.margins import population_margins


def public_weights(responses: pd.DataFrame, config: Config) -> tuple[pd.DataFrame, stats.RakeResult | None]:
    """Weights of the cleaned public responses, by the plan's method (``analysis.yaml: public.weighting``):
    ``raking`` to the population margins (trimmed at ``weight_cap`` and re-raked), ``cells`` (post-stratification
    on one variable or interaction: population count / respondents of each cell, untrimmed) or ``none``
    (every weight 1). The raking result is None for ``none``."""
    plan = config.plan("public")
    if plan.weighting == "none":
        ones = np.ones(len(responses))
        return pd.DataFrame({"record_id": responses["record_id"].array, "weight": ones}), None
    margins = population_margins(config)
    columns: list[str] = []
    for key in margins:
        columns.extend(key if isinstance(key, tuple) else [key])
    # raking columns as Python objects: rake's coding (and so its summation order) stays the one the weights
    # were checked with; the Categorical route is faster but moves the converged margins' last digits
    frame = pd.DataFrame({col: responses[col].astype(object) for col in dict.fromkeys(columns)})
    # post-stratification is raking on its one margin (one pass: N_c / n_c), left untrimmed
    cap = config.population.weight_cap if plan.weighting == "raking" else None  # type: ignore[union-attr]
    result = stats.rake(frame, margins=margins, cap=cap)
    # record ids stay in their Arrow array (no million Python strings made and parsed back)
    weights = pd.DataFrame({"record_id": responses["record_id"].array, "weight": result.weights.to_numpy()})
    return weights, result


def staff_weights(responses: pd.DataFrame, config: Config) -> pd.DataFrame:
    """Unit headcount divided by the unit's respondents (a design stratified by unit); every weight 1 when the
    plan does not weight the staff survey (``analysis.yaml: staff.weighting: none``, or no units)."""
    if config.plan("staff").weighting == "none" or "unit" not in responses.columns:
        unit = (
            responses["unit"].astype(str).array
            if "unit" in responses.columns
            else pd.array([""] * len(responses))
        )
        return pd.DataFrame(
            {"record_id": responses["record_id"].array, "unit": unit, "weight": np.ones(len(responses))}
        )
    totals = {u.code: float(u.headcount) for u in config.units.units}  # type: ignore[union-attr]
    unit = responses["unit"].astype(str)
    present = set(unit.unique())
    totals = {code: n for code, n in totals.items() if code in present}
    w = stats.cell_weights(pd.DataFrame({"unit": unit}), cell="unit", totals=totals)
    return pd.DataFrame(
        {"record_id": responses["record_id"].array, "unit": unit.array, "weight": np.asarray(w)}
    )
