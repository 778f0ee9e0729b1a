"""What the statistics appendix is made of: sections of headings, paragraphs, tables and figures.

The section builders (:mod:`pipeline.report.sections`) turn stage tables into these blocks; the writers
(:mod:`pipeline.report.docx_writer`, :mod:`pipeline.report.xlsx_writer`) only lay them out. A table keeps its
numbers unrounded and says how each column is shown (:data:`FORMATS`), so the Word document, the workbook and
the consistency test (which reads both back) round the same way, through :func:`shown`.

Examples
--------
>>> import pandas as pd
>>> t = Table("demo", "示例", pd.DataFrame({"选项": ["满意"], "百分比": [0.4567]}),
...           formats={"百分比": "pct1"}, source="06_describe/frequencies")
>>> shown(t.frame.iloc[0, 1], t.format_of("百分比"))
'45.7%'
>>> shown(0.0004, "p")
'<0.001'
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

#: How a column is shown. ``pct1``: a share 0–1 shown as a percentage with one decimal; ``p``: a p-value to
#: three decimals, "<0.001" below that; ``numN``: N decimals; ``int``: thousands separators; ``text``: as is.
Format = Literal["text", "int", "num1", "num2", "num3", "pct1", "p"]
FORMATS: tuple[str, ...] = ("text", "int", "num1", "num2", "num3", "pct1", "p")

#: What a suppressed cell (a group below the small-cell rule) shows instead of its number.
SUPPRESSED = "—"
#: The mark put in a table's 标记 column for a group whose estimate is shown but unstable (n below the mark line).
SMALL_MARK = "†"


def shown(value: object, fmt: str) -> str:
    """``value`` as the appendix prints it under format ``fmt`` (one rule for Word, Excel's text and the tests).

    Missing values print as an empty string; strings (e.g. :data:`SUPPRESSED`) print as they are.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    if isinstance(value, str) or fmt == "text":
        return str(value)
    x = float(value)  # type: ignore[arg-type]
    if fmt == "int":
        return f"{round(x):,}"
    if fmt == "pct1":
        return f"{100 * x:.1f}%"
    if fmt == "p":
        return "<0.001" if x < 0.001 else f"{x:.3f}"
    if fmt in ("num1", "num2", "num3"):
        return f"{x:.{int(fmt[-1])}f}"
    raise ValueError(f"unknown format {fmt!r} (known: {', '.join(FORMATS)})")


@dataclass(frozen=True)
class Heading:
    """A heading inside a section (level 2 or 3; level 1 is the section itself)."""

    text: str
    level: int = 2


@dataclass(frozen=True)
class Paragraph:
    """Body text (``bullet=True``: an item of a bulleted list)."""

    text: str
    bullet: bool = False


@dataclass(frozen=True)
class Table:
    """One numbered table of the appendix.

    ``key`` is stable across runs (e.g. ``"describe.frequencies.P1"``); the number (表 4.1) is given when the
    appendix is assembled. ``frame`` has the columns as printed (Chinese headers) and unrounded values;
    ``formats`` maps a column to a :data:`FORMATS` entry (default: ``text`` for strings, ``num2`` for
    numbers). ``source`` names the stage table(s) the numbers come from (``"06_describe/frequencies"``);
    ``notes`` are printed below the table (base n, weighting, how 不了解 was treated, marks). ``landscape``
    asks for a landscape page in Word (wide tables).
    """

    key: str
    title: str
    frame: pd.DataFrame
    source: str
    formats: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    landscape: bool = False

    def format_of(self, column: str) -> str:
        if column in self.formats:
            return self.formats[column]
        col = self.frame[column]
        return (
            "num2" if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col) else "text"
        )

    def shown_frame(self) -> pd.DataFrame:
        """Every cell as printed (strings), the frame the Word table shows (computed once per table)."""
        cached = self.__dict__.get("_shown")
        if cached is None:
            columns = {}
            for j, c in enumerate(self.frame.columns):
                fmt = self.format_of(c)
                columns[j] = [shown(v, fmt) for v in self.frame.iloc[:, j].tolist()]
            cached = pd.DataFrame(columns)
            cached.columns = self.frame.columns
            object.__setattr__(self, "_shown", cached)
        return cached.copy()


@dataclass(frozen=True)
class Figure:
    """One numbered chart: ``key`` names the files ``charts/<key>.png`` and ``.svg`` (drawn by
    :mod:`pipeline.report.charts`); the caption goes below it."""

    key: str
    title: str
    source: str
    note: str = ""


Block = Heading | Paragraph | Table | Figure


@dataclass(frozen=True)
class Section:
    """A numbered chapter of the appendix (1 调查概况 … 9 方法说明).

    ``missing`` is the one line printed instead of content when the stage it needs has not run.
    """

    number: int
    title: str
    blocks: tuple[Block, ...] = ()
    missing: str | None = None

    def tables(self) -> list[Table]:
        return [b for b in self.blocks if isinstance(b, Table)]

    def figures(self) -> list[Figure]:
        return [b for b in self.blocks if isinstance(b, Figure)]


def numbered(sections: list[Section]) -> dict[str, str]:
    """Each table's and figure's number by key: ``{"describe.frequencies.P1": "表 4.1", …}``, numbered within
    its section in order of appearance."""
    numbers: dict[str, str] = {}
    for section in sections:
        t = f = 0
        for block in section.blocks:
            if isinstance(block, Table):
                t += 1
                numbers[block.key] = f"表 {section.number}.{t}"
            elif isinstance(block, Figure):
                f += 1
                numbers[block.key] = f"图 {section.number}.{f}"
    return numbers
