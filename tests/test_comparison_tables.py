"""pipeline.comparison_tables: helpers that stand in for a general, slower path, and the second process
(same results required)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import patsy
import pytest

from pipeline import comparison_tables as ct
from pipeline.parallel import Executor


def test_treatment_patterns_expand_to_patsys_model_matrix():
    rng = np.random.default_rng(3)
    n = 400
    frame = pd.DataFrame(
        {
            "district": pd.Categorical(rng.choice(["B", "A", "C"], n), categories=["C", "A", "B"]),
            "gender": rng.choice(["男", "女"], n),
            "band": pd.Series(rng.choice([3.0, 1.0, 2.0], n)).where(rng.random(n) > 0.1),
        }
    )
    pattern, x, terms = ct._treatment_patterns(frame, ["district", "gender", "band"])
    expected = patsy.dmatrix(
        "C(district) + C(gender) + C(band)", frame, NA_action="drop", return_type="dataframe"
    )
    assert terms == list(expected.columns)
    assert np.array_equal(np.flatnonzero(pattern >= 0), expected.index.to_numpy())
    np.testing.assert_array_equal(x[pattern[pattern >= 0]], expected.to_numpy())


@pytest.fixture(scope="module")
def compare_inputs(simulated_pipeline):
    ctx, _ = simulated_pipeline
    config = ctx.config
    return (
        ctx.read_table("clean", "public", columns=ct.input_columns(config, "public")),
        ctx.read_table("weight", "public_weights", columns=["record_id", "weight"]),
        ctx.read_table("clean", "staff", columns=ct.input_columns(config, "staff")),
        ctx.read_table("clean", "casefiles"),
        config,
    )


def test_second_process_gives_the_same_tables_as_one_process(compare_inputs):
    one = ct.comparison_tables(*compare_inputs, executor=Executor(workers=1))
    two = ct.comparison_tables(*compare_inputs, executor=Executor(workers=2))
    for name in ("comparisons", "unit_vs_peers", "adjusted", "families"):
        pd.testing.assert_frame_equal(getattr(two, name), getattr(one, name), check_exact=True)


def test_weights_by_record_id_equal_the_left_merge():
    public = pd.DataFrame({"record_id": [f"r{i}" for i in range(8)], "y": np.arange(8.0)})
    weights = pd.DataFrame(
        {"record_id": [f"r{i}" for i in (7, 3, 1, 0, 2, 4, 6, 5)], "weight": np.arange(1.0, 9.0)}
    )
    for w in (weights, weights.iloc[2:], pd.concat([weights, weights.iloc[:2]])):  # all, missing, duplicated
        merged = public.merge(w[["record_id", "weight"]], on="record_id", how="left", indicator="_has_weight")
        unweighted = (merged.pop("_has_weight") == "left_only").to_numpy()
        frame, missing = ct._with_weights(public, w)
        pd.testing.assert_frame_equal(frame, merged, check_exact=True)
        np.testing.assert_array_equal(missing, unweighted)
