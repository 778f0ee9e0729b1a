"""SurveyDesign.regress_logistic against R survey 4.1.1 svyglm(family = quasibinomial())
(tests/reference/survey/make_logistic_reference.R -> logistic.json; designs a-d as in test_design.py)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from test_design import DESIGNS, POINT_RTOL, REF, SE_RTOL, _design

from pipeline import stats
from pipeline.errors import ConvergenceError, DataError

MODELS = {
    "m1": "aware ~ C(district) + C(gender) + C(age_group)",
    "m2": "aware ~ scale_a + C(gender)",
}


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    return pd.read_csv(REF / "sample.csv", dtype={"district": str, "gender": str, "age_group": str})


@pytest.fixture(scope="module")
def ref() -> dict:
    return json.loads((REF / "logistic.json").read_text())


def _patsy_term(r_term: str) -> str:
    """R's coefficient name as patsy names it: ``districtd02`` -> ``C(district)[T.d02]``."""
    if r_term == "(Intercept)":
        return "Intercept"
    for factor in ("district", "gender", "age_group"):
        if r_term.startswith(factor):
            return f"C({factor})[T.{r_term[len(factor) :]}]"
    return r_term


def assert_close(actual, expected, rtol):
    np.testing.assert_allclose(np.asarray(actual, dtype=float), np.asarray(expected, dtype=float), rtol=rtol)


@pytest.mark.parametrize("model", list(MODELS))
@pytest.mark.parametrize("name", DESIGNS)
def test_logistic_regression_matches_survey_svyglm_quasibinomial(sample, ref, name, model):
    res = _design(sample, name).regress_logistic(MODELS[model])
    r = ref[name][model]
    order = [_patsy_term(t) for t in r["term"]]  # patsy puts categorical terms before numeric ones
    assert sorted(order) == sorted(res.estimate.index)
    res = _reordered(res, order)
    assert_close(res.estimate, r["estimate"], POINT_RTOL)
    assert_close(res.odds_ratio, r["odds_ratio"], POINT_RTOL)
    assert_close(res.se, r["se"], SE_RTOL)
    assert_close(res.statistic, r["t"], SE_RTOL)
    assert_close(res.pvalue, r["p"], SE_RTOL)
    assert res.df == r["df"] and res.n == r["n"]
    low, high = res.confidence_interval()
    assert_close(low, r["ci_low"], SE_RTOL)
    assert_close(high, r["ci_high"], SE_RTOL)
    or_low, or_high = res.odds_ratio_interval()
    assert_close(or_low, r["odds_ratio_ci_low"], SE_RTOL)
    assert_close(or_high, r["odds_ratio_ci_high"], SE_RTOL)


def _reordered(res: stats.LogisticRegressionResult, order: list[str]) -> stats.LogisticRegressionResult:
    from dataclasses import replace

    return replace(
        res,
        estimate=res.estimate[order],
        se=res.se[order],
        statistic=res.statistic[order],
        pvalue=res.pvalue[order],
        vcov=res.vcov.loc[order, order],
    )


def test_logistic_coefficients_equal_statsmodels_weighted_glm(sample):
    # the point estimates are the weighted (pseudo-)ML fit: statsmodels' GLM with the weights as var_weights
    res = _design(sample, "d").regress_logistic(MODELS["m1"])
    used = sample.dropna(subset=["aware", "district", "gender", "age_group"])
    x = pd.get_dummies(used[["district", "gender", "age_group"]], drop_first=True, dtype=float)
    glm = sm.GLM(
        used["aware"], sm.add_constant(x), family=sm.families.Binomial(), var_weights=used["w_d"]
    ).fit(tol=1e-14)
    assert_close(res.estimate, glm.params, POINT_RTOL)


def test_logistic_table_has_regress_columns_and_odds_ratios(sample):
    table = _design(sample, "b").regress_logistic(MODELS["m2"]).table()
    assert list(table.columns) == [
        "term", "estimate", "se", "t", "p", "ci_low", "ci_high", "df",
        "odds_ratio", "odds_ratio_ci_low", "odds_ratio_ci_high",
    ]  # fmt: skip
    assert table["term"].tolist() == ["Intercept", "C(gender)[T.M]", "scale_a"]
    np.testing.assert_allclose(table["odds_ratio"], np.exp(table["estimate"]))


def test_two_level_categorical_response_is_coded_one_for_its_second_level(sample):
    d = _design(sample, "c")
    numeric = d.regress_logistic(MODELS["m2"])
    frame = sample.assign(answer=sample["aware"].map({0.0: "不满意", 1.0: "满意"}))  # sorted: 不满意 < 满意
    labelled = stats.SurveyDesign(frame, weights=sample["w0"], strata="stratum").regress_logistic(
        "answer ~ scale_a + C(gender)"
    )
    assert_close(labelled.estimate, numeric.estimate, 1e-12)
    assert_close(labelled.se, numeric.se, 1e-12)


def test_logistic_response_outside_zero_one_is_rejected_naming_the_formula(sample):
    with pytest.raises(DataError, match="scale_a ~ C\\(gender\\)"):
        _design(sample, "a").regress_logistic("scale_a ~ C(gender)")


def test_perfect_separation_raises_convergence_error():
    frame = pd.DataFrame({"y": [0, 0, 0, 1, 1, 1], "x": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]})
    with pytest.raises(ConvergenceError, match="separate"):
        stats.SurveyDesign(frame).regress_logistic("y ~ x")
