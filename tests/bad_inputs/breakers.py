"""Breakers: each takes a copy of a good raw folder and of the configuration and breaks one thing in place.

Every breaker has the signature ``breaker(raw: Path, config: Path) -> None``. The raw folder is a simulated
sample (``raw/public/`` holds a 按文本 问卷星 export and a paper-entry workbook, ``raw/staff/`` a 按序号 export,
``raw/casefiles/`` four review workbooks, ``raw/checkpoints/`` three checkpoint sheets). Nothing here is
committed as a binary file: every broken file is made from the sample when the corpus is built.
"""

from __future__ import annotations

import csv
import shutil
from collections.abc import Callable
from pathlib import Path

import openpyxl
import yaml

Breaker = Callable[[Path, Path], None]


# --------------------------------------------------------------------------------------------------------------
# helpers


def export_file(raw: Path, instrument: str = "public") -> Path:
    """The 问卷星 export of an instrument folder (its name carries 按文本 or 按序号)."""
    return next(p for p in sorted((raw / instrument).iterdir()) if "按" in p.name)


def paper_file(raw: Path) -> Path:
    return raw / "public" / "纸质问卷录入.xlsx"


def casefile(raw: Path, group: int = 1) -> Path:
    return raw / "casefiles" / f"评查组{group}_案卷评查表.xlsx"


def checkpoint_file(raw: Path) -> Path:
    return raw / "checkpoints" / "网络检索表.xlsx"


def edit_workbook(path: Path, change: Callable[[openpyxl.worksheet.worksheet.Worksheet], None]) -> None:
    """Open ``path`` with openpyxl, apply ``change`` to its first sheet, save it in place."""
    wb = openpyxl.load_workbook(path)
    change(wb.worksheets[0])
    wb.save(path)


def column_of(ws, header_start: str, header_row: int = 1) -> int:
    """1-based column whose header (in ``header_row``) starts with ``header_start``."""
    for cell in ws[header_row]:
        if str(cell.value or "").startswith(header_start):
            return cell.column
    raise KeyError(header_start)


def header_row_of(ws, first: str) -> int:
    """1-based row whose first cell is ``first`` (a header below title rows)."""
    for row in ws.iter_rows(min_row=1, max_row=15):
        if str(row[0].value or "").strip() == first:
            return row[0].row
    raise KeyError(first)


def as_csv(path: Path, encoding: str, *, suffix: str = ".csv") -> Path:
    """Write the first sheet of ``path`` as a CSV next to it (``encoding``, no BOM) and delete the workbook."""
    ws = openpyxl.load_workbook(path).worksheets[0]
    path.unlink()
    out = path.with_suffix(suffix)
    with open(out, "w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh)
        for row in ws.iter_rows(values_only=True):
            writer.writerow(["" if v is None else v for v in row])
    return out


def edit_yaml(path: Path, change: Callable[[dict], None]) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


# --------------------------------------------------------------------------------------------------------------
# columns of a 问卷星 export


def rename_question(raw: Path, config: Path) -> None:
    """A required question's header retyped as another question (题干 changed beyond recognition)."""
    edit_workbook(export_file(raw), lambda ws: ws.cell(1, column_of(ws, "2、"), "2、您每月的收入水平"))


def delete_question(raw: Path, config: Path) -> None:
    """A required question's column deleted."""
    edit_workbook(export_file(raw), lambda ws: ws.delete_cols(column_of(ws, "2、")))


def duplicate_column(raw: Path, config: Path) -> None:
    """A question column copied next to itself (same header twice)."""

    def change(ws):
        c = column_of(ws, "3、")
        ws.insert_cols(c + 1)
        for r in range(1, ws.max_row + 1):
            ws.cell(r, c + 1, ws.cell(r, c).value)

    edit_workbook(export_file(raw), change)


def shuffle_columns(raw: Path, config: Path) -> None:
    """Question columns in another order (reversed), the meta columns first as before."""

    def change(ws):
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
        order = list(range(6)) + list(reversed(range(6, len(rows[0]))))
        for r, row in enumerate(rows, start=1):
            for c, k in enumerate(order, start=1):
                ws.cell(r, c, row[k])

    edit_workbook(export_file(raw), change)


def title_rows(raw: Path, config: Path) -> None:
    """Two title rows typed above a 问卷星 header (a report-ready copy of the export)."""

    def change(ws):
        ws.insert_rows(1, 2)
        ws.cell(1, 1, "兰州市法治建设社会公众满意度调查 原始数据")
        ws.cell(2, 1, "导出日期：2023年7月20日")

    edit_workbook(export_file(raw), change)


def hidden_rows(raw: Path, config: Path) -> None:
    """Rows 5–9 hidden in Excel: they are still data."""

    def change(ws):
        for r in range(5, 10):
            ws.row_dimensions[r].hidden = True

    edit_workbook(export_file(raw), change)


def blank_first_sheet(raw: Path, config: Path) -> None:
    """An empty sheet inserted before the data sheet."""
    path = export_file(raw)
    wb = openpyxl.load_workbook(path)
    wb.create_sheet("说明", 0)
    wb.save(path)


def fullwidth_codes(raw: Path, config: Path) -> None:
    """Codes of a 按序号 export retyped with full-width digits (３ for 3)."""

    def change(ws):
        c = column_of(ws, "3、")
        for r in range(2, ws.max_row + 1):
            v = ws.cell(r, c).value
            if isinstance(v, (int, float)):
                ws.cell(r, c, str(int(v)).translate(str.maketrans("0123456789", "０１２３４５６７８９")))

    edit_workbook(export_file(raw, "staff"), change)


def trailing_spaces(raw: Path, config: Path) -> None:
    """Option texts of a 按文本 export with trailing (and full-width) spaces."""

    def change(ws):
        c = column_of(ws, "2、")
        for r in range(2, ws.max_row + 1):
            v = ws.cell(r, c).value
            if isinstance(v, str):
                ws.cell(r, c, v + (" " if r % 2 else "\u3000"))

    edit_workbook(export_file(raw), change)


def gbk_csv(raw: Path, config: Path) -> None:
    """The export saved as a GBK CSV without BOM (Excel's 'CSV' on a Chinese Windows)."""
    as_csv(export_file(raw), "gbk")


def newline_in_cells(raw: Path, config: Path) -> None:
    """Line breaks typed inside cells (Alt+Enter), in a fill-in answer and in 来源详情."""

    def change(ws):
        c = column_of(ws, "来源详情")
        for r in range(2, 6):
            ws.cell(r, c, "朋友圈\n转发")

    edit_workbook(export_file(raw), change)


def newline_in_csv_cells(raw: Path, config: Path) -> None:
    """As :func:`newline_in_cells`, then saved as a UTF-8 CSV (quoted multi-line cells)."""
    newline_in_cells(raw, config)
    as_csv(export_file(raw), "utf-8-sig")


def stray_cell(raw: Path, config: Path) -> None:
    """A note typed into a cell far to the right of the data (column AZ of row 5)."""
    edit_workbook(export_file(raw), lambda ws: ws.cell(5, 52, "此人已电话回访"))


def merged_district(raw: Path, config: Path) -> None:
    """The district cells of rows 2–6 merged into one (the value stays in the top cell only)."""

    def change(ws):
        c = column_of(ws, "1、")
        ws.merge_cells(start_row=2, start_column=c, end_row=6, end_column=c)

    edit_workbook(export_file(raw), change)


def duration_minutes(raw: Path, config: Path) -> None:
    """所用时间 converted to minutes by hand: ``252秒`` → ``4.2``."""

    def change(ws):
        c = column_of(ws, "所用时间")
        for r in range(2, ws.max_row + 1):
            v = str(ws.cell(r, c).value or "")
            if v.endswith("秒"):
                ws.cell(r, c, round(float(v[:-1]) / 60, 1))

    edit_workbook(export_file(raw), change)


def typed_dates(raw: Path, config: Path) -> None:
    """提交答卷时间 retyped as ``2023年7月10日 14:01``."""

    def change(ws):
        c = column_of(ws, "提交答卷时间")
        for r in range(2, ws.max_row + 1):
            v = str(ws.cell(r, c).value or "")
            day, time = v.split(" ")
            y, m, d = day.split("/")
            ws.cell(r, c, f"{y}年{m}月{d}日 {time[:5]}")

    edit_workbook(export_file(raw), change)


def everyone_too_fast(raw: Path, config: Path) -> None:
    """所用时间 of every record set to 10 秒: one rule (speeder) would exclude the whole sample."""

    def change(ws):
        c = column_of(ws, "所用时间")
        for r in range(2, ws.max_row + 1):
            ws.cell(r, c, "10秒")

    edit_workbook(export_file(raw), change)


def unknown_option(raw: Path, config: Path) -> None:
    """Two answers retyped as a text that is no option (男性 for 男)."""

    def change(ws):
        c = column_of(ws, "2、")
        ws.cell(3, c, "男性")
        ws.cell(7, c, "男性")

    edit_workbook(export_file(raw), change)


def many_unknown_options(raw: Path, config: Path) -> None:
    """A whole column of answers retyped as texts that are no options (wrong questionnaire version)."""

    def change(ws):
        c = column_of(ws, "2、")
        for r in range(2, ws.max_row + 1):
            ws.cell(r, c, "保密")

    edit_workbook(export_file(raw), change)


def fullwidth_phone(raw: Path, config: Path) -> None:
    """A phone number typed with full-width digits into a fill-in answer."""
    edit_workbook(export_file(raw), lambda ws: ws.cell(2, column_of(ws, "14、"), FULLWIDTH_PHONE))


FULLWIDTH_PHONE = "请回电１３９１２３４５６７８，谢谢"


# --------------------------------------------------------------------------------------------------------------
# files in a folder


def password_protected(raw: Path, config: Path) -> None:
    """An export replaced by what Excel writes for a password-protected workbook: an OLE compound file holding
    ``EncryptionInfo`` and ``EncryptedPackage`` streams instead of a zip."""
    path = export_file(raw)
    names = "".join(n.ljust(32, "\0") for n in ("EncryptionInfo", "EncryptedPackage")).encode("utf-16-le")
    path.write_bytes(bytes.fromhex("d0cf11e0a1b11ae1") + b"\0" * 504 + names + b"\0" * 2048)


def corrupt_workbook(raw: Path, config: Path) -> None:
    """An export cut off in the middle (an interrupted download or copy)."""
    path = export_file(raw)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def xlsx_named_xls(raw: Path, config: Path) -> None:
    """An .xlsx workbook renamed to .xls."""
    path = export_file(raw)
    path.rename(path.with_suffix(".xls"))


def csv_named_xlsx(raw: Path, config: Path) -> None:
    """A CSV export renamed to .xlsx (a text file with a workbook's name)."""
    as_csv(export_file(raw), "utf-8-sig", suffix=".xlsx")


def html_named_xlsx(raw: Path, config: Path) -> None:
    """An old-style "Excel" download (an HTML table, as saved with an .xls name) renamed to .xlsx."""
    path = export_file(raw)
    ws = openpyxl.load_workbook(path).worksheets[0]
    cells = "".join(
        "<tr>" + "".join(f"<td>{'' if v is None else v}</td>" for v in row) + "</tr>"
        for row in ws.iter_rows(values_only=True)
    )
    path.write_text(f"<html><body><table>{cells}</table></body></html>", encoding="utf-8")


def other_questionnaire(raw: Path, config: Path) -> None:
    """The staff export dropped into the public folder as well."""
    src = export_file(raw, "staff")
    shutil.copy(src, raw / "public" / src.name)


def duplicate_export(raw: Path, config: Path) -> None:
    """The same export downloaded twice (``… (1).xlsx``)."""
    src = export_file(raw)
    shutil.copy(src, src.with_name(src.stem + " (1).xlsx"))


def lock_file(raw: Path, config: Path) -> None:
    """An Excel lock file ``~$…`` left by an open workbook."""
    src = export_file(raw)
    (src.parent / ("~$" + src.name)).write_bytes(b"\x0bWPS Office\0" + b"\0" * 150)


def junk_files(raw: Path, config: Path) -> None:
    """System and note files among the exports: .DS_Store, Thumbs.db, a .txt note."""
    folder = raw / "public"
    (folder / ".DS_Store").write_bytes(b"\0\0\0\1Bud1" + b"\0" * 64)
    (folder / "Thumbs.db").write_bytes(bytes.fromhex("d0cf11e0a1b11ae1") + b"\0" * 64)
    (folder / "说明.txt").write_text("7月20日导出，纸质问卷另附。\n", encoding="utf-8")


def header_only_export(raw: Path, config: Path) -> None:
    """An export of a survey with no answers yet: its header row only."""
    src = export_file(raw)
    dest = src.with_name(src.name.replace("_288_288", "_0_0"))
    shutil.copy(src, dest)
    edit_workbook(dest, lambda ws: ws.delete_rows(2, ws.max_row))


def empty_csv(raw: Path, config: Path) -> None:
    """A 0-byte CSV (a failed download)."""
    (raw / "public" / "补充导出.csv").write_bytes(b"")


def staff_empty(raw: Path, config: Path) -> None:
    """``raw/staff/`` present but empty."""
    for p in (raw / "staff").iterdir():
        p.unlink()


# --------------------------------------------------------------------------------------------------------------
# paper-entry workbook


def paper_out_of_range(raw: Path, config: Path) -> None:
    """A paper-entry code outside the item's options (gender 7)."""
    edit_workbook(paper_file(raw), lambda ws: ws.cell(3, column_of(ws, "D_gender"), 7))


def paper_fullwidth_codes(raw: Path, config: Path) -> None:
    """Paper-entry codes typed with full-width digits."""

    def change(ws):
        c = column_of(ws, "D_gender")
        for r in range(2, ws.max_row + 1):
            v = ws.cell(r, c).value
            if isinstance(v, (int, float)):
                ws.cell(r, c, str(int(v)).translate(str.maketrans("0123456789", "０１２３４５６７８９")))

    edit_workbook(paper_file(raw), change)


# --------------------------------------------------------------------------------------------------------------
# case-file review workbooks


def _casefile_cell(header: str, value: object, row_offset: int = 2) -> Breaker:
    """A breaker setting one cell of the first review workbook (column by header start, ``row_offset`` rows
    below the header)."""

    def breaker(raw: Path, config: Path) -> None:
        def change(ws):
            hr = header_row_of(ws, "案卷编号")
            ws.cell(hr + row_offset, column_of(ws, header, hr), value)

        edit_workbook(casefile(raw), change)

    breaker.__doc__ = f"Case-file sheet: '{value}' in the column '{header}'."
    return breaker


casefile_veto_out_of_range = _casefile_cell("V01", 2)
casefile_negative_defect = _casefile_cell("A1", -1)
casefile_unknown_unit = _casefile_cell("被评查单位", "火星区")
casefile_unknown_case_type = _casefile_cell("案件类型", "调解")
casefile_defect_text = _casefile_cell("A2", "两处")


def casefile_unknown_defect(raw: Path, config: Path) -> None:
    """A defect column whose code the standard does not have (G9), with counts in it."""

    def change(ws):
        hr = header_row_of(ws, "案卷编号")
        c = ws.max_column + 1
        ws.cell(hr, c, "G9 其他问题")
        for r in range(hr + 1, ws.max_row + 1):
            ws.cell(r, c, 1)

    edit_workbook(casefile(raw), change)


def casefile_extra_defect_column(raw: Path, config: Path) -> None:
    """A second column for defect A1 (a reviewer's re-check) holding other counts."""

    def change(ws):
        hr = header_row_of(ws, "案卷编号")
        c = ws.max_column + 1
        ws.cell(hr, c, "A1 文书未加盖本机关印章(复核)")
        for r in range(hr + 1, ws.max_row + 1):
            ws.cell(r, c, 2)

    edit_workbook(casefile(raw), change)


def casefile_missing_reviewer(raw: Path, config: Path) -> None:
    """The 评查人 column deleted."""

    def change(ws):
        hr = header_row_of(ws, "案卷编号")
        ws.delete_cols(column_of(ws, "评查人", hr))

    edit_workbook(casefile(raw), change)


# --------------------------------------------------------------------------------------------------------------
# checkpoint sheets


def _checkpoint_cell(header: str, value: object) -> Breaker:
    def breaker(raw: Path, config: Path) -> None:
        edit_workbook(checkpoint_file(raw), lambda ws: ws.cell(4, column_of(ws, header), value))

    breaker.__doc__ = f"Checkpoint sheet: '{value}' in the column '{header}'."
    return breaker


checkpoint_unknown_rating = _checkpoint_cell("评估结果", "优秀")
checkpoint_unknown_point = _checkpoint_cell("观测点编号", "99.9.9")
checkpoint_unknown_unit = _checkpoint_cell("单位", "兰州新区")


def checkpoint_no_source(raw: Path, config: Path) -> None:
    """A checkpoint workbook and its sheet renamed so that neither tells the source, without a 来源 column."""
    path = checkpoint_file(raw)
    wb = openpyxl.load_workbook(path)
    wb.worksheets[0].title = "Sheet1"
    wb.save(path.with_name("核查表_补充.xlsx"))
    path.unlink()


# --------------------------------------------------------------------------------------------------------------
# configuration


def population_margins(raw: Path, config: Path) -> None:
    """One margin of population.yaml no longer sums to the total (a target typed with a digit missing)."""

    def change(data):
        targets = data["margins"][1]["targets"]
        first = next(iter(targets))
        targets[first] = targets[first] // 10

    edit_yaml(config / "population.yaml", change)


def scale_missing_item(raw: Path, config: Path) -> None:
    """A scale of public.yaml naming an item the questionnaire does not have."""
    edit_yaml(config / "public.yaml", lambda data: data["scales"][0]["items"].append("P99"))


def skip_rule_missing_question(raw: Path, config: Path) -> None:
    """A skip rule of staff.yaml naming a question the questionnaire does not have."""
    edit_yaml(config / "staff.yaml", lambda data: data["skip_logic"][0]["show_if_any"][0].update(item="SD_x"))
