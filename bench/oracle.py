"""The oracle: findings of a classifier that knows the simulator's exact model (pipeline/simulate/).

It reads the same data the pipeline reads (``02_clean``: ``checkpoints``, ``casefiles``) and, per unit × item
cell, compares the likelihood of the evidence in a problem state with the likelihood without one:

- checkpoint ratings: with a problem each point is rated 部分落实/未落实 with probability 0.75 (common) or 0.9
  (individual), each equally likely, else 基本落实 (70 %) or 完全落实 (checkpoints.py); without one the rating
  follows ``y = Y0 + 0.6·b + 0.75·ε`` cut at ``CUTS``, with the cell's baseline quality ``b`` integrated over its
  distribution N(0, 1) — the points of one cell share ``b``;
- case files: the defect counts of the categories feeding the item, Poisson with the simulator's mean
  (detection 0.9, false findings, ``exp(−0.35·b)``; × 3 with a problem), the same ``b``; for 5.2 the vetoes;
- survey answers are not used (at the unit level they add little next to the field signatures), so the
  figures are a lower bound of what the exact model allows.

Decisions (Bayes, with the prior frequencies of the bundled plant spec):

- common: per item, the Bayes factor of "a share π of the applicable units is in the common state" (π uniform
  on 5–50 %) against "none"; the item is declared when the posterior with prior :data:`COMMON_ITEM_PRIOR` passes
  ½, and the finding lists the units whose posterior of the state, at the share estimated by EM, passes ½;
- individual: for a cell of an item not declared common, the probability that a finding there is correct —
  planted, or truly in the bottom 5 % of cells (``b`` below the 5 % quantile) — passes
  :data:`INDIVIDUAL_THRESHOLD` (½). At 0.9 (the precision target) it makes no individual finding at all: two
  checkpoint points and a prior of 15 in 4,300 cells cannot reach such odds without the survey evidence.

Known limits (a stronger oracle is future work): survey answers are left out, and ``b`` is integrated over
N(0, 1) rather than predicted from the unit's other items (``0.5·g + 0.55·a`` explains about half of its
variance); case-file categories that feed several items are read as evidence for each of them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from bench.recovery import Finding
from pipeline.config.loader import Config
from pipeline.simulate import casefiles as sim_cf
from pipeline.simulate import checkpoints as sim_cp
from pipeline.simulate.latent import COMMON, INDIVIDUAL, item_applies

#: prior share of items carrying a common problem, and of cells carrying an individual one (bundled spec:
#: 12 of 53 items, 15 of about 4,300 applicable cells).
COMMON_ITEM_PRIOR = 12 / 53
INDIVIDUAL_CELL_PRIOR = 15 / 4300
#: an individual finding is made where it is more likely correct than not (the Bayes decision).
INDIVIDUAL_THRESHOLD = 0.5
BOTTOM_Z = stats.norm.ppf(0.05)
_GRID = np.linspace(-5, 5, 201)
_W = stats.norm.pdf(_GRID) * (_GRID[1] - _GRID[0])
_PI = np.linspace(0.05, 0.5, 19)


def _rating_probs(n_ratings: int) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """P(rating k | b) on the grid without a problem (k × grid), and P(rating k) in each problem state."""
    cuts = np.concatenate([[-np.inf], sim_cp.CUTS, [np.inf]])
    mu = sim_cp.Y0 + sim_cp.LOADING * _GRID
    cdf = stats.norm.cdf((cuts[:, None] - mu[None, :]) / sim_cp.NOISE)
    p0 = np.diff(cdf, axis=0)
    state = {}
    for s in (COMMON, INDIVIDUAL):
        p = sim_cp.BAD_PROBABILITY[s]
        n_bad = n_ratings // 2
        good = n_ratings - n_bad
        row = np.r_[np.full(n_bad, p / n_bad), np.zeros(good)]
        row[-1] = (1 - p) * sim_cp.STATE_TOP_SHARE
        row[n_bad : n_ratings - 1] = (1 - p) * (1 - sim_cp.STATE_TOP_SHARE) / max(good - 1, 1)
        state[s] = row
    return p0, state


def _casefile_model(config: Config) -> tuple[float, dict[str, dict[str, np.ndarray]]]:
    """λ₀ and, per category, its defect weights (as the simulator spreads defects) and codes."""
    std = config.casefile
    defects = [d for cat in std.categories for d in cat.defects]
    cat_of = [cat for cat in std.categories for _ in cat.defects]
    w = np.array([sim_cf.HEAVY_CATEGORIES.get(c.id, 1.0) for c in cat_of])
    w = w / w.sum()
    ded = np.array([d.deduction for d in defects])
    lam0 = sim_cf.TARGET_MEAN_DEDUCTION / float((w * ded).sum())
    out = {}
    for cat in std.categories:
        idx = [k for k, c in enumerate(cat_of) if c.id == cat.id]
        out[cat.id] = {"weight": float(w[idx].sum()), "codes": [defects[k].code for k in idx]}
    return lam0, out


def cell_likelihoods(config: Config, checkpoints: pd.DataFrame, casefiles: pd.DataFrame) -> pd.DataFrame:
    """Per applicable unit × item: log-likelihood on the grid of ``b`` without a problem, and the log-likelihood
    in each state (as columns ``l0`` (array over the grid), ``l_common``, ``l_individual`` (arrays too: the
    case-file part depends on ``b``))."""
    scores = config.indicators.checkpoint_scores
    ratings = sorted(scores, key=lambda t: scores[t])
    index_of_score = {float(scores[t]): k for k, t in enumerate(ratings)}
    p0, pstate = _rating_probs(len(ratings))
    point_item = {p.id: it.id for a in config.indicators.aspects for it in a.items for p in it.points}
    cp = checkpoints.assign(
        item=checkpoints["point"].map(point_item), k=checkpoints["score"].astype(float).map(index_of_score)
    ).dropna(subset=["item", "k"])
    cp_groups = {key: g["k"].astype(int).to_numpy() for key, g in cp.groupby(["unit", "item"])}

    lam0, cats = _casefile_model(config) if config.casefile is not None else (0.0, {})
    feeds: dict[str, list[str]] = {}
    for cat in config.casefile.categories if config.casefile is not None else []:
        for f in cat.feeds:
            feeds.setdefault(f.rsplit(".", 1)[0], []).append(cat.id)
    veto_items = (
        {f.rsplit(".", 1)[0] for f in config.casefile.veto_feeds} if config.casefile is not None else set()
    )
    cf_units = {u: g for u, g in casefiles.groupby("unit")} if len(casefiles) else {}

    rows = []
    for unit in config.units.units:
        for aspect in config.indicators.aspects:
            for item in aspect.items:
                if not item_applies(item.points, unit):
                    continue
                ks = cp_groups.get((unit.code, item.id), np.array([], dtype=int))
                l0 = np.log(p0[ks]).sum(axis=0) if len(ks) else np.zeros_like(_GRID)
                lc = float(np.log(pstate[COMMON][ks]).sum())
                li = float(np.log(pstate[INDIVIDUAL][ks]).sum())
                cf0 = np.zeros_like(_GRID)
                cf1 = np.zeros_like(_GRID)
                files = cf_units.get(unit.code)
                if files is not None:
                    for cid in sorted(set(feeds.get(item.id, []))):
                        x = files[cats[cid]["codes"]].to_numpy(float).sum(axis=1)
                        false = sim_cf.FALSE_FINDING * len(cats[cid]["codes"])
                        base = sim_cf.DETECT * lam0 * cats[cid]["weight"] * np.exp(-0.35 * _GRID)
                        for m, acc in ((1.0, cf0), (sim_cf.PROBLEM_RATE_FACTOR, cf1)):
                            mu = base * m + false
                            acc += x.sum() * np.log(mu) - len(x) * mu
                    if item.id in veto_items:
                        v = files["veto"].to_numpy(bool)
                        for m, acc in ((1.0, cf0), (sim_cf.PROBLEM_RATE_FACTOR, cf1)):
                            p = np.clip(
                                sim_cf.VETO_BASE * sim_cf.DETECT * np.exp(-0.5 * _GRID) * m, 1e-9, 0.999
                            )
                            acc += v.sum() * np.log(p) + (~v).sum() * np.log1p(-p)
                rows.append(
                    {
                        "unit": unit.code,
                        "unit_type": unit.type,
                        "item": item.id,
                        "l0": l0 + cf0,
                        "l_common": lc + cf1,
                        "l_individual": li + cf1,
                    }
                )
    return pd.DataFrame(rows)


def _marginal(loglik_grid: np.ndarray, mask: np.ndarray | None = None) -> float:
    """log ∫ exp(loglik(b)) φ(b) db over the grid (restricted to ``mask``)."""
    w = _W if mask is None else _W * mask
    top = loglik_grid.max()
    return float(top + np.log(np.sum(np.exp(loglik_grid - top) * w) + 1e-300))


def oracle_findings(
    config: Config,
    checkpoints: pd.DataFrame,
    casefiles: pd.DataFrame,
    *,
    common_item_prior: float = COMMON_ITEM_PRIOR,
    individual_cell_prior: float = INDIVIDUAL_CELL_PRIOR,
    individual_threshold: float = INDIVIDUAL_THRESHOLD,
) -> list[Finding]:
    """The oracle's common and individual findings (see the module docstring)."""
    cells = cell_likelihoods(config, checkpoints, casefiles)
    bottom = (_GRID <= BOTTOM_Z).astype(float)
    cells["m0"] = [_marginal(x) for x in cells["l0"]]
    cells["m0_bottom"] = [_marginal(x, bottom) for x in cells["l0"]]
    cells["mc"] = [_marginal(x) for x in cells["l_common"]]
    cells["mi"] = [_marginal(x) for x in cells["l_individual"]]
    findings: list[Finding] = []
    common_items = set()
    for item, g in cells.groupby("item", sort=False):
        lr = np.exp(np.clip(g["mc"].to_numpy() - g["m0"].to_numpy(), -50, 50))
        per_pi = np.log((1 - _PI)[:, None] + _PI[:, None] * lr[None, :]).sum(axis=1)
        log_bf = float(np.log(np.mean(np.exp(per_pi - per_pi.max()))) + per_pi.max())
        prior_odds = np.log(common_item_prior / (1 - common_item_prior))
        if log_bf + prior_odds <= 0:
            continue
        pi_hat = 0.2
        for _ in range(200):  # EM for the share of units in the state
            post = pi_hat * lr / (pi_hat * lr + 1 - pi_hat)
            pi_hat = float(np.clip(post.mean(), 1e-3, 0.999))
        post = pi_hat * lr / (pi_hat * lr + 1 - pi_hat)
        units = tuple(g["unit"][post > 0.5])
        if units:
            common_items.add(item)
            findings.append(Finding("common", str(item), units))
    rho = individual_cell_prior
    for row in cells.itertuples(index=False):
        if row.item in common_items:
            continue
        a = np.log(rho) + row.mi
        right_none = np.log(1 - rho) + row.m0_bottom
        total = np.logaddexp(a, np.log(1 - rho) + row.m0)
        if np.exp(np.logaddexp(a, right_none) - total) > individual_threshold:
            findings.append(Finding("individual", row.item, (row.unit,)))
    return findings
