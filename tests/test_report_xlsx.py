"""statistics_appendix.xlsx: one sheet per table named by its number, a linked contents sheet, the formats the
Word document shows, and nothing a spreadsheet would run."""

from __future__ import annotations

import openpyxl
import pandas as pd
import pytest

from pipeline.report.blocks import SUPPRESSED, Paragraph, Section, Table, numbered, shown
from pipeline.report.xlsx_writer import CONTENTS, HEADER_ROW, write_appendix_xlsx


def _sections() -> list[Section]:
    freq = Table(
        "describe.freq.P1",
        "您对本市法治政府建设的总体评价",
        pd.DataFrame(
            {
                "选项": ["非常满意", '=HYPERLINK("x")', "合计"],
                "频数": [120, 30, 150],
                "百分比": [0.8123, 0.1877, 1.0],
                "p": [0.0004, 0.0312, float("nan")],
                "SE": [SUPPRESSED, 0.0123, 0.0],
            }
        ),
        source="06_describe/frequencies",
        formats={"频数": "int", "百分比": "pct1", "p": "p", "SE": "num3"},
        notes=("百分比为加权百分比。",),
    )
    other = Table(
        "scores.city", "城市整体得分", pd.DataFrame({"方面": ["A1"], "得分": [71.2345]}), "07_score/scores"
    )
    return [
        Section(1, "调查概况", (Paragraph("说明"),)),
        Section(4, "描述统计", (freq,)),
        Section(6, "指标得分", (other,)),
        Section(7, "案卷评查", missing="本节依据的 02_clean 阶段尚未运行。"),
    ]


@pytest.fixture()
def book(tmp_path):
    sections = _sections()
    path = write_appendix_xlsx(sections, numbered(sections), tmp_path / "a.xlsx")
    return openpyxl.load_workbook(path), sections


def test_every_table_has_a_sheet_named_by_its_number_after_the_contents(book):
    wb, _ = book
    assert wb.sheetnames == [CONTENTS, "表4.1", "表6.1"]


def test_contents_links_each_table_and_lists_a_section_without_its_stage(book):
    wb, _ = book
    rows = list(wb[CONTENTS].iter_rows(min_row=2, values_only=True))
    assert rows[0][1:3] == ("本节无表格", "1 调查概况")
    assert rows[1][:2] == ("表 4.1", "您对本市法治政府建设的总体评价")
    links = [c.hyperlink.location for c in wb[CONTENTS]["A"] if c.hyperlink is not None]
    assert links == ["'表4.1'!A1", "'表6.1'!A1"]
    assert any(r[1] == "本节依据的 02_clean 阶段尚未运行。" for r in rows)


def test_cells_hold_the_unrounded_numbers_with_the_formats_the_document_shows(book):
    wb, sections = book
    ws = wb["表4.1"]
    header = [c.value for c in ws[HEADER_ROW + 1]]
    assert header == ["选项", "频数", "百分比", "p", "SE"]
    pct = ws.cell(row=HEADER_ROW + 2, column=3)
    assert pct.value == pytest.approx(0.8123) and pct.number_format == "0.0%"
    p = ws.cell(row=HEADER_ROW + 2, column=4)
    assert p.value == pytest.approx(0.0004) and "<0.001" in p.number_format
    assert ws.cell(row=HEADER_ROW + 2, column=5).value == SUPPRESSED
    assert ws.cell(row=HEADER_ROW + 4, column=2).value == 150
    table = sections[1].tables()[0]
    assert shown(pct.value, table.format_of("百分比")) == "81.2%"


def test_header_is_frozen_and_the_source_is_in_a_note_row(book):
    wb, _ = book
    ws = wb["表4.1"]
    assert ws.freeze_panes == f"A{HEADER_ROW + 2}"
    texts = [c.value for c in ws["A"] if isinstance(c.value, str)]
    assert "资料来源：06_describe/frequencies" in texts
    assert "注：百分比为加权百分比。" in texts


def test_formula_like_text_is_neutralised(book):
    wb, _ = book
    cell = wb["表4.1"].cell(row=HEADER_ROW + 3, column=1)
    assert cell.value.startswith("'=") and cell.data_type == "s"


def test_two_writes_give_the_same_bytes(tmp_path):
    sections = _sections()
    a = write_appendix_xlsx(sections, numbered(sections), tmp_path / "a.xlsx").read_bytes()
    b = write_appendix_xlsx(sections, numbered(sections), tmp_path / "b.xlsx").read_bytes()
    assert a == b
