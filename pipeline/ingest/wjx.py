"""Parse any 问卷星 (wjx.cn) export — 按选项文本 or 按选项序号, ``.xlsx``/``.xls``/``.csv`` — without a codebook.

What the format looks like is described in ``docs/BACKGROUND.md`` §5. :func:`read_export` returns a
:class:`WjxExport`: the answer cells as read (index = spreadsheet row), every header parsed into
``(number, stem, option-or-row)``, questions grouped by number with a generic type guess, the export mode, and the
meta columns parsed (``submitted_at``, ``duration_s``, ``channel``, ``channel_detail``, raw ``ip``, ``seq``).
This module is the 问卷星 format only: headers, the two modes, 所用时间 and 提交答卷时间, 其他 fill-ins
(``〖…〗``), ``┋``-joined multiple choice and 问卷星's skip codes. Mapping answers to codebook codes is
:mod:`pipeline.ingest.codebook_match`'s job; cell text and normalisation, shared by every reader, are
:mod:`pipeline.ingest.text`'s.

Header forms accepted (full- or half-width punctuation, stray spaces):
``1、题干`` ``1.题干`` ``1：题干`` ``Q1 题干`` ``Q1.题干`` ``第1题 题干`` → question 1 with stem;
``第6题(运动)`` ``6(运动)`` ``Q6(运动)`` ``第8题(ACG文化(动漫、游戏等))`` → question 6/8 with a sub-label (an option
of a multiple-choice question in 按序号 mode, or a matrix row); the label runs to the *last* closing parenthesis.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from pipeline.errors import DataError, Location
from pipeline.ingest.columns import factorize, per_unique
from pipeline.ingest.excel import Sheet, read_sheets, sheet_frame
from pipeline.ingest.text import as_text, cell_text, normalize, numeric
from pipeline.ingest.timing import parse_datetime, parse_duration, unread_cells

Mode = Literal["text", "code"]

#: 问卷星 meta column → our name (docs/BACKGROUND.md §5: the first six columns, ``headlen=6``).
META_COLUMNS: dict[str, str] = {
    "序号": "seq",
    "提交答卷时间": "submitted_at",
    "所用时间": "duration",
    "来源": "channel",
    "来源详情": "channel_detail",
    "来自IP": "ip",
}
#: Other columns 问卷星 may add; read past, never written (some hold personal data: names, nicknames, phones).
EXTRA_COLUMNS = (
    "总分",
    "答题序号",
    "自定义字段",
    "微信昵称",
    "微信性别",
    "微信地区",
    "openid",
    "姓名",
    "手机号",
    "手机号码",
    "联系方式",
    "填写人",
    "答卷人",
    "外部参数",
    "Email",
)
SEPARATOR_MULTI = "┋"
SEPARATOR_RANK = "→"
SKIPPED_TEXT = frozenset({"(跳过)", "跳过"})
"""问卷星 按文本: the question was not shown (skip/display logic)."""
EMPTY_TEXT = frozenset({"(空)", "空"})
"""问卷星 按文本: an optional question left empty."""
SKIPPED_CODES = frozenset({-2, -3})
"""问卷星 按序号: −2 not shown (跳过), −3 skipped by logic."""

_QUESTION = re.compile(r"^(?:Q|第)?(\d{1,3})(?:题)?(?:[、.:：]|(?<=题)|(?<=\d)(?=\s)|(?<=\d)$)\s*(.*)$", re.I)
_SUB = re.compile(r"^(?:Q|第)?(\d{1,3})(?:题)?\s*\((.*)\)$", re.I)
_OTHER_FILL = re.compile(r"^(.*?)〖(.*)〗$", re.S)
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Header:
    """One parsed column header."""

    column: str
    kind: Literal["meta", "question", "sub", "extra", "unknown"]
    number: int | None = None
    stem: str | None = None
    """The question text after the number (kind ``question``); trailing spaces removed."""
    sub: str | None = None
    """The option or matrix-row label in ``第N题(label)`` (kind ``sub``)."""
    meta: str | None = None
    """Our name of a meta column (kind ``meta``)."""


def parse_header(column: object) -> Header:
    """Classify one header cell. ``"3、性别 "`` → question 3, stem ``性别``; ``"第6题(运动)"`` → sub of 6."""
    raw = "" if column is None else str(column)
    s = unicodedata.normalize("NFKC", raw).strip()
    compact = _SPACE.sub("", s)
    for name, ours in META_COLUMNS.items():
        if compact == name:
            return Header(raw, "meta", meta=ours)
    if compact in EXTRA_COLUMNS or compact.lower() in {e.lower() for e in EXTRA_COLUMNS}:
        return Header(raw, "extra")
    m = _SUB.match(compact)
    if m and m.group(2):
        return Header(raw, "sub", number=int(m.group(1)), sub=s[s.index("(") + 1 : s.rindex(")")].strip())
    m = _QUESTION.match(s)
    if m:
        return Header(raw, "question", number=int(m.group(1)), stem=m.group(2).strip())
    return Header(raw, "unknown")


@dataclass
class WjxQuestion:
    """All columns of one question number."""

    number: int
    stem: str | None
    column: str | None
    """The ``N、题干`` column (single choice, fill-in, multiple choice in text mode); None if only sub-columns."""
    subs: list[tuple[str, str]] = field(default_factory=list)
    """``(label, column)`` of each ``第N题(label)`` column, in export order."""
    kind: Literal["single", "multiple", "matrix", "open"] = "single"
    """Generic guess from the cells (a codebook overrides it)."""


@dataclass
class WjxExport:
    """One 问卷星 export as read: cells untouched, headers parsed, meta columns parsed."""

    file: Path
    sheet: str
    mode: Mode
    encoding: str | None
    cells: pd.DataFrame
    """Answer columns as read (object dtype; None for empty). Index: 1-based spreadsheet row (``source_row``)."""
    headers: list[Header]
    questions: dict[int, WjxQuestion]
    meta: pd.DataFrame
    """``seq, submitted_at, duration_s, channel, channel_detail, ip`` (raw IP: never write it out)."""
    warnings: list[str] = field(default_factory=list)
    mode_source: str = "cells"
    """How the mode was decided: ``file name`` (按文本/按序号 in it) or ``cells``."""
    meta_columns: dict[str, dict] = field(default_factory=dict)
    """:func:`meta_column_facts`: for each of :data:`CHECKED_META`, its header and how many cells were read."""
    _factorized: dict[str, tuple[np.ndarray, np.ndarray]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def factorized(self, column: str, *, keep: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """:func:`factorize` of an answer column, computed once: codebook matching looks at a column's distinct
        values and decoding then needs them again. ``keep=False`` hands the result over and forgets it."""
        got = self._factorized.pop(column, None)
        if got is None:
            got = factorize(self.cells[column])
        if keep:
            self._factorized[column] = got
        return got

    def location(self, row: int | None = None, column: str | None = None) -> Location:
        return Location(file=self.file.name, sheet=self.sheet or None, row=row, column=column)

    @property
    def n_rows(self) -> int:
        return len(self.cells)

    def header_table(self) -> pd.DataFrame:
        """One row per column: ``column, kind, number, stem, sub, meta`` plus the question's guessed type."""
        rows = [
            {
                "column": h.column,
                "kind": h.kind,
                "number": h.number,
                "stem": h.stem
                if h.kind == "question"
                else (self.questions[h.number].stem if h.number in self.questions else None),
                "sub": h.sub,
                "meta": h.meta,
                "question_type": self.questions[h.number].kind if h.number in self.questions else None,
            }
            for h in self.headers
        ]
        return pd.DataFrame(rows).astype({"number": "Int64"})


# --------------------------------------------------------------------------------------------------------------
# cells in 问卷星's own notation: fill-in text (durations and submit times: :mod:`pipeline.ingest.timing`)


def split_other(text: str) -> tuple[str, str | None]:
    """``其他【请注明】〖宠物〗`` → ``("其他【请注明】", "宠物")``; other text → ``(text, None)``."""
    m = _OTHER_FILL.match(text)
    if m:
        return m.group(1), m.group(2) if m.group(2).strip() else None  # as typed (see text.free_text)
    return text, None


# --------------------------------------------------------------------------------------------------------------


CHECKED_META: dict[str, tuple[str, str]] = {
    "所用时间": ("duration", "durations"),
    "提交答卷时间": ("submitted_at", "submit times"),
    "来自IP": ("ip", "IPs"),
}
"""The meta columns every 问卷星 export has and the clean stage relies on (speeder screen, same-IP duplicates,
IP place): 问卷星 name → (our name in :data:`META_COLUMNS`, what it holds)."""


def meta_column_facts(
    frame: pd.DataFrame, meta_cols: dict[str, str], meta: pd.DataFrame, headers: list[Header]
) -> dict[str, dict]:
    """For each column of :data:`CHECKED_META`: ``column`` (its header, None when absent), ``n_rows``,
    ``n_filled`` (non-blank cells) and, for durations and submit times, ``n_unread`` (filled but unreadable)
    with the first ``unread_rows`` and ``unread_examples``. When absent, ``unrecognised_columns`` lists the
    headers that matched nothing (a renamed meta column is among them). IP cells are never quoted."""
    unknown = [h.column for h in headers if h.kind == "unknown"]
    out: dict[str, dict] = {}
    for name, (ours, what) in CHECKED_META.items():
        facts: dict = {"column": meta_cols.get(ours), "what": what, "n_rows": int(len(frame))}
        if ours not in meta_cols:
            out[name] = facts | {"n_filled": 0, "unrecognised_columns": unknown[:10]}
            continue
        raw = frame[meta_cols[ours]]
        if ours == "ip":
            facts["n_filled"] = int(as_text(raw).notna().sum())
        else:
            parsed = meta["duration_s"] if ours == "duration" else meta["submitted_at"]
            unread = unread_cells(raw, parsed)
            facts |= {
                "n_filled": unread["n_filled"],
                "n_unread": unread["n"],
                "unread_rows": unread["rows"],
                "unread_examples": unread["examples"],
            }
        out[name] = facts
    return out


def looks_like_export(header_cells: list[object]) -> bool:
    """True when a header row is a 问卷星 export header (序号 plus at least one numbered question)."""
    hs = [parse_header(c) for c in header_cells]
    return any(h.meta == "seq" for h in hs) and any(h.kind in ("question", "sub") for h in hs)


def read_export(path: str | Path, *, sheet: Sheet | None = None) -> WjxExport:
    """Read a 问卷星 export (first sheet that looks like one). DataError naming the file if none does."""
    path = Path(path)
    sheets = [sheet] if sheet is not None else read_sheets(path)
    for sh in sheets:
        if sh.rows and looks_like_export(sh.rows[0]):
            return export_from_sheet(sh)
    raise DataError(
        "不是问卷星导出文件 (not a 问卷星 export): expected a header row with 序号, 提交答卷时间, 所用时间, 来源, "
        "来源详情, 来自IP and question columns such as '1、题干' or '第6题(选项)'",
        Location(file=path.name),
    )


def export_from_sheet(sh: Sheet, *, guess_kinds: bool = True, header_row: int = 0) -> WjxExport:
    """Parse one sheet whose row ``header_row`` (0-based; rows above it are titles) is a 问卷星 header.
    ``guess_kinds=False`` skips the generic question-type guess (``WjxQuestion.kind`` stays ``"single"``) when a
    codebook will decide the types anyway."""
    frame = sheet_frame(sh, header_row)
    headers = [parse_header(c) for c in frame.columns]
    if len(set(frame.columns)) != len(frame.columns):
        dup = sorted({c for c in frame.columns if list(frame.columns).count(c) > 1})
        raise DataError(f"列名重复 (duplicate column headers): {dup}", sh.location(row=header_row + 1))
    warnings: list[str] = []
    if header_row:
        warnings.append(
            f"表头在第 {header_row + 1} 行，其上 {header_row} 行标题未读入 "
            f"(header in row {header_row + 1}; the title rows above it are not data)"
        )
    for h in headers:
        if h.kind == "extra":
            warnings.append(f"列 '{h.column}' 未读入 (column not used; may hold personal data)")
        elif h.kind == "unknown":
            warnings.append(f"列 '{h.column}' 无法识别，未读入 (unrecognised column, not used)")

    meta_cols = {h.meta: h.column for h in headers if h.kind == "meta"}
    meta = pd.DataFrame(index=frame.index)
    meta["seq"] = frame[meta_cols["seq"]] if "seq" in meta_cols else pd.Series(frame.index, index=frame.index)
    meta["submitted_at"] = (
        parse_datetime(frame[meta_cols["submitted_at"]]) if "submitted_at" in meta_cols else pd.NaT
    )
    meta["submitted_at"] = meta["submitted_at"].astype("datetime64[ns]")
    meta["duration_s"] = parse_duration(frame[meta_cols["duration"]]) if "duration" in meta_cols else np.nan
    for ours in ("channel", "channel_detail", "ip"):
        meta[ours] = as_text(frame[meta_cols[ours]]) if ours in meta_cols else None
    meta_facts = meta_column_facts(frame, meta_cols, meta, headers)
    for name, facts in meta_facts.items():
        if facts.get("n_unread"):
            warnings.append(
                f"{name} 无法读取 {facts['n_unread']} 格 (unreadable {facts['what']}), "
                f"rows {facts['unread_rows']}, e.g. {facts['unread_examples']}"
            )

    questions: dict[int, WjxQuestion] = {}
    for h in headers:
        if h.kind == "question":
            q = questions.setdefault(h.number, WjxQuestion(h.number, h.stem, h.column))  # type: ignore[arg-type]
            if q.column is None:
                q.column, q.stem = h.column, h.stem
            elif q.column != h.column:
                warnings.append(f"题号 {h.number} 出现两次 (question number twice): '{h.column}' ignored")
        elif h.kind == "sub":
            q = questions.setdefault(h.number, WjxQuestion(h.number, None, None))  # type: ignore[arg-type]
            q.subs.append((h.sub, h.column))  # type: ignore[arg-type]
    answer_cols = [h.column for h in headers if h.kind in ("question", "sub")]
    cells = frame[answer_cols]
    mode, mode_source = _detect_mode(sh.file, cells, questions)
    if guess_kinds:
        for q in questions.values():
            q.kind = _guess_kind(q, cells, mode)
    return WjxExport(
        file=sh.file,
        sheet=sh.name,
        mode=mode,
        encoding=sh.encoding,
        cells=cells,
        headers=headers,
        questions=dict(sorted(questions.items())),
        meta=meta,
        warnings=warnings,
        mode_source=mode_source,
        meta_columns=meta_facts,
    )


def mode_from_filename(path: Path) -> Mode | None:
    """``…_按文本_…`` / ``…_按选项文本…`` → text, ``…_按序号_…`` → code (问卷星's download names)."""
    name = path.name
    if "按文本" in name or "按选项文本" in name:
        return "text"
    if "按序号" in name or "按选项序号" in name:
        return "code"
    return None


def _is_numberish(col: pd.Series) -> bool:
    """Every non-empty cell is a number (float or numeric text), ignoring text-mode markers."""
    if pd.api.types.is_numeric_dtype(col.dtype):
        return True
    _, uniques = factorize(col)
    for v in uniques:
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            continue
        s = str(v).strip()
        if not s or normalize(s) in {"(跳过)", "(空)", "跳过", "空"}:
            continue
        try:
            float(s)
        except ValueError:
            return False
    return True


def _detect_mode(path: Path, cells: pd.DataFrame, questions: dict[int, WjxQuestion]) -> tuple[Mode, str]:
    hinted = mode_from_filename(path)
    if hinted:
        return hinted, "file name"
    # 0/1 option columns only exist in 按序号 mode; otherwise the majority of choice columns decides
    # (fill-in columns hold text in both modes, number questions numbers in both: they cancel out).
    numeric_cols = text_cols = 0
    for q in questions.values():
        cols = ([q.column] if q.column else []) + [c for _, c in q.subs]
        for c in cols:
            if _is_numberish(cells[c]):
                numeric_cols += 1
            else:
                text_cols += 1
    return ("code" if numeric_cols > text_cols else "text"), "cells"


def _guess_kind(q: WjxQuestion, cells: pd.DataFrame, mode: Mode) -> str:
    if q.subs:
        vals = pd.concat([numeric(cells[c]) for _, c in q.subs])
        if mode == "code" and vals.dropna().isin([0, 1, -2, -3]).all():
            return "multiple"
        if (
            mode == "text"
            and all(_is_numberish(cells[c]) for _, c in q.subs)
            and vals.dropna().isin([0, 1]).all()
        ):
            return "multiple"
        return "matrix"
    col = cells[q.column]
    if mode == "text":
        _, uniques = factorize(col)
        texts = [t for t in (cell_text(u) for u in uniques) if t]
        if any(SEPARATOR_MULTI in t for t in texts):
            return "multiple"
        if len(texts) > max(30, int(col.notna().sum()) // 2):
            return "open"
        return "single"
    return "single" if _is_numberish(col) else "open"


def split_multi(col: pd.Series) -> pd.Series:
    """A text-mode multiple-choice column as lists of chosen labels (``┋``-joined; ``→`` for ranking)."""
    text = as_text(col)
    return per_unique(text, lambda s: re.split(f"[{SEPARATOR_MULTI}{SEPARATOR_RANK}]", s))
