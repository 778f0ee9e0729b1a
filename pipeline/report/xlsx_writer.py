"""``statistics_appendix.xlsx``: every table of the appendix on its own sheet, named by its number.

A contents sheet (目录) links to each table. Each sheet has the table's number and title on top, a frozen header
row, column widths fitted to what they hold, number formats that show what the Word document shows (the format
of each column is :data:`pipeline.report.blocks.FORMATS`; percentages stay fractions formatted ``0.0%``,
p-values ``0.000`` or ``<0.001``), then the notes and a 资料来源 row naming the stage table. Every text cell
starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is neutralised
(:func:`pipeline.safe_cells.neutralise`). Written with xlsxwriter with a fixed creation time, so two runs write
the same bytes.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from pipeline.report.blocks import Section, Table
from pipeline.report.docx_style import display_width
from pipeline.safe_cells import neutralise, sheet_name

#: Excel number format per display format (the same rounding as :func:`pipeline.report.blocks.shown`).
NUMBER_FORMATS: dict[str, str] = {
    "int": "#,##0",
    "num1": "0.0",
    "num2": "0.00",
    "num3": "0.000",
    "pct1": "0.0%",
    "p": '[<0.001]"<0.001";0.000',
}
CONTENTS = "目录"
HEADER_ROW = 1
"""0-based row of the header on every table sheet (row 0 holds the number and title)."""
MAX_WIDTH = 60
WRAP_FROM = 40
"""A text column whose longest cell is wider than this (in Latin character widths) wraps at :data:`MAX_WIDTH`."""


def table_sheet_name(number: str) -> str:
    """The sheet of a table: its number without the space (``"表 4.1"`` → ``"表4.1"``)."""
    return number.replace(" ", "")


def write_appendix_xlsx(sections: list[Section], numbers: dict[str, str], path: str | Path) -> Path:
    """Write every :class:`Table` of ``sections`` to ``path``; a contents sheet first. Returns ``path``.

    ``numbers`` maps a table's key to its number (:func:`pipeline.report.blocks.numbered`). A section without
    tables is listed in the contents with its one line (``Section.missing``) or "本节无表格".
    """
    import xlsxwriter

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    book = xlsxwriter.Workbook(
        str(path), {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
    )
    book.set_properties({"created": _FIXED_CREATED})
    fmt = _formats(book)
    contents = book.add_worksheet(CONTENTS)
    contents.write_row(0, 0, ["编号", "标题", "章节", "资料来源"], fmt["header"])
    contents.freeze_panes(1, 0)
    contents.set_column(0, 0, 10)
    contents.set_column(1, 1, 60)
    contents.set_column(2, 2, 18)
    contents.set_column(3, 3, 40)
    taken = {CONTENTS.lower()}
    row = 1
    for section in sections:
        chapter = f"{section.number} {section.title}"
        tables = section.tables()
        if not tables:
            line = section.missing or "本节无表格"
            contents.write_string(row, 1, _text(line), fmt["note"])
            contents.write_string(row, 2, _text(chapter))
            row += 1
            continue
        for table in tables:
            number = numbers[table.key]
            name = sheet_name(table_sheet_name(number), taken)
            contents.write_url(row, 0, f"internal:'{name}'!A1", fmt["link"], string=number)
            contents.write_string(row, 1, _text(table.title))
            contents.write_string(row, 2, _text(chapter))
            contents.write_string(row, 3, _text(table.source))
            _write_table(book.add_worksheet(name), table, number, fmt)
            row += 1
    book.close()
    return path


_FIXED_CREATED = pd.Timestamp("2000-01-01").to_pydatetime()


def _formats(book) -> dict:
    fmt = {
        "title": book.add_format({"bold": True, "font_size": 12}),
        "header": book.add_format(
            {"bold": True, "top": 2, "bottom": 1, "text_wrap": True, "valign": "vcenter", "align": "center"}
        ),
        "note": book.add_format({"font_color": "#404040", "font_size": 9}),
        "link": book.add_format({"font_color": "#0563C1", "underline": 1}),
        "text": book.add_format({"valign": "top"}),
        "wrap": book.add_format({"text_wrap": True, "valign": "top"}),
        "last": book.add_format({"top": 2}),
    }
    for name, number_format in NUMBER_FORMATS.items():
        fmt[name] = book.add_format({"num_format": number_format, "valign": "top"})
    return fmt


def _write_table(ws, table: Table, number: str, fmt: dict) -> None:
    frame = table.frame
    ws.write_string(0, 0, _text(f"{number} {table.title}"), fmt["title"])
    for j, column in enumerate(frame.columns):
        ws.write_string(HEADER_ROW, j, _text(column), fmt["header"])
    ws.freeze_panes(HEADER_ROW + 1, 0)
    first = HEADER_ROW + 1
    for j, column in enumerate(frame.columns):
        kind = table.format_of(column)
        values = frame[column].tolist()
        width = display_width(str(column))
        wrap = kind == "text" and max((display_width(str(v)) for v in values), default=0) > WRAP_FROM
        cell_format = fmt["wrap"] if wrap else fmt.get(kind, fmt["text"])
        for i, value in enumerate(values):
            if _missing(value):
                continue
            if isinstance(value, str) or kind == "text" or isinstance(value, bool):
                text = _text(value if not isinstance(value, bool) else ("是" if value else "否"))
                ws.write_string(first + i, j, text, cell_format)
                width = max(width, display_width(text))
            else:
                ws.write_number(first + i, j, float(value), cell_format)
                width = max(width, len(_number_text(float(value), kind)))
        ws.set_column(j, j, min(MAX_WIDTH, width + 2))
    below = first + len(frame)
    if frame.shape[1]:  # the bottom rule of the three-line table, as the top edge of the row below
        for j in range(frame.shape[1]):
            ws.write_blank(below, j, None, fmt["last"])
    row = below + 1
    for note in table.notes:
        ws.write_string(row, 0, _text(note if note.startswith("注") else f"注：{note}"), fmt["note"])
        row += 1
    ws.write_string(row, 0, _text(f"资料来源：{table.source}"), fmt["note"])


def _text(value: object) -> str:
    return str(neutralise(str(value)))


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _number_text(value: float, kind: str) -> str:
    from pipeline.report.blocks import shown

    return shown(value, kind if kind in NUMBER_FORMATS else "num2")
