"""Workbooks as people leave them after Excel/WPS: merged cells, stray cells far from the data, notes beside the
table, extra columns, wrong extensions, passwords and damage. Each broken workbook is built here, from the
simulator's files or with openpyxl."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import CONFIG_DIR, ROOT
from openpyxl import load_workbook
from test_wjx import TEXT_XLS, needs_samples

from pipeline.errors import DataError
from pipeline.ingest import filetype
from pipeline.ingest.excel import read_sheets, sheet_frame
from pipeline.ingest.parts import part_frames
from pipeline.ingest.surveys import ingest_survey_file

KEY = b"k" * 32


@pytest.fixture(scope="module")
def raw(tmp_path_factory, config):
    from pipeline.simulate import simulate_raw

    base = tmp_path_factory.mktemp("hand-edited") / "raw"
    simulate_raw(config, base, seed=7, scale=0.1)
    return base


def _only(folder: Path, pattern: str) -> Path:
    (path,) = sorted(folder.glob(pattern))
    return path


def _export(raw: Path) -> Path:
    return _only(raw / "public", "*按文本*.xlsx")


def _edit_sheet_xml(src: Path, dst: Path, edit) -> Path:
    """A copy of ``src`` whose first worksheet's XML is ``edit(xml)``."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = edit(data)
            zout.writestr(info, data)
    return dst


def _stray_cells(xml: bytes) -> bytes:
    """A space typed at XFD1 and a note at A1048576, the dimension claiming the whole sheet (as Excel saves it)."""
    xml = re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:XFD1048576"', xml, count=1)
    space = b'<c r="XFD1" t="inlineStr"><is><t xml:space="preserve"> </t></is></c></row>'
    xml = xml.replace(b"</row>", space, 1)
    note = b'<row r="1048576"><c r="A1048576" t="inlineStr"><is><t>check later</t></is></c></row>'
    return xml.replace(b"</sheetData>", note + b"</sheetData>")


# --------------------------------------------------------------------------------------------------------------
# merged cells


def test_a_district_merged_over_two_respondents_is_given_to_both(raw, config, tmp_path):
    src = _only(raw / "public", "纸质*.xlsx")
    wb = load_workbook(src)
    ws = wb.active
    col = next(c.column_letter for c in ws[1] if c.value == "D_district")
    ws[f"{col}3"] = None
    ws.merge_cells(f"{col}2:{col}3")
    path = tmp_path / src.name
    wb.save(path)
    codebook = config.codebook("public")
    (before,), _ = ingest_survey_file(src, codebook, KEY)
    (after,), _ = ingest_survey_file(path, codebook, KEY)
    assert after["D_district"].notna().all()
    assert after["D_district"].iloc[1] == before["D_district"].iloc[0]


def test_a_case_id_merged_over_two_reviewer_rows_keeps_both_reviews(raw, config, tmp_path):
    for book in (raw / "casefiles").glob("*.xlsx"):
        shutil.copy(book, tmp_path / book.name)
    path = sorted(tmp_path.glob("*.xlsx"))[0]
    wb = load_workbook(path)
    ws = wb.active
    header = next(r for r in range(1, 6) if ws.cell(r, 1).value == "案卷编号")
    first = header + 1
    case = ws.cell(first, 1).value
    ws.cell(first + 1, 1).value = None  # the second reviewer's row of the same case, its 案卷编号 merged
    ws.merge_cells(start_row=first, start_column=1, end_row=first + 1, end_column=1)
    wb.save(path)
    (dest := tmp_path / "raw" / "casefiles").mkdir(parents=True)
    shutil.copy(path, dest / path.name)
    (table,), _ = part_frames(tmp_path / "raw", config, "casefile_reviews", key=KEY)
    assert len(table) == ws.max_row - header  # no review dropped
    assert table.set_index("source_row").loc[first + 1, "case_id"] == case


# --------------------------------------------------------------------------------------------------------------
# columns without a header, extra columns


def test_a_note_beside_the_export_is_a_warning_naming_its_cell(raw, config, tmp_path):
    wb = load_workbook(_export(raw))
    ws = wb.active
    ws.cell(3, ws.max_column + 3).value = "第2条是测试数据"
    path = tmp_path / _export(raw).name
    wb.save(path)
    (records,), (entry,) = ingest_survey_file(path, config.codebook("public"), KEY)
    assert len(records) == ws.max_row - 1
    (warning,) = entry["layout_warnings"]
    letters = re.sub(r"\d", "", ws.cell(3, ws.max_column).coordinate)
    assert warning["code"] == "cells_outside_table" and warning["cell"] == f"{letters}3"
    assert "测试数据" in warning["message"]


def test_a_column_with_data_but_no_header_is_an_error_naming_the_column(raw, config, tmp_path):
    wb = load_workbook(_export(raw))
    ws = wb.active
    ws.insert_cols(8)
    ws["H2"] = "多填的一格"
    path = tmp_path / _export(raw).name
    wb.save(path)
    with pytest.raises(DataError, match=r"H 列没有列名.*H2 = '多填的一格'") as err:
        ingest_survey_file(path, config.codebook("public"), KEY)
    assert "['']" not in str(err.value)


def test_an_empty_column_without_a_header_is_ignored(raw, config, tmp_path):
    wb = load_workbook(_export(raw))
    wb.active.insert_cols(8)
    path = tmp_path / _export(raw).name
    wb.save(path)
    (records,), (entry,) = ingest_survey_file(path, config.codebook("public"), KEY)
    (expected,), _ = ingest_survey_file(_export(raw), config.codebook("public"), KEY)
    assert records.drop(columns=["source_file"]).equals(expected.drop(columns=["source_file"]))
    assert entry["layout_warnings"] == []


def _casefile_with_column(raw: Path, tmp_path: Path, header: str) -> Path:
    src = sorted((raw / "casefiles").glob("*.xlsx"))[0]
    wb = load_workbook(src)
    ws = wb.active
    row = next(r for r in range(1, 6) if ws.cell(r, 1).value == "案卷编号")
    col = ws.max_column + 1
    ws.cell(row, col).value = header
    for r in range(row + 1, ws.max_row + 1):
        ws.cell(r, col).value = 1
    dest = tmp_path / "raw" / "casefiles"
    dest.mkdir(parents=True)
    wb.save(dest / src.name)
    return tmp_path / "raw"


def test_a_defect_column_the_standard_does_not_know_is_an_error(raw, config, tmp_path):
    folder = _casefile_with_column(raw, tmp_path, "C11 卷宗装订不规范")
    with pytest.raises(DataError, match=r"C11 卷宗装订不规范.*casefile\.yaml.*'C1'"):
        part_frames(folder, config, "casefile_reviews", key=KEY)


def test_an_unknown_column_of_a_review_sheet_is_a_warning(raw, config, tmp_path):
    folder = _casefile_with_column(raw, tmp_path, "复核意见")
    _, (entry,) = part_frames(folder, config, "casefile_reviews", key=KEY)
    (warning,) = entry["layout_warnings"]
    assert warning["code"] == "unknown_column" and warning["column"] == "复核意见"


# --------------------------------------------------------------------------------------------------------------
# stray cells far away


def test_a_stray_space_at_xfd1_and_a_note_at_the_last_row_leave_the_table_as_it_was(raw, tmp_path):
    path = _edit_sheet_xml(_export(raw), tmp_path / "stray.xlsx", _stray_cells)
    (clean,) = read_sheets(_export(raw))
    (sheet,) = read_sheets(path)
    assert sheet.rows == clean.rows
    assert sheet_frame(sheet).equals(sheet_frame(clean))
    assert [(w["code"], w["cell"]) for w in sheet.warnings] == [("cells_outside_table", "A1048576")]


def test_ingest_memory_stays_bounded_by_the_data_despite_stray_cells(config, tmp_path):
    """A ~1 MB export with a stray cell at XFD1 and one at row 1,048,576 (a dense read would take gigabytes):
    the whole per-file ingest, in a fresh process, stays within 200 MB of peak memory plus a margin."""
    from pipeline.simulate import simulate_raw

    simulate_raw(config, tmp_path / "raw", seed=3, scale=1.2)
    export = _export(tmp_path / "raw")
    assert export.stat().st_size > 500_000
    path = _edit_sheet_xml(export, tmp_path / "stray.xlsx", _stray_cells)
    child = (
        "import sys; from pathlib import Path; from pipeline.config import load_config; "
        "from pipeline.ingest.surveys import ingest_survey_file; "
        "c = load_config(sys.argv[1]); f, _ = ingest_survey_file(Path(sys.argv[2]), c.codebook('public'), b'k' * 32); "
        "assert len(f[0]) > 1000"
    )
    # a fresh parent whose only child is the ingest: RUSAGE_CHILDREN is then that child's peak alone
    parent = (
        "import resource, subprocess, sys; "
        "subprocess.run([sys.executable, '-c', sys.argv[1], sys.argv[2], sys.argv[3]], check=True); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    out = subprocess.run(
        [sys.executable, "-c", parent, child, str(CONFIG_DIR), str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    peak_mb = int(out.stdout.strip()) / 1024  # ru_maxrss is in KiB on Linux
    assert peak_mb < 200 * 1.25, f"peak RSS {peak_mb:.0f} MB"


# --------------------------------------------------------------------------------------------------------------
# the real type of a file


def test_an_xlsx_renamed_csv_is_read_as_a_workbook_with_a_warning(raw, config, tmp_path):
    path = tmp_path / (_export(raw).stem + ".csv")
    shutil.copy(_export(raw), path)
    (records,), (entry,) = ingest_survey_file(path, config.codebook("public"), KEY)
    (expected,), _ = ingest_survey_file(_export(raw), config.codebook("public"), KEY)
    assert len(records) == len(expected)
    assert [w["code"] for w in entry["layout_warnings"]] == ["wrong_extension"]
    assert "encoding" not in entry["layout_warnings"][0]["message"]


def test_an_xlsx_renamed_xls_is_read_as_a_workbook(raw, tmp_path):
    path = tmp_path / (_export(raw).stem + ".xls")
    shutil.copy(_export(raw), path)
    (sheet,) = read_sheets(path)
    (clean,) = read_sheets(_export(raw))
    assert sheet.rows == clean.rows
    assert sheet.warnings[0]["code"] == "wrong_extension"


@needs_samples
def test_an_xls_renamed_xlsx_is_read_as_a_legacy_workbook(tmp_path):
    path = tmp_path / "export.xlsx"
    shutil.copy(TEXT_XLS, path)
    sheets = read_sheets(path)
    expected = read_sheets(TEXT_XLS)
    assert [s.rows for s in sheets] == [s.rows for s in expected]
    assert sheets[0].warnings[0]["code"] == "wrong_extension"


def test_a_password_protected_workbook_is_named_as_such(tmp_path):
    # what Excel writes for a workbook with an open password: an OLE2 container whose directory names an
    # EncryptedPackage stream (the encrypted .xlsx) beside EncryptionInfo
    directory = "EncryptionInfo".encode("utf-16-le").ljust(128, b"\0")
    directory += "EncryptedPackage".encode("utf-16-le").ljust(128, b"\0")
    path = tmp_path / "评查表.xlsx"
    path.write_bytes(filetype.OLE2_MAGIC + b"\0" * 504 + directory + b"\0" * 1024)
    with pytest.raises(DataError, match=r"评查表\.xlsx.*密码.*password-protected"):
        read_sheets(path)


def test_a_damaged_workbook_is_named_and_explained(raw, tmp_path):
    path = tmp_path / "cut.xlsx"
    path.write_bytes(_export(raw).read_bytes()[:5000])
    with pytest.raises(DataError, match=r"cut\.xlsx.*损坏.*damaged"):
        read_sheets(path)


def test_a_text_file_named_xlsx_is_not_mistaken_for_an_empty_csv(tmp_path):
    path = tmp_path / "notes.xlsx"
    path.write_text("这不是表格", encoding="utf-8")
    with pytest.raises(DataError, match=r"notes\.xlsx.*unreadable workbook"):
        read_sheets(path)
