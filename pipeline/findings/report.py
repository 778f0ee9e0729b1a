"""What people use: ``findings.json``, ``findings.md`` (共性问题 then 个性问题) and ``problem_list.xlsx`` (the
commissioning office's 问题清单: one row per problem × unit, with the close-out columns left to fill)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.findings.records import KIND_NAMES

STATUS_OPTIONS = ("未整改", "整改中", "待验收", "已销号", "长期坚持")
#: problem_list.xlsx columns: filled by the pipeline, then the four the office fills in.
LIST_COLUMNS = ["问题编号", "问题类型", "序号", "单位代码", "单位", "指标", "问题表述", "证据", "整改建议", "依据",
                "销号标准"]  # fmt: skip
FILL_COLUMNS = ["责任单位", "整改时限", "整改状态", "销号日期"]
LIST_SHEET = "问题清单"


def _num(x: Any) -> float | None:
    return None if x is None or (isinstance(x, float) and not np.isfinite(x)) else round(float(x), 4)


def findings_json(records: pd.DataFrame, parameters: dict[str, float], review: list[dict]) -> dict[str, Any]:
    """``findings.json`` (schema in docs/DATA_CONTRACT.md, 08_findings)."""
    out = []
    for fid, g in records.groupby("id", sort=False):
        f = g.iloc[0]
        out.append({
            "id": fid, "kind": f["kind"], "kind_name": KIND_NAMES.get(f["kind"], f["kind"]), "item": f["item"],
            "unit": f["unit"], "path": f["path"], "rank": int(f["rank"]), "severity": _num(f["severity"]),
            "rule": f["rule"], "share": _num(f["share"]), "n_applicable": int(f["n_applicable"]),
            "units": [
                {"unit": r.member, "name": r.member_name, "score": _num(r.score), "ci_low": _num(r.ci_low),
                 "ci_high": _num(r.ci_high), "n": _num(r.n), "posterior": _num(r.posterior),
                 "veto": bool(r.veto), "evidence": r.evidence}
                for r in g.itertuples(index=False)
            ],
            "problem": f["problem"], "suggestion": f["suggestion"], "basis": f["basis"],
            "responsible": f["responsible"], "closure": f["closure"], "status": f["status"], "note": f["note"],
        })  # fmt: skip
    return {"model": {k: _num(v) for k, v in parameters.items()}, "review": review, "findings": out}


def findings_markdown(records: pd.DataFrame) -> str:
    """The Chinese narrative: 共性问题 then 个性问题, each a short paragraph with its evidence."""
    lines = ["# 评估发现的问题", ""]
    for kind in ("common", "individual"):
        part = records[records["kind"] == kind]
        n = part["id"].nunique()
        lines += [f"## {KIND_NAMES[kind]}（{n} 项）", ""]
        if not n:
            lines += ["未发现。", ""]
        for _fid, g in part.groupby("id", sort=False):
            f = g.iloc[0]
            units = "、".join(
                f"{r.member_name}（{r.score:.1f} 分）" if np.isfinite(r.score) else r.member_name
                for r in g.itertuples(index=False)
            )
            lines.append(f"### {int(f['rank'])}. {f['path']}")
            lines.append("")
            lines.append(f["problem"] or f["path"])
            lines.append("")
            lines.append(f"涉及单位（{len(g)} 个，占适用单位 {f['share']:.0%}）：{units}。")
            lines.append("")
            ev = [f"{r.member_name}：{r.evidence}" for r in g.itertuples(index=False) if r.evidence][:5]
            if ev:
                lines.append("主要证据：" + "；".join(ev) + ("；等。" if len(g) > 5 else "。"))
                lines.append("")
            lines.append(f"整改建议：{f['suggestion']}" + (f"（依据：{f['basis']}）" if f["basis"] else ""))
            lines.append("")
    return "\n".join(lines)


def problem_list(records: pd.DataFrame) -> pd.DataFrame:
    """One row per problem × unit, in rank order, with the office's columns empty."""
    rows = []
    for i, r in enumerate(records.itertuples(index=False), start=1):
        rows.append([r.id, KIND_NAMES.get(r.kind, r.kind), i, r.member, r.member_name, r.path, r.problem,
                     r.evidence, r.suggestion, r.basis, r.closure, r.responsible or "", "", "", ""])  # fmt: skip
    return pd.DataFrame(rows, columns=LIST_COLUMNS + FILL_COLUMNS)


def write_problem_list(records: pd.DataFrame, path: Path) -> Path:
    """``problem_list.xlsx``: frozen header, a drop-down on 整改状态, a date rule on 销号日期, landscape A4 with
    the header repeated on every printed page; written through :func:`pipeline.safe_cells.save_workbook`."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    from pipeline.safe_cells import save_workbook

    table = problem_list(records)
    wb = Workbook()
    ws = wb.active
    ws.title = LIST_SHEET
    ws.append(list(table.columns))
    for row in table.itertuples(index=False):
        ws.append(list(row))
    widths = {"问题编号": 18, "问题类型": 10, "序号": 6, "单位代码": 10, "单位": 18, "指标": 30, "问题表述": 50,
              "证据": 50, "整改建议": 45, "依据": 30, "销号标准": 30, "责任单位": 20, "整改时限": 12,
              "整改状态": 10, "销号日期": 12}  # fmt: skip
    for j, name in enumerate(table.columns, start=1):
        ws.column_dimensions[get_column_letter(j)].width = widths.get(name, 12)
        head = ws.cell(row=1, column=j)
        head.font = Font(bold=True)
        head.fill = PatternFill("solid", fgColor="DDEBF7")
    wrap = Alignment(wrap_text=True, vertical="top")
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = wrap
    last = max(ws.max_row, 2) + 500  # room for rows the office adds by hand
    status_col = get_column_letter(table.columns.get_loc("整改状态") + 1)
    dv = DataValidation(type="list", formula1='"' + ",".join(STATUS_OPTIONS) + '"', allow_blank=True)
    dv.error, dv.errorTitle = "请从下拉列表选择整改状态", "整改状态"
    dv.add(f"{status_col}2:{status_col}{last}")
    ws.add_data_validation(dv)
    for name in ("整改时限", "销号日期"):
        col = get_column_letter(table.columns.get_loc(name) + 1)
        dd = DataValidation(type="date", operator="greaterThan", formula1="36526", allow_blank=True)
        dd.error, dd.errorTitle = "请填写日期（如 2024-06-30）", name
        dd.add(f"{col}2:{col}{last}")
        ws.add_data_validation(dd)
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(table.columns))}{max(ws.max_row, 1)}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "1:1"
    ws.oddFooter.center.text = "第 &P 页，共 &N 页"
    return _without_times(save_workbook(wb, path))


FIXED_TIME = "2000-01-01T00:00:00Z"


def _without_times(path: Path) -> Path:
    """Rewrite the saved workbook with fixed zip-entry times and document dates, so two runs on the same inputs
    write byte-identical files (openpyxl stamps the time of saving into both)."""
    import re
    import zipfile

    with zipfile.ZipFile(path) as src:
        entries = [(info, src.read(info.filename)) for info in src.infolist()]
    tmp = path.with_name(f".{path.name}.tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for info, data in entries:
            if info.filename == "docProps/core.xml":
                data = re.sub(
                    rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(<)",
                    rb"\g<1>" + FIXED_TIME.encode() + rb"\2",
                    data,
                )
            fixed = zipfile.ZipInfo(info.filename, date_time=(2000, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(fixed, data)
    tmp.replace(path)
    return path
