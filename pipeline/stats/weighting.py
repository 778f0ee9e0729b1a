"""Survey weights: raking (iterative proportional fitting) to population margins, and cell weights.

Weights produced here are *sampling weights*: respondent ``i`` stands for ``w_i`` members of the
population, and ``sum(w)`` estimates the population size. They are not frequency weights (a respondent is
not ``w_i`` identical respondents), so they must be analysed with :class:`pipeline.stats.SurveyDesign`,
which computes design-based standard errors.

Why hand-written: R's ``survey::rake``/``calibrate`` is the reference, but no maintained Python package
combines (a) convergence judged on the margins themselves, (b) loud, named failures, (c) interaction margins,
(d) capping that keeps the margins exact, and (e) speed on a million rows. ``weightipy`` 0.4 judges
convergence on the change in weights and prints instead of raising.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipeline import parallel
from pipeline.errors import ConvergenceError, DataError
from pipeline.stats.descriptives import kish_n_eff_from_sums

#: Relative tolerance within which the totals of different margins must agree.
MARGIN_TOTAL_RTOL = 1e-6
#: Relative tolerance within which a margin's targets are taken to be shares (they sum to 1).
SHARE_SUM_RTOL = 1e-6
#: Slack added to ``tol`` in the independent post-fit check (summation order differs from the fit).
CHECK_SLACK = 1e-9

MarginKey = str | tuple[str, ...]


def _margin_name(key: MarginKey) -> str:
    """Display name of a margin: ``"district"`` or ``"district:gender"`` for an interaction (R style)."""
    return key if isinstance(key, str) else ":".join(key)


@dataclass(frozen=True)
class RakeResult:
    """Outcome of :func:`rake`.

    Attributes
    ----------
    weights : pandas.Series
        Final sampling weights, aligned to the input frame's index, summing to the population total.
    converged : bool
        Always ``True`` (non-convergence raises :class:`~pipeline.errors.ConvergenceError`).
    iterations : int
        Number of full IPF sweeps over all margins.
    max_margin_error : float
        ``max |achieved - target| / target`` over every margin category with a non-zero target.
    deff : float
        Kish design effect due to weighting, ``n * sum(w**2) / sum(w)**2``.
    n_eff : float
        Kish effective sample size, ``sum(w)**2 / sum(w**2)`` (``= n / deff``).
    n_trimmed : int
        Respondents whose weight sits at the cap ``cap * mean(w)`` (0 without a cap).
    margins : pandas.DataFrame
        Tidy table ``variable, category, target, achieved, rel_error`` (one row per margin category;
        ``variable`` is ``"a:b"`` and ``category`` a tuple for an interaction margin).
    total : float
        Population total the weights sum to.
    cap : float or None
        The cap used (maximum weight / mean weight).
    """

    weights: pd.Series
    converged: bool
    iterations: int
    max_margin_error: float
    deff: float
    n_eff: float
    n_trimmed: int
    margins: pd.DataFrame = field(repr=False)
    total: float = float("nan")
    cap: float | None = None

    def summary(self) -> pd.Series:
        """Distribution of the weights: quantiles, mean, max/min ratio, Kish deff and n_eff, trimmed count."""
        w = self.weights.to_numpy(dtype=float)
        q = np.quantile(w, [0.0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1.0])
        return pd.Series(
            {
                "n": float(w.size),
                "total": float(w.sum()),
                "mean": float(w.mean()),
                "min": q[0],
                "p01": q[1],
                "p05": q[2],
                "p25": q[3],
                "median": q[4],
                "p75": q[5],
                "p95": q[6],
                "p99": q[7],
                "max": q[8],
                "max_min_ratio": float(q[8] / q[0]) if q[0] > 0 else float("inf"),
                "max_mean_ratio": float(q[8] / w.mean()),
                "deff": self.deff,
                "n_eff": self.n_eff,
                "n_trimmed": float(self.n_trimmed),
                "iterations": float(self.iterations),
                "max_margin_error": self.max_margin_error,
            },
            name="weights",
        )


# --------------------------------------------------------------------------------------------------------------
# input coding
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Margin:
    key: MarginKey
    columns: list[str]
    categories: list[Any]  # margin categories in the order given (tuples for interactions)
    targets: np.ndarray  # population counts, same order
    raw_codes: np.ndarray  # row -> observed value combination (codes from pandas.factorize, raveled)
    raw_values: list[Any]  # value combination -> category value (scalar or tuple)
    lookup: np.ndarray  # value combination -> position in ``categories`` (-1 if absent)


def _columns_of(key: MarginKey) -> list[str]:
    return [key] if isinstance(key, str) else list(key)


class _ColumnCodes:
    """``pandas.factorize`` of each raking column, computed once (fast also for Arrow-backed strings)."""

    def __init__(self, frame: pd.DataFrame):
        self.frame = frame
        self.cache: dict[str, tuple[np.ndarray, list[Any]]] = {}
        self.raw: dict[str, tuple[np.ndarray, Any]] = {}

    def prefetch(self, cols: list[str], categories: Mapping[str, list[Any]]) -> None:
        """Code several columns in parallel threads (Arrow and the hash tables release the GIL)."""
        todo = [c for c in dict.fromkeys(cols) if c not in self.cache and c in self.frame.columns]
        # how many threads is the execution layer's decision (pipeline.parallel), not this statistic's
        workers = parallel.threads(len(self.frame), "rake_coding_rows")
        if not todo or not workers:
            return
        n = len(self.frame)
        arrow_cols = [c for c in todo if self._arrow_codable(c, categories.get(c))]
        chunks = max(1, workers)
        bounds = np.linspace(0, n, chunks + 1).astype(int)
        tasks = [
            (c, int(a), int(b)) for c in arrow_cols for a, b in zip(bounds[:-1], bounds[1:], strict=True)
        ]
        tasks += [(c, 0, n) for c in todo if c not in arrow_cols]
        results = parallel.thread_map(
            lambda t: self._encode(t[0], categories.get(t[0]), t[1], t[2]), tasks, workers=workers
        )
        for col in todo:
            parts = [r for t, r in zip(tasks, results, strict=True) if t[0] == col]
            self.raw[col] = (np.concatenate([p[0] for p in parts]), parts[0][1])

    def _arrow_codable(self, col: str, categories: list[Any] | None) -> bool:
        arrow = getattr(self.frame[col].array, "_pa_array", None)
        return bool(
            categories
            and arrow is not None
            and (pa.types.is_string(arrow.type) or pa.types.is_large_string(arrow.type))
            and all(isinstance(c, str) for c in categories)
        )

    def _encode(
        self, col: str, categories: list[Any] | None, start: int = 0, stop: int | None = None
    ) -> tuple[np.ndarray, list[Any]]:
        """Codes and the values they index; -1 marks a missing value, -2 a value not in ``categories``."""
        values = self.frame[col]
        if self._arrow_codable(col, categories):
            arrow = values.array._pa_array.slice(start, None if stop is None else stop - start)
            # Arrow string column coded straight against the margin's categories: a hash lookup in a small
            # set, about twice as fast as factorizing the column first.
            idx = pc.index_in(arrow, value_set=pa.array(categories, type=arrow.type))
            codes = pc.fill_null(idx, -2).to_numpy().astype(np.intp)
            if arrow.null_count:
                codes[np.asarray(pc.is_null(arrow).to_numpy(zero_copy_only=False))] = -1
            return codes, list(categories)
        if start != 0 or (stop is not None and stop != len(values)):
            raise ValueError("only Arrow string columns are coded in chunks")
        if isinstance(values.dtype, pd.CategoricalDtype):
            return self._encode_categorical(values, categories)
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        return codes.astype(np.intp, copy=False), list(np.asarray(uniques, dtype=object))

    @staticmethod
    def _encode_categorical(values: pd.Series, categories: list[Any] | None) -> tuple[np.ndarray, list[Any]]:
        """A Categorical's own codes, re-pointed at the margin's categories (no hashing of the rows).

        Same contract as :meth:`_encode`: -1 missing, -2 a value not among ``categories``; without
        ``categories`` the codes index the dtype's categories (unobserved ones included, which only widens
        the combination table of an interaction margin).
        """
        codes = values.cat.codes.to_numpy()
        levels = list(values.cat.categories)
        if categories is None:
            return codes.astype(np.intp), levels
        position = {c: i for i, c in enumerate(categories)}
        # index len(levels) is where code -1 (missing) lands; keep it -1
        remap = np.array([position.get(c, -2) for c in levels] + [-1], dtype=np.intp)
        return remap[codes], list(categories)

    def get(
        self, col: str, key: MarginKey, categories: list[Any] | None = None
    ) -> tuple[np.ndarray, list[Any]]:
        if col not in self.cache:
            if col not in self.frame.columns:
                raise DataError(
                    f"raking variable '{col}' is not a column of the data (margin {_margin_name(key)})",
                )
            codes, uniques = self.raw.pop(col) if col in self.raw else self._encode(col, categories)
            n_missing = int((codes == -1).sum())
            if n_missing:
                raise DataError(
                    f"raking variable '{col}' has {n_missing} missing value(s); impute or drop them before raking",
                )
            outside = codes == -2
            if outside.any():
                shown = pd.unique(self.frame[col].to_numpy()[outside])[:5].tolist()
                raise DataError(
                    f"margin {_margin_name(key)}: {int(outside.sum())} respondent(s) have categories absent from "
                    f"the margin targets, e.g. {shown}; add them to the margins or recode the data",
                )
            self.cache[col] = (codes, uniques)
        return self.cache[col]


def _code_margin(columns: _ColumnCodes, key: MarginKey, categories: list[Any]):
    """Row codes of the observed value combinations of a margin, and their map to margin categories."""
    cols = _columns_of(key)
    if isinstance(key, str):
        raw_codes, raw_values = columns.get(key, key, categories)
    else:
        bad = [c for c in categories if not (isinstance(c, tuple) and len(c) == len(cols))]
        if bad:
            raise DataError(
                f"margin {_margin_name(key)}: category {bad[0]!r} is not a tuple of {len(cols)} values",
            )
        parts = [columns.get(c, key) for c in cols]
        dims = tuple(max(len(u), 1) for _, u in parts)
        raw_codes = np.ravel_multi_index(tuple(c for c, _ in parts), dims, order="F")
        raw_values = list(itertools.product(*[u for _, u in reversed(parts)]))
        raw_values = [tuple(reversed(v)) for v in raw_values]
    position = {cat: i for i, cat in enumerate(categories)}
    lookup = np.array([position.get(v, -1) for v in raw_values], dtype=np.intp)
    if (lookup < 0).any():  # single columns: every value listed was observed; tuples: check which were
        counts = np.bincount(raw_codes, minlength=len(raw_values))
        absent = (lookup < 0) & (counts > 0)
        if absent.any():
            shown = [v for v, a in zip(raw_values, absent, strict=True) if a]
            raise DataError(
                f"margin {_margin_name(key)}: {int(counts[absent].sum())} respondent(s) have categories absent "
                f"from the margin targets, e.g. {shown[:5]}; add them to the margins or recode the data",
            )
    return raw_codes.astype(np.intp, copy=False), raw_values, lookup


def _prepare_margins(
    frame: pd.DataFrame,
    margins: Mapping[MarginKey, Mapping[Hashable, float]],
    base_sum: float,
    total: float | None,
) -> tuple[list[_Margin], float, _ColumnCodes]:
    if not margins:
        raise DataError("rake() needs at least one margin")
    columns = _ColumnCodes(frame)
    singles = {k: list(v.keys()) for k, v in margins.items() if isinstance(k, str)}
    columns.prefetch([c for key in margins for c in _columns_of(key) if isinstance(c, str)], singles)
    raw = []
    for key, spec in margins.items():
        if not isinstance(key, str):
            if not (isinstance(key, tuple) and key and all(isinstance(c, str) for c in key)):
                raise DataError(f"margin key {key!r} must be a column name or a tuple of column names")
            if len(key) == 1:
                key = key[0]
        cats = list(spec.keys())
        if not cats:
            raise DataError(f"margin {_margin_name(key)} has no categories")
        vals = np.asarray([float(v) for v in spec.values()], dtype=float)
        for c, v in zip(cats, vals, strict=True):
            if not np.isfinite(v) or v < 0:
                raise DataError(f"margin {_margin_name(key)}: target for category {c!r} is {v}; must be >= 0")
        if vals.sum() <= 0:
            raise DataError(f"margin {_margin_name(key)}: targets sum to zero")
        raw.append((key, cats, vals, _code_margin(columns, key, cats)))

    is_share = [abs(v.sum() - 1.0) <= SHARE_SUM_RTOL for _, _, v, _ in raw]
    count_totals = [
        (_margin_name(k), float(v.sum())) for (k, _, v, _), s in zip(raw, is_share, strict=True) if not s
    ]
    if total is not None:
        if not (np.isfinite(total) and total > 0):
            raise DataError(f"total={total} must be a positive number")
        pop_total = float(total)
    elif count_totals:
        pop_total = float(count_totals[0][1])
    else:
        pop_total = float(base_sum)
    for name, t in count_totals:
        if abs(t - pop_total) > MARGIN_TOTAL_RTOL * pop_total:
            ref = "total=" if total is not None else f"margin {count_totals[0][0]}"
            raise DataError(
                f"margin totals differ: margin {name} sums to {t!r} but {ref} gives {pop_total!r} "
                f"(relative tolerance {MARGIN_TOTAL_RTOL:g})",
            )

    out = []
    for (key, cats, vals, (raw_codes, raw_values, lookup)), share in zip(raw, is_share, strict=True):
        targets = vals * pop_total if share else vals
        out.append(_Margin(key, _columns_of(key), cats, targets.astype(float), raw_codes, raw_values, lookup))
    return out, pop_total, columns


def _check_respondents(
    margin_list: list[_Margin], unit_codes: list[np.ndarray], unit_rows: np.ndarray
) -> None:
    """Every category with a positive target needs respondents, and observed categories need a target."""
    for m, uc in zip(margin_list, unit_codes, strict=True):
        counts = np.bincount(uc, weights=unit_rows, minlength=len(m.categories))
        for c, t, k in zip(m.categories, m.targets, counts, strict=True):
            if k == 0 and t > 0:
                raise DataError(
                    f"margin {_margin_name(m.key)}: category {c!r} has population target {t:g} but no "
                    f"respondents in the sample; collapse it with a neighbouring category",
                )
            if k > 0 and t == 0:
                raise DataError(
                    f"margin {_margin_name(m.key)}: category {c!r} has {int(k)} respondent(s) but population "
                    f"target 0",
                )


def _collapse(
    margin_list: list[_Margin], columns: _ColumnCodes, base: np.ndarray, constant_base: bool
) -> tuple[np.ndarray, int, list[np.ndarray]]:
    """Map rows to units sharing every raking column's value (and base weight): IPF only needs unit totals.

    Returns the row -> unit index, the number of units and, per margin, unit -> category position.
    """
    cols = list(dict.fromkeys(c for m in margin_list for c in m.columns))
    codes = [columns.cache[c][0] for c in cols]
    dims = [max(len(columns.cache[c][1]), 1) for c in cols]
    if not constant_base:
        bcode, buniq = pd.factorize(base)
        codes.append(bcode.astype(np.intp))
        dims.append(len(buniq))
    size = float(np.prod(np.asarray(dims, dtype=float)))
    if size <= 4 * base.size + 1_000_000:
        # dense table of all combinations: the combination index is the unit (empty units weigh nothing)
        unit = np.ravel_multi_index(tuple(codes), tuple(dims))
        keys = np.arange(int(size))
    else:  # too many combinations for a dense table: hash the observed ones
        frame_codes = pd.DataFrame(dict(enumerate(codes)))
        unit, uniq = pd.factorize(pd.MultiIndex.from_frame(frame_codes))
        keys_cols = [np.asarray(uniq.get_level_values(i)) for i in range(len(codes))]
        keys = np.ravel_multi_index(tuple(keys_cols), tuple(dims)) if size < 2**62 else None
        if keys is None:
            raise DataError("too many combinations of raking categories")
    unit_col = dict(zip(cols, np.unravel_index(keys, tuple(dims)), strict=False))
    unit_codes = []
    for m in margin_list:
        if len(m.columns) == 1:
            raw = unit_col[m.columns[0]]
        else:
            mdims = tuple(max(len(columns.cache[c][1]), 1) for c in m.columns)
            raw = np.ravel_multi_index(tuple(unit_col[c] for c in m.columns), mdims, order="F")
        unit_codes.append(m.lookup[raw])
    return unit.astype(np.intp, copy=False), int(keys.size), unit_codes


def _margin_errors(sums: np.ndarray, targets: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        err = np.where(targets > 0, np.abs(sums - targets) / np.where(targets > 0, targets, 1.0), 0.0)
    return err


def rake(
    frame: pd.DataFrame,
    margins: Mapping[MarginKey, Mapping[Hashable, float]],
    *,
    base_weights: pd.Series | np.ndarray | str | None = None,
    total: float | None = None,
    tol: float = 1e-10,
    max_iter: int = 200,
    cap: float | None = None,
) -> RakeResult:
    """Rake sampling weights to population margins by iterative proportional fitting (IPF).

    Starting from base weights ``d_i`` the weights ``w_i = d_i * prod_m f_m[c_m(i)]`` are found such that
    for every margin ``m`` and category ``c``: ``sum_{i: c_m(i)=c} w_i = T_mc`` (the population target).
    This is the raking estimator of Deming & Stephan (1940); it equals the solution of
    ``survey::calibrate(design, ~ a + b + c, population, calfun = "raking")`` and of ``survey::rake()``.

    Parameters
    ----------
    frame : DataFrame
        One row per respondent. Not modified.
    margins : mapping
        ``{column: {category: target}}``; a key may be a tuple of columns for an interaction margin,
        ``{("district", "gender"): {("d01", "F"): 12000, ...}}``. Targets are population counts, or shares if
        a margin's targets sum to 1 (within 1e-6). Shares are scaled to ``total`` if given, else to the total
        of the count margins if any, else to the sum of the base weights (``n`` without base weights).
    base_weights : Series, array, column name or None
        Design (inverse-probability) weights to start from; ``None`` means 1 for every respondent.
    total : float, optional
        Population total; count margins must agree with it (relative tolerance 1e-6).
    tol : float
        Convergence: the maximum relative margin error ``|achieved - target| / target`` must fall below it.
    max_iter : int
        Maximum number of sweeps over all margins.
    cap : float, optional
        Maximum ``w_i / mean(w)``. Units that would exceed ``cap * total / n`` are held at the cap and the
        remaining units absorb the margin differences (bounded IPF, repeated until both the margins hold
        within ``tol`` and no weight exceeds the cap). ``n_trimmed`` in the result counts them. This is not
        R's ``trimWeights()`` (which trims without re-raking) nor ``calibrate(bounds = )`` (which bounds the
        ratio to the base weight), so capped weights have no R reference.

    Returns
    -------
    RakeResult

    Raises
    ------
    DataError
        A raking column is missing or has missing values; a data category is absent from the margins; a
        margin category with a non-zero target has no respondents (or an observed category has target 0);
        margin totals differ (relative tolerance 1e-6); base weights are missing or not positive; cap <= 1.
    ConvergenceError
        The margins are not reached within ``max_iter`` sweeps (the message gives the worst margin,
        category and the achieved error), or the independent post-fit check fails.

    Notes
    -----
    Missing values in raking variables are rejected, not imputed. Respondents are collapsed to units that
    share every raking column's value (and base weight) so each sweep costs O(units), not O(n); the final
    weights are expanded back to rows. After the fit the weighted margins are recomputed row by row
    (``bincount`` of the final row weights over the observed values, matched to the targets by value, not
    through the unit table) as an independent check.

    References
    ----------
    Deming, W. E., & Stephan, F. F. (1940). On a least squares adjustment of a sampled frequency table when
    the expected marginal totals are known. *Ann. Math. Statist.*, 11(4), 427–444.
    Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*, ch. 7. Wiley.

    Examples
    --------
    >>> import pandas as pd
    >>> from pipeline import stats
    >>> df = pd.DataFrame({"g": ["F", "F", "M"], "a": ["y", "o", "o"]})
    >>> r = stats.rake(df, {"g": {"F": 50, "M": 50}, "a": {"y": 40, "o": 60}})
    >>> [round(x, 6) for x in r.weights]  # R: weights(rake(svydesign(~1, data=df), ...)) gives the same
    [40.0, 10.0, 50.0]
    """
    if not isinstance(frame, pd.DataFrame):
        raise DataError("rake() needs a pandas DataFrame")
    n = len(frame)
    if n == 0:
        raise DataError("rake() got an empty frame")
    if cap is not None and not (np.isfinite(cap) and cap > 1):
        raise DataError(f"cap={cap} must be > 1 (it is the maximum weight divided by the mean weight)")
    if not (tol > 0 and max_iter >= 1):
        raise DataError("tol must be > 0 and max_iter >= 1")
    base, constant_base = _base_weights(frame, base_weights)
    margin_list, pop_total, columns = _prepare_margins(frame, margins, float(base.sum()), total)

    unit, n_units, unit_codes = _collapse(margin_list, columns, base, constant_base)
    unit_rows = np.bincount(unit, minlength=n_units).astype(float)
    # a dense unit table holds every combination of the coded values, including empty ones a margin may
    # not list (e.g. an unused Categorical level): they have no rows, so park them on category 0
    unit_codes = [np.where(uc >= 0, uc, 0) if (uc < 0).any() else uc for uc in unit_codes]
    _check_respondents(margin_list, unit_codes, unit_rows)
    # units are split by base weight, so each unit's mean base weight is its rows' base weight
    if constant_base:
        unit_base = np.where(unit_rows > 0, base[0], 0.0)
    else:
        unit_base = np.bincount(unit, weights=base, minlength=n_units) / np.maximum(unit_rows, 1.0)

    row_w = unit_base.copy()  # per-row weight within each unit
    upper = None if cap is None else cap * pop_total / n
    frozen = np.zeros(n_units, dtype=bool)
    iterations = 0
    max_err = np.inf
    for iterations in range(1, max_iter + 1):  # noqa: B007 - used after the loop
        for m, uc in zip(margin_list, unit_codes, strict=True):
            k = len(m.categories)
            tot = row_w * unit_rows
            if upper is None:
                sums = np.bincount(uc, weights=tot, minlength=k)
                with np.errstate(divide="ignore", invalid="ignore"):
                    f = np.where(sums > 0, m.targets / sums, 1.0)
                row_w = row_w * f[uc]
                continue
            row_w, frozen = _bounded_step(row_w, tot, frozen, uc, k, m.targets, upper)
        tot = row_w * unit_rows
        errs = [
            _margin_errors(np.bincount(uc, weights=tot, minlength=len(m.categories)), m.targets)
            for m, uc in zip(margin_list, unit_codes, strict=True)
        ]
        max_err = max(float(e.max()) for e in errs)
        if max_err <= tol and (upper is None or row_w.max() <= upper * (1 + tol)):
            break
    else:
        worst = int(np.argmax([e.max() for e in errs]))
        m = margin_list[worst]
        cat = m.categories[int(np.argmax(errs[worst]))]
        extra = "" if cap is None else f" with cap={cap} (the cap may be infeasible for these margins)"
        raise ConvergenceError(
            f"raking did not converge in {max_iter} iterations{extra}: max relative margin error "
            f"{max_err:.3g} > tol={tol:g}, worst at margin {_margin_name(m.key)}, category {cat!r}",
        )

    w = row_w[unit]  # units share one base weight, so every row of a unit has the same weight
    weights = pd.Series(w, index=frame.index, name="weight")
    table = _independent_check(margin_list, w, tol)
    sw, sw2 = float(row_w @ unit_rows), float(np.square(row_w) @ unit_rows)  # unit table: O(units)
    n_trimmed = 0 if upper is None else int(unit_rows[frozen].sum())
    return RakeResult(
        weights=weights,
        converged=True,
        iterations=iterations,
        max_margin_error=float(table["rel_error"].max()),
        deff=n * sw2 / sw**2,
        n_eff=kish_n_eff_from_sums(sw, sw2),
        n_trimmed=n_trimmed,
        margins=table,
        total=pop_total,
        cap=cap,
    )


def _bounded_step(row_w, tot, frozen, uc, k, targets, upper):
    """One IPF margin step with units at the cap held fixed (others absorb the difference)."""
    fixed = np.bincount(uc, weights=np.where(frozen, tot, 0.0), minlength=k)
    free = np.bincount(uc, weights=np.where(frozen, 0.0, tot), minlength=k)
    need = targets - fixed
    release = (need <= 0) & (fixed > 0)
    if release.any():  # capped units exceed a category's target: let that category's units move again
        frozen = frozen & ~release[uc]
        fixed = np.bincount(uc, weights=np.where(frozen, tot, 0.0), minlength=k)
        free = np.bincount(uc, weights=np.where(frozen, 0.0, tot), minlength=k)
        need = targets - fixed
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(free > 0, need / free, 1.0)
    row_w = np.where(frozen, row_w, row_w * f[uc])
    over = row_w > upper
    row_w = np.where(over, upper, row_w)
    return row_w, frozen | over


def _base_weights(frame: pd.DataFrame, base_weights) -> tuple[np.ndarray, bool]:
    if base_weights is None:
        return np.ones(len(frame)), True
    if isinstance(base_weights, str):
        if base_weights not in frame.columns:
            raise DataError(f"base weight column '{base_weights}' is not in the data")
        b = frame[base_weights]
    elif isinstance(base_weights, pd.Series):
        if not base_weights.index.equals(frame.index):
            raise DataError("base_weights must be aligned to the frame's index")
        b = base_weights
    else:
        b = pd.Series(np.asarray(base_weights, dtype=float))
        if len(b) != len(frame):
            raise DataError(f"base_weights has {len(b)} values for {len(frame)} rows")
    arr = pd.to_numeric(b, errors="coerce").to_numpy(dtype=float)
    if not np.isfinite(arr).all() or (arr <= 0).any():
        raise DataError(
            "base_weights must be finite and > 0 for every respondent (missing or non-positive found)"
        )
    return arr, bool(np.all(arr == arr[0]))


def _independent_check(margin_list: list[_Margin], weights: np.ndarray, tol: float) -> pd.DataFrame:
    """Recompute weighted margins from the rows (not the collapsed units), matching categories by value."""
    rows = []
    for m in margin_list:
        sums = np.bincount(m.raw_codes, weights=weights, minlength=len(m.raw_values))  # rows, not units
        achieved = dict(zip(m.raw_values, sums.tolist(), strict=True))
        for cat, target in zip(m.categories, m.targets, strict=True):
            got = float(achieved.get(cat, 0.0))
            rel = abs(got - target) / target if target > 0 else abs(got)
            rows.append((_margin_name(m.key), cat, float(target), got, rel))
            if rel > tol + CHECK_SLACK:
                raise ConvergenceError(
                    f"post-fit check failed: margin {_margin_name(m.key)}, category {cat!r}: weighted total "
                    f"{got!r} vs target {target!r} (relative error {rel:.3g})",
                )
    return pd.DataFrame(rows, columns=["variable", "category", "target", "achieved", "rel_error"])


def cell_weights(
    frame: pd.DataFrame,
    cell: str,
    totals: Mapping[Hashable, float],
) -> pd.Series:
    """Cell (post-stratification) weights ``w_i = N_c / n_c`` for staff surveys: headcount over respondents.

    Parameters
    ----------
    frame : DataFrame
        One row per respondent.
    cell : str
        Column naming each respondent's cell (e.g. work unit).
    totals : mapping
        ``{cell: headcount N_c}``.

    Returns
    -------
    pandas.Series
        Sampling weights aligned to ``frame.index``; ``sum(w) = sum(N_c)`` over cells with respondents.

    Raises
    ------
    DataError
        The column is missing or has missing values; a cell has respondents but no (or a non-positive)
        headcount; a cell has a positive headcount but no respondents (its people would be unrepresented).

    Examples
    --------
    >>> import pandas as pd
    >>> cell_weights(pd.DataFrame({"unit": ["a", "a", "b"]}), "unit", {"a": 10, "b": 3}).tolist()
    [5.0, 5.0, 3.0]
    """
    if cell not in frame.columns:
        raise DataError(f"cell column '{cell}' is not in the data")
    col = frame[cell]
    if col.isna().any():
        raise DataError(f"cell column '{cell}' has {int(col.isna().sum())} missing value(s)")
    counts = col.astype(object).value_counts()
    no_total = [c for c in counts.index if c not in totals]
    if no_total:
        raise DataError(
            f"column '{cell}': cell(s) {no_total[:5]} have respondents but no headcount in totals"
        )
    bad = [c for c in counts.index if not (np.isfinite(float(totals[c])) and float(totals[c]) > 0)]
    if bad:
        raise DataError(f"column '{cell}': cell(s) {bad[:5]} have respondents but a headcount <= 0")
    empty = [c for c, t in totals.items() if c not in counts.index and float(t) > 0]
    if empty:
        raise DataError(f"column '{cell}': cell(s) {empty[:5]} have a headcount but no respondents")
    per_cell = {c: float(totals[c]) / float(k) for c, k in counts.items()}
    return pd.Series(col.astype(object).map(per_cell).to_numpy(dtype=float), index=frame.index, name="weight")
