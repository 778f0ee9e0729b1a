"""Group comparisons against R (tests/reference/compare/make_reference.R) and pingouin.

Reference data: ``compare_data.csv`` (240 simulated respondents, 6 districts, 12 units in 3 unit types) and
``fisher_data.csv``; numbers in ``reference.json`` from base R, survey 4.x and jsonlite (15 digits).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pingouin as pg
import pytest
from scipy import stats as st

from pipeline import stats
from pipeline.errors import DataError
from pipeline.stats import comparisons

REF_DIR = Path(__file__).parent / "reference" / "compare"
TOL = 1e-6  # agreement with R / pingouin (absolute, on statistics, df, p-values and CIs)


@pytest.fixture(scope="module")
def ref() -> dict:
    return json.loads((REF_DIR / "reference.json").read_text())


@pytest.fixture(scope="module")
def df() -> pd.DataFrame:
    return pd.read_csv(REF_DIR / "compare_data.csv")


def assert_close(actual, expected, tol=TOL):
    np.testing.assert_allclose(np.asarray(actual, float), np.asarray(expected, float), rtol=0, atol=tol)


# --- building blocks ----------------------------------------------------------------------------------------


def test_welch_anova_matches_r_oneway_test(df, ref):
    r = stats.welch_anova(df, dv="y", between="district")
    R = ref["welch_anova"]
    assert_close([r.statistic, r.df1, r.df2, r.pvalue], [R["statistic"], R["df1"], R["df2"], R["pvalue"]])
    assert_close([r.effect.estimate, *r.effect.confidence_interval()], [R["omega2"], *R["omega2_ci"]])
    assert (r.n, r.n_groups, r.effect.name) == (240, 6, "omega_squared")


def test_welch_anova_matches_pingouin(df):
    r = stats.welch_anova(df, dv="y", between="district")
    peer = pg.welch_anova(data=df, dv="y", between="district").iloc[0]
    assert_close([r.statistic, r.df2, r.pvalue], [peer["F"], peer["ddof2"], peer["p_unc"]])


@pytest.mark.parametrize(("dv", "key"), [("y", "kruskal"), ("likert", "kruskal_likert")])
def test_kruskal_matches_r_kruskal_test_with_ties(df, ref, dv, key):
    r = stats.kruskal(df, dv=dv, between="district")
    R = ref[key]
    assert_close(
        [r.statistic, r.df1, r.pvalue, r.effect.estimate],
        [R["statistic"], R["df"], R["pvalue"], R["epsilon2"]],
    )
    assert math.isnan(r.df2)


def test_games_howell_matches_r_ptukey_formula(df, ref):
    gh = stats.games_howell(df, dv="y", between="district")
    R = pd.DataFrame(ref["games_howell"])
    assert list(gh["A"]) == list(R["A"]) and list(gh["B"]) == list(R["B"])
    for ours, theirs in [("diff", "diff"), ("se", "se"), ("statistic", "t"), ("df", "df"), ("p", "p"),
                         ("ci_low", "ci_low"), ("ci_high", "ci_high")]:  # fmt: skip
        assert_close(gh[ours], R[theirs])


def test_games_howell_matches_pingouin_pairwise_gameshowell(df):
    gh = stats.games_howell(df, dv="y", between="district")
    peer = pg.pairwise_gameshowell(data=df, dv="y", between="district")
    assert_close(gh["diff"], peer["diff"])
    assert_close(gh["df"], peer["df"])
    assert_close(gh["p"], peer["pval"])
    assert_close(gh["hedges_g"], peer["hedges"], tol=0.05)  # pingouin uses an approximate J; ours is exact


def test_chi2_matches_r_chisq_test_without_correction(df, ref):
    r = stats.chi2_independence(df, x="district", y="cat3")
    R = ref["chi2"]
    assert r.test == "chi2"
    assert_close([r.statistic, r.df, r.pvalue], [R["statistic"], R["df"], R["pvalue"]])
    assert_close([r.effect.estimate, *r.effect.confidence_interval()], [R["cramers_v"], *R["cramers_v_ci"]])


def test_chi2_2x2_with_and_without_yates_matches_r(df, ref):
    data = df.assign(high=df["cat3"] == "high")
    plain = stats.chi2_independence(data, x="bin", y="high")
    yates = stats.chi2_independence(data, x="bin", y="high", correction=True)
    R = ref["chi2_2x2"]
    assert (plain.test, yates.test) == ("chi2", "chi2_yates")
    assert_close([plain.statistic, plain.pvalue], [R["statistic"], R["pvalue"]])
    assert_close([yates.statistic, yates.pvalue], [R["statistic_yates"], R["pvalue_yates"]])


def test_small_2x2_uses_fisher_exact_matching_r_fisher_test(ref):
    fd = pd.read_csv(REF_DIR / "fisher_data.csv")
    r = stats.chi2_independence(fd, x="x", y="y")
    assert r.test == "fisher"
    assert_close([r.pvalue, r.min_expected], [ref["fisher"]["pvalue"], ref["fisher"]["min_expected"]])


@pytest.mark.parametrize(("dv", "key"), [("y", "mann_whitney"), ("likert", "mann_whitney_likert")])
def test_mann_whitney_matches_r_wilcox_normal_approximation_with_continuity(df, ref, dv, key):
    r = stats.mann_whitney(df.loc[df.district == "D2", dv], df.loc[df.district == "D4", dv])
    assert_close([r.statistic, r.pvalue], [ref[key]["statistic"], ref[key]["pvalue"]])


def test_welch_ttest_matches_r_t_test(df, ref):
    r = stats.welch_ttest(df.loc[df.district == "D2", "y"], df.loc[df.district == "D4", "y"])
    R = ref["welch_ttest"]
    assert_close(
        [r.statistic, r.df, r.pvalue, r.difference, r.se],
        [R["statistic"], R["df"], R["pvalue"], R["difference"], R["se"]],
    )
    assert_close(r.confidence_interval(), R["ci"])
    assert_close([r.effect.estimate, *r.effect.confidence_interval()], [R["hedges_g"], *R["hedges_g_ci"]])


# --- unit vs rest -------------------------------------------------------------------------------------------


def test_unit_vs_peers_matches_r_t_test_per_unit_with_holm_and_bh(df, ref):
    table = stats.unit_vs_peers(df, dv="y", unit="unit", peer_group="unit_type", min_n=0)
    R = pd.DataFrame(ref["unit_vs_rest"])
    assert list(table["unit"]) == list(R["unit"])
    assert list(table["peer_group"]) == list(R["peer"])
    for ours, theirs in [("estimate", "difference"), ("se", "se"), ("statistic", "t"), ("df1", "df"),
                         ("p", "p"), ("ci_low", "ci_low"), ("ci_high", "ci_high"), ("effect", "g"),
                         ("effect_ci_low", "g_ci_low"), ("effect_ci_high", "g_ci_high"), ("p_holm", "p_holm"),
                         ("p_bh", "p_bh")]:  # fmt: skip
        assert_close(table[ours], R[theirs])
    assert_close(table["n_a"].astype(float), R["n_unit"])
    assert_close(table["n_b"].astype(float), R["n_rest"])


def test_unit_vs_peers_without_peer_group_compares_with_everyone_else(df, ref):
    table = stats.unit_vs_peers(df, dv="y", unit="unit")
    row = table.set_index("unit").loc["U03"]
    R = ref["unit_vs_all_U03"]
    assert_close([row.estimate, row.statistic, row.df1, row.p], [R["difference"], R["t"], R["df"], R["p"]])


def test_unit_vs_peers_keeps_unit_code_and_suppresses_small_units(df):
    table = stats.unit_vs_peers(df, dv="y", unit="unit", peer_group="unit_type")
    assert table["unit"].notna().all() and set(table["unit"]) == set(df["unit"])
    u01 = table.set_index("unit").loc["U01"]  # 8 rows in the reference data
    assert u01.flag == "suppressed" and u01.reason == f"样本量不足{stats.MIN_N}，不予报告"
    assert math.isnan(u01.estimate) and math.isnan(u01.p) and math.isnan(u01.p_holm)
    others = table[table.unit != "U01"]
    assert (others.flag == "small").all()  # every unit here has fewer than 30 rows
    np.testing.assert_allclose(others.p_holm, stats.holm(others.p))


def test_unit_with_two_peer_groups_is_rejected_naming_the_column(df):
    bad = df.copy()
    bad.loc[bad.index[0], "unit_type"] = "town" if bad.loc[bad.index[0], "unit_type"] != "town" else "city"
    with pytest.raises(DataError, match="unit_type"):
        stats.unit_vs_peers(bad, dv="y", unit="unit", peer_group="unit_type")


# --- compare_groups -----------------------------------------------------------------------------------------


def test_compare_groups_family_rows_match_the_building_blocks(df, ref):
    table = stats.compare_groups(df, dv="y", by="district")
    assert list(table.columns) == comparisons.RESULT_COLUMNS
    assert set(table["family"]) == {"y ~ district"}
    welch = table[table.test == "welch_anova"].iloc[0]
    R = ref["welch_anova"]
    assert_close(
        [welch.statistic, welch.df1, welch.df2, welch.p, welch.effect],
        [R["statistic"], 5, R["df2"], R["pvalue"], R["omega2"]],
    )
    assert welch.contrast == "all" and welch.n == 240
    kw = table[table.test == "kruskal"].iloc[0]
    assert_close([kw.statistic, kw.p], [ref["kruskal"]["statistic"], ref["kruskal"]["pvalue"]])
    gh = table[table.test == "games_howell"]
    R = pd.DataFrame(ref["games_howell"])
    assert list(gh.contrast) == [f"{a} vs {b}" for a, b in zip(R.A, R.B, strict=True)]
    assert_close(gh.estimate, R["diff"])
    assert_close(gh.ci_low, R["ci_low"])
    assert_close(gh.p, R["p"])
    assert_close(gh.p_holm, gh.p)  # Games–Howell p is already simultaneous: no second adjustment
    means = table[table.test == "mean"].set_index("contrast")
    assert_close(means.loc["D4", "estimate"], df.loc[df.district == "D4", "y"].mean())
    assert means.loc["D1", "flag"] == "small" and means.loc["D4", "flag"] == ""
    assert_close(table.p_bh, stats.benjamini_hochberg(table.p))


def test_compare_groups_suppresses_group_below_10_and_leaves_it_out_of_the_tests(df):
    data = df[~((df.district == "D1") & (df.index % 3 != 0))]  # D1 keeps 5 rows
    assert (data.district == "D1").sum() < 10
    table = stats.compare_groups(data, dv="y", by="district")
    d1 = table[(table.test == "mean") & (table.contrast == "D1")].iloc[0]
    assert (
        d1.flag == "suppressed"
        and d1.reason == f"样本量不足{stats.MIN_N}，不予报告"
        and math.isnan(d1.estimate)
    )
    assert d1.n == 5
    welch = table[table.test == "welch_anova"].iloc[0]
    direct = stats.welch_anova(data[data.district != "D1"], dv="y", between="district")
    assert_close([welch.statistic, welch.p], [direct.statistic, direct.pvalue])
    assert "D1" in welch.reason
    assert not table.contrast.str.contains("D1 vs").any()


def test_compare_groups_thresholds_are_keywords(df):
    table = stats.compare_groups(df, dv="y", by="district", small_n=10, min_n=20)
    means = table[table.test == "mean"].set_index("contrast")
    assert means.loc["D1", "flag"] == "suppressed" and means.loc["D1", "reason"] == "样本量不足20，不予报告"
    assert means.loc["D6", "flag"] == ""


def test_compare_groups_categorical_dv_gives_chi2_family_with_holm_over_pairs(df, ref):
    table = stats.compare_groups(df, dv="cat3", by="district")
    omni = table[(table.contrast == "all")].iloc[0]
    assert omni.test == "chi2"
    assert_close(
        [omni.statistic, omni.p, omni.effect],
        [ref["chi2"]["statistic"], ref["chi2"]["pvalue"], ref["chi2"]["cramers_v"]],
    )
    pairs = table[table.test.isin(["chi2", "fisher"]) & (table.contrast != "all")]
    assert len(pairs) == 15
    assert_close(pairs.p_holm, stats.holm(pairs.p))
    props = table[table.test == "proportion"]
    assert_close(props.groupby("group_a").estimate.sum(), np.ones(6), tol=1e-12)


def test_compare_groups_several_dvs_make_separate_families(df):
    table = stats.compare_groups(df, dv=["y", "likert"], by="district")
    assert set(table.family) == {"y ~ district", "likert ~ district"}
    assert (table.groupby("family").test.apply(lambda t: (t == "welch_anova").sum()) == 1).all()


def test_adjust_across_tables_recomputes_bh_over_the_run(df):
    a = stats.compare_groups(df, dv="y", by="district")
    b = stats.unit_vs_peers(df, dv="y", unit="unit", peer_group="unit_type")
    run = stats.adjust_across([a, b])
    assert len(run) == len(a) + len(b)
    assert_close(run.p_bh, stats.benjamini_hochberg(np.concatenate([a.p, b.p])))
    assert run.loc[len(a) :, "unit"].notna().all()


def test_inputs_are_not_mutated(df):
    before = df.copy()
    stats.compare_groups(df, dv=["y", "cat3"], by="district")
    stats.unit_vs_peers(df, dv="y", unit="unit", peer_group="unit_type")
    pd.testing.assert_frame_equal(df, before)


# --- input errors -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda d: stats.welch_anova(d, dv="nope", between="district"),
        lambda d: stats.compare_groups(d, dv="y", by="nope"),
        lambda d: stats.unit_vs_peers(d, dv="y", unit="nope"),
        lambda d: stats.chi2_independence(d, x="nope", y="cat3"),
    ],
)
def test_missing_column_is_rejected_naming_the_column(df, call):
    with pytest.raises(DataError, match="nope"):
        call(df)


def test_text_dv_treated_as_continuous_is_rejected_naming_the_column(df):
    with pytest.raises(DataError, match="cat3"):
        stats.compare_groups(df, dv="cat3", by="district", kind="continuous")


def test_zero_variance_group_is_rejected_naming_the_group(df):
    data = df.copy()
    data.loc[data.district == "D3", "y"] = 70.0
    with pytest.raises(DataError, match="D3"):
        stats.welch_anova(data, dv="y", between="district")


def test_single_group_is_rejected_naming_the_column(df):
    with pytest.raises(DataError, match="district"):
        stats.games_howell(df[df.district == "D2"], dv="y", between="district")


# --- design-based path --------------------------------------------------------------------------------------


class _StubDesign:
    """Returns R's survey-package domain means and covariances; tests our contrast/Wald code alone."""

    def __init__(self, frame: pd.DataFrame, ref: dict):
        self.frame, self.ref = frame, ref

    def domain_means_vcov(self, var, by):
        s = self.ref["survey"]
        if isinstance(by, str):
            labels = s["domains"]
            means = pd.Series(s["means"], index=labels)
            vcov = pd.DataFrame(s["vcov"], index=labels, columns=labels)
            return SimpleNamespace(means=means, vcov=vcov, n=pd.Series(s["n"], index=labels),
                                   n_eff=pd.Series(s["n_eff"], index=labels), df=s["degf"])  # fmt: skip
        unit = self.frame.loc[by == "unit", "unit"].iloc[0]
        r = next(u for u in self.ref["survey_unit_vs_rest"] if u["unit"] == unit)
        labels = ["unit", "rest"]
        w = self.frame["w"]
        n = by.value_counts().reindex(labels)
        n_eff = pd.Series(
            [w[by == lab].sum() ** 2 / (w[by == lab] ** 2).sum() for lab in labels], index=labels
        )
        vcov = pd.DataFrame(np.asarray(r["vcov"])[:2, :2], index=labels, columns=labels)
        return SimpleNamespace(means=pd.Series(r["means"][:2], index=labels), vcov=vcov, n=n, n_eff=n_eff,
                               df=self.ref["survey"]["degf"])  # fmt: skip


def test_weighted_family_matches_svycontrast_and_regtermtest(df, ref):
    table = stats.compare_groups(df, dv="y", by="district", design=_StubDesign(df, ref))
    s = ref["survey"]
    wald = table[table.test == "svy_wald_f"].iloc[0]
    assert_close(
        [wald.statistic, wald.df1, wald.df2, wald.p],
        [s["wald"]["F"], s["wald"]["df1"], s["wald"]["df2"], s["wald"]["p"]],
    )
    pairs = table[table.test == "svy_contrast"]
    R = pd.DataFrame(s["contrasts"])
    assert list(pairs.contrast) == [f"{a} vs {b}" for a, b in zip(R.A, R.B, strict=True)]
    assert_close(pairs.estimate, R["estimate"])
    assert_close(pairs.se, R["se"])
    assert_close(pairs.p_holm, stats.holm(pairs.p))
    means = table[table.test == "svy_mean"].set_index("contrast")
    assert_close(means.estimate, s["means"])
    assert table.weighted.all()
    assert means.loc["D1", "flag"] == "small"  # effective n 14.1 < 30


def test_weighted_unit_vs_peers_matches_svycontrast(df, ref):
    table = stats.unit_vs_peers(
        df, dv="y", unit="unit", peer_group="unit_type", design=_StubDesign(df, ref), min_n=0
    )
    R = pd.DataFrame(ref["survey_unit_vs_rest"])
    assert_close(table.estimate, R["estimate"])
    assert_close(table.se, R["se"])
    assert_close(table.df1, np.full(12, ref["survey"]["degf"] - 1))


def test_design_without_domain_means_vcov_raises_a_clear_error(df):
    with pytest.raises(TypeError, match="domain_means_vcov"):
        stats.compare_groups(df, dv="y", by="district", design=object())


def _survey_design(df):
    return stats.SurveyDesign(df, weights="w", strata="stratum")


def test_surveydesign_domain_means_vcov_matches_r_svyby(df, ref):
    res = _survey_design(df).domain_means_vcov("y", "district")
    s = ref["survey"]
    assert_close(pd.Series(res.means).to_numpy(), s["means_svyby"])
    assert_close(pd.DataFrame(res.vcov).to_numpy(), s["vcov_svyby"], tol=1e-9)
    assert_close(pd.Series(res.n_eff).to_numpy(), s["n_eff"])
    assert res.df == s["degf"]


def test_weighted_family_with_surveydesign_matches_r(df, ref):
    table = stats.compare_groups(df, dv="y", by="district", design=_survey_design(df))
    s = ref["survey"]
    wald = table[table.test == "svy_wald_f"].iloc[0]
    assert_close([wald.statistic, wald.df2, wald.p], [s["wald"]["F"], s["wald"]["df2"], s["wald"]["p"]])
    assert_close(table[table.test == "svy_contrast"].se, pd.DataFrame(s["contrasts"])["se"])


def test_weighted_categorical_family_matches_r_svychisq_and_svyby(df, ref):
    design_mod = pytest.importorskip(
        "pipeline.stats.design", reason="pipeline/stats/design.py not written yet"
    )
    design = design_mod.SurveyDesign(df, weights="w", strata="stratum")
    table = stats.compare_groups(df, dv="cat3", by="district", design=design)
    R = ref["survey_categorical"]
    rs = table[table.test == "rao_scott"].iloc[0]
    assert_close([rs.statistic, rs.df1, rs.df2, rs.p], [R["F"], R["ndf"], R["ddf"], R["p"]])
    high = table[(table.test == "svy_proportion") & (table.level == "high")]
    assert_close(high.estimate, R["high_share"])
    assert_close(high.se, R["high_share_se"])
    assert table.weighted.all()
    assert high.set_index("group_a").loc["D1", "flag"] == "small"


def test_constant_group_is_left_out_of_the_family_with_its_reason(df):
    data = df.copy()
    data.loc[data.district == "D3", "y"] = 70.0
    table = stats.compare_groups(data, dv="y", by="district")
    welch = table[table.test == "welch_anova"].iloc[0]
    assert "方差为0" in welch.reason and "D3" in welch.reason and "样本量不足10" not in welch.reason
    assert not table.contrast.str.contains("D3 vs|vs D3").any()


def test_weighted_unit_vs_peers_with_surveydesign_matches_r_svycontrast(df, ref):
    design = _survey_design(df)
    table = stats.unit_vs_peers(df, dv="y", unit="unit", peer_group="unit_type", design=design, min_n=0)
    R = pd.DataFrame(ref["survey_unit_vs_rest"])
    assert_close(table.estimate, R["estimate"])
    assert_close(table.se, R["se"])


FAST_PATH_RTOL = 1e-12
"""Relative tolerance (to each column's scale) between the one-pass unit contrasts and the per-unit path."""


class _PerUnitDesign:
    """Exposes only ``domain_means_vcov``, forcing the per-unit path of the weighted unit-vs-rest rows."""

    def __init__(self, design):
        self.domain_means_vcov = design.domain_means_vcov


@pytest.mark.parametrize("calibrated", [False, True])
def test_weighted_unit_vs_peers_one_pass_equals_per_unit_domain_means(calibrated):
    rng = np.random.default_rng(7)
    n = 3000
    units = np.array([f"U{i:02d}" for i in range(14)])
    unit_type = {u: ("A" if i < 6 else "B" if i < 13 else "C") for i, u in enumerate(units)}  # C: one unit
    frame = pd.DataFrame(
        {
            "unit": rng.choice(units, n),
            "stratum": rng.choice(["s1", "s2", "s3", "s4"], n),
            "sex": rng.choice(["f", "m"], n),
            "age": rng.choice(["a", "b", "c"], n),
            "w": rng.uniform(0.3, 4.0, n),
            "y": rng.normal(60, 15, n),
        }
    )
    frame["unit_type"] = frame["unit"].map(unit_type)
    frame["y"] += frame["unit"].str[1:].astype(int) * 0.8
    frame.loc[rng.random(n) < 0.1, "y"] = np.nan
    frame.loc[frame["unit"] == "U03", "y"] = np.nan  # a unit without any value
    frame.loc[rng.random(n) < 0.02, "unit"] = None
    frame.index = pd.RangeIndex(100, 100 + n)
    design = stats.SurveyDesign(
        frame,
        weights="w",
        strata="stratum",
        calibrated_on=[("sex", "age"), "stratum"] if calibrated else None,
        base_weights=frame["w"] * 0.9 if calibrated else None,
    )
    kwargs = dict(dv="y", unit="unit", peer_group="unit_type", min_n=1, small_n=30)
    fast = stats.unit_vs_peers(frame, design=design, **kwargs)
    slow = stats.unit_vs_peers(frame, design=_PerUnitDesign(design), **kwargs)
    assert fast["unit"].tolist() == slow["unit"].tolist()
    pd.testing.assert_frame_equal(
        fast.select_dtypes(exclude="number"), slow.select_dtypes(exclude="number"), check_exact=True
    )
    num_f, num_s = fast.select_dtypes(include="number"), slow.select_dtypes(include="number")
    assert list(num_f.columns) == list(num_s.columns)
    for col in num_f.columns:
        # relative to the column's scale: a CI bound near 0 is a difference of two larger numbers
        scale = float(num_s[col].abs().fillna(0.0).max())
        np.testing.assert_allclose(
            num_f[col], num_s[col], rtol=FAST_PATH_RTOL, atol=FAST_PATH_RTOL * scale, err_msg=col
        )
    assert fast["se"].notna().sum() >= 12


@pytest.mark.parametrize("weighted", [False, True])
def test_unit_vs_peers_of_several_outcomes_equals_one_call_per_outcome(weighted):
    rng = np.random.default_rng(11)
    n = 2000
    units = np.array([f"U{i:02d}" for i in range(9)])
    frame = pd.DataFrame(
        {
            "unit": rng.choice(units, n),
            "sex": rng.choice(["f", "m"], n),
            "w": rng.uniform(0.5, 3.0, n),
            "y1": rng.normal(60, 15, n),
            "y2": rng.integers(1, 6, n).astype(float),
        }
    )
    frame["unit_type"] = np.where(frame["unit"] < "U05", "A", "B")
    frame.loc[rng.random(n) < 0.1, "y1"] = np.nan
    frame.loc[frame["unit"] == "U02", "y2"] = np.nan  # a unit without any value of one outcome
    design = stats.SurveyDesign(frame, weights="w", calibrated_on=["sex"]) if weighted else None
    kwargs = dict(unit="unit", peer_group="unit_type", design=design, min_n=5)
    together = stats.unit_vs_peers(frame, dv=["y1", "y2"], **kwargs)
    apart = pd.concat([stats.unit_vs_peers(frame, dv=dv, **kwargs) for dv in ("y1", "y2")], ignore_index=True)
    # p_bh is over the returned table (both outcomes together), everything else as one call per outcome
    pd.testing.assert_frame_equal(together.drop(columns="p_bh"), apart.drop(columns="p_bh"))
    assert (together["dv"] == "y2").sum() == (8 if not weighted else 9)


def test_crosstab_from_codes_equals_pandas_crosstab():
    rng = np.random.default_rng(5)
    n = 300
    frame = pd.DataFrame(
        {
            "cat": pd.Categorical(rng.choice(["b", "a", "c"], n), categories=["c", "z", "b", "a"]),
            "text": pd.Series(rng.choice(["甲", "乙", "丙"], n), dtype=object).where(rng.random(n) > 0.1),
            "int": pd.array(rng.integers(0, 2, n), dtype="Int64"),
            "flag": rng.random(n) > 0.4,
            "num": pd.Series(rng.integers(1, 4, n).astype(float)).where(rng.random(n) > 0.1),
        }
    )
    frame.loc[rng.random(n) < 0.1, "int"] = pd.NA
    for row in frame.columns:
        for col in frame.columns.drop(row):
            both = frame[[col, row]].dropna()
            expected = pd.crosstab(both[row], both[col])
            pd.testing.assert_frame_equal(comparisons._crosstab(frame, row, col), expected)


@pytest.mark.parametrize("continuity", [True, False])
def test_mann_whitney_is_bit_for_bit_scipy_asymptotic(continuity):
    rng = np.random.default_rng(13)
    for n1, n2, levels in ((40, 55, 5), (1000, 300, 7), (25, 25, 1000)):
        x = rng.integers(1, levels + 1, n1).astype(float)
        y = rng.integers(1, levels + 1, n2).astype(float) + (rng.random(n2) < 0.3)
        ours = stats.mann_whitney(x, y, continuity=continuity)
        ref = st.mannwhitneyu(x, y, use_continuity=continuity, alternative="two-sided", method="asymptotic")
        assert ours.statistic == float(ref.statistic)
        assert ours.pvalue == float(ref.pvalue)
