"""The noncentral cdfs of pipeline.stats.effect_sizes call scipy's ufuncs directly inside the support: the values
must be exactly those of scipy's distribution objects (which evaluate the same ufuncs after argument handling)."""

from __future__ import annotations

import itertools
import math

import numpy as np
from scipy import stats as st

from pipeline.stats import effect_sizes as es

X = [1e-6, 0.3, 1.0, 3.84, 12.5, 80.0, 4000.0]
LAMBDAS = [0.0, 1e-3, 0.7, 5.0, 60.0, 900.0]


def test_noncentral_chi2_cdf_equals_scipy_ncx2_and_chi2():
    for x, df, lam in itertools.product(X, [1, 2, 7], LAMBDAS):
        expected = st.chi2.cdf(x, df) if lam == 0 else st.ncx2.cdf(x, df, lam)
        if np.isfinite(expected):
            assert es._ncx2_cdf(x, df, lam) == float(expected)


def test_noncentral_f_cdf_equals_scipy_ncf_and_f():
    for x, df1, df2, lam in itertools.product(X, [1, 4], [6, 300, 900_000], LAMBDAS):
        expected = st.f.cdf(x, df1, df2) if lam == 0 else st.ncf.cdf(x, df1, df2, lam)
        if np.isfinite(expected):
            assert es._ncf_cdf(x, df1, df2, lam) == float(expected)


def test_noncentral_t_cdf_equals_scipy_nct():
    t = np.array([-3.0, -0.2, 0.0, 1.5, 8.0])
    for df in (3.0, 40.0, 2e5):
        delta = np.linspace(-4.0, 10.0, 5)
        expected = st.nct.cdf(t, df, delta)
        expected = np.where(np.isnan(expected), np.where(delta > t, 0.0, 1.0), expected)
        np.testing.assert_array_equal(es._nct_cdf(t, np.full(5, df), delta), expected)


def test_cdfs_outside_the_support_keep_scipys_answers():
    assert es._ncx2_cdf(0.0, 1, 2.0) == 0.0
    assert es._ncf_cdf(math.inf, 2, 10, 1.0) == float(st.ncf.cdf(math.inf, 2, 10, 1.0))
    np.testing.assert_array_equal(
        es._nct_cdf(np.array([-np.inf, np.inf]), np.array([5.0, 5.0]), np.array([0.0, 0.0])), [0.0, 1.0]
    )
