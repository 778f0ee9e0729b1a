"""SurveyDesign.regress_patterns (model matrix given once per distinct row) against the patsy-based regress.

regress itself is checked against R survey::svyglm in test_design.py; here the pattern path must give the same
table as regress on the same model for every reference design (equal weights, raked, stratified, stratified and
raked with base weights), with missing responses and missing regressors.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_design import DESIGNS, REF, _design

from pipeline import stats
from pipeline.errors import DataError

SAME_MODEL_RTOL = 1e-9  # the same quantities summed in another order
COLUMNS = ["estimate", "se", "t", "p", "ci_low", "ci_high", "df"]


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    return pd.read_csv(REF / "sample.csv", dtype={"district": str, "gender": str, "age_group": str})


def _patterns(frame: pd.DataFrame, factors: list[str]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Treatment coding of ``factors`` (sorted levels, first = reference) as pattern codes and rows."""
    levels = [sorted(frame[f].dropna().unique()) for f in factors]
    codes = [pd.Categorical(frame[f], categories=lv).codes for f, lv in zip(factors, levels, strict=True)]
    combos = pd.MultiIndex.from_product([range(len(lv)) for lv in levels])
    rows = [[1.0] + [float(c == j) for c, lv in zip(combo, levels, strict=True) for j in range(1, len(lv))]
            for combo in combos]  # fmt: skip
    pattern = np.zeros(len(frame), dtype=np.intp)
    for c, lv in zip(codes, levels, strict=True):
        pattern = pattern * len(lv) + c
    pattern[np.any([c < 0 for c in codes], axis=0)] = -1
    terms = ["Intercept"] + [f"C({f})[T.{v}]" for f, lv in zip(factors, levels, strict=True) for v in lv[1:]]
    return pattern, np.array(rows), terms


def _assert_same_table(fast: pd.DataFrame, slow: pd.DataFrame) -> None:
    assert list(fast.columns) == list(slow.columns)
    assert list(fast["term"]) == list(slow["term"])
    for col in COLUMNS:
        scale = np.abs(slow[col]).max()  # interval ends near 0 keep only the absolute agreement
        np.testing.assert_allclose(
            fast[col], slow[col], rtol=SAME_MODEL_RTOL, atol=SAME_MODEL_RTOL * scale, err_msg=col
        )


@pytest.mark.parametrize("name", DESIGNS)
def test_pattern_regression_equals_the_formula_regression(sample, name):
    d = _design(sample, name)
    pattern, x, terms = _patterns(sample, ["district", "gender", "age_group"])
    fast = d.regress_patterns("scale_a", pattern, x, terms)
    _assert_same_table(fast, d.regress("scale_a ~ C(district) + C(gender) + C(age_group)"))


@pytest.mark.parametrize("name", DESIGNS)
def test_pattern_regression_drops_rows_with_a_missing_regressor_as_the_formula_does(sample, name):
    band = pd.Series(np.array(["x", "y", "z"])[np.arange(len(sample)) % 3]).where(
        np.arange(len(sample)) % 7 != 3
    )
    frame = sample.assign(band=band)
    d = _design(frame, name)
    pattern, x, terms = _patterns(frame, ["district", "band"])
    assert (pattern < 0).any()
    fast = d.regress_patterns("scale_a", pattern, x, terms, confidence_level=0.9)
    _assert_same_table(fast, d.regress("scale_a ~ C(district) + C(band)", confidence_level=0.9))


def test_unused_pattern_rows_do_not_change_the_fit(sample):
    d = _design(sample, "d")
    pattern, x, terms = _patterns(sample, ["district", "gender"])
    extra = np.vstack([x, x[:3]])  # rows no respondent has
    _assert_same_table(
        d.regress_patterns("scale_a", pattern, extra, terms), d.regress_patterns("scale_a", pattern, x, terms)
    )


def test_rank_deficient_pattern_matrix_is_rejected_naming_the_terms(sample):
    pattern, x, terms = _patterns(sample, ["district", "gender"])
    x = np.column_stack([x, x[:, -1]])
    with pytest.raises(DataError, match="rank-deficient.*copy"):
        stats.SurveyDesign(sample).regress_patterns("scale_a", pattern, x, [*terms, "copy"])


def test_pattern_codes_must_fit_the_rows_of_x(sample):
    pattern, x, terms = _patterns(sample, ["district", "gender"])
    with pytest.raises(DataError, match="scale_a"):
        stats.SurveyDesign(sample).regress_patterns("scale_a", pattern[:-1], x, terms)
    with pytest.raises(DataError, match="no row in x"):
        stats.SurveyDesign(sample).regress_patterns("scale_a", pattern, x[:2], terms)


@pytest.mark.parametrize("name", DESIGNS)
@pytest.mark.parametrize(
    "n_groups", [3, 40]
)  # few: all stratum x cell x group combinations; many: observed only
def test_grouped_influence_variance_equals_the_dense_linearization(sample, name, n_groups):
    d = _design(sample, name)
    rng = np.random.default_rng(n_groups)
    group = rng.integers(0, n_groups, len(sample))
    z_of_group = rng.normal(size=(n_groups, 4))
    slow = d._variance(z_of_group[group])
    np.testing.assert_allclose(
        d._grouped_variance(group, z_of_group), slow, rtol=1e-9, atol=1e-12 * np.abs(slow).max()
    )
