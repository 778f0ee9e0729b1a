"""Scan an output folder for personal data: every file of every stage, whatever its format.

:func:`scan_output` reads every file under ``out`` and reports where a planted raw value, or anything the privacy
patterns match, is found:

- parquet: every cell of every column (numbers too, for planted values: a phone typed into a number item becomes
  ``13987654321.0``), column names and the file's key-value metadata;
- JSON (run report, manifest, ingest report): every string and key, and numbers for planted values;
- Markdown, CSV, HTML, TXT, YAML: the text;
- SVG (the report's charts): the words, not the drawing — matplotlib draws each text as glyph outlines and keeps
  the string in a comment before it, so comments, text nodes and titles are scanned and path coordinates are not
  (their runs of numbers would read as phone numbers); a PNG chart is read through its SVG twin (the same
  drawing, written from the same figure), since its pixels hold no text to search;
- ``.docx``/``.xlsx`` (zip): the text of every XML member, tags stripped and character references resolved
  (openpyxl writes ``&#22478;`` for 城);
- ``.sav`` (SPSS, ``fazhi-eval export``): variable and value labels and every cell.

Texts are compared after NFKC, with the separators people type between digits (spaces, dashes, dots) removed, so
``139 8765 4321`` and ``１３９８７６５４３２１`` are both found as ``13987654321``. Keyed-hash columns (``respondent``,
``ip_key``, ``reviewer``) and hex digests of 16 characters or more are allow-listed: a 64-bit hex pseudonym may
hold eleven decimal digits in a row by chance. Later stages that write Word or Excel files are scanned as they
appear; an unknown binary format is listed under ``unscanned``.
"""

from __future__ import annotations

import html
import json
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

from pipeline.ingest.masking import MASKS

PSEUDONYM_COLUMNS = frozenset({"respondent", "ip_key", "reviewer"})
TEXT_SUFFIXES = {".json", ".md", ".csv", ".html", ".txt", ".yaml", ".yml", ".tex"}
_SVG_WORDS = re.compile(r"<!--(.*?)-->|>([^<>]+)(?=<)", re.S)
ZIP_SUFFIXES = {".docx", ".xlsx", ".pptx", ".zip"}
_HEX = re.compile(r"\b[0-9a-f]{16,}\b")
_LONG_DECIMAL = re.compile(r"\d*\.\d{5,}(?:[eE][+-]?\d+)?")
_BETWEEN_DIGITS = re.compile(r"(?<=[0-9])[ \-.—\u3000]+(?=[0-9Xx])")


def compact(text: str) -> str:
    """NFKC, lower case, zero-width characters dropped, separators between digits removed."""
    folded = unicodedata.normalize("NFKC", text).replace("\u200b", "").replace("\ufeff", "").lower()
    return _BETWEEN_DIGITS.sub("", folded)


@dataclass
class Finding:
    file: str
    where: str
    what: str


@dataclass
class ScanResult:
    findings: list[Finding] = field(default_factory=list)
    scanned: list[str] = field(default_factory=list)
    unscanned: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [f"{f.file} [{f.where}]: {f.what}" for f in self.findings]


def scan_output(
    out: Path,
    raw_values: Iterable[str] = (),
    *,
    patterns: bool = True,
    allow_columns: Iterable[str] = PSEUDONYM_COLUMNS,
) -> ScanResult:
    """Every place under ``out`` holding one of ``raw_values`` (compared by :func:`compact`) or, with
    ``patterns``, a text that a pattern of :data:`pipeline.ingest.masking.MASKS` matches after NFKC."""
    out = Path(out)
    wanted = {compact(v): v for v in raw_values}
    allow = frozenset(allow_columns)
    result = ScanResult()
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        rel = path.relative_to(out).as_posix()
        items = (
            [] if path.stat().st_size == 0 else _items(path, allow)
        )  # an empty file (the run's lock) holds nothing
        if items is None:
            result.unscanned.append(rel)
            continue
        result.scanned.append(rel)
        seen: set[tuple[str, str]] = set()
        for where, text, is_text in items:
            if (where, text) in seen:
                continue
            seen.add((where, text))
            small = compact(text)
            for core, raw in wanted.items():
                if core in small:
                    result.findings.append(Finding(rel, where, f"raw value {raw!r} in {text[:80]!r}"))
            if patterns and is_text:
                folded = _LONG_DECIMAL.sub(" ", _HEX.sub(" ", unicodedata.normalize("NFKC", text)))
                for pattern, placeholder in MASKS:
                    m = pattern.search(folded)
                    if m:
                        result.findings.append(Finding(rel, where, f"{placeholder} pattern: {m.group(0)!r}"))
    return result


def _items(path: Path, allow: frozenset[str]) -> Iterator[tuple[str, str, bool]] | None:
    """``(where, text, is_text)`` of everything in the file, or None for a format it cannot read."""
    suffix = path.suffix.lower()
    if path.stat().st_size == 0:  # an empty file (the run's .lock) holds nothing
        return iter(())
    if suffix == ".parquet":
        return _parquet(path, allow)
    if suffix == ".json":
        return _json(json.loads(path.read_text(encoding="utf-8-sig")), "$")
    if suffix == ".svg":
        return _svg(path.read_text(encoding="utf-8-sig"))
    if suffix == ".png" and path.with_suffix(".svg").is_file():
        return _svg(path.with_suffix(".svg").read_text(encoding="utf-8-sig"))
    if suffix in TEXT_SUFFIXES:
        text = path.read_text(encoding="utf-8-sig")
        return iter([(f"line {i + 1}", line, True) for i, line in enumerate(text.splitlines())])
    if suffix in ZIP_SUFFIXES:
        return _zip(path)
    if suffix == ".sav":
        return _sav(path, allow)
    return None


def _svg(text: str) -> Iterator[tuple[str, str, bool]]:
    """The words of an SVG drawing: its comments (the strings matplotlib drew as outlines) and text nodes."""
    for match in _SVG_WORDS.finditer(text):
        words = html.unescape((match.group(1) or match.group(2) or "").strip())
        if words:
            line = text.count("\n", 0, match.start()) + 1
            yield f"line {line}", words, True


def _sav(path: Path, allow: frozenset[str]) -> Iterator[tuple[str, str, bool]]:
    """An SPSS file: variable names and labels, value labels and every cell."""
    import pyreadstat

    frame, meta = pyreadstat.read_sav(str(path))
    for name, label in meta.column_names_to_labels.items():
        yield "variables", f"{name} {label or ''}", True
    for name, labels in meta.variable_value_labels.items():
        for code, label in labels.items():
            yield f"{name} value labels", f"{code} {label}", True
    for name in frame.columns:
        if name in allow:
            continue
        for i, value in enumerate(frame[name].tolist()):
            if value is None or value == "" or (isinstance(value, float) and value != value):
                continue
            yield f"{name} row {i}", str(value), isinstance(value, str)


def _parquet(path: Path, allow: frozenset[str]) -> Iterator[tuple[str, str, bool]]:
    pf = pq.ParquetFile(path)
    for key, value in (pf.schema_arrow.metadata or {}).items():
        yield "metadata", (key + value).decode("utf-8", "replace"), False
    table = pf.read()
    for name in table.column_names:
        yield "column names", name, True
        if name in allow:
            continue
        for i, value in enumerate(table.column(name).to_pylist()):
            if value is None:
                continue
            yield f"{name} row {i}", str(value), isinstance(value, str)


def _json(node, where: str) -> Iterator[tuple[str, str, bool]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield where, str(key), True
            yield from _json(value, f"{where}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _json(value, f"{where}[{i}]")
    elif isinstance(node, str):
        yield where, node, True
    elif node is not None:
        yield where, str(node), False


def _zip(path: Path) -> Iterator[tuple[str, str, bool]]:
    """The text of every XML member; of a workbook's sheets, each text node (one cell's value or string) on its
    own, so that numbers in neighbouring cells are not read as one digit run (``10 20 30 40`` as an IP)."""
    per_node = path.suffix.lower() == ".xlsx"
    with zipfile.ZipFile(path) as z:
        for member in z.namelist():
            if member.endswith((".xml", ".rels")):
                xml = z.read(member).decode("utf-8", "replace")
                if per_node and member.startswith("xl/worksheets/"):
                    for node in re.findall(r">([^<]+)<", xml):
                        yield member, html.unescape(node), True
                else:
                    yield member, html.unescape(re.sub(r"<[^>]+>", " ", xml)), True  # &#22478; → 城
