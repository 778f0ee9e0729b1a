"""The page on which each contents entry of the appendix lands, read from a converted PDF.

LibreOffice's ``--convert-to pdf`` prints a contents field's stored entries as they are and does not compute
their page numbers. ``fazhi-eval report --pdf`` therefore converts twice: the first PDF tells where each heading
landed (:func:`entry_pages`), the document is written again with those numbers in the contents, and the second
conversion is the one kept. Body pages are numbered from 1 after the title page and the contents (the footer's
第 N 页), so the numbers do not depend on how long the contents is.
"""

from __future__ import annotations

import re
from pathlib import Path

_FOOTER = re.compile(r"第\s*(\d+)\s*页")


def page_texts(pdf: Path) -> list[str]:
    """The text layer of every page of ``pdf`` (pypdf)."""
    from pypdf import PdfReader

    return [page.extract_text() or "" for page in PdfReader(str(pdf)).pages]


def entry_pages(pages: list[str], entries: list[str]) -> list[str]:
    """For each heading text in ``entries`` (in document order), the printed page number of the first page, at
    or after the previous entry's, on which a line reads exactly that heading; "" where none does.

    Examples
    --------
    >>> pages = ["目  录\\n1 调查概况\\n数据来源", "1 调查概况\\n数据来源\\n第 1 页", "表 1.1\\n第 2 页",
    ...          "2 样本结构与加权\\n第 3 页"]
    >>> entry_pages(pages, ["1 调查概况", "数据来源", "2 样本结构与加权"])
    ['1', '1', '3']
    """
    lines = [{line.strip() for line in text.splitlines()} for text in pages]
    printed = [_printed_number(text) for text in pages]
    body = next((i for i, number in enumerate(printed) if number), len(pages))
    out: list[str] = []
    at = body
    for entry in entries:
        found = next((i for i in range(at, len(pages)) if entry.strip() in lines[i]), None)
        if found is None:
            out.append("")
            continue
        at = found
        out.append(printed[found])
    return out


def _printed_number(text: str) -> str:
    found = _FOOTER.findall(text)
    return found[-1] if found else ""
