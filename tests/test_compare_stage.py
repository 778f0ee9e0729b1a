"""Stage 05_compare on a simulated run: documented tables, Holm/BH conventions, suppression, planted problems.

Most tests use the shared ``simulated_pipeline`` fixture (conftest). That fixture simulates without a plant
spec; the planted-problem test then makes its own small run with ``pipeline/simulate/plant_sample.yaml``
(ingest → clean → weight → compare) — it reuses the shared run instead as soon as that one carries plants.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline import frames, stats
from pipeline.compare import columns as compare_columns
from pipeline.compare.families import MIN_N, SMALL_N
from pipeline.compare.unit_vs_peers import unit_vs_peers_table
from pipeline.stages.base import StageContext

ROOT = Path(__file__).resolve().parent.parent
PLANT_SAMPLE = ROOT / "pipeline" / "simulate" / "plant_sample.yaml"
PLANT_SCALE = 0.3
P_TOL = 1e-12  # adjusted p-values are recomputed from the same floats: only rounding differences allowed
MEAN_TOL = 1e-10

DOCUMENTED = {
    "comparisons": compare_columns.COMPARISON_COLUMNS,
    "unit_vs_peers": compare_columns.PEER_COLUMNS,
    "adjusted": compare_columns.ADJUSTED_COLUMNS,
    "families": compare_columns.FAMILY_COLUMNS,
}
RESULT_TABLES = ("comparisons", "unit_vs_peers", "adjusted")
HOLM_TESTS = {"svy_contrast", "chi2", "fisher", "welch_t"}  # rows Holm is taken over (others keep p)


def _read(ctx: StageContext, table: str) -> pd.DataFrame:
    return ctx.read_table("compare", table)


@pytest.fixture(scope="module")
def run(simulated_pipeline):
    ctx, truth = simulated_pipeline
    if not ctx.has_table("compare", "comparisons"):
        pytest.skip("stage compare did not run in the shared fixture")
    return ctx, truth


@pytest.fixture(scope="module")
def tables(run) -> dict[str, pd.DataFrame]:
    ctx, _ = run
    return {name: _read(ctx, name) for name in DOCUMENTED}


def test_every_table_has_the_documented_columns(tables):
    contract = (ROOT / "docs" / "DATA_CONTRACT.md").read_text(encoding="utf-8")
    assert "## 05_compare" in contract
    for name, columns in DOCUMENTED.items():
        assert list(tables[name].columns) == columns, name
        assert f"`{name}.parquet`" in contract
        assert len(tables[name]) > 0


def test_holm_is_at_least_raw_p_and_monotone_within_each_family(tables):
    for name in RESULT_TABLES:
        t = tables[name].dropna(subset=["p"])
        assert (t["p_holm"] >= t["p"] - P_TOL).all(), name
        if "test" in t.columns:
            t = t[t["test"].isin(HOLM_TESTS) & (t["contrast"] != "all")]
        for family, sub in t.groupby("family"):
            order = np.argsort(sub["p"].to_numpy(), kind="stable")
            holm_sorted = sub["p_holm"].to_numpy()[order]
            assert np.all(np.diff(holm_sorted) >= -P_TOL), f"{name}: {family}"


def test_holm_of_pairwise_contrasts_matches_holm_on_the_family(tables):
    c = tables["comparisons"]
    fam = c[(c["family"] == "public: PG ~ district (weighted)") & (c["test"] == "svy_contrast")]
    assert len(fam) == 28  # 8 districts, all pairs
    np.testing.assert_allclose(fam["p_holm"], stats.holm(fam["p"]), atol=P_TOL)


def test_bh_is_taken_across_the_whole_run(tables):
    allp = np.concatenate([tables[n]["p"].to_numpy(dtype=float) for n in RESULT_TABLES])
    expected = stats.benjamini_hochberg(allp)
    got = np.concatenate([tables[n]["p_bh"].to_numpy(dtype=float) for n in RESULT_TABLES])
    np.testing.assert_allclose(got, expected, atol=P_TOL, equal_nan=True)


def test_every_family_is_described_once(tables):
    fam = tables["families"]
    assert fam["family"].is_unique
    used = set().union(*(set(tables[n]["family"]) for n in RESULT_TABLES))
    assert used == set(fam["family"])
    row = fam.set_index("family").loc["public: SI ~ district (weighted)"]
    assert row["weighted"] and row["by"] == "district" and row["n_groups"] == 8


def test_each_unit_meets_its_peers_once_per_outcome(tables):
    # S24_score is both a direct staff outcome and an indicator item: still one family, each unit once
    peers = tables["unit_vs_peers"]
    assert not peers.duplicated(["instrument", "dv", "unit"]).any()
    assert (peers["instrument"] + ": " + peers["dv"]).nunique() == peers["family"].nunique()


def test_suppressed_groups_have_no_estimates_and_say_why(tables):
    seen = 0
    for name in RESULT_TABLES:
        t = tables[name]
        sup = t[t["flag"] == "suppressed"]
        seen += len(sup)
        estimate = "adjusted_diff" if name == "adjusted" else "estimate"
        assert sup[estimate].isna().all(), name
        assert sup["p"].isna().all(), name
        assert sup["reason"].str.contains(f"样本量不足{MIN_N}").all(), name
    assert seen > 0  # small staff units exist at this scale
    peers = tables["unit_vs_peers"]
    tiny = peers[(peers["weighted"] == False) & (peers["n_a"] < MIN_N)]  # noqa: E712
    assert (tiny["flag"] == "suppressed").all()


def test_small_groups_are_flagged(tables):
    c = tables["comparisons"]
    means = c[c["test"] == "mean"]
    small = means[(means["n"] >= MIN_N) & (means["n"] < SMALL_N)]
    assert (small["flag"] == "small").all()
    assert small["estimate"].notna().all()


def test_weighted_domain_means_equal_surveydesign_mean(run, tables):
    ctx, _ = run
    config = ctx.config
    frame = frames.public_frame(
        ctx.read_table("clean", "public"),
        ctx.read_table("weight", "public_weights"),
        config,
        groupings=config.plan("public").groupings,
    )
    design = frames.public_design(frame, config)
    expected = design.mean("SI", by="district")
    c = tables["comparisons"]
    got = c[(c["family"] == "public: SI ~ district (weighted)") & (c["test"] == "svy_mean")]
    got = got.set_index("group_a")["estimate"]
    exp = expected.set_index(expected["district"].astype(str))["estimate"]
    kept = got.dropna().index
    np.testing.assert_allclose(got[kept], exp[kept], rtol=MEAN_TOL)
    assert len(kept) >= 6


def test_domain_covariance_adapter_matches_r_svyby():
    """The adapter's covariance of domain means equals R vcov(svyby(..., covmat = TRUE)) (reference data of
    tests/reference/compare, made by make_reference.R)."""
    ref_dir = ROOT / "tests" / "reference" / "compare"
    ref = json.loads((ref_dir / "reference.json").read_text())["survey"]
    df = pd.read_csv(ref_dir / "compare_data.csv")
    design = stats.SurveyDesign(df, weights="w", strata="stratum")
    res = design.domain_means_vcov("y", "district")
    np.testing.assert_allclose(res.means.to_numpy(), ref["means_svyby"], rtol=1e-9)
    np.testing.assert_allclose(res.vcov.to_numpy(), ref["vcov_svyby"], rtol=1e-7, atol=1e-12)
    assert res.df == ref["degf"]


def test_adjusted_table_puts_unadjusted_beside_adjusted_gaps(tables):
    a = tables["adjusted"]
    si = a[a["dv"] == "SI"]
    assert len(si) == 7 and si["reference"].nunique() == 1
    assert si["reference"].iloc[0] not in set(si["district"])
    kept = si[si["flag"] != "suppressed"]
    np.testing.assert_allclose(kept["gap_change"], kept["adjusted_diff"] - kept["unadjusted_diff"])
    assert (kept["ci_low"] < kept["adjusted_diff"]).all() and (kept["adjusted_diff"] < kept["ci_high"]).all()


# --- a planted individual problem shows up below peers --------------------------------------------------------


def _public_items_feeding(config, indicator: str) -> list[str]:
    cb = config.codebook("public")
    return [f"{it.id}_score" for it in cb.items if any(p.rsplit(".", 1)[0] == indicator for p in it.feeds)]


@pytest.fixture(scope="module")
def planted_peers(run, tmp_path_factory):
    """(config, truth, unit_vs_peers) of a run with individual problems planted.

    The shared run's table if it carries plants; otherwise a small planted run through ingest → clean → weight
    and :func:`pipeline.compare.unit_vs_peers.unit_vs_peers_table` (the stage's own function for that table;
    run-level BH, which it leaves out, does not change ``p_holm`` or ``below_peers``).
    """
    ctx, truth = run
    if truth.get("plants"):
        return ctx.config, truth, _read(ctx, "unit_vs_peers")
    from pipeline.runner import run_stages
    from pipeline.simulate import simulate_raw

    base = tmp_path_factory.mktemp("planted")
    simulate_raw(ctx.config, base / "raw", seed=ctx.seed, scale=PLANT_SCALE, plant=PLANT_SAMPLE)
    pctx = StageContext(raw=base / "raw", out=base / "output", config_dir=ctx.config_dir, seed=ctx.seed)
    run_stages(pctx, ["ingest", "clean", "weight"], echo=lambda *_: None)
    config = pctx.config
    public = frames.public_frame(
        pctx.read_table("clean", "public"),
        pctx.read_table("weight", "public_weights"),
        config,
        groupings=config.plan("public").groupings,
    )
    staff = frames.staff_frame(pctx.read_table("clean", "staff"), config)
    cases = frames.casefile_frame(pctx.read_table("clean", "casefiles"), config)
    peers = unit_vs_peers_table(public, frames.public_design(public, config), staff, cases, config)
    return config, json.loads((base / "raw" / "truth.json").read_text(encoding="utf-8")), peers


def test_planted_district_problem_is_below_its_peers(planted_peers):
    config, truth, peers = planted_peers
    districts = {u.code for u in config.units.units if u.type == config.units.district_type}
    visible = [
        (p["effect"], p["units"][0], item)
        for p in truth["plants"]
        if len(p["units"]) == 1 and p["units"][0] in districts
        for item in _public_items_feeding(config, p["indicator"])
    ]
    assert visible, "no individual district plant that a public item can see"
    effect, unit, item = min(visible)  # the largest negative effect
    row = peers[(peers["instrument"] == "public") & (peers["unit"] == unit) & (peers["dv"] == item)]
    assert len(row) == 1
    row = row.iloc[0]
    assert row["estimate"] < 0 and row["effect"] < 0
    if row["flag"] == "":  # a full-size district: the -2.5 SD plant must be detected after Holm
        assert row["below_peers"], (unit, item, row["estimate"], row["p_holm"])
