"""The oracle: what a classifier knowing the simulator's exact model and the truth's parameters reaches.

Two oracles: ``oracle`` knows every cell's baseline quality ``b`` — an upper bound no reading of the data can
reach, since 45 % of the variance of ``b`` is item-specific (``0.67·e``, latent.py) and only the cell's own
ratings show it; ``oracle_unit`` knows each unit's standards (``0.5·g + 0.55·a``, drawn again from the truth's
seed) and integrates the item-specific part of the checkpoint ratings over its N(0, 0.67²): what the best
reading of a unit's other evidence could know about the cell's baseline. It still reads the questionnaires and
case files against the cell's true baseline, so it too knows more than the data: an upper bound of what is
reachable, not the reachable itself.

It reads the same data the pipeline reads (``02_clean`` checkpoints and case files, ``05_compare``
unit-vs-peers) plus, from ``truth.json``, every cell's *baseline* quality ``b`` (before the plants: never the
planted quality nor where the plants are) and the mean plant effect per kind. Per applicable unit × item cell it
computes the log-likelihood ratio of the evidence in each problem state (common, individual) against none:

- checkpoint ratings (pipeline/simulate/checkpoints.py): without a problem each point's rating is
  ``Y0 + 0.6·b + 0.75·ε`` cut at ``CUTS`` with the cell's true ``b`` (so the points are independent given
  ``b``); in a problem state 部分落实/未落实 with probability 0.75 (common) or 0.9 (individual), each equally
  likely, else 基本落实 (70 %) or 完全落实. All four ratings are used, not only failed/passed.
- case files (casefiles.py): per file, the defects of a category are Poisson with mean
  ``0.9·λ₀·w·exp(−0.35·q)·m + 0.006·(codes)``, ``q`` the mean true baseline of the items the category feeds and
  ``m = 3`` when *any* of them has a problem (vetoes alike, ``exp(−0.5·q)``). A category feeding several items
  is handled jointly: in a cell its likelihood without a problem of its own is the mixture "raised by another
  item" / "not raised", weighted by the current posterior that another item it feeds has a problem (iterated
  to a fixed point). The files' shared frailty (Gamma(20)) is left out.
- questionnaires (public.py, staff.py): per unit × question score, the gap to its peers ``e`` with its
  sampling SE ``s`` (05_compare) is ``N(α + β·Δb, s² + ω²)`` without a problem, ``Δb`` the true baseline gap
  (mean over the items the question feeds) to the peers; ``α, β, ω`` are fitted per question on all units
  (robustly: a first fit's gaps below −3 SD are left out of the second); a unit's standardized residuals over
  the questions feeding one item are averaged, the null variance of that mean estimated from the units (the
  questions share respondents). A problem shifts each question's gap by ``β·effect``, ``effect`` the truth's
  mean plant effect of that kind (every bundled question feeds one item).

Decisions, each a single threshold:

- common: per item, the mixture log-likelihood ratio ``max_π Σ_u log(1 − π + π·LR_u / N_u)`` (π ≤ 0.6) of "a
  share π of its units in the common state" against "none", where ``N_u = 1 − ρ + ρ·LRi_u`` lets each cell
  carry an individual problem under both hypotheses (ρ the truth's share of individually planted cells), so one
  extreme unit cannot make an item common; an item at or above ``common_llr`` is one common finding listing
  the units whose posterior at the maximising π is at least ½;
- individual: a cell of an item not found common whose individual-state log-likelihood ratio is at least
  ``individual_llr`` (a constant prior makes this the posterior ranking).

:func:`choose_thresholds` takes the pair with the most mean recall at mean precision ≥ 0.9 over the seeds
given — it uses the truth to choose the threshold, so the oracle is optimistic (one threshold for all seeds,
not one per seed). Approximations: the case files' frailty is ignored, and the questionnaire slope is linear in
quality while answers pass through Likert cuts.
Bench only: nothing here is used by the pipeline.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats

from bench.recovery import Finding, Truth, mean_over, score
from pipeline.config.loader import Config
from pipeline.simulate import casefiles as sim_cf
from pipeline.simulate import checkpoints as sim_cp
from pipeline.simulate.latent import COMMON, INDIVIDUAL, LOAD_ASPECT, LOAD_GENERAL, LOAD_ITEM, item_applies

#: mean plant effect (SD) per kind when the truth has no plant of that kind (the bundled spec's).
DEFAULT_EFFECT = {"common": -1.1, "individual": -2.5}
MAX_SHARE = 0.6
TARGET_PRECISION = 0.9
MEAN_FIELD_ROUNDS = 8
_SHARES = np.linspace(0.0, MAX_SHARE, 61)
_E = np.linspace(-4, 4, 41)
_EW = stats.norm.pdf(_E) / stats.norm.pdf(_E).sum()


def _rating_loglik(b: np.ndarray, ks: np.ndarray, n_ratings: int) -> tuple[np.ndarray, float, float]:
    """log P(ratings) of one cell's points: without a problem at baseline ``b``; common; individual."""
    cuts = np.concatenate([[-np.inf], sim_cp.CUTS, [np.inf]])
    mu = sim_cp.Y0 + sim_cp.LOADING * b
    p_none = stats.norm.cdf((cuts[ks + 1] - mu) / sim_cp.NOISE) - stats.norm.cdf(
        (cuts[ks] - mu) / sim_cp.NOISE
    )
    n_bad = n_ratings // 2
    out = []
    for s in (COMMON, INDIVIDUAL):
        p = sim_cp.BAD_PROBABILITY[s]
        row = np.zeros(n_ratings)
        row[:n_bad] = p / n_bad
        row[-1] = (1 - p) * sim_cp.STATE_TOP_SHARE
        row[n_bad:-1] = (1 - p) * (1 - sim_cp.STATE_TOP_SHARE) / max(n_ratings - n_bad - 1, 1)
        out.append(float(np.log(row[ks]).sum()))
    return np.log(np.clip(p_none, 1e-300, 1)).sum(), out[0], out[1]


def _plant_effects(truth: Mapping[str, Any]) -> dict[str, float]:
    effects: dict[str, list[float]] = {"common": [], "individual": []}
    for p in truth.get("plants", []):
        kind = p.get("kind") or ("common" if len(p["units"]) >= 3 else "individual")
        effects[kind].append(float(p["effect"]))
    return {k: float(np.mean(v)) if v else DEFAULT_EFFECT[k] for k, v in effects.items()}


def unit_parts(config: Config, truth: Mapping[str, Any]) -> dict[tuple[str, str], float]:
    """Per unit × item, the part of the baseline the unit's standards explain (``0.5·g + 0.55·a``, latent.py),
    from the simulator's own draws at the truth's seed (checked against the truth's baselines)."""
    q = truth["quality"]
    rng = np.random.default_rng(np.random.SeedSequence(int(truth["seed"])).spawn(6)[0])
    aspects = config.indicators.aspects
    aspect_of = np.array([k for k, a in enumerate(aspects) for _ in a.items], dtype=int)
    n_u = len(config.units.units)
    g = rng.standard_normal(n_u)
    a = rng.standard_normal((n_u, len(aspects)))
    e = rng.standard_normal((n_u, len(aspect_of)))
    part = LOAD_GENERAL * g[:, None] + LOAD_ASPECT * a[:, aspect_of]
    if not np.allclose(part + LOAD_ITEM * e, np.asarray(q["baseline"], dtype=float)):
        raise ValueError("the simulator's draws do not reproduce the truth's baselines")
    return {(u, i): part[k, j] for k, u in enumerate(q["units"]) for j, i in enumerate(q["items"])}


def _checkpoint_part(
    config: Config, checkpoints: pd.DataFrame, base, cells, known: bool = True
) -> np.ndarray:
    """Per cell, the checkpoint ratings' log-likelihood ratio of each state. ``base`` is the true baseline
    (``known``) or the unit part only, the item-specific ``0.67·e`` then integrated over N(0, 1)."""
    scores = config.indicators.checkpoint_scores
    ratings = sorted(scores, key=lambda t: scores[t])
    index_of_score = {float(scores[t]): k for k, t in enumerate(ratings)}
    point_item = {p.id: it.id for a in config.indicators.aspects for it in a.items for p in it.points}
    cp = checkpoints.assign(
        item=checkpoints["point"].map(point_item), k=checkpoints["score"].astype(float).map(index_of_score)
    ).dropna(subset=["item", "k"])
    groups = {key: g["k"].astype(int).to_numpy() for key, g in cp.groupby(["unit", "item"])}
    out = np.zeros((len(cells), 2))
    for n, (unit, item) in enumerate(cells):
        ks = groups.get((unit, item))
        if ks is None or not len(ks):
            continue
        if known:
            l0, lc, li = _rating_loglik(np.full(len(ks), base[unit, item]), ks, len(ratings))
        else:
            per = [
                _rating_loglik(np.full(len(ks), base[unit, item] + LOAD_ITEM * x), ks, len(ratings))
                for x in _E
            ]
            l0 = special.logsumexp([p[0] for p in per], b=_EW)
            lc, li = per[0][1], per[0][2]
        out[n] = lc - l0, li - l0
    return out


def _casefile_streams(config: Config, casefiles: pd.DataFrame, base) -> list[dict[str, Any]]:
    """Per unit × category (and veto): the items it feeds and log P(files | raised) − log P(files | not)."""
    std = config.casefile
    if std is None or casefiles is None or not len(casefiles):
        return []
    point_item = {p.id: it.id for a in config.indicators.aspects for it in a.items for p in it.points}
    defects = [d for cat in std.categories for d in cat.defects]
    cat_of = [cat for cat in std.categories for _ in cat.defects]
    w = np.array([sim_cf.HEAVY_CATEGORIES.get(c.id, 1.0) for c in cat_of])
    w = w / w.sum()
    lam0 = sim_cf.TARGET_MEAN_DEDUCTION / float((w * np.array([d.deduction for d in defects])).sum())
    streams = []
    for unit, files in casefiles.groupby("unit"):
        for cat in std.categories:
            items = sorted({point_item[f] for f in cat.feeds if f in point_item})
            if not items:
                continue
            q = float(np.mean([base[unit, i] for i in items]))
            codes = [d.code for d in cat.defects]
            weight = float(sum(wk for wk, c in zip(w, cat_of, strict=True) if c.id == cat.id))
            x = files[codes].to_numpy(float).sum(axis=1)
            mu0 = sim_cf.DETECT * lam0 * weight * np.exp(-0.35 * q)
            false = sim_cf.FALSE_FINDING * len(codes)
            ll = [
                float((x * np.log(mu0 * m + false) - (mu0 * m + false)).sum())
                for m in (sim_cf.PROBLEM_RATE_FACTOR, 1.0)
            ]
            streams.append({"unit": unit, "items": items, "llr": ll[0] - ll[1]})
        items = sorted({point_item[f] for f in std.veto_feeds if f in point_item})
        if items and "veto" in files.columns:
            q = float(np.mean([base[unit, i] for i in items]))
            v = files["veto"].to_numpy(bool)
            ll = []
            for m in (sim_cf.PROBLEM_RATE_FACTOR, 1.0):
                p = min(sim_cf.VETO_BASE * sim_cf.DETECT * np.exp(-0.5 * q) * m, 0.999)
                ll.append(float(v.sum() * np.log(p) + (~v).sum() * np.log1p(-p)))
            streams.append({"unit": unit, "items": items, "llr": ll[0] - ll[1]})
    return streams


def _survey_part(config: Config, uvp: pd.DataFrame | None, base, cells, effects) -> np.ndarray:
    """Per cell, the questionnaires' log-likelihood ratio of each state (columns common, individual).

    Per question the gaps are regressed on the true baseline gap (module docstring); a unit's standardized
    residuals over the questions feeding one item are averaged (the questions share respondents, so the mean's
    null variance is estimated from the units, per questionnaire, rather than taken as 1/n)."""
    out = np.zeros((len(cells), 2))
    if uvp is None or not len(uvp):
        return out
    index = {c: n for n, c in enumerate(cells)}
    point_item = {p.id: it.id for a in config.indicators.aspects for it in a.items for p in it.points}
    u = uvp[(uvp["flag"].fillna("") != "suppressed") & uvp["se"].gt(0) & uvp["estimate"].notna()]
    for instrument in ("public", "staff"):
        if instrument not in set(u["instrument"]):
            continue
        rows = []
        for q in config.codebook(instrument).items:
            items = sorted({point_item[p] for p in q.feeds if p in point_item})
            g = u[(u["instrument"] == instrument) & (u["dv"] == f"{q.id}_score")]
            if len(g) < 4 or len(items) != 1:
                continue
            x = np.array([base[unit, items[0]] for unit in g["unit"]])
            peer = pd.Series(x).groupby(g["peer_group"].to_numpy())
            dx = x - (peer.transform("sum").to_numpy() - x) / np.maximum(
                peer.transform("size").to_numpy() - 1, 1
            )
            e, se = g["estimate"].to_numpy(float), g["se"].to_numpy(float)
            keep = np.ones(len(e), dtype=bool)
            for _ in range(2):
                wts = 1 / se[keep]
                design = np.c_[np.ones(keep.sum()), dx[keep]]
                coef = np.linalg.lstsq(design * wts[:, None], e[keep] * wts, rcond=None)[0]
                resid = e - coef[0] - coef[1] * dx
                omega2 = max(float(np.mean(resid[keep] ** 2 - se[keep] ** 2)), 0.0)
                keep = resid / np.sqrt(se**2 + omega2) > -3
            sd = np.sqrt(se**2 + omega2)
            for unit, r, s in zip(g["unit"], resid / sd, coef[1] / sd, strict=True):
                rows.append((unit, items[0], r, s))
        if not rows:
            continue
        frame = pd.DataFrame(rows, columns=["unit", "item", "z", "slope"])
        cell = frame.groupby(["unit", "item"]).agg(z=("z", "mean"), slope=("slope", "mean"), n=("z", "size"))
        dev = cell["z"] - cell.groupby("item")["z"].transform("median")
        inflation = (
            max(float(np.median((dev.abs() * 1.4826) ** 2 * cell["n"])), 1.0) if len(cell) > 8 else 1.0
        )
        for (unit, item), r in cell.iterrows():
            n = index.get((unit, item))
            if n is None:
                continue
            sd = np.sqrt(inflation / r["n"])
            for col, kind in enumerate(("common", "individual")):
                shift = r["slope"] * effects[kind]
                out[n, col] += stats.norm.logpdf(r["z"], shift, sd) - stats.norm.logpdf(r["z"], 0, sd)
    return out


def cell_llrs(
    config: Config,
    truth: Mapping[str, Any],
    checkpoints: pd.DataFrame,
    casefiles: pd.DataFrame,
    unit_vs_peers: pd.DataFrame | None = None,
    *,
    item_specific: bool = True,
) -> pd.DataFrame:
    """Per applicable unit × item: ``llr_common`` and ``llr_individual`` (module docstring). With
    ``item_specific`` False the checkpoint ratings are read knowing only the unit part of each baseline."""
    q = truth["quality"]
    b = np.asarray(q["baseline"], dtype=float)
    col = {i: j for j, i in enumerate(q["items"])}
    row = {u: k for k, u in enumerate(q["units"])}
    cells = [
        (unit.code, item.id)
        for unit in config.units.units
        for aspect in config.indicators.aspects
        for item in aspect.items
        if item_applies(item.points, unit) and unit.code in row and item.id in col
    ]
    base = {(u, i): b[k, j] for u, k in row.items() for i, j in col.items()}
    effects = _plant_effects(truth)
    cp_base = base if item_specific else unit_parts(config, truth)
    fixed = _checkpoint_part(config, checkpoints, cp_base, cells, item_specific) + _survey_part(
        config, unit_vs_peers, base, cells, effects
    )
    streams = _casefile_streams(config, casefiles, base)
    index = {c: n for n, c in enumerate(cells)}
    n_planted = sum(len(p["units"]) for p in truth.get("plants", []))
    prior = float(np.clip(n_planted / max(len(cells), 1), 1e-3, 0.5))
    post = np.full(len(cells), prior)
    for _ in range(MEAN_FIELD_ROUNDS):
        cf = np.zeros(len(cells))
        for s in streams:
            idx = [index[(s["unit"], i)] for i in s["items"] if (s["unit"], i) in index]
            for n in idx:
                other = 1 - np.prod([1 - post[k] for k in idx if k != n])
                cf[n] += s["llr"] - np.logaddexp(
                    np.log(other + 1e-300) + s["llr"], np.log(1 - other + 1e-300)
                )
        llr = fixed + cf[:, None]
        post = special.expit(special.logsumexp(llr, axis=1) - np.log(2) + special.logit(prior))
    n_individual = sum(len(p["units"]) for p in truth.get("plants", []) if len(p["units"]) < 3)
    return pd.DataFrame(
        {"unit": [c[0] for c in cells], "item": [c[1] for c in cells],
         "llr_common": llr[:, 0], "llr_individual": llr[:, 1],
         "individual_prior": float(np.clip(n_individual / max(len(cells), 1), 1e-4, 0.5))}
    )  # fmt: skip


def item_statistics(cells: pd.DataFrame) -> pd.DataFrame:
    """Per item: the mixture log-likelihood ratio of its cells' common-state ratios and the units at posterior
    ≥ ½ at the maximising share."""
    rows = []
    for item, g in cells.groupby("item", sort=False):
        rho = g["individual_prior"].to_numpy()
        lr = np.exp(np.clip(g["llr_common"].to_numpy(), -50, 50))
        null = 1 - rho + rho * np.exp(np.clip(g["llr_individual"].to_numpy(), -50, 50))
        ll = np.log1p(_SHARES[:, None] * (lr / null - 1)[None, :]).sum(axis=1)
        pi = _SHARES[int(np.argmax(ll))]
        post = pi * lr / ((1 - pi) * null + pi * lr)
        rows.append((item, float(ll.max()), tuple(g["unit"][post >= 0.5])))
    return pd.DataFrame(rows, columns=["item", "llr", "units"])


def oracle_findings(
    cells: pd.DataFrame, *, common_llr: float, individual_llr: float, items: pd.DataFrame | None = None
) -> list[Finding]:
    """The oracle's findings at the thresholds given (module docstring)."""
    items = item_statistics(cells) if items is None else items
    common = items[(items["llr"] >= common_llr) & (items["units"].map(len) > 0)]
    found = [Finding("common", str(r.item), r.units) for r in common.itertuples(index=False)]
    rest = cells[~cells["item"].isin(set(common["item"])) & (cells["llr_individual"] >= individual_llr)]
    found += [
        Finding("individual", str(i), (str(u),)) for u, i in zip(rest["unit"], rest["item"], strict=True)
    ]
    return found


def _best(grid: np.ndarray, figures) -> tuple[float, float, float]:
    """The threshold with the most mean recall at mean precision ≥ :data:`TARGET_PRECISION` (ties: the higher)."""
    best = (float(grid[-1]), -1.0, 1.0)
    for t in grid:
        recall, precision = figures(t)
        precision = 1.0 if precision is None else precision
        if precision >= TARGET_PRECISION and (recall or 0.0) >= best[1]:
            best = (float(t), recall or 0.0, precision)
    return best


def choose_thresholds(runs: Sequence[tuple[pd.DataFrame, Truth]]) -> dict[str, float]:
    """One (common, individual) threshold pair for all ``runs`` (cells, truth): first the common threshold with
    the most mean common recall at mean precision ≥ 0.9, then the individual one given it."""
    stats_ = [item_statistics(c) for c, _ in runs]
    big = 1e9

    def common_figures(t):
        rs = [score(oracle_findings(c, common_llr=t, individual_llr=big, items=s), tr)["common"]
              for (c, tr), s in zip(runs, stats_, strict=True)]  # fmt: skip
        return mean_over(r["recall"] for r in rs), mean_over(r["precision"] for r in rs)

    tc = _best(np.arange(0.0, 40.01, 0.5), common_figures)[0]

    def individual_figures(t):
        rs = [score(oracle_findings(c, common_llr=tc, individual_llr=t, items=s), tr)["individual"]
              for (c, tr), s in zip(runs, stats_, strict=True)]  # fmt: skip
        return mean_over(r["recall"] for r in rs), mean_over(r["precision"] for r in rs)

    ti = _best(np.arange(-2.0, 25.01, 0.25), individual_figures)[0]
    return {"common_llr": tc, "individual_llr": ti}
