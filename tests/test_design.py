"""Tests for pipeline.stats.design.SurveyDesign against R survey 4.1.1 (tests/reference/survey/).

Designs (see make_reference.R): a equal weights; b raked (calibrate, calfun="raking") from equal base weights;
c stratified with unequal weights; d stratified and raked on district x gender + age_group; e stratified with fpc.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from statsmodels.stats.proportion import proportion_confint

from pipeline import stats
from pipeline.errors import DataError

REF = Path(__file__).parent / "reference" / "survey"
POINT_RTOL = 1e-8  # weights and point estimates vs R
SE_RTOL = 1e-6  # standard errors, interval ends, test statistics, df and p-values vs R
CLASSICAL_RTOL = 1e-10  # reductions to textbook formulas computed here


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    return pd.read_csv(REF / "sample.csv", dtype={"district": str, "gender": str, "age_group": str})


@pytest.fixture(scope="module")
def ref() -> dict:
    return json.loads((REF / "reference.json").read_text())


def _design(sample: pd.DataFrame, name: str) -> stats.SurveyDesign:
    if name == "a":
        return stats.SurveyDesign(sample)
    if name == "b":
        return stats.SurveyDesign(
            sample, weights=sample["w_b"], calibrated_on=["district", "gender", "age_group"]
        )
    if name == "c":
        return stats.SurveyDesign(sample, weights=sample["w0"], strata="stratum")
    if name == "d":
        return stats.SurveyDesign(
            sample,
            weights=sample["w_d"],
            strata="stratum",
            calibrated_on=[("district", "gender"), "age_group"],
            base_weights=sample["w0"],
        )
    raise KeyError(name)


DESIGNS = ["a", "b", "c", "d"]


def assert_close(actual, expected, rtol):
    np.testing.assert_allclose(np.asarray(actual, dtype=float), np.asarray(expected, dtype=float), rtol=rtol)


@pytest.mark.parametrize("name", DESIGNS)
def test_mean_matches_survey_svymean_with_na_rm(sample, ref, name):
    m = _design(sample, name).mean("scale_a")
    r = ref[name]["mean"]
    assert_close(m["estimate"], [r["estimate"]], POINT_RTOL)
    assert_close(m["se"], [r["se"]], SE_RTOL)
    assert_close(m[["ci_low", "ci_high"]].to_numpy()[0], [r["ci_low"], r["ci_high"]], SE_RTOL)
    assert m["n"].iloc[0] == sample["scale_a"].notna().sum()


@pytest.mark.parametrize("name", DESIGNS)
def test_domain_means_match_survey_svyby(sample, ref, name):
    m = _design(sample, name).mean("scale_a", by="district")
    r = ref[name]["mean_by_district"]
    assert m["district"].tolist() == r["group"]
    assert_close(m["estimate"], r["estimate"], POINT_RTOL)
    assert_close(m["se"], r["se"], SE_RTOL)
    assert_close(m["ci_low"], r["ci_low"], SE_RTOL)
    assert_close(m["ci_high"], r["ci_high"], SE_RTOL)


@pytest.mark.parametrize("name", DESIGNS)
def test_domain_means_covariance_matches_svyby_covmat(sample, ref, name):
    res = _design(sample, name).domain_means_vcov("scale_a", "district")
    r = ref[name]["mean_by_district"]
    assert_close(res.means, r["estimate"], POINT_RTOL)
    k = len(r["group"])
    expected = np.asarray(r["vcov"], dtype=float).reshape(k, k)
    np.testing.assert_allclose(
        res.vcov.to_numpy(), expected, rtol=SE_RTOL, atol=SE_RTOL * np.abs(expected).max()
    )
    assert res.df == ref[name]["degf"]
    assert list(res.vcov.index) == r["group"]


def test_domain_means_accept_a_series_aligned_to_the_frame(sample):
    d = _design(sample, "d")
    by = sample["district"].where(sample["district"] != "d08")  # d08 -> missing: in no domain
    res = d.domain_means_vcov("scale_a", by)
    assert "d08" not in res.means.index
    full = d.domain_means_vcov("scale_a", "district")
    assert_close(res.vcov.to_numpy(), full.vcov.loc[res.means.index, res.means.index].to_numpy(), 1e-12)


@pytest.mark.parametrize("name", DESIGNS)
@pytest.mark.parametrize("method", ["logit", "beta"])
def test_proportion_matches_survey_svyciprop(sample, ref, name, method):
    d = _design(sample, name)
    whole = d.proportion("aware", level=1, method=method)
    r = ref[name][f"prop_{method}"]
    assert_close(whole["estimate"], [r["estimate"]], POINT_RTOL)
    assert_close(whole["se"], [r["se"]], SE_RTOL)
    assert_close(whole[["ci_low", "ci_high"]].to_numpy()[0], [r["ci_low"], r["ci_high"]], SE_RTOL)
    by = d.proportion("aware", level=1, method=method, by="district")
    rb = ref[name][f"prop_{method}_by_district"]
    assert_close(by["estimate"], rb["estimate"], POINT_RTOL)
    assert_close(by["se"], rb["se"], SE_RTOL)
    assert_close(by["ci_low"], rb["ci_low"], SE_RTOL)
    assert_close(by["ci_high"], rb["ci_high"], SE_RTOL)


@pytest.mark.parametrize("name", DESIGNS)
def test_chisq_matches_survey_svychisq_rao_scott_f(sample, ref, name):
    c = _design(sample, name).chisq("aware", "district")
    r = ref[name]["chisq"]
    assert_close([c.statistic, c.ndf, c.ddf, c.pvalue], [r["statistic"], r["ndf"], r["ddf"], r["p"]], SE_RTOL)


@pytest.mark.parametrize("name", DESIGNS)
def test_ttest_matches_survey_svyttest(sample, ref, name):
    t = _design(sample, name).ttest("scale_a", by="gender")
    r = ref[name]["ttest"]
    assert_close([t.estimate], [r["estimate"]], POINT_RTOL)
    assert_close(
        [t.statistic, t.df, t.pvalue, *t.confidence_interval()],
        [r["statistic"], r["df"], r["p"], r["ci_low"], r["ci_high"]],
        SE_RTOL,
    )
    assert t.groups == ("F", "M")


@pytest.mark.parametrize("name", DESIGNS)
def test_regress_matches_survey_svyglm_gaussian(sample, ref, name):
    g = _design(sample, name).regress("scale_a ~ C(district) + C(gender)")
    r = ref[name]["glm"]
    assert list(g.columns) == ["term", "estimate", "se", "t", "p", "ci_low", "ci_high", "df"]
    assert_close(g["estimate"], r["estimate"], POINT_RTOL)
    assert_close(g["se"], r["se"], SE_RTOL)
    assert_close(g["p"], r["p"], SE_RTOL)
    assert_close(g["ci_low"], r["ci_low"], SE_RTOL)
    assert_close(g["ci_high"], r["ci_high"], SE_RTOL)
    assert (g["df"] == r["df"]).all()


@pytest.mark.parametrize("name", DESIGNS)
def test_design_degrees_of_freedom_match_survey_degf(sample, ref, name):
    assert _design(sample, name).degf == ref[name]["degf"]


def test_finite_population_correction_matches_survey_fpc(sample, ref):
    d = stats.SurveyDesign(sample, weights="w0", strata="stratum", fpc="N_h")
    m = d.mean("scale_a")
    assert_close(m["estimate"], [ref["e"]["mean"]["estimate"]], POINT_RTOL)
    assert_close(m["se"], [ref["e"]["mean"]["se"]], SE_RTOL)


def test_raked_weights_from_rake_give_the_calibrate_standard_errors(sample, ref):
    pop = pd.read_csv(REF / "population.csv", keep_default_na=False)
    margins = {
        v: dict(
            zip(pop.loc[pop.variable == v, "category"], pop.loc[pop.variable == v, "target"], strict=True)
        )
        for v in ("district", "gender", "age_group")
    }
    r = stats.rake(sample, margins, tol=1e-12)
    d = stats.SurveyDesign(sample, weights=r.weights, calibrated_on=list(margins))
    assert_close(d.mean("scale_a")["se"], [ref["b"]["mean"]["se"]], SE_RTOL)
    # survey::rake() linearises by 10 rounds of alternating projections; here it agrees with calibrate()
    assert_close(d.mean("scale_a")["se"], [ref["b_rake_fn"]["mean"]["se"]], SE_RTOL)


def test_equal_weights_reduce_to_classical_mean_and_standard_error(sample):
    y = sample["scale_a"].dropna().to_numpy()
    m = stats.SurveyDesign(sample).mean("scale_a")
    assert_close(m["estimate"], [y.mean()], CLASSICAL_RTOL)
    # zero-padded domain: the full n (incl. the missing rows) enters n/(n-1), exactly as svymean(na.rm=TRUE)
    n_all, n = len(sample), len(y)
    se_domain = np.sqrt(n_all / (n_all - 1) * np.sum(((y - y.mean()) / n) ** 2))
    assert_close(m["se"], [se_domain], CLASSICAL_RTOL)
    complete = sample.dropna(subset=["scale_a"]).reset_index(drop=True)
    mc = stats.SurveyDesign(complete).mean("scale_a")
    assert_close(mc["se"], [y.std(ddof=1) / np.sqrt(n)], CLASSICAL_RTOL)
    assert mc["n_eff"].iloc[0] == pytest.approx(n)


def test_equal_weights_regression_is_ols_with_scaled_hc0_errors(sample):
    complete = sample.dropna(subset=["scale_a"]).reset_index(drop=True)
    g = stats.SurveyDesign(complete).regress("scale_a ~ C(district) + C(gender)")
    ols = sm.OLS.from_formula("scale_a ~ C(district) + C(gender)", complete).fit(cov_type="HC0")
    n = len(complete)
    assert_close(g["estimate"], ols.params.to_numpy(), CLASSICAL_RTOL)
    assert_close(g["se"], ols.bse.to_numpy() * np.sqrt(n / (n - 1)), CLASSICAL_RTOL)
    assert g["term"].tolist() == list(ols.params.index)


def test_n_eff_per_domain_is_kish_over_the_respondents_used(sample):
    d = _design(sample, "b")
    m = d.mean("scale_a", by="district")
    used = sample["scale_a"].notna() & (sample["district"] == "d03")
    w = sample.loc[used, "w_b"]
    row = m[m["district"] == "d03"].iloc[0]
    assert row["n"] == used.sum()
    assert row["n_eff"] == pytest.approx(w.sum() ** 2 / (w**2).sum(), rel=CLASSICAL_RTOL)


def test_wilson_interval_is_statsmodels_wilson_at_the_design_effective_size(sample):
    d = _design(sample, "d")
    p = d.proportion("aware", level=1, method="wilson", by="district")
    for _, row in p.iterrows():
        n_star = row["estimate"] * (1 - row["estimate"]) / row["se"] ** 2
        lo, hi = proportion_confint(row["estimate"] * n_star, n_star, alpha=0.05, method="wilson")
        assert_close([row["ci_low"], row["ci_high"]], [lo, hi], CLASSICAL_RTOL)


def test_confidence_level_changes_the_normal_quantile(sample):
    d = _design(sample, "c")
    m90 = d.mean("scale_a", confidence_level=0.90).iloc[0]
    assert m90["ci_high"] - m90["estimate"] == pytest.approx(1.6448536269514722 * m90["se"], rel=1e-12)


def test_domain_estimates_use_the_whole_design_not_a_filtered_frame(sample):
    d = _design(sample, "b")
    in_domain = d.mean("scale_a", by="district").set_index("district").loc["d01"]
    sub = sample[sample["district"] == "d01"]
    filtered = stats.SurveyDesign(sub, weights=sub["w_b"]).mean("scale_a").iloc[0]
    assert in_domain["estimate"] == pytest.approx(filtered["estimate"], rel=1e-12)
    assert in_domain["se"] != pytest.approx(filtered["se"], rel=1e-3)


def test_input_weights_are_not_modified_and_frame_is_untouched(sample):
    before = sample.copy()
    _design(sample, "d").regress("scale_a ~ C(district)")
    pd.testing.assert_frame_equal(sample, before)


def test_misaligned_weights_are_rejected(sample):
    with pytest.raises(DataError, match="weights must be aligned to the frame's index"):
        stats.SurveyDesign(sample, weights=sample["w0"].reset_index(drop=True).rename(index=lambda i: i + 1))


def test_non_positive_weights_are_rejected(sample):
    with pytest.raises(DataError, match=r"weights must be finite and > 0"):
        stats.SurveyDesign(sample, weights=np.zeros(len(sample)))


def test_stratum_with_a_single_respondent_is_rejected_naming_the_column(sample):
    bad = sample.assign(stratum=np.where(np.arange(len(sample)) == 0, "solo", sample["stratum"]))
    with pytest.raises(DataError, match=r"strata column 'stratum': .*'solo'.* single respondent"):
        stats.SurveyDesign(bad, strata="stratum")


def test_missing_value_in_calibration_variable_is_rejected_naming_it(sample):
    bad = sample.copy()
    bad.loc[0, "gender"] = None
    with pytest.raises(DataError, match=r"calibration variable 'gender' has 1 missing value"):
        stats.SurveyDesign(bad, weights=bad["w_b"], calibrated_on=["district", "gender"])


def test_unknown_and_non_numeric_columns_are_rejected(sample):
    d = _design(sample, "a")
    with pytest.raises(DataError, match=r"analysis column 'nope' is not in the data"):
        d.mean("nope")
    with pytest.raises(DataError, match=r"column 'district' is not numeric"):
        d.mean("district")


def test_ttest_needs_exactly_two_groups(sample):
    with pytest.raises(DataError, match=r"ttest\(\): column 'district' must have exactly 2 levels, found 8"):
        _design(sample, "a").ttest("scale_a", by="district")


def test_proportion_of_an_absent_level_is_rejected(sample):
    with pytest.raises(DataError, match=r"column 'aware': level 7 does not occur"):
        _design(sample, "a").proportion("aware", level=7)


def test_rank_deficient_regression_is_rejected(sample):
    frame = sample.assign(copy_of_w=sample["w0"] * 2)
    with pytest.raises(DataError, match="rank-deficient"):
        stats.SurveyDesign(frame).regress("scale_a ~ w0 + copy_of_w")


@pytest.mark.parametrize("name", DESIGNS)
def test_fast_domain_variance_equals_the_dense_linearization(sample, name):
    d = _design(sample, name)
    levels, gcode = d._groups("district")
    y = sample["scale_a"].to_numpy()
    valid = ~np.isnan(y)
    g = np.where(valid, gcode, -1)
    rng = np.random.default_rng(1)
    v = np.where(valid, rng.normal(size=len(y)), 0.0)
    dense = np.zeros((len(y), len(levels)))
    dense[valid, g[valid]] = v[valid]
    fast, slow = d._domain_variance(g, v, len(levels)), d._variance(dense)
    np.testing.assert_allclose(fast, slow, rtol=1e-9, atol=1e-12 * np.abs(slow).max())


@pytest.mark.parametrize("name", DESIGNS)
def test_domain_variance_without_missing_rows_equals_the_dense_linearization(sample, name):
    # every row in a domain: the path that skips the masked copies
    d = _design(sample, name)
    levels, g = d._groups("district")
    v = np.random.default_rng(2).normal(size=len(g))
    dense = np.zeros((len(g), len(levels)))
    dense[np.arange(len(g)), g] = v
    fast, slow = d._domain_variance(g, v, len(levels)), d._variance(dense)
    np.testing.assert_allclose(fast, slow, rtol=1e-9, atol=1e-12 * np.abs(slow).max())


@pytest.mark.parametrize("name", DESIGNS)
def test_domain_means_of_a_complete_variable_equal_the_dense_linearization(sample, name):
    frame = sample.assign(y=sample["scale_a"].fillna(50.0))
    d = _design(frame, name)
    got = d.mean("y", by="district")
    levels, g = d._groups("district")
    y, w = frame["y"].to_numpy(), d.weights
    sw = np.bincount(g, weights=w)
    est = np.bincount(g, weights=w * y) / sw
    dense = np.zeros((len(y), len(levels)))
    dense[np.arange(len(y)), g] = (y - est[g]) / sw[g]
    np.testing.assert_allclose(got["estimate"], est, rtol=1e-12)
    np.testing.assert_allclose(got["se"], np.sqrt(np.diag(d._variance(dense))), rtol=1e-9)


def test_proportion_of_a_text_level_equals_that_of_the_numeric_code(sample):
    text = sample.assign(aware_text=sample["aware"].map({0: "no", 1: "yes"}))
    d_num = _design(sample, "d")
    d_txt = stats.SurveyDesign(
        text,
        weights=text["w_d"],
        strata="stratum",
        calibrated_on=[("district", "gender"), "age_group"],
        base_weights=text["w0"],
    )
    a = d_num.proportion("aware", level=1, by="district", method="beta")
    b = d_txt.proportion("aware_text", level="yes", by="district", method="beta")
    assert_close(a["estimate"], b["estimate"], 1e-12)
    assert_close(a["ci_high"], b["ci_high"], 1e-12)
