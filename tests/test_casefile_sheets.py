"""Case-file review and checkpoint sheets: header detection, code columns, score recomputation, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import Workbook

from pipeline.config.models import CasefileStandard, IndicatorSystem
from pipeline.errors import DataError
from pipeline.ingest.casefile_sheets import read_casefile_sheet, recompute_scores
from pipeline.ingest.checkpoint_sheets import read_checkpoint_sheet
from pipeline.ingest.excel import read_sheets
from tests.fixtures.ingest.small import UNITS

KEY = b"k" * 32

STANDARD = CasefileStandard.model_validate(
    {
        "title": "测试标准",
        "total_points": 100,
        "case_types": ["处罚", "许可"],
        "vetoes": [{"code": "V01", "text": "主体不适格"}, {"code": "V02", "text": "无证执法"}],
        "veto_grade": "不合格",
        "categories": [
            {
                "id": "B",
                "name": "证据",
                "max_points": 25,
                "defects": [
                    {"code": "B1", "text": "证据链不完整", "deduction": 5, "per": "case"},
                    {"code": "B2", "text": "笔录缺签名", "deduction": 2, "per": "occurrence"},
                ],
            },
            {
                "id": "C",
                "name": "程序",
                "max_points": 75,
                "defects": [{"code": "C5", "text": "未经法制审核", "deduction": 40, "per": "occurrence"}],
            },
        ],
        "grades": [
            {"grade": "优秀", "min_score": 90, "excluded_by": ["B1", "C5"]},
            {"grade": "良好", "min_score": 80},
            {"grade": "合格", "min_score": 60},
            {"grade": "不合格", "min_score": 0},
        ],
    }
)


def _scores(**counts) -> pd.DataFrame:
    row = {"V01": 0, "V02": 0, "B1": 0, "B2": 0, "C5": 0} | counts
    return recompute_scores(pd.DataFrame([row]), STANDARD).iloc[0]


@pytest.mark.parametrize(
    ("counts", "score", "grade"),
    [
        ({}, 100, "优秀"),
        ({"B2": 3}, 94, "优秀"),  # per occurrence: 3 × 2
        ({"B1": 3}, 95, "良好"),  # per case: 5 once; B1 bars 优秀
        ({"B1": 1, "B2": 20}, 75, "合格"),  # category capped at 25
        ({"B2": 20, "C5": 3}, 0, "不合格"),  # 25 + min(120, 75) = 100 → floor 0
        ({"V02": 1}, 100, "不合格"),  # veto forces the grade, score kept
    ],
)
def test_score_is_recomputed_from_the_standard(counts, score, grade):
    got = _scores(**counts)
    assert got["score"] == score and got["grade"] == grade


def _review_book(path: Path, rows: list[list[object]], *, two_row_header: bool = False) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = "评查表"
    ws["A1"] = "某某评查组案卷评查表"
    ws.merge_cells("A1:L1")
    ws["A2"] = "评查时间：2023年8月"
    if two_row_header:  # categories merged above the codes; fixed columns merged vertically
        top = [
            "案卷编号",
            "被评查单位",
            "案卷类型",
            "评查人",
            "否决项",
            None,
            "证据",
            None,
            "程序",
            "评查得分",
        ]
        bottom = [None, None, None, None, "V01 主体不适格", "V02 无证", "B1 证据链", "B2 笔录", "C5", None]
        ws.append(top)
        ws.append(bottom)
        for col in "ABCDJ":
            ws.merge_cells(f"{col}3:{col}4")
        ws.merge_cells("E3:F3")
        ws.merge_cells("G3:H3")
    else:
        ws.append(
            [
                "案卷编号",
                "被评查单位",
                "案件类型",
                "评查人",
                "V01 主体不适格",
                "V02",
                "B1 证据链",
                "B2",
                "C5 未审核",
                "得分",
            ]
        )
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


ROWS = [
    ["AJ-1", "城关区", "处罚", "张三", "否", "否", 0, 3, None, 94],
    ["AJ-2", "SFJ", "许可", "李四", "是", "否", None, None, None, 100],
    ["AJ-3", "七里河区", "处罚", "张三", 0, 0, "√", 1, 0, 90],  # typed 90, recomputed 93
]


@pytest.mark.parametrize("two_row_header", [False, True])
def test_review_sheet_is_read_below_title_rows(tmp_path, two_row_header):
    path = _review_book(tmp_path / "评查组1.xlsx", ROWS, two_row_header=two_row_header)
    (sheet,) = read_sheets(path)
    got = read_casefile_sheet(sheet, STANDARD, UNITS, KEY)
    first_row = 5 if two_row_header else 4
    assert list(got.index) == [first_row, first_row + 1, first_row + 2]
    assert got["unit"].tolist() == ["CG", "SFJ", "QLH"]
    assert got["V01"].tolist() == [0, 1, 0] and got["B1"].tolist() == [0, 0, 1]
    assert got["score"].tolist() == [94, 100, 93]
    assert got["grade"].tolist() == ["优秀", "不合格", "良好"]
    assert got["score_mismatch"].tolist() == [False, False, True]
    assert got["reviewer"].iloc[0] == got["reviewer"].iloc[2] != "张三"


def test_unknown_unit_is_named_with_row_and_column(tmp_path):
    rows = [ROWS[0][:1] + ["火星区"] + ROWS[0][2:]]
    (sheet,) = read_sheets(_review_book(tmp_path / "r.xlsx", rows))
    with pytest.raises(DataError, match=r"r\.xlsx, 工作表 评查表, 第 4 行, 列 被评查单位: .*火星区"):
        read_casefile_sheet(sheet, STANDARD, UNITS, KEY)


def test_negative_defect_count_is_an_error(tmp_path):
    rows = [ROWS[0][:7] + [-1] + ROWS[0][8:]]
    (sheet,) = read_sheets(_review_book(tmp_path / "r.xlsx", rows))
    with pytest.raises(DataError, match=r"第 4 行, 列 B2.*count ≥ 0"):
        read_casefile_sheet(sheet, STANDARD, UNITS, KEY)


def test_missing_code_column_is_named(tmp_path):
    path = tmp_path / "r.xlsx"
    frame = pd.DataFrame(
        [ROWS[0]],
        columns=["案卷编号", "被评查单位", "案件类型", "评查人", "V01", "V02", "B1", "B2", "X9", "得分"],
    )
    frame.to_excel(path, index=False)
    (sheet,) = read_sheets(path)
    with pytest.raises(DataError, match=r"missing column.*C5"):
        read_casefile_sheet(sheet, STANDARD, UNITS, KEY)


INDICATORS = IndicatorSystem.model_validate(
    {
        "title": "t",
        "source_weights": {"document": 0.4, "online": 0.2, "site": 0.2},
        "checkpoint_scores": {"完全落实": 100, "基本落实": 80, "部分落实": 50, "未落实": 0},
        "aspects": [
            {
                "id": "9",
                "name": "执法",
                "weight": 1,
                "block": "gov",
                "items": [
                    {
                        "id": "9.1",
                        "name": "三项制度",
                        "weight": 1,
                        "points": [
                            {"id": "9.1.1", "name": "公示", "weight": 1, "sources": ["online", "document"]}
                        ],
                    }
                ],
            }
        ],
    }
)


def test_checkpoint_sheet_takes_source_from_file_name_and_masks_notes(tmp_path):
    path = tmp_path / "网络检索表.xlsx"
    pd.DataFrame(
        {
            "单位": ["城关区", "SFJ"],
            "观测点编号": ["9.1.1", "9.1.1 公示"],
            "观测点": ["公示", "公示"],
            "评估结果": ["完全落实", " 部分落实 "],
            "备注": [None, "联系人电话 13912345678"],
            "核查人": ["王五", "赵六"],
        }
    ).to_excel(path, index=False)
    (sheet,) = read_sheets(path)
    got = read_checkpoint_sheet(sheet, INDICATORS, UNITS)
    assert got["source"].tolist() == ["online", "online"]
    assert got["score"].tolist() == [100, 50] and got["rating"].tolist() == ["完全落实", "部分落实"]
    assert got["note"].tolist() == [None, "联系人电话 [电话]"]
    assert "核查人" not in got and not got.astype(str).apply(lambda c: c.str.contains("王五")).any().any()


def test_checkpoint_unknown_rating_is_named(tmp_path):
    path = tmp_path / "资料核查表.xlsx"
    pd.DataFrame({"单位": ["城关区"], "观测点编号": ["9.1.1"], "评估结果": ["很好"]}).to_excel(
        path, index=False
    )
    (sheet,) = read_sheets(path)
    with pytest.raises(DataError, match=r"第 2 行, 列 评估结果.*很好.*完全落实"):
        read_checkpoint_sheet(sheet, INDICATORS, UNITS)


def test_recompute_is_vectorised_over_many_rows():
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({c: rng.poisson(0.5, 1000) for c in ["B1", "B2", "C5"]})
    frame["V01"] = 0
    frame["V02"] = (rng.random(1000) < 0.05).astype(int)
    got = recompute_scores(frame, STANDARD)
    one = [_scores(**frame.iloc[i].to_dict())["score"] for i in range(20)]
    assert got["score"].iloc[:20].tolist() == one
