"""Write :class:`~pipeline.simulate.responses.Responses` as a 问卷星 export (domain.md §5).

Layout (both modes): ``序号, 提交答卷时间, 所用时间, 来源, 来源详情, 来自IP`` then one column per item in form order.

- Single choice / fill-in / whole multiple choice (text mode): header ``N、题干`` (a few with a trailing space).
- Matrix rows: ``matrix_style="number"`` → ``N(行标题)``; ``"di"`` → ``第N题(行标题)`` (one style per file).
- 按选项文本 (``mode="text"``): option texts; multiple choice joined by ``┋``; "other" as ``其他〖text〗``;
  skipped ``(跳过)``; empty fill-in ``(空)``; unanswered = empty cell.
- 按选项序号 (``mode="code"``): option codes; one 0/1 column ``第N题(选项)`` per multiple-choice option; skipped −3.
- ``所用时间`` ``125秒``; ``提交答卷时间`` text ``2023/7/12 10:23:45``.

``.xlsx`` is written with xlsxwriter (constant-memory, fixed document dates → byte-identical reruns); ``.csv`` as
UTF-8 with BOM. Code → text mapping and multiple-choice joining are vectorised (lookup tables over codes and over
the bitmask of chosen options), so a million rows need no per-cell Python work before the file writer.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import xlsxwriter

from pipeline.simulate.responses import BLANK, SKIPPED, Responses

META_COLUMNS = ("序号", "提交答卷时间", "所用时间", "来源", "来源详情", "来自IP")
MULTI_SEP = "┋"
SKIP_TEXT = "(跳过)"
EMPTY_TEXT = "(空)"
#: document creation date written into every workbook (reruns must give identical bytes).
FIXED_CREATED = dt.datetime(2023, 9, 1, 9, 0, 0)


def format_times(t: np.ndarray) -> np.ndarray:
    """datetime64[s] → ``2023/7/12 10:23:45`` (no zero padding of month and day, as 问卷星 writes)."""
    s = pd.DatetimeIndex(t)
    hms = pd.Series(s.strftime("%H:%M:%S"))
    out = (
        pd.Series(s.year.astype(str))
        + "/"
        + pd.Series(s.month.astype(str))
        + "/"
        + pd.Series(s.day.astype(str))
        + " "
        + hms
    )
    return out.to_numpy(dtype=object)


def _lookup(codes: np.ndarray, table: dict[int, object], skipped: object) -> np.ndarray:
    """Vectorised code → value with BLANK → None and SKIPPED → ``skipped``."""
    keys = np.array(sorted(table), dtype=np.int64)
    vals = np.array([table[k] for k in keys], dtype=object)
    pos = np.searchsorted(keys, codes)
    pos = np.clip(pos, 0, len(keys) - 1)
    out = vals[pos].copy()
    out[codes == BLANK] = None
    out[codes == SKIPPED] = skipped
    return out


def _multi_text(
    sel: np.ndarray, labels: list[str], other_idx: int | None, other: np.ndarray | None
) -> np.ndarray:
    """Join chosen option texts with ┋ via a lookup over the bitmask of choices."""
    skipped = sel[:, 0] == SKIPPED
    bits = np.where(sel > 0, 1, 0).astype(np.int64)
    mask = (bits << np.arange(sel.shape[1], dtype=np.int64)).sum(axis=1)
    used = np.unique(mask)
    table = {int(m): MULTI_SEP.join(labels[k] for k in range(len(labels)) if m >> k & 1) for m in used}
    out = _lookup(mask, table, SKIP_TEXT)
    if other_idx is not None and other is not None:
        has = (bits[:, other_idx] == 1) & (other != "")
        label = labels[other_idx]
        out[has] = [s.replace(label, f"{label}〖{t}〗") for s, t in zip(out[has], other[has], strict=True)]
    out[skipped] = SKIP_TEXT
    out[mask == 0] = None
    out[skipped] = SKIP_TEXT
    return out


def export_columns(
    resp: Responses,
    mode: str,
    *,
    matrix_style: str = "number",
    trailing_space: frozenset[int] = frozenset(),
    first_id: int = 1,
) -> list[tuple[str, np.ndarray]]:
    """The export as ``(header, values)`` columns (values: object arrays of str/int/None)."""
    if mode not in ("text", "code"):
        raise ValueError(f"mode must be 'text' or 'code', got {mode!r}")
    cb = resp.codebook
    meta = resp.meta
    cols: list[tuple[str, np.ndarray]] = [
        ("序号", np.arange(first_id, first_id + resp.n, dtype=np.int64).astype(object)),
        ("提交答卷时间", format_times(meta["submitted"])),
        ("所用时间", meta["duration"].astype(str).astype(object) + "秒"),
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
            cols[index[head]][1][row] = raw
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


def write_csv(columns: list[tuple[str, np.ndarray]], path: Path) -> Path:
    """UTF-8 with BOM, same columns as the xlsx export."""
    frame = pd.DataFrame({k: v for k, (_, v) in enumerate(columns)})
    frame.columns = [h for h, _ in columns]
    frame.to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\r\n")
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
    cols = export_columns(resp, mode, matrix_style=matrix_style, trailing_space=trailing_space)
    title = resp.codebook.questionnaire.title
    path = Path(out_dir) / export_name(vid, mode, title, resp.n, resp.n, "csv" if csv else "xlsx")
    return write_csv(cols, path) if csv else write_xlsx(cols, path)


def paper_columns(resp: Responses, paper_ids: np.ndarray, clerks: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """Paper-entry layout (``pipeline.io.paper``): 问卷编号, 录入员, then item ids with codes; a multiple-choice
    item as 0/1 columns ``<id>_<code>`` plus ``<id>_other_text``; blank = not answered."""
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
        elif item.type in ("text", "number"):
            vals = resp.texts[item.id].astype(object).copy()
            vals[vals == ""] = None
            cols.append((item.id, vals))
        else:
            cols.append(
                (item.id, _lookup(resp.codes[item.id], {o.code: o.code for o in item.options}, SKIPPED))
            )
    return cols
