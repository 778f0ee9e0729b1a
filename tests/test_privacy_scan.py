"""No personal data through any door: raw values planted in every free-text field of every source, the pipeline
run, and every file of every stage folder scanned (tests/privacy_scan.py)."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import CONFIG_DIR, PLANT
from openpyxl import load_workbook
from privacy_scan import PSEUDONYM_COLUMNS, compact, scan_output

PHONES = [
    "１３９８７６５４３２１",
    "138 1234 5678",
    "137-0011-2233",
    "+86 158.0013.8000",
    "（0931）8881234",
    "136\u200b5555\u200b7777",
]
IDS = [
    "６２０１０２１９８８０５０６４３２Ｘ",
    "620102 19880506 4321",
    "620103-1990-0307-1235",
    "620104900307123",
]
EMAILS = ["ｌｉｓｉ＠ｅｘａｍｐｌｅ．ｃｏｍ", "zhang.san@example.com", "765432@qq。com"]
IPS = ["２２３．１０４．１．２", "10.20.30.40"]
VALUES = PHONES + IDS + EMAILS + IPS
NAME_TEXTS = ["找过张局长反映问题", "王小明主任态度很好", "李女士帮忙办理"]
NAMES = ["张局长", "王小明", "李女士"]
FREE_TEXT_COLUMNS = {"P28", "P27_other_text", "channel_detail", "note"}


def _texts(prefix: str) -> list[str]:
    """One text per planted value (each in its own row), then the name texts."""
    return [f"{prefix}{v}，谢谢" for v in VALUES] + NAME_TEXTS


def _header_row(ws, wanted: str) -> tuple[int, dict[str, int]]:
    for row in ws.iter_rows(min_row=1, max_row=15):
        cells = {str(c.value).strip(): c.column for c in row if c.value is not None}
        if any(k == wanted or k.startswith(wanted) for k in cells):
            return row[0].row, cells
    raise AssertionError(f"no header {wanted} in {ws.title}")


def _column(cells: dict[str, int], start: str) -> int:
    return next(c for k, c in cells.items() if k.startswith(start))


def _plant(path, wanted_header: str, columns: dict[str, object], *, add: tuple[str, ...] = ()) -> None:
    """Write ``columns`` (header prefix → list of texts, or a function of the row) into the first data rows."""
    wb = load_workbook(path)
    ws = wb.worksheets[0]
    top, cells = _header_row(ws, wanted_header)
    for name in add:
        ws.cell(row=top, column=ws.max_column + 1, value=name)
        cells[name] = ws.max_column
    for start, texts in columns.items():
        col = _column(cells, start)
        for i, text in enumerate(texts):
            ws.cell(row=top + 1 + i, column=col, value=text)
    wb.save(path)


@pytest.fixture(scope="module")
def planted_run(tmp_path_factory):
    from pipeline.config import load_config
    from pipeline.runner import run_stages
    from pipeline.simulate import simulate_raw
    from pipeline.stages.base import StageContext

    base = tmp_path_factory.mktemp("privacy")
    raw = base / "raw"
    simulate_raw(load_config(CONFIG_DIR), raw, seed=7, scale=0.1, plant=PLANT)
    (text_export,) = (raw / "public").glob("*按文本*.xlsx")
    _plant(
        text_export,
        "序号",
        {
            "14、": _texts("建议："),  # the fill-in P28
            "13、": [f"其他〖{t}〗" for t in _texts("")],  # 其他〖…〗 of P27 (text mode)
            "来源详情": _texts("来自"),
        },
    )
    _plant(
        raw / "public" / "纸质问卷录入.xlsx",
        "问卷编号",
        {
            "P28": _texts("纸质："),
            "P27_other_text": _texts(""),
            "录入员": ["王小明"] * 20,
            "备注": _texts("备注"),
        },
        add=("备注",),
    )
    (code_export,) = (raw / "staff").glob("*按序号*.xlsx")
    _plant(code_export, "序号", {"来源详情": _texts("渠道")})
    for path in sorted((raw / "casefiles").glob("*.xlsx"))[:1]:
        _plant(path, "案卷编号", {"备注": _texts("评查备注"), "案卷编号": [f"兰执罚〔2023〕1号{PHONES[1]}"]})
    for path in sorted((raw / "checkpoints").glob("*.xlsx")):
        _plant(path, "单位", {"备注": _texts("核查："), "核查人": ["张伟科长"] * 20})
    lines: list[str] = []
    ctx = StageContext(raw=raw, out=base / "output", config_dir=CONFIG_DIR, seed=7)
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("FAZHI_PSEUDONYM_KEY", raising=False)
        run_stages(ctx, echo=lines.append)
    return ctx, lines


def test_no_planted_value_and_no_pattern_is_found_in_any_output_file(planted_run):
    ctx, _ = planted_run
    result = scan_output(ctx.out, VALUES)
    assert not result.findings, "\n".join(result.lines()[:30])
    assert not result.unscanned, result.unscanned
    stages = {p.split("/")[0] for p in result.scanned}
    assert {"01_ingest", "02_clean", "03_weight", "04_reliability", "05_compare"} <= stages
    assert {"_manifest.json", "_run_report.json"} <= set(result.scanned)


def test_the_planted_values_did_reach_ingest_as_placeholders(planted_run):
    ctx, _ = planted_run
    public = pd.read_parquet(ctx.stage_dir("ingest") / "public.parquet", columns=["P28", "P27_other_text"])
    texts = public.stack().astype(str)
    for placeholder in ("[电话]", "[身份证]", "[邮箱]", "[IP]"):
        assert texts.str.contains(placeholder, regex=False).sum() >= 2, placeholder
    notes = pd.read_parquet(ctx.stage_dir("clean") / "checkpoints.parquet", columns=["note"])["note"]
    assert notes.str.contains("[身份证]", regex=False).any()


def test_names_appear_only_in_free_text_columns_and_every_one_is_on_the_review_list(planted_run):
    ctx, lines = planted_run
    result = scan_output(ctx.out, NAMES, patterns=False, allow_columns=PSEUDONYM_COLUMNS | FREE_TEXT_COLUMNS)
    assert not result.findings, "\n".join(result.lines()[:30])
    review = pd.read_parquet(ctx.stage_dir("clean") / "name_review.parquet")
    for table, column in [("public", "P28"), ("public", "P27_other_text"), ("checkpoints", "note")]:
        rows = review[(review["table"] == table) & (review["column"] == column)]
        assert {"局长", "主任", "女士"} <= set(rows["title"]), (table, column)
    assert review["text"].str.contains("○局长", regex=False).any()
    assert not any(compact(name) in compact(" ".join(review["text"])) for name in NAMES)
    assert any("name_review.csv" in line and str(len(review)) in line for line in lines)


def test_the_console_carries_no_personal_data_and_warns_about_the_default_key(planted_run):
    _, lines = planted_run
    console = compact("\n".join(lines))
    assert not [v for v in VALUES if compact(v) in console]
    assert sum("FAZHI_PSEUDONYM_KEY" in line for line in lines) >= 1


def test_the_scanner_finds_every_planted_value_in_the_raw_files_it_came_from(planted_run):
    ctx, _ = planted_run
    result = scan_output(ctx.raw, VALUES + NAMES, patterns=False)
    found = {f.what for f in result.findings}
    for value in VALUES + NAMES:
        assert any(repr(value) in what for what in found), value
    assert any(f.what.startswith("[电话] pattern") for f in scan_output(ctx.raw).findings)


def test_a_chart_is_scanned_for_its_words_not_its_path_coordinates(tmp_path):
    folder = tmp_path / "09_report" / "charts"
    folder.mkdir(parents=True)
    drawing = (
        '<svg><path d="M 1856 934 L 1600 1344 L 934 1120"/>\n<!-- 城关区 -->\n<g><text>合计</text></g></svg>'
    )
    (folder / "clean.svg").write_text(drawing, encoding="utf-8")
    assert not scan_output(tmp_path).findings
    (folder / "leak.svg").write_text(drawing.replace("城关区", "张三 13987654321"), encoding="utf-8")
    found = scan_output(tmp_path).findings
    assert [f.file for f in found] == ["09_report/charts/leak.svg"]
