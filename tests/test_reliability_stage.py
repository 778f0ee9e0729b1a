"""Stage 04_reliability: scale reliability, construct validity and reviewer agreement tables on small hand-made
frames in the 02_clean layout (shipped configuration), the stage run through ``run_stage``, and (when the
simulator is present) simulate → ingest → clean → weight → reliability end to end."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import CONFIG_DIR

from pipeline.config import load_config
from pipeline.errors import DataError
from pipeline.options import RunOptions
from pipeline.reliability import agreement as ra
from pipeline.reliability import columns as rc
from pipeline.reliability import scales as rs
from pipeline.reliability import validity as rv
from pipeline.stages import reliability
from pipeline.stages.base import StageContext, run_stage, write_table

CONFIG = load_config(CONFIG_DIR)
N_BOOT = 50  # bootstrap replicates in tests (the interval itself is tested in test_reliability.py)
EXACT = 1e-12  # same computation, different route
TABLES = ("reliability", "items", "flags", "validity", "loadings", "agreement", "third_review")


def likert_responses(
    instrument: str,
    n: int,
    *,
    seed: int = 1,
    miskeyed: tuple[str, ...] = (),
    borrowed: dict[str, str] | None = None,
    missing_share: float = 0.0,
) -> pd.DataFrame:
    """Synthetic 02_clean responses: one latent factor per codebook scale, items cut into codes 1–5.

    Reverse-keyed items (codebook) are written reversed (6 - x), except those in ``miskeyed``, which are written
    like positive items — so the codebook's reverse flag is wrong for them. ``borrowed`` maps an item to another
    scale whose factor it is generated from. ``missing_share`` of the cells become 99 (说不清) or −3 (skipped).
    """
    rng = np.random.default_rng(seed)
    cb = CONFIG.codebook(instrument)
    borrowed = borrowed or {}
    latent = {s.id: rng.normal(size=n) for s in cb.questionnaire.scales}
    data: dict[str, object] = {"record_id": [f"{instrument}.xlsx:{i + 2}" for i in range(n)]}
    for scale in cb.questionnaire.scales:
        for item in scale.items:
            f = latent[borrowed.get(item, scale.id)]
            y = 0.8 * f + 0.6 * rng.normal(size=n)
            code = np.digitize(y, [-1.2, -0.4, 0.4, 1.2]) + 1
            if cb.item(item).reverse and item not in miskeyed:
                code = 6 - code
            if missing_share:
                hole = rng.random(n) < missing_share
                code = np.where(hole, rng.choice([*cb.item(item).missing_codes, -3], size=n), code)
            data[item] = pd.array(code, dtype="Int64")
    return pd.DataFrame(data)


def weights_for(responses: pd.DataFrame, values) -> pd.DataFrame:
    return pd.DataFrame({"record_id": responses["record_id"], "weight": np.asarray(values, dtype=float)})


def review_rows(
    scores: dict[str, list[float]], grades: dict[str, list[str]] | None = None, **flags
) -> pd.DataFrame:
    """02_clean casefile_reviews rows: one per case file × reviewer; ``flags`` sets veto/defect per row."""
    std = CONFIG.casefile
    codes = [v.code for v in std.vetoes] + [d.code for c in std.categories for d in c.defects]
    rows = []
    for case, values in scores.items():
        for j, s in enumerate(values):
            row = {"case_id": case, "unit": "620102", "case_type": "处罚", "reviewer": f"r{j}", "score": s}
            row.update(dict.fromkeys(codes, 0))
            for code, per_case in flags.items():
                row[code] = per_case.get(case, [0] * len(values))[j]
            row["grade"] = (grades or {}).get(case, ["良好"] * len(values))[j]
            rows.append(row)
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------------- reliability


def test_reliability_tables_have_every_statistic_per_scale_weighted_and_unweighted():
    resp = likert_responses("public", 300, missing_share=0.03)
    w = weights_for(resp, np.random.default_rng(2).uniform(0.5, 3, len(resp)))
    res = rs.scale_reliability(resp, CONFIG.codebook("public"), w, seed=7, n_boot=N_BOOT)
    scales = [s.id for s in CONFIG.public.scales]
    rel = res.reliability
    assert list(rel.columns) == rc.RELIABILITY_COLUMNS
    assert sorted(rel["scale"].unique()) == sorted(scales)
    per_scale = rel.groupby(["scale", "weighted"]).size().unstack()
    assert (per_scale[False] == 7).all() and (per_scale[True] == 6).all()
    alpha = rel[rel["statistic"] == "alpha"]
    assert set(alpha["ci_method"]) == {"feldt", "bootstrap", "duhachek"}
    assert (alpha["ci_low"] < alpha["estimate"]).all() and (alpha["estimate"] < alpha["ci_high"]).all()
    assert (rel["missing_rule"] == "listwise").all() and (rel["n"] + rel["n_dropped"] == len(resp)).all()
    n_items = sum(len(s.items) for s in CONFIG.public.scales)
    assert len(res.items) == 2 * n_items
    assert {"r_drop", "alpha_if_deleted", "freq_1", "freq_5", "n", "mean", "sd", "weighted"} <= set(
        res.items.columns
    )
    assert list(res.flags.columns) == rc.FLAG_COLUMNS


def test_miskeyed_reverse_item_is_flagged_with_negative_r_drop_reason():
    resp = likert_responses("public", 300, miskeyed=("P05",))
    res = rs.scale_reliability(resp, CONFIG.codebook("public"), seed=1, n_boot=N_BOOT)
    flag = res.flags[(res.flags["item"] == "P05") & (res.flags["flag_code"] == "r_drop_negative")]
    assert len(flag) == 1
    assert "反向计分" in flag["reason"].iloc[0] and "代码本已标记为反向题" in flag["reason"].iloc[0]
    assert flag["value"].iloc[0] < 0
    # correctly keyed reverse items are not flagged
    assert not (
        res.flags["item"].isin(["P09", "P15", "P19", "P20"]) & (res.flags["flag_code"] == "r_drop_negative")
    ).any()


def test_weighted_alpha_differs_with_unequal_weights_and_equals_unweighted_with_equal_weights():
    resp = likert_responses("staff", 200, seed=3)
    cb = CONFIG.codebook("staff")

    def alphas(w):
        rel = rs.scale_reliability(resp, cb, weights_for(resp, w), seed=1, n_boot=N_BOOT).reliability
        a = rel[(rel["statistic"] == "alpha") & (rel["ci_method"] == "feldt")]
        return a.pivot(index="scale", columns="weighted", values="estimate")

    equal = alphas(np.full(len(resp), 2.5))
    np.testing.assert_allclose(equal[True], equal[False], rtol=0, atol=EXACT)
    rng = np.random.default_rng(4)
    unequal = alphas(rng.uniform(0.2, 5, len(resp)))
    assert (np.abs(unequal[True] - unequal[False]) > 1e-6).all()


def test_dont_know_and_skipped_codes_are_missing_and_counted_as_dropped():
    resp = likert_responses("public", 100, seed=5)
    resp.loc[:4, "P01"] = 99
    resp.loc[5:7, "P02"] = -3
    resp.loc[8, "P03"] = pd.NA
    rel = rs.scale_reliability(resp, CONFIG.codebook("public"), seed=1, n_boot=N_BOOT).reliability
    pg = rel[(rel["scale"] == "PG") & (rel["statistic"] == "alpha")]
    assert (pg["n"] == 91).all() and (pg["n_dropped"] == 9).all()


def test_code_outside_the_codebook_raises_naming_the_column():
    resp = likert_responses("public", 50)
    resp.loc[3, "P07"] = 7
    with pytest.raises(DataError, match="P07"):
        rs.scale_reliability(resp, CONFIG.codebook("public"), seed=1, n_boot=N_BOOT)


def test_scale_with_fewer_than_two_answered_items_gives_nan_row_with_reason():
    resp = likert_responses("public", 80)
    for item in ["P01", "P02", "P03", "P04"]:
        resp[item] = pd.array([99] * len(resp), dtype="Int64")
    res = rs.scale_reliability(resp, CONFIG.codebook("public"), seed=1, n_boot=N_BOOT)
    pg = res.reliability[res.reliability["scale"] == "PG"]
    assert pg["estimate"].isna().all() and pg["note"].str.contains("少于2题").all()
    assert "not_estimable" in set(res.flags.loc[res.flags["scale"] == "PG", "flag_code"])
    le = res.reliability[(res.reliability["scale"] == "LE") & (res.reliability["statistic"] == "alpha")]
    assert le["estimate"].notna().all()


def test_fewer_than_three_complete_cases_gives_nan_row_with_reason():
    resp = likert_responses("staff", 2)
    res = rs.scale_reliability(
        resp, CONFIG.codebook("staff"), weights_for(resp, [1, 2]), seed=1, n_boot=N_BOOT
    )
    alpha = res.reliability[res.reliability["statistic"] == "alpha"]
    assert alpha["estimate"].isna().all() and alpha["note"].str.contains("无法计算α").all()
    assert len(alpha) == 2 * len(CONFIG.staff.scales)


# ------------------------------------------------------------------------------------------------- validity


def test_item_generated_from_another_scale_is_marked_in_the_loadings():
    resp = likert_responses("public", 600, seed=6, borrowed={"P01": "LE"})
    validity, loadings = rv.construct_validity(resp, CONFIG.codebook("public"))
    assert list(validity.columns) == rc.VALIDITY_COLUMNS and list(loadings.columns) == rc.LOADING_COLUMNS
    efa = loadings[loadings["method"] == "efa_oblimin"]
    assert efa.groupby("item").size().eq(len(CONFIG.public.scales)).all()
    marked = set(efa.loc[efa["misassigned"], "item"])
    assert "P01" in marked and marked <= {"P01"} | set(CONFIG.public.scales[1].items)
    p01 = efa[(efa["item"] == "P01") & efa["misassigned"]]
    assert (p01["factor_scale"] == "LE").all() and p01["flag"].iloc[0]
    stat = validity.set_index(["analysis", "statistic", "item"])["estimate"]
    assert 0 < stat[("kmo", "kmo", "")] <= 1 and stat[("cfa", "cfi", "")] > 0.8
    assert len(validity[validity["statistic"] == "msa"]) == sum(len(s.items) for s in CONFIG.public.scales)
    rmsea = validity[validity["statistic"] == "rmsea"].iloc[0]
    assert rmsea["ci_low"] <= rmsea["estimate"] <= rmsea["ci_high"]
    flags = rv.misassigned_flags(loadings)
    assert "P01" in set(flags["item"]) and (flags["flag_code"] == "loads_on_other_scale").all()


def test_validity_on_too_few_complete_cases_says_why_instead_of_crashing():
    resp = likert_responses("staff", 10)
    validity, loadings = rv.construct_validity(resp, CONFIG.codebook("staff"))
    assert validity["estimate"].isna().all() and validity["note"].str.contains("不多于题目数").all()
    assert loadings.empty


# ------------------------------------------------------------------------------------------------- agreement


def test_third_review_lists_files_whose_scores_differ_beyond_tolerance():
    tol = CONFIG.casefile.double_scoring_tolerance
    reviews = review_rows({"A1": [90, 90 - tol - 5], "A2": [80, 80 - tol], "A3": [70], "A4": [60, 75]})
    third = ra.third_review(reviews, CONFIG.casefile)
    assert list(third.columns) == rc.THIRD_REVIEW_COLUMNS
    assert third["case_id"].tolist() == ["A1", "A4"]
    assert third["score_diff"].tolist() == [tol + 5, 15.0]
    assert third["score_beyond_tolerance"].all() and third["reason"].str.contains("第三人复评").all()


def test_third_review_also_lists_grade_and_veto_disputes_within_tolerance():
    reviews = review_rows(
        {"B1": [85, 83], "B2": [88, 86], "B3": [70, 70]},
        {"B1": ["良好", "良好"], "B2": ["优秀", "良好"], "B3": ["合格", "合格"]},
        V02={"B1": [1, 0]},
    )
    third = ra.third_review(reviews, CONFIG.casefile).set_index("case_id")
    assert sorted(third.index) == ["B1", "B2"]
    assert not third["score_beyond_tolerance"].any()
    assert third.loc["B1", "veto_disputed"] and "V02" in third.loc["B1", "reason"]
    assert third.loc["B2", "grades_differ"] and "等级不一致" in third.loc["B2", "reason"]


def test_agreement_reports_icc_forms_kappas_and_nan_for_a_constant_flag():
    rng = np.random.default_rng(8)
    true = rng.uniform(55, 98, 30)
    scores = {f"F{i}": [t, t + rng.normal(0, 3)] for i, t in enumerate(true)}
    bands = ["优秀", "良好", "合格", "不合格"]
    grades = {f"F{i}": [bands[i % 4], bands[(i + (i % 3 == 0)) % 4]] for i in range(30)}
    v03 = {f"F{i}": [int(i < 5), int(i < 6)] for i in range(30)}
    reviews = review_rows(scores, grades, V03=v03)
    agr = ra.reviewer_agreement(reviews, CONFIG.casefile)
    assert list(agr.columns) == rc.AGREEMENT_COLUMNS
    score = agr[agr["measure"] == "score"].set_index("statistic")
    assert {"ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k"} <= set(score.index)
    assert (score.loc["ICC2", "ci_low"] < score.loc["ICC2", "estimate"] < score.loc["ICC2", "ci_high"]) and (
        score.loc["ICC2", "ci_method"] == "F"
    )
    grade = agr[agr["measure"] == "grade"].set_index("statistic")
    assert {"percent_agreement", "kappa", "kappa_linear", "kappa_quadratic"} <= set(grade.index)
    assert grade.loc["percent_agreement", "estimate"] == pytest.approx(20 / 30, abs=EXACT)
    v03_k = agr[(agr["measure"] == "V03") & (agr["statistic"] == "kappa")].iloc[0]
    assert 0 < v03_k["estimate"] < 1
    v01_k = agr[(agr["measure"] == "V01") & (agr["statistic"] == "kappa")].iloc[0]
    assert np.isnan(v01_k["estimate"]) and "kappa无定义" in v01_k["note"]
    v01_pa = agr[(agr["measure"] == "V01") & (agr["statistic"] == "percent_agreement")].iloc[0]
    assert v01_pa["estimate"] == 1.0
    assert "fleiss_kappa" not in set(agr["statistic"])


def test_fleiss_kappa_when_more_than_two_reviewers_scored_a_file():
    rng = np.random.default_rng(9)
    bands = ["优秀", "良好", "合格", "不合格"]
    scores = {f"F{i}": list(rng.uniform(60, 95, 3)) for i in range(12)}
    grades = {f"F{i}": [bands[(i + (j == 2 and i % 2)) % 4] for j in range(3)] for i in range(12)}
    agr = ra.reviewer_agreement(review_rows(scores, grades), CONFIG.casefile)
    fk = agr[(agr["measure"] == "grade") & (agr["statistic"] == "fleiss_kappa")].iloc[0]
    assert fk["n_raters"] == 3 and fk["n_files"] == 12 and 0 < fk["estimate"] < 1


def test_empty_double_scored_subset_gives_a_table_that_says_so():
    agr = ra.reviewer_agreement(review_rows({"A1": [88], "A2": [75]}), CONFIG.casefile)
    assert len(agr) == 1 and agr["estimate"].iloc[0] == 0 and "没有双评" in agr["note"].iloc[0]
    assert ra.third_review(review_rows({"A1": [88]}), CONFIG.casefile).empty


# ------------------------------------------------------------------------------------------------- stage


def write_inputs(out: Path, reviews: pd.DataFrame) -> None:
    clean_dir, weight_dir = out / "02_clean", out / "03_weight"
    clean_dir.mkdir(parents=True)
    weight_dir.mkdir(parents=True)
    for instrument, n in (("public", 200), ("staff", 150)):
        resp = likert_responses(instrument, n, seed=11, missing_share=0.02)
        write_table(resp, clean_dir, instrument)
        write_table(
            weights_for(resp, np.random.default_rng(12).uniform(0.5, 2, n)),
            weight_dir,
            f"{instrument}_weights",
        )
    write_table(reviews, clean_dir, "casefile_reviews")


def test_stage_run_writes_every_table(tmp_path):
    reviews = review_rows({"A1": [90, 70], "A2": [80, 82], "A3": [75, 71], "A4": [66]})
    write_inputs(tmp_path, reviews)
    ctx = StageContext(out=tmp_path, config_dir=CONFIG_DIR, seed=5, options=RunOptions(n_boot=N_BOOT))
    summary = run_stage(reliability, ctx)
    folder = tmp_path / "04_reliability"
    assert sorted(p.stem for p in folder.glob("*.parquet")) == sorted(TABLES)
    assert summary["scales_analysed"] == len(CONFIG.public.scales) + len(CONFIG.staff.scales)
    assert summary["files_needing_third_review"] == 1 and summary["double_scored_files"] == 3
    assert summary["flags"] == len(pd.read_parquet(folder / "flags.parquet"))
    third = pd.read_parquet(folder / "third_review.parquet")
    assert third["case_id"].tolist() == ["A1"]
    # the bootstrap is seeded with ctx.seed and uses ctx.options.n_boot
    public = pd.read_parquet(tmp_path / "02_clean" / "public.parquet")
    weights = pd.read_parquet(tmp_path / "03_weight" / "public_weights.parquet")
    direct = rs.scale_reliability(
        public, CONFIG.codebook("public"), weights, seed=5, n_boot=N_BOOT
    ).reliability
    written = pd.read_parquet(folder / "reliability.parquet")
    pd.testing.assert_frame_equal(written[written["instrument"] == "public"].reset_index(drop=True), direct)


def test_stage_in_two_processes_writes_the_same_tables(tmp_path):
    reviews = review_rows({"A1": [90, 70], "A2": [80, 82], "A3": [75, 71, 74], "A4": [66]})
    folders = {}
    for parallel in (False, True):
        out = tmp_path / str(parallel)
        write_inputs(out, reviews)
        ctx = StageContext(
            out=out,
            config_dir=CONFIG_DIR,
            seed=5,
            options=RunOptions(n_boot=N_BOOT, workers=2 if parallel else 1),
        )
        run_stage(reliability, ctx)
        folders[parallel] = out / "04_reliability"
    for table in TABLES:
        pd.testing.assert_frame_equal(
            pd.read_parquet(folders[False] / f"{table}.parquet"),
            pd.read_parquet(folders[True] / f"{table}.parquet"),
            check_exact=True,
        )


def test_stage_in_two_processes_raises_a_data_error_of_the_worker_naming_the_column(tmp_path):
    write_inputs(tmp_path, review_rows({"A1": [90, 70]}).drop(columns="grade"))
    ctx = StageContext(out=tmp_path, config_dir=CONFIG_DIR, options=RunOptions(n_boot=N_BOOT, workers=2))
    with pytest.raises(DataError, match="grade"):  # reviewer agreement runs in the worker
        run_stage(reliability, ctx)


def test_bootstrap_interval_is_seeded():
    resp = likert_responses("staff", 120, seed=13)
    cb = CONFIG.codebook("staff")

    def boot(seed):
        rel = rs.scale_reliability(resp, cb, seed=seed, n_boot=N_BOOT).reliability
        return rel.loc[rel["ci_method"] == "bootstrap", "ci_low"].to_numpy()

    np.testing.assert_array_equal(boot(5), boot(5))
    assert not np.array_equal(boot(5), boot(6))


# ------------------------------------------------------------------------------------------------- end to end

HAVE_PIPELINE = all(
    importlib.util.find_spec(m) is not None
    for m in (
        "pipeline.simulate",
        "pipeline.stages.ingest",
        "pipeline.stages.clean",
        "pipeline.stages.weight",
    )
)


@pytest.mark.skipif(not HAVE_PIPELINE, reason="simulator or an upstream stage is not installed yet")
def test_simulate_ingest_clean_weight_reliability_end_to_end(tmp_path):
    from pipeline.runner import run_stages
    from pipeline.simulate import simulate_raw

    simulate_raw(CONFIG, tmp_path / "raw", seed=20231, scale=0.1)
    ctx = StageContext(
        raw=tmp_path / "raw", out=tmp_path / "out", config_dir=CONFIG_DIR, options=RunOptions(n_boot=N_BOOT)
    )
    manifest = run_stages(ctx, ["ingest", "clean", "weight", "reliability"], echo=lambda *_: None)
    folder = tmp_path / "out" / "04_reliability"
    assert sorted(p.stem for p in folder.glob("*.parquet")) == sorted(TABLES)
    rel = pd.read_parquet(folder / "reliability.parquet")
    alpha = rel[rel["statistic"] == "alpha"]
    assert len(alpha.drop_duplicates(["instrument", "scale"])) == len(CONFIG.public.scales) + len(
        CONFIG.staff.scales
    )
    assert alpha["estimate"].between(0, 1).all()
    assert manifest["stages"]["reliability"]["summary"]["scales_analysed"] == 11


def test_bootstrap_interval_is_left_out_with_a_note_above_the_size_limit(monkeypatch):
    import numpy as np
    import pandas as pd

    from pipeline.stats import reliability as stats

    rng = np.random.default_rng(3)
    latent = rng.normal(size=400)
    x = pd.DataFrame({f"i{j}": np.clip(np.round(3 + latent + rng.normal(size=400)), 1, 5) for j in range(4)})
    monkeypatch.setattr(rs, "BOOTSTRAP_MAX_N", 100)
    prepared = stats.prepare_items(x, scale_range=(1, 5))
    assert rs._bootstrap_intervals([prepared], 100, seed=0, n_boot=50)[0] is not None  # at the limit: kept
    boots = rs._bootstrap_intervals([prepared], len(x), seed=0, n_boot=50)
    assert boots == [None]
    rows = rs._alpha_rows({}, prepared, boots[0])
    by_method = {r["ci_method"]: r for r in rows if r["statistic"] == "alpha"}
    assert (
        np.isnan(by_method["bootstrap"]["ci_low"])
        and rs.BOOTSTRAP_SKIPPED_NOTE in by_method["bootstrap"]["note"]
    )
    assert by_method["feldt"]["ci_low"] < by_method["feldt"]["estimate"] < by_method["feldt"]["ci_high"]
