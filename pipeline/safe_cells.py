"""Spreadsheets that cannot run what respondents typed: the one place every .xlsx and .csv is written through.

A text cell beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read by Excel, WPS and
LibreOffice as a formula (``=HYPERLINK(...)``, ``+1+1``, ``@SUM(A1)``; a leading tab or CR is dropped on paste
and the rest runs). Following the OWASP guidance on CSV injection, such a text gets a single quote in front and
is otherwise kept as it was: ``=1+1`` → ``'=1+1``. Numbers, dates and empty cells are not text and are left
alone; so are texts starting anywhere else, and header cells are treated like any other text.

Stage tables (parquet) keep every answer exactly as typed (masked): the neutralising happens here, when a
spreadsheet is written — :func:`write_csv` for a table, :func:`write_xlsx` for tables as sheets,
:func:`save_workbook` for an openpyxl workbook built by hand (the entry templates), :func:`write_report_xlsx`
for a formatted report of titled tables (``06_describe/describe.xlsx``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a text cell as a formula."""
QUOTE = "'"


def neutralise(value: object) -> object:
    """``value`` with a ``'`` in front when it is a text starting with one of :data:`TRIGGERS`; else as is."""
    if isinstance(value, str) and value[:1] in TRIGGERS:
        return QUOTE + value
    return value


def is_dangerous(value: object) -> bool:
    """True for a text a spreadsheet would read as a formula (what :func:`neutralise` changes)."""
    return isinstance(value, str) and value[:1] in TRIGGERS


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells, column names and categories are :func:`neutralise`-d (numbers,
    booleans and dates unchanged; a column without a dangerous text is the same column)."""
    safe = frame.copy(deep=False)
    for i in range(frame.shape[1]):
        col = frame.iloc[:, i]
        new = _safe_column(col)
        if new is not col:
            safe.isetitem(i, new)
    if not isinstance(frame.columns, pd.MultiIndex):
        safe.columns = [neutralise(c) for c in frame.columns]
    safe.index = safe.index.set_names([neutralise(n) for n in frame.index.names])
    return safe


def _safe_column(col: pd.Series) -> pd.Series:
    if isinstance(col.dtype, pd.CategoricalDtype):
        cats = col.cat.categories
        if cats.dtype == object or pd.api.types.is_string_dtype(cats.dtype):
            renamed = [neutralise(c) for c in cats]
            if renamed != list(cats):
                return col.cat.rename_categories(renamed)
        return col
    if col.dtype == object or pd.api.types.is_string_dtype(col.dtype):
        texts = col.dropna()
        texts = texts[texts.map(is_dangerous).astype(bool)]
        if len(texts):
            col = col.astype(object).copy()
            col[texts.index] = [neutralise(v) for v in texts]
    return col


def write_csv(frame: pd.DataFrame, path: str | Path, *, index: bool = False) -> Path:
    """``frame`` as a CSV Excel opens with its Chinese intact (UTF-8 with BOM, CRLF line ends, so that a text
    holding a CR or LF is quoted and stays in its cell), every text neutralised."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    safe_frame(frame).to_csv(path, index=index, encoding="utf-8-sig", lineterminator="\r\n")
    return path


def write_xlsx(
    sheets: dict[str, pd.DataFrame], path: str | Path, *, index: bool = False, engine: str = "openpyxl"
) -> Path:
    """One sheet per ``{name: frame}``, every text (headers included) neutralised. ``engine="xlsxwriter"``
    for large sheets (about half of openpyxl's time; pandas writes column by column, so not in xlsxwriter's
    row-streaming mode)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    kwargs = {"engine_kwargs": {"options": {"strings_to_formulas": False, "strings_to_urls": False}}}
    with pd.ExcelWriter(path, engine=engine, **(kwargs if engine == "xlsxwriter" else {})) as writer:
        for name, frame in sheets.items():
            safe_frame(frame).to_excel(writer, sheet_name=name, index=index)
    return path


def save_workbook(workbook, path: str | Path, *, reproducible: bool = False) -> Path:
    """Save an openpyxl ``workbook`` after neutralising every text cell of every sheet (a text that openpyxl
    took for a formula included: nothing this package writes is meant to compute).

    ``reproducible``: the same workbook gives the same bytes on every run (a stage output): the document's
    created/modified times and every zip entry's time are set to :data:`FIXED_TIME` instead of now."""
    for ws in workbook.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if is_dangerous(cell.value):
                    cell.value = neutralise(cell.value)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if reproducible:
        workbook.properties.created = workbook.properties.modified = FIXED_TIME
    workbook.save(path)
    if reproducible:
        _fix_zip_times(path)
    return path


@dataclass(frozen=True)
class Block:
    """One titled table of a report sheet written by :func:`write_report_xlsx`."""

    frame: pd.DataFrame
    title: str = ""
    note: str = ""
    """A line under the table (base, method, what was left out)."""
    percent: tuple[str, ...] = ()
    """Columns holding percentages 0–100: written as fractions and shown as ``0.0%``."""


@dataclass(frozen=True)
class Sheet:
    """One report sheet: a title line (the question's wording), an optional subtitle and its tables."""

    title: str
    blocks: list[Block]
    subtitle: str = ""


SHEET_NAME_LIMIT = 31
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_FIXED_CREATED = datetime(2000, 1, 1)
"""The creation time written into report workbooks, so that two runs write the same bytes."""


def sheet_name(wanted: str, taken: set[str]) -> str:
    """``wanted`` as a valid, new sheet name: characters Excel refuses replaced by ``_``, at most 31
    characters, a ``~2``, ``~3`` … suffix when the name (case-insensitive, as Excel compares) is taken; the
    name is added to ``taken``."""
    base = _SHEET_FORBIDDEN.sub("_", str(wanted)).strip("'") or "Sheet"
    name, i = base[:SHEET_NAME_LIMIT], 1
    while name.lower() in taken:
        i += 1
        suffix = f"~{i}"
        name = base[: SHEET_NAME_LIMIT - len(suffix)] + suffix
    taken.add(name.lower())
    return name


def write_report_xlsx(sheets: dict[str, Sheet], path: str | Path) -> Path:
    """A formatted report workbook (xlsxwriter, rows streamed: memory does not grow with the sheet): per
    ``{name: Sheet}`` the title in bold, then each block's title, a header row, its rows (numbers with two
    decimals, :attr:`Block.percent` columns as percentages, missing values empty) and its note. Every text,
    titles and headers included, is neutralised; names must be valid (:func:`sheet_name`)."""
    import xlsxwriter

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    book = xlsxwriter.Workbook(
        str(path), {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    )
    book.set_properties({"created": _FIXED_CREATED})
    fmt = {
        "title": book.add_format({"bold": True, "font_size": 13}),
        "block": book.add_format({"bold": True}),
        "header": book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True}),
        "note": book.add_format({"italic": True, "font_color": "#595959"}),
        "number": book.add_format({"num_format": "0.00"}),
        "percent": book.add_format({"num_format": "0.0%"}),
    }
    for name, sheet in sheets.items():
        ws = book.add_worksheet(name)
        ws.set_column(0, 0, 18)
        ws.set_column(1, 30, 12)
        ws.write_string(0, 0, str(neutralise(sheet.title)), fmt["title"])
        row = 1
        if sheet.subtitle:
            ws.write_string(row, 0, str(neutralise(sheet.subtitle)), fmt["note"])
            row += 1
        for block in sheet.blocks:
            row = _write_block(ws, row + 1, block, fmt)
    book.close()
    return path


def _write_block(ws, row: int, block: Block, fmt: dict) -> int:
    """Write one block from ``row``; the next free row. Each column is converted once: texts neutralised
    (empty texts and missing values left as empty cells), booleans as 是/否, numbers as numbers."""
    if block.title:
        ws.write_string(row, 0, str(neutralise(block.title)), fmt["block"])
        row += 1
    frame = block.frame
    for j, col in enumerate(frame.columns):
        ws.write_string(row, j, str(neutralise(col)), fmt["header"])
    row += 1
    columns = [_cells(frame[col], col in block.percent, fmt) for col in frame.columns]
    for i in range(len(frame)):
        for j, (values, write, cell_format) in enumerate(columns):
            value = values[i]
            if value is not None:
                write(ws, row + i, j, value, cell_format)
    row += len(frame)
    if block.note:
        ws.write_string(row, 0, str(neutralise(block.note)), fmt["note"])
        row += 1
    return row


def _cells(col: pd.Series, percent: bool, fmt: dict) -> tuple[list, object, object]:
    """``(values, writer, format)`` of one column: the values to write (None = empty cell) and how."""
    from xlsxwriter.worksheet import Worksheet

    dtype = col.dtype
    if pd.api.types.is_bool_dtype(dtype):
        values = [None if v is pd.NA or v is None else ("是" if v else "否") for v in col.tolist()]
        return values, Worksheet.write_string, None
    if pd.api.types.is_numeric_dtype(dtype):
        numbers = col.to_numpy(dtype="float64", na_value=np.nan)
        if percent:
            numbers = numbers / 100.0
        values = [None if v != v else v for v in numbers.tolist()]
        cell_format = (
            fmt["percent"] if percent else fmt["number"] if pd.api.types.is_float_dtype(dtype) else None
        )
        return values, Worksheet.write_number, cell_format
    values = [
        str(neutralise(v)) if isinstance(v, str) and v else None if _missing(v) or v == "" else str(v)
        for v in col.tolist()
    ]
    return values, Worksheet.write_string, None


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


FIXED_TIME = datetime(2000, 1, 1)
"""The time a reproducible workbook records (:func:`save_workbook`)."""


def _fix_zip_times(path: Path) -> None:
    """Rewrite the zip archive at ``path`` with every entry dated :data:`FIXED_TIME` (same order, same data),
    and the document's modified time (which openpyxl sets to now when saving) set to it too."""
    import io
    import re
    import zipfile

    stamp = FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    with zipfile.ZipFile(path) as src:
        entries = [(info, src.read(info)) for info in src.infolist()]
    entries = [
        (
            info,
            re.sub(
                rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)", rb"\g<1>" + stamp + rb"\g<2>", data
            ),
        )
        if info.filename == "docProps/core.xml"
        else (info, data)
        for info, data in entries
    ]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as dst:
        for info, data in entries:
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = info.external_attr
            dst.writestr(fixed, data)
    path.write_bytes(buffer.getvalue())
