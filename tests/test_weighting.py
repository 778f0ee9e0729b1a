"""Tests for pipeline.stats.weighting: raking against R survey::calibrate/rake, Kish summaries, failures.

Reference numbers: tests/reference/survey/ (make_reference.R, survey 4.1.1).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline import stats
from pipeline.errors import ConvergenceError, DataError

REF = Path(__file__).parent / "reference" / "survey"
WEIGHT_RTOL = 1e-8  # weights and point estimates vs R
TIGHT_TOL = 1e-12  # raking tolerance used when comparing to R (R run with epsilon = 1e-13)


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    return pd.read_csv(REF / "sample.csv", dtype={"district": str, "gender": str, "age_group": str})


@pytest.fixture(scope="module")
def population() -> pd.DataFrame:
    return pd.read_csv(REF / "population.csv", keep_default_na=False)


def _margin(pop: pd.DataFrame, variable: str) -> dict:
    d = pop[pop["variable"] == variable]
    if variable == "district:gender":
        return {(a, b): t for a, b, t in zip(d["category"], d["category2"], d["target"], strict=True)}
    return dict(zip(d["category"], d["target"], strict=True))


def _main_margins(pop):
    return {v: _margin(pop, v) for v in ("district", "gender", "age_group")}


def test_rake_weights_match_survey_calibrate_raking(sample, population):
    r = stats.rake(sample, _main_margins(population), tol=TIGHT_TOL)
    assert r.converged
    np.testing.assert_allclose(r.weights.to_numpy(), sample["w_b"].to_numpy(), rtol=WEIGHT_RTOL)
    np.testing.assert_allclose(r.weights.to_numpy(), sample["w_b_rake"].to_numpy(), rtol=WEIGHT_RTOL)
    assert r.weights.index.equals(sample.index)


def test_rake_with_interaction_margin_and_base_weights_matches_survey_calibrate(sample, population):
    margins = {
        ("district", "gender"): _margin(population, "district:gender"),
        "age_group": _margin(population, "age_group"),
    }
    r = stats.rake(sample, margins, base_weights=sample["w0"], tol=TIGHT_TOL)
    np.testing.assert_allclose(r.weights.to_numpy(), sample["w_d"].to_numpy(), rtol=WEIGHT_RTOL)
    row = r.margins[(r.margins["variable"] == "district:gender") & (r.margins["category"] == ("d01", "F"))]
    assert len(row) == 1


def test_kish_deff_and_n_eff_follow_their_definitions(sample, population):
    r = stats.rake(sample, _main_margins(population))
    w = r.weights.to_numpy()
    n = len(w)
    assert r.deff == pytest.approx(n * np.sum(w**2) / np.sum(w) ** 2, rel=1e-12)
    assert r.n_eff == pytest.approx(np.sum(w) ** 2 / np.sum(w**2), rel=1e-12)
    assert r.n_eff * r.deff == pytest.approx(n, rel=1e-12)


def test_margins_table_reports_targets_and_achieved_totals(sample, population):
    r = stats.rake(sample, _main_margins(population), tol=1e-10)
    m = r.margins
    assert list(m.columns) == ["variable", "category", "target", "achieved", "rel_error"]
    assert len(m) == 8 + 2 + 5
    assert m["rel_error"].max() <= 1e-10 + 1e-9
    assert r.max_margin_error == m["rel_error"].max()
    summary = r.summary()
    assert summary["max_min_ratio"] == pytest.approx(summary["max"] / summary["min"])
    assert summary["total"] == pytest.approx(200000, rel=1e-9)


def test_shares_are_scaled_to_sum_of_base_weights_or_total(sample, population):
    shares = {v: {k: t / 200000 for k, t in d.items()} for v, d in _main_margins(population).items()}
    r = stats.rake(sample, shares)
    assert r.weights.sum() == pytest.approx(len(sample), rel=1e-9)
    r_total = stats.rake(sample, shares, total=200000.0)
    r_counts = stats.rake(sample, _main_margins(population))
    np.testing.assert_allclose(r_total.weights, r_counts.weights, rtol=1e-8)
    mixed = {"district": _margin(population, "district"), "gender": shares["gender"]}
    assert stats.rake(sample, mixed).weights.sum() == pytest.approx(200000, rel=1e-9)


def test_cap_holds_with_margins_exact_and_counts_trimmed(sample, population):
    cap = 1.6
    r = stats.rake(sample, _main_margins(population), cap=cap, tol=1e-10)
    w = r.weights
    assert w.max() / w.mean() <= cap * (1 + 1e-9)
    assert r.max_margin_error <= 1e-10 + 1e-9
    assert r.n_trimmed == int(np.isclose(w, cap * w.mean(), rtol=1e-9).sum())
    assert r.n_trimmed > 0
    uncapped = stats.rake(sample, _main_margins(population))
    assert uncapped.n_trimmed == 0


def test_infeasible_cap_raises_convergence_error_naming_margin(sample, population):
    with pytest.raises(ConvergenceError, match=r"cap=1.01.*margin"):
        stats.rake(sample, _main_margins(population), cap=1.01, max_iter=50)


def test_non_convergence_reports_achieved_error(sample, population):
    with pytest.raises(
        ConvergenceError, match=r"did not converge in 1 iterations: max relative margin error"
    ):
        stats.rake(sample, _main_margins(population), max_iter=1)


def test_empty_sample_category_with_nonzero_target_is_rejected_naming_it(sample, population):
    margins = _main_margins(population)
    margins["district"] = {**margins["district"], "d09": 1000.0}
    margins["gender"] = {k: v * (1 + 1000 / 200000) for k, v in margins["gender"].items()}
    margins["age_group"] = {k: v * (1 + 1000 / 200000) for k, v in margins["age_group"].items()}
    with pytest.raises(
        DataError, match=r"margin district: category 'd09' has population target 1000 but no respondents"
    ):
        stats.rake(sample, margins)


def test_data_category_absent_from_margins_is_rejected_naming_it(sample, population):
    margins = _main_margins(population)
    margins["age_group"] = {k: v for k, v in margins["age_group"].items() if k != "60+"}
    with pytest.raises(
        DataError, match=r"margin age_group: .* absent from the margin targets, e.g. \['60\+'\]"
    ):
        stats.rake(sample, margins)


def test_margins_with_different_totals_are_rejected(sample, population):
    margins = _main_margins(population)
    margins["gender"] = {k: v * 1.01 for k, v in margins["gender"].items()}
    with pytest.raises(DataError, match=r"margin totals differ: margin gender"):
        stats.rake(sample, margins)


def test_missing_value_in_raking_variable_is_rejected_naming_the_column(sample, population):
    bad = sample.copy()
    bad.loc[3, "gender"] = np.nan
    with pytest.raises(DataError, match=r"raking variable 'gender' has 1 missing value"):
        stats.rake(bad, _main_margins(population))


def test_unknown_raking_column_is_rejected(sample, population):
    with pytest.raises(DataError, match=r"'sex' is not a column"):
        stats.rake(sample, {"sex": {"F": 1, "M": 1}})


def test_observed_category_with_zero_target_is_rejected(sample, population):
    margins = _main_margins(population)
    margins["gender"] = {"F": 200000.0, "M": 0.0}
    with pytest.raises(
        DataError, match=r"margin gender: category 'M' has \d+ respondent\(s\) but population target 0"
    ):
        stats.rake(sample, margins)


def test_rake_does_not_modify_the_frame(sample, population):
    before = sample.copy()
    stats.rake(sample, _main_margins(population))
    pd.testing.assert_frame_equal(sample, before)


def test_cell_weights_are_headcount_over_respondents():
    df = pd.DataFrame({"unit": ["a", "a", "b", "c", "c", "c"]})
    w = stats.cell_weights(df, cell="unit", totals={"a": 10, "b": 3, "c": 9})
    assert w.tolist() == [5.0, 5.0, 3.0, 3.0, 3.0, 3.0]
    assert w.index.equals(df.index)


def test_cell_weights_reject_cell_without_total_and_total_without_respondents():
    df = pd.DataFrame({"unit": ["a", "b"]})
    with pytest.raises(
        DataError, match=r"column 'unit': cell\(s\) \['b'\] have respondents but no headcount"
    ):
        stats.cell_weights(df, cell="unit", totals={"a": 10})
    with pytest.raises(DataError, match=r"cell\(s\) \['z'\] have a headcount but no respondents"):
        stats.cell_weights(df, cell="unit", totals={"a": 10, "b": 2, "z": 4})


@pytest.mark.parametrize("dtype", ["object", "category", "str"])
def test_rake_gives_the_same_weights_for_every_column_dtype(sample, population, dtype):
    frame = sample.astype({c: dtype for c in ("district", "gender", "age_group")})
    r = stats.rake(frame, _main_margins(population), tol=TIGHT_TOL)
    np.testing.assert_allclose(r.weights.to_numpy(), sample["w_b"].to_numpy(), rtol=WEIGHT_RTOL)


def test_large_frames_coded_in_parallel_give_the_same_weights(sample, population):
    copies = 140  # > 100,000 rows: the columns are coded in parallel chunks
    big = pd.concat([sample] * copies, ignore_index=True)
    margins = {
        ("district", "gender"): _margin(population, "district:gender"),
        "age_group": _margin(population, "age_group"),
    }
    r = stats.rake(big, margins, base_weights=big["w0"], tol=TIGHT_TOL)
    np.testing.assert_allclose(
        r.weights.to_numpy(), np.tile(sample["w_d"].to_numpy(), copies) / copies, rtol=WEIGHT_RTOL
    )


def test_post_fit_check_fails_loudly_when_weighted_margins_miss_targets():
    from pipeline.stats import weighting

    frame = pd.DataFrame({"g": ["F", "M", "M"]})
    margins, _, _ = weighting._prepare_margins(frame, {"g": {"F": 10.0, "M": 20.0}}, 3.0, None)
    with pytest.raises(ConvergenceError, match=r"post-fit check failed: margin g, category 'M'"):
        weighting._independent_check(margins, np.array([10.0, 10.0, 9.0]), 1e-10)


def test_count_margins_disagreeing_with_total_are_rejected(sample, population):
    with pytest.raises(DataError, match=r"margin district sums to 200000.0 but total= gives 150000.0"):
        stats.rake(sample, _main_margins(population), total=150000.0)


def _plain_ipf(frame: pd.DataFrame, margins: dict, sweeps: int = 500) -> np.ndarray:
    """Textbook row-level IPF, the independent reference for the collapsed-unit implementation."""
    coded = []
    for col, spec in margins.items():
        cats = np.array(list(spec))
        codes = np.searchsorted(cats, frame[col].to_numpy(), sorter=np.argsort(cats))
        coded.append((np.argsort(cats)[codes], np.array(list(spec.values()))))
    w = np.ones(len(frame))
    for _ in range(sweeps):
        for codes, target in coded:
            w = w * (target / np.bincount(codes, weights=w, minlength=target.size))[codes]
    return w


def test_many_categories_use_hashed_units_and_agree_with_plain_ipf():
    rng = np.random.default_rng(7)
    n = 3000
    frame = pd.DataFrame({f"v{j}": rng.integers(0, 150, n) for j in range(3)})  # 150**3 > dense limit
    margins = {}
    for j, col in enumerate(frame.columns):
        counts = frame[col].value_counts()
        tilt = 1 + 0.3 * np.sin(counts.index.to_numpy() + j)
        target = counts * tilt
        margins[col] = (target / target.sum() * 10_000).to_dict()
    r = stats.rake(frame, margins, tol=1e-11, max_iter=500)
    np.testing.assert_allclose(r.weights.to_numpy(), _plain_ipf(frame, margins), rtol=1e-8)


def test_cap_with_base_weights_and_interaction_margin_holds_and_keeps_margins(sample, population):
    margins = {
        ("district", "gender"): _margin(population, "district:gender"),
        "age_group": _margin(population, "age_group"),
    }
    r = stats.rake(sample, margins, base_weights=sample["w0"], cap=1.8, tol=1e-10)
    w = r.weights
    assert w.max() / w.mean() <= 1.8 * (1 + 1e-9)
    assert r.max_margin_error <= 1e-10 + 1e-9
    assert r.n_trimmed == int(np.isclose(w, 1.8 * w.mean(), rtol=1e-9).sum()) > 0


def test_categorical_columns_with_unused_levels_give_the_same_weights(sample, population):
    frame = sample.astype({c: "category" for c in ("district", "gender", "age_group")})
    frame["gender"] = frame["gender"].cat.add_categories(
        ["X"]
    )  # declared, never observed, not in the margins
    margins = {
        ("district", "gender"): _margin(population, "district:gender"),
        "age_group": _margin(population, "age_group"),
    }
    r = stats.rake(frame, margins, base_weights=sample["w0"], tol=TIGHT_TOL)
    np.testing.assert_allclose(r.weights.to_numpy(), sample["w_d"].to_numpy(), rtol=WEIGHT_RTOL)


def test_categorical_column_with_a_value_outside_the_margins_is_rejected_naming_it(sample, population):
    frame = sample.astype({"age_group": "category"})
    margins = _main_margins(population)
    margins["age_group"] = {k: v for k, v in margins["age_group"].items() if k != "60+"}
    with pytest.raises(
        DataError, match=r"margin age_group: .* absent from the margin targets, e.g. \['60\+'\]"
    ):
        stats.rake(frame, margins)


def test_categorical_column_with_a_missing_value_is_rejected_naming_it(sample, population):
    frame = sample.astype({"gender": "category"})
    frame.loc[3, "gender"] = np.nan
    with pytest.raises(DataError, match=r"raking variable 'gender' has 1 missing value"):
        stats.rake(frame, _main_margins(population))


def test_raking_columns_coded_in_threads_give_the_weights_of_one_thread(monkeypatch):
    from pipeline import parallel

    rng = np.random.default_rng(5)
    n = parallel.THRESHOLDS["rake_coding_rows"] + 1
    frame = pd.DataFrame(
        {
            "district": pd.array(rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2]), dtype="string[pyarrow]"),
            "gender": pd.array(rng.choice(["m", "f"], n), dtype="string[pyarrow]"),
        }
    )
    margins = {"district": {"a": 300.0, "b": 400.0, "c": 300.0}, "gender": {"m": 510.0, "f": 490.0}}
    monkeypatch.setattr(parallel, "cores", lambda: 2)
    threaded = stats.rake(frame, margins=margins)
    monkeypatch.setitem(parallel.THRESHOLDS, "rake_coding_rows", n + 1)
    serial = stats.rake(frame, margins=margins)
    np.testing.assert_array_equal(threaded.weights.to_numpy(), serial.weights.to_numpy())
