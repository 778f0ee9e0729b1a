"""Fast paths of the readers (pipeline.ingest.excel, pipeline.ingest.text) give what the general paths give."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline.ingest.excel import read_sheets, sheet_frame
from pipeline.ingest.text import as_text

ARROW_STR = pd.StringDtype(na_value=np.nan)


@pytest.mark.parametrize(
    "values",
    [
        ["微信", "链接", None, "微信"],  # plain: returned as is
        [" 微信", "链接\u3000", None],  # edge spaces (ASCII and ideographic) are stripped
        ["", "a", None],  # an empty string becomes missing
        ["a\x85", "b"],  # NEL counts as space for str.strip
    ],
)
def test_as_text_of_an_arrow_string_column_equals_as_text_of_objects(values):
    arrow = as_text(pd.Series(values, dtype=ARROW_STR))
    objects = as_text(pd.Series(values, dtype=object))
    assert [None if pd.isna(v) else v for v in arrow] == objects.tolist()


def test_csv_with_bom_reads_its_header_without_bom(tmp_path):
    path = tmp_path / "export.csv"
    path.write_bytes("序号,1、性别\n1,男\n2,女\n".encode("utf-8-sig"))
    (sheet,) = read_sheets(path)
    assert sheet.encoding == "utf-8-sig"
    assert sheet.rows[0] == ["序号", "1、性别"]
    assert sheet.frame["1、性别"].tolist() == ["男", "女"]


@pytest.mark.parametrize("empty_row", [True, False])
def test_csv_sheet_frame_drops_wholly_empty_rows_only(tmp_path, empty_row):
    path = tmp_path / "export.csv"
    middle = ",\n" if empty_row else ",女\n"
    path.write_text("序号,1、性别\n1,男\n" + middle + "3,\n", encoding="utf-8")
    frame = sheet_frame(read_sheets(path)[0])
    assert frame.index.name == "source_row"
    assert list(frame.index) == ([2, 4] if empty_row else [2, 3, 4])
    expected = pd.read_csv(path, dtype=str).set_axis(pd.RangeIndex(2, 5, name="source_row")).dropna(how="all")
    assert (
        frame.astype(object).where(frame.notna(), None).values.tolist()
        == expected.astype(object).where(expected.notna(), None).values.tolist()
    )
