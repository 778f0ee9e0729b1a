"""Weight diagnostics per group: groups found from integer codes equal ``groupby`` on the text labels, and the
quantiles taken in one call equal one ``numpy.quantile`` call each."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline.weight import diagnostics


def _groups_by_groupby(groups: pd.Series) -> dict[str, np.ndarray]:
    """The general route the stage used to take."""
    return {
        str(g): np.asarray(idx)
        for g, idx in pd.Series(range(len(groups))).groupby(groups.astype(str).to_numpy()).groups.items()
    }


@pytest.mark.parametrize(
    "groups",
    [
        pd.Series(["620102", None, "620111", "620103", "甲", "620102"] * 50, dtype="category"),
        pd.Series(["b", None, "a", "c10", "c9"] * 40, dtype="str"),
        pd.Series([2.0, np.nan, 1.0, 10.0] * 30),
        pd.Series([3, 1, 20, 3] * 25),
    ],
    ids=["categorical", "str", "float", "int"],
)
def test_rows_by_group_equal_groupby_on_text_labels_and_leave_out_missing(groups):
    rng = np.random.default_rng(0)
    groups = groups.sample(frac=1, random_state=rng).reset_index(drop=True)
    expected = _groups_by_groupby(groups)
    got = diagnostics._rows_by_group(groups)
    assert [label for label, _ in got] == list(expected)
    for label, rows in got:
        np.testing.assert_array_equal(rows, expected[label])


def test_diagnostics_quantiles_equal_one_numpy_call_each():
    rng = np.random.default_rng(1)
    w = pd.Series(rng.gamma(2.0, 1.0, 10_001))
    groups = pd.Series(rng.choice(["a", "b", "c"], w.size))
    table = diagnostics.weight_diagnostics("public", w, groups).set_index(["scope", "statistic"])["value"]
    for scope, values in [("overall", w.to_numpy()), *((g, w[groups == g].to_numpy()) for g in "abc")]:
        for stat, q in (("p05", 0.05), ("p25", 0.25), ("p75", 0.75), ("p95", 0.95)):
            assert table[(scope, stat)] == float(np.quantile(values, q))
        assert table[(scope, "median")] == float(np.median(values))
