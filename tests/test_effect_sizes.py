"""Effect sizes against R (tests/reference/compare/make_reference.R: noncentral-distribution inversion by uniroot)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline import stats
from pipeline.errors import DataError
from pipeline.stats import effect_sizes

REF_DIR = Path(__file__).parent / "reference" / "compare"
TOL = 1e-6  # agreement with R


@pytest.fixture(scope="module")
def ref() -> dict:
    return json.loads((REF_DIR / "reference.json").read_text())


@pytest.fixture(scope="module")
def df() -> pd.DataFrame:
    return pd.read_csv(REF_DIR / "compare_data.csv")


def assert_close(actual, expected, tol=TOL):
    np.testing.assert_allclose(np.asarray(actual, float), np.asarray(expected, float), rtol=0, atol=tol)


def test_omega_squared_matches_r_aov_with_noncentral_f_ci(df, ref):
    e = stats.omega_squared(df, dv="y", between="district")
    assert_close(
        [e.estimate, *e.confidence_interval()],
        [ref["welch_anova"]["omega2"], *ref["welch_anova"]["omega2_ci"]],
    )
    assert e.ci_low == 0.0  # F is small enough that the lower noncentrality bound is 0


def test_epsilon_squared_is_kruskal_h_over_n_squared_minus_one_over_n_plus_one(df, ref):
    e = stats.epsilon_squared(df, dv="y", between="district")
    assert_close(e.estimate, ref["kruskal"]["epsilon2"])
    assert math.isnan(e.ci_low)


def test_hedges_g_matches_r_noncentral_t_ci(df, ref):
    e = stats.hedges_g(df.loc[df.district == "D2", "y"], df.loc[df.district == "D4", "y"])
    R = ref["welch_ttest"]
    assert_close([e.estimate, *e.confidence_interval()], [R["hedges_g"], *R["hedges_g_ci"]])


def test_hedges_g_ci_survives_a_very_large_effect():
    rng = np.random.default_rng(1)
    e = stats.hedges_g(rng.normal(10, 1, 40), rng.normal(0, 1, 30))
    assert 5 < e.ci_low < e.estimate < e.ci_high < 20


def test_cramers_v_matches_r_with_noncentral_chi2_ci(df, ref):
    e = stats.cramers_v(df, x="district", y="cat3")
    assert_close(
        [e.estimate, *e.confidence_interval()], [ref["chi2"]["cramers_v"], *ref["chi2"]["cramers_v_ci"]]
    )


def test_rank_biserial_is_positive_when_x_tends_to_be_larger():
    assert effect_sizes.rank_biserial_from_u(u_x=90, n_x=10, n_y=10).estimate == pytest.approx(0.8)


def test_omega_squared_rejects_a_single_group():
    with pytest.raises(DataError):
        effect_sizes.omega_squared_from_sums(ss_between=0.0, ss_within=1.0, n=10, k=1)


def test_hedges_g_rejects_a_sample_of_one():
    with pytest.raises(DataError):
        stats.hedges_g([1.0], [1.0, 2.0, 3.0])


def test_bad_confidence_level_is_rejected():
    with pytest.raises(DataError, match="confidence_level"):
        stats.hedges_g([1.0, 2.0], [1.0, 3.0], confidence_level=95)


def test_effect_size_intervals_stay_finite_with_a_million_respondents():
    from pipeline.stats.effect_sizes import cramers_v_from_chi2, omega_squared_from_sums

    w = omega_squared_from_sums(ss_between=8e4, ss_within=1e6, n=1_000_000, k=8)
    assert np.isfinite([w.ci_low, w.ci_high]).all()
    assert w.ci_low < w.estimate < w.ci_high
    v = cramers_v_from_chi2(50_000.0, n=1_000_000, n_rows=8, n_cols=2)
    assert np.isfinite([v.ci_low, v.ci_high]).all()
    assert v.ci_low < v.estimate < v.ci_high


def test_large_noncentrality_fallback_agrees_with_scipy_where_scipy_still_works():
    import scipy.stats as st

    from pipeline.stats import effect_sizes as es

    # the normal approximation is only used when scipy fails; where both exist they must be close
    lam, x = 2000.0, 2100.0
    approx = st.norm.cdf((x - (7 + lam)) / np.sqrt(2 * (7 + 2 * lam)))
    assert approx == pytest.approx(st.ncx2.cdf(x, 7, lam), abs=0.01)
    assert es._ncx2_cdf(x, 7, lam) == pytest.approx(st.ncx2.cdf(x, 7, lam), rel=1e-12)
