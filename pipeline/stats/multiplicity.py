"""Multiple-testing adjustment: Holm within a family, Benjamini–Hochberg across a whole run.

The two step-wise formulas are written out here (a few numpy lines, checked against R ``p.adjust`` and
statsmodels ``multipletests``) because ``multipletests`` runs a full ``gc.collect()`` on every call (~0.1 s),
which dominates a run with hundreds of families. NaN p-values (suppressed or untestable rows) are left NaN and
do not count as hypotheses; inputs are validated with messages naming the function; :func:`adjust_across`
applies BH to every table of a run at once.

Conventions (documented once, used by :mod:`pipeline.stats.comparisons`):

* ``p`` is the p-value of each row as its test defines it (Games–Howell rows already carry the
  studentized-range simultaneous p-value).
* ``p_holm`` is Holm (1979) within a *family* = one outcome × one grouping (see ``comparisons``).
* ``p_bh`` is Benjamini & Hochberg (1995) over every row with a p-value in all tables passed to
  :func:`adjust_across` (false-discovery rate of the whole report).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from pipeline.errors import DataError


def _adjust(p, method: str, name: str) -> np.ndarray:
    arr = np.asarray(p, dtype=float)
    if arr.ndim != 1:
        raise DataError(f"{name}: p-values must be one-dimensional (got shape {arr.shape})")
    finite = ~np.isnan(arr)
    if np.any((arr[finite] < 0) | (arr[finite] > 1)):
        raise DataError(f"{name}: p-values must lie in [0, 1]")
    out = np.full(arr.shape, np.nan)
    values = arr[finite]
    m = values.size
    if m == 0:
        return out
    order = np.argsort(values, kind="stable")
    ranked = values[order]
    rank = np.arange(1, m + 1)
    if method == "holm":
        adjusted = np.maximum.accumulate(np.minimum(1.0, (m - rank + 1) * ranked))
    else:  # Benjamini–Hochberg
        adjusted = np.minimum(1.0, np.minimum.accumulate((m * ranked / rank)[::-1])[::-1])
    result = np.empty(m)
    result[order] = adjusted
    out[finite] = result
    return out


def holm(p: Sequence[float] | np.ndarray | pd.Series) -> np.ndarray:
    """Holm's step-down family-wise adjustment.

    ``p_(i)^adj = max_{j ≤ i} min(1, (m − j + 1)·p_(j))`` over the m non-missing p-values sorted ascending.

    Parameters
    ----------
    p : array-like of float
        Raw p-values; NaN entries stay NaN and are not counted in m.

    Returns
    -------
    numpy.ndarray
        Adjusted p-values in the input order.

    Raises
    ------
    DataError
        A p-value outside [0, 1] or a non-1-D input.

    Examples
    --------
    Same as R ``p.adjust(p, "holm")`` (``tests/reference/compare/reference.json``, key ``p_adjust``).

    >>> holm([0.01, 0.04, 0.03]).tolist()
    [0.03, 0.06, 0.06]
    """
    return _adjust(p, "holm", "holm")


def benjamini_hochberg(p: Sequence[float] | np.ndarray | pd.Series) -> np.ndarray:
    """Benjamini–Hochberg step-up false-discovery-rate adjustment.

    ``p_(i)^adj = min_{j ≥ i} min(1, m·p_(j)/j)`` over the m non-missing p-values sorted ascending.
    NaN entries stay NaN and are not counted. Same as R ``p.adjust(p, "BH")``.

    >>> benjamini_hochberg([0.01, 0.04, 0.03]).tolist()
    [0.03, 0.04, 0.04]
    """
    return _adjust(p, "bh", "benjamini_hochberg")


def adjust_across(tables: Iterable[pd.DataFrame], *, p: str = "p", out: str = "p_bh") -> pd.DataFrame:
    """Concatenate result tables of one run and recompute BH over all their p-values.

    Parameters
    ----------
    tables : iterable of DataFrame
        Outputs of :func:`~pipeline.stats.comparisons.compare_groups` and
        :func:`~pipeline.stats.comparisons.unit_vs_peers` (any tables with a ``p`` column).
    p : str, default "p"
        Column holding the raw p-values.
    out : str, default "p_bh"
        Column written (overwritten) with the BH-adjusted p-values.

    Returns
    -------
    DataFrame
        A new long table (inputs are not modified); rows without a p-value get NaN in ``out``.

    Raises
    ------
    DataError
        No tables given, or a table lacks the ``p`` column.
    """
    tables = list(tables)
    if not tables:
        raise DataError("adjust_across: no tables given")
    for i, t in enumerate(tables):
        if p not in t.columns:
            raise DataError(f"adjust_across: table {i} has no column {p!r}")
    combined = pd.concat(tables, ignore_index=True)
    combined[out] = benjamini_hochberg(combined[p].to_numpy(dtype=float))
    return combined
