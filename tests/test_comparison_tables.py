"""pipeline.compare: helpers that stand in for a general, slower path, and the second process
(same results required)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import patsy
import pytest

from pipeline.compare import comparison_tables
from pipeline.compare.adjusted import _treatment_patterns
from pipeline.compare.outcomes import input_columns
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
    pattern, x, terms = _treatment_patterns(frame, ["district", "gender", "band"])
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
        ctx.read_table("clean", "public", columns=input_columns(config, "public")),
        ctx.read_table("weight", "public_weights", columns=["record_id", "weight"]),
        ctx.read_table("clean", "staff", columns=input_columns(config, "staff")),
        ctx.read_table("clean", "casefiles"),
        config,
    )


def test_second_process_gives_the_same_tables_as_one_process(compare_inputs):
    one = comparison_tables(*compare_inputs, executor=Executor(workers=1))
    two = comparison_tables(*compare_inputs, executor=Executor(workers=2))
    for name in ("comparisons", "unit_vs_peers", "adjusted", "families"):
        pd.testing.assert_frame_equal(getattr(two, name), getattr(one, name), check_exact=True)
