"""Low-level Word formatting shared by the appendix and the units' documents.

Fonts (宋体 for text, 黑体 for headings, captions and table headers, each run carrying its East-Asian font name),
A4 pages and their orientation, the page-number footer, three-line tables (三线表) built as XML in one go, and
a deterministic save. The writers (:mod:`pipeline.report.docx_writer`, :mod:`pipeline.report.notices`) decide
what goes where; this module only decides how it looks.

Examples
--------
>>> doc = new_document()
>>> run = add_text(doc.add_paragraph(), "调查概况", font=HEI)
>>> run._r.rPr.rFonts.get(qn("w:eastAsia"))
'黑体'
"""

from __future__ import annotations

import io
import math
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.section import Section as DocxSection
from docx.shared import Cm, Pt
from docx.text.paragraph import Paragraph as DocxParagraph
from docx.text.run import Run

#: East-Asian font of body text, table cells and notes.
SONG = "宋体"
#: East-Asian font of titles, headings, captions and table header rows.
HEI = "黑体"
#: The Latin font paired with each East-Asian one (digits and Latin letters).
LATIN = {SONG: "Times New Roman", HEI: "Arial"}

#: Font sizes in points (五号 10.5, 小五 9, 四号 14, 三号 16, 二号 22).
BODY_PT = 10.5
TABLE_PT = 9.0
NOTE_PT = 9.0
HEADING_PT = {1: 16.0, 2: 14.0, 3: 12.0}
TITLE_PT = 22.0

#: A4 and its margins (cm).
PAGE_W_CM, PAGE_H_CM = 21.0, 29.7
MARGIN_TB_CM, MARGIN_LR_CM = 2.54, 2.5
#: Rule widths of the three-line table in eighths of a point: top and bottom 1.5 pt, under the header 0.75 pt.
THICK_RULE, THIN_RULE = 12, 6


def text_width_cm(landscape: bool = False) -> float:
    """Width between the margins of an A4 page."""
    return (PAGE_H_CM if landscape else PAGE_W_CM) - 2 * MARGIN_LR_CM


def text_height_cm(landscape: bool = False) -> float:
    """Height between the margins of an A4 page."""
    return (PAGE_W_CM if landscape else PAGE_H_CM) - 2 * MARGIN_TB_CM


def display_width(text: str) -> int:
    """Width of ``text`` in half-width character cells (a Chinese character counts 2)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


# -- fonts -------------------------------------------------------------------------------------------------


def set_fonts(rpr, east_asia: str) -> None:
    """Give an ``w:rPr`` element explicit fonts (theme fonts removed: they would override the names)."""
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(attr), None)
    latin = LATIN.get(east_asia, LATIN[SONG])
    fonts.set(qn("w:ascii"), latin)
    fonts.set(qn("w:hAnsi"), latin)
    fonts.set(qn("w:eastAsia"), east_asia)
    fonts.set(qn("w:cs"), latin)


def style_run(run: Run, font: str = SONG, size: float | None = None, bold: bool | None = None) -> Run:
    """Set a run's fonts (East-Asian included), size and weight."""
    set_fonts(run._r.get_or_add_rPr(), font)
    if size is not None:
        run.font.size = Pt(size)
    if bold is not None:
        run.font.bold = bold
    return run


def add_text(
    paragraph: DocxParagraph, text: str, font: str = SONG, size: float | None = None, bold: bool | None = None
) -> Run:
    """Append ``text`` to ``paragraph`` as one run with its fonts set."""
    return style_run(paragraph.add_run(text), font, size, bold)


def add_picture(paragraph: DocxParagraph, png: str, width_cm: float, shape_id: int) -> Run:
    """Append the image ``png`` at ``width_cm`` (height to scale) as a run of ``paragraph``.

    ``shape_id`` must be unique in the document. python-docx's ``Run.add_picture`` finds a free id by searching
    the whole document for every id in use, once per picture (0.6 s for 30 charts in a 200-table appendix);
    the writer numbers its figures itself instead.
    """
    from docx.oxml.shape import CT_Inline

    r_id, image = paragraph.part.get_or_add_image(png)
    cx, cy = image.scaled_dimensions(Cm(width_cm), None)
    run = add_text(paragraph, "")
    run._r.add_drawing(CT_Inline.new_pic_inline(shape_id, r_id, image.filename, cx, cy))
    return run


def _style_fonts(style, font: str, size: float, bold: bool | None = None) -> None:
    set_fonts(style.element.get_or_add_rPr(), font)
    style.font.size = Pt(size)
    style.font.color.rgb = None
    if bold is not None:
        style.font.bold = bold


def new_document() -> DocumentObject:
    """An empty A4 portrait document whose styles use 宋体/黑体 (Normal, headings, title, caption, TOC, list)."""
    from docx.enum.style import WD_STYLE_TYPE

    doc = Document()
    defaults = doc.styles.element.find(qn("w:docDefaults"))
    rpr = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
    set_fonts(rpr, SONG)
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.append(lang)
    lang.set(qn("w:val"), "en-US")
    lang.set(qn("w:eastAsia"), "zh-CN")
    styles = doc.styles
    _style_fonts(styles["Normal"], SONG, BODY_PT)
    for level, size in HEADING_PT.items():
        style = styles[f"Heading {level}"]
        _style_fonts(style, HEI, size, bold=False)
        style.font.italic = False
        style.paragraph_format.space_before = Pt(12 if level == 1 else 8)
        style.paragraph_format.space_after = Pt(6)
        style.paragraph_format.keep_with_next = True
    for name, font, size in (
        ("Title", HEI, TITLE_PT),
        ("Subtitle", HEI, HEADING_PT[1]),
        ("Caption", HEI, BODY_PT),
        ("List Bullet", SONG, BODY_PT),
        ("Footer", SONG, NOTE_PT),
        ("TOC Heading", HEI, HEADING_PT[1]),
    ):
        _style_fonts(styles[name], font, size, bold=False)
    for style in (styles["Title"], styles["Subtitle"]):
        style.font.italic = False
        style.font.color.rgb = None
        border = style.element.find(qn("w:pPr"))
        if border is not None and border.find(qn("w:pBdr")) is not None:
            border.remove(border.find(qn("w:pBdr")))
    for level in (1, 2, 3):
        name = f"toc {level}"
        style = styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        style.base_style = styles["Normal"]
        style.paragraph_format.left_indent = Cm(0.74 * (level - 1))
        style.paragraph_format.space_after = Pt(3)
        _style_fonts(style, HEI if level == 1 else SONG, BODY_PT)
    set_page(doc.sections[0], landscape=False)
    _prune(doc)
    return doc


#: Parts of python-docx's template these documents do not use (a copy of the styles "with effects", the
#: template's custom XML and thumbnail): dropped, with the table styles and latent styles, so that a
#: document is small and quick to write.
_UNUSED_PARTS = ("stylesWithEffects", "customXml", "thumbnail")


def _prune(doc: DocumentObject) -> None:
    styles = doc.styles.element
    for latent in styles.findall(qn("w:latentStyles")):
        styles.remove(latent)
    for style in styles.findall(qn("w:style")):
        if style.get(qn("w:type")) == "table" and style.get(qn("w:default")) != "1":
            styles.remove(style)
    for owner in (doc.part, doc.part.package):
        for r_id, rel in list(owner.rels.items()):
            if any(rel.reltype.endswith(name) for name in _UNUSED_PARTS):
                del owner.rels[r_id]


# -- pages -------------------------------------------------------------------------------------------------


def set_page(section: DocxSection, landscape: bool) -> None:
    """A4 in the given orientation, with the standard margins."""
    section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    w, h = (PAGE_H_CM, PAGE_W_CM) if landscape else (PAGE_W_CM, PAGE_H_CM)
    section.page_width, section.page_height = Cm(w), Cm(h)
    section.top_margin = section.bottom_margin = Cm(MARGIN_TB_CM)
    section.left_margin = section.right_margin = Cm(MARGIN_LR_CM)
    section.header_distance = section.footer_distance = Cm(1.5)


def new_section(doc: DocumentObject, landscape: bool) -> DocxSection:
    """Start a new page in a new section of the given orientation (its footer continues the previous one)."""
    section = doc.add_section(WD_SECTION.NEW_PAGE)
    section.different_first_page_header_footer = False
    restart = section._sectPr.find(qn("w:pgNumType"))
    if restart is not None:  # copied from the section before: numbering continues instead
        section._sectPr.remove(restart)
    set_page(section, landscape)
    return section


def restart_page_numbers(section: DocxSection, start: int = 1) -> None:
    """Number the section's pages from ``start`` (the body after the title page and contents)."""
    element = section._sectPr.find(qn("w:pgNumType"))
    if element is None:
        element = OxmlElement("w:pgNumType")
        section._sectPr.append(element)
    element.set(qn("w:start"), str(start))


def fld_char(paragraph: DocxParagraph, kind: str, font: str = SONG, size: float | None = None) -> None:
    """A field character run: ``begin``, ``separate`` or ``end``."""
    run = add_text(paragraph, "", font, size)
    element = OxmlElement("w:fldChar")
    element.set(qn("w:fldCharType"), kind)
    run._r.append(element)


def instr_text(
    paragraph: DocxParagraph, instruction: str, font: str = SONG, size: float | None = None
) -> None:
    """The run holding a field's code (between its ``begin`` and ``separate``)."""
    run = add_text(paragraph, "", font, size)
    element = OxmlElement("w:instrText")
    element.set(qn("xml:space"), "preserve")
    element.text = f" {instruction} "
    run._r.append(element)


def add_field(
    paragraph: DocxParagraph, instruction: str, cached: str, font: str = SONG, size: float | None = None
) -> None:
    """A complex field (``PAGE``, ``NUMPAGES`` …) with ``cached`` as its shown result until updated."""
    fld_char(paragraph, "begin", font, size)
    instr_text(paragraph, instruction, font, size)
    fld_char(paragraph, "separate", font, size)
    add_text(paragraph, cached, font, size)
    fld_char(paragraph, "end", font, size)


def page_number_footer(section: DocxSection) -> None:
    """Centre "第 X 页" (a PAGE field) in the section's footer."""
    footer = section.footer
    footer.is_linked_to_previous = False
    paragraph = footer.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    add_text(paragraph, "第 ", size=NOTE_PT)
    add_field(paragraph, "PAGE", "1", size=NOTE_PT)
    add_text(paragraph, " 页", size=NOTE_PT)


# -- paragraphs --------------------------------------------------------------------------------------------


def caption(doc: DocumentObject, text: str, keep_with_next: bool) -> DocxParagraph:
    """A centred table or figure caption ("表 4.1 标题" above a table, "图 4.1 标题" below a figure)."""
    paragraph = doc.add_paragraph(style="Caption")
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    paragraph.paragraph_format.keep_with_next = keep_with_next
    paragraph.paragraph_format.space_before = Pt(6)
    paragraph.paragraph_format.space_after = Pt(3)
    add_text(paragraph, text, HEI, BODY_PT)
    return paragraph


def note(doc: DocumentObject, text: str, last: bool = False) -> DocxParagraph:
    """A note line under a table or figure, in the small size."""
    paragraph = doc.add_paragraph()
    fmt = paragraph.paragraph_format
    fmt.space_before = Pt(0)
    fmt.space_after = Pt(8 if last else 0)
    add_text(paragraph, text, SONG, NOTE_PT)
    return paragraph


# -- three-line tables -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableLayout:
    """Column widths (cm) of a table and whether it needs a landscape page."""

    widths_cm: tuple[float, ...]
    landscape: bool


#: A table with more columns than this goes on a landscape page.
MAX_PORTRAIT_COLUMNS = 7
#: The widest a column gets before its text wraps (cm), and the padding added to each column's text.
MAX_COLUMN_CM = 7.0
CELL_PADDING_CM = 0.4


def _natural_cm(texts: list[str], size_pt: float) -> float:
    cells = max((display_width(t) for t in texts), default=1)
    return min(MAX_COLUMN_CM, cells * size_pt * 0.5 * 2.54 / 72 + CELL_PADDING_CM)


def _fit(widths: list[float], total: float) -> list[float]:
    """Widths scaled to ``total``: narrowed by capping the widest columns first, widened proportionally."""
    if sum(widths) <= total:
        return [w * total / sum(widths) for w in widths]
    low, high = 0.0, max(widths)
    for _ in range(40):
        cap = (low + high) / 2
        low, high = (cap, high) if sum(min(w, cap) for w in widths) < total else (low, cap)
    capped = [min(w, low) for w in widths]
    return [w * total / sum(capped) for w in capped]


def table_layout(header: list[str], columns: list[list[str]], force_landscape: bool = False) -> TableLayout:
    """Choose the orientation and column widths.

    Landscape when asked, when there are more than :data:`MAX_PORTRAIT_COLUMNS` columns, or when the columns'
    natural widths (longest text of each, capped at :data:`MAX_COLUMN_CM`) exceed the portrait text width.
    The widths then fill the text width of the chosen orientation.
    """
    natural = [_natural_cm([h, *col], TABLE_PT) for h, col in zip(header, columns, strict=True)]
    landscape = force_landscape or len(header) > MAX_PORTRAIT_COLUMNS or sum(natural) > text_width_cm(False)
    fitted = _fit(natural, text_width_cm(landscape))
    return TableLayout(tuple(round(w, 3) for w in fitted), landscape)


def _twips(cm: float) -> int:
    return int(round(cm / 2.54 * 1440))


def _run_xml(text: str, font: str, size_pt: float) -> str:
    latin = LATIN[font]
    half_points = int(round(size_pt * 2))
    return (
        f'<w:r><w:rPr><w:rFonts w:ascii="{latin}" w:hAnsi="{latin}" w:eastAsia="{font}" w:cs="{latin}"/>'
        f'<w:sz w:val="{half_points}"/><w:szCs w:val="{half_points}"/></w:rPr>'
        f'<w:t xml:space="preserve">{escape(text)}</w:t></w:r>'
    )


def _cell_xml(text: str, width: int, align: str, font: str, borders: str) -> str:
    run = _run_xml(text, font, TABLE_PT) if text else ""
    tc_borders = f"<w:tcBorders>{borders}</w:tcBorders>" if borders else ""
    return (
        f'<w:tc><w:tcPr><w:tcW w:w="{width}" w:type="dxa"/>{tc_borders}</w:tcPr>'
        f'<w:p><w:pPr><w:spacing w:before="20" w:after="20" w:line="240" w:lineRule="auto"/>'
        f'<w:jc w:val="{align}"/><w:rPr><w:rFonts w:eastAsia="{font}"/></w:rPr></w:pPr>{run}</w:p></w:tc>'
    )


def three_line_table(
    doc: DocumentObject,
    header: list[str],
    rows: list[list[str]],
    right: list[bool],
    widths_cm: tuple[float, ...],
):
    """Append a three-line table (thick top and bottom rules, a thin rule under the header, no vertical lines).

    ``right[j]`` right-aligns column ``j`` (numbers); text is left-aligned and headers centred. The header row
    repeats at the top of every page the table runs onto (``w:tblHeader``), and rows do not split across pages.
    Built as one XML string: much faster than cell-by-cell editing for long tables.
    """
    widths = [_twips(w) for w in widths_cm]
    thick = f'w:val="single" w:sz="{THICK_RULE}" w:space="0" w:color="000000"'
    thin = f'w:val="single" w:sz="{THIN_RULE}" w:space="0" w:color="000000"'
    none = 'w:val="nil"'
    grid = "".join(f'<w:gridCol w:w="{w}"/>' for w in widths)
    parts = [
        f"<w:tbl {nsdecls('w')}><w:tblPr>"
        f'<w:tblW w:w="{sum(widths)}" w:type="dxa"/><w:jc w:val="center"/>'
        f"<w:tblBorders><w:top {thick}/><w:left {none}/><w:bottom {thick}/><w:right {none}/>"
        f"<w:insideH {none}/><w:insideV {none}/></w:tblBorders>"
        f'<w:tblLayout w:type="fixed"/>'
        f'<w:tblCellMar><w:left w:w="85" w:type="dxa"/><w:right w:w="85" w:type="dxa"/></w:tblCellMar>'
        f'<w:tblLook w:val="0000" w:firstRow="0" w:lastRow="0" w:firstColumn="0" w:lastColumn="0" '
        f'w:noHBand="1" w:noVBand="1"/>'
        f"</w:tblPr><w:tblGrid>{grid}</w:tblGrid>"
    ]
    # The header's own top and bottom rules: drawn again where the header repeats on a later page.
    head_borders = f"<w:top {thick}/><w:bottom {thin}/>"
    parts.append("<w:tr><w:trPr><w:cantSplit/><w:tblHeader/></w:trPr>")
    parts.extend(_cell_xml(h, w, "center", HEI, head_borders) for h, w in zip(header, widths, strict=True))
    parts.append("</w:tr>")
    last = len(rows) - 1
    for i, row in enumerate(rows):
        borders = f"<w:bottom {thick}/>" if i == last else ""
        parts.append("<w:tr><w:trPr><w:cantSplit/></w:trPr>")
        parts.extend(
            _cell_xml(text, w, "right" if r else "left", SONG, borders)
            for text, w, r in zip(row, widths, right, strict=True)
        )
        parts.append("</w:tr>")
    parts.append("</w:tbl>")
    table = parse_xml("".join(parts))
    append_block(doc, table)
    return table


def append_block(doc: DocumentObject, element) -> None:
    """Put a body-level element (table, paragraph) at the end of the body, before its final ``w:sectPr``."""
    body = doc.element.body
    sect = body.find(qn("w:sectPr"))
    if sect is not None:
        sect.addprevious(element)
    else:
        body.append(element)


def picture_width_cm(png: Path, landscape: bool = False, max_height_share: float = 0.6) -> float:
    """The width a picture is placed at: the text width, narrower when it would be taller than
    ``max_height_share`` of the text height."""
    from PIL import Image

    with Image.open(png) as image:
        w, h = image.size
    width = text_width_cm(landscape)
    max_h = max_height_share * text_height_cm(landscape)
    if width * h / w > max_h:
        width = max_h * w / h
    return math.floor(width * 100) / 100


# -- saving ------------------------------------------------------------------------------------------------

#: The date every zip entry gets, so that the same document always has the same bytes.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
#: Deflate level of the package (fast: the parts are small XML).
ZIP_LEVEL = 1


def blank_core_properties(doc: DocumentObject, title: str) -> None:
    """Title set; the creation and modification times (python-docx's template date) removed, author empty."""
    props = doc.core_properties
    props.title = title
    props.author = ""
    props.last_modified_by = ""
    props.revision = 1
    element = props._element
    for tag in ("dcterms:created", "dcterms:modified"):
        for child in element.findall(qn(tag)):
            element.remove(child)


class _FixedDateZip:
    """The writer python-docx's package writer is given: each entry dated :data:`ZIP_DATE`, compressed once."""

    def __init__(self, archive: zipfile.ZipFile):
        self.archive = archive

    def write(self, pack_uri, blob: bytes) -> None:
        entry = zipfile.ZipInfo(pack_uri.membername, date_time=ZIP_DATE)
        entry.compress_type = zipfile.ZIP_DEFLATED
        self.archive.writestr(entry, blob)


def update_fields_on_open(doc: DocumentObject) -> None:
    """Ask Word to recompute the document's fields (the table of contents' page numbers) when it is opened
    (``w:updateFields`` in the settings part)."""
    settings = doc.settings.element
    if settings.find(qn("w:updateFields")) is not None:
        return
    element = OxmlElement("w:updateFields")
    element.set(qn("w:val"), "true")
    # Word refuses a settings part whose children are out of the schema's order: updateFields goes before
    # the first of the elements the schema puts after it.
    later = {qn(f"w:{tag}") for tag in _AFTER_UPDATE_FIELDS}
    following = next((child for child in settings if child.tag in later), None)
    if following is None:
        settings.append(element)
    else:
        following.addprevious(element)


#: The children of ``w:settings`` that come after ``w:updateFields`` in the schema (ECMA-376 CT_Settings).
_AFTER_UPDATE_FIELDS = (
    "hdrShapeDefaults",
    "footnotePr",
    "endnotePr",
    "compat",
    "docVars",
    "rsids",
    "mathPr",
    "attachedSchema",
    "themeFontLang",
    "clrSchemeMapping",
    "doNotIncludeSubdocsInStats",
    "doNotAutoCompressPictures",
    "forceUpgrade",
    "captions",
    "readModeInkLockDown",
    "smartTagType",
    "schemaLibrary",
    "shapeDefaults",
    "doNotEmbedSmartTags",
    "decimalSymbol",
    "listSeparator",
)


def save_docx(doc: DocumentObject, path: Path) -> Path:
    """Save ``doc`` as python-docx would, but with every zip entry dated :data:`ZIP_DATE` (python-docx stamps
    the current time), so the same document always has the same bytes."""
    from docx.opc.pkgwriter import PackageWriter

    package = doc.part.package
    parts = list(package.parts)
    for part in parts:
        part.before_marshal()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=ZIP_LEVEL) as archive:
        writer = _FixedDateZip(archive)
        PackageWriter._write_content_types_stream(writer, parts)
        PackageWriter._write_pkg_rels(writer, package.rels)
        PackageWriter._write_parts(writer, parts)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())
    return path
