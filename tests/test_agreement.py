"""Rater agreement (ICC, Cohen's kappa, Fleiss' kappa) against psych, published examples and irr."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.inter_rater import cohens_kappa as sm_cohens_kappa

from pipeline import stats
from pipeline.errors import DataError

REF = Path(__file__).parent / "reference" / "psych"
TOL = 1e-6  # closed-form statistics
PVALUE_RTOL = 1e-6  # tiny p-values compared relatively
PUBLISHED_TOL = 0.005  # values printed to 2-3 decimals in the original papers
IRR_Z_TOL = 1e-4  # irr's z printed to 7 significant digits


@pytest.fixture(scope="module")
def icc_ref() -> dict:
    return json.loads((REF / "icc.json").read_text())


@pytest.fixture(scope="module")
def kappa_ref() -> dict:
    return json.loads((REF / "kappa.json").read_text())


@pytest.fixture(scope="module")
def scores() -> pd.DataFrame:
    return pd.read_csv(REF / "icc_long.csv")


@pytest.fixture(scope="module")
def grades() -> pd.DataFrame:
    return pd.read_csv(REF / "kappa.csv")


def _long(wide) -> pd.DataFrame:
    return pd.DataFrame(
        [(t, j, y) for t, row in enumerate(wide) for j, y in enumerate(row)],
        columns=["case", "judge", "score"],
    )


# --------------------------------------------------------------------------------------------- ICC
def test_icc_all_six_forms_match_psych_icc(scores, icc_ref):
    res = stats.icc(scores, targets="case", raters="rater", ratings="score")
    t = res.table
    assert list(t["type"]) == icc_ref["type"]
    for ours, theirs in [("icc", "ICC"), ("f", "F"), ("df1", "df1"), ("df2", "df2")]:
        np.testing.assert_allclose(t[ours], icc_ref[theirs], atol=TOL)
    np.testing.assert_allclose(t["ci_low"], icc_ref["lower"], atol=TOL)
    np.testing.assert_allclose(t["ci_high"], icc_ref["upper"], atol=TOL)
    np.testing.assert_allclose(t["pvalue"], icc_ref["p"], rtol=PVALUE_RTOL)
    assert (res.n_targets, res.n_raters, res.n_dropped) == (30, 4, 0)


def test_icc_reproduces_shrout_fleiss_1979_table(icc_ref):
    res = stats.icc(_long(icc_ref["sf_data"]), targets="case", raters="judge", ratings="score")
    published = {"ICC1": 0.17, "ICC2": 0.29, "ICC3": 0.71, "ICC1k": 0.44, "ICC2k": 0.62, "ICC3k": 0.91}
    for form, value in published.items():
        assert res.get(form)["icc"] == pytest.approx(value, abs=PUBLISHED_TOL)
    np.testing.assert_allclose(res.table["icc"], icc_ref["sf_ICC"], atol=TOL)
    np.testing.assert_allclose(res.table["ci_low"], icc_ref["sf_lower"], atol=TOL)
    np.testing.assert_allclose(res.table["ci_high"], icc_ref["sf_upper"], atol=TOL)
    np.testing.assert_allclose(res.table["pvalue"], icc_ref["sf_p"], rtol=PVALUE_RTOL)


def test_icc_row_order_of_long_data_does_not_matter(scores):
    a = stats.icc(scores, targets="case", raters="rater", ratings="score")
    b = stats.icc(scores.sample(frac=1, random_state=3), targets="case", raters="rater", ratings="score")
    pd.testing.assert_frame_equal(a.table, b.table)


def test_unbalanced_icc_design_is_rejected_naming_the_target(scores):
    gappy = scores.drop(scores.index[(scores["case"] == "C07") & (scores["rater"] == "r3")])
    with pytest.raises(DataError, match="C07.*r3"):
        stats.icc(gappy, targets="case", raters="rater", ratings="score")


def test_incomplete_targets_can_be_dropped_with_a_stated_count(scores):
    gappy = scores.copy()
    gappy.loc[(gappy["case"] == "C07") & (gappy["rater"] == "r3"), "score"] = np.nan
    res = stats.icc(gappy, targets="case", raters="rater", ratings="score", incomplete="drop")
    full = stats.icc(scores[scores["case"] != "C07"], targets="case", raters="rater", ratings="score")
    assert (res.n_targets, res.n_dropped, res.dropped_targets) == (29, 1, ("C07",))
    pd.testing.assert_frame_equal(res.table, full.table)


def test_duplicate_rating_is_rejected_naming_target_and_rater(scores):
    with pytest.raises(DataError, match="C01.*r1"):
        stats.icc(pd.concat([scores, scores.iloc[[0]]]), targets="case", raters="rater", ratings="score")


def test_missing_icc_column_is_rejected_naming_it(scores):
    with pytest.raises(DataError, match="grade"):
        stats.icc(scores, targets="case", raters="rater", ratings="grade")


# --------------------------------------------------------------------------------------------- kappa
def test_unweighted_kappa_matches_psych_cohen_kappa(grades, kappa_ref):
    res = stats.cohen_kappa(grades["rev1"], grades["rev2"])
    assert res.kappa == pytest.approx(kappa_ref["kappa"], abs=TOL)
    assert res.se**2 == pytest.approx(kappa_ref["var_kappa"], abs=TOL)
    assert res.confidence_interval() == pytest.approx(
        (kappa_ref["kappa_low"], kappa_ref["kappa_high"]), abs=TOL
    )
    assert res.percent_agreement == pytest.approx(kappa_ref["percent_agreement"], abs=TOL)
    assert res.weights is None and res.n == 150


@pytest.mark.parametrize("weights", ["linear", "quadratic"])
def test_weighted_kappa_matches_psych_estimate_and_fleiss_cohen_everitt_variance(grades, kappa_ref, weights):
    res = stats.cohen_kappa(grades["rev1"], grades["rev2"], weights=weights)
    assert res.kappa == pytest.approx(kappa_ref[weights], abs=TOL)
    # psych 2.2.9's var.weighted has a row/column-sum slip (0 for quadratic here); use the 1969 formula
    assert res.se**2 == pytest.approx(kappa_ref[f"fce1969_var_{weights}"], abs=TOL)
    sm = sm_cohens_kappa(pd.crosstab(grades["rev1"], grades["rev2"]).to_numpy(), wt=weights)
    assert res.kappa == pytest.approx(sm.kappa, abs=TOL)
    assert res.se == pytest.approx(sm.std_kappa, abs=TOL)


def test_linear_kappa_interval_matches_fleiss_cohen_everitt(grades, kappa_ref):
    res = stats.cohen_kappa(grades["rev1"], grades["rev2"], weights="linear")
    half = 1.959963984540054 * np.sqrt(kappa_ref["fce1969_var_linear"])
    assert res.ci_low == pytest.approx(kappa_ref["linear"] - half, abs=TOL)
    assert res.ci_high == pytest.approx(kappa_ref["linear"] + half, abs=TOL)


def test_grade_labels_need_an_order_for_weighted_kappa(grades):
    labels = {1: "优秀", 2: "良好", 3: "合格", 4: "不合格"}
    a, b = grades["rev1"].map(labels), grades["rev2"].map(labels)
    with pytest.raises(DataError, match="categories"):
        stats.cohen_kappa(a, b, weights="quadratic")
    ordered = stats.cohen_kappa(a, b, weights="quadratic", categories=["优秀", "良好", "合格", "不合格"])
    numeric = stats.cohen_kappa(grades["rev1"], grades["rev2"], weights="quadratic")
    assert ordered.kappa == pytest.approx(numeric.kappa, abs=1e-12)


def test_kappa_drops_pairs_with_a_missing_rating(grades):
    a = grades["rev1"].astype(float).copy()
    a.iloc[[0, 5]] = np.nan
    res = stats.cohen_kappa(a, grades["rev2"])
    assert (res.n, res.n_dropped) == (148, 2)


def test_kappa_rating_outside_categories_is_rejected_naming_the_column(grades):
    with pytest.raises(DataError, match="rev2: value 4"):
        stats.cohen_kappa(grades["rev1"].clip(upper=3), grades["rev2"], categories=[1, 2, 3])


def test_kappa_unknown_weights_are_rejected(grades):
    with pytest.raises(DataError, match="weights"):
        stats.cohen_kappa(grades["rev1"], grades["rev2"], weights="cicchetti")


# --------------------------------------------------------------------------------------------- Fleiss
def _fleiss_table() -> pd.DataFrame:
    ratings = pd.read_csv(REF / "fleiss1971_diagnoses.csv").set_index("patient")
    return ratings.apply(lambda row: row.value_counts().reindex(range(1, 6), fill_value=0), axis=1)


def test_fleiss_kappa_matches_fleiss_1971_and_irr_kappam_fleiss():
    res = stats.fleiss_kappa(_fleiss_table())
    assert res.kappa == pytest.approx(0.430, abs=PUBLISHED_TOL)  # Fleiss (1971)
    assert res.kappa == pytest.approx(0.4302445, abs=TOL)  # irr::kappam.fleiss(diagnoses)
    assert res.z == pytest.approx(17.65183, abs=IRR_Z_TOL)
    assert (res.n_subjects, res.n_raters, res.n_categories) == (30, 6, 5)


def test_fleiss_kappa_matches_the_wikipedia_example():
    t = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1]]
    t += [[7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]
    res = stats.fleiss_kappa(t)
    assert res.kappa == pytest.approx(0.210, abs=PUBLISHED_TOL)
    assert res.observed == pytest.approx(0.378, abs=PUBLISHED_TOL)
    assert res.expected == pytest.approx(0.213, abs=PUBLISHED_TOL)


def test_fleiss_table_with_unequal_rater_counts_is_rejected_naming_the_row():
    t = _fleiss_table()
    t.loc[4, 1] += 1
    with pytest.raises(DataError, match="4"):
        stats.fleiss_kappa(t)


def test_fleiss_negative_count_is_rejected_naming_the_column():
    t = _fleiss_table()
    t.loc[2, 3] = -1
    with pytest.raises(DataError, match="category column 3"):
        stats.fleiss_kappa(t)
