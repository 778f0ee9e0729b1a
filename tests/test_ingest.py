"""Codebook matching and decoding of 问卷星 exports, paper sheets, and the ingest stage end to end."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import CONFIG_DIR
from openpyxl import load_workbook

from pipeline.config import load_config
from pipeline.errors import DataError
from pipeline.ingest import codebook_match as cm
from pipeline.ingest import wjx
from pipeline.ingest.excel import read_sheets
from pipeline.ingest.paper import find_paper_header, read_paper_sheet
from pipeline.ingest.parts import ingest_raw
from pipeline.ingest.surveys import ingest_survey_file
from pipeline.ingest.templates import write_template
from pipeline.stages import ingest
from pipeline.stages.base import StageContext, run_stage
from tests.fixtures.ingest.small import EXPECTED, META, code_export, codebook, text_export


def _write(frame: pd.DataFrame, path: Path, encoding: str = "utf-8-sig") -> Path:
    if path.suffix == ".csv":
        frame.to_csv(path, index=False, encoding=encoding)
    else:
        frame.to_excel(path, index=False)
    return path


def _decode(path: Path, **kw) -> cm.Decoded:
    export = wjx.read_export(path)
    return cm.decode_export(export, codebook(), **kw)


def _expected_frame() -> pd.DataFrame:
    return pd.DataFrame(EXPECTED, index=pd.RangeIndex(2, 6, name="source_row")).astype("Int64")


@pytest.mark.parametrize("maker", [text_export, code_export], ids=["text", "code"])
@pytest.mark.parametrize(("suffix", "encoding"), [(".xlsx", None), (".csv", "utf-8-sig"), (".csv", "gbk")])
def test_both_modes_decode_to_the_same_codes(tmp_path, maker, suffix, encoding):
    path = _write(maker(), tmp_path / f"export{suffix}", encoding or "utf-8")
    got = _decode(path)
    assert got.issues == []
    pd.testing.assert_frame_equal(got.frame[list(EXPECTED)], _expected_frame(), check_dtype=True)
    assert got.frame["P28"].tolist()[:2] == ["我的邮箱 [邮箱]", None]  # masked; (空) → empty


def test_other_text_is_kept_masked(tmp_path):
    got = _decode(_write(text_export(), tmp_path / "t.xlsx"))
    assert got.frame["P27_other_text"].tolist() == [None, "电话[电话]联系我", None, None]


def test_code_mode_other_column_holding_the_fill_in_text_counts_as_chosen(tmp_path):
    frame = code_export(**{"第3题(其他【请注明】)": [0, "宠物", -3, 0]})
    got = _decode(_write(frame, tmp_path / "c.xlsx"))
    assert got.frame["P27_3"].tolist()[:2] == [0, 1]
    assert got.frame["P27_other_text"].tolist()[1] == "宠物"


@pytest.mark.parametrize(
    ("q1", "q2"),
    [
        ("Q1 您所在的县区", "Q2.您的年龄段"),
        ("第1题 您所在的县区", "第2题：您的年龄段"),
        ("1. 您所在的县区", "2．您的年龄段"),
        ("１、您所在的县区 ", "2、 您的 年龄段"),
    ],
)
def test_numbering_styles_and_spacing_match(tmp_path, q1, q2):
    frame = text_export().rename(columns={"1、您所在的县区": q1, "2、您的年龄段 ": q2})
    got = _decode(_write(frame, tmp_path / "t.xlsx"))
    assert got.frame["D_age_group"].tolist() == EXPECTED["D_age_group"]


def test_matrix_rows_in_di_style_match(tmp_path):
    frame = text_export().rename(
        columns={"4(依法办事(含窗口))": "第4题（依法办事（含窗口））", "4(信息公开)": "第4题(信息公开)"}
    )
    got = _decode(_write(frame, tmp_path / "t.xlsx"))
    assert got.frame["P01"].tolist()[:3] == [5, 99, -3]


def test_unknown_option_text_becomes_invalid_code_and_is_reported(tmp_path):
    frame = text_export(**{"2、您的年龄段 ": ["18-29", "40+", "三十多", "18–29"]})
    got = _decode(_write(frame, tmp_path / "t.xlsx"))
    assert got.frame["D_age_group"].tolist() == [1, 3, cm.INVALID_CODE, 1]
    (issue,) = got.issues
    assert (issue.item, issue.value, issue.rows, issue.column) == (
        "D_age_group",
        "三十多",
        [4],
        "2、您的年龄段 ",
    )
    assert "1=18–29" in issue.expected


def test_strict_mode_raises_naming_file_row_column_and_expected_options(tmp_path):
    frame = text_export(**{"2、您的年龄段 ": ["18-29", "40+", "三十多", "18–29"]})
    path = _write(frame, tmp_path / "t.xlsx")
    with pytest.raises(DataError) as err:
        _decode(path, strict=True)
    msg = str(err.value)
    for part in ("t.xlsx", "工作表 Sheet1", "第 4 行", "列 2、您的年龄段", "三十多", "1=18–29"):
        assert part in msg


def test_unknown_option_in_multiple_choice_marks_the_row_invalid(tmp_path):
    frame = text_export(
        **{"3、最需改进的方面（最多选3项）": ["行政执法┋不存在", "其他〖x〗", "(跳过)", "行政执法"]}
    )
    got = _decode(_write(frame, tmp_path / "t.xlsx"))
    assert got.frame.loc[2, ["P27_1", "P27_2", "P27_3"]].tolist() == [cm.INVALID_CODE] * 3
    assert got.issues[0].rows == [2]


def test_invalid_codes_in_code_mode(tmp_path):
    frame = code_export(**{"2、您的年龄段": [1, 7, 2, "abc"]})
    got = _decode(_write(frame, tmp_path / "c.xlsx"))
    assert got.frame["D_age_group"].tolist() == [1, cm.INVALID_CODE, 2, cm.INVALID_CODE]


def test_a_column_of_mostly_unknown_options_is_a_mismatch_error(tmp_path):
    frame = pd.concat([text_export()] * 3, ignore_index=True)
    frame["2、您的年龄段 "] = "青年"
    with pytest.raises(DataError, match=r"第 2 行.*12 of 12 answers are not options of D_age_group"):
        _decode(_write(frame, tmp_path / "t.xlsx"))


def test_export_of_another_questionnaire_is_rejected(tmp_path):
    frame = pd.DataFrame({**META, "1、手机部数": ["1部"] * 4, "2、手机价格": ["0-799元"] * 4})
    with pytest.raises(DataError, match=r"t\.xlsx.*another questionnaire.*1、您所在的县区"):
        _decode(_write(frame, tmp_path / "t.xlsx"))


def test_missing_required_column_is_named(tmp_path):
    frame = text_export().drop(columns=["4(信息公开)"])
    with pytest.raises(DataError, match=r"t\.xlsx.*missing required column.*P02.*信息公开"):
        _decode(_write(frame, tmp_path / "t.xlsx"))


def test_missing_optional_column_is_a_warning(tmp_path):
    export = wjx.read_export(_write(text_export().drop(columns=["5、意见建议"]), tmp_path / "t.xlsx"))
    match = cm.match_export(export, codebook())
    assert match.missing == ["P28"] and match.warnings
    assert cm.decode_export(export, codebook(), match).frame["P28"].isna().all()


def test_option_column_unknown_to_the_codebook_is_an_error(tmp_path):
    frame = code_export().rename(columns={"第3题(行政执法)": "第3题(交通管理)"})
    with pytest.raises(DataError, match=r"列 第3题\(交通管理\).*expected one of"):
        _decode(_write(frame, tmp_path / "c.xlsx"))


# ------------------------------------------------------------------------------------------- shipped config


@pytest.fixture(scope="module")
def config():
    return load_config(CONFIG_DIR)


def test_paper_template_round_trip(tmp_path, config):
    path = write_template(config, "public", tmp_path / "paper.xlsx")
    wb = load_workbook(path)
    ws = wb["录入"]
    header = [c.value for c in ws[1]]
    assert ws.data_validations.dataValidation, "drop-down lists present"
    cb = config.codebook("public")
    values = {"问卷编号": "A001", "调查日期": "2023/7/12"}
    for it in cb.items:
        if it.type in ("single", "matrix"):
            values[it.id] = it.options[0].code
        elif it.type == "multiple":
            values[f"{it.id}_{it.options[0].code}"] = 1
    values["P28"] = "联系我 13912345678"
    for c, name in enumerate(header, start=1):
        ws.cell(row=2, column=c, value=values.get(name))
    wb.save(path)
    (sheet,) = [s for s in read_sheets(path) if s.name == "录入"]
    meta, decoded = read_paper_sheet(sheet, cb, find_paper_header(sheet, cb))
    assert decoded.frame.loc[2, "P01"] == cb.item("P01").options[0].code
    assert decoded.frame.loc[2, "P28"] == "联系我 [电话]"
    assert meta.loc[2, "submitted_at"] == pd.Timestamp("2023-07-12")


@pytest.mark.parametrize("kind", ["staff", "casefile", "checkpoints"])
def test_other_templates_have_validation_lists(tmp_path, config, kind):
    path = write_template(config, kind, tmp_path / f"{kind}.xlsx")
    ws = load_workbook(path).worksheets[0]
    assert len(ws.data_validations.dataValidation) >= 2


def test_cli_maps_data_error_to_exit_2_without_output(tmp_path, capsys):
    from pipeline.cli import main

    raw = tmp_path / "raw"
    (raw / "public").mkdir(parents=True)
    (raw / "public" / "bad.xlsx").write_bytes(b"not a workbook")
    code = main(["ingest", "--raw", str(raw), "--out", str(tmp_path / "out"), "--config", str(CONFIG_DIR)])
    assert code == 2
    err = capsys.readouterr().err
    assert "bad.xlsx" in err and "Traceback" not in err
    assert not (tmp_path / "out" / "01_ingest").exists()


# ------------------------------------------------------------------------------------------- end to end

PERSONAL = {
    "ip": re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])"),
    "phone": re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)"),
    "id": re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)"),
    "email": re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+"),
}


def _raw_rows(path: Path) -> int:
    """Data rows of a raw survey file counted independently of the ingest code (non-empty rows below the header)."""
    if path.suffix == ".csv":
        return len(pd.read_csv(path, dtype=str, encoding="utf-8-sig").dropna(how="all"))
    wb = load_workbook(path, read_only=True)
    ws = wb.worksheets[0]
    return sum(
        1 for row in ws.iter_rows(min_row=2, values_only=True) if any(v not in (None, "") for v in row)
    )


@pytest.fixture(scope="module")
def simulated(tmp_path_factory, config):
    simulate = pytest.importorskip("pipeline.simulate")
    raw = tmp_path_factory.mktemp("raw")
    simulate.simulate_raw(config, raw, seed=7, scale=0.1, plant=None)
    out = tmp_path_factory.mktemp("out")
    ctx = StageContext(raw=raw, out=out, config_dir=CONFIG_DIR)
    summary = run_stage(ingest, ctx)
    return raw, out / "01_ingest", summary


def test_simulated_raw_ingests_every_row(simulated):
    raw, out, _ = simulated
    for instrument in ("public", "staff"):
        table = pd.read_parquet(out / f"{instrument}.parquet")
        expected = sum(
            _raw_rows(p) for p in sorted((raw / instrument).iterdir()) if p.suffix in (".xlsx", ".csv")
        )
        assert len(table) == expected > 0
        assert table["record_id"].is_unique
        assert table["submitted_at"].dtype == "datetime64[ns]"
    report = json.loads((out / "_ingest_report.json").read_text(encoding="utf-8"))
    assert report["rows"]["casefile_reviews"] > 0 and report["rows"]["checkpoints"] > 0


def test_simulated_output_holds_no_ip_phone_id_or_email(simulated):
    _, out, _ = simulated
    for path in out.iterdir():
        if path.suffix == ".parquet":
            frame = pd.read_parquet(path)
            text = "\n".join(
                frame[c].dropna().astype(str).str.cat(sep="\n")
                for c in frame.columns
                if frame[c].dtype == object
            )
        else:
            text = path.read_text(encoding="utf-8")
        for what, pattern in PERSONAL.items():
            hits = pattern.findall(text)
            assert not hits, f"{path.name}: {what} found: {hits[:3]}"


def test_simulated_casefile_mismatches_match_the_planted_typos(simulated):
    raw, out, _ = simulated
    truth = json.loads((raw / "truth.json").read_text(encoding="utf-8"))
    reviews = pd.read_parquet(out / "casefile_reviews.parquet")
    assert int(reviews["score_mismatch"].sum()) == len(truth["casefiles"]["mistyped_scores"])
    assert np.all((reviews["score"] >= 0) & (reviews["score"] <= 100))


def test_excel_datetime_cells_and_minute_durations_in_an_xlsx_export(tmp_path):
    import datetime as dt

    frame = text_export()
    frame["提交答卷时间"] = [dt.datetime(2023, 7, 12, 10, 23, 45)] * 4
    frame["所用时间"] = ["2分5秒", "125秒", "1分0秒", "59秒"]
    export = wjx.read_export(_write(frame, tmp_path / "t.xlsx"))
    assert export.meta["submitted_at"].iloc[0] == pd.Timestamp("2023-07-12 10:23:45")
    assert export.meta["duration_s"].tolist() == [125, 125, 60, 59]


def test_empty_marker_in_a_single_choice_is_not_answered(tmp_path):
    frame = text_export(**{"2、您的年龄段 ": ["(空)", "40+", "（跳过）", "18–29"]})
    got = _decode(_write(frame, tmp_path / "t.xlsx"))
    assert got.frame["D_age_group"].tolist() == [pd.NA, 3, cm.SKIPPED_CODE, 1]


def test_staff_export_in_the_public_folder_is_rejected_as_another_questionnaire(simulated, tmp_path, config):
    raw, _, _ = simulated
    (staff_file,) = [p for p in (raw / "staff").iterdir() if p.suffix in (".xlsx", ".csv")]
    wrong = tmp_path / "raw"
    (wrong / "public").mkdir(parents=True)
    (wrong / "public" / staff_file.name).write_bytes(staff_file.read_bytes())
    with pytest.raises(DataError, match=rf"{re.escape(staff_file.name)}.*another questionnaire"):
        ingest_raw(wrong, config, key=b"k" * 32)


def test_raw_folder_without_inputs_is_an_error(tmp_path, config):
    (tmp_path / "raw").mkdir()
    with pytest.raises(DataError, match="no input files"):
        ingest_raw(tmp_path / "raw", config, key=b"k")
    with pytest.raises(DataError, match="raw data folder not found"):
        ingest_raw(tmp_path / "nowhere", config, key=b"k")


def test_two_raw_files_with_the_same_stem_are_an_error(simulated, tmp_path, config):
    raw, _, _ = simulated
    (src,) = [p for p in (raw / "staff").iterdir() if p.suffix == ".xlsx"]
    twin = tmp_path / "raw"
    (twin / "staff").mkdir(parents=True)
    (twin / "staff" / src.name).write_bytes(src.read_bytes())
    frame = pd.read_excel(src, dtype=str, engine="calamine")
    frame.to_csv(twin / "staff" / f"{src.stem}.csv", index=False, encoding="gbk")
    with pytest.raises(DataError, match="duplicate record_id"):
        ingest_raw(twin, config, key=b"k")


def test_invalid_answers_reach_the_report(simulated):
    _, out, summary = simulated
    report = json.loads((out / "_ingest_report.json").read_text(encoding="utf-8"))
    listed = sum(i["n"] for f in report["files"] for i in f.get("invalid_cells", []))
    assert listed == report["n_invalid_cells"] == summary["n_invalid_cells"]
    public = pd.read_parquet(out / "public.parquet")
    coded = public.select_dtypes("Int64")
    assert int((coded == cm.INVALID_CODE).sum().sum()) >= report["n_invalid_cells"] - sum(
        i["n"] for f in report["files"] if f.get("instrument") == "staff" for i in f.get("invalid_cells", [])
    )


def test_similar_matrix_rows_match_exactly_not_fuzzily(tmp_path):
    frame = text_export()
    # swap the column order: each row must still find its own label, not the most similar one first
    cols = list(frame.columns)
    i, j = cols.index("4(依法办事(含窗口))"), cols.index("4(信息公开)")
    cols[i], cols[j] = cols[j], cols[i]
    got = _decode(_write(frame[cols], tmp_path / "t.xlsx"))
    assert got.frame["P01"].tolist()[:2] == [5, 99] and got.frame["P02"].tolist()[:2] == [4, 1]


def test_best_label_prefers_exact_and_refuses_ties():
    cands = [("您对公安机关执法的满意程度", "a"), ("您对公安机关办案的满意程度", "b")]
    assert cm._best_label("您对公安机关办案的满意程度", cands) == "b"
    assert cm._best_label("您对公安机关办案的满意程度 ", cands) == "b"
    assert cm._best_label("您对公安机关工作的满意程度", cands) is None  # equally close to both
    assert cm._best_label("完全不同的题目", cands) is None


def test_simulated_output_holds_no_person_names(simulated):
    """Names typed into the raw sheets (评查人, 核查人, 录入员) appear in no output file."""
    raw, out, _ = simulated
    names: set[str] = set()
    for path in (
        list((raw / "casefiles").iterdir())
        + list((raw / "checkpoints").iterdir())
        + list((raw / "public").iterdir())
    ):
        if path.suffix != ".xlsx":
            continue
        for sheet in read_sheets(path):
            for r, row in enumerate(sheet.rows[:6]):
                for c, cell in enumerate(row):
                    if cell in ("评查人", "核查人", "录入员"):
                        names |= {str(x[c]) for x in sheet.rows[r + 1 :] if c < len(x) and x[c]}
    assert len(names) >= 3
    blob = "\n".join(
        pd.read_parquet(p).astype(str).to_csv() if p.suffix == ".parquet" else p.read_text(encoding="utf-8")
        for p in out.iterdir()
    )
    leaked = sorted(n for n in names if n in blob)
    assert not leaked, f"names in output: {leaked[:5]}"


def test_codebook_corrects_a_misleading_file_name(tmp_path):
    path = _write(code_export(), tmp_path / "123_按文本_小问卷_4_4.xlsx")
    export = wjx.read_export(path)
    assert export.mode == "text"  # what the name says
    match = cm.match_export(export, codebook())
    assert export.mode == "code" and export.mode_source == "codebook"
    assert any("file name says text mode" in w for w in match.warnings)
    got = cm.decode_export(export, codebook(), match)
    pd.testing.assert_frame_equal(got.frame[list(EXPECTED)], _expected_frame())


def test_casefile_template_round_trip(tmp_path, config):
    from pipeline.ingest.casefile_sheets import read_casefile_sheet

    path = write_template(config, "casefile", tmp_path / "cf.xlsx")
    wb = load_workbook(path)
    ws = wb["评查表"]
    header = [c.value for c in ws[3]]
    row = {
        "案卷编号": "AJ-1",
        "被评查单位": config.units.units[0].name,
        "案卷类型": config.casefile.case_types[0],
        "评查人": "王五",
        "评查得分": 95,
    }
    for c, name in enumerate(header, start=1):
        value = row.get(name, 0)
        if name.startswith(config.casefile.categories[0].defects[0].code + " "):
            value = 1
        ws.cell(row=4, column=c, value=value)
    wb.save(path)
    sheet = next(s for s in read_sheets(path) if s.name == "评查表")
    got = read_casefile_sheet(sheet, config.casefile, config.units, b"k")
    assert len(got) == 1 and got["unit"].iloc[0] == config.units.units[0].code
    first = config.casefile.categories[0].defects[0]
    assert got["score"].iloc[0] == config.casefile.total_points - first.deduction


def test_checkpoint_template_round_trip(tmp_path, config):
    from pipeline.ingest.checkpoint_sheets import read_checkpoint_sheet

    path = write_template(config, "checkpoints", tmp_path / "cp.xlsx")
    wb = load_workbook(path)
    ws = wb["核查表"]
    point = next(
        p.id for a in config.indicators.aspects for i in a.items for p in i.points if "document" in p.sources
    )
    rating = next(iter(config.indicators.checkpoint_scores))
    for c, value in enumerate([config.units.units[0].name, point, "资料核查", rating, "电话0931-8881234"], 1):
        ws.cell(row=2, column=c, value=value)
    wb.save(path)
    sheet = next(s for s in read_sheets(path) if s.name == "核查表")
    got = read_checkpoint_sheet(sheet, config.indicators, config.units)
    assert got[["point", "source", "rating"]].iloc[0].tolist() == [point, "document", rating]
    assert got["note"].iloc[0] == "电话[电话]"


@pytest.mark.parametrize(("instrument", "encoding"), [("public", "utf-8"), ("staff", "gbk")])
def test_simulated_export_reads_the_same_as_csv(simulated, tmp_path, config, instrument, encoding):
    raw, _, _ = simulated
    (src,) = [p for p in (raw / instrument).iterdir() if p.suffix == ".xlsx" and "_按" in p.name]
    cb = config.codebook(instrument)
    from_xlsx, _ = ingest_survey_file(src, cb, b"k")
    rows = read_sheets(src)[0].rows
    csv = tmp_path / f"{src.stem}.csv"
    pd.DataFrame(rows[1:], columns=rows[0]).to_csv(csv, index=False, encoding=encoding)
    from_csv, entries = ingest_survey_file(csv, cb, b"k")
    assert entries[0]["encoding"] == encoding
    drop = ["record_id", "source_file", "source_sheet"]
    pd.testing.assert_frame_equal(from_xlsx[0].drop(columns=drop), from_csv[0].drop(columns=drop))


def test_option_columns_holding_the_option_text_or_a_tick(tmp_path):
    frame = code_export(
        **{
            "第3题(行政执法)": ["行政执法", None, "(跳过)", "√"],
            "第3题(ACG文化(动漫、游戏等))": ["ACG文化（动漫、游戏等）", "未选", "(跳过)", None],
            "第3题(其他【请注明】)": [None, "养花", "(跳过)", None],
        }
    )
    got = _decode(_write(frame, tmp_path / "t.xlsx"))
    assert got.frame["P27_1"].tolist() == [1, 0, pd.NA, 1]
    assert got.frame["P27_2"].tolist() == [1, 0, pd.NA, 0]  # empty beside a chosen option = not chosen
    assert got.frame["P27_other_text"].tolist()[1] == "养花"
