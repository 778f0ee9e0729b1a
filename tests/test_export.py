"""fazhi-eval export: the cleaned, weighted respondent data as labelled .sav, .xlsx and .csv, with pseudonymous
ids only, texts masked, formula-like cells neutralised, and the .xlsx refused above Excel's row limit."""

from __future__ import annotations

import pandas as pd
import pyreadstat
import pytest
from conftest import CONFIG_DIR
from openpyxl import load_workbook
from privacy_scan import scan_output

from pipeline import export
from pipeline.cli import main
from pipeline.config import load_config
from pipeline.config.codebook import Codebook


@pytest.fixture(scope="module")
def exported(simulated_pipeline, tmp_path_factory):
    ctx, _ = simulated_pipeline
    out = tmp_path_factory.mktemp("export")
    assert main(["export", "--from", str(ctx.out), "--out", str(out), "--config", str(CONFIG_DIR)]) == 0
    return ctx, out


def test_the_sav_has_question_wording_option_labels_the_codes_and_the_weight(exported):
    ctx, out = exported
    frame, meta = pyreadstat.read_sav(str(out / "public.sav"), user_missing=True)
    clean = pd.read_parquet(ctx.stage_dir("clean") / "public.parquet")
    weights = pd.read_parquet(ctx.stage_dir("weight") / "public_weights.parquet")
    codebook = Codebook.from_config(load_config(CONFIG_DIR).public, load_config(CONFIG_DIR).units)
    item = codebook.item("P01")
    assert item.question_text in meta.column_names_to_labels["P01"]
    assert item.row_text in meta.column_names_to_labels["P01"]
    labels = meta.variable_value_labels["P01"]
    assert {int(k): v for k, v in labels.items() if k >= 0} == {o.code: o.text for o in item.options}
    assert {r["lo"] for r in meta.missing_ranges["P01"]} == {-3.0, *map(float, item.missing_codes)}
    assert list(frame["respondent"]) == list(clean["respondent"])
    pd.testing.assert_series_equal(
        frame["P01"], clean["P01"].astype("float64"), check_names=False, check_index=False
    )
    by_id = weights.set_index("record_id")["weight"]
    assert frame["weight"].to_numpy() == pytest.approx(clean["record_id"].map(by_id).to_numpy())
    assert "record_id" not in frame.columns and "source_file" not in frame.columns
    assert "LE_" in frame.columns  # a scale named like an SPSS reserved word (LE) is renamed
    staff, _ = pyreadstat.read_sav(str(out / "staff.sav"))
    assert len(staff) == len(pd.read_parquet(ctx.stage_dir("clean") / "staff.parquet"))


def test_the_spreadsheets_show_labels_and_csv_opens_in_excel(exported):
    _, out = exported
    raw = (out / "public.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    csv = pd.read_csv(out / "public.csv", encoding="utf-8-sig")
    assert set(csv["D_gender"].dropna()) <= {"男", "女"}
    book = load_workbook(out / "public.xlsx", read_only=True)
    assert book.sheetnames == ["数据", "变量说明"]
    header = next(book["数据"].iter_rows(max_row=1, values_only=True))
    assert header[:2] == ("respondent", "weight")


def test_no_personal_data_in_the_export_folder(exported):
    _, out = exported
    result = scan_output(out)
    assert not result.findings, "\n".join(result.lines()[:20])
    assert not result.unscanned, result.unscanned


def test_formula_like_texts_are_neutralised_and_phones_masked(tmp_path):
    config = load_config(CONFIG_DIR)
    responses = pd.DataFrame(
        {
            "record_id": ["a:2", "a:3"],
            "respondent": ["k1", "k2"],
            "P01": pd.array([5, -3], dtype="Int64"),
            "P28": ['=HYPERLINK("http://x")', "电话 139 8765 4321"],
        }
    )
    weights = pd.DataFrame({"record_id": ["a:2", "a:3"], "weight": [1.5, 2.5]})
    labelled = export.labelled_data(responses, weights, config, "public")
    export.write_export(labelled, tmp_path, ("csv", "xlsx", "sav"))
    csv = pd.read_csv(tmp_path / "public.csv", encoding="utf-8-sig")
    assert csv.loc[0, "P28"] == '\'=HYPERLINK("http://x")' and csv.loc[1, "P28"] == "电话 [电话]"
    assert csv.loc[1, "P01"] == export.SKIPPED_LABEL
    cells = [
        c for row in load_workbook(tmp_path / "public.xlsx")["数据"].iter_rows(values_only=True) for c in row
    ]
    assert '\'=HYPERLINK("http://x")' in cells
    frame, _ = pyreadstat.read_sav(str(tmp_path / "public.sav"))
    assert list(frame["weight"]) == [1.5, 2.5]


def test_xlsx_above_the_row_limit_is_refused_pointing_to_csv_and_sav(exported, monkeypatch, tmp_path, capsys):
    ctx, _ = exported
    monkeypatch.setattr(export, "EXCEL_MAX_ROWS", 10)
    args = ["export", "--from", str(ctx.out), "--out", str(tmp_path / "x"), "--config", str(CONFIG_DIR)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "Excel" in err and "csv" in err and "sav" in err and "Traceback" not in err
    assert not (tmp_path / "x").exists()  # nothing written
    assert main([*args, "--format", "csv,sav", "--instrument", "staff"]) == 0
    assert sorted(p.name for p in (tmp_path / "x").iterdir()) == [
        "staff.csv",
        "staff.sav",
        "staff_变量说明.csv",
    ]


def test_an_unknown_format_or_a_missing_run_is_a_clear_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["export", "--from", str(tmp_path), "--format", "dta", "--config", str(CONFIG_DIR)])
    assert stop.value.code == 2 and "未知的导出格式 dta" in capsys.readouterr().err
    assert main(["export", "--from", str(tmp_path), "--config", str(CONFIG_DIR)]) == 2
    assert "clean" in capsys.readouterr().err


def test_spss_names_are_valid_and_unique():
    taken: set[str] = set()
    names = [export.spss_name(c, taken) for c in ["LE", "le", "1x", "题目", "BY", "by_"]]
    assert names[0] == "LE_" and names[2].startswith("V") and len({n.upper() for n in names}) == len(names)
