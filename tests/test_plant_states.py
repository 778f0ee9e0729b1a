"""Planted problems are states with a signature in every source (pipeline/simulate/latent.py)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import CONFIG_DIR, PLANT

from pipeline.config import load_config
from pipeline.errors import ConfigError
from pipeline.simulate import simulate_raw
from pipeline.simulate.casefiles import PROBLEM_RATE_FACTOR, simulate_casefiles
from pipeline.simulate.checkpoints import BAD_PROBABILITY, BAD_SHARE, CUTS, rating_index
from pipeline.simulate.latent import COMMON, INDIVIDUAL, NONE, Plant, draw_latent, load_plants

N_DRAWS = 40_000
SHARE_TOL = 0.01


@pytest.fixture(scope="module")
def config():
    return load_config(CONFIG_DIR)


def _bad_share(baseline: np.ndarray, state: int, seed: int = 0) -> float:
    rng = np.random.default_rng(seed)
    ks = [
        rating_index(b, state, 4, CUTS, rng.standard_normal(), rng.random(), rng.random()) for b in baseline
    ]
    return float(np.mean(np.array(ks) <= 1))


def test_a_problem_free_point_is_rated_below_basic_implementation_15_percent_of_the_time():
    rng = np.random.default_rng(1)
    baseline = 0.5 * rng.standard_normal(N_DRAWS) + 0.55 * rng.standard_normal(N_DRAWS)
    baseline += 0.67 * rng.standard_normal(N_DRAWS)
    assert _bad_share(baseline, NONE) == pytest.approx(BAD_SHARE, abs=SHARE_TOL)


def test_better_units_are_rated_low_less_often():
    assert _bad_share(np.full(5000, 1.0), NONE) < _bad_share(np.full(5000, 0.0), NONE)
    assert _bad_share(np.full(5000, 0.0), NONE) < _bad_share(np.full(5000, -1.0), NONE)


@pytest.mark.parametrize(("state", "share"), [(COMMON, 0.75), (INDIVIDUAL, 0.9)])
def test_a_unit_in_a_problem_state_is_rated_low_with_the_fixed_probability(state, share):
    assert BAD_PROBABILITY[state] == share
    for b in (-1.0, 0.0, 1.5):  # whatever its baseline
        assert _bad_share(np.full(N_DRAWS // 4, b), state) == pytest.approx(share, abs=SHARE_TOL)


def test_plant_kind_follows_the_spec_or_the_number_of_units(config, tmp_path):
    spec = tmp_path / "p.yaml"
    spec.write_text(
        "- {indicator: '7.1', units: ['620122'], effect: -2.5, label: a}\n"
        "- {indicator: '3.2', units: ['620104', '620121', '620122'], effect: -1, label: b}\n"
        "- {indicator: '8.1', units: ['620104', '620121'], effect: -1, label: c, kind: common}\n",
        encoding="utf-8",
    )
    plants = load_plants(spec, config.indicators, config.units)
    assert [p.resolved_kind for p in plants] == ["individual", "common", "common"]
    latent = draw_latent(config.indicators, config.units, np.random.default_rng(0), plants)
    assert latent.cell_state(latent.unit_index("620122"), "7.1") == INDIVIDUAL
    assert latent.cell_state(latent.unit_index("620121"), "3.2") == COMMON
    assert latent.cell_state(latent.unit_index("620121"), "7.1") == NONE


def test_an_unknown_plant_kind_is_reported(config, tmp_path):
    spec = tmp_path / "p.yaml"
    spec.write_text("- {indicator: '7.1', units: ['620122'], effect: -2, label: a, kind: rare}\n", "utf-8")
    with pytest.raises(ConfigError, match="kind"):
        load_plants(spec, config.indicators, config.units)


def test_an_empty_plant_list_plants_nothing(config, tmp_path):
    spec = tmp_path / "none.yaml"
    spec.write_text("[]\n", encoding="utf-8")
    assert load_plants(spec, config.indicators, config.units) == []


def _defects(config, plants, seed):
    rng = np.random.default_rng(seed)
    latent = draw_latent(config.indicators, config.units, rng, plants)
    rows, _ = simulate_casefiles(config, latent, rng)
    return np.array([r["counts"].sum() for r in rows])


def test_a_casefile_problem_triples_the_defects_of_the_categories_feeding_the_item(config):
    enforcement = tuple(u.code for u in config.units.units if u.enforcement)
    # 9.2 is fed by every category, so every defect of a planted unit is tripled (less the false findings)
    plants = [Plant("9.2", enforcement, -1.0, "x", "common")]
    ratio = np.mean([_defects(config, plants, s).mean() / _defects(config, [], s).mean() for s in range(3)])
    assert PROBLEM_RATE_FACTOR == 3.0
    assert 2.5 <= ratio <= 3.3


def test_truth_records_kind_applicability_and_state(config, tmp_path):
    simulate_raw(config, tmp_path, seed=3, scale=0.05, plant=PLANT)
    truth = json.loads((tmp_path / "truth.json").read_text(encoding="utf-8"))
    q = truth["quality"]
    state = np.array(q["state"])
    applies = np.array(q["applies"])
    assert state.shape == applies.shape == (len(q["units"]), len(q["items"]))
    for p in truth["plants"]:
        assert p["kind"] == ("common" if len(p["units"]) >= 3 else "individual")
        col = q["items"].index(p["indicator"])
        rows = [q["units"].index(u) for u in p["units"]]
        assert (state[rows, col] != NONE).all() and applies[rows, col].all()
    assert (state == INDIVIDUAL).sum() == 15
    assert not applies[q["units"].index("M001"), q["items"].index("16.2")]  # 16.2 only for districts


def test_a_plant_changes_only_the_ratings_of_its_own_cells(config, tmp_path):
    spec = tmp_path / "one.yaml"
    spec.write_text("- {indicator: '7.1', units: ['620122'], effect: -2.5, label: a}\n", encoding="utf-8")
    sheets = {}
    for name, plant in (("plain", None), ("planted", spec)):
        simulate_raw(config, tmp_path / name, seed=4, scale=0.05, plant=plant)
        sheets[name] = pd.read_excel(tmp_path / name / "checkpoints" / "资料核查表.xlsx", engine="openpyxl")
    plain, planted = sheets["plain"], sheets["planted"]
    unit = next(u.name for u in config.units.units if u.code == "620122")
    own = (planted["单位"] == unit) & planted["观测点编号"].str.startswith("7.1.")
    assert own.any()
    pd.testing.assert_frame_equal(plain[~own], planted[~own])
