"""Ranking questions: one rank column per option from 问卷星 text mode (``A→B→C``), code mode (a rank per option
column) and paper sheets; answered and invalid in the clean stage.

The ranking item is a :class:`CodebookItem` built here and added to the small hand-made codebook, so these tests do
not depend on the questionnaire model knowing the type.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from pipeline.clean.items import answered, item_columns
from pipeline.clean.rules import RULES, required_substantive_items
from pipeline.config.cleaning import CleaningRules
from pipeline.config.codebook import Codebook, CodebookItem
from pipeline.errors import DataError
from pipeline.ingest import codebook_match as cm
from pipeline.ingest import wjx
from pipeline.ingest.excel import read_sheets
from pipeline.ingest.paper import find_paper_header, paper_columns_of, read_paper_sheet
from pipeline.ingest.surveys import empty_survey
from pipeline.ingest.templates import write_template
from tests.fixtures.ingest.small import LABELS, RANKING, code_export, codebook, text_export

RANK_COLUMNS = [f"R1_{k}" for k in range(1, 5)]


def with_ranking(item: CodebookItem = RANKING) -> Codebook:
    base = codebook()
    items = (*base.items, item)
    return Codebook(questionnaire=base.questionnaire, items=items, _by_id={i.id: i for i in items})


def _write(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_excel(path, index=False)
    return path


def _decode(frame: pd.DataFrame, path: Path, cb: Codebook | None = None) -> cm.Decoded:
    return cm.decode_export(wjx.read_export(_write(frame, path)), cb or with_ranking())


def _ranks(decoded: cm.Decoded) -> list[list[object]]:
    return (
        decoded.frame[RANK_COLUMNS]
        .astype(object)
        .where(decoded.frame[RANK_COLUMNS].notna(), None)
        .values.tolist()
    )


TEXT_RANKS = ["行政执法→信息公开→窗口服务", "普法宣传", "(跳过)", "窗口服务→行政执法"]
EXPECTED = [[1, 2, 3, None], [None, None, None, 1], [None, None, None, None], [2, None, 1, None]]


def test_text_mode_ranking_keeps_the_order_as_ranks(tmp_path):
    got = _decode(text_export(**{"6、请对以下方面排序": TEXT_RANKS}), tmp_path / "t.xlsx")
    assert got.issues == []
    assert _ranks(got) == EXPECTED
    assert all(str(got.frame[c].dtype) == "Int64" for c in RANK_COLUMNS)


def test_code_mode_rank_columns_decode_to_the_same_ranks(tmp_path):
    cols = {
        f"第6题({label})": [r[k] if r[k] is not None else "" for r in EXPECTED]
        for k, label in enumerate(LABELS)
    }
    cols["第6题(行政执法)"][2] = -3  # not shown
    got = _decode(code_export(**cols), tmp_path / "c.xlsx")
    assert got.issues == []
    assert _ranks(got) == EXPECTED


def test_an_unknown_or_repeated_option_makes_the_whole_answer_invalid(tmp_path):
    ranks = ["行政执法→不存在的选项", "信息公开→信息公开", *TEXT_RANKS[2:]]
    got = _decode(text_export(**{"6、请对以下方面排序": ranks}), tmp_path / "t.xlsx")
    assert _ranks(got)[:2] == [[-9] * 4, [-9] * 4]
    assert {i.value for i in got.issues} == set(ranks[:2])


def test_a_code_mode_rank_beyond_k_is_invalid_in_its_cell(tmp_path):
    cols = {f"第6题({label})": [1, "", "", ""] for label in LABELS}
    cols["第6题(信息公开)"] = [2, 4, "", ""]  # rank 4 with max_choices 3
    got = _decode(code_export(**cols), tmp_path / "c.xlsx")
    assert got.frame["R1_2"].tolist()[:2] == [2, -9]
    assert [i.item for i in got.issues] == ["R1"]


def test_a_code_mode_option_column_not_in_the_codebook_is_refused(tmp_path):
    cols = {f"第6题({label})": [1, "", "", ""] for label in [*LABELS[:3], "别的"]}
    with pytest.raises(DataError, match="option column"):
        _decode(code_export(**cols), tmp_path / "c.xlsx")


def test_paper_sheet_reads_one_rank_column_per_option(tmp_path):
    cb = with_ranking()
    assert paper_columns_of(RANKING) == RANK_COLUMNS
    rows = {"问卷编号": ["A1", "A2", "A3"], "D_district": [1, 2, 1], "D_age_group": [1, 2, 3]}
    rows.update({f"P27_{c}": [0, 1, 0] for c in (1, 2, 3)})
    rows.update({"P01": [5, 4, 3], "P02": [5, 4, 3]})
    rows.update(
        {"R1_1": [1, None, 0], "R1_2": [2, None, 5], "R1_3": [None, None, 1], "R1_4": [None, 1, None]}
    )
    path = _write(pd.DataFrame(rows), tmp_path / "paper.xlsx")
    (sheet,) = read_sheets(path)
    _, decoded = read_paper_sheet(sheet, cb, find_paper_header(sheet, cb))
    got = decoded.frame[RANK_COLUMNS].astype(object).where(decoded.frame[RANK_COLUMNS].notna(), None)
    assert got.values.tolist() == [[1, 2, None, None], [None, None, None, 1], [None, -9, 1, None]]
    assert [(i.column, float(i.value)) for i in decoded.issues] == [("R1_2", 5.0)]


def test_empty_survey_and_item_columns_have_one_int_column_per_option():
    cb = with_ranking()
    assert item_columns(RANKING) == RANK_COLUMNS
    empty = empty_survey(cb)
    assert [str(empty[c].dtype) for c in RANK_COLUMNS] == ["Int64"] * 4
    assert RANKING in required_substantive_items(cb)


def _frame(rows: list[list[float | None]]) -> pd.DataFrame:
    data = np.array([[np.nan if v is None else v for v in r] for r in rows], dtype=float)
    return pd.DataFrame({c: pd.array(data[:, k]).astype("Int64") for k, c in enumerate(RANK_COLUMNS)})


def test_any_rank_makes_the_item_answered():
    frame = _frame([[1, None, None, None], [None] * 4, [-3] * 4, [-9] * 4])
    assert answered(frame, RANKING).tolist() == [True, False, False, True]


@pytest.mark.parametrize(
    ("ranks", "reason"),
    [
        ([1, 2, 3, None], None),
        ([None, None, 1, None], None),
        ([1, 1, None, None], "名次重复"),
        ([1, 3, None, None], "名次不连续"),
        ([1, 2, 3, 4], "名次不在 1–3 之内"),
        ([-9, -9, -9, -9], "无法匹配选项"),
        ([0, 1, None, None], "名次不在 1–3 之内"),
    ],
)
def test_invalid_code_rule_wants_ranks_one_to_k_distinct_and_consecutive(ranks, reason):
    cb = Codebook(questionnaire=codebook().questionnaire, items=(RANKING,), _by_id={"R1": RANKING})
    res = RULES["invalid_code"](_frame([ranks]), cb, CleaningRules())
    assert bool(res.hit.iloc[0]) is (reason is not None)
    if reason:
        assert reason in str(res.detail.iloc[0])


def test_without_max_choices_every_option_may_be_ranked():
    item = replace(RANKING, max_choices=None)
    cb = Codebook(questionnaire=codebook().questionnaire, items=(item,), _by_id={"R1": item})
    assert not RULES["invalid_code"](_frame([[1, 2, 3, 4]]), cb, CleaningRules()).hit.any()


def test_paper_template_offers_ranks_one_to_k_and_reads_back(tmp_path):
    cb = with_ranking()
    path = write_template(SimpleNamespace(codebook=lambda instrument: cb), "public", tmp_path / "paper.xlsx")
    wb = load_workbook(path)
    ws = wb["录入"]
    header = [c.value for c in ws[1]]
    assert header[-4:] == RANK_COLUMNS
    col = header.index("R1_2") + 1
    assert "排序题" in ws.cell(row=1, column=col).comment.text
    lists = [dv.formula1 for dv in ws.data_validations.dataValidation]
    assert '"1,2,3"' in lists
    values = {"问卷编号": "A001", "R1_2": 1, "R1_4": 2}
    for it in cb.items:
        if it.type in ("single", "matrix"):
            values[it.id] = it.options[0].code
    for c, name in enumerate(header, start=1):
        ws.cell(row=2, column=c, value=values.get(name))
    wb.save(path)
    (sheet,) = [s for s in read_sheets(path) if s.name == "录入"]
    _, decoded = read_paper_sheet(sheet, cb, find_paper_header(sheet, cb))
    assert decoded.frame.loc[2, RANK_COLUMNS].tolist() == [pd.NA, 1, pd.NA, 2]
