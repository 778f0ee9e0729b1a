"""The Word appendix, the units' notices and score cards, and their PDF conversion."""

from __future__ import annotations

import shutil
import zipfile

import docx
import numpy as np
import pandas as pd
import pytest
from docx.oxml.ns import qn

from pipeline.report.blocks import Figure, Heading, Paragraph, Section, Table, numbered, shown
from pipeline.report.docx_writer import write_appendix_docx
from pipeline.report.meta import ReportMeta
from pipeline.report.notices import notice_frame, safe_file_name, write_unit_documents

META = ReportMeta("某市法治建设第三方评估", commissioner="某市委依法治市办", date_text="2024年6月")


def _sections() -> list[Section]:
    rng = np.random.default_rng(3)
    frequencies = pd.DataFrame(
        {
            "选项": ["非常满意", "比较满意", "一般", "不太满意"] * 15,
            "人数": rng.integers(5, 2000, 60),
            "百分比": rng.random(60),
            "p值": np.r_[0.0004, rng.random(59)],
        }
    )
    wide = pd.DataFrame({f"指标{i}": rng.random(5) * 100 for i in range(1, 11)})
    wide.insert(0, "单位", ["甲区", "乙区", "丙区", "丁县", "戊县"])
    return [
        Section(
            1,
            "调查概况",
            (
                Paragraph("本次评估覆盖各区县和市直部门。"),
                Paragraph("公众问卷 1,234 份", bullet=True),
                Heading("1.1 样本构成"),
                Table(
                    "overview.frequencies",
                    "满意度频数分布",
                    frequencies,
                    "06_describe/frequencies",
                    {"人数": "int", "百分比": "pct1", "p值": "p"},
                    notes=("百分比为加权百分比。",),
                ),
                Figure("overview.bars", "各区得分", "07_score/scores", note="误差线为 95% 置信区间。"),
            ),
        ),
        Section(
            2,
            "指标得分",
            (Heading("2.1 各单位得分"), Table("scores.wide", "各单位指标得分", wide, "07_score/scores")),
        ),
        Section(3, "案卷评查", missing="本节依据的 07_score 阶段尚未运行。"),
    ]


@pytest.fixture(scope="module")
def charts(tmp_path_factory):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from pipeline.results import use_cjk_font

    use_cjk_font()
    folder = tmp_path_factory.mktemp("charts")
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.bar(["甲区", "乙区"], [71.5, 78.2])
    ax.set_title("各区得分")
    fig.savefig(folder / "overview.bars.png", dpi=80)
    plt.close(fig)
    return folder


@pytest.fixture(scope="module")
def appendix(charts, tmp_path_factory):
    sections = _sections()
    path = write_appendix_docx(
        sections, numbered(sections), charts, tmp_path_factory.mktemp("a") / "a.docx", META
    )
    return sections, path


def _xml(path, name="word/document.xml") -> bytes:
    with zipfile.ZipFile(path) as archive:
        return archive.read(name)


def test_every_table_cell_is_the_shown_value_of_its_frame(appendix):
    sections, path = appendix
    tables = [t for s in sections for t in s.tables()]
    doc = docx.Document(str(path))
    assert len(doc.tables) == len(tables)
    for table, written in zip(tables, doc.tables, strict=True):
        cells = [[c.text for c in row.cells] for row in written.rows]
        assert cells[0] == list(table.frame.columns)
        assert cells[1:] == table.shown_frame().values.tolist()
    first = [[c.text for c in row.cells] for row in doc.tables[0].rows]
    assert first[1][3] == "<0.001" and first[1][2] == shown(tables[0].frame["百分比"].iloc[0], "pct1")


def test_captions_are_numbered_tables_above_and_figures_below(appendix):
    _, path = appendix
    doc = docx.Document(str(path))
    texts = [p.text for p in doc.paragraphs]
    assert (
        "表 1.1 满意度频数分布" in texts and "表 2.1 各单位指标得分" in texts and "图 1.1 各区得分" in texts
    )
    body = list(doc.element.body)
    caption = next(
        i for i, el in enumerate(body) if el.tag == qn("w:p") and "表 1.1" in "".join(el.itertext())
    )
    assert body[caption + 1].tag == qn("w:tbl")
    picture = next(i for i, el in enumerate(body) if el.findall(".//" + qn("w:drawing")))
    assert "图 1.1" in "".join(body[picture + 1].itertext())


def test_the_header_row_repeats_and_the_table_has_three_rules(appendix):
    _, path = appendix
    doc = docx.Document(str(path))
    for table in doc.tables:
        rows = table._tbl.findall(qn("w:tr"))
        assert rows[0].find(qn("w:trPr")).find(qn("w:tblHeader")) is not None
        assert all(r.find(qn("w:trPr")).find(qn("w:tblHeader")) is None for r in rows[1:])
        borders = table._tbl.tblPr.find(qn("w:tblBorders"))
        assert borders.find(qn("w:insideV")).get(qn("w:val")) == "nil"
        assert borders.find(qn("w:top")).get(qn("w:val")) == "single"


def test_numbers_are_right_aligned_and_text_left(appendix):
    _, path = appendix
    row = docx.Document(str(path)).tables[0].rows[1]
    aligns = [c.paragraphs[0]._p.pPr.find(qn("w:jc")).get(qn("w:val")) for c in row.cells]
    assert aligns == ["left", "right", "right", "right"]


def test_the_wide_table_is_in_a_landscape_section_and_portrait_resumes(appendix):
    _, path = appendix
    doc = docx.Document(str(path))
    orientations = [s.page_width > s.page_height for s in doc.sections]
    assert True in orientations
    wide = doc.tables[1]._tbl
    # the section a body element belongs to ends at the next paragraph carrying a w:sectPr (or the body's)
    following = wide.getnext()
    while following is not None and following.find(f"{qn('w:pPr')}/{qn('w:sectPr')}") is None:
        following = following.getnext()
    sect = (
        following.find(f"{qn('w:pPr')}/{qn('w:sectPr')}")
        if following is not None
        else doc.element.body.sectPr
    )
    size = sect.find(qn("w:pgSz"))
    assert int(size.get(qn("w:w"))) > int(size.get(qn("w:h")))
    assert orientations[0] is False and orientations[-1] is False  # portrait before and after it


def test_every_run_carries_an_east_asian_font(appendix):
    _, path = appendix
    doc = docx.Document(str(path))
    runs = doc.element.body.iter(qn("w:r"))
    footer_runs = doc.sections[-1].footer._element.iter(qn("w:r"))
    missing = [
        "".join(r.itertext())
        for r in [*runs, *footer_runs]
        if r.find(qn("w:rPr")) is None
        or r.find(qn("w:rPr")).find(qn("w:rFonts")) is None
        or not r.find(qn("w:rPr")).find(qn("w:rFonts")).get(qn("w:eastAsia"))
    ]
    assert missing == []
    heading = next(p for p in doc.paragraphs if p.style.name == "Heading 1")
    assert heading.runs[0]._r.rPr.rFonts.get(qn("w:eastAsia")) == "黑体"
    assert doc.styles["Normal"].element.rPr.rFonts.get(qn("w:eastAsia")) == "宋体"


def test_the_toc_field_lists_every_section_in_its_cached_result(appendix):
    sections, path = appendix
    xml = _xml(path).decode()
    assert 'TOC \\o "1-3" \\h \\z \\u' in xml
    doc = docx.Document(str(path))
    entries = [p.text for p in doc.paragraphs if p.style.name.startswith("toc")]
    assert entries == ["1 调查概况", "1.1 样本构成", "2 指标得分", "2.1 各单位得分", "3 案卷评查"]
    assert all(f"{s.number} {s.title}" in entries for s in sections)


def test_the_footer_has_a_page_field_and_a_missing_section_prints_its_line(appendix):
    _, path = appendix
    doc = docx.Document(str(path))
    footer = doc.sections[-1].footer._element
    assert any("PAGE" in (t.text or "") for t in footer.iter(qn("w:instrText")))
    assert "第" in "".join(footer.itertext())
    assert "本节依据的 07_score 阶段尚未运行。" in [p.text for p in doc.paragraphs]


def test_two_writes_give_the_same_bytes(appendix, charts, tmp_path):
    sections, path = appendix
    again = write_appendix_docx(sections, numbered(sections), charts, tmp_path / "b.docx", META)
    assert _xml(again) == _xml(path)
    assert again.read_bytes() == path.read_bytes()


def test_a_missing_chart_is_an_error_naming_its_file(tmp_path):
    sections = [Section(1, "调查概况", (Figure("nowhere.chart", "缺失的图", "07_score/scores"),))]
    with pytest.raises(FileNotFoundError, match="nowhere.chart.png"):
        write_appendix_docx(sections, numbered(sections), tmp_path, tmp_path / "a.docx", META)


def test_file_names_lose_characters_windows_forbids():
    assert safe_file_name('评分卡_M1_市委/办公室:"一"?.docx') == "评分卡_M1_市委_办公室__一__.docx"


@pytest.fixture(scope="module")
def unit_documents(simulated_pipeline, tmp_path_factory):
    ctx, _ = simulated_pipeline
    findings = pd.read_parquet(ctx.out / "08_findings" / "findings.parquet")
    scores = pd.read_parquet(ctx.out / "07_score" / "scores.parquet")
    ranking = pd.read_parquet(ctx.out / "07_score" / "ranking.parquet")
    dest = tmp_path_factory.mktemp("units")
    paths = write_unit_documents(findings, scores, ranking, ctx.config.units, dest, META)
    return ctx, findings, scores, ranking, paths


def test_one_notice_per_unit_with_problems_listing_its_findings(unit_documents):
    ctx, findings, _, _, paths = unit_documents
    notices = {p.name.split("_")[1]: p for p in paths if p.name.startswith("整改通知单_")}
    assert set(notices) == set(findings["member"])
    for code, path in notices.items():
        rows = findings[findings["member"] == code]
        table = docx.Document(str(path)).tables[0]
        cells = [[c.text for c in row.cells] for row in table.rows]
        assert cells[0][-1] == "整改时限" and "销号标准" in cells[0]
        assert cells[1:] == notice_frame(rows).values.tolist()


def test_a_score_card_per_ranked_unit_sets_its_aspects_against_the_city_and_peers(unit_documents):
    ctx, _, scores, ranking, paths = unit_documents
    cards = {p.name.split("_")[1]: p for p in paths if p.name.startswith("评分卡_")}
    assert set(cards) == set(ranking["unit"])
    unit = ranking["unit"].iloc[0]
    aspects = scores[scores["level"] == "aspect"]
    own = aspects[aspects["unit"] == unit]
    table = docx.Document(str(cards[unit])).tables[0]
    assert len(table.rows) == len(own) + 1
    first = own.iloc[0]
    city = aspects[(aspects["unit"] == "CITY") & (aspects["id"] == first["id"])]["score"].iloc[0]
    peers = aspects[(aspects["unit_type"] == first["unit_type"]) & (aspects["unit"] != unit)]
    peer = peers[peers["id"] == first["id"]]["score"].mean()
    row = [c.text for c in table.rows[1].cells]
    assert row[1] == shown(first["score"], "num1")
    assert row[4] == shown(city, "num1") and row[5] == shown(peer, "num1")


@pytest.mark.skipif(
    shutil.which("soffice") is None,
    reason="LibreOffice 未安装，跳过 PDF 转换 (soffice not found; apt-get install libreoffice-writer-nogui)",
)
def test_the_pdf_text_layer_holds_the_chinese_headings(appendix, tmp_path):
    from pypdf import PdfReader

    from pipeline.report.pdf import convert_to_pdf

    _, path = appendix
    pdf = convert_to_pdf(path, tmp_path)
    text = "".join(page.extract_text() for page in PdfReader(str(pdf)).pages)
    for heading in ("调查概况", "指标得分", "案卷评查", "表 1.1"):
        assert heading in text


def test_contents_entries_carry_the_page_numbers_given_and_word_updates_them(charts, tmp_path):
    from pipeline.report.docx_writer import toc_entries

    sections = _sections()
    pages = [str(i + 1) for i in range(len(toc_entries(sections)))]
    path = write_appendix_docx(sections, numbered(sections), charts, tmp_path / "p.docx", META, pages)
    texts = [
        p.text for p in docx.Document(str(path)).paragraphs if p.style.name.lower() in ("toc 1", "toc 2")
    ]
    assert [t.rsplit("\t", 1)[-1] for t in texts] == pages
    assert b"updateFields" in _xml(path, "word/settings.xml")


def test_a_heading_is_found_on_the_page_where_its_line_first_appears_after_the_contents():
    from pipeline.report.toc_pages import entry_pages

    pages = [
        "目  录\n1 调查概况\n2 指标得分",  # the contents page: no footer, never searched
        "1 调查概况\n表 1.1 满意度频数分布\n第 1 页",
        "指标得分之前\n第 2 页",
        "2 指标得分\n2.1 各单位得分\n第 3 页",
    ]
    assert entry_pages(pages, ["1 调查概况", "2 指标得分", "2.1 各单位得分", "不存在"]) == ["1", "3", "3", ""]


@pytest.mark.skipif(
    shutil.which("soffice") is None,
    reason="LibreOffice 未安装，跳过 PDF 转换 (soffice not found; apt-get install libreoffice-writer-nogui)",
)
def test_headings_of_a_converted_document_are_found_on_their_printed_pages(appendix, tmp_path):
    from pipeline.report.docx_writer import toc_entries
    from pipeline.report.pdf import convert_to_pdf
    from pipeline.report.toc_pages import entry_pages, page_texts

    sections, path = appendix
    pages = entry_pages(page_texts(convert_to_pdf(path, tmp_path)), [t for _, t in toc_entries(sections)])
    assert pages[0] == "1" and all(pages)
    assert [int(p) for p in pages] == sorted(int(p) for p in pages)
