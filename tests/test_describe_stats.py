"""Weighted frequency tables and crosstab tests equal R's survey package; each level's share equals
SurveyDesign.proportion; unweighted counts equal pandas.value_counts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline import stats
from pipeline.stats.frequencies import category_proportions, crosstab_test

HERE = Path(__file__).resolve().parent / "reference" / "survey"
REF = json.loads((HERE / "frequency.json").read_text(encoding="utf-8"))
LEVELS = [1, 2, 3, 4, 5]
COLUMNS = ["estimate", "se", "ci_low", "ci_high"]
TOL_LOGIT = 1e-7  # svyciprop(method = "logit") fits a quasibinomial svyglm by IRLS: agrees to ~1e-9
TOL = 1e-10


def _designs() -> dict[str, stats.SurveyDesign]:
    d = pd.read_csv(HERE / "frequency_data.csv")
    d["y"] = d["y"].astype("Int64")
    return {
        "s": stats.SurveyDesign(d, weights="w0", strata="stratum"),
        "r": stats.SurveyDesign(
            d, weights="w_r", strata="stratum", calibrated_on=["district", "gender"], base_weights="w0"
        ),
    }


DESIGNS = _designs()


@pytest.mark.parametrize("design", ["s", "r"])
@pytest.mark.parametrize("method", ["logit", "beta"])
def test_weighted_shares_and_intervals_equal_svyciprop(design, method):
    d, ref = DESIGNS[design], REF[design]
    tol = TOL_LOGIT if method == "logit" else TOL
    whole = category_proportions(d, "y", LEVELS, method=method)
    expected = pd.DataFrame(ref[method]["whole"])[COLUMNS].to_numpy(float)
    np.testing.assert_allclose(whole[COLUMNS].to_numpy(float), expected, rtol=tol, atol=tol)
    # svymean(~factor(y0)) of a calibrated design's subset also lists level 0 (the rows kept with weight 0)
    np.testing.assert_allclose(whole["se"], ref["svymean"]["se"][-len(LEVELS) :], rtol=TOL)
    by = category_proportions(d, "y", LEVELS, by="district", method=method)
    rows = [pd.DataFrame(b).assign(level=k) for k, b in zip(LEVELS, ref[method]["by_district"], strict=True)]
    expected = pd.concat(rows).sort_values(["district", "level"])
    assert by["district"].tolist() == expected["district"].tolist()
    np.testing.assert_allclose(
        by[COLUMNS].to_numpy(float), expected[COLUMNS].to_numpy(float), rtol=tol, atol=tol
    )


@pytest.mark.parametrize("design", ["s", "r"])
def test_crosstab_test_equals_svychisq_and_cramers_v_uses_the_weighted_table(design):
    ref = REF[design]["chisq"]
    got = crosstab_test(DESIGNS[design], "district", "y")
    for key in ("statistic", "ndf", "ddf", "p"):
        assert got[key] == pytest.approx(ref[key], rel=1e-9)
    # V from the weighted table scaled to the valid n (svytable(Ntotal = n)): 4 districts x 5 levels
    assert got["cramers_v"] == pytest.approx(np.sqrt(ref["pearson"] / ref["n"] / 3), rel=1e-9)


def test_unweighted_counts_equal_value_counts():
    d = DESIGNS["s"]
    got = category_proportions(d, "y", LEVELS)
    counts = d.frame["y"].value_counts()
    assert got["n"].tolist() == [int(counts.get(k, 0)) for k in LEVELS]
    assert (got["n_valid"] == d.frame["y"].notna().sum()).all()


@settings(max_examples=25, deadline=None)
@given(
    codes=st.lists(st.sampled_from([1, 2, 3, None]), min_size=12, max_size=40),
    seed=st.integers(0, 10_000),
    method=st.sampled_from(["logit", "beta"]),
)
def test_each_share_equals_proportion_of_the_same_domain(codes, seed, method):
    rng = np.random.default_rng(seed)
    n = len(codes)
    frame = pd.DataFrame({"y": pd.array(codes, dtype="Int64"), "g": rng.choice(["a", "b"], n)})
    if frame["y"].nunique() < 1:
        return
    d = stats.SurveyDesign(frame, weights=rng.uniform(0.5, 2.0, n))
    got = category_proportions(d, "y", [1, 2, 3], by="g", method=method)
    domain = frame["g"].where(frame["y"].notna()).rename("g")
    for level in frame["y"].dropna().unique():
        ref = d.proportion("y", level, by=domain, method=method)
        mine = got[got["level"] == level].set_index("g").loc[ref["g"]]
        for col in ("estimate", "se", "ci_low", "ci_high"):
            np.testing.assert_allclose(
                mine[col].to_numpy(float), ref[col].to_numpy(float), rtol=1e-9, atol=1e-12
            )


def test_a_domain_whose_values_are_all_equal_has_standard_error_zero():
    rng = np.random.default_rng(5)
    frame = pd.DataFrame(
        {"y": np.r_[np.full(40, 75.0), rng.normal(60, 10, 60)], "g": ["a"] * 40 + ["b"] * 60}
    )
    design = stats.SurveyDesign(frame, weights=rng.uniform(0.5, 3.0, 100))
    table = stats.domain_mean_table(design, "y", "g", min_n=1).table.set_index("group")
    assert table.loc["a", "estimate"] == 75.0
    assert table.loc["a", "se"] == pytest.approx(0.0, abs=1e-9)
    assert table.loc["b", "se"] > 0


@settings(max_examples=40, deadline=None)
@given(
    values=st.lists(st.floats(0, 100, allow_nan=False) | st.just(float("nan")), min_size=1, max_size=40),
    seed=st.integers(0, 1000),
)
def test_pooled_and_grouped_sds_equal_weighted_sd(values, seed):
    rng = np.random.default_rng(seed)
    y = np.asarray(values)
    w = rng.uniform(0.2, 4.0, size=y.size)
    group = rng.integers(0, 3, size=y.size)
    part = rng.integers(0, 4, size=y.size) + 4 * group  # parts nested in groups
    want = [stats.weighted_sd(y, w, rows=group == g) for g in range(3)]
    np.testing.assert_allclose(stats.weighted_sd_by_group(y, w, group, 3), want, rtol=1e-9, atol=1e-12)
    keep = ~np.isnan(y)
    sw = np.bincount(part[keep], weights=w[keep], minlength=12)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(part[keep], weights=(w * y)[keep], minlength=12) / sw
    m2 = np.bincount(part[keep], weights=(w * (y - np.nan_to_num(mean)[part]) ** 2)[keep], minlength=12)
    count = np.bincount(part[keep], minlength=12)
    got = stats.weighted_sd_pooled(sw, mean, m2, count, np.arange(12) // 4, 3)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
