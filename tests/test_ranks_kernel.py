"""stats._ranks: midranks, Kruskal–Wallis H and Mann–Whitney U/p bit for bit as scipy.stats computes them."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as st

from pipeline.stats._ranks import kruskal_h, mannwhitneyu_asymptotic, rankdata_average


def _samples():
    rng = np.random.default_rng(11)
    yield rng.integers(1, 6, 2_000).astype(float)  # Likert codes: many ties
    yield np.round(rng.normal(50, 10, 3_001), 1)  # some ties
    yield rng.normal(size=500)  # no ties
    yield np.array([3.0, -0.0, 0.0, 2.5, 3.0, -1.0, 2.5, 3.0])  # signed zero, a value tied three times


@pytest.mark.parametrize("values", list(_samples()))
def test_midranks_equal_scipy_rankdata_average_and_the_tie_sum(values):
    ranks, tie_sum = rankdata_average(values)
    np.testing.assert_array_equal(ranks, st.rankdata(values, method="average"))
    _, counts = np.unique(values, return_counts=True)
    assert tie_sum == float(np.sum(counts.astype(float) ** 3 - counts))
    n = len(values)
    assert 1 - tie_sum / (n**3 - n) == st.tiecorrect(ranks)


@pytest.mark.parametrize("values", list(_samples())[:3])
def test_kruskal_h_equals_scipy_kruskal_bit_for_bit(values):
    group = np.random.default_rng(3).integers(0, 4, len(values))
    expected = st.kruskal(*(values[group == g] for g in range(4))).statistic
    assert kruskal_h(values, group, 4) == float(expected)


@pytest.mark.parametrize("continuity", [True, False])
@pytest.mark.parametrize("values", list(_samples())[:3])
def test_mann_whitney_equals_scipy_mannwhitneyu_asymptotic_bit_for_bit(values, continuity):
    x, y = values[: len(values) // 3], values[len(values) // 3 :]
    ref = st.mannwhitneyu(x, y, use_continuity=continuity, alternative="two-sided", method="asymptotic")
    assert mannwhitneyu_asymptotic(x, y, continuity) == (float(ref.statistic), float(ref.pvalue))
