"""stats._items: prepared items equal the pandas/numpy/statsmodels computations they replace."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.weightstats import DescrStatsW

from pipeline.stats._items import cov2cor, covariance, prepare_items

SAME_MATRIX_RTOL = 1e-12  # one covariance matrix summed in another order


@pytest.fixture(scope="module")
def items() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    n = 1_000
    f = rng.normal(size=n)
    x = pd.DataFrame({f"q{j}": np.clip(np.round(3 + f + rng.normal(size=n)), 1, 5) for j in range(5)})
    x = x.mask(rng.random(x.shape) < 0.03)  # ~15 % of the rows incomplete
    return x


def test_complete_cases_are_dropna_with_reverse_items_reflected(items):
    prepared = prepare_items(items, reverse=["q1", "q3"], scale_range=(1, 5))
    expected = items.dropna().copy()
    expected[["q1", "q3"]] = 1 + 5 - expected[["q1", "q3"]]
    np.testing.assert_array_equal(prepared.x, expected.to_numpy())
    assert prepared.n_dropped == len(items) - len(expected)


def test_covariance_equals_numpy_cov_unweighted_and_statsmodels_weighted(items):
    x = items.dropna().to_numpy()
    n = len(x)
    np.testing.assert_allclose(covariance(x, None), np.cov(x, rowvar=False), rtol=SAME_MATRIX_RTOL)
    w = np.random.default_rng(6).uniform(0.2, 3.0, n)
    expected = DescrStatsW(x, weights=w).cov * n / (n - 1)  # survey::svyvar's divisor
    np.testing.assert_allclose(covariance(x, w), expected, rtol=SAME_MATRIX_RTOL)
    np.testing.assert_allclose(
        cov2cor(covariance(x, None)), np.corrcoef(x, rowvar=False), rtol=SAME_MATRIX_RTOL
    )
