"""Sections 6–9 of the statistics appendix (指标得分, 案卷评查, 问题清单, 方法说明) on the simulated pipeline: they
build, their numbers are the stage tables' cells, a section whose stage has not run says so in one line, and two
builds give the same blocks."""

from __future__ import annotations

import re
import shutil

import pandas as pd
import pytest

from pipeline.report.blocks import FORMATS, SMALL_MARK, Heading, Paragraph, Table
from pipeline.report.inputs import ReportInputs
from pipeline.report.sections import casefiles, methods, problems, scores

MODULES = (scores, casefiles, problems, methods)


@pytest.fixture(scope="module")
def inputs(simulated_pipeline):
    ctx, _ = simulated_pipeline
    return ReportInputs(ctx.out, ctx.config)


@pytest.fixture(scope="module")
def built(inputs):
    return {m.NUMBER: m.section(inputs) for m in MODULES}


def _table(section, key):
    return next(t for t in section.tables() if t.key == key)


def test_each_section_builds_with_tables_whose_formats_name_their_columns(built):
    for module in MODULES:
        section = built[module.NUMBER]
        assert (section.number, section.title, section.missing) == (module.NUMBER, module.TITLE, None)
        assert section.tables(), module.TITLE
        for table in section.tables():
            assert table.source and table.notes, table.key
            assert set(table.formats) <= set(table.frame.columns), table.key
            assert set(table.formats.values()) <= set(FORMATS), table.key
            assert table.frame.columns.is_unique, table.key
        keys = [t.key for t in section.tables()]
        assert len(keys) == len(set(keys))


def test_an_aspect_score_of_a_unit_equals_scores_parquet(built, inputs, config):
    stage = inputs.table("score", "scores")
    aspects = stage[stage["level"] == "aspect"]
    table = _table(built[6], "scores.aspects.district")
    names = {u.code: u.name for u in config.units.units}
    checked = 0
    for aspect in config.indicators.aspects:
        header = f"{aspect.id} {aspect.name}"
        if header not in table.frame.columns:
            continue
        for code, name in names.items():
            row = aspects[(aspects["unit"] == code) & (aspects["id"] == aspect.id)]
            if row.empty or name not in set(table.frame["单位"]):
                continue
            shown_value = table.frame.loc[table.frame["单位"] == name, header].iloc[0]
            assert shown_value == row["score"].iloc[0] or (
                pd.isna(shown_value) and pd.isna(row["score"].iloc[0])
            )
            checked += 1
    assert checked > 0


def test_the_city_row_and_rank_intervals_are_those_of_the_score_stage(built, inputs):
    stage = inputs.table("score", "scores")
    overall = stage[(stage["unit"] == "CITY") & (stage["level"] == "overall")].iloc[0]
    city = _table(built[6], "scores.city")
    first = city.frame.iloc[0]
    assert (first["得分"], first["95%置信区间下限"], first["覆盖率"]) == (
        overall["score"],
        overall["ci_low"],
        overall["coverage"],
    )
    ranking = inputs.table("score", "ranking")
    table = _table(built[6], "scores.ranking.district")
    districts = ranking[ranking["unit_type"] == "district"].set_index("unit_name")
    for row in table.frame.itertuples(index=False):
        expected = districts.loc[row.单位]
        assert row.总分 == expected["score"]
        assert row.排名区间 == f"{expected['rank_low']}–{expected['rank_high']}"


def test_units_are_marked_exactly_when_a_survey_cell_behind_them_is_small(built, inputs, config):
    sources = inputs.table("score", "point_sources")
    flagged = set(sources.loc[sources["flag"].isin(["small", "suppressed"]), "unit"])
    assert flagged, "the simulated sample has small survey cells"
    names = {u.code: u.name for u in config.units.units}
    marked, unmarked = set(), set()
    for table in built[6].tables():
        if table.key.startswith("scores.aspects."):
            for row in table.frame.itertuples(index=False):
                (marked if row.标记 == SMALL_MARK else unmarked).add(row.单位)
    assert marked == {names[u] for u in flagged if u in names}
    assert not marked & unmarked


def test_case_file_counts_and_defect_shares_equal_the_stage_tables(built, inputs, config):
    files = inputs.table("clean", "casefiles")
    table = _table(built[7], "casefiles.units").frame
    city = table[table["单位"] == "全市"].iloc[0]
    assert table.loc[table["单位"] != "全市", "案卷数"].sum() == len(files) == city["案卷数"]
    assert city["否决案卷数"] == int(files["veto"].astype(bool).sum())
    assert city["平均得分"] == pytest.approx(files["score"].mean(), rel=1e-12)
    defects = _table(built[7], "casefiles.defects").frame
    assert list(defects["占案卷比例"]) == sorted(defects["占案卷比例"], reverse=True)
    assert defects["累计比例"].iloc[-1] == pytest.approx(1.0)
    # 07_score counts the files with a deduction in each category it scores city-wide: the same numbers.
    sources = inputs.table("score", "point_sources")
    details = " ".join(sources.loc[(sources["source"] == "casefile") & (sources["unit"] == "CITY"), "detail"])
    for cat in config.casefile.categories:
        if cat.feeds:
            n_hit = defects.loc[defects["扣分类别"] == f"{cat.id} {cat.name}", "有扣分的案卷数"].iloc[0]
            assert f"{cat.name}有扣分 {n_hit}/{len(files)}" in details


def test_files_sent_to_a_third_review_are_those_of_the_reliability_stage(built, inputs):
    third = inputs.table("reliability", "third_review")
    if third.empty:
        assert any(isinstance(b, Paragraph) and "第三人复评" in b.text for b in built[7].blocks)
    else:
        table = _table(built[7], "casefiles.third_review").frame
        assert list(table["案卷编号"]) == list(third["case_id"].astype(str))


def test_section_8_has_one_heading_and_one_summary_row_per_problem(built, inputs):
    findings = inputs.table("findings", "findings")
    n_common = findings.loc[findings["kind"] == "common", "id"].nunique()
    n_individual = findings.loc[findings["kind"] == "individual", "id"].nunique()
    headings = [b.text for b in built[8].blocks if isinstance(b, Heading) and b.level == 3]
    assert sum(h.startswith("共性问题") for h in headings) == n_common
    assert sum(h.startswith("个性问题") for h in headings) == n_individual
    summary = _table(built[8], "problems.summary").frame
    assert list(summary["问题编号"]) == list(dict.fromkeys(findings.sort_values(["kind", "rank"])["id"]))
    first = findings.drop_duplicates("id").set_index("id")
    for row in summary.itertuples(index=False):
        assert row.涉及单位数 == first.loc[row.问题编号, "n_affected"]
        assert row.占比 == first.loc[row.问题编号, "share"]


def test_every_problem_paragraph_carries_its_wording_and_suggestion(built, inputs):
    findings = inputs.table("findings", "findings").drop_duplicates("id")
    texts = "\n".join(b.text for b in built[8].blocks if isinstance(b, Paragraph))
    for row in findings.itertuples(index=False):
        assert f"问题表述：{row.problem}" in texts
        assert f"整改建议：{row.suggestion}" in texts


def test_manifest_hashes_and_versions_appear_in_section_9(built, inputs):
    manifest = inputs.manifest
    tables = {t.key: t.frame for t in built[9].tables()}
    assert (
        dict(zip(tables["methods.inputs"]["文件"], tables["methods.inputs"]["SHA-256"], strict=True))
        == (manifest["inputs"])
    )
    assert set(tables["methods.config_files"]["SHA-256"]) == set(manifest["config_files"].values())
    assert dict(zip(tables["methods.software"]["软件"], tables["methods.software"]["版本"], strict=True)) == {
        k: str(v) for k, v in manifest["packages"].items()
    }


def test_the_cleaning_table_lists_each_rule_with_its_configured_threshold(built, config):
    table = _table(built[9], "methods.cleaning").frame.set_index("代码")
    rules = config.cleaning
    assert list(table.index) == list(methods.RULE_ORDER)
    assert f"最短时长（秒）：{rules.speeder.min_seconds:g}" in table.loc["speeder", "阈值与设定"]
    assert f"未答比例上限：{rules.missing.max_missing_share:g}" in table.loc["missing", "阈值与设定"]
    assert table.loc["ip_burst", "处理"] == methods.ACTIONS[rules.ip_burst.action]
    findings = _table(built[9], "methods.findings").frame.set_index("参数")
    assert findings.loc["fdr", "取值"] == f"{config.findings.fdr:g}"


@pytest.mark.parametrize(
    ("module", "stage", "deleted"),
    [(problems, "findings", "08_findings"), (scores, "score", "07_score"), (casefiles, "clean", "02_clean")],
)
def test_a_section_whose_stage_has_not_run_says_so_in_one_line(
    simulated_pipeline, tmp_path, module, stage, deleted
):
    ctx, _ = simulated_pipeline
    out = tmp_path / "output"
    shutil.copytree(ctx.out, out, ignore=shutil.ignore_patterns(".lock"))
    shutil.rmtree(out / deleted)
    inputs = ReportInputs(out, ctx.config)
    section = module.section(inputs)
    assert section.missing == inputs.missing_line(stage)
    assert section.blocks == ()


def test_building_twice_gives_identical_blocks(simulated_pipeline, built):
    ctx, _ = simulated_pipeline
    again = ReportInputs(ctx.out, ctx.config)
    for module in MODULES:
        first, second = built[module.NUMBER], module.section(again)
        assert len(first.blocks) == len(second.blocks)
        for a, b in zip(first.blocks, second.blocks, strict=True):
            if isinstance(a, Table):
                pd.testing.assert_frame_equal(a.frame, b.frame)
                assert (a.key, a.title, a.notes, a.formats) == (b.key, b.title, b.notes, b.formats)
                assert a.shown_frame().equals(b.shown_frame())
            else:
                assert a == b


def test_chinese_numbers_count_problems_past_ten():
    from pipeline.report.sections._scoring_common import chinese_number

    assert [chinese_number(k) for k in (1, 9, 10, 11, 19, 20, 21, 99, 100, 110)] == [
        "一", "九", "十", "十一", "十九", "二十", "二十一", "九十九", "一百", "一百一十"
    ]  # fmt: skip
    assert re.fullmatch(r"\d+", chinese_number(1000))
