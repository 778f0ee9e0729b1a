"""The generic 问卷星 parser (pipeline.ingest.wjx) on the two real exports and on hand-made variants."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.errors import DataError
from pipeline.ingest import wjx
from pipeline.ingest.encoding import detect_encoding
from pipeline.ingest.text import as_text, normalize, normalize_option, numeric

# two real 问卷星 exports of one survey (both modes), kept beside the checkout, not in it; FAZHI_WJX_SAMPLES
# points elsewhere
SAMPLES = Path(
    os.environ.get("FAZHI_WJX_SAMPLES", Path(__file__).resolve().parents[2] / "shared" / "wjx-samples")
)
TEXT_XLS = SAMPLES / "phone-survey_800_text-mode.xls"
CODE_XLS = SAMPLES / "phone-survey_800_code-mode.xls"
needs_samples = pytest.mark.skipif(not TEXT_XLS.exists(), reason="real 问卷星 samples not available")


@pytest.fixture(scope="module")
def real_pair() -> tuple[wjx.WjxExport, wjx.WjxExport]:
    return wjx.read_export(TEXT_XLS), wjx.read_export(CODE_XLS)


@pytest.mark.parametrize(
    ("header", "kind", "number", "stem", "sub"),
    [
        ("3、性别 ", "question", 3, "性别", None),
        ("1.题干", "question", 1, "题干", None),
        ("Q1 题干", "question", 1, "题干", None),
        ("第1题 题干", "question", 1, "题干", None),
        ("１２：题干", "question", 12, "题干", None),
        ("第6题(运动)", "sub", 6, None, "运动"),
        ("第8题(ACG文化(动漫、游戏等))", "sub", 8, None, "ACG文化(动漫、游戏等)"),
        ("第6题(其他【请注明】)", "sub", 6, None, "其他【请注明】"),
        ("9(依法办事)", "sub", 9, None, "依法办事"),
        ("第９题（依法办事）", "sub", 9, None, "依法办事"),
        ("来自IP", "meta", None, None, None),
        ("微信昵称", "extra", None, None, None),
    ],
)
def test_headers_parse_to_number_stem_and_sub_label(header, kind, number, stem, sub):
    h = wjx.parse_header(header)
    assert (h.kind, h.number, h.stem, h.sub) == (kind, number, stem, sub)


@needs_samples
def test_real_exports_detect_their_mode_and_question_kinds(real_pair):
    text, code = real_pair
    assert (text.mode, code.mode) == ("text", "code")
    assert text.n_rows == code.n_rows == 800
    assert list(text.cells.index[:2]) == [2, 3]  # spreadsheet rows, header = row 1
    assert {n: q.kind for n, q in text.questions.items()} == {n: q.kind for n, q in code.questions.items()}
    assert text.questions[6].kind == code.questions[8].kind == "multiple"
    assert text.questions[3].stem == "性别"  # trailing space of '3、性别 ' removed
    assert [s for s, _ in code.questions[8].subs][-2] == "ACG文化(动漫、游戏等)"


@needs_samples
def test_header_table_lists_every_column(real_pair):
    _, code = real_pair
    table = code.header_table()
    assert len(table) == 36 and (table["kind"] == "meta").sum() == 6
    row = table[table["column"] == "第8题(ACG文化(动漫、游戏等))"].iloc[0]
    assert (row["number"], row["sub"], row["question_type"]) == (8, "ACG文化(动漫、游戏等)", "multiple")


@needs_samples
def test_real_exports_both_modes_give_the_same_answers(real_pair):
    """Single choice: the code-mode code is a fixed one-to-one function of the text-mode answer, and ordering the
    texts by that code gives each text its position among the options (codes are 1-based positions; an option
    nobody chose leaves a gap: then the order of codes and positions still agrees).
    Multiple choice: the set of ┋-joined labels equals the set of 第N题(label)=1 columns, row by row."""
    text, code = real_pair
    assert (text.meta["seq"].to_numpy() == code.meta["seq"].to_numpy()).all()
    for number, tq in text.questions.items():
        cq = code.questions[number]
        if tq.kind == "single":
            t = as_text(text.cells[tq.column]).map(lambda s: wjx.split_other(s)[0])
            c = numeric(code.cells[cq.column])
            assert t.notna().all() and c.notna().all()
            pairs = pd.DataFrame({"t": t, "c": c}).drop_duplicates()
            assert pairs["t"].is_unique and pairs["c"].is_unique, f"question {number}: not one-to-one"
            options_seen = pairs.sort_values("c")["t"].tolist()
            position = {o: i + 1 for i, o in enumerate(options_seen)}
            gaps = int(pairs["c"].max()) - len(pairs)  # options no respondent chose
            if gaps == 0:
                assert (c == t.map(position)).all(), f"question {number}: code ≠ option position"
            else:  # an unchosen option shifts the positions above it; the order must still agree
                assert (c.rank(method="dense") == t.map(position)).all(), f"question {number}: order differs"
        else:
            chosen = wjx.split_multi(text.cells[tq.column]).map(
                lambda parts: frozenset(normalize_option(wjx.split_other(p)[0]) for p in parts)
            )
            labels = [normalize_option(lbl) for lbl, _ in cq.subs]
            ones = np.column_stack([numeric(code.cells[col]).to_numpy() == 1 for _, col in cq.subs])
            from_code = [frozenset(lbl for lbl, on in zip(labels, row, strict=True) if on) for row in ones]
            assert chosen.tolist() == from_code, f"question {number}: chosen options differ"


@needs_samples
def test_real_text_export_keeps_other_fill_in_text(real_pair):
    text, _ = real_pair
    parts = wjx.split_multi(text.cells["6、兴趣爱好"]).explode()
    others = [wjx.split_other(p) for p in parts if "〖" in p]
    assert ("其他【请注明】", "宠物") in others


@pytest.mark.parametrize(
    ("cell", "seconds"),
    [("125秒", 125), ("2分5秒", 125), ("1小时0分5秒", 3605), ("2 分 5 秒", 125), (125.0, 125), ("", np.nan)],
)
def test_duration_parses_seconds_and_minutes(cell, seconds):
    got = wjx.parse_duration(pd.Series([cell, "30秒"], dtype=object))
    assert got.iloc[1] == 30
    assert (np.isnan(seconds) and np.isnan(got.iloc[0])) or got.iloc[0] == seconds


def test_submit_time_parses_text_excel_datetime_and_serial():
    got = wjx.parse_datetime(
        pd.Series(
            ["2023/7/12 10:23:45", dt.datetime(2023, 7, 12, 10, 23, 45), 45119.43315972222, None],
            dtype=object,
        )
    )
    assert got.dtype == "datetime64[ns]"
    assert got.iloc[0] == got.iloc[1] == pd.Timestamp("2023-07-12 10:23:45")
    assert abs(got.iloc[2] - pd.Timestamp("2023-07-12 10:23:45")) < pd.Timedelta(seconds=1)
    assert pd.isna(got.iloc[3])


def _export_frame(mode: str) -> pd.DataFrame:
    meta = {
        "序号": [1, 2, 3],
        "提交答卷时间": ["2023/7/12 10:23:45", "2023/7/12 11:00:00", "2023/7/13 09:00:01"],
        "所用时间": ["125秒", "2分5秒", "61秒"],
        "来源": ["微信", "手机提交", "链接"],
        "来源详情": ["直接访问", "N/A", "直接访问"],
        "来自IP": ["223.104.1.2(甘肃-兰州)", "36.142.0.9(甘肃-天水)", "1.2.3.4(北京-北京)"],
    }
    if mode == "text":
        answers = {"1、您的性别": ["男", "女", "男"], "2、爱好": ["运动┋阅读", "其他〖养花〗", "(跳过)"]}
    else:
        answers = {
            "1、您的性别": [1, 2, 1],
            "第2题(运动)": [1, 0, -3],
            "第2题(阅读)": [1, 0, -3],
            "第2题(其他)": [0, 1, -3],
        }
    return pd.DataFrame({**meta, **answers})


@pytest.mark.parametrize("mode", ["text", "code"])
@pytest.mark.parametrize("fmt", ["xlsx", "csv-utf-8", "csv-utf-8-sig", "csv-gbk", "csv-gb18030"])
def test_every_format_and_encoding_reads_the_same(tmp_path, mode, fmt):
    frame = _export_frame(mode)
    if fmt == "xlsx":
        path = tmp_path / "export.xlsx"
        frame.to_excel(path, index=False)
    else:
        enc = fmt.removeprefix("csv-")
        path = tmp_path / "export.csv"
        frame.to_csv(path, index=False, encoding=enc)
        # a GB18030 file holding only GBK characters is byte-identical to GBK
        assert detect_encoding(path) == ("gbk" if enc == "gb18030" else enc)
    exp = wjx.read_export(path)
    assert exp.mode == mode
    assert exp.questions[2].kind == ("multiple")
    assert exp.meta["duration_s"].tolist() == [125, 125, 61]
    assert exp.meta["submitted_at"].iloc[0] == pd.Timestamp("2023-07-12 10:23:45")
    assert exp.meta["ip"].iloc[0] == "223.104.1.2(甘肃-兰州)"
    assert list(exp.cells.index) == [2, 3, 4]


def test_gb18030_only_characters_are_detected(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes("序号,1、姓氏\n1,𠀀\n".encode("gb18030"))  # 𠀀 is outside GBK
    assert detect_encoding(path) == "gb18030"


def test_file_name_decides_the_mode_when_present(tmp_path):
    frame = _export_frame("code")
    path = tmp_path / "386540716_按序号_问卷_3_3.xlsx"
    frame.to_excel(path, index=False)
    exp = wjx.read_export(path)
    assert (exp.mode, exp.mode_source) == ("code", "file name")


def test_a_file_that_is_not_an_export_is_rejected_naming_it(tmp_path):
    path = tmp_path / "notes.xlsx"
    pd.DataFrame({"a": [1], "b": [2]}).to_excel(path, index=False)
    with pytest.raises(DataError, match=r"notes\.xlsx.*not a 问卷星 export"):
        wjx.read_export(path)


def test_a_corrupt_workbook_is_a_data_error_naming_the_file(tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"this is not a zip file")
    with pytest.raises(DataError, match=r"broken\.xlsx.*unreadable workbook"):
        wjx.read_export(path)


def test_normalize_tolerates_width_space_and_dashes():
    assert normalize("１８－２９ 岁") == normalize("18–29岁") == "18-29岁"
    assert normalize_option("其他【请注明】") == normalize_option("其他（请注明）") == "其他"


def test_html_table_saved_as_xls_is_read(tmp_path):
    path = tmp_path / "web_download.xls"
    _export_frame("text").to_html(path, index=False)
    exp = wjx.read_export(path)
    assert exp.mode == "text" and exp.n_rows == 3
    assert exp.meta["duration_s"].tolist() == [125, 125, 61]
