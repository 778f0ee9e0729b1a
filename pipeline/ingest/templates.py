"""Blank Excel templates for data entry (``fazhi-eval template public|staff|casefile|checkpoints``).

Each template has the exact header the ingest readers expect and openpyxl drop-down lists (data validation) so
that typists can only enter valid codes; long lists (units, observation points) live in a ``选项`` sheet and are
referenced by range because an inline list is limited to 255 characters. A ``说明`` sheet explains the codes.
"""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation

from pipeline.config import Config
from pipeline.errors import DataError
from pipeline.ingest.codebook_match import max_rank
from pipeline.ingest.paper import PAPER_DATE, PAPER_ID, paper_columns_of
from pipeline.safe_cells import save_workbook

KINDS = ("public", "staff", "casefile", "checkpoints")
ROWS = 2000
"""Rows the validation ranges cover."""
CASEFILE_HEAD = ("案卷编号", "被评查单位", "案卷类型", "评查人")
CASEFILE_TAIL = ("评查得分", "评查等级", "备注")
CHECKPOINT_HEAD = ("被评估单位", "观察点编号", "来源", "评价", "备注")
SOURCE_LABELS = {"document": "资料核查", "online": "网络检索", "site": "实地查看"}
"""Drop-down labels of 来源; each is a key of :data:`pipeline.ingest.checkpoint_sheets.SOURCE_NAMES`."""
_INLINE_LIMIT = 255


def _validation(ws, col: int, first_row: int, formula: str, prompt: str, *, kind: str = "list") -> None:
    dv = DataValidation(type=kind, formula1=formula, allow_blank=True, showErrorMessage=True)
    if kind == "whole":
        dv = DataValidation(
            type="whole", operator="greaterThanOrEqual", formula1="0", allow_blank=True, showErrorMessage=True
        )
    dv.error = f"请输入有效值: {prompt}"[:225]
    dv.errorTitle = "无效输入"
    dv.prompt = prompt[:250]
    letter = get_column_letter(col)
    dv.add(f"{letter}{first_row}:{letter}{first_row + ROWS}")
    ws.add_data_validation(dv)


class _Lists:
    """Values for long drop-down lists, one column each in the ``选项`` sheet."""

    def __init__(self, wb: Workbook):
        self.ws = wb.create_sheet("选项")
        self.n = 0

    def formula(self, values: list[str]) -> str:
        inline = ",".join(values)
        if len(inline) + 2 <= _INLINE_LIMIT and not any("," in v for v in values):
            return f'"{inline}"'
        self.n += 1
        letter = get_column_letter(self.n)
        for r, v in enumerate(values, start=1):
            self.ws.cell(row=r, column=self.n, value=v)
        return f"{quote_sheetname('选项')}!${letter}$1:${letter}${len(values)}"


def _header(ws, names: list[str], row: int, notes: dict[str, str] | None = None) -> None:
    for c, name in enumerate(names, start=1):
        cell = ws.cell(row=row, column=c, value=name)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        if notes and name in notes:
            cell.comment = Comment(notes[name][:1000], "fazhi-eval")
        ws.column_dimensions[get_column_letter(c)].width = max(10, min(28, len(name) * 2 + 2))
    ws.freeze_panes = ws.cell(row=row + 1, column=1)


def _survey(wb: Workbook, config: Config, instrument: str) -> None:
    cb = config.codebook(instrument)
    ws = wb.active
    ws.title = "录入"
    lists = _Lists(wb)
    names = [PAPER_ID, PAPER_DATE]
    notes = {PAPER_ID: "纸质问卷右上角的编号（必填）", PAPER_DATE: "调查日期，如 2023/7/12"}
    rules: dict[str, tuple[str, str]] = {}
    doc = wb.create_sheet("说明")
    doc.append(["列名", "题号", "题目", "代码 = 选项"])
    for it in cb.items:
        for col in paper_columns_of(it):
            names.append(col)
            if col.endswith("_other_text"):
                notes[col] = f"第{it.number}题 选“其他”时填写的内容"
                continue
            if it.type == "ranking":
                code = int(col.rsplit("_", 1)[1])
                text = it.text_by_code[code]
                top = max_rank(it)
                notes[col] = (
                    f"第{it.number}题 {it.question_text}（排序题，排前 {top} 位）\n"
                    f"选项「{text}」排第几位：填 1–{top}，未排留空"
                )
                rules[col] = (lists.formula([str(r) for r in range(1, top + 1)]), f"{text}: 名次 1–{top}")
                doc.append([col, it.number, it.text, f"「{text}」的名次 (1 = 第一位)，未排留空"])
            elif it.type == "multiple":
                code = int(col.rsplit("_", 1)[1])
                text = it.text_by_code[code]
                notes[col] = f"第{it.number}题 {it.question_text}\n选项「{text}」：选 1，未选 0"
                rules[col] = ('"0,1"', f"{text}: 1=选, 0=未选")
                doc.append([col, it.number, it.text, f"1 = 选了「{text}」, 0 = 未选"])
            elif it.type in ("single", "matrix"):
                desc = "；".join(f"{o.code}={o.text}" for o in it.options)
                notes[col] = f"第{it.number}题 {it.text}\n{desc}"
                rules[col] = (lists.formula([str(o.code) for o in it.options]), desc)
                doc.append([col, it.number, it.text, desc])
            else:
                notes[col] = f"第{it.number}题 {it.text}（填空，原文录入；勿录入电话、身份证号）"
                doc.append([col, it.number, it.text, "填空"])
    _header(ws, names, 1, notes)
    for c, name in enumerate(names, start=1):
        if name in rules:
            _validation(ws, c, 2, *rules[name])


def _casefile(wb: Workbook, config: Config) -> None:
    std = config.casefile
    ws = wb.active
    ws.title = "评查表"
    lists = _Lists(wb)
    vetoes = [f"{v.code} {v.text}" for v in std.vetoes]
    defects = [f"{d.code} {d.text}" for c in std.categories for d in c.defects]
    names = list(CASEFILE_HEAD) + vetoes + defects + list(CASEFILE_TAIL)
    ws.cell(row=1, column=1, value=f"{std.title}——案卷评查表").font = Font(bold=True, size=14)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(names))
    ws.cell(
        row=2, column=1, value="填表说明：否决项填 1（是）或 0（否）；扣分项填出现的处数（无则填 0 或留空）。"
    )
    notes = {f"{v.code} {v.text}": f"否决项：任一成立即为{std.veto_grade}卷" for v in std.vetoes}
    for c in std.categories:
        for d in c.defects:
            per = "每处" if d.per == "occurrence" else "每卷一次"
            notes[f"{d.code} {d.text}"] = (
                f"{c.name}（本类最多扣 {c.max_points:g} 分）：{per}扣 {d.deduction:g} 分"
            )
    _header(ws, names, 3, notes)
    units = [u.name for u in config.units.units]
    _validation(ws, 2, 4, lists.formula(units), "被评查单位（units.yaml 中的单位名称）")
    _validation(ws, 3, 4, lists.formula(list(std.case_types)), "案卷类型")
    for k in range(len(vetoes)):
        _validation(ws, 5 + k, 4, '"0,1"', "1=是, 0=否")
    for k in range(len(defects)):
        _validation(ws, 5 + len(vetoes) + k, 4, "0", "出现处数 (≥0)", kind="whole")
    _validation(ws, len(names) - 1, 4, lists.formula([g.grade for g in std.grades]), "评查等级")


def _checkpoints(wb: Workbook, config: Config) -> None:
    ws = wb.active
    ws.title = "核查表"
    lists = _Lists(wb)
    names = list(CHECKPOINT_HEAD)
    _header(ws, names, 1)
    points = [p for a in config.indicators.aspects for i in a.items for p in i.points]
    point_values = [p.id for p in points if set(p.sources) & set(SOURCE_LABELS)]
    _validation(ws, 1, 2, lists.formula([u.name for u in config.units.units]), "被评估单位")
    _validation(ws, 2, 2, lists.formula(point_values), "观察点编号 (indicators.yaml)")
    _validation(ws, 3, 2, lists.formula(list(SOURCE_LABELS.values())), "资料核查/网络检索/实地查看")
    _validation(ws, 4, 2, lists.formula(list(config.indicators.checkpoint_scores)), "评价")
    doc = wb.create_sheet("观察点")
    doc.append(["编号", "名称", "来源"])
    for p in points:
        doc.append([p.id, p.name, "、".join(SOURCE_LABELS.get(s, s) for s in p.sources)])


def write_template(config: Config, kind: str, path: str | Path) -> Path:
    """Write the blank entry workbook of ``kind`` (public | staff | casefile | checkpoints) to ``path``."""
    if kind not in KINDS:
        raise DataError(f"未知模板类型 (unknown template kind) '{kind}': expected one of {KINDS}")
    wb = Workbook()
    if kind in ("public", "staff"):
        _survey(wb, config, kind)
    elif kind == "casefile":
        _casefile(wb, config)
    else:
        _checkpoints(wb, config)
    return save_workbook(wb, path)  # texts from the configuration cannot become formulas
