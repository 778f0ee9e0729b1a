"""Spreadsheets that cannot run what respondents typed: the one place every .xlsx and .csv is written through.

A text cell beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read by Excel, WPS and
LibreOffice as a formula (``=HYPERLINK(...)``, ``+1+1``, ``@SUM(A1)``; a leading tab or CR is dropped on paste
and the rest runs). Following the OWASP guidance on CSV injection, such a text gets a single quote in front and
is otherwise kept as it was: ``=1+1`` → ``'=1+1``. Numbers, dates and empty cells are not text and are left
alone; so are texts starting anywhere else, and header cells are treated like any other text.

Stage tables (parquet) keep every answer exactly as typed (masked): the neutralising happens here, when a
spreadsheet is written — :func:`write_csv` for a table, :func:`write_xlsx` for tables as sheets,
:func:`save_workbook` for an openpyxl workbook built by hand (the entry templates).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

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


def write_xlsx(sheets: dict[str, pd.DataFrame], path: str | Path, *, index: bool = False) -> Path:
    """One sheet per ``{name: frame}``, every text (headers included) neutralised."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
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
