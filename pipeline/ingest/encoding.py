"""Detect the encoding of a CSV export: 问卷星 and Excel write UTF-8 (with or without BOM) or GBK/GB18030.

Tries, in order, ``utf-8-sig`` (BOM present), ``utf-8``, ``gbk``, ``gb18030`` on a leading sample of the file
(the order docs/BACKGROUND.md §5 found in practice). charset-normalizer would also work but guesses among ~100 codecs and
sometimes names a Big5 or cp1252 reading of short Chinese files; the four candidates here are the only ones the
sources produce, so a deterministic check is more reliable.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from pipeline.errors import DataError, Location

SAMPLE_BYTES = 4 << 20
CANDIDATES = ("utf-8", "gbk", "gb18030")


def _decodes(sample: bytes, encoding: str, *, complete: bool) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        decoder.decode(sample, final=complete)
    except UnicodeDecodeError:
        return False
    return True


def detect_encoding(path: str | Path) -> str:
    """``utf-8-sig``, ``utf-8``, ``gbk`` or ``gb18030`` for a text file; DataError if none decodes it.

    Only the first 4 MiB are checked (a file cut mid-character at the sample end is not an error). For reading, use
    :func:`python_codec`, which reads ``gbk`` files with the superset codec ``gb18030`` so that a rare character
    after the sample cannot fail the read.
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            sample = fh.read(SAMPLE_BYTES)
            complete = not fh.read(1)
    except OSError as exc:
        raise DataError(f"无法读取文件 (cannot read file): {exc.strerror}", Location(file=path)) from exc
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    for enc in CANDIDATES:
        if _decodes(sample, enc, complete=complete):
            return enc
    raise DataError(
        "无法识别文件编码 (encoding not recognised): expected UTF-8, UTF-8 with BOM, GBK or GB18030",
        Location(file=path),
    )


def python_codec(encoding: str) -> str:
    """The codec to read a file of the detected encoding with (``gbk`` → ``gb18030``, its superset)."""
    return "gb18030" if encoding == "gbk" else encoding
