"""The warnings a careful analyst wants to see from ingest, one entry each: ``{code, file, message}`` plus the
facts behind the message.

They are built from the per-file entries of ``_ingest_report.json`` (:func:`report_warnings`), listed under its
``warnings`` key, returned in the stage summary and printed by the runner, one line each:

``similar_header``
    a column matched to a codebook item by similarity (:data:`~pipeline.ingest.codebook_match.STEM_SIMILARITY`),
    not by equal text after normalisation: which column, which wording of the YAML, how similar;
``overlapping_files``
    records of one file found again in another file of the same instrument folder
    (:mod:`pipeline.ingest.overlap`): which files, how many records;
``paper_value_out_of_range``
    a paper-entry cell holding no code of the item (written as −9, excluded by the clean stage);
``wrong_extension``, ``cells_outside_table``, ``unknown_column``
    the sheet's layout (:attr:`pipeline.ingest.excel.Sheet.warnings`): a file read by its content because its
    extension says otherwise; cells that hold something beside or far from the table (a note), not read; a
    column of a case-file sheet that the reader does not use.
``unread_meta_values``
    所用时间 or 提交答卷时间 cells that are filled but could not be read (:mod:`pipeline.ingest.timing`): how
    many, the first rows and examples (those records count as having no duration / submit time).
"""

from __future__ import annotations

from typing import Any

#: Machine code → what it means (docs/DATA_CONTRACT.md lists the same).
CODES = {
    "similar_header": "column matched to a codebook item by similarity, not exactly",
    "overlapping_files": "the same records in two files of one instrument folder",
    "paper_value_out_of_range": "paper-entry value that is no code of its item",
    "wrong_extension": "file read by its content: its extension names another type",
    "cells_outside_table": "cells beside or far from the table (a note), not read",
    "unknown_column": "column of a case-file sheet not used",
    "unread_meta_values": "filled duration or submit-time cells that could not be read",
}
_BY = {"seq_time": "序号+提交答卷时间相同", "answers": "答案完全相同"}
_BY_EN = {"seq_time": "same 序号 and submission time", "answers": "identical answers"}


def similar_header(entry: dict[str, Any], match: dict[str, Any]) -> dict[str, Any]:
    return {
        "code": "similar_header",
        "file": entry["file"],
        "message": (
            f"列 '{match['column']}' 按相似度 {match['similarity']:.2f} 对应题目 {match['item']} "
            f"「{match['expected']}」，请核对 (header matched by similarity, not exactly)"
        ),
        **match,
    }


def overlapping_files(entry: dict[str, Any], overlap: dict[str, Any]) -> dict[str, Any]:
    clean = (
        "清洗时按同一答卷人剔除 (clean drops them as duplicates)"
        if overlap["same_survey"]
        else "清洗只在同一问卷星编号内按序号去重，请删去其中一个文件 (remove one file)"
    )
    return {
        "code": "overlapping_files",
        "file": entry["file"],
        "message": (
            f"与 '{overlap['other']}' 有 {overlap['n']:,} / {overlap['n_file']:,} 条记录{_BY[overlap['by']]} "
            f"(records also in another file: {_BY_EN[overlap['by']]})；{clean}"
        ),
        **overlap,
    }


def paper_value_out_of_range(entry: dict[str, Any], cell: dict[str, Any]) -> dict[str, Any]:
    rows = ", ".join(str(r) for r in cell["rows"][:5]) + (" …" if cell["n"] > 5 else "")
    expected = cell["expected"]
    shown = ", ".join(expected[:8]) + (" …" if len(expected) > 8 else "")
    return {
        "code": "paper_value_out_of_range",
        "file": entry["file"],
        "message": (
            f"纸质录入值超出范围: {cell['column']} = '{cell['value']}'，{cell['n']} 处 (行 {rows})；"
            f"应为 {shown}；记为 −9，清洗时剔除 (paper-entry value out of range, written as −9)"
        ),
        "sheet": entry.get("sheet"),
        **{k: cell[k] for k in ("item", "column", "value", "n", "rows")},
    }


def unread_meta_values(entry: dict[str, Any], name: str, facts: dict[str, Any]) -> dict[str, Any]:
    rows = ", ".join(str(r) for r in facts["unread_rows"]) + (" …" if facts["n_unread"] > 5 else "")
    examples = "、".join(f"'{e}'" for e in facts["unread_examples"])
    return {
        "code": "unread_meta_values",
        "file": entry["file"],
        "message": (
            f"列 {facts['column']} 有 {facts['n_unread']:,} / {facts['n_filled']:,} 格无法读取 (行 {rows})，"
            f"如 {examples}；这些记录视为没有{name} (unreadable {facts['what']}, read as missing)"
        ),
        "sheet": entry.get("sheet"),
        "column": facts["column"],
        "n": facts["n_unread"],
        "rows": facts["unread_rows"],
        "examples": facts["unread_examples"],
    }


def report_warnings(files: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every warning of the file entries of ``_ingest_report.json``, file by file in the order read."""
    out: list[dict[str, Any]] = []
    for entry in files:
        out += [
            {**w, "file": entry["file"], "sheet": entry.get("sheet")}
            for w in entry.get("layout_warnings", [])
        ]
        out += [similar_header(entry, m) for m in entry.get("similar_matches", [])]
        out += [overlapping_files(entry, o) for o in entry.get("overlaps", [])]
        if entry.get("mode") == "paper":
            out += [paper_value_out_of_range(entry, c) for c in entry.get("invalid_cells", [])]
        for name, facts in (entry.get("meta_columns") or {}).items():
            if facts.get("n_unread"):
                out.append(unread_meta_values(entry, name, facts))
    return out
