"""Weight diagnostics as a tidy table (``instrument, scope, statistic, value``): the raking's convergence, and
the weights' spread (n, Kish effective n and design effect, quantiles, max/min ratio) overall and per group."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pipeline import stats

#: The grouping the public weights' diagnostics are reported by (besides overall); staff weights are reported
#: per unit.
PUBLIC_GROUPING = "district"


def weight_diagnostics(instrument: str, weights: pd.Series, groups: pd.Series | None) -> pd.DataFrame:
    """Tidy diagnostics (``instrument, scope, statistic, value``), overall and per group."""
    rows: list[dict[str, Any]] = []

    def describe(scope: str, w: np.ndarray) -> None:
        w = w[np.isfinite(w)]
        if w.size == 0:
            return
        n_eff = stats.kish_n_eff(w)
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
    """The public raking's iterations, convergence, largest margin error and trimmed count (scope ``overall``)."""
    rows = {
        "iterations": float(result.iterations),
        "converged": float(result.converged),
        "max_margin_error": float(result.max_margin_error),
        "n_trimmed": float(result.n_trimmed),
    }
    return pd.DataFrame(
        [{"instrument": "public", "scope": "overall", "statistic": k, "value": v} for k, v in rows.items()]
    )
