"""pipeline.results: reading stage outputs for notebooks, with errors that name the command to run."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import CONFIG_DIR

from pipeline import frames, paths, results
from pipeline.errors import DataError
from pipeline.stages.base import StageContext

#: Same design, same arithmetic: the API's domain means must equal the stage's to rounding noise.
MEAN_ATOL = 1e-10
#: Raking reproduces the population total up to the raking tolerance.
TOTAL_RTOL = 1e-8


def test_table_reads_exactly_what_the_stage_wrote(simulated_pipeline):
    ctx, _ = simulated_pipeline
    got = results.table("weight", "public_weights", out=ctx.out)
    pd.testing.assert_frame_equal(got, pd.read_parquet(paths.table_path(ctx.out, "weight", "public_weights")))
    assert list(got.columns) == ["record_id", "weight"]


def test_missing_table_names_the_command_and_what_the_stage_wrote(simulated_pipeline):
    ctx, _ = simulated_pipeline
    with pytest.raises(DataError, match=r"fazhi-eval weight --out .*public_weights"):
        results.table("weight", "no_such_table", out=ctx.out)


def test_stage_that_has_not_run_names_the_command(tmp_path):
    with pytest.raises(DataError, match=r"请先运行 `fazhi-eval compare --out "):
        results.table("compare", "comparisons", out=tmp_path)
    with pytest.raises(DataError, match=r"fazhi-eval compare"):
        results.tables("compare", out=tmp_path)


def test_stage_context_read_table_raises_the_same_error(tmp_path):
    ctx = StageContext(out=tmp_path, config_dir=CONFIG_DIR)
    with pytest.raises(DataError, match=r"fazhi-eval clean --out .*has not produced 'public'"):
        ctx.read_table("clean", "public")


def test_unknown_stage_is_rejected_listing_the_known_ones(tmp_path):
    with pytest.raises(DataError, match="unknown stage 'no_such_stage'.*ingest, clean"):
        results.table("no_such_stage", "x", out=tmp_path)


def test_tables_lists_the_parquet_tables_of_a_stage(simulated_pipeline):
    ctx, _ = simulated_pipeline
    assert results.tables("weight", out=ctx.out) == [
        "diagnostics",
        "margins",
        "public_weights",
        "staff_weights",
    ]
    assert set(results.tables("compare", out=ctx.out)) == {
        "adjusted",
        "comparisons",
        "families",
        "unit_vs_peers",
    }
    assert "_ingest_report" not in results.tables("ingest", out=ctx.out)


def test_manifest_records_every_stage_run(simulated_pipeline, tmp_path):
    ctx, _ = simulated_pipeline
    manifest = results.manifest(ctx.out)
    assert set(paths.STAGE_FOLDERS) <= set(manifest["stages"])
    assert manifest["seed"] == ctx.seed
    with pytest.raises(DataError, match="fazhi-eval run"):
        results.manifest(tmp_path)


def test_public_design_district_means_equal_the_compare_stage(simulated_pipeline):
    ctx, _ = simulated_pipeline
    d = results.survey_design("public", out=ctx.out, config=CONFIG_DIR)
    stage = results.table("compare", "comparisons", out=ctx.out).query(
        "test == 'svy_mean' and by == 'district'"
    )
    config = results_config()
    dvs = [s.id for s in config.public.scales] + ["SI"]
    for dv in dvs:
        mine = d.mean(dv, by="district").set_index("district")
        theirs = stage.query("dv == @dv and flag != 'suppressed'").set_index("group_a")
        assert len(theirs) > 0, dv
        joined = theirs[["estimate", "se"]].merge(
            mine[["estimate", "se"]], left_index=True, right_index=True, how="left", suffixes=("", "_api")
        )
        np.testing.assert_allclose(
            joined["estimate_api"], joined["estimate"], rtol=0, atol=MEAN_ATOL, err_msg=dv
        )
        np.testing.assert_allclose(joined["se_api"], joined["se"], rtol=0, atol=MEAN_ATOL, err_msg=dv)


def test_public_design_weights_sum_to_the_population_total(simulated_pipeline):
    ctx, _ = simulated_pipeline
    d = results.survey_design("public", out=ctx.out, config=CONFIG_DIR)
    margins = results.table("weight", "margins", out=ctx.out)
    total = margins.query("variable == 'district'")["target"].sum()
    assert d.weights.sum() == pytest.approx(total, rel=TOTAL_RTOL)
    assert d.calibrated_on == ["district", "gender", "age_group"]


def test_staff_design_is_stratified_by_unit_with_weights_summing_to_headcount(simulated_pipeline):
    ctx, _ = simulated_pipeline
    d = results.survey_design("staff", out=ctx.out, config=CONFIG_DIR)
    headcount = {u.code: u.headcount for u in results_config().units.units}
    per_unit = pd.Series(d.weights, index=d.frame.index).groupby(d.frame["unit"]).sum()
    for unit, total in per_unit.items():
        assert total == pytest.approx(headcount[unit]), unit
    n_per_stratum = d.frame["stratum"].value_counts()
    assert (n_per_stratum >= 2).all()
    assert d.strata == "stratum"


def test_single_respondent_units_are_collapsed_into_one_stratum():
    unit = pd.Series(["A", "A", "B", "C", "D", "D"])
    types = {"A": "x", "B": "x", "C": "y", "D": "y"}
    got = frames._collapsed_strata(unit, types)
    assert got.tolist() == ["A", "A", "collapsed", "collapsed", "D", "D"]
    alone = frames._collapsed_strata(
        pd.Series(["A", "A", "A", "B", "C", "C"]), {"A": "x", "B": "x", "C": "y"}
    )
    assert alone.tolist() == ["A", "A", "A", "A", "C", "C"]


def test_unknown_instrument_is_rejected(simulated_pipeline):
    ctx, _ = simulated_pipeline
    with pytest.raises(DataError, match="unknown instrument 'casefile'"):
        results.survey_design("casefile", out=ctx.out, config=CONFIG_DIR)


def test_cjk_font_draws_chinese_without_missing_glyphs():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with matplotlib.rc_context():
        name = results.use_cjk_font()
        if name is None:
            pytest.skip("mplfonts or its bundled Noto Sans CJK SC font is not installed")
        fig, ax = plt.subplots()
        ax.set_title("兰州市法治建设第三方评估")
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # "Glyph ... missing from font(s)" is a UserWarning
            fig.canvas.draw()
        plt.close(fig)
    assert "CJK" in name


def results_config():
    from pipeline.config import load_config

    return load_config(CONFIG_DIR)


def test_a_unit_with_more_respondents_than_its_headcount_is_a_census_with_a_warning():
    from pipeline.weight.tables import headcount_warnings

    config = results_config()
    small = min(config.units.units, key=lambda u: u.headcount)
    other = next(u for u in config.units.units if u.code != small.code)
    n_small = small.headcount + 3
    frame = pd.DataFrame(
        {
            "unit": [small.code] * n_small + [other.code] * 5,
            "weight": [small.headcount / n_small] * n_small + [other.headcount / 5] * 5,
            "y": np.r_[np.arange(n_small) % 5, [1.0, 2.0, 3.0, 4.0, 5.0]],
        }
    )
    design = frames.staff_design(frame, config)
    assert design.frame.loc[design.frame["unit"] == small.code, "stratum_size"].iloc[0] == n_small
    estimate = design.mean("y", by="unit")
    census = estimate.loc[estimate["unit"] == small.code]
    assert float(census["se"].iloc[0]) == 0.0
    warnings = headcount_warnings(frame[["unit", "weight"]], config)
    assert [w["code"] for w in warnings] == ["respondents_above_headcount"]
    assert small.name in warnings[0]["message"]
