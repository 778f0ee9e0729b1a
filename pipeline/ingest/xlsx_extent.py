"""Keep a stray cell far from the data from costing gigabytes: an ``.xlsx`` trimmed to its data before it is read.

calamine builds each sheet as a dense rectangle from A1 to the farthest cell that holds anything, so one space
typed at ``XFD1`` (column 16,384) under a 3,000-row export makes 49 million cells (1.5 GB) and a cell at row
1,048,576 a million empty rows. The sheet's ``<dimension>`` (the first element of the sheet XML; Excel, WPS,
openpyxl and xlsxwriter write it) says how large that rectangle will be, at the cost of a few kilobytes read.
When it claims more cells than the sheet XML could describe densely (:func:`dense_enough`) or is absent, the sheet
XML is scanned once (streamed, never held whole) for the cells that hold something; cells that hold nothing
(blank or only spaces) beyond the data, and cells that do hold something but lie far outside it (more than
:data:`GAP_COLUMNS` empty columns or :data:`GAP_ROWS` empty rows away: a note, a stray keystroke) are removed from
a copy of the workbook made in memory, and calamine reads that copy. The removed cells that held something are
returned, so that the reader can name them in a warning. Files within their claimed size are handed to calamine
untouched: the common case costs one small read.
"""

from __future__ import annotations

import functools
import html
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from xml.etree import ElementTree

MIN_CELLS = 1_000_000
"""A claimed rectangle of up to this many cells is always read as is (~30 MB in calamine)."""
BYTES_PER_CELL = 8
"""Above :data:`MIN_CELLS`, a claimed rectangle is believed when the sheet XML has this many bytes per claimed
cell: a written cell takes at least ~20 bytes (``<c r="A1"><v>1</v></c>``), so the rectangle is then at least
about half full and its memory is bounded by the file's."""
GAP_COLUMNS = 20
"""More empty columns than this between a cell and the data: the cell is outside the table."""
GAP_ROWS = 1000
"""More empty rows than this between a cell and the data: the cell is outside the table."""
CHUNK = 8 << 20
HEAD = 1 << 16

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref="([A-Z]{1,3})(\d{1,7})(?::([A-Z]{1,3})(\d{1,7}))?"')
_CELL = re.compile(rb"<(?:\w+:)?c\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)", re.S)
_CELL_FIRST_REF = re.compile(
    rb'<(?:\w+:)?c\b(?:\s+r="([A-Z]{1,3})(\d{1,7})")?([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)', re.S
)
"""A cell with its reference split out when it is the first attribute (as every common writer puts it)."""
_ROW = re.compile(rb'<(?:\w+:)?row\b[^>]*?\br="(\d+)"[^>]*?(?:/>|>(.*?)</(?:\w+:)?row>)', re.S)
_REF = re.compile(rb'\br="([A-Z]{1,3})(\d{1,7})"')
_TYPE = re.compile(rb'\bt="(\w+)"')
_VALUE = re.compile(rb"<(?:\w+:)?v>(.*?)</(?:\w+:)?v>", re.S)
_TEXT = re.compile(rb"<(?:\w+:)?t\b[^>]*>(.*?)</(?:\w+:)?t>", re.S)
_EMPTY_ROW = re.compile(rb"<(?:\w+:)?row\b[^>]*?(?:/>|>\s*</(?:\w+:)?row>)")


@dataclass(frozen=True)
class OutsideCell:
    """A cell that held something but lay far outside the table, removed before reading."""

    ref: str
    text: str


@dataclass
class Prepared:
    """What calamine should read (the file, or a trimmed copy in memory) and the cells removed per sheet."""

    source: Path | io.BytesIO
    outside: dict[str, list[OutsideCell]] = field(default_factory=dict)


@functools.lru_cache(maxsize=4096)
def column_number(letters: bytes | str) -> int:
    """``A`` → 1, ``Z`` → 26, ``AA`` → 27, ``XFD`` → 16384."""
    n = 0
    for ch in letters if isinstance(letters, str) else letters.decode():
        n = n * 26 + ord(ch) - 64
    return n


def column_letters(number: int) -> str:
    """1 → ``A``, 27 → ``AA`` (1-based column number)."""
    out = ""
    while number:
        number, rem = divmod(number - 1, 26)
        out = chr(65 + rem) + out
    return out


def dense_enough(rows: int, cols: int, xml_bytes: int) -> bool:
    """Whether a claimed ``rows × cols`` rectangle may be read densely (see :data:`BYTES_PER_CELL`)."""
    return rows * cols <= max(MIN_CELLS, xml_bytes // BYTES_PER_CELL)


def prepare(path: Path) -> Prepared:
    """``path`` itself when every sheet is within its claimed size, else a trimmed copy (see the module)."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        return Prepared(path)  # calamine reports a corrupt file in its own words
    with zf:
        try:
            parts = sheet_parts(zf)
        except (KeyError, ElementTree.ParseError):
            return Prepared(path)
        suspect = [
            (name, part) for name, part in parts if part in zf.NameToInfo and not _claims_fit(zf, part)
        ]
        if not suspect:
            return Prepared(path)
        strings = _shared_strings(zf)
        plans = {}
        for name, part in suspect:
            plan = _scan(zf, part, strings)
            if plan is not None:
                plans[part] = (name, plan)
        if not plans:
            return Prepared(path)
        out = io.BytesIO()
        outside: dict[str, list[OutsideCell]] = {}
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
            for info in zf.infolist():
                if info.filename in plans:
                    name, (max_row, max_col) = plans[info.filename]
                    outside[name] = _write_trimmed(zf, dst, info.filename, strings, max_row, max_col)
                else:
                    dst.writestr(info, zf.read(info.filename))
    out.seek(0)
    return Prepared(out, outside)


def sheet_parts(zf: zipfile.ZipFile) -> list[tuple[str, str]]:
    """``(sheet name, part name in the zip)`` of every worksheet, in workbook order."""
    workbook = ElementTree.fromstring(zf.read("xl/workbook.xml"))
    rels = ElementTree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    target = {r.get("Id"): r.get("Target", "") for r in rels.iter(f"{{{_PKG_REL}}}Relationship")}
    out = []
    for sheet in workbook.iter(f"{{{_MAIN}}}sheet"):
        t = target.get(sheet.get(f"{{{_REL}}}id"), "")
        part = t.lstrip("/") if t.startswith("/") else str(PurePosixPath("xl") / t)
        out.append((sheet.get("name", ""), part))
    return out


def _claims_fit(zf: zipfile.ZipFile, part: str) -> bool:
    with zf.open(part) as fh:
        head = fh.read(HEAD)
    m = _DIMENSION.search(head)
    if m is None:
        return False
    c0, r0, c1, r1 = m.groups()
    # calamine's rectangle starts at A1 whatever the dimension's first cell
    return dense_enough(int(r1 or r0), column_number(c1 or c0), zf.getinfo(part).file_size)


def _shared_strings(zf: zipfile.ZipFile) -> list[str]:
    if "xl/sharedStrings.xml" not in zf.NameToInfo:
        return []
    out = []
    with zf.open("xl/sharedStrings.xml") as fh:
        for _, el in ElementTree.iterparse(fh):
            if el.tag == f"{{{_MAIN}}}si":
                # phonetic runs (<rPh>) are not part of the text
                out.append("".join(t.text or "" for t in el.iter(f"{{{_MAIN}}}t") if t not in _phonetic(el)))
                el.clear()
    return out


def _phonetic(si: ElementTree.Element) -> set[ElementTree.Element]:
    return {t for ph in si.iter(f"{{{_MAIN}}}rPh") for t in ph.iter(f"{{{_MAIN}}}t")}


def _cell_text(attrs: bytes, body: bytes | None, strings: list[str]) -> str:
    """The text a cell shows, ``""`` when it holds nothing."""
    if not body:
        return ""
    t = _TYPE.search(attrs)
    kind = t.group(1) if t else b"n"
    if kind == b"inlineStr":
        return html.unescape(b"".join(_TEXT.findall(body)).decode("utf-8", "replace"))
    v = _VALUE.search(body)
    if v is None:
        return ""
    value = html.unescape(v.group(1).decode("utf-8", "replace"))
    if kind == b"s":
        try:
            return strings[int(value)]
        except (ValueError, IndexError):
            return value
    return value


def _holds_something(attrs: bytes, body: bytes, blank_strings: set[int], strings: list[str]) -> bool:
    """:func:`_cell_text` is not blank, decided without building the text for the common cells (numbers and
    shared strings)."""
    if not body:
        return False
    if b"t=" not in attrs or b't="n"' in attrs or b't="b"' in attrs or b't="e"' in attrs:
        return b"v>" in body
    if b't="s"' in attrs:
        v = _VALUE.search(body)
        return v is not None and int(v.group(1)) not in blank_strings
    return bool(_cell_text(attrs, body, strings).strip())


def _chunks(zf: zipfile.ZipFile, part: str):
    """The sheet XML in pieces that end after a ``</row>`` (so that no cell is cut), streamed."""
    with zf.open(part) as fh:
        rest = b""
        while True:
            block = fh.read(CHUNK)
            if not block:
                if rest:
                    yield rest
                return
            rest += block
            cut = rest.rfind(b"</row>")
            if cut < 0:
                continue
            cut += len(b"</row>")
            yield rest[:cut]
            rest = rest[cut:]


def _scan(zf: zipfile.ZipFile, part: str, strings: list[str]) -> tuple[int, int] | None:
    """``(last row, last column)`` of the table (1-based) when cells lie beyond it, else None."""
    blank_strings = {k for k, text in enumerate(strings) if not text.strip()}
    rows: set[int] = set()
    letters: set[bytes] = set()
    any_row = any_col = 0
    for chunk in _chunks(zf, part):
        for col, row, attrs, body in _CELL_FIRST_REF.findall(chunk):
            if not col:  # the reference is not the first attribute (allowed, rare)
                ref = _REF.search(attrs)
                if ref is None:  # no reference at all: positions unknown, leave the sheet as it is
                    return None
                col, row = ref.groups()
            r = int(row)
            any_row = max(any_row, r)
            if col not in letters and _holds_something(attrs, body, blank_strings, strings):
                letters.add(col)
            elif col not in letters:
                any_col = max(any_col, column_number(col))
            if r not in rows and _holds_something(attrs, body, blank_strings, strings):
                rows.add(r)
    cols = {column_number(c) for c in letters}
    any_col = max(any_col, *cols) if cols else any_col
    max_row, max_col = _last_before_gap(rows, GAP_ROWS), _last_before_gap(cols, GAP_COLUMNS)
    if any_row <= max_row and any_col <= max_col:
        return None
    return max_row, max_col


def _last_before_gap(indices: set[int], gap: int) -> int:
    """The last index reached from the first without a run of more than ``gap`` missing indices."""
    last = 0
    for k in sorted(indices):
        if last and k - last - 1 > gap:
            break
        last = k
    return last


def _write_trimmed(
    zf: zipfile.ZipFile, dst: zipfile.ZipFile, part: str, strings: list[str], max_row: int, max_col: int
) -> list[OutsideCell]:
    """Copy the sheet XML into ``dst`` without the cells beyond ``max_row``/``max_col``; the removed cells that
    held something. Rows are looked at whole (one check of their last cell): only a row reaching past
    ``max_col`` is taken apart."""
    removed: list[OutsideCell] = []

    def keep_cell(m: re.Match) -> bytes:
        ref = _REF.search(m.group(1))
        r, c = int(ref.group(2)), column_number(ref.group(1))  # type: ignore[union-attr]
        if r <= max_row and c <= max_col:
            return m.group(0)
        text = _cell_text(m.group(1), m.group(2), strings).strip()
        if text:
            removed.append(OutsideCell(ref.group(1).decode() + ref.group(2).decode(), text))  # type: ignore[union-attr]
        return b""

    def keep_row(m: re.Match) -> bytes:
        body = m.group(2) or b""
        if int(m.group(1)) <= max_row:
            last = _REF.search(body, body.rfind(b"<c ") if b"<c " in body else 0)
            if last is None or column_number(last.group(1)) <= max_col:
                return m.group(0)
        kept = _CELL.sub(keep_cell, m.group(0))
        return b"" if _EMPTY_ROW.fullmatch(kept) else kept

    dimension = f'<dimension ref="A1:{column_letters(max(max_col, 1))}{max(max_row, 1)}"'.encode()
    first = True
    with dst.open(part, "w", force_zip64=True) as out:
        for chunk in _chunks(zf, part):
            if first:
                chunk, first = _DIMENSION.sub(dimension, chunk, count=1), False
            out.write(_ROW.sub(keep_row, chunk))
    return removed
