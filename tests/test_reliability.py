"""Reliability (alpha, omega, item analysis) against R psych/survey numbers in tests/reference/psych/."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline import stats
from pipeline.errors import DataError

REF = Path(__file__).parent / "reference" / "psych"
TOL = 1e-6  # closed-form statistics: R and numpy agree to rounding error
OMEGA_TOL = 1e-6  # omega from minres; psych's optimiser stops ~1e-7 away from the exact optimum
LOADING_TOL = 1e-4
# Bootstrap vs Feldt: the Monte Carlo SE of a 2.5% quantile with 2000 replicates is ~0.0012 here
# (sqrt(.025 * .975 / 2000) / density at the quantile, alpha's SE ~0.02); the percentile and F intervals also
# differ in skew by a few thousandths. 0.01 is ~3 of those combined.
BOOT_CI_TOL = 0.01
ITEMS = [f"q{j}" for j in range(1, 7)]


@pytest.fixture(scope="module")
def likert() -> pd.DataFrame:
    return pd.read_csv(REF / "likert.csv")


@pytest.fixture(scope="module")
def ref() -> dict:
    return json.loads((REF / "alpha.json").read_text())


def _alpha(likert, **kw):
    return stats.cronbach_alpha(likert[ITEMS], reverse=["q4"], scale_range=(1, 5), **kw)


def test_alpha_matches_psych_alpha(likert, ref):
    res = _alpha(likert)
    assert res.alpha == pytest.approx(ref["raw_alpha"], abs=TOL)
    assert res.alpha_std == pytest.approx(ref["std_alpha"], abs=TOL)
    assert res.lambda6 == pytest.approx(ref["G6"], abs=TOL)
    assert res.average_r == pytest.approx(ref["average_r"], abs=TOL)
    assert res.se == pytest.approx(ref["ase"], abs=TOL)
    assert (res.n, res.k, res.n_dropped, res.weighted) == (400, 6, 0, False)


def test_feldt_interval_matches_psych_alpha_ci(likert, ref):
    res = _alpha(likert, ci="feldt")
    assert res.ci_method == "feldt"
    assert res.confidence_interval() == pytest.approx((ref["feldt_low"], ref["feldt_high"]), abs=TOL)


def test_duhachek_interval_matches_psych_ase(likert, ref):
    res = _alpha(likert, ci="duhachek")
    assert (res.ci_low, res.ci_high) == pytest.approx((ref["duhachek_low"], ref["duhachek_high"]), abs=TOL)


def test_bootstrap_interval_is_seeded_and_close_to_feldt(likert, ref):
    a = _alpha(likert, ci="bootstrap", seed=1)
    b = _alpha(likert, ci="bootstrap", seed=1)
    assert (a.ci_low, a.ci_high) == (b.ci_low, b.ci_high)
    assert a.ci_low < a.alpha < a.ci_high
    assert a.ci_low == pytest.approx(ref["feldt_low"], abs=BOOT_CI_TOL)
    assert a.ci_high == pytest.approx(ref["feldt_high"], abs=BOOT_CI_TOL)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("cells", [1, 400 * 7, 1 << 20])
def test_bootstrap_replicates_equal_resampled_rows_whatever_the_block_size(
    likert, monkeypatch, weighted, cells
):
    """Each replicate: the weighted alpha of n rows drawn with replacement (np.cov with aweights)."""
    from pipeline.stats import reliability as rel

    x = likert[ITEMS].to_numpy(dtype=float)
    x[:, 3] = 6 - x[:, 3]
    w = likert["w"].to_numpy() if weighted else None
    n, k, n_boot = len(x), x.shape[1], 50
    monkeypatch.setattr(rel, "_BOOT_CELLS", cells)
    block = max(1, min(n_boot, cells // n))
    rng = np.random.default_rng(3)
    naive = []
    for start in range(0, n_boot, block):
        draws = rng.integers(0, n, size=(min(block, n_boot - start), n))
        for rows in draws:
            c = np.cov(x[rows], rowvar=False, aweights=None if w is None else w[rows])
            naive.append(k / (k - 1) * (1 - np.trace(c) / c.sum()))
    expected = np.quantile(naive, [0.025, 0.975])
    got = rel._bootstrap_many(x, [w], n_boot, 0.95, 3)[0]
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def test_bootstrap_intervals_of_several_weightings_equal_one_call_each(likert):
    # the unweighted and weighted preparations share their complete cases (one set of draws); a weighting that
    # drops rows has other complete cases and is resampled on its own
    from pipeline.stats.reliability import bootstrap_intervals, prepare_items

    prep = prepare_items(likert[ITEMS], reverse=["q4"], scale_range=(1, 5))
    w = likert["w"].to_numpy()
    w_missing = w.copy()
    w_missing[:7] = np.nan
    preps = [prep, prep.with_weights(w), prep.with_weights(w_missing)]
    assert preps[1].x is prep.x and preps[2].n == prep.n - 7
    got = bootstrap_intervals(preps, n_boot=300, seed=5)
    for p, interval in zip(preps, got, strict=True):
        alone = stats.cronbach_alpha(p, ci="bootstrap", n_boot=300, seed=5)
        np.testing.assert_allclose(interval, alone.confidence_interval(), rtol=0, atol=1e-12)


def test_weighted_intervals_use_kish_effective_sample_size(likert):
    from scipy import stats as sps

    res = _alpha(likert, weights=likert["w"])
    w = likert["w"].to_numpy()
    n_eff = w.sum() ** 2 / (w**2).sum()
    assert res.n_eff == pytest.approx(n_eff)
    low = 1 - (1 - res.alpha) * sps.f.ppf(0.975, n_eff - 1, (n_eff - 1) * 5)
    assert res.ci_low == pytest.approx(low, abs=1e-12)
    boot = _alpha(likert, weights=likert["w"], ci="bootstrap")
    assert boot.ci_low == pytest.approx(res.ci_low, abs=BOOT_CI_TOL)


def test_weighted_alpha_matches_survey_svycralpha(likert, ref):
    res = _alpha(likert, weights=likert["w"])
    unweighted = _alpha(likert)
    assert res.weighted
    assert res.alpha == pytest.approx(ref["svycralpha"], abs=TOL)
    assert res.alpha != pytest.approx(unweighted.alpha, abs=1e-4)
    assert res.alpha_unweighted == pytest.approx(ref["raw_alpha"], abs=TOL)  # reported beside
    assert res.n_eff < res.n


def test_equal_weights_give_the_unweighted_alpha(likert):
    a = _alpha(likert, weights=np.full(len(likert), 2.5))
    b = _alpha(likert)
    assert a.alpha == pytest.approx(b.alpha, abs=1e-12)
    assert a.ci_low == pytest.approx(b.ci_low, abs=1e-12)


def test_item_analysis_matches_psych_alpha_drop_and_r_drop(likert, ref):
    tab = stats.item_analysis(likert[ITEMS], reverse=["q4"], scale_range=(1, 5))
    assert list(tab["item"]) == ref["item"]
    np.testing.assert_allclose(tab["alpha_if_deleted"], ref["alpha_drop"], atol=TOL)
    np.testing.assert_allclose(tab["r_drop"], ref["r_drop"], atol=TOL)
    np.testing.assert_allclose(tab["r_cor"], ref["r_cor"], atol=TOL)
    np.testing.assert_allclose(tab["mean"], ref["item_mean"], atol=TOL)
    np.testing.assert_allclose(tab["sd"], ref["item_sd"], atol=TOL)
    assert tab.loc[tab["item"] == "q4", "reversed"].item()


def test_weighted_alpha_if_deleted_matches_survey_svycralpha(likert, ref):
    tab = stats.item_analysis(likert[ITEMS], reverse=["q4"], scale_range=(1, 5), weights=likert["w"])
    np.testing.assert_allclose(tab["alpha_if_deleted"], ref["svycralpha_drop"], atol=TOL)
    assert tab["scale_alpha"].iloc[0] == pytest.approx(ref["svycralpha"], abs=TOL)


def test_response_frequencies_are_shares_of_answers_as_given(likert):
    tab = stats.item_analysis(likert[ITEMS], reverse=["q4"], scale_range=(1, 5)).set_index("item")
    freq = [f"freq_{v}" for v in range(1, 6)]
    np.testing.assert_allclose(tab[freq].sum(axis=1), 1.0)
    expected = likert["q4"].value_counts(normalize=True).sort_index()
    np.testing.assert_allclose(tab.loc["q4", freq].to_numpy(float), expected.to_numpy())


def test_weak_item_is_flagged_with_code_and_chinese_reason(likert):
    tab = stats.item_analysis(likert[ITEMS], reverse=["q4"], scale_range=(1, 5)).set_index("item")
    assert tab.loc["q6", "flag_codes"] == "r_drop_low;alpha_if_deleted_higher"
    assert "低于0.30" in tab.loc["q6", "flags"]
    assert tab.loc["q1", "flag_codes"] == ""


def test_unreversed_item_is_flagged_as_possible_keying_error(likert):
    tab = stats.item_analysis(likert[ITEMS], scale_range=(1, 5)).set_index("item")
    assert "r_drop_negative" in tab.loc["q4", "flag_codes"].split(";")
    assert "可能反向计分错误" in tab.loc["q4", "flags"]


def test_low_alpha_is_flagged_on_every_row_and_thresholds_are_arguments(likert):
    tab = stats.item_analysis(likert[ITEMS], reverse=["q4"], scale_range=(1, 5), alpha_min=0.8)
    assert all("scale_alpha_low" in c for c in tab["flag_codes"])
    assert "低于0.80" in tab["flags"].iloc[0]


def test_omega_total_matches_psych_omega_one_factor(likert, ref):
    res = stats.omega_total(likert[ITEMS], reverse=["q4"], scale_range=(1, 5))
    assert res.omega_total == pytest.approx(ref["omega_tot"], abs=OMEGA_TOL)
    np.testing.assert_allclose(res.loadings.to_numpy(), ref["fa1_loadings"], atol=LOADING_TOL)


def test_omega_flips_negatively_loading_items_as_psych(likert, ref):
    res = stats.omega_total(likert[ITEMS])  # q4 not reversed: psych's flip = TRUE reverses it
    assert res.omega_total == pytest.approx(ref["omega_tot"], abs=OMEGA_TOL)


def test_listwise_deletion_equals_complete_case_analysis_and_is_reported(likert):
    x = likert[ITEMS].astype(float).copy()
    x.loc[[3, 10, 50], "q2"] = np.nan
    x.loc[10, "q5"] = np.nan
    res = stats.cronbach_alpha(x, reverse=["q4"], scale_range=(1, 5))
    complete = stats.cronbach_alpha(x.dropna(), reverse=["q4"], scale_range=(1, 5))
    assert res.alpha == complete.alpha
    assert (res.n, res.n_dropped, res.missing) == (397, 3, "listwise")
    assert any("listwise" in note for note in res.notes)
    assert stats.item_analysis(x, reverse=["q4"], scale_range=(1, 5))["n"].eq(397).all()


def test_reverse_without_scale_range_uses_observed_range_with_a_note(likert, ref):
    res = stats.cronbach_alpha(likert[ITEMS], reverse=["q4"])
    assert res.alpha == pytest.approx(ref["raw_alpha"], abs=TOL)  # observed range is 1..5 here
    assert res.scale_range == (1.0, 5.0)
    assert any("scale_range not given" in note for note in res.notes)


def test_input_is_not_mutated(likert):
    x = likert[ITEMS].copy()
    before = x.copy()
    stats.item_analysis(x, reverse=["q4"], scale_range=(1, 5), weights=likert["w"])
    pd.testing.assert_frame_equal(x, before)


def test_value_outside_scale_range_is_rejected_naming_the_column(likert):
    x = likert[ITEMS].copy()
    x.loc[5, "q3"] = 99
    with pytest.raises(DataError, match="q3"):
        stats.cronbach_alpha(x, scale_range=(1, 5))


def test_non_numeric_item_is_rejected_naming_the_column(likert):
    x = likert[ITEMS].astype(object).copy()
    x["q2"] = "比较同意"
    with pytest.raises(DataError, match="q2"):
        stats.cronbach_alpha(x)


def test_constant_item_is_rejected_naming_the_column(likert):
    x = likert[ITEMS].copy()
    x["q5"] = 3
    with pytest.raises(DataError, match="q5"):
        stats.cronbach_alpha(x)


def test_single_item_is_rejected_naming_the_column(likert):
    with pytest.raises(DataError, match="q1"):
        stats.cronbach_alpha(likert[["q1"]])


def test_unknown_reverse_item_is_rejected_naming_it(likert):
    with pytest.raises(DataError, match="q9"):
        stats.cronbach_alpha(likert[ITEMS], reverse=["q9"])


def test_bad_weights_are_rejected(likert):
    with pytest.raises(DataError, match="weights"):
        stats.cronbach_alpha(likert[ITEMS], weights=-likert["w"])
    with pytest.raises(DataError, match="weights"):
        stats.cronbach_alpha(likert[ITEMS], weights=likert["w"].iloc[:10].to_numpy())


def test_unknown_ci_method_is_rejected(likert):
    with pytest.raises(DataError, match="ci"):
        stats.cronbach_alpha(likert[ITEMS], ci="wald")


def test_two_item_scale_has_no_alpha_if_deleted(likert):
    tab = stats.item_analysis(likert[["q1", "q2"]], scale_range=(1, 5))
    assert tab["alpha_if_deleted"].isna().all()
    assert not tab["flag_codes"].str.contains("alpha_if_deleted_higher").any()
    r = likert["q1"].corr(likert["q2"])
    np.testing.assert_allclose(tab["r_drop"], [r, r], atol=TOL)
