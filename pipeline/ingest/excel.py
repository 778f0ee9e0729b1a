"""Read spreadsheets fast: every sheet of an ``.xlsx``/``.xls`` workbook, or a ``.csv``, as rows of cells.

python-calamine (Rust) reads both ``.xlsx`` and legacy BIFF ``.xls`` (checked on the two real 问卷星 ``.xls``
exports) about 10× faster than openpyxl, so it is the only Excel reader used for
data. It returns numbers as float, dates as ``datetime``, empty cells as ``""``, and reports merged ranges
(``merged_cell_ranges``); a merged range's value sits in its top-left cell, so :func:`fill_merged` gives it to
every cell of the range. openpyxl is needed only for *writing* templates (data-validation lists), which calamine
cannot do. xlrd is not needed.

A file's type comes from its bytes (:mod:`pipeline.ingest.filetype`), not its extension. An ``.xlsx`` whose cells
reach far beyond its data (a space typed at ``XFD1``) is trimmed before calamine reads it
(:mod:`pipeline.ingest.xlsx_extent`), and every sheet ends with its last row and column that hold something
(:func:`trim_blank_edges`). What a reader should tell about a sheet's layout (a wrong extension, a note beside
the table, an unused column) is collected in :attr:`Sheet.warnings`; a column without a header that holds data
inside the table is a DataError (:func:`drop_unnamed`).
CSV is read by pandas (Arrow's multi-threaded parser, falling back to the C parser; all columns as strings) after
:func:`pipeline.ingest.encoding.detect_encoding`. The one case calamine cannot read — an HTML table saved with an
``.xls`` name, as some web platforms produce — goes through ``pandas.read_html`` (lxml).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.errors import DataError, Location
from pipeline.ingest import filetype, xlsx_extent
from pipeline.ingest.encoding import detect_encoding, python_codec

EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls")
CSV_SUFFIXES = (".csv",)
SUFFIXES = EXCEL_SUFFIXES + CSV_SUFFIXES


@dataclass
class Sheet:
    """One sheet: ``rows[i]`` is spreadsheet row ``i + 1`` (as a person sees it)."""

    file: Path
    name: str
    """Sheet name; ``""`` for a CSV file."""
    rows: list[list[object]]
    encoding: str | None = None
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)
    """Merged ranges as 0-based ``(first_row, first_col, last_row, last_col)``."""
    frame: pd.DataFrame | None = None
    """For CSV: the whole table as strings (header = row 1), read in one go by pandas; ``rows`` holds row 1 only."""
    warnings: list[dict[str, str]] = field(default_factory=list)
    """What a reader should tell about the sheet's layout (``{code, message, …}``): a wrong extension, cells
    outside the table, columns without a header or not used."""

    def location(self, row: int | None = None, column: str | None = None) -> Location:
        return Location(file=self.file.name, sheet=self.name or None, row=row, column=column)


def is_table_file(path: Path) -> bool:
    """A spreadsheet this module reads (not a hidden file or an Excel lock file ``~$…``)."""
    name = path.name
    return path.is_file() and path.suffix.lower() in SUFFIXES and not name.startswith((".", "~$"))


def read_sheets(path: str | Path) -> list[Sheet]:
    """Every sheet of a workbook (or the one table of a CSV). DataError if the file cannot be read.

    The file's real type comes from its bytes (:mod:`pipeline.ingest.filetype`), not its extension; a wrong
    extension is read anyway, with a ``wrong_extension`` warning on each sheet."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise DataError(
            f"不支持的文件类型 (unsupported file type '{suffix}'): expected one of {', '.join(SUFFIXES)}",
            Location(file=path.name),
        )
    kind = filetype.sniff(path)
    if kind == "text":
        if _is_html(path):
            sheets = read_html_table(path)
        elif suffix in CSV_SUFFIXES or _looks_like_csv(path):
            sheets = [read_csv(path)]
        else:
            raise DataError(
                "不是 Excel 工作簿，文件可能已损坏 (unreadable workbook: neither an .xlsx nor an .xls file, perhaps "
                "damaged); 请在 Excel/WPS 中打开后另存为 .xlsx (open it in Excel/WPS and save it again as .xlsx)",
                Location(file=path.name),
            )
    else:
        sheets = _read_workbook(path, kind)
    if not filetype.extension_agrees(path, kind):
        for sh in sheets:
            sh.warnings.append(
                {"code": "wrong_extension", "message": filetype.wrong_extension_message(path, kind)}
            )
    return sheets


def _read_workbook(path: Path, kind: str) -> list[Sheet]:
    """Every sheet of an ``.xlsx`` (zip) or ``.xls`` (OLE2) workbook, trimmed to its data, merges filled."""
    from python_calamine import CalamineWorkbook, PasswordError

    if kind == "xls" and filetype.is_encrypted(path):
        raise filetype.password_error(path)
    prepared = xlsx_extent.prepare(path) if kind == "xlsx" else xlsx_extent.Prepared(path)
    try:
        source = prepared.source
        # from_filelike: calamine then tells the format by the bytes, not by the (perhaps wrong) extension
        with source if isinstance(source, BytesIO) else open(source, "rb") as fh:
            wb = CalamineWorkbook.from_filelike(fh)
        sheets = []
        for name in wb.sheet_names:
            sh = wb.get_sheet_by_name(name)
            rows = trim_blank_edges(sh.to_python(skip_empty_area=False))
            try:
                merged = [(r0, c0, r1, c1) for (r0, c0), (r1, c1) in (sh.merged_cell_ranges or [])]
            except Exception:  # a format without merge information
                merged = []
            sheet = Sheet(file=path, name=name, rows=rows, merged=merged)
            fill_merged(sheet)
            for cell in prepared.outside.get(name, []):
                sheet.warnings.append(outside_warning(cell.ref, cell.text))
            sheets.append(sheet)
    except DataError:
        raise
    except PasswordError as exc:
        raise filetype.password_error(path) from exc
    except Exception as exc:  # calamine raises its own error classes for corrupt/non-Excel files
        raise DataError(
            f"无法读取 Excel 文件，文件可能已损坏 (unreadable workbook, perhaps damaged: {type(exc).__name__}: "
            f"{exc}); 请在 Excel/WPS 中打开后另存为 .xlsx (open it in Excel/WPS and save it again as .xlsx)",
            Location(file=path.name),
        ) from exc
    return sheets


def _blank(v: object) -> bool:
    """A cell that holds nothing: empty, missing, or only spaces."""
    return v is None or v == "" or (type(v) is str and v.isspace()) or (type(v) is float and v != v)


def trim_blank_edges(rows: list[list[object]]) -> list[list[object]]:
    """``rows`` without the rows below and the columns right of the last cell that holds something (a cell of
    spaces holds nothing): however far the sheet's used range reaches, the table ends with its data."""
    while rows and all(_blank(v) for v in rows[-1]):
        rows.pop()
    width = 0
    for row in rows:
        for c in range(len(row) - 1, width - 1, -1):
            if not _blank(row[c]):
                width = c + 1
                break
    if rows and any(len(r) > width for r in rows):
        rows = [r[:width] for r in rows]
    return rows


def fill_merged(sheet: Sheet) -> None:
    """Give every cell of a merged range its top-left value, down and across (in place).

    A merged cell is one value for all the rows it spans: a district merged over two respondents, a 案卷编号
    merged over a case's two reviewer rows. calamine reports the ranges (``merged_cell_ranges``, read with the
    sheet at no extra cost, for ``.xlsx`` and ``.xls``) but keeps the value in the top-left cell only. Ranges are
    clipped to the trimmed sheet (a merge may reach past the data)."""
    rows = sheet.rows
    for r0, c0, r1, c1 in sheet.merged:
        if r0 >= len(rows) or c0 >= len(rows[r0]):
            continue
        value = rows[r0][c0]
        for r in range(r0, min(r1, len(rows) - 1) + 1):
            row = rows[r]
            for c in range(c0, min(c1, len(row) - 1) + 1):
                row[c] = value


def outside_warning(ref: str, text: str) -> dict[str, str]:
    shown = text if len(text) <= 40 else text[:40] + "…"
    return {
        "code": "cells_outside_table",
        "cell": ref,
        "message": f"单元格 {ref} 在数据表之外，未读入 (cell outside the table, not read): '{shown}'",
    }


def _looks_like_csv(path: Path) -> bool:
    """A text file (named as a workbook) whose first line reads as a comma-separated header."""
    with open(path, "rb") as fh:
        head = fh.read(1 << 16).split(b"\n", 1)[0]
    try:
        encoding = detect_encoding(path)
    except DataError:
        return False
    text = head.decode(python_codec(encoding), errors="replace")
    return text.count(",") >= 1 and "\ufffd" not in text


def _is_html(path: Path) -> bool:
    with open(path, "rb") as fh:
        head = fh.read(512).lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<html", b"<!doctype html", b"<table", b"<meta", b"<?xml"))


def read_html_table(path: Path) -> list[Sheet]:
    """Fallback for an "Excel" download that is really an HTML table saved as ``.xls`` (some web platforms do
    this; calamine reads only real BIFF/OOXML files). Each ``<table>`` becomes a sheet ``table1``, ``table2``…"""
    from io import StringIO

    encoding = detect_encoding(path)
    text = Path(path).read_text(encoding=python_codec(encoding))
    if text.lstrip().lower().startswith("<?xml"):
        raise DataError(
            "不支持 XML 电子表格 (SpreadsheetML 2003 XML is not supported): open it in Excel/WPS and save as .xlsx",
            Location(file=path.name),
        )
    try:
        tables = pd.read_html(StringIO(text), header=None, keep_default_na=False)
    except (ImportError, ValueError) as exc:
        raise DataError(
            f"无法读取 HTML 表格 (unreadable HTML table saved as .xls: {exc})", Location(file=path.name)
        ) from exc
    sheets = []
    for k, t in enumerate(tables, start=1):
        rows = [[("" if v is None else v) for v in r] for r in t.astype(object).itertuples(index=False)]
        if not isinstance(t.columns, pd.RangeIndex):  # a <thead> row became the column names
            rows.insert(0, [str(c) for c in t.columns])
        sheets.append(Sheet(file=path, name=f"table{k}", rows=rows, encoding=encoding))
    return sheets


def read_csv(path: Path) -> Sheet:
    """A CSV as strings (no type guessing: ``001`` stays ``001``), encoding detected."""
    encoding = detect_encoding(path)
    options = {"dtype": str, "encoding": python_codec(encoding), "keep_default_na": False, "na_values": [""]}
    try:
        try:  # Arrow's multi-threaded parser: ~10x faster on million-row exports; strings stay Arrow-backed
            # Arrow skips a UTF-8 BOM itself; naming ``utf-8-sig`` would make it transcode the whole file
            # through Python's codec first (+1.5 s of CPU on a 600 MB export)
            arrow_options = {**options, "encoding": "utf-8"} if encoding == "utf-8-sig" else options
            frame = pd.read_csv(path, engine="pyarrow", **arrow_options)
        except (ImportError, ValueError, TypeError, UnicodeDecodeError) as exc:
            if isinstance(exc, pd.errors.EmptyDataError):
                raise
            frame = pd.read_csv(path, **options)
    except pd.errors.EmptyDataError as exc:
        raise DataError("CSV 文件为空 (empty CSV file)", Location(file=path.name)) from exc
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise DataError(
            f"无法解析 CSV (unreadable CSV: {exc}); expected a comma-separated 问卷星 export",
            Location(file=path.name),
        ) from exc
    header = [str(c) for c in frame.columns]
    return Sheet(file=path, name="", rows=[header], encoding=encoding, frame=frame)


def sheet_frame(sheet: Sheet, header_row: int = 0) -> pd.DataFrame:
    """The sheet as a DataFrame whose header is row ``header_row`` (0-based) and whose index is the 1-based
    spreadsheet row number of each data row. Completely empty rows are dropped; cells stay as read."""
    if sheet.frame is not None and header_row == 0:
        frame = sheet.frame.copy()
        frame.index = pd.RangeIndex(2, 2 + len(frame))
        # pandas names a blank CSV header 'Unnamed: k'
        blank = [k for k, c in enumerate(frame.columns) if str(c) == f"Unnamed: {k}" or not str(c).strip()]
        if blank:
            frame.columns = [header_ref(k, 0) if k in blank else c for k, c in enumerate(frame.columns)]
            frame = drop_unnamed(sheet, frame, blank)
        if len(frame.columns) and not _may_have_empty_rows(frame):
            frame.index.name = "source_row"
            return frame
    else:
        rows = sheet.rows
        if len(rows) <= header_row:
            return pd.DataFrame()
        header = [_cell_text(c) for c in rows[header_row]]
        blank = [k for k, h in enumerate(header) if not h.strip()]
        header = [h if h.strip() else header_ref(k, header_row) for k, h in enumerate(header)]
        body = rows[header_row + 1 :]
        width = len(header)
        if body and width and all(len(r) == width for r in body):  # calamine's rectangular rows: no padding
            cells = np.array(body, dtype=object)
        else:
            cells = np.array([list(r[:width]) + [""] * (width - len(r)) for r in body], dtype=object)
            cells = cells.reshape(len(body), width)
        cells[cells == ""] = None  # as DataFrame.replace({"": None}), on the whole block at once
        frame = pd.DataFrame(cells, columns=header, dtype=object)
        frame.index = pd.RangeIndex(header_row + 2, header_row + 2 + len(frame))
        frame = drop_unnamed(sheet, frame, blank)
        if width and len(cells):
            # a row with a first cell is not empty: only the others need the full check (dropna scans all)
            maybe_empty = np.flatnonzero(pd.isna(cells[:, 0]))
            if not pd.isna(cells[maybe_empty]).all(axis=1).any():
                frame.index.name = "source_row"
                return frame
    frame.index.name = "source_row"
    return frame.dropna(how="all")


def _may_have_empty_rows(frame: pd.DataFrame) -> bool:
    """Whether a row may be wholly empty: only rows whose first cell is missing need the full check."""
    first = frame.iloc[:, 0].isna().to_numpy()
    return bool(first.any()) and bool(frame[first].isna().all(axis=1).any())


def _cell_text(c: object) -> str:
    if c is None:
        return ""
    if isinstance(c, float) and c.is_integer():
        return str(int(c))
    return str(c)


def find_header_row(sheet: Sheet, is_header, *, max_rows: int = 15) -> int | None:
    """0-based index of the first of the top ``max_rows`` rows for which ``is_header(cells)`` holds.

    ``cells`` are the row's texts with a vertically merged header cell (its value sits in the row above, e.g. a
    two-row header whose 案卷编号 spans both rows) filled in from above — so title rows and two-row headers work.
    """
    rows = sheet.rows[:max_rows]
    for r, row in enumerate(rows):
        cells = header_cells(sheet, r)
        if is_header(cells):
            return r
        del row
    return None


def header_cells(sheet: Sheet, r: int) -> list[str]:
    """Row ``r`` as header texts, blanks filled from a vertically merged cell above (or the row above when the
    workbook carries no merge information, as for .xls)."""
    row = [_cell_text(c).strip() for c in sheet.rows[r]]
    if r == 0:
        return row
    above = [_cell_text(c).strip() for c in sheet.rows[r - 1]]
    merged_from_above = {
        c
        for (r0, c0, r1, c1) in sheet.merged
        for c in range(c0, c1 + 1)
        if r0 <= r - 1 and r1 >= r and r0 < r
    }
    out = []
    for c, text in enumerate(row):
        if not text and c < len(above) and above[c] and (c in merged_from_above or not sheet.merged):
            text = above[c]
        out.append(text)
    return out


def frame_below(sheet: Sheet, header_row: int) -> pd.DataFrame:
    """Data rows below ``header_row`` with the (merge-filled) header as column names; index = 1-based row."""
    header = header_cells(sheet, header_row)
    blank = [k for k, h in enumerate(header) if not h]
    seen: dict[str, int] = {}
    names = []
    for k, h in enumerate(header):  # repeated headers get a suffix so that columns stay addressable
        h = h or header_ref(k, header_row)
        seen[h] = seen.get(h, 0) + 1
        names.append(h if seen[h] == 1 else f"{h}.{seen[h]}")
    body = sheet.rows[header_row + 1 :]
    width = len(names)
    body = [list(r[:width]) + [""] * (width - len(r)) for r in body]
    frame = pd.DataFrame(body, columns=names, dtype=object).replace({"": None})
    frame.index = pd.RangeIndex(header_row + 2, header_row + 2 + len(frame), name="source_row")
    return drop_unnamed(sheet, frame, blank).dropna(how="all")


def header_ref(k: int, header_row: int) -> str:
    """The cell of column ``k``'s header (0-based column and row): ``F1``."""
    return f"{xlsx_extent.column_letters(k + 1)}{header_row + 1}"


def drop_unnamed(sheet: Sheet, frame: pd.DataFrame, blank: list[int]) -> pd.DataFrame:
    """``frame`` without its columns whose header is blank (positions ``blank``), after a look at each.

    Empty: dropped without a word. Holding data right of the last named column (a note typed beside the table):
    a ``cells_outside_table`` warning on the sheet naming the cells. Holding data between named columns: a
    DataError naming the column and its first value — data without a header cannot be placed, and dropping it
    silently would lose it."""
    if not blank:
        return frame
    named = [k for k in range(frame.shape[1]) if k not in set(blank)]
    last_named = max(named, default=-1)
    for k in blank:
        col = frame.iloc[:, k]
        filled = col[~col.map(_blank)]
        if filled.empty:
            continue
        letters = xlsx_extent.column_letters(k + 1)
        if k > last_named:
            for row, value in list(filled.items())[:3]:
                sheet.warnings.append(outside_warning(f"{letters}{row}", _cell_text(value).strip()))
            continue
        row, value = next(iter(filled.items()))
        raise DataError(
            f"{letters} 列没有列名却有数据 (column {letters} holds data but has no header): 首个值在 "
            f"{letters}{row} = '{_cell_text(value).strip()}'; 请在第 {frame.index[0] - 1} 行补上列名，或删去该列 "
            "(add a header or delete the column)",
            sheet.location(row=int(row), column=letters),
        )
    return frame.iloc[:, named]
