"""Ingest warns about what a careful analyst checks: headers matched by similarity, the same responses in two
files, paper-entry values out of range; and an instrument without raw files is skipped, not a crash."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from conftest import CONFIG_DIR, ROOT
from openpyxl import load_workbook

from pipeline.ingest import codebook_match as cm
from pipeline.ingest import wjx
from pipeline.ingest.overlap import ANSWER_OVERLAP_SHARE, file_overlaps
from pipeline.ingest.parts import ingest_raw
from pipeline.ingest.report_warnings import CODES, report_warnings
from pipeline.ingest.surveys import empty_survey, ingest_survey_file
from pipeline.ingest.templates import write_template
from tests.fixtures.ingest.small import code_export, codebook, text_export

KEY = b"k" * 32


def _xlsx(frame: pd.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_excel(path, index=False)
    return path


def _frames_and_entries(paths: list[Path]):
    frames, entries = [], []
    for p in paths:
        f, e = ingest_survey_file(p, codebook(), KEY)
        frames += f
        entries += e
    return frames, entries


# ------------------------------------------------------------------------------------------ similar headers


def test_header_matched_by_similarity_is_warned_with_its_score(tmp_path):
    frame = text_export().rename(columns={"1、您所在的县区": "1、您所在县区", "4(信息公开)": "4(信息的公开)"})
    (_, entries) = _frames_and_entries([_xlsx(frame, tmp_path / "t.xlsx")])
    warnings = report_warnings(entries)
    assert [w["code"] for w in warnings] == ["similar_header", "similar_header"]
    by_item = {w["item"]: w for w in warnings}
    stem, row = by_item["D_district"], by_item["P02"]
    assert stem["column"] == "1、您所在县区" and stem["expected"] == "您所在的县区"
    assert stem["similarity"] == pytest.approx(2 * 5 / 11, abs=1e-3)
    assert row["column"] == "4(信息的公开)" and row["expected"] == "信息公开"
    assert row["similarity"] == pytest.approx(2 * 4 / 9, abs=1e-3)
    assert stem["file"] == "t.xlsx"
    assert (
        "1、您所在县区" in stem["message"] and "您所在的县区" in stem["message"] and "0.91" in stem["message"]
    )
    assert all(cm.STEM_SIMILARITY <= w["similarity"] < 1 for w in warnings)


def test_headers_equal_after_normalisation_are_not_warned(tmp_path):
    # the fixture's headers differ from the YAML only by full-width brackets and a trailing space
    for maker in (text_export, code_export):
        export = wjx.read_export(_xlsx(maker(), tmp_path / f"{maker.__name__}.xlsx"))
        assert cm.match_export(export, codebook()).similar == []


# --------------------------------------------------------------------------------------- overlapping files


def test_the_same_export_saved_twice_is_warned_with_the_number_of_shared_records(
    raw_without_staff, tmp_path, config
):
    raw = tmp_path / "raw"
    shutil.copytree(raw_without_staff / "public", raw / "public")
    (export,) = [p for p in (raw / "public").iterdir() if p.name[0].isdigit()]
    twin = raw / "public" / "公众导出_副本.xlsx"
    shutil.copy(export, twin)
    got = ingest_raw(raw, config, key=KEY)
    (warning,) = [w for w in got.report["warnings"] if w["code"] == "overlapping_files"]
    rows = len(got.tables["public"][got.tables["public"]["source_file"] == export.name])
    assert warning["code"] == "overlapping_files"
    assert (warning["file"], warning["other"], warning["n"], warning["by"]) == (
        twin.name,
        export.name,
        rows,
        "seq_time",
    )
    assert not warning["same_survey"] and "请删去其中一个文件" in warning["message"]
    (entry,) = [f for f in got.report["files"] if f["file"] == twin.name]
    assert entry["overlaps"][0]["n"] == rows


def test_text_and_code_exports_of_the_same_responses_are_warned(tmp_path):
    frames, _ = _frames_and_entries(
        [_xlsx(text_export(), tmp_path / "按文本.xlsx"), _xlsx(code_export(), tmp_path / "按序号.xlsx")]
    )
    (overlap,) = file_overlaps(frames)
    assert (overlap.position, overlap.n, overlap.by) == (1, 4, "seq_time")


def test_exports_of_one_survey_id_are_marked_as_removed_by_clean(tmp_path):
    frames, _ = _frames_and_entries(
        [
            _xlsx(text_export(), tmp_path / "123_按文本_x.xlsx"),
            _xlsx(code_export(), tmp_path / "123_按序号_x.xlsx"),
        ]
    )
    (overlap,) = file_overlaps(frames)
    assert overlap.same_survey


def test_files_without_submission_times_overlap_by_identical_answers(tmp_path):
    no_time = [
        _xlsx(maker().drop(columns=["提交答卷时间"]), tmp_path / f"{maker.__name__}.xlsx")
        for maker in (text_export, code_export)
    ]
    frames, _ = _frames_and_entries(no_time)
    assert frames[0]["submitted_at"].isna().all()
    (overlap,) = file_overlaps(frames)
    assert (overlap.n, overlap.by) == (4, "answers")


def test_other_respondents_with_the_same_answers_are_not_an_overlap(tmp_path):
    other = text_export()
    other["序号"] = [11, 12, 13, 14]
    other["提交答卷时间"] = ["2023/8/1 10:00:00"] * 4
    frames, entries = _frames_and_entries(
        [_xlsx(text_export(), tmp_path / "a.xlsx"), _xlsx(other, tmp_path / "b.xlsx")]
    )
    assert file_overlaps(frames) == [] and report_warnings(entries) == []


def test_few_identical_answer_rows_without_times_are_not_an_overlap(tmp_path):
    base = text_export().drop(columns=["提交答卷时间"])
    other = base.copy()
    other["1、您所在的县区"] = ["七里河区", "城关区", "七里河区", "城关区"]  # every row differs now
    other.loc[0, "1、您所在的县区"] = "城关区"  # but one (a quarter, below the share) is identical
    assert ANSWER_OVERLAP_SHARE > 1 / 4
    frames, _ = _frames_and_entries([_xlsx(base, tmp_path / "a.xlsx"), _xlsx(other, tmp_path / "b.xlsx")])
    assert file_overlaps(frames) == []


# ------------------------------------------------------------------------------------------- paper entries


@pytest.fixture(scope="module")
def config():
    from pipeline.config import load_config

    return load_config(CONFIG_DIR)


def test_paper_value_out_of_range_is_warned_with_column_value_and_rows(tmp_path, config):
    cb = config.codebook("public")
    path = write_template(config, "public", tmp_path / "纸质.xlsx")
    wb = load_workbook(path)
    ws = wb["录入"]
    header = [c.value for c in ws[1]]
    for row, paper_id in ((2, "A001"), (3, "A002")):
        values = {"问卷编号": paper_id}
        for it in cb.items:
            if it.type in ("single", "matrix"):
                values[it.id] = it.options[0].code
            elif it.type == "multiple":
                values[f"{it.id}_{it.options[0].code}"] = 1
        values["P01"] = 7 if row == 3 else values["P01"]
        for c, name in enumerate(header, start=1):
            ws.cell(row=row, column=c, value=values.get(name))
    wb.save(path)
    _, entries = ingest_survey_file(path, cb, KEY)
    (warning,) = report_warnings(entries)
    assert warning["code"] == "paper_value_out_of_range"
    assert (warning["file"], warning["column"], warning["value"], warning["rows"]) == (
        path.name,
        "P01",
        "7",
        [3],
    )
    assert "P01" in warning["message"] and "'7'" in warning["message"]


def test_every_warning_code_is_documented():
    contract = (ROOT / "docs" / "DATA_CONTRACT.md").read_text(encoding="utf-8")
    assert all(f"`{code}`" in contract for code in CODES)


# ------------------------------------------------------------------------------- an instrument without files


@pytest.fixture(scope="module")
def raw_without_staff(tmp_path_factory, config):
    from pipeline.simulate import simulate_raw

    raw = tmp_path_factory.mktemp("raw")
    simulate_raw(config, raw, seed=1, scale=0.1, plant=None)
    shutil.rmtree(raw / "staff")
    return raw


def test_an_instrument_without_raw_files_gives_its_empty_table_and_a_skip(raw_without_staff, config):
    got = ingest_raw(raw_without_staff, config, key=KEY)
    staff = got.tables["staff"]
    assert len(staff) == 0
    assert list(staff.columns) == list(empty_survey(config.codebook("staff")).columns)
    (skip,) = got.report["skipped"]
    assert skip["what"] == "staff" and "staff/" in skip["reason"]
    assert got.report["rows"]["public"] > 0
