"""stats._studentized_range: the fast studentized range equals scipy.stats.studentized_range (and the t identity)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as st

from pipeline.stats._studentized_range import (
    _sf_infinite_df,
    _sf_infinite_df_fitted,
    studentized_range_ppf,
    studentized_range_sf,
)

TUKEY_FIT_TOL = 1e-8  # Chebyshev fit of the studentized-range quantile vs scipy's ppf
SR_TOL = 1e-9  # our fixed-quadrature studentized-range tail vs scipy (adaptive) and the exact t identity
SR_FIT_TOL = (
    1e-13  # interpolated ν = ∞ tail vs its quadrature (both ~1e-15 apart; the quadrature's own noise)
)


def assert_close(actual, expected, tol):
    np.testing.assert_allclose(
        np.asarray(actual, dtype=float), np.asarray(expected, dtype=float), rtol=0, atol=tol
    )


def test_studentized_range_sf_with_two_groups_equals_the_t_distribution():
    # Q_{2,ν} = √2·|T_ν|, an exact independent check at any ν (including beyond scipy's asymptotic switch)
    t = np.array([0.3, 1.0, 2.0, 3.5, 6.0])
    for df in (2.0, 9.0, 57.3, 4000.0, 2e5, np.inf):
        assert_close(studentized_range_sf(np.sqrt(2) * t, 2, df), 2 * st.t.sf(t, df), tol=SR_TOL)


@pytest.mark.parametrize("k", [3, 8, 20])
def test_studentized_range_sf_matches_scipy(k):
    q = np.array([0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 7.0, 10.0])
    for df in (2.0, 9.0, 45.5, 300.0, 9e4):
        assert_close(studentized_range_sf(q, k, df), st.studentized_range.sf(q, k, df), tol=SR_TOL)


@pytest.mark.parametrize("k", [2, 3, 8, 20, 50])
def test_infinite_df_tail_fit_reproduces_its_quadrature(k):
    # the piecewise Chebyshev fit used inside every p-value, against the quadrature it was fitted to, on a grid
    # ten thousand times finer than its nodes and past its range (where the quadrature itself is used)
    w = np.linspace(0.0, 20.0, 200_001)
    fast = _sf_infinite_df_fitted(w, k)
    np.testing.assert_allclose(fast, _sf_infinite_df(w, k), rtol=0, atol=SR_FIT_TOL)


def test_tukey_quantile_fit_matches_scipy_ppf_and_the_t_quantile():
    df_values = np.array([4.0, 9.0, 10.5, 27.3, 150.0, 4321.0, 99_999.0])
    assert_close(
        studentized_range_ppf(0.95, 8, df_values),
        st.studentized_range.ppf(0.95, 8, df_values),
        TUKEY_FIT_TOL,
    )
    df_values = np.append(df_values, [2e5, 1e7])
    assert_close(
        studentized_range_ppf(0.95, 2, df_values),
        np.sqrt(2) * st.t.ppf(0.975, df_values),
        TUKEY_FIT_TOL,
    )
