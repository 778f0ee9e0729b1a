"""The corpus of bad inputs: each hand-edited or broken input either stops the run with a clear message or is
read with every record accounted for (see :mod:`bad_inputs.harness` for what each kind asserts).

The corpus is built by code once per session from the frozen test configuration and a small simulated sample;
nothing binary is committed. A case marked ``fixing`` describes the outcome the issue asks for and is a strict
xfail (strict: it fails the suite the day it is handled, and the mark goes).
"""

from __future__ import annotations

import pytest
from conftest import CONFIG_DIR

from bad_inputs import breakers as b
from bad_inputs.harness import (
    COMPLETES,
    CONFIG,
    DATA,
    NOTICE,
    STAGES,
    Case,
    Sample,
    check_outcome,
    nowhere_in_output,
    run_case,
    same_records,
    submit_times_read,
)

SEED, SCALE = 20231, 0.1
EXPORT = "386540716_按文本"
"""The start of the public 问卷星 export's file name (the rest carries the sample's size)."""
STAFF_EXPORT = "386541023_按序号"
CASEFILE = ("评查组1_案卷评查表.xlsx", "工作表 评查表", "第 4 行")
CHECKPOINT = ("网络检索表.xlsx", "工作表 网络检索", "第 4 行")
ROW1 = "第 1 行"

# fmt: off
CASES = [
    # name                          breaker                          kind       fragments (and extra check / area fixing it)
    Case("renamed_column",           b.rename_question,               DATA,      (EXPORT, ROW1, "缺少必需的列", "2、您的性别")),
    Case("missing_column",           b.delete_question,               DATA,      (EXPORT, ROW1, "缺少必需的列", "2、您的性别")),
    Case("duplicated_column",        b.duplicate_column,              DATA,      (EXPORT, ROW1, "列名重复", "3、您的年龄段")),
    Case("shuffled_columns",         b.shuffle_columns,               COMPLETES, (), same_records("public")),
    Case("title_rows_above_header",  b.title_rows,                    COMPLETES, (), same_records("public")),
    Case("hidden_rows",              b.hidden_rows,                   COMPLETES, (), same_records("public")),
    Case("blank_first_sheet",        b.blank_first_sheet,             COMPLETES, (), same_records("public")),
    Case("fullwidth_digit_codes",    b.fullwidth_codes,               COMPLETES, (), same_records("staff")),
    Case("fullwidth_paper_codes",    b.paper_fullwidth_codes,         COMPLETES, (), same_records("public")),
    Case("trailing_spaces_options",  b.trailing_spaces,               COMPLETES, (), same_records("public")),
    Case("gbk_csv_without_bom",      b.gbk_csv,                       COMPLETES, (), same_records("public")),
    Case("newline_in_cells",         b.newline_in_cells,              COMPLETES),
    Case("newline_in_csv_cells",     b.newline_in_csv_cells,          COMPLETES),
    Case("unknown_option_text",      b.unknown_option,                COMPLETES, ("存在无效选项代码",)),
    Case("column_of_unknown_options", b.many_unknown_options,         DATA,      (EXPORT, "第 2 行", "列 2、您的性别", "未知选项", "expected")),
    Case("paper_code_out_of_range",  b.paper_out_of_range,            COMPLETES, ("纸质问卷录入.xlsx", "D_gender", "超出范围")),
    Case("password_protected",       b.password_protected,            DATA,      (EXPORT, "密码")),
    Case("corrupt_workbook",         b.corrupt_workbook,              DATA,      (EXPORT, "无法读取")),
    Case("xlsx_renamed_xls",         b.xlsx_named_xls,                COMPLETES, (), same_records("public")),
    Case("csv_renamed_xlsx",         b.csv_named_xlsx,                COMPLETES, (), same_records("public")),
    Case("html_xls_renamed_xlsx",    b.html_named_xlsx,               COMPLETES, (), same_records("public"), fixing="HTML tables saved as .xls are not read"),
    Case("other_questionnaire",      b.other_questionnaire,           DATA,      (STAFF_EXPORT, ROW1, "不符", "Expected")),
    Case("duplicate_export",         b.duplicate_export,              COMPLETES, (f"{EXPORT}_兰州市法治建设社会公众满意度调查问卷_288_288 (1).xlsx", "重复提交")),
    Case("excel_lock_file",          b.lock_file,                     COMPLETES),
    Case("junk_files",               b.junk_files,                    COMPLETES, ("说明.txt",)),
    Case("empty_csv",                b.empty_csv,                     DATA,      ("补充导出.csv", "为空")),
    Case("header_only_export",       b.header_only_export,            NOTICE,    (f"{EXPORT}_兰州市法治建设社会公众满意度调查问卷_0_0.xlsx",)),
    Case("staff_folder_empty",       b.staff_empty,                   COMPLETES, ("staff/", "此问卷无记录")),
    Case("duration_in_minutes",      b.duration_minutes,              NOTICE,    (EXPORT, ("所用时间", "作答时间过短"))),
    Case("rule_excludes_nearly_all", b.everyone_too_fast,             DATA,      ("作答时间过短",)),
    Case("hand_typed_dates",         b.typed_dates,                   COMPLETES, (), submit_times_read),
    Case("merged_district_cell",     b.merged_district,               COMPLETES, ()),
    Case("stray_cell_far_right",     b.stray_cell,                    NOTICE,    (EXPORT, "AZ5", "此人已电话回访")),
    Case("fullwidth_phone_in_text",  b.fullwidth_phone,               COMPLETES, (), nowhere_in_output("１３９１２３４５６７８")),
    Case("casefile_veto_2",          b.casefile_veto_out_of_range,    DATA,      (*CASEFILE, "列 V01", "0 或 1")),
    Case("casefile_negative_count",  b.casefile_negative_defect,      DATA,      (*CASEFILE, "列 A1", "非负整数")),
    Case("casefile_count_as_text",   b.casefile_defect_text,          DATA,      (*CASEFILE, "列 A2", "两处", "非负整数")),
    Case("casefile_unknown_unit",    b.casefile_unknown_unit,         DATA,      (*CASEFILE, "列 被评查单位", "火星区", "units.yaml")),
    Case("casefile_unknown_type",    b.casefile_unknown_case_type,    DATA,      (*CASEFILE, "列 案件类型", "调解", "expected")),
    Case("casefile_missing_column",  b.casefile_missing_reviewer,     DATA,      ("评查组1_案卷评查表.xlsx", "工作表 评查表", "缺少列", "评查人")),
    Case("casefile_unknown_defect",  b.casefile_unknown_defect,       NOTICE,    ("评查组1_案卷评查表.xlsx", "G9")),
    Case("casefile_extra_defect",    b.casefile_extra_defect_column,  NOTICE,    ("评查组1_案卷评查表.xlsx", "A1 文书未加盖本机关印章(复核)")),
    Case("checkpoint_unknown_rating", b.checkpoint_unknown_rating,    DATA,      (*CHECKPOINT, "列 评估结果", "优秀", "完全落实")),
    Case("checkpoint_unknown_point", b.checkpoint_unknown_point,      DATA,      (*CHECKPOINT, "列 观测点编号", "99.9.9", "indicators.yaml")),
    Case("checkpoint_unknown_unit",  b.checkpoint_unknown_unit,       DATA,      (*CHECKPOINT, "列 单位", "兰州新区")),
    Case("checkpoint_no_source",     b.checkpoint_no_source,          DATA,      ("核查表_补充.xlsx", "工作表 Sheet1", "来源")),
    Case("population_margins",       b.population_margins,            CONFIG,    ("population.yaml", "targets", "3,392,200")),
    Case("scale_missing_item",       b.scale_missing_item,            CONFIG,    ("public.yaml", "PG", "P99")),
    Case("skip_rule_missing_item",   b.skip_rule_missing_question,    CONFIG,    ("staff.yaml", "skip_logic", "SD_x")),
]
# fmt: on


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Sample:
    """The simulated sample (frozen configuration, fixed seed, scale 0.1) and its good ingest + clean output."""
    import shutil

    from pipeline.runner import run_stages
    from pipeline.simulate import simulate_raw
    from pipeline.stages.base import StageContext

    base = tmp_path_factory.mktemp("bad_inputs")
    config = base / "config"
    shutil.copytree(CONFIG_DIR, config)
    simulate_raw(StageContext(config_dir=config).config, base / "raw", seed=SEED, scale=SCALE)
    ctx = StageContext(raw=base / "raw", out=base / "output", config_dir=config, seed=SEED)
    run_stages(ctx, STAGES, echo=lambda *_: None)
    return Sample(raw=base / "raw", config=config, output=base / "output")


def test_the_corpus_is_large_enough_and_named_uniquely():
    names = [c.name for c in CASES]
    assert len(names) >= 40 and len(set(names)) == len(names)


@pytest.mark.parametrize("case", [c.param() for c in CASES])
def test_bad_input(case: Case, sample: Sample, tmp_path):
    check_outcome(case, run_case(case, sample, tmp_path), sample)
