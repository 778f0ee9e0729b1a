"""pipeline.compare: helpers that stand in for a general, slower path, and the second process
(same results required)."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.compare import comparison_tables
from pipeline.compare.outcomes import input_columns
from pipeline.parallel import Executor


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
