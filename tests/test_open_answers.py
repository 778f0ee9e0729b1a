"""06_describe open answers: counts, lengths, words and phrases (rjieba), stop words from the configuration, a
deterministic masked sample; and describe.xlsx, the tables for people."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import CONFIG_DIR
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook
from privacy_scan import scan_output

from pipeline.config import load_config
from pipeline.config.analysis import OpenAnswers
from pipeline.describe.open_answers import (
    default_stop_words,
    open_answer_tables,
    stop_words,
    summarise_column,
)
from pipeline.safe_cells import SHEET_NAME_LIMIT, Block, Sheet, sheet_name, write_report_xlsx
from pipeline.schemas import column_names

ANSWERS = pd.Series(
    [
        "希望加强执法人员培训，做到文明执法",
        "执法人员态度要好，我的电话13987654321",
        "网上办事系统经常卡顿",
        "无",
        " 没有意见。",
        None,
        "",
        "找过王小明主任，执法人员培训不够",
    ],
    dtype=object,
)


def _summary(settings: OpenAnswers | None = None, seed: int = 1):
    settings = settings or OpenAnswers()
    return summarise_column(ANSWERS, settings, seed=seed, stop=stop_words(settings))


def test_answers_no_comment_and_lengths_are_counted_per_respondent():
    summary, _, _ = _summary()
    assert summary["n_answers"] == 6  # None and "" are no answer
    assert summary["n_no_comment"] == 2  # 无, 没有意见 (spaces and end punctuation ignored)
    assert summary["n_substantive"] == 4
    assert summary["max_chars"] == max(
        len("执法人员态度要好，我的电话[电话]"), len("找过○○○主任，执法人员培训不够")
    )


def test_words_are_counted_once_per_answer_without_stop_words_and_placeholders():
    _, terms, _ = _summary()
    words = terms[terms["kind"] == "word"].set_index("term")
    assert words.loc["执法人员", "n"] == 3 and words.loc["执法人员", "rank"] == 1
    assert words.loc["文明执法", "occurrences"] == 1 and words.loc["态度", "n"] == 1
    assert words.loc["执法人员", "percent"] == pytest.approx(75.0)
    assert not {"希望", "的", "我"} & set(words.index)  # default stop words
    assert not any("13987654321" in t or "[电话]" in t for t in terms["term"])
    phrases = terms[terms["kind"] == "phrase"].set_index("term")
    assert (
        phrases.loc["执法人员培训", "n"] == 2
    )  # adjacent words in two answers; phrases seen once are left out
    assert "培训做到" not in phrases.index  # a comma separates them


def test_configured_stop_words_are_added_or_replace_the_default_list():
    _, terms, _ = _summary(OpenAnswers(stop_words=["执法人员"]))
    assert "执法人员" not in set(terms["term"]) and "希望" not in set(terms["term"])
    _, terms, _ = _summary(OpenAnswers(default_stop_words=False))
    assert "希望" in set(terms["term"])
    assert {"的", "希望", "没有"} <= default_stop_words()


def test_the_sample_is_deterministic_masked_and_names_are_hidden():
    _, _, first = _summary(OpenAnswers(samples=3), seed=5)
    _, _, again = _summary(OpenAnswers(samples=3), seed=5)
    pd.testing.assert_frame_equal(first, again)
    assert len(first) == 3 and list(first["rank"]) == [1, 2, 3]
    _, _, every = _summary(OpenAnswers(samples=10), seed=5)
    texts = " ".join(every["text"])
    assert len(every) == 4 and "无" not in set(every["text"])
    assert "13987654321" not in texts and "[电话]" in texts
    assert "王小明" not in texts and "○○○主任" in texts


def test_tables_follow_their_schemas_and_a_questionnaire_without_open_items_adds_no_rows():
    config = load_config(CONFIG_DIR)
    frame = pd.DataFrame({"P28": ANSWERS, "P27_other_text": [None] * 7 + ["交通秩序"]})
    tables = open_answer_tables({"public": frame, "staff": pd.DataFrame()}, config, seed=1)
    for name, table in tables.items():
        assert list(table.columns) == column_names("describe", name)
    summary = tables["open_answers"].set_index("column")
    assert summary.loc["P28", "source"] == "text" and summary.loc["P27_other_text", "source"] == "other"
    assert summary.loc["P27_other_text", "n_answers"] == 1 and summary.loc["P28", "n_respondents"] == 8


@given(st.lists(st.text(min_size=0, max_size=40), min_size=1, max_size=30))
def test_sheet_names_are_valid_unique_and_short(wanted):
    taken: set[str] = set()
    names = [sheet_name(w, taken) for w in wanted]
    assert len({n.lower() for n in names}) == len(names)
    for name in names:
        assert 1 <= len(name) <= SHEET_NAME_LIMIT and not set(name) & set("[]:*?/\\")


def test_report_workbook_neutralises_formulas_and_shows_percentages(tmp_path):
    frame = pd.DataFrame({"选项": ['=HYPERLINK("x")', "好"], "百分比": [12.5, float("nan")], "n": [3, 4]})
    sheets = {"表": Sheet("+title", [Block(frame, title="@block", note="-note", percent=("百分比",))])}
    path = write_report_xlsx(sheets, tmp_path / "r.xlsx")
    ws = load_workbook(path)["表"]
    values = [c.value for row in ws.iter_rows() for c in row if c.value is not None]
    assert values[:2] == ["'+title", "'@block"]
    assert '\'=HYPERLINK("x")' in values and "'-note" in values
    cell = next(c for row in ws.iter_rows() for c in row if c.value == 0.125)
    assert cell.number_format == "0.0%"


def test_the_stage_writes_open_answers_and_a_workbook_with_one_sheet_per_question(simulated_pipeline):
    ctx, _ = simulated_pipeline
    folder = ctx.stage_dir("describe")
    summary = pd.read_parquet(folder / "open_answers.parquet")
    assert {"P28", "P27_other_text"} <= set(summary["column"])
    terms = pd.read_parquet(folder / "open_answer_terms.parquet")
    assert len(terms[terms["column"] == "P28"]) > 0
    book = load_workbook(folder / "describe.xlsx", read_only=True)
    names = book.sheetnames
    assert names[0] == "目录" and len(set(names)) == len(names)
    assert all(len(n) <= SHEET_NAME_LIMIT for n in names)
    config = load_config(CONFIG_DIR)
    numbers = {q.number for q in config.questionnaire("public").questions}
    assert {f"公众第{n}题" for n in numbers} <= set(names)
    first = next(book["公众第1题"].iter_rows(max_row=1, values_only=True))[0]
    assert first.startswith("公众问卷 第1题 ")
    result = scan_output(folder)
    assert not result.findings, "\n".join(result.lines()[:20])
    assert not result.unscanned
