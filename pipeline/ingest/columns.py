"""Work on a column's distinct values instead of its cells: factorise, compute once per value, spread back.

Survey columns hold few distinct values (a million cells of a five-point item hold five), so every reader and
decoder computes per distinct value and spreads the results back with one array lookup. :func:`factorize` gives
``(codes, uniques)``, :func:`spread` maps per-value results back to cells, :func:`per_unique` and
:func:`per_unique_bool` do both around a function of one value.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def factorize(col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, uniques)`` of a column, missing → code −1. On arrow-backed CSV columns this is Arrow's C++
    dictionary encoding; callers then work on the (few) distinct values only."""
    codes, uniques = pd.factorize(col, use_na_sentinel=True)
    return np.asarray(codes), np.asarray(uniques, dtype=object)


def spread(
    codes: np.ndarray, values: list | np.ndarray, na_value: object, dtype: object = object
) -> np.ndarray:
    """Per-distinct-value results back to one per cell (``codes`` from :func:`factorize`, −1 → ``na_value``)."""
    table = np.empty(len(values) + 1, dtype=dtype)
    table[: len(values)] = values
    table[-1] = na_value
    return table[codes]


def per_unique(col: pd.Series, func, na_value: object = None) -> pd.Series:
    """``func`` applied to each *distinct* non-missing cell and spread back (one call per distinct value, not per
    cell: survey columns have few distinct values, so this is what keeps million-row columns fast)."""
    codes, uniques = factorize(col)
    return pd.Series(spread(codes, [func(u) for u in uniques], na_value), index=col.index, dtype=object)


def per_unique_bool(col: pd.Series, predicate) -> pd.Series:
    """Boolean :func:`per_unique` (missing cells → False)."""
    codes, uniques = factorize(col)
    out = spread(codes, [bool(predicate(u)) for u in uniques], False, dtype=bool)
    return pd.Series(out, index=col.index, dtype=bool)
