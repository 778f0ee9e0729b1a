"""The statistics appendix as a Word document: title page, table of contents, numbered sections of headings,
paragraphs, three-line tables and figures, page numbers in the footer.

- The table of contents is a real ``TOC`` field whose cached result already lists the sections and their
  level-2 headings, without page numbers, so a reader or converter that does not update fields (LibreOffice's
  ``--convert-to pdf`` does not) still shows it; Word fills in the page numbers when the field is updated
  (F9, or 更新域).
- Tables are three-line tables with their number and title above and notes below; the header row repeats at the
  top of every page a long table runs onto, which is how a reader recognises a continued table (Word has no
  text shown only on continuation pages, and cutting a table into page-sized parts would depend on a page
  layout only the word processor knows). A table marked ``landscape``, with more than
  :data:`~pipeline.report.docx_style.MAX_PORTRAIT_COLUMNS` columns or too wide for a portrait page gets a
  landscape section of its own (with the headings that introduce it); portrait resumes after it.
- Cells hold :meth:`~pipeline.report.blocks.Table.shown_frame` strings exactly; nothing is rounded here.
- The same inputs give the same bytes (:func:`~pipeline.report.docx_style.save_docx`).
"""

from __future__ import annotations

from pathlib import Path

from docx.document import Document as DocumentObject
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK, WD_TAB_ALIGNMENT, WD_TAB_LEADER
from docx.shared import Cm, Pt

from pipeline.report import docx_style as st
from pipeline.report.blocks import Block, Figure, Heading, Paragraph, Section, Table
from pipeline.report.meta import ReportMeta

#: The field code of the table of contents: heading levels 1–3, hyperlinked, outline levels used.
TOC_FIELD = 'TOC \\o "1-3" \\h \\z \\u'
#: The heading of the table of contents page.
TOC_TITLE = "目  录"


def write_appendix_docx(
    sections: list[Section],
    numbers: dict[str, str],
    charts_dir: Path,
    path: Path,
    meta: ReportMeta,
    toc_pages: list[str] | None = None,
) -> Path:
    """Write the appendix to ``path`` (a ``.docx``) and return it.

    Parameters
    ----------
    sections
        The appendix's sections in order (:mod:`pipeline.report.sections`).
    numbers
        Each table's and figure's number by key (:func:`pipeline.report.blocks.numbered`).
    charts_dir
        Where ``<key>.png`` of every figure is.
    path
        The file to write.
    meta
        The title page's facts; blank fields are left out.

    Raises
    ------
    FileNotFoundError
        A figure's PNG is missing (the message names the file).
    KeyError
        A table or figure has no number in ``numbers``.
    """
    doc = st.new_document()
    st.blank_core_properties(doc, f"{meta.title}{meta.subtitle}")
    _title_page(doc, meta)
    _table_of_contents(doc, sections, toc_pages)
    writer = _Body(doc, Path(charts_dir), numbers)
    for i, section in enumerate(sections):
        writer.section(section, first=i == 0)
    return st.save_docx(doc, Path(path))


def toc_entries(sections: list[Section]) -> list[tuple[int, str]]:
    """What the table of contents lists: ``(1, "1 调查概况")`` per section, ``(2, text)`` per level-2 heading."""
    entries: list[tuple[int, str]] = []
    for section in sections:
        entries.append((1, section_title(section)))
        entries.extend((2, b.text) for b in section.blocks if isinstance(b, Heading) and b.level == 2)
    return entries


def section_title(section: Section) -> str:
    """A section's heading: its number and title (``1 调查概况``)."""
    return f"{section.number} {section.title}"


def _title_page(doc: DocumentObject, meta: ReportMeta) -> None:
    for _ in range(6):
        doc.add_paragraph()
    for text, style, size in (
        (meta.title, "Title", st.TITLE_PT),
        (meta.subtitle, "Subtitle", st.HEADING_PT[1]),
    ):
        if text:
            paragraph = doc.add_paragraph(style=style)
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
            paragraph.paragraph_format.space_after = Pt(18)
            st.add_text(paragraph, text, st.HEI, size)
    for _ in range(8):
        doc.add_paragraph()
    for label, value in (
        ("委托单位", meta.commissioner),
        ("评估单位", meta.evaluator),
        ("日期", meta.date_text),
    ):
        if value:
            paragraph = doc.add_paragraph()
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
            paragraph.paragraph_format.space_after = Pt(6)
            st.add_text(paragraph, f"{label}：{value}", st.SONG, st.HEADING_PT[3])


def _table_of_contents(doc: DocumentObject, sections: list[Section], pages: list[str] | None) -> None:
    """On a new page: 目录 and a TOC field whose cached result is the entries (one paragraph each), with their
    page numbers after a dotted tab when ``pages`` gives them (one per :func:`toc_entries` entry: what
    :mod:`pipeline.report.toc_pages` read from a first conversion). Word recomputes the field when the document
    is opened (``updateFields``); LibreOffice shows the cached result as it is."""
    st.add_text(doc.add_paragraph(), "").add_break(WD_BREAK.PAGE)
    title = doc.add_paragraph(style="TOC Heading")
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    st.add_text(title, TOC_TITLE, st.HEI, st.HEADING_PT[1])
    entries = toc_entries(sections) or [(1, "")]
    paragraphs = [(doc.add_paragraph(style=f"toc {level}"), level, text) for level, text in entries]
    first, last = paragraphs[0][0], paragraphs[-1][0]
    # The field begins in the first entry's paragraph and ends in the last one's, as Word lays it out.
    st.fld_char(first, "begin", st.HEI)
    st.instr_text(first, TOC_FIELD, st.HEI)
    st.fld_char(first, "separate", st.HEI)
    right = Cm(st.text_width_cm())
    for i, (paragraph, level, text) in enumerate(paragraphs):
        font = st.HEI if level == 1 else st.SONG
        st.add_text(paragraph, text, font)
        if pages is not None and i < len(pages) and pages[i]:
            paragraph.paragraph_format.tab_stops.add_tab_stop(
                right, WD_TAB_ALIGNMENT.RIGHT, WD_TAB_LEADER.DOTS
            )
            st.add_text(paragraph, f"\t{pages[i]}", font)
    st.fld_char(last, "end", st.SONG)
    st.update_fields_on_open(doc)


class _Body:
    """Writes the sections, switching between portrait and landscape sections of the document as needed."""

    def __init__(self, doc: DocumentObject, charts: Path, numbers: dict[str, str]):
        self.doc, self.charts, self.numbers = doc, charts, numbers
        self.landscape = False
        self.started = False
        self.figures = 0  # figures written so far: the next picture's shape id

    def _orient(self, landscape: bool) -> bool:
        """Put what follows on a page of this orientation; whether a new page (section) was started."""
        if self.started and landscape == self.landscape:
            return False
        section = st.new_section(self.doc, landscape)
        if not self.started:  # the body's first section: page numbers start at 1 under the contents
            st.page_number_footer(section)
            st.restart_page_numbers(section)
            self.started = True
        self.landscape = landscape
        return True

    def section(self, section: Section, first: bool) -> None:
        layouts = {id(t): _layout(t) for t in section.tables()}
        blocks = () if section.missing else section.blocks
        fresh_page = self._orient(_wide_ahead(blocks, 0, layouts))
        heading = self.doc.add_paragraph(style="Heading 1")
        heading.paragraph_format.page_break_before = not fresh_page and not first
        st.add_text(heading, section_title(section), st.HEI, st.HEADING_PT[1])
        if section.missing:
            _paragraph(self.doc, Paragraph(section.missing))
            return
        for i, block in enumerate(blocks):
            if isinstance(block, Table):
                self._orient(layouts[id(block)].landscape)
                _table(self.doc, block, _number(self.numbers, block.key), layouts[id(block)])
                continue
            # Headings go onto the landscape page of the table they introduce.
            self._orient(_wide_ahead(blocks, i, layouts))
            if isinstance(block, Heading):
                level = min(max(block.level, 2), 3)
                paragraph = self.doc.add_paragraph(style=f"Heading {level}")
                st.add_text(paragraph, block.text, st.HEI, st.HEADING_PT[level])
            elif isinstance(block, Paragraph):
                _paragraph(self.doc, block)
            elif isinstance(block, Figure):
                self.figures += 1
                _figure(self.doc, block, _number(self.numbers, block.key), self.charts, self.figures)


def _layout(table: Table) -> st.TableLayout:
    shown = table.shown_frame()
    header = [str(c) for c in table.frame.columns]
    return st.table_layout(
        header, [shown[c].tolist() for c in shown.columns], force_landscape=table.landscape
    )


def _wide_ahead(blocks: tuple[Block, ...], start: int, layouts: dict[int, st.TableLayout]) -> bool:
    """Whether the blocks from ``start`` on are headings up to a table that needs a landscape page."""
    for block in blocks[start:]:
        if isinstance(block, Table):
            return layouts[id(block)].landscape
        if not isinstance(block, Heading):
            return False
    return False


def _number(numbers: dict[str, str], key: str) -> str:
    if key not in numbers:
        raise KeyError(f"表或图 {key} 没有编号 (no number for {key!r}; numbers come from blocks.numbered)")
    return numbers[key]


def _paragraph(doc: DocumentObject, block: Paragraph) -> None:
    paragraph = doc.add_paragraph(style="List Bullet" if block.bullet else None)
    fmt = paragraph.paragraph_format
    fmt.space_after = Pt(4)
    fmt.line_spacing = 1.25
    if not block.bullet:
        fmt.first_line_indent = Pt(2 * st.BODY_PT)
    st.add_text(paragraph, block.text, st.SONG, st.BODY_PT)


def _table(doc: DocumentObject, table: Table, number: str, layout: st.TableLayout) -> None:
    """Caption, three-line table and notes (the page is already in the layout's orientation)."""
    shown = table.shown_frame()
    header = [str(c) for c in table.frame.columns]
    st.caption(doc, f"{number} {table.title}", keep_with_next=True)
    right = [table.format_of(c) != "text" for c in table.frame.columns]
    st.three_line_table(doc, header, shown.values.tolist(), right, layout.widths_cm)
    lines = [f"注：{n}" if i == 0 and not n.startswith("注") else n for i, n in enumerate(table.notes)]
    lines.append(f"资料来源：{table.source}")
    for i, line in enumerate(lines):
        paragraph = st.note(doc, line, last=i == len(lines) - 1)
        if i == 0:
            paragraph.paragraph_format.space_before = Pt(3)


def _figure(doc: DocumentObject, figure: Figure, number: str, charts: Path, shape_id: int) -> None:
    png = charts / f"{figure.key}.png"
    if not png.is_file():
        raise FileNotFoundError(f"{number} 的图片文件不存在 (figure file missing): {png}")
    paragraph = doc.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    paragraph.paragraph_format.keep_with_next = True
    paragraph.paragraph_format.space_before = Pt(6)
    st.add_picture(paragraph, str(png), st.picture_width_cm(png), shape_id)
    st.caption(doc, f"{number} {figure.title}", keep_with_next=True)
    lines = [f"注：{figure.note}"] if figure.note else []
    lines.append(f"资料来源：{figure.source}")
    for i, line in enumerate(lines):
        st.note(doc, line, last=i == len(lines) - 1)
