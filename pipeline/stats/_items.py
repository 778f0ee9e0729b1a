"""One scale's items made ready for reliability and validity statistics (private to :mod:`pipeline.stats`).

:func:`prepare_items` validates the item columns, drops incomplete rows (listwise) and reflects reverse-keyed
items; :class:`PreparedItems` carries the result and its covariance matrix, computed once and shared by
:func:`~pipeline.stats.reliability.cronbach_alpha`, :func:`~pipeline.stats.reliability.item_analysis`,
:func:`~pipeline.stats.reliability.omega_total` and the functions of :mod:`pipeline.stats.validity`. Both are
public (``pipeline.stats.PreparedItems``, ``pipeline.stats.prepare_items``); this module is where they live,
so that the statistics modules read as their formulas.

The slower library equivalents, tested equal in ``tests/test_items_kernel.py``: the complete cases are
``items.dropna()`` with reverse items replaced by ``min + max - x``; :func:`covariance` is
``numpy.cov(x, rowvar=False)`` unweighted and ``statsmodels.stats.weightstats.DescrStatsW(x, weights=w).cov *
n / (n - 1)`` weighted (``survey::svyvar``); :func:`cov2cor` is R's ``cov2cor``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
import pandas as pd

from pipeline.errors import DataError

_BLOCK = 65_536  # rows per block when centring


@dataclass(frozen=True, eq=False)
class PreparedItems:
    """One scale's complete cases, validated, keyed and weighted: what reliability and validity statistics start from.

    Made by :func:`prepare_items` (weights attached later by :meth:`with_weights`). Pass it as ``items`` to
    :func:`~pipeline.stats.cronbach_alpha`, :func:`~pipeline.stats.item_analysis` and
    :func:`~pipeline.stats.omega_total` (and to :func:`~pipeline.stats.kmo`, ``bartlett_sphericity``, ``efa``,
    ``cfa``) to get several statistics
    of the same items: validation, listwise deletion and reflection then happen once, and the covariance
    matrix is computed once and shared. The numbers are those of passing the DataFrame with the same options.

    Attributes
    ----------
    x : numpy.ndarray
        n x k keyed item scores of the complete cases (reverse-keyed items reflected), column-major: the
        per-item passes (means, SDs, frequencies) run over contiguous memory.
    w : numpy.ndarray or None
        The complete cases' sampling weights, or None (unweighted).
    items : tuple of str
        Item names, in column order.
    reversed_ : tuple of str
        Items that were reflected.
    raw : numpy.ndarray
        The complete cases as answered (before reflection), column-major.
    observed_min, observed_max : numpy.ndarray
        Per item, the smallest and largest answer among the complete cases (before reflection).
    n_dropped : int
        Rows dropped listwise (a missing item, or a missing weight).
    scale_range : tuple of float or None
        Range used for reflection (None if no item was reversed and no range was given).
    range_from_data : bool
        Whether ``scale_range`` is the observed range (reverse items but no range given).
    notes : tuple of str
        Plain statements about choices made on the caller's behalf.
    rows : numpy.ndarray or None
        Which rows of the original ``items`` are used (boolean mask), None for all of them.
    index : pandas.Index
        The row index of the original ``items`` (weights given as a Series must carry it).
    missing : str
        Missing-data rule (``"listwise"``).
    """

    x: np.ndarray
    w: np.ndarray | None
    items: tuple[str, ...]
    reversed_: tuple[str, ...]
    raw: np.ndarray
    observed_min: np.ndarray
    observed_max: np.ndarray
    n_dropped: int
    scale_range: tuple[float, float] | None
    range_from_data: bool
    notes: tuple[str, ...]
    rows: np.ndarray | None
    index: pd.Index
    missing: str = "listwise"

    @property
    def n(self) -> int:
        """Respondents used (complete cases)."""
        return int(self.x.shape[0])

    @property
    def k(self) -> int:
        """Number of items."""
        return int(self.x.shape[1])

    @cached_property
    def integer_codes(self) -> bool:
        """Whether every answer is a whole number (response codes rather than scores)."""
        return bool(np.all(self.raw == np.round(self.raw)))

    @cached_property
    def code_offsets(self) -> np.ndarray:
        """Answers minus the lowest answer, as integer indices (column-major; meaningful for integer codes)."""
        return (self.raw - self.observed_min.min()).astype(np.intp)

    @cached_property
    def cov(self) -> np.ndarray:
        """Covariance matrix of ``x`` (weighted when ``w`` is given), divisor n - 1; see :func:`covariance`."""
        return covariance(self.x, self.w)

    @cached_property
    def cov_unweighted(self) -> np.ndarray:
        """Unweighted covariance matrix of ``x`` (the same as ``cov`` when there are no weights)."""
        return self.cov if self.w is None else covariance(self.x, None)

    @cached_property
    def corr_unweighted(self) -> np.ndarray:
        """Unweighted Pearson correlation matrix of ``x``."""
        return cov2cor(self.cov_unweighted)

    def with_weights(self, weights) -> PreparedItems:
        """These items with sampling weights: ``prepare_items(items, ..., weights=weights)``, reusing this work.

        ``weights`` belong to the rows of the original ``items`` (as for :func:`prepare_items`). When every
        complete case has a weight, the complete cases and the unweighted covariance matrix are shared rather
        than computed again; rows without a weight are dropped as
        :func:`prepare_items` would drop them.

        Raises
        ------
        DataError
            As :func:`prepare_items` for ``weights``; the items are weighted already.
        """
        if self.w is not None:
            raise DataError("items are weighted already: prepare them again with the other weights")
        wv = _weight_values(weights, self.index, self.n + self.n_dropped)
        used = wv if self.rows is None else wv[self.rows]
        keep = ~np.isnan(used)
        if keep.all():
            if used.sum() <= 0:
                raise DataError("weights: all weights of the complete cases are zero")
            out = replace(self, w=used)
            for name in ("integer_codes", "code_offsets", "cov_unweighted"):
                if name in self.__dict__:
                    out.__dict__[name] = self.__dict__[name]
            if "cov" in self.__dict__:
                out.__dict__["cov_unweighted"] = self.__dict__["cov"]
            return out
        rows = keep if self.rows is None else _refine(self.rows, keep)
        return _complete_cases(
            _rows(self.raw, keep),
            used[keep],
            cols=list(self.items),
            reverse=self.reversed_,
            scale_range=None if self.range_from_data else self.scale_range,
            n_dropped=self.n_dropped + int(np.count_nonzero(~keep)),
            rows=rows,
            index=self.index,
            missing=self.missing,
        )


def _refine(rows: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """The mask ``rows`` with its selected rows narrowed down to ``keep``."""
    out = rows.copy()
    out[rows] = keep
    return out


def _rows(x: np.ndarray, keep: np.ndarray | None) -> np.ndarray:
    """The rows ``keep`` of ``x`` (all if None) as a new column-major array, one column at a time."""
    n = x.shape[0] if keep is None else int(np.count_nonzero(keep))
    out = np.empty((n, x.shape[1]), order="F")
    for j in range(x.shape[1]):
        if keep is None:
            out[:, j] = x[:, j]
        else:
            np.compress(keep, x[:, j], out=out[:, j])
    return out


def _check_item_count(cols: Sequence[str], min_items: int) -> None:
    if len(cols) < min_items:
        raise DataError(
            f"a scale needs at least {min_items} items, got {len(cols)} ({', '.join(cols) or 'none'})"
        )


def _weight_values(weights, index: pd.Index, n_rows: int) -> np.ndarray:
    """Sampling weights as floats (NaN = missing), checked against the rows of the items."""
    if isinstance(weights, pd.Series):
        if not weights.index.equals(index):
            raise DataError("weights: Series index does not match the rows of items")
        wv = weights.to_numpy(dtype=float, na_value=np.nan)
    else:
        wv = np.asarray(weights, dtype=float)
    if wv.ndim != 1 or wv.shape[0] != n_rows:
        raise DataError(f"weights: length {wv.size} does not match the {n_rows} rows of items")
    if np.any(wv[~np.isnan(wv)] < 0) or np.isinf(wv).any():
        raise DataError("weights: sampling weights must be finite and non-negative")
    return wv


def prepare_items(
    items: pd.DataFrame,
    *,
    reverse: Sequence[str] = (),
    scale_range: tuple[float, float] | None = None,
    weights=None,
    missing: str = "listwise",
    min_items: int = 2,
) -> PreparedItems:
    """Validate, drop incomplete rows (listwise), reflect reverse-keyed items. Never mutates ``items``.

    Parameters
    ----------
    items, reverse, scale_range, weights, missing
        As in :func:`~pipeline.stats.cronbach_alpha`.
    min_items : int
        Fewest items accepted (2 for alpha and item analysis, 3 for omega).

    Returns
    -------
    PreparedItems
        To pass to the statistics of this module (and of :mod:`pipeline.stats.validity`) in place of ``items``.

    Raises
    ------
    DataError
        Fewer than ``min_items`` items; a duplicate, non-numeric, infinite or constant item column (named); a
        value outside ``scale_range`` (column named); an unknown reverse item; bad weights; fewer than 3
        complete rows.

    Works on one float copy of the data (a million rows in a few tens of milliseconds).
    """
    if not isinstance(items, pd.DataFrame):
        raise DataError(f"items must be a pandas DataFrame of item columns, got {type(items).__name__}")
    if missing != "listwise":
        raise DataError(f"missing={missing!r} is not supported; only 'listwise' (per scale) is implemented")
    cols = [str(c) for c in items.columns]
    if len(set(cols)) != len(cols):
        dup = sorted({c for c in cols if cols.count(c) > 1})
        raise DataError(f"duplicate item column(s) {', '.join(dup)}")
    _check_item_count(cols, min_items)
    if isinstance(reverse, str):
        reverse = (reverse,)
    unknown = [r for r in reverse if r not in cols]
    if unknown:
        raise DataError(f"reverse-keyed item(s) {', '.join(map(str, unknown))} not among the item columns")

    numeric = [pd.api.types.is_numeric_dtype(dt) or pd.api.types.is_bool_dtype(dt) for dt in items.dtypes]
    if all(numeric):
        x = items.to_numpy(dtype=float, na_value=np.nan)  # possibly the frame's own memory: only read
    else:
        columns = []
        for j, c in enumerate(cols):
            s = items.iloc[:, j]
            if not numeric[j]:
                coerced = pd.to_numeric(s, errors="coerce")
                bad = coerced.isna() & s.notna()
                if bad.any():
                    raise DataError(
                        f"item column {c} is not numeric: value {s[bad].iloc[0]!r} "
                        "(recode answer labels to numeric codes first)"
                    )
                s = coerced
            columns.append(s.to_numpy(dtype=float, na_value=np.nan))
        x = np.column_stack(columns)
    if np.isfinite(x).all(axis=0).all():  # the common case: one cheap column-wise pass
        ok = np.ones(x.shape[0], dtype=bool)
    else:
        inf = np.isinf(x).any(axis=0)
        if inf.any():
            raise DataError(f"item column {cols[int(np.argmax(inf))]} contains infinite values")
        ok = ~np.isnan(x).any(axis=1)
    w = None
    if weights is not None:
        wv = _weight_values(weights, items.index, x.shape[0])
        ok = ok & ~np.isnan(wv)
        w = wv[ok]
    n_dropped = int(ok.size - np.count_nonzero(ok))
    return _complete_cases(
        _rows(x, ok if n_dropped else None),
        w,
        cols=cols,
        reverse=tuple(reverse),
        scale_range=scale_range,
        n_dropped=n_dropped,
        rows=ok if n_dropped else None,
        index=items.index,
        missing=missing,
    )


def _complete_cases(
    x: np.ndarray,
    w: np.ndarray | None,
    *,
    cols: list[str],
    reverse: Sequence[str],
    scale_range: tuple[float, float] | None,
    n_dropped: int,
    rows: np.ndarray | None,
    index: pd.Index,
    missing: str,
) -> PreparedItems:
    """The checks and reflection of :func:`prepare_items` once the complete cases ``x`` (column-major, owned
    here) are known."""
    if x.shape[0] < 3:
        raise DataError(
            f"only {x.shape[0]} complete response(s) on items {', '.join(cols)} after listwise deletion"
        )
    if w is not None and w.sum() <= 0:
        raise DataError("weights: all weights of the complete cases are zero")

    lo_obs, hi_obs = x.min(axis=0), x.max(axis=0)
    flat = np.flatnonzero(lo_obs == hi_obs)
    if flat.size:
        raise DataError(
            f"item column {cols[flat[0]]} has no variance among the {x.shape[0]} complete responses"
        )
    notes: list[str] = []
    used_range: tuple[float, float] | None = None
    if scale_range is not None:
        lo, hi = float(scale_range[0]), float(scale_range[1])
        if not lo < hi:
            raise DataError(f"scale_range {scale_range!r} must be (min, max) with min < max")
        bad = np.flatnonzero((lo_obs < lo) | (hi_obs > hi))
        if bad.size:
            j = bad[0]
            value = lo_obs[j] if lo_obs[j] < lo else hi_obs[j]
            raise DataError(
                f"item column {cols[j]}: value {value:g} outside the scale range {lo:g}-{hi:g} "
                "(recode non-substantive answers such as 99 to missing first)"
            )
        used_range = (lo, hi)
    raw = x
    from_data = False
    if reverse:
        if used_range is None:
            from_data = True
            used_range = (float(lo_obs.min()), float(hi_obs.max()))
            notes.append(
                f"scale_range not given: reverse-keyed items reflected on the observed range "
                f"{used_range[0]:g}-{used_range[1]:g} (min + max - x)"
            )
        idx = [cols.index(r) for r in reverse]
        x = x.copy(order="F")
        x[:, idx] = used_range[0] + used_range[1] - x[:, idx]
    if n_dropped:
        notes.append(f"listwise deletion: {n_dropped} row(s) with a missing item or weight dropped")
    return PreparedItems(
        x=x,
        w=w,
        items=tuple(cols),
        reversed_=tuple(reverse),
        raw=raw,
        observed_min=lo_obs,
        observed_max=hi_obs,
        n_dropped=n_dropped,
        scale_range=used_range,
        range_from_data=from_data,
        notes=tuple(notes),
        rows=rows,
        index=index,
        missing=missing,
    )


def as_prepared(
    items: pd.DataFrame | PreparedItems,
    *,
    reverse: Sequence[str] = (),
    scale_range: tuple[float, float] | None = None,
    weights=None,
    missing: str = "listwise",
    min_items: int = 2,
) -> PreparedItems:
    """``items`` as :class:`PreparedItems`: prepared here from a DataFrame, or checked if prepared already.

    Prepared items carry their options already: giving ``reverse``, ``scale_range``, ``weights`` or another
    ``missing`` again raises (they would silently be ignored otherwise).
    """
    if not isinstance(items, PreparedItems):
        return prepare_items(
            items,
            reverse=reverse,
            scale_range=scale_range,
            weights=weights,
            missing=missing,
            min_items=min_items,
        )
    given = [
        name
        for name, value in (("reverse", reverse), ("scale_range", scale_range), ("weights", weights))
        if value is not None and not (name == "reverse" and len(value) == 0)
    ]
    if given or missing != items.missing:
        raise DataError(
            f"items are prepared already: give {', '.join(given) or 'missing'} to prepare_items, not here"
        )
    _check_item_count(items.items, min_items)
    return items


def covariance(x: np.ndarray, w: np.ndarray | None) -> np.ndarray:
    """(Weighted) covariance matrix with divisor n - 1 (as ``cov`` and ``survey::svyvar``).

    Unweighted: one matrix product, ``(X'X - n m m') / (n - 1)``; its relative rounding error is about
    ``eps * mean^2 / var`` (~1e-15 for response scales), and it needs no centred copy of a million rows.
    Weighted: centred in row blocks.
    """
    n, k = x.shape
    if w is None:
        mean = x.mean(axis=0)
        return (x.T @ x - n * np.outer(mean, mean)) / (n - 1)
    ws = w / w.sum()
    mean = ws @ x
    c = np.zeros((k, k))
    for start in range(0, n, _BLOCK):
        xc = x[start : start + _BLOCK] - mean
        c += (xc.T * ws[start : start + _BLOCK]) @ xc
    return c * (n / (n - 1))


def cov2cor(c: np.ndarray) -> np.ndarray:
    d = 1.0 / np.sqrt(np.diag(c))
    return c * np.outer(d, d)
