"""Fast kernel of :func:`pipeline.stats.category_proportions` and :meth:`SurveyDesign.chisq` for many items by
one grouping: the weighted frequencies and crosstab tests of every item from one set of sums.

The rows of a design fall into *combinations* of stratum × calibration cell × domain (:func:`combinations`,
once per grouping). For an item, one ``bincount`` per total over (combination, answer slot) — weights, squared
weights, base weights, respondents; the last slot holds the answers that are not valid — gives every sum the
estimators need: the shares of every level in every domain, their linearization SEs
(:meth:`SurveyDesign._grouped_variance_from_sums`, the quadratic form of ``_grouped_variance``), the degrees
of freedom, the Kish effective n, and the cell proportions and covariance of a grouping × item table for the
Rao–Scott test. Cost per item: O(n) for the sums, then O(combinations), instead of a pass over the rows for
every estimate.

:func:`proportions` equals ``category_proportions(design, values, levels, by=...)`` (``svyciprop`` per domain
and level) and :func:`crosstab` equals ``SurveyDesign.chisq`` on the same rows (``svychisq(statistic = "F")``);
both to rounding (tests/test_frequencies_kernel.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.stats._linearization import calibration_fit
from pipeline.stats.descriptives import kish_n_eff_from_sums
from pipeline.stats.design import ChisqResult, SurveyDesign
from pipeline.stats.frequencies import _intervals


class SingularTable(ValueError):
    """The Rao–Scott correction of a table with empty cells is singular: no test can be computed."""


@dataclass(frozen=True)
class Combinations:
    """Each row's (stratum, calibration cell, domain) combination and what each combination is.

    ``group`` of a combination is ``n_groups`` for rows in no domain (a missing label).
    """

    index: np.ndarray
    stratum: np.ndarray
    cell: np.ndarray
    group: np.ndarray
    n_groups: int

    @property
    def size(self) -> int:
        return self.stratum.size


@dataclass(frozen=True)
class ItemSums:
    """Totals per (combination, slot) of one item: slots ``0 … k-1`` are its levels, slots ``k …`` the rest
    (answers outside the base, possibly split by kind)."""

    k: int
    w1: np.ndarray
    w2: np.ndarray
    w0: np.ndarray | None
    n: np.ndarray


def combinations(design: SurveyDesign, gcode: np.ndarray, n_groups: int) -> Combinations:
    """The combinations of ``design``'s strata and calibration cells with the domains ``gcode`` (-1: none)."""
    h = design._strata_codes
    cal = design._cal
    n_cells = cal["w0_cell"].size if cal is not None else 1
    g = np.where(gcode >= 0, gcode, n_groups)
    key = h * (n_cells * (n_groups + 1)) + g
    if cal is not None:
        key = key + cal["cell"] * (n_groups + 1)
    index, found = pd.factorize(key)
    found = np.asarray(found, dtype=np.int64)
    return Combinations(
        index=index.astype(np.intp),
        stratum=found // (n_cells * (n_groups + 1)),
        cell=(found // (n_groups + 1)) % n_cells,
        group=found % (n_groups + 1),
        n_groups=n_groups,
    )


@dataclass(frozen=True)
class Finest:
    """The finest combinations of a design's strata and calibration cells with several groupings at once:
    each row's combination (``index``) and, per combination, its stratum, calibration cell and the domain
    code of every grouping (-1: none). An item's sums over these are summed up to any one grouping's
    :class:`Combinations` without another pass over the rows."""

    index: np.ndarray
    stratum: np.ndarray
    cell: np.ndarray
    groups: tuple[np.ndarray, ...]

    @property
    def size(self) -> int:
        return self.stratum.size


def finest(design: SurveyDesign, gcodes: list[np.ndarray]) -> Finest:
    """:class:`Finest` of the design with the domain codes ``gcodes`` (one array per grouping, -1: none)."""
    cal = design._cal
    cell = cal["cell"] if cal is not None else np.zeros(design.n, dtype=np.intp)
    parts = [design._strata_codes, cell, *gcodes]
    index = np.zeros(design.n, dtype=np.int64)
    size = 1
    for part in parts:  # mixed radix, refactorized at each step so the keys stay below n
        lo = int(part.min()) if part.size else 0
        radix = (int(part.max()) if part.size else 0) - lo + 1
        index, _ = pd.factorize(index * radix + (part - lo))
        size = int(index.max()) + 1 if index.size else 0
    first = np.full(size, -1, dtype=np.int64)
    first[index[::-1]] = np.arange(index.size - 1, -1, -1)  # a row of each combination
    return Finest(
        index=index.astype(np.intp),
        stratum=design._strata_codes[first],
        cell=cell[first],
        groups=tuple(np.asarray(g)[first] for g in gcodes),
    )


def combinations_of(
    fine: Finest, which: int | None, n_groups: int, n_cells: int
) -> tuple[Combinations, np.ndarray]:
    """The :class:`Combinations` of grouping ``which`` (an index into ``fine.groups``; None: the whole sample,
    one domain) and each finest combination's combination in it."""
    g = np.zeros(fine.size, dtype=np.int64) if which is None else fine.groups[which]
    g = np.where(g >= 0, g, n_groups)
    key = (fine.stratum * n_cells + fine.cell) * (n_groups + 1) + g
    of_fine, found = pd.factorize(key)
    found = np.asarray(found, dtype=np.int64)
    combos = Combinations(
        index=of_fine[fine.index].astype(np.intp),
        stratum=found // (n_cells * (n_groups + 1)),
        cell=(found // (n_groups + 1)) % n_cells,
        group=found % (n_groups + 1),
        n_groups=n_groups,
    )
    return combos, of_fine.astype(np.intp)


def summed_up(sums: ItemSums, of_fine: np.ndarray, size: int) -> ItemSums:
    """``sums`` over finest combinations summed up to combinations (``of_fine``: each one's combination)."""
    n_slots = sums.w1.shape[1]
    key = (of_fine[:, None] * n_slots + np.arange(n_slots)[None, :]).ravel()
    shape = (size, n_slots)

    def total(values: np.ndarray | None) -> np.ndarray | None:
        if values is None:
            return None
        return np.bincount(key, weights=values.ravel(), minlength=size * n_slots).reshape(shape)

    return ItemSums(
        k=sums.k, w1=total(sums.w1), w2=total(sums.w2), w0=total(sums.w0), n=total(sums.n).astype(np.int64)
    )


def item_sums(
    design: SurveyDesign,
    combos: Combinations | Finest,
    slot: np.ndarray,
    k: int,
    w2: np.ndarray,
    *,
    n_slots: int = 0,
) -> ItemSums:
    """:class:`ItemSums` of an item whose row ``i`` answered level ``slot[i]`` (``k`` or more: not a valid
    answer; ``n_slots`` slots in all, default ``k + 1``). ``w2`` is ``design.weights ** 2`` (computed once by
    the caller)."""
    n_slots = max(n_slots, k + 1)
    key = combos.index * n_slots + slot
    size = combos.size * n_slots
    shape = (combos.size, n_slots)
    w0 = None
    if design._cal is not None:
        w0 = np.bincount(key, weights=design.base_weights, minlength=size).reshape(shape)
    return ItemSums(
        k=k,
        w1=np.bincount(key, weights=design.weights, minlength=size).reshape(shape),
        w2=np.bincount(key, weights=w2, minlength=size).reshape(shape),
        w0=w0,
        n=np.bincount(key, minlength=size).reshape(shape),
    )


def _per_group(values: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    """Sum the rows of ``values`` (combinations × columns) by their group (the no-domain group dropped)."""
    out = np.zeros((n_groups + 1, values.shape[1]))
    np.add.at(out, group, values)
    return out[:n_groups]


def proportions(
    design: SurveyDesign,
    combos: Combinations,
    sums: ItemSums,
    *,
    method: str = "logit",
    confidence_level: float = 0.95,
) -> dict[str, np.ndarray]:
    """The numbers of :func:`category_proportions` from an item's sums: arrays (domains × levels) ``n,
    estimate, se, ci_low, ci_high`` and per domain ``n_valid, n_eff, df``."""
    k, n_groups = sums.k, combos.n_groups
    g = combos.group
    sw_cell = _per_group(sums.w1[:, :k], g, n_groups)
    n_cell = _per_group(sums.n[:, :k], g, n_groups).astype(np.int64)
    sw = sw_cell.sum(axis=1)
    sw2 = _per_group(sums.w2[:, :k], g, n_groups).sum(axis=1)
    n_valid = n_cell.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = sw_cell / sw[:, None]
        inv_sw = np.where(sw > 0, 1.0 / np.where(sw > 0, sw, 1.0), 0.0)
    p0 = np.nan_to_num(p)
    var = _diagonal_variance(design, combos, sums, p0, inv_sw)
    se = np.where(n_valid[:, None] > 0, np.sqrt(np.maximum(var, 0.0)), np.nan)
    dfs = _group_degf(design, combos, sums.n[:, :k].sum(axis=1), n_groups).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        neff = kish_n_eff_from_sums(sw, sw2)
    lo, hi = _intervals(p, se, dfs, n_valid, neff, method, confidence_level, design)
    return {
        "n": n_cell,
        "estimate": p,
        "se": se,
        "ci_low": lo,
        "ci_high": hi,
        "n_valid": n_valid,
        "n_eff": neff,
        "df": dfs,
    }


def _group_degf(design: SurveyDesign, combos: Combinations, valid_n: np.ndarray, n_groups: int) -> np.ndarray:
    """Per domain: its valid respondents minus the strata they fall in (``SurveyDesign._group_degf``)."""
    inside = combos.group < n_groups
    rows = np.bincount(combos.group[inside], weights=valid_n[inside], minlength=n_groups).astype(np.int64)
    if design._n_h.size == 1:
        return rows - (rows > 0)
    used = inside & (valid_n > 0)
    pairs = np.unique(combos.group[used] * design._n_h.size + combos.stratum[used])
    strata = np.bincount(pairs // design._n_h.size, minlength=n_groups)
    return rows - strata


def _diagonal_variance(
    design: SurveyDesign, combos: Combinations, sums: ItemSums, p0: np.ndarray, inv_sw: np.ndarray
) -> np.ndarray:
    """Variances (domains × levels) of the shares: influence ``(1{y = k} − p_gk) / sw_g`` on domain g's valid
    rows, 0 elsewhere — the diagonal of ``_grouped_variance`` for that influence."""
    k, n_groups = sums.k, combos.n_groups
    if (
        design._cal is not None
        and design._n_h.size * design._cal["w0_cell"].size * (n_groups + 1) <= 2_000_000
    ):
        return _diagonal_variance_calibrated(design, combos, sums, p0, inv_sw)
    if design._cal is not None:
        # general path: influence of every (domain, level) column for every (combination, slot)
        n_cols = n_groups * k
        z = np.zeros((n_cols + 1, n_cols))
        eye = np.eye(k)
        for gi in range(n_groups):
            block = slice(gi * k, (gi + 1) * k)
            z[block, block] = (eye - p0[gi][None, :]) * inv_sw[gi]
        n_slots = sums.w1.shape[1]
        slots = np.arange(n_slots)
        inside = (combos.group[:, None] < n_groups) & (slots[None, :] < k)
        col = np.where(inside, combos.group[:, None] * k + slots[None, :], n_cols)
        var = design._grouped_variance_from_sums(
            *_aggregated(combos, sums, col.ravel(), n_cols), z, diagonal=True
        )
        return var.reshape(n_groups, k)
    # no calibration: a row's influence is non-zero only in its own domain's columns
    n_h = design._n_h
    scale = design._fpc_factor * n_h / (n_h - 1.0)
    inside = combos.group < n_groups
    g, h = combos.group[inside], combos.stratum[inside]
    zb = (np.eye(k)[None, :, :] - p0[:, None, :]) * inv_sw[:, None, None]  # [domain, row's level, column]
    w2s = _per_group(sums.w2[inside, :k] * scale[h][:, None], g, n_groups)  # Σ scale_h w² per (domain, level)
    s2 = np.einsum("gj,gjk->gk", w2s, zb * zb)
    w1h = np.zeros((n_h.size, n_groups, k))
    np.add.at(w1h, (h, g), sums.w1[inside, :k])
    s1 = np.einsum("hgj,gjk->hgk", w1h, zb)
    return s2 - np.einsum("hgk,h->gk", s1 * s1, scale / n_h)


def _diagonal_variance_calibrated(
    design: SurveyDesign, combos: Combinations, sums: ItemSums, p0: np.ndarray, inv_sw: np.ndarray
) -> np.ndarray:
    """:func:`_diagonal_variance` of a calibrated design from dense (stratum, calibration cell, domain, level)
    totals: the residual of a row of domain g with level j is ``z_gjk − f_cgk`` (``z_gjk = (δ_jk − p_gk) /
    sw_g``), of every other row ``−f_cgk``, ``f`` the calibration fit of the cell sums of ``w0 z``."""
    k, n_groups = sums.k, combos.n_groups
    cal, n_h = design._cal, design._n_h
    n_cal = cal["w0_cell"].size
    scale = design._fpc_factor * n_h / (n_h - 1.0)
    shape = (n_h.size, n_cal, n_groups + 1, k)
    flat = (combos.stratum * n_cal + combos.cell) * (n_groups + 1) + combos.group
    size = n_h.size * n_cal * (n_groups + 1)

    def dense(values: np.ndarray) -> np.ndarray:  # valid levels only, by (stratum, cell, domain, level)
        key = (flat[:, None] * k + np.arange(k)[None, :]).ravel()
        return np.bincount(key, weights=values[:, :k].ravel(), minlength=size * k).reshape(shape)

    def per_cell(values: np.ndarray) -> np.ndarray:  # every row, by (stratum, cell)
        key = combos.stratum * n_cal + combos.cell
        return np.bincount(key, weights=values.sum(axis=1), minlength=n_h.size * n_cal).reshape(
            n_h.size, n_cal
        )

    w0 = dense(sums.w0)[:, :, :n_groups].sum(axis=0)  # (cell, domain, level)
    w1 = dense(sums.w1)[:, :, :n_groups]  # (stratum, cell, domain, level)
    w2 = np.einsum("h,hcgj->cgj", scale, dense(sums.w2)[:, :, :n_groups])
    b1 = per_cell(sums.w1)  # (stratum, cell)
    b2 = scale @ per_cell(sums.w2)  # (cell,)
    z = (np.eye(k)[None, :, :] - p0[:, None, :]) * inv_sw[:, None, None]  # [domain, row's level, column]
    cell_sums = np.einsum("cgj,gjk->cgk", w0, z)
    fit = calibration_fit(cell_sums.reshape(n_cal, n_groups * k), cal["A"], cal["sqrt_w0_cell"])
    fit = fit.reshape(n_cal, n_groups, k)
    e = z[None, :, :, :] - fit[:, :, None, :]  # [cell, domain, row's level, column]
    rest = b2[:, None] - w2.sum(axis=2)  # Σ scale w² of the rows of a cell outside the domain's valid answers
    s2 = np.einsum("cgj,cgjk->gk", w2, e * e) + np.einsum("cg,cgk->gk", rest, fit * fit)
    s1 = np.einsum("hcgj,gjk->hgk", w1, z) - np.einsum("hc,cgk->hgk", b1, fit)
    return s2 - np.einsum("hgk,h->gk", s1 * s1, scale / n_h)


def crosstab(
    design: SurveyDesign,
    combos: Combinations,
    sums: ItemSums,
    rows: np.ndarray,
    cols: np.ndarray,
    row_labels: tuple,
    col_labels: tuple,
) -> ChisqResult:
    """``SurveyDesign.chisq`` of the table of domains ``rows`` × levels ``cols`` (indices, in that order): the
    rows of other domains or levels are left out of the table (zero influence), as ``chisq`` does for rows
    with a missing value. Needs at least 2 of each."""
    nr, nc, n_slots = len(rows), len(cols), sums.w1.shape[1]
    n_cells = nr * nc
    # table cell of every (combination, slot): rows vary fastest; n_cells = outside the table
    row_of = np.full(combos.n_groups + 1, -1)
    row_of[rows] = np.arange(nr)
    col_of = np.full(n_slots, -1)
    col_of[cols] = np.arange(nc)
    r = row_of[combos.group][:, None]
    c = col_of[None, :]
    cell = np.where((r >= 0) & (c >= 0), r + nr * c, n_cells)
    flat = cell.ravel()
    w1 = sums.w1.ravel()
    totals = np.bincount(flat, weights=w1, minlength=n_cells + 1)
    wd = totals[:n_cells].sum()
    p = totals[:n_cells] / wd
    if (p == 0).any() and _singular_correction(p, nr, nc):
        raise SingularTable(f"{int((p == 0).sum())} empty cells")
    if design._cal is None:
        v = _cell_vcov_uncalibrated(design, combos, sums, flat, p, wd, n_cells)
    else:
        v = _cell_vcov_calibrated(design, *_aggregated(combos, sums, flat, n_cells), p, wd, n_cells)
    return design._chisq_from_cells(p, v, tuple(row_labels), tuple(col_labels))


def _aggregated(combos: Combinations, sums: ItemSums, column: np.ndarray, n_columns: int) -> tuple:
    """(stratum, calibration cell, column, w1, w2, w0) of the distinct (stratum, cell, column) combinations,
    ``column`` giving each (combination, slot) its influence column (``n_columns``: none)."""
    n_slots = sums.w1.shape[1]
    rep = np.repeat(np.arange(combos.size), n_slots)
    n_cal = int(combos.cell.max()) + 1
    key = (combos.stratum[rep] * n_cal + combos.cell[rep]) * (n_columns + 1) + column
    index, found = pd.factorize(key)
    found = np.asarray(found, dtype=np.int64)

    def total(values: np.ndarray) -> np.ndarray:
        return np.bincount(index, weights=values.ravel(), minlength=found.size)

    return (
        found // ((n_columns + 1) * n_cal),
        (found // (n_columns + 1)) % n_cal,
        found % (n_columns + 1),
        total(sums.w1),
        total(sums.w2),
        total(sums.w0),
    )


def _z_times(x: np.ndarray, p: np.ndarray, wd: float, n_cells: int) -> np.ndarray:
    """``Z' x`` for the influence ``Z`` of the cell proportions (row j < n_cells: ``(δ_j − p) / wd``; the last
    row, outside the table: 0) and ``x`` with one row per table cell plus the outside row."""
    inside = x[:n_cells]
    return (inside - p[:, None] * inside.sum(axis=0)[None, :]) / wd


def _cell_vcov_calibrated(design, stratum, cell, column, w1, w2, w0, p, wd, n_cells) -> np.ndarray:
    """Covariance of the cell proportions of a calibrated design from (stratum, calibration cell, table cell)
    totals: ``_grouped_variance`` of the influence ``(δ_c − p) / wd`` with calibration residuals, its quadratic
    form expanded so that the cost is O(cells² × calibration cells), not O(cells³ × calibration cells)."""
    cal = design._cal
    n_cal, n_h = cal["w0_cell"].size, design._n_h
    scale = design._fpc_factor * n_h / (n_h - 1.0)
    cols = n_cells + 1

    def grid(values: np.ndarray, rows: np.ndarray, n_rows: int) -> np.ndarray:
        return np.bincount(rows * cols + column, weights=values, minlength=n_rows * cols).reshape(
            n_rows, cols
        )

    w0c = grid(w0, cell, n_cal)  # Σ w0 per (calibration cell, table cell)
    cell_sums = _z_times(w0c.T, p, wd, n_cells).T  # Σ_{i in cell} w0_i z_i
    fit = calibration_fit(cell_sums, cal["A"], cal["sqrt_w0_cell"])  # (calibration cells × table cells)
    w2s = grid(w2 * scale[stratum], cell, n_cal)  # Σ scale_h w² per (calibration cell, table cell)
    v_in = w2s.sum(axis=0)[:n_cells]
    zz = (np.diag(v_in) - np.outer(v_in, p) - np.outer(p, v_in) + v_in.sum() * np.outer(p, p)) / (wd * wd)
    zf = _z_times(w2s.T @ fit, p, wd, n_cells)  # Σ w² scale z f'
    s2 = zz - zf - zf.T + fit.T @ (fit * w2s.sum(axis=1)[:, None])
    w1h = grid(w1, stratum, n_h.size)  # Σ w per (stratum, table cell)
    b1 = np.bincount(stratum * n_cal + cell, weights=w1, minlength=n_h.size * n_cal).reshape(n_h.size, n_cal)
    s1 = _z_times(w1h.T, p, wd, n_cells).T - b1 @ fit
    return s2 - s1.T @ (s1 * (scale / n_h)[:, None])


def _singular_correction(p: np.ndarray, nr: int, nc: int) -> bool:
    """Whether ``C' D⁻¹ C`` of :meth:`SurveyDesign.chisq` (empty cells: ``1 / p`` taken as 0, as
    ``svychisq`` does) is singular, which makes ``Delta`` and the test arbitrary.

    Its null space is the interaction vectors (all row and column sums 0) that are zero on every non-empty
    cell. Such a vector exists exactly when the empty cells, as edges between their row and their column,
    contain a cycle (a vector ±1 around the cycle has zero row and column sums); without a cycle, every
    interaction vector supported on them is 0. So: a union-find over the empty cells.
    """
    parent = list(range(nr + nc))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for cell in np.flatnonzero(p == 0):
        a, b = root(int(cell) % nr), root(nr + int(cell) // nr)  # rows vary fastest
        if a == b:
            return True
        parent[a] = b
    return False


def _cell_vcov_uncalibrated(design, combos, sums, flat, p, wd, n_cells) -> np.ndarray:
    """Covariance of the cell proportions without calibration: influence ``(δ_c − p) / wd`` in cell c."""
    n_h = design._n_h
    scale = design._fpc_factor * n_h / (n_h - 1.0)
    h = np.repeat(combos.stratum, sums.w1.shape[1])
    inside = flat < n_cells
    w2s = np.bincount(flat[inside], weights=sums.w2.ravel()[inside] * scale[h[inside]], minlength=n_cells)
    total = w2s.sum()
    s2 = (np.diag(w2s) - np.outer(w2s, p) - np.outer(p, w2s) + total * np.outer(p, p)) / (wd * wd)
    w1h = np.zeros((n_h.size, n_cells))
    np.add.at(w1h, (h[inside], flat[inside]), sums.w1.ravel()[inside])
    s1 = (w1h - w1h.sum(axis=1)[:, None] * p[None, :]) / wd
    return s2 - s1.T @ (s1 * (scale / n_h)[:, None])
