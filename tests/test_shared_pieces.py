"""The shared statistics pieces (Kish n_eff, weighted SD, t quantiles, design df, treatment patterns, small-group
rule) reproduce, bit for bit, the code outside pipeline.stats that computes them today."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import patsy
import pytest
from scipy import stats as st
from test_design import REF, _design

from pipeline import stats
from pipeline.config.analysis import SmallCells
from pipeline.errors import DataError


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    return pd.read_csv(REF / "sample.csv", dtype={"district": str, "gender": str, "age_group": str})


def _weights():
    rng = np.random.default_rng(4)
    yield rng.uniform(0.2, 5.0, 1)
    yield rng.uniform(0.2, 5.0, 37)
    yield rng.lognormal(0.0, 0.7, 100_003)
    yield np.full(50, 2.5)


@pytest.mark.parametrize("w", list(_weights()))
def test_kish_n_eff_equals_each_formula_it_replaces(w):
    got = stats.kish_n_eff(w)
    assert got == float(w.sum() ** 2 / (w**2).sum())
    assert got == w.sum() ** 2 / np.square(w).sum()
    assert got == float(w.sum() ** 2 / np.sum(w**2))  # reliability._kish (now calls kish_n_eff)
    assert stats.kish_n_eff(pd.Series(w)) == got


def test_kish_n_eff_of_no_respondents_is_zero_and_bad_weights_are_rejected():
    assert stats.kish_n_eff(np.array([])) == 0.0
    for bad in ([1.0, np.nan], [1.0, -2.0], [1.0, np.inf]):
        with pytest.raises(DataError, match="weights"):
            stats.kish_n_eff(bad)


def _weighted_sd_written_out(y: np.ndarray, w: np.ndarray, mask: np.ndarray | None) -> float:
    keep = ~np.isnan(y) if mask is None else (~np.isnan(y) & mask)
    if keep.sum() < 2:
        return math.nan
    m = np.average(y[keep], weights=w[keep])
    return float(np.sqrt(np.average((y[keep] - m) ** 2, weights=w[keep])))


@pytest.mark.parametrize("name", ["a", "b", "c", "d"])
def test_weighted_sd_equals_the_formula_written_out(sample, name):
    design = _design(sample, name)
    for dv in ("scale_a", "aware"):
        for mask in (None, (sample["district"] != "d03").to_numpy(), (sample["gender"] == "F").to_numpy()):
            y = design.frame[dv].to_numpy(dtype=float, na_value=np.nan)
            expected = _weighted_sd_written_out(y, design.weights, mask)
            assert stats.weighted_sd(design.frame[dv], design.weights, rows=mask) == expected
    tiny = np.zeros(len(sample), dtype=bool)
    tiny[:1] = True
    assert math.isnan(stats.weighted_sd(sample["scale_a"], _design(sample, "c").weights, rows=tiny))


def test_weighted_sd_rejects_misaligned_weights():
    with pytest.raises(DataError, match="one entry per respondent"):
        stats.weighted_sd([1.0, 2.0, 3.0], [1.0, 1.0])


def test_t_quantile_and_p_value_equal_the_scipy_expressions_they_replace():
    df = np.array([1.0, 2.5, 9.0, 57.0, 1e4, np.inf])
    for level in (0.8, 0.9, 0.95, 0.99):
        np.testing.assert_array_equal(stats.t_quantile(level, df), st.t.ppf(0.5 + level / 2, df))
        assert stats.t_quantile(level, 12.0) == st.t.ppf(0.5 + level / 2, 12.0)
    t = np.array([-4.0, -1.3, 0.0, 0.7, 2.2, np.nan])
    np.testing.assert_array_equal(stats.t_pvalue(t, 14.0), 2 * st.t.sf(np.abs(t), 14.0))
    assert stats.t_pvalue(-2.5, 10.0) == 2 * st.t.sf(abs(-2.5), 10.0)
    with pytest.raises(DataError, match="confidence_level"):
        stats.t_quantile(95, 10.0)


@pytest.mark.parametrize("name", ["a", "b", "c", "d"])
def test_subset_degf_of_all_rows_is_the_design_degf(sample, name):
    design = _design(sample, name)
    rows = (sample["scale_a"].notna() & (sample["district"] != "d01")).to_numpy()
    assert 0 < design.subset_degf(rows) <= design.degf
    assert design.subset_degf(np.ones(len(sample), dtype=bool)) == design.degf
    with pytest.raises(DataError, match="boolean mask"):
        design.subset_degf(np.flatnonzero(rows))


def _factor_frame() -> pd.DataFrame:
    rng = np.random.default_rng(9)
    n = 2_000
    frame = pd.DataFrame(
        {
            "district": pd.Categorical(
                rng.choice(["东区", "西区", "南区"], n), categories=["西区", "东区", "南区", "北区"]
            ),
            "gender": rng.choice(["M", "F"], n).astype(object),
            "age": rng.choice([3, 1, 2], n),
        }
    )
    frame.loc[rng.random(n) < 0.05, "gender"] = None
    return frame


def test_treatment_patterns_expand_to_patsy_treatment_coding():
    frame = _factor_frame()
    got = stats.treatment_patterns(frame, ["district", "gender", "age"])
    expected = patsy.dmatrix(
        "C(district) + C(gender) + C(age)", frame, NA_action="drop", return_type="dataframe"
    )
    kept = got.pattern >= 0
    assert got.terms == list(expected.columns)
    np.testing.assert_array_equal(np.flatnonzero(kept), expected.index.to_numpy())
    np.testing.assert_array_equal(got.x[got.pattern[kept]], expected.to_numpy())
    with pytest.raises(DataError, match="'nope'"):
        stats.treatment_patterns(frame, ["nope"])


def _old_flag(n, small_n, min_n):  # the rule as comparisons._flag and adjusted_district_effects wrote it
    if not n >= min_n:
        return "suppressed", f"样本量不足{min_n}，不予报告"
    if n < small_n:
        return "small", f"样本量不足{small_n}，结果仅供参考"
    return "", ""


def test_small_group_rule_flags_as_the_rule_written_out_before():
    for small_n, min_n in ((30, 10), (50, 20), (5, 0)):
        rule = stats.SmallGroupRule(flag_below=small_n, suppress_below=min_n)
        for n in (0, 1, 9, 9.999, 10, 10.0, 19.5, 20, 29, 29.99, 30, 30.0, 49, 50, 1e6, math.nan):
            assert tuple(rule.flag(n)) == _old_flag(n, small_n, min_n)
    cells = SmallCells()
    assert stats.SmallGroupRule() == stats.SmallGroupRule(
        flag_below=cells.mark_below, suppress_below=cells.suppress_below
    )


def test_small_group_flags_use_kish_n_eff_of_each_group_as_adjusted_district_effects_does(sample):
    w = _design(sample, "d").weights
    used = sample["scale_a"].notna().to_numpy()
    table = stats.small_group_flags(sample["district"][used], weights=w[used])
    for district, row in table.iterrows():
        mine = w[used & (sample["district"] == district).to_numpy()]  # the district's rows in their order
        n_eff = float(mine.sum() ** 2 / (mine**2).sum())
        assert (row["n"], row["n_eff"]) == (len(mine), n_eff)
        assert (row["flag"], row["reason"]) == _old_flag(
            n_eff, SmallCells().mark_below, SmallCells().suppress_below
        )
    unweighted = stats.small_group_flags(np.array(["a"] * 9 + ["b"] * 12 + [None] * 3, dtype=object))
    assert unweighted[["n", "flag"]].to_dict("index") == {
        "a": {"n": 9, "flag": "suppressed"},
        "b": {"n": 12, "flag": "small"},
    }
