"""Helpers of pipeline.comparison_tables that stand in for a general, slower path (same result required)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import patsy

from pipeline import comparison_tables as ct


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
