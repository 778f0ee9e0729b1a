"""Write :class:`~pipeline.simulate.responses.Responses` as a 问卷星 export (docs/BACKGROUND.md §5).

Layout (both modes): ``序号, 提交答卷时间, 所用时间, 来源, 来源详情, 来自IP`` then one column per item in form order.

- Single choice / fill-in / whole multiple choice (text mode): header ``N、题干`` (a few with a trailing space).
- Matrix rows: ``matrix_style="number"`` → ``N(行标题)``; ``"di"`` → ``第N题(行标题)`` (one style per file).
- 按选项文本 (``mode="text"``): option texts; multiple choice joined by ``┋``; "other" as ``其他〖text〗``;
  ranking as the ranked options in rank order joined by ``→``; skipped ``(跳过)``; empty fill-in ``(空)``;
  unanswered = empty cell.
- 按选项序号 (``mode="code"``): option codes; one 0/1 column ``第N题(选项)`` per multiple-choice option; one column
  ``第N题(选项)`` per ranking option holding its rank (0 = not ranked); skipped −3.
- ``所用时间`` ``125秒``; ``提交答卷时间`` text ``2023/7/12 10:23:45``.

``.xlsx`` is written with xlsxwriter (constant-memory, fixed document dates → byte-identical reruns); ``.csv`` as
UTF-8 with BOM. Code → text mapping and multiple-choice joining are vectorised (lookup tables over codes and over
the bitmask of chosen options), so a million rows need no per-cell Python work before the file writer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import xlsxwriter

from pipeline.simulate.responses import BLANK, SKIPPED, Responses

META_COLUMNS = ("序号", "提交答卷时间", "所用时间", "来源", "来源详情", "来自IP")
MULTI_SEP = "┋"
RANK_SEP = "→"
SKIP_TEXT = "(跳过)"
EMPTY_TEXT = "(空)"
#: document creation date written into every workbook (reruns must give identical bytes).
FIXED_CREATED = dt.datetime(2023, 9, 1, 9, 0, 0)


def format_times(t: np.ndarray) -> np.ndarray:
    """datetime64[s] → ``2023/7/12 10:23:45`` (no zero padding of month and day, as 问卷星 writes).

    Vectorised: the date part is looked up over the few distinct days, the time part over the seconds of a day.
    """
    t = np.asarray(t, dtype="datetime64[s]")
    days = t.astype("datetime64[D]")
    uniq, inv = np.unique(days, return_inverse=True)
    labels = np.array([f"{d.year}/{d.month}/{d.day} " for d in uniq.astype(object)], dtype=object)
    sec = (t - days).astype(np.int64)
    return labels[inv] + _SECONDS_OF_DAY[sec]


def _seconds_of_day() -> np.ndarray:
    s = np.arange(86400)
    return np.array(
        [f"{h:02d}:{m:02d}:{x:02d}" for h, m, x in zip(s // 3600, s // 60 % 60, s % 60, strict=True)],
        dtype=object,
    )


_SECONDS_OF_DAY = _seconds_of_day()


def format_durations(seconds: np.ndarray) -> np.ndarray:
    """Whole seconds → ``125秒`` (lookup over the distinct values)."""
    uniq, inv = np.unique(np.asarray(seconds, dtype=np.int64), return_inverse=True)
    return np.array([f"{u}秒" for u in uniq], dtype=object)[inv]


@dataclass(frozen=True)
class Labeled:
    """A column as positions into ``labels`` (−1 = empty cell): cheap to build, decoded only when written."""

    index: np.ndarray
    labels: np.ndarray

    def to_object(self) -> np.ndarray:
        out = self.labels[np.maximum(self.index, 0)].copy()
        out[self.index < 0] = None
        return out

    def to_arrow(self) -> pa.Array:
        dictionary = pa.array(self.labels.tolist())
        idx = pa.array(self.index, mask=self.index < 0, type=pa.int32())
        return pa.DictionaryArray.from_arrays(idx, dictionary).dictionary_decode()


#: codes run from SKIPPED (−3) upwards; a lookup table is indexed by ``code + _OFFSET``.
_OFFSET = 3


def _lookup(codes: np.ndarray, table: dict[int, object], skipped: object) -> Labeled:
    """Vectorised code → value with BLANK → empty and SKIPPED → ``skipped`` (direct table indexing)."""
    codes = np.asarray(codes, dtype=np.int64)
    size = max(max(table), int(codes.max(initial=0))) + _OFFSET + 1
    pos = np.full(size, -1, dtype=np.int32)
    labels = [*table.values(), skipped]
    for k, code in enumerate(table):
        pos[code + _OFFSET] = k
    pos[SKIPPED + _OFFSET] = len(labels) - 1
    pos[BLANK + _OFFSET] = -1
    return Labeled(pos[codes + _OFFSET], np.array(labels, dtype=object))


def _multi_text(
    sel: np.ndarray, labels: list[str], other_idx: int | None, other: np.ndarray | None
) -> np.ndarray:
    """Join chosen option texts with ┋ via a lookup over the bitmask of choices."""
    skipped = sel[:, 0] == SKIPPED
    bits = np.where(sel > 0, 1, 0).astype(np.int64)
    mask = (bits << np.arange(sel.shape[1], dtype=np.int64)).sum(axis=1)
    used = np.unique(mask)
    table = {int(m): MULTI_SEP.join(labels[k] for k in range(len(labels)) if m >> k & 1) for m in used}
    out = _lookup(mask, table, SKIP_TEXT).to_object()
    if other_idx is not None and other is not None:
        has = (bits[:, other_idx] == 1) & (other != "")
        label = labels[other_idx]
        out[has] = [s.replace(label, f"{label}〖{t}〗") for s, t in zip(out[has], other[has], strict=True)]
    out[skipped] = SKIP_TEXT
    out[mask == 0] = None
    out[skipped] = SKIP_TEXT
    return out


def _rank_text(ranks: np.ndarray, labels: list[str]) -> np.ndarray:
    """Ranks (rows × options, 0 = not ranked) → the ranked labels in rank order joined by →, once per distinct
    answer."""
    skipped = ranks[:, 0] == SKIPPED
    uniq, inv = np.unique(np.maximum(ranks, 0), axis=0, return_inverse=True)
    texts = np.empty(len(uniq), dtype=object)
    for j, row in enumerate(uniq):
        order = [k for k in np.argsort(row, kind="stable") if row[k] > 0]
        texts[j] = RANK_SEP.join(labels[k] for k in order) if order else None
    out = texts[inv.reshape(-1)]
    out[skipped] = SKIP_TEXT
    return out


def export_columns(
    resp: Responses,
    mode: str,
    *,
    matrix_style: str = "number",
    trailing_space: frozenset[int] = frozenset(),
    first_id: int = 1,
    lazy: bool = False,
) -> list[tuple[str, np.ndarray]]:
    """The export as ``(header, values)`` columns (values: object arrays of str/int/None; with ``lazy``,
    option columns stay :class:`Labeled` for a fast CSV write)."""
    if mode not in ("text", "code"):
        raise ValueError(f"mode must be 'text' or 'code', got {mode!r}")
    cb = resp.codebook
    meta = resp.meta
    cols: list[tuple[str, np.ndarray]] = [
        ("序号", np.arange(first_id, first_id + resp.n, dtype=np.int64).astype(object)),
        ("提交答卷时间", format_times(meta["submitted"])),
        ("所用时间", format_durations(meta["duration"])),
        ("来源", meta["channel"]),
        ("来源详情", meta["channel_detail"]),
        ("来自IP", meta["ip"]),
    ]
    header_of: dict[str, str] = {}
    for item in cb.items:
        sp = " " if item.number in trailing_space else ""
        if item.type == "matrix":
            head = (
                f"{item.number}({item.row_text})"
                if matrix_style == "number"
                else f"第{item.number}题({item.row_text})"
            )
            table = item.text_by_code if mode == "text" else {o.code: o.code for o in item.options}
            cols.append((head, _lookup(resp.codes[item.id], table, SKIP_TEXT if mode == "text" else SKIPPED)))
        elif item.type == "single":
            head = f"{item.number}、{item.question_text}{sp}"
            table = item.text_by_code if mode == "text" else {o.code: o.code for o in item.options}
            cols.append((head, _lookup(resp.codes[item.id], table, SKIP_TEXT if mode == "text" else SKIPPED)))
        elif item.type == "multiple":
            sel = resp.multi[item.id]
            other_idx = next((k for k, o in enumerate(item.options) if o.other), None)
            if mode == "text":
                head = f"{item.number}、{item.question_text}{sp}"
                labels = [o.text for o in item.options]
                cols.append((head, _multi_text(sel, labels, other_idx, resp.other.get(item.id))))
            else:
                for k, o in enumerate(item.options):
                    head = f"第{item.number}题({o.text})"
                    cols.append((head, sel[:, k].astype(np.int64).astype(object)))
        elif item.type == "ranking":
            ranks = resp.multi[item.id]
            if mode == "text":
                head = f"{item.number}、{item.question_text}{sp}"
                cols.append((head, _rank_text(ranks, [o.text for o in item.options])))
            else:
                for k, o in enumerate(item.options):
                    head = f"第{item.number}题({o.text})"
                    cols.append((head, ranks[:, k].astype(np.int64).astype(object)))
        else:  # text / number fill-in
            head = f"{item.number}、{item.question_text}{sp}"
            vals = resp.texts[item.id].astype(object).copy()
            vals[vals == ""] = EMPTY_TEXT
            cols.append((head, vals))
        header_of[item.id] = head
    index = {h: k for k, (h, _) in enumerate(cols)}
    for (row, item_id), raw in sorted(resp.overrides.items()):
        head = item_id if item_id in index else header_of.get(item_id)
        if head is not None:
            k = index[head]
            values = cols[k][1]
            if isinstance(values, Labeled):
                values = values.to_object()
                cols[k] = (head, values)
            values[row] = raw
    if not lazy:
        cols = [(h, v.to_object() if isinstance(v, Labeled) else v) for h, v in cols]
    return cols


def write_xlsx(columns: list[tuple[str, np.ndarray]], path: Path, *, sheet: str = "Sheet1") -> Path:
    """Write header + rows with xlsxwriter in constant-memory mode and a fixed creation date."""
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False})
    wb.set_properties({"created": FIXED_CREATED, "author": "问卷星"})
    ws = wb.add_worksheet(sheet)
    ws.write_row(0, 0, [h for h, _ in columns])
    matrix = np.empty((len(columns[0][1]), len(columns)), dtype=object)
    for k, (_, v) in enumerate(columns):
        matrix[:, k] = v
    for r, row in enumerate(matrix.tolist(), start=1):
        ws.write_row(r, 0, row)
    wb.close()
    return path


def _arrow_column(values: np.ndarray | Labeled) -> pa.Array:
    if isinstance(values, Labeled):
        return values.to_arrow()
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([None if v is None else str(v) for v in values], type=pa.string())


def write_csv(columns: list[tuple[str, np.ndarray]], path: Path) -> Path:
    """UTF-8 with BOM, same columns as the xlsx export; quoted only where needed (pyarrow's C++ writer: fast)."""
    table = pa.table([_arrow_column(v) for _, v in columns], names=[f"c{k}" for k in range(len(columns))])
    with open(path, "wb") as fh:
        fh.write("\ufeff".encode())
        header = pa.table([pa.array([], pa.string()) for _ in columns], names=[h for h, _ in columns])
        pacsv.write_csv(header, fh, pacsv.WriteOptions(quoting_style="needed"))
        pacsv.write_csv(table, fh, pacsv.WriteOptions(include_header=False, quoting_style="needed"))
    return path


def export_name(vid: int, mode: str, title: str, n_total: int, n_valid: int, ext: str) -> str:
    """``{vid}_按文本_{标题}_{总数}_{有效数}.xlsx`` (``按序号`` for code mode)."""
    label = {"text": "按文本", "code": "按序号"}[mode]
    return f"{vid}_{label}_{title}_{n_total}_{n_valid}.{ext}"


def write_export(
    resp: Responses,
    out_dir: Path,
    *,
    mode: str,
    vid: int,
    csv: bool = False,
    matrix_style: str = "number",
    trailing_space: frozenset[int] = frozenset(),
) -> Path:
    """Write a complete export file into ``out_dir`` and return its path."""
    cols = export_columns(resp, mode, matrix_style=matrix_style, trailing_space=trailing_space, lazy=csv)
    title = resp.codebook.questionnaire.title
    path = Path(out_dir) / export_name(vid, mode, title, resp.n, resp.n, "csv" if csv else "xlsx")
    return write_csv(cols, path) if csv else write_xlsx(cols, path)


def paper_columns(resp: Responses, paper_ids: np.ndarray, clerks: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """Paper-entry layout (``pipeline.ingest.paper``): 问卷编号, 录入员, then item ids with codes; a multiple-choice
    item as 0/1 columns ``<id>_<code>`` plus ``<id>_other_text``; a ranking item as ``<id>_<code>`` holding the
    option's rank (blank = not ranked); blank = not answered."""
    cols: list[tuple[str, np.ndarray]] = [("问卷编号", paper_ids), ("录入员", clerks)]
    for item in resp.codebook.items:
        if item.type == "multiple":
            sel = resp.multi[item.id]
            for k, o in enumerate(item.options):
                cols.append((f"{item.id}_{o.code}", sel[:, k].astype(np.int64).astype(object)))
            if any(o.other for o in item.options):
                other = resp.other[item.id].astype(object).copy()
                other[other == ""] = None
                cols.append((f"{item.id}_other_text", other))
        elif item.type == "ranking":
            ranks = resp.multi[item.id]
            for k, o in enumerate(item.options):
                vals = ranks[:, k].astype(np.int64).astype(object)
                vals[ranks[:, k] == 0] = None
                cols.append((f"{item.id}_{o.code}", vals))
        elif item.type in ("text", "number"):
            vals = resp.texts[item.id].astype(object).copy()
            vals[vals == ""] = None
            cols.append((item.id, vals))
        else:
            cols.append(
                (
                    item.id,
                    _lookup(resp.codes[item.id], {o.code: o.code for o in item.options}, SKIPPED).to_object(),
                )
            )
    return cols
