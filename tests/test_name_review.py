"""Free-text answers that may name a person go on a review list that names nobody (pipeline.clean.names)."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.clean.names import COLUMNS, hide_names, name_candidates


@pytest.mark.parametrize(
    ("text", "hidden", "titles"),
    [
        ("找过张局长反映", "找过○局长反映", ["局长"]),
        ("王小明主任态度很好", "○○○主任态度很好", ["主任"]),
        ("办公室王主任", "办公室○主任", ["主任"]),
        ("欧阳警官很负责", "○○警官很负责", ["警官"]),
        ("张副局长和李女士都来了", "○副局长和○女士都来了", ["副局长", "女士"]),
        ("派出所刘所长、陈老师、赵医生", "派出所○所长、○老师、○医生", ["所长", "老师", "医生"]),
    ],
)
def test_a_surname_beside_a_title_is_hidden_and_the_title_kept(text, hidden, titles):
    assert hide_names(text) == (hidden, titles)
    assert hide_names(hidden) == (hidden, [])  # nothing left to hide


@pytest.mark.parametrize(
    "text", ["希望加强执法人员培训", "每周总结一次", "派出所所长", "办事大厅主任不在", "12345热线回复及时"]
)
def test_texts_without_a_surname_before_a_title_are_not_listed(text):
    assert hide_names(text) == (text, [])


def test_name_candidates_lists_record_source_column_and_hidden_text_only():
    frame = pd.DataFrame(
        {
            "record_id": ["f:2", "f:3", "f:4", "f:5"],
            "source_file": ["f.xlsx"] * 4,
            "P28": ["感谢张局长帮忙", None, "无", "感谢张局长帮忙"],
            "P27_other_text": [None, "李女士态度差", None, None],
        }
    )
    got = name_candidates(frame, ["P28", "P27_other_text", "absent"], "public")
    assert list(got.columns) == COLUMNS
    # 谢 is a surname too: the leftmost surname within reach of the title starts the hidden name (hiding too much
    # costs context, hiding too little would leak part of a name)
    assert got[["record_id", "column", "title", "text"]].values.tolist() == [
        ["f:2", "P28", "局长", "感○○局长帮忙"],
        ["f:5", "P28", "局长", "感○○局长帮忙"],
        ["f:3", "P27_other_text", "女士", "○女士态度差"],
    ]
    assert not got.apply(lambda c: c.astype(str).str.contains("张|李")).any().any()


def test_the_clean_stage_writes_the_review_list_as_parquet_and_excel_readable_csv(simulated_pipeline):
    ctx, _ = simulated_pipeline
    folder = ctx.stage_dir("clean")
    table = pd.read_parquet(folder / "name_review.parquet")
    assert list(table.columns) == COLUMNS
    raw = (folder / "name_review.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert pd.read_csv(folder / "name_review.csv", encoding="utf-8-sig", dtype=str).shape[0] == len(table)
