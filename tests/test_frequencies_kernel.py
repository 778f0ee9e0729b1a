"""The frequencies kernel (pipeline.stats._frequencies) equals category_proportions and SurveyDesign.chisq on
designs with strata, fpc and calibration, domains with missing labels and answers outside the levels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline import stats
from pipeline.stats import _frequencies as kernel
from pipeline.stats.frequencies import category_proportions

LEVELS = [1, 2, 3, 4]
COLUMNS = ["n", "estimate", "se", "ci_low", "ci_high", "n_valid", "n_eff", "df"]


def _frame(seed: int, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    y = rng.choice([1, 2, 3, 4, 9, -3], size=n, p=[0.3, 0.3, 0.2, 0.1, 0.05, 0.05]).astype(float)
    y[rng.random(n) < 0.05] = np.nan
    g = rng.choice(["北", "南", "东", "西"], size=n, p=[0.4, 0.3, 0.25, 0.05]).astype(object)
    g[rng.random(n) < 0.05] = None
    stratum = np.minimum(np.arange(n) // 10, n // 10 - 1)  # strata of 10 to 19 respondents
    return pd.DataFrame(
        {
            "y": pd.array(np.where(np.isnan(y), None, y), dtype="Float64"),
            "g": g,
            "stratum": stratum,
            "size": 30 + stratum,
            "gender": rng.choice(["m", "f"], size=n),
            "age": rng.choice(["a", "b", "c"], size=n),
            "w": rng.uniform(0.5, 3.0, size=n),
        }
    )


def _designs(frame: pd.DataFrame) -> dict[str, stats.SurveyDesign]:
    return {
        "plain": stats.SurveyDesign(frame, weights="w"),
        "strata_fpc": stats.SurveyDesign(frame, weights="w", strata="stratum", fpc="size"),
        "calibrated": stats.SurveyDesign(frame, weights="w", calibrated_on=["gender", "age"]),
    }


def _kernel_table(design, frame, by, method="logit"):
    values = frame["y"].to_numpy(dtype=float, na_value=np.nan)
    level_of = pd.Index(np.asarray(LEVELS, dtype=float)).get_indexer(values)
    slot = np.where(level_of >= 0, level_of, len(LEVELS))
    levels, gcode = design._groups(by)
    combos = kernel.combinations(design, gcode, len(levels))
    sums = kernel.item_sums(design, combos, slot, len(LEVELS), design.weights**2)
    return kernel.proportions(design, combos, sums, method=method), levels, combos, sums


@pytest.mark.parametrize("name", ["plain", "strata_fpc", "calibrated"])
@pytest.mark.parametrize("by", [None, "g"])
@pytest.mark.parametrize("method", ["logit", "beta"])
def test_kernel_proportions_equal_category_proportions(name, by, method):
    frame = _frame(1, 400)
    design = _designs(frame)[name]
    got, levels, _, _ = _kernel_table(design, frame, by, method)
    want = category_proportions(design, "y", LEVELS, by=by, method=method)
    k = len(LEVELS)
    for col in COLUMNS:
        mine = np.asarray(got[col], dtype=float)
        mine = mine.ravel() if mine.ndim == 2 else np.repeat(mine, k)
        np.testing.assert_allclose(mine, want[col].to_numpy(dtype=float), rtol=1e-12, atol=1e-14, err_msg=col)


@pytest.mark.parametrize("name", ["plain", "strata_fpc", "calibrated"])
def test_kernel_crosstab_equals_chisq(name):
    frame = _frame(2, 500)
    design = _designs(frame)[name]
    _, levels, combos, sums = _kernel_table(design, frame, "g")
    rows = np.arange(len(levels))
    cols = np.arange(len(LEVELS))
    got = kernel.crosstab(design, combos, sums, rows, cols, tuple(levels), tuple(LEVELS))
    col = frame["y"].where(frame["y"].isin(LEVELS))
    want = design.chisq(frame["g"].rename("g"), col.rename("y"))
    for field in ("statistic", "ndf", "ddf", "pvalue", "pearson", "mean_deff"):
        assert getattr(got, field) == pytest.approx(getattr(want, field), rel=1e-10), field


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(30, 200),
    name=st.sampled_from(["plain", "strata_fpc", "calibrated"]),
)
def test_kernel_proportions_equal_category_proportions_on_random_samples(seed, n, name):
    frame = _frame(seed, n)
    design = _designs(frame)[name]
    got, _, _, _ = _kernel_table(design, frame, "g")
    want = category_proportions(design, "y", LEVELS, by="g")
    np.testing.assert_allclose(got["estimate"].ravel(), want["estimate"], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(got["se"].ravel(), want["se"], rtol=1e-9, atol=1e-13)
