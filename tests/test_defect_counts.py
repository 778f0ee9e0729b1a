"""Case-file defect counts read together per unit: the negative multinomial (pipeline/stats/counts.py) against
scipy, and the defect model of the findings (pipeline/findings/defects.py) on simulated counts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from pipeline.findings.defects import DefectCounts
from pipeline.stats.counts import negative_multinomial_logpmf, negative_multinomial_shape


def test_one_category_is_the_negative_binomial_of_scipy():
    k = np.array([[0.0], [3.0], [11.0]])
    mean, shape = np.array([[2.5], [2.5], [4.0]]), 7.0
    got = negative_multinomial_logpmf(k, mean, shape)
    p = shape / (shape + mean[:, 0])
    assert got == pytest.approx(stats.nbinom.logpmf(k[:, 0], shape, p), abs=1e-10)


def test_several_categories_equal_the_poisson_integrated_over_the_units_gamma_factor():
    """log P(k_1, k_2, k_3) against scipy's adaptive quadrature of Π Poisson(k_c; μ_c·f) over f ~ Gamma(κ, 1/κ)."""
    k, mean, shape = np.array([2.0, 0.0, 5.0]), np.array([1.2, 0.4, 3.1]), 4.5

    def density(f):
        return float(np.prod(stats.poisson.pmf(k, mean * f)) * stats.gamma.pdf(f, shape, scale=1 / shape))

    expected = np.log(integrate.quad(density, 0, 50, limit=200)[0])
    assert negative_multinomial_logpmf(k[None, :], mean[None, :], shape)[0] == pytest.approx(
        expected, abs=1e-8
    )


def test_the_fitted_shape_recovers_the_spread_of_simulated_units():
    rng = np.random.default_rng(3)
    mean = np.tile([2.0, 4.0, 1.0], (400, 1)) * 5
    f = rng.gamma(12.0, 1 / 12.0, size=400)
    k = rng.poisson(mean * f[:, None]).astype(float)
    assert 8 <= negative_multinomial_shape(k, mean) <= 18
    assert negative_multinomial_shape(k, mean, least=30) >= 30


def _evidence(k: np.ndarray, feeds: dict[str, list[str]], files: float = 5.0) -> pd.DataFrame:
    rows = []
    for u, counts in enumerate(k):
        for c, (cat, items) in enumerate(feeds.items()):
            for item in items:
                rows.append({"unit": f"U{u:03d}", "item": item, "stream": f"casefile:{cat}", "kind": "count",
                             "m": files, "k": float(counts[c]), "p0": float(k[:, c].mean() / files)})  # fmt: skip
    return pd.DataFrame(rows)


def test_a_category_raised_against_the_units_others_is_evidence_for_the_item_it_feeds():
    """Three categories: A feeds item 1.1, B feeds 1.2 and 1.3, C feeds 1.3. Units 0–19 have a problem on 1.1 (A
    tripled); units 20–39 are worse in everything (all tripled: their own level, no category raised against the
    others). The fit finds a rate ratio of 2–3.5, 1.1's cells of units 0–19 get a clearly positive ratio, and the
    uniformly worse units get less on 1.1 than the units whose A alone is raised."""
    rng = np.random.default_rng(11)
    n, rate, files = 200, np.array([1.0, 1.5, 0.8]), 5.0
    level = rng.gamma(15.0, 1 / 15.0, size=n)
    lift = np.ones((n, 3))
    lift[:20, 0] = 3.0
    lift[20:40] = 3.0
    k = rng.poisson(files * rate * level[:, None] * lift).astype(float)
    ev = _evidence(k, {"A": ["1.1"], "B": ["1.2", "1.3"], "C": ["1.3"]}, files)
    cells = ev[["unit", "item"]].drop_duplicates().reset_index(drop=True)
    cell_of = pd.MultiIndex.from_frame(cells).get_indexer(pd.MultiIndex.from_frame(ev[["unit", "item"]]))
    model = DefectCounts(ev, np.ones(len(ev), dtype=bool), cell_of, spread=0.0)
    post = np.where((cells["item"] == "1.1") & (cells["unit"] < "U020"), 0.95, 0.001)
    for _ in range(20):
        model.update(post)
    assert 2.0 <= model.ratio <= 3.5  # below 3: the uniformly worse units raise the rates without a problem
    per_cell = np.bincount(cell_of, weights=model.llr(post), minlength=len(cells))
    on_11 = cells["item"] == "1.1"
    planted, uniform = on_11 & (cells["unit"] < "U020"), on_11 & cells["unit"].between("U020", "U039")
    assert np.median(per_cell[planted]) > 2.0
    assert np.median(per_cell[uniform]) < np.median(per_cell[planted]) - 1.0
    assert np.median(per_cell[on_11 & (cells["unit"] >= "U040")]) < 0
