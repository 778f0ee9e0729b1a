"""Holm and Benjamini–Hochberg against R ``p.adjust`` (tests/reference/compare/reference.json, key p_adjust)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline import stats
from pipeline.errors import DataError

REF = json.loads((Path(__file__).parent / "reference" / "compare" / "reference.json").read_text())["p_adjust"]
TOL = 1e-12  # p.adjust is exact arithmetic


def test_holm_matches_r_p_adjust_holm():
    np.testing.assert_allclose(stats.holm(REF["p"]), REF["holm"], rtol=0, atol=TOL)


def test_benjamini_hochberg_matches_r_p_adjust_bh():
    np.testing.assert_allclose(stats.benjamini_hochberg(REF["p"]), REF["BH"], rtol=0, atol=TOL)


def test_missing_p_values_stay_missing_and_are_not_counted():
    p = np.array([0.01, np.nan, 0.04])
    out = stats.holm(p)
    assert np.isnan(out[1])
    np.testing.assert_allclose(out[[0, 2]], [0.02, 0.04])


def test_p_value_outside_unit_interval_is_rejected():
    with pytest.raises(DataError, match="benjamini_hochberg"):
        stats.benjamini_hochberg([0.2, 1.5])


def test_adjust_across_applies_bh_over_all_tables_without_mutating_them():
    a = pd.DataFrame({"p": [0.01, 0.04], "p_bh": [0.02, 0.04]})
    b = pd.DataFrame({"p": [np.nan, 0.03]})
    run = stats.adjust_across([a, b])
    np.testing.assert_allclose(run["p_bh"], [0.03, 0.04, np.nan, 0.04])
    assert a["p_bh"].tolist() == [0.02, 0.04] and "p_bh" not in b


def test_adjust_across_rejects_a_table_without_p():
    with pytest.raises(DataError, match="'p'"):
        stats.adjust_across([pd.DataFrame({"q": [0.1]})])


def test_adjustments_agree_with_statsmodels_multipletests_on_random_p_values():
    from statsmodels.stats.multitest import multipletests

    p = np.random.default_rng(3).uniform(0, 0.2, 57) ** 2
    p[[4, 9]] = p[2]  # ties
    np.testing.assert_allclose(stats.holm(p), multipletests(p, method="holm")[1], rtol=0, atol=TOL)
    np.testing.assert_allclose(
        stats.benjamini_hochberg(p), multipletests(p, method="fdr_bh")[1], rtol=0, atol=TOL
    )
