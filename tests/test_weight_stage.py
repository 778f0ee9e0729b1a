"""Stage 03_weight: raking the public sample to population.yaml, unit weights for staff, diagnostics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline.weight.diagnostics import weight_diagnostics
from pipeline.weight.margins import population_margins
from pipeline.weight.weights import staff_weights

REL_TOL = 1e-8


def test_district_margin_is_keyed_by_unit_code_and_other_margins_by_option_text(config):
    margins = population_margins(config)
    districts = {u.code for u in config.units.units if u.type == config.units.district_type}
    assert set(margins["district"]) == districts
    assert set(margins["gender"]) == {o.text for o in config.codebook("public").by_variable("gender").options}


def test_margins_in_population_yaml_all_sum_to_the_same_total(config):
    totals = [sum(t.values()) for t in population_margins(config).values()]
    assert np.allclose(totals, totals[0], rtol=1e-12)


def test_staff_weight_is_unit_headcount_over_unit_respondents(config):
    units = [u for u in config.units.units][:3]
    frame = pd.DataFrame(
        {
            "record_id": [f"r{i}" for i in range(6)],
            "unit": [units[0].code] * 3 + [units[1].code] * 2 + [units[2].code],
        }
    )
    w = staff_weights(frame, config).set_index("record_id")["weight"]
    assert w["r0"] == pytest.approx(units[0].headcount / 3)
    assert w["r3"] == pytest.approx(units[1].headcount / 2)
    assert w["r5"] == pytest.approx(units[2].headcount / 1)


def test_diagnostics_give_kish_deff_and_effective_n_by_definition():
    w = pd.Series([1.0, 2.0, 3.0, 4.0])
    d = weight_diagnostics("public", w, pd.Series(["a", "a", "b", "b"]))
    overall = d[d.scope == "overall"].set_index("statistic")["value"]
    assert overall["n_eff"] == pytest.approx(100 / 30)
    assert overall["deff_kish"] == pytest.approx(4 * 30 / 100)
    assert set(d.scope) == {"overall", "a", "b"}


def test_weighted_public_sample_reproduces_every_population_margin(simulated_pipeline, config):
    ctx, _ = simulated_pipeline
    public = ctx.read_table("clean", "public").merge(
        ctx.read_table("weight", "public_weights"), on="record_id"
    )
    for variable, targets in population_margins(config).items():
        achieved = public.groupby(public[variable].astype(object), observed=True)["weight"].sum()
        for category, target in targets.items():
            assert achieved[category] == pytest.approx(target, rel=REL_TOL)


def test_weights_respect_the_cap_and_every_record_gets_one(simulated_pipeline, config):
    ctx, _ = simulated_pipeline
    public = ctx.read_table("clean", "public")
    weights = ctx.read_table("weight", "public_weights")
    assert weights["record_id"].tolist() == public["record_id"].tolist()
    w = weights["weight"].to_numpy()
    assert np.all(w > 0)
    assert w.max() / w.mean() <= config.population.weight_cap * (1 + 1e-6)


def test_staff_weights_sum_to_headcount_per_unit(simulated_pipeline, config):
    ctx, _ = simulated_pipeline
    sw = ctx.read_table("weight", "staff_weights")
    headcount = {u.code: u.headcount for u in config.units.units}
    sums = sw.groupby("unit")["weight"].sum()
    for unit, total in sums.items():
        assert total == pytest.approx(headcount[unit])
