"""Problem states of unit × item cells: a two-class empirical-Bayes model over every evidence stream.

Why not rules on raw ratings: with 8 districts, "≥ 3 districts below the line" happens by chance on about one
point in ten. Instead each applicable cell (unit u, item i) has a latent state — problem or not — and the
evidence rows of :mod:`pipeline.findings.evidence` are read as draws given that state:

- checkpoint ratings, pooled over the sources of a cell: without the problem beta-binomial with mean ``b_u``,
  the unit's own failure rate over all its checkpoints (judging the unit against what its other ratings predict;
  shrunk toward the city rate with ``baseline_strength`` pseudo-ratings so a unit with few ratings is not
  over-read), and concentration :data:`CELL_CONCENTRATION` (the ratings of one cell share its item-specific
  quality, so they are not independent draws); with it ``k ~ Binomial(m, p1)``;
- case-file categories (:mod:`pipeline.findings.defects`): the defect counts of all the unit's categories read
  together as a negative multinomial (a unit factor shared by its categories), a problem multiplying the rate of
  every category the item feeds by ``ρ``; a category that feeds several items is raised when any of them has a
  problem (a noisy-OR), so without a problem of its own a cell's categories are raised with the current
  posterior that another item they feed has one in the unit (a mean-field step, damped);
- veto: ``Binomial(m, p0)`` at the city rate against ``Binomial(m, min(ρ·p0, .95))``, shared the same way;
- questionnaire gap: ``z`` centred on the unit's median over all its items of that questionnaire (baseline
  differences between units stay out of the evidence) and divided by the unit's null spread ``√(a + b·n)``
  (:func:`_unit_spread`: a gap / SE mixes sampling error with the unit's true item-to-item differences, whose z
  grows with the sample size n, so a large district needs a larger gap than a small department), then
  a Student t (:data:`SURVEY_DF` degrees of freedom, scale σ) against a two-piece t with its mode ``μ1`` fixed
  :data:`MIN_SHIFT` σ below zero, scale ``√(σ² + τ²)`` below it and σ above it: plants differ in effect and
  units in sample size, and a mode fitted on the strongest problems (individual ones at large units) would
  count the moderate gaps of a common problem against it; t tails because the gaps have heavier tails than a
  normal, even without a problem.

The prior share of cells with the problem on item i, ``π_i``, is estimated too and shrunk toward the overall
share with ``prior_strength`` pseudo-units. ``p1`` (at least :data:`P1_MIN`), ``ρ``, ``τ``, ``b_u`` and ``π_i``
are fitted by EM.

The model is fitted twice (:func:`_em`). The first fit reads the checkpoints as failed/passed against the
beta-binomial above; its posterior is the cell's output (local fdr 1 − posterior), what the individual problems
are chosen from: a cautious null for a single cell. The second starts from it and reads the checkpoint ratings
on all four levels (:func:`pipeline.stats.ordinal.ordinal_null`: an ordered probit with a location per unit and
a random cell effect, fitted to the cells at their first-fit chance of no problem, against the level shares of
the first fit's problem cells), because a problem fails about half its points as 未落实 where a unit without one
rarely does. The common problems come from this second fit: its sharper evidence finds more of a common
problem's units (common recall 0.74 → 0.78 over eight seeds of the recovery benchmark), while on single cells the ordinal null is
the bolder one (it let false individual problems through).

Every item also gets a mixture test (:func:`item_mixture`): a common problem puts a dozen units in the problem
state at once, each often too weakly shown for a finding of its own, so the item's cells are pooled as a
two-component mixture and the likelihood ratio of the maximum-likelihood share against none is the test. It
reads the second fit, with the problem state's failed share :data:`P1_MIN` (a common problem is shown
unevenly, see :func:`_problem_levels`).

Besides the cells, every item × stream gets a city-wide excess test: the failures observed over all units
against what the units' baselines predict (one-sided normal approximation of the Poisson-binomial; for
questionnaires the mean centred gap), Benjamini–Hochberg adjusted over every item × stream.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special
from scipy import stats as sps

from pipeline.config.findings import FindingsRules
from pipeline.findings.defects import DefectCounts
from pipeline.findings.structure import Structure
from pipeline.stats.multiplicity import benjamini_hochberg
from pipeline.stats.ordinal import ordinal_null

CHECKPOINT_STREAMS = ("document", "online", "site")
ITERATIONS = 500
TOLERANCE = 1e-7
"""EM stops when no posterior moves by more than this in an iteration (or after :data:`ITERATIONS`)."""
PIECE_Z = 1.645
"""A piece of evidence corroborates an item-wide excess when its own one-sided z exceeds this (p < .05)."""
CELL_CONCENTRATION = 7.0
"""Concentration (α + β) of a cell's checkpoint failure rate around its unit baseline without a problem: the
item-specific part of quality (simulate/latent.py) makes ratings of one cell correlate (intra-cell ≈ 0.12)."""
STATE_COLUMNS = ["unit", "item", "posterior", "lfdr", "llr", "prior", "n_streams", "common_posterior"]
ITEM_TEST_COLUMNS = ["item", "share", "llr", "n_pieces", "n_corroborating", "corroborating", "z", "p", "p_bh"]
P1_MAX = 0.95
P1_MIN = 0.7
"""Smallest failure rate of a checkpoint in the problem state: a problem fails most of its points (a looser
class would absorb the ordinary bad cells of weak units)."""
MIN_SHIFT = 0.25
"""Mode of the centred survey gap in the problem state, in σ below zero (the spread below it is fitted)."""
SURVEY_DF = 20
"""Degrees of freedom of the Student t of the centred survey gaps, in and out of the problem state: in simulated
runs with nothing planted, gaps beyond 4 σ below zero came about 25 times as often as a normal predicts (3 in
3,759), and a normal null made each of them near-certain evidence of a problem; with t tails a very large gap
is strong evidence, not proof."""
MIXTURE_ITERATIONS = 300
MAX_SHARE = 0.6
"""Largest share of an item's units in the problem state the item-level mixture considers."""
"""Largest failure rate of a checkpoint in the problem state (a rate of 1 would make one passed point a veto)."""


@dataclass(frozen=True)
class States:
    """``cells``: one row per applicable unit × item with evidence (``unit, item, posterior, lfdr, llr,
    prior, n_streams``); ``items``: one row per item (``item, n_pieces, n_corroborating, corroborating, z, p, p_bh``);
    ``parameters``: the fitted model (``p1``, ``rho``, ``mu1``, ``tau``, ``sigma``, ``pi`` of the first fit, the
    defect counts' ``count_ratio`` and ``count_shape``, ``pi_levels`` of the second); ``evidence``: the rows read."""

    cells: pd.DataFrame
    items: pd.DataFrame
    parameters: dict[str, float]
    evidence: pd.DataFrame


def infer_states(
    evidence: pd.DataFrame, rules: FindingsRules, st: Structure, ratings: pd.DataFrame | None = None
) -> States:
    """Fit the two-class model (module docstring) and return every cell's posterior and the item tests."""
    ev = evidence.reset_index(drop=True).copy()
    cells = ev[["unit", "item"]].drop_duplicates().sort_values(["unit", "item"]).reset_index(drop=True)
    if not len(cells):
        empty = pd.DataFrame(columns=STATE_COLUMNS)
        items = pd.DataFrame(columns=ITEM_TEST_COLUMNS)
        return States(empty, items, {}, ev)
    d = _arrays(ev, cells, ratings, rules)
    # first fit, checkpoints failed/passed: the cells' posteriors, what the individual problems come from
    first = _em(d, rules, None, None)
    mix_llr, cell_sd, last = first.cell_llr, np.nan, first
    if d.levels is not None:
        # second fit, the ratings on their four levels: the item mixture, what the common problems come from
        counts, bad_level = d.levels
        l0, _ = ordinal_null(counts, d.unit_idx, len(d.units), 1 - first.post)
        ordinal = counts @ np.log(_problem_levels(first.post @ counts, bad_level)) - l0
        last = _em(d, rules, first, ordinal)
        l0, cell_sd = ordinal_null(counts, d.unit_idx, len(d.units), 1 - last.post)
        q = _problem_levels(last.post @ counts, bad_level, fail=P1_MIN)
        mix_llr = last.cell_llr - ordinal + counts @ np.log(q) - l0
    out = cells.copy()
    out["posterior"] = first.post
    out["lfdr"] = 1 - first.post
    out["llr"] = first.cell_llr
    out["prior"] = first.pi_item[d.item_idx]
    out["n_streams"] = np.bincount(d.cell_of, minlength=len(cells))
    baseline = dict(zip(d.units, first.base, strict=True))
    ev["p0"] = np.where(d.is_cp, [baseline[u] for u in ev["unit"]], ev["p0"])
    ev["z_centred"] = d.zc
    tests = _item_tests(ev, ratings, dict(zip(d.units, _unit_rates(d, rules), strict=True)), d.is_z, d.sigma)
    share, item_llr = item_mixture(mix_llr, d.item_idx, len(d.item_codes))
    lr = np.exp(np.clip(mix_llr, -50, 50))
    out["common_posterior"] = share[d.item_idx] * lr / (1 - share[d.item_idx] + share[d.item_idx] * lr)
    mixture = pd.DataFrame({"item": d.item_codes, "share": share, "llr": item_llr})
    tests = mixture.merge(tests, on="item", how="left")
    tests[["n_pieces", "n_corroborating"]] = tests[["n_pieces", "n_corroborating"]].fillna(0).astype(int)
    tests = tests.fillna({"corroborating": ""})[ITEM_TEST_COLUMNS]
    params = {"p1": first.p1, "rho": first.rho, "mu1": first.mu1, "tau": first.tau, "sigma": d.sigma,
              "pi": float(first.post.mean()), "city_rate": d.city_rate, "cell_sd": float(cell_sd),
              "count_ratio": first.defects.ratio, "count_shape": first.defects.shape,
              "pi_levels": float(last.post.mean())}  # fmt: skip
    return States(out, tests, params, ev)


@dataclass(frozen=True)
class _Arrays:
    """The evidence rows as arrays the EM reads (one entry per row unless said per cell or unit)."""

    cell_of: np.ndarray
    is_cp: np.ndarray
    is_cf: np.ndarray
    is_z: np.ndarray
    is_ct: np.ndarray
    m: np.ndarray
    k: np.ndarray
    p0_city: np.ndarray
    zc: np.ndarray
    sigma: float
    units: np.ndarray
    unit_idx: np.ndarray
    """Per cell, its unit's position in ``units``."""
    item_codes: np.ndarray
    item_idx: np.ndarray
    """Per cell, its item's position in ``item_codes``."""
    cell_k: np.ndarray
    cell_m: np.ndarray
    """Per cell, failed and rated checkpoints."""
    city_rate: float
    shared: tuple[np.ndarray, np.ndarray]
    levels: tuple[np.ndarray, np.ndarray] | None
    ev: pd.DataFrame
    spread: float


def _arrays(
    ev: pd.DataFrame, cells: pd.DataFrame, ratings: pd.DataFrame | None, rules: FindingsRules
) -> _Arrays:
    cell_index = pd.MultiIndex.from_frame(cells)
    cell_of = cell_index.get_indexer(pd.MultiIndex.from_frame(ev[["unit", "item"]]))
    is_cp = ev["stream"].isin(CHECKPOINT_STREAMS).to_numpy()
    is_cf = ((ev["kind"] == "binomial").to_numpy()) & ~is_cp
    is_z = (ev["kind"] == "normal").to_numpy()
    is_ct = (ev["kind"] == "count").to_numpy()
    m, k = ev["m"].fillna(0).to_numpy(), ev["k"].fillna(0).to_numpy()
    # questionnaire gaps centred on the unit's median gap of that questionnaire, over the unit's null spread
    zc = np.full(len(ev), np.nan)
    sigma = 1.0
    if is_z.any():
        zs = ev.loc[is_z, ["unit", "stream", "z"]]
        centred = zs["z"] - zs.groupby(["unit", "stream"])["z"].transform("median")
        spread = _unit_spread(centred, zs["stream"], zs["unit"], ev.loc[is_z, "n"])
        sigma = max(_robust_spread(centred), 1.0)
        zc[is_z] = centred.to_numpy() / np.maximum(spread.to_numpy(), 1.0) * sigma
    units, unit_idx = np.unique(cells["unit"].to_numpy(), return_inverse=True)
    item_codes, item_idx = np.unique(cells["item"].to_numpy(), return_inverse=True)
    return _Arrays(
        cell_of=cell_of, is_cp=is_cp, is_cf=is_cf, is_z=is_z, is_ct=is_ct, m=m, k=k,
        p0_city=ev["p0"].fillna(0).clip(1e-4, 0.95).to_numpy(), zc=zc, sigma=sigma, units=units,
        unit_idx=unit_idx, item_codes=item_codes, item_idx=item_idx,
        cell_k=np.bincount(cell_of[is_cp], weights=k[is_cp], minlength=len(cells)),
        cell_m=np.bincount(cell_of[is_cp], weights=m[is_cp], minlength=len(cells)),
        city_rate=float(k[is_cp].sum() / max(m[is_cp].sum(), 1)) if is_cp.any() else 0.15,
        shared=_shared_categories(ev, is_cf), levels=_level_counts(ratings, cell_index), ev=ev,
        spread=rules.casefile_unit_spread,
    )  # fmt: skip


@dataclass
class _Fit:
    """One EM fit: per cell ``post`` and ``cell_llr``, per unit ``base``, per item ``pi_item``, the rest scalars."""

    post: np.ndarray
    cell_llr: np.ndarray
    base: np.ndarray
    pi_item: np.ndarray
    p1: float
    rho: float
    mu1: float
    tau: float
    defects: DefectCounts


def _em(d: _Arrays, rules: FindingsRules, start: _Fit | None, ordinal: np.ndarray | None) -> _Fit:
    """Fit the two-class model by EM from ``start`` (or a 5 % prior everywhere). The checkpoints enter as
    failed/passed against the unit baseline (beta-binomial, ``ordinal`` None) or, when given, as the per-cell
    log-likelihood ratio ``ordinal`` of their four levels (held fixed)."""
    n_cells = len(d.unit_idx)
    cp, cf, z = d.is_cp, d.is_cf, d.is_z
    if start is None:
        post = np.full(n_cells, 0.05)
        p1, rho, mu1, tau = 0.7, 3.0, -MIN_SHIFT * d.sigma, d.sigma
        pi_item = np.full(len(d.item_codes), 0.05)
        defects = DefectCounts(d.ev, d.is_ct, d.cell_of, d.spread)
    else:
        post, p1, rho, mu1, tau = start.post, start.p1, start.rho, start.mu1, start.tau
        pi_item, defects = start.pi_item, copy.deepcopy(start.defects)
    k, m = d.k, d.m
    count_llr = None
    for _ in range(ITERATIONS):
        # unit baselines from the ratings weighted by the chance they carry no problem
        base = _unit_rates(d, rules, 1 - post[d.cell_of])
        other = _other_problem(d.shared, post, len(d.ev), d.cell_of)
        llr = _row_llr(cp, cf, z, m, k, d.p0_city, d.zc, other, p1, rho, mu1, tau, d.sigma)
        # the count rows read the other cells of their unit (mean field): damped, or it can settle into a cycle
        count_llr = defects.llr(post) if count_llr is None else 0.5 * (count_llr + defects.llr(post))
        llr[d.is_ct] = count_llr
        cell_llr = np.bincount(d.cell_of, weights=llr, minlength=n_cells)
        if ordinal is None:
            cell_llr += _checkpoint_llr(d.cell_k, d.cell_m, base[d.unit_idx], p1)
        else:
            cell_llr += ordinal
        new = special.expit(cell_llr + special.logit(pi_item[d.item_idx]))
        w1 = new[d.cell_of]
        if cp.any() and (w1 * m)[cp].sum() > 0:
            p1 = float(np.clip((w1 * k)[cp].sum() / (w1 * m)[cp].sum(), P1_MIN, P1_MAX))
        if cf.any() and (w1 * m * d.p0_city)[cf].sum() > 0:
            rho = float(np.clip((w1 * k)[cf].sum() / (w1 * m * d.p0_city)[cf].sum(), 1.0, 20.0))
        defects.update(new)
        if z.any() and w1[z].sum() > 0:
            mu1 = -MIN_SHIFT * d.sigma
            below = z & (d.zc < mu1)
            var = float((w1 * (d.zc - mu1) ** 2)[below].sum() / max(w1[below].sum(), 1e-12))
            tau = float(np.sqrt(max(var - d.sigma**2, 0.0)))
        a = rules.prior_strength
        pi_item = (np.bincount(d.item_idx, weights=new) + a * float(new.mean())) / (
            np.bincount(d.item_idx) + a
        )
        pi_item = np.clip(pi_item, 1e-4, 0.9)
        converged = np.max(np.abs(new - post)) < TOLERANCE
        post = new
        if converged:
            break
    return _Fit(post, cell_llr, base, pi_item, p1, rho, mu1, tau, defects)


def _unit_rates(d: _Arrays, rules: FindingsRules, weights: np.ndarray | None = None) -> np.ndarray:
    """Per unit, its failure rate over its checkpoint ratings, each row weighted by ``weights`` (all 1 if None),
    shrunk toward the city's rate with ``baseline_strength`` pseudo-ratings.

    The EM weights a row by its cell's chance of no problem (the model's baseline); the city-wide excess tests
    take every rating (None). Why not the model's baseline there: it leaves out the ratings of cells the model
    believes to be problems, so it is lower than the unit's rate and every item would show an excess over it
    (two false common problems in a run with nothing planted)."""
    w = np.ones(len(d.k)) if weights is None else weights
    unit = d.unit_idx[d.cell_of][d.is_cp]
    num = np.bincount(unit, weights=(w * d.k)[d.is_cp], minlength=len(d.units))
    den = np.bincount(unit, weights=(w * d.m)[d.is_cp], minlength=len(d.units))
    s = rules.baseline_strength
    return (num + s * d.city_rate) / (den + s)


def _unit_spread(centred: pd.Series, stream: pd.Series, unit: pd.Series, n: pd.Series) -> pd.Series:
    """Per row, the null spread of its unit's centred gaps in that questionnaire: ``√(a + b·n)`` with ``n`` the
    unit's sample size, ``a`` and ``b`` fitted per questionnaire by least squares to the units' squared robust
    spreads (units with at least 3 gaps; ``b ≥ 0``, ``a ≥ 1``).

    Why: a gap / SE mixes sampling error (variance 1) with the unit's true item-to-item differences, whose z
    grows as √n. One spread per questionnaire reads every item a large district does slightly worse on as a
    problem and misses real gaps at small units; the unit's own spread of gaps over its items is the null it
    is judged against, and the regression on n keeps it stable with a dozen items per unit."""
    out = pd.Series(np.nan, index=centred.index)
    frame = pd.DataFrame({"c": centred, "s": stream, "u": unit, "n": n})
    for _, g in frame.groupby("s"):
        per = g.groupby("u").agg(v=("c", _robust_spread), n=("n", "median"), size=("c", "size"))
        per = per[(per["size"] >= 3) & per["n"].notna()]
        if len(per) >= 4 and per["n"].nunique() > 1:
            b, a = np.polyfit(per["n"].to_numpy(float), per["v"].to_numpy(float) ** 2, 1)
            a, b = max(a, 1.0), max(b, 0.0)
        else:
            a, b = max(_robust_spread(g["c"]) ** 2, 1.0), 0.0
        out[g.index] = np.sqrt(a + b * g["n"].fillna(g["n"].median()).fillna(0).to_numpy(float))
    return out


def _level_counts(ratings: pd.DataFrame | None, cell_index: pd.MultiIndex):
    """Per cell, its checkpoint ratings counted by level (cells × levels, level 0 the lowest), and which levels
    count as failed; None without ratings or without both failed and passed levels."""
    if ratings is None or not len(ratings) or "level" not in ratings.columns:
        return None
    r = ratings.assign(cell=cell_index.get_indexer(pd.MultiIndex.from_frame(ratings[["unit", "item"]])))
    r = r[r["cell"] >= 0]
    if not len(r):
        return None
    n_levels = int(r["level"].max()) + 1
    counts = np.zeros((len(cell_index), n_levels))
    np.add.at(counts, (r["cell"].to_numpy(), r["level"].to_numpy(dtype=int)), 1.0)
    bad = r.groupby("level")["bad"].max().reindex(range(n_levels), fill_value=0).to_numpy() > 0
    if not bad.any() or bad.all():
        return None
    return counts, bad


def _problem_levels(weighted: np.ndarray, bad: np.ndarray, *, fail: float | None = None) -> np.ndarray:
    """Level probabilities in the problem state from the posterior-weighted level counts (half a pseudo-count
    each): the shares within the failed and within the passed levels as weighted, the failed share ``fail``, or
    if None the weighted one kept within [:data:`P1_MIN`, :data:`P1_MAX`] as for the binary rate.

    The item mixture passes ``fail`` = :data:`P1_MIN`. Why: the cell posteriors that weight the counts come from
    the cells shown clearly — individual problems and the strongest cells of common ones, nearly all points
    failed — so the fitted failed share is 0.85–0.95; a common problem is shown unevenly over its dozen units,
    and at such a share one passed point of an affected unit with two or three rated points counts strongly
    against the problem state. The mixture asks whether a share of the units has a problem at all, so its
    problem state is the weakest one the model admits (most of the points failed, no more)."""
    q = (weighted + 0.5) / (weighted.sum() + 0.5 * len(weighted))
    if fail is None:
        fail = float(np.clip(q[bad].sum(), P1_MIN, P1_MAX))
    return np.where(bad, q * fail / q[bad].sum(), q * (1 - fail) / q[~bad].sum())


def _robust_spread(x: pd.Series) -> float:
    """The MAD of ``x`` scaled to a normal SD."""
    return float(np.median(np.abs(x - np.median(x)))) * 1.4826


def _checkpoint_llr(k: np.ndarray, m: np.ndarray, base: np.ndarray, p1: float) -> np.ndarray:
    """log L(problem) − log L(no problem) of each cell's checkpoint ratings pooled over the sources.

    Without the problem the ratings of one cell share the cell's own quality, which the unit baseline only
    predicts in part: beta-binomial with mean ``base`` and concentration :data:`CELL_CONCENTRATION`, so two
    failed points of one cell are weaker evidence than two independent ones. With it: binomial at ``p1``."""
    a, b = base * CELL_CONCENTRATION, (1 - base) * CELL_CONCENTRATION
    l1 = k * np.log(p1) + (m - k) * np.log1p(-p1)
    l0 = special.betaln(k + a, m - k + b) - special.betaln(a, b)
    return l1 - l0


def _row_llr(is_cp, is_cf, is_z, m, k, p0_city, zc, other, p1, rho, mu1, tau, sigma) -> np.ndarray:
    """log L(problem) − log L(no problem) of every evidence row (binomial coefficients cancel).

    A case-file category's defects rise when *any* item it feeds has a problem in the unit (a noisy-OR): without
    a problem of its own the cell's category row is a mixture, raised with the probability ``other`` that another
    item it feeds has one (the current posteriors, a mean-field step). A survey gap in the problem state is
    ``N(μ1, σ² + τ²)``: plants differ in effect and units in sample size, so the shift is not one number."""
    llr = np.zeros(len(m))
    if is_cf.any():
        q0, kk, mm = p0_city[is_cf], k[is_cf], m[is_cf]
        q1 = np.minimum(rho * q0, 0.95)
        d = kk * np.log(q1 / q0) + (mm - kk) * np.log((1 - q1) / (1 - q0))
        llr[is_cf] = _raised_llr(d, other[is_cf])
    if is_z.any():
        x = zc[is_z]
        llr[is_z] = _split_t_logpdf(x, mu1, np.hypot(sigma, tau), sigma, SURVEY_DF) - sps.t.logpdf(
            x, SURVEY_DF, 0, sigma
        )
    return llr


def _raised_llr(d: np.ndarray, other: np.ndarray) -> np.ndarray:
    """A shared case-file row's log-likelihood ratio for its own item, from ``d`` = log P(raised) − log P(not):
    without a problem of its own the row is raised anyway with probability ``other`` (a noisy-OR)."""
    return -np.log((1 - other) * np.exp(-np.clip(d, -50, 50)) + other)


def _split_t_logpdf(x: np.ndarray, mu: float, left: float, right: float, df: float) -> np.ndarray:
    """log density of the two-piece Student t with ``df`` degrees of freedom, mode ``mu``, scale ``left`` below
    it and ``right`` above it (John 1982's two-piece form): a problem widens the gaps only downward, so a unit
    rated above its peers is no evidence of one."""
    scale = np.where(x < mu, left, right)
    return np.log(2 / (left + right)) + sps.t.logpdf((x - mu) / scale, df)


def _shared_categories(ev: pd.DataFrame, is_cf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (evidence row, row of another item) of one unit's case-file category that feeds several items."""
    rows = ev.loc[is_cf, ["unit", "item", "stream"]].reset_index()
    pairs = rows.merge(rows, on=["unit", "stream"], suffixes=("", "_other"))
    pairs = pairs[pairs["item"] != pairs["item_other"]]
    return pairs["index"].to_numpy(dtype=int), pairs["index_other"].to_numpy(dtype=int)


def _other_problem(shared, post: np.ndarray, n_rows: int, cell_of: np.ndarray) -> np.ndarray:
    """Per evidence row, the probability that another item its category feeds has a problem in the unit."""
    row, other = shared
    p = np.clip(post[cell_of[other]], 0, 1 - 1e-12)
    return -np.expm1(np.bincount(row, weights=np.log1p(-p), minlength=n_rows))


def item_mixture(
    llr: np.ndarray, item_idx: np.ndarray, n_items: int, *, drop: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Per item, the maximum-likelihood share π of its units in the problem state and the log-likelihood ratio
    ``Σ log(1 − π + π·LR)`` of that share against none, leaving out the ``drop`` largest unit contributions.

    A common problem raises the failures of many units at once: the mixture pools the cells' likelihood
    ratios, so a dozen cells each too weak for an individual finding add up (the item-level test of a
    two-component mixture, as in a test for a zero mixing proportion). Leaving out the largest contributions
    keeps one or two extreme cells — individual problems — from making an item common."""
    lr = np.exp(np.clip(llr, -50, 50))
    size = np.maximum(np.bincount(item_idx, minlength=n_items), 1)
    share = np.full(n_items, 0.1)
    for _ in range(MIXTURE_ITERATIONS):
        s = share[item_idx]
        post = s * lr / (1 - s + s * lr)
        share = np.clip(np.bincount(item_idx, weights=post, minlength=n_items) / size, 0.0, MAX_SHARE)
    contrib = np.log1p(share[item_idx] * (lr - 1))
    out = np.zeros(n_items)
    for j in range(n_items):
        c = np.sort(contrib[item_idx == j])
        out[j] = float(c[: max(len(c) - drop, 0)].sum())
    return share, out


def _item_tests(
    ev: pd.DataFrame, ratings: pd.DataFrame | None, baseline: dict, is_z, sigma: float
) -> pd.DataFrame:
    """City-wide excess per item: one piece per checkpoint point × source (failures against the units'
    baselines) and per questionnaire (mean centred gap); the item's z is the Stouffer sum of its pieces."""
    rows = []
    if ratings is not None and len(ratings):
        r = ratings.assign(
            p0=ratings["unit"].map(baseline).fillna(np.mean(list(baseline.values()) or [0.15]))
        )
        r = r.assign(var=r["p0"] * (1 - r["p0"]))
        g = r.groupby(["item", "point", "stream"], sort=True)[["bad", "p0", "var"]].sum()
        for (item, point, stream), row in g.iterrows():
            zval = (row["bad"] - row["p0"]) / np.sqrt(row["var"]) if row["var"] > 0 else 0.0
            rows.append((item, f"{stream}:{point}", float(row["bad"]), float(row["p0"]), float(zval)))
    for (item, stream), g in ev[is_z].groupby(["item", "stream"], sort=True):
        zval = -g["z_centred"].sum() / (sigma * np.sqrt(len(g)))
        rows.append((item, stream, float(-g["z_centred"].sum()), 0.0, float(zval)))
    pieces = pd.DataFrame(rows, columns=["item", "piece", "observed", "expected", "z"])
    out = []
    for item, g in pieces.groupby("item", sort=True):
        zsum = float(g["z"].sum() / np.sqrt(len(g)))
        out.append(
            (item, len(g), int((g["z"] > PIECE_Z).sum()), ",".join(g.loc[g["z"] > PIECE_Z, "piece"]), zsum)
        )
    tests = pd.DataFrame(out, columns=["item", "n_pieces", "n_corroborating", "corroborating", "z"])
    tests["p"] = sps.norm.sf(tests["z"].to_numpy(dtype=float)) if len(tests) else []
    tests["p_bh"] = benjamini_hochberg(tests["p"].to_numpy()) if len(tests) else []
    return tests
