"""Durations and submit times as 问卷星 writes them and as people retype them (pipeline/ingest/timing.py)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.ingest import timing
from pipeline.ingest.timing import duration_seconds, parse_datetime, parse_duration, timestamp, unread_cells


@pytest.mark.parametrize(
    ("cell", "seconds"),
    [
        ("272秒", 272),
        ("4分32秒", 272),
        ("1小时2分5秒", 3725),
        ("4.53 分钟", 271.8),
        ("272", 272),
        (272, 272),
        ("4:32", 272),
        ("4：32", 272),
        ("00:04:32", 272),
        ("1:02:03", 3723),
        (0.00315, 272),
        ("0.00315", 272),
        (dt.time(0, 4, 32), 272),
        (dt.time(0, 4, 31, 999_000), 272),
        (dt.timedelta(seconds=272), 272),
        (dt.datetime(1899, 12, 30, 0, 4, 32), 272),
        ("５min", 300),
    ],
)
def test_hand_typed_durations_are_read_as_seconds(cell, seconds):
    assert duration_seconds(cell) == pytest.approx(seconds)


@pytest.mark.parametrize("cell", ["abc", "", None, "4:75", "-5", dt.datetime(2023, 7, 10, 0, 4, 32), True])
def test_unreadable_durations_are_missing(cell):
    assert np.isnan(duration_seconds(cell))


def test_minutes_typed_as_plain_numbers_stay_seconds_for_the_circuit_breaker_to_catch():
    assert duration_seconds(4.32) == 4.32
    got = parse_duration(pd.Series([4.32, 0.98, "12.5"], dtype=object))
    assert got.tolist() == [4.32, 0.98, 12.5]  # 0.98 minutes is no fraction of a day beside 4.32


def test_a_column_of_day_fractions_is_read_as_times_of_day():
    got = parse_duration(pd.Series([0.00315, "0.0025", None], dtype=object))
    assert got.iloc[:2].tolist() == [272.0, 216.0]


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("2023/7/10 14:03:05", "2023-07-10 14:03:05"),
        ("2023/7/10 14:03", "2023-07-10 14:03:00"),
        ("2023年7月10日 14:03", "2023-07-10 14:03:00"),
        ("2023年7月10日14时3分5秒", "2023-07-10 14:03:05"),
        ("2023年7月10日", "2023-07-10 00:00:00"),
        ("2023-07-10T14:03:05", "2023-07-10 14:03:05"),
        ("2023.7.10 14:03", "2023-07-10 14:03:00"),
        ("2023/7/10 下午 2:03", "2023-07-10 14:03:00"),
        ("2023/7/10 上午 12:03", "2023-07-10 00:03:00"),
        ("45117.585", "2023-07-10 14:02:24"),
        (45117.585, "2023-07-10 14:02:24"),
        (dt.datetime(2023, 7, 10, 14, 2, 23, 999_999), "2023-07-10 14:02:24"),
        (dt.date(2023, 7, 10), "2023-07-10 00:00:00"),
    ],
)
def test_hand_typed_submit_times_are_read(cell, expected):
    assert timestamp(cell) == pd.Timestamp(expected)


@pytest.mark.parametrize("cell", ["2023/2/30 10:00", "10", 10.0, "下午", "2023/7/10 25:00", dt.time(14, 3)])
def test_unreadable_submit_times_are_missing(cell):
    assert timestamp(cell) is pd.NaT


def test_an_excel_serial_time_is_rounded_to_the_second_not_14_02_23_999999922():
    got = parse_datetime(pd.Series([45117.58500462963, 45117.585], dtype=object))
    assert (got == pd.Timestamp("2023-07-10 14:02:24")).all()
    assert (got.dt.microsecond == 0).all() and (got.dt.nanosecond == 0).all()


def test_a_column_of_mixed_forms_is_read_cell_by_cell():
    col = pd.Series(
        ["2023/7/10 14:03:05", "2023年7月10日 14:03", 45117.585, dt.datetime(2023, 7, 10, 9, 0), None, "x"],
        dtype=object,
    )
    got = parse_datetime(col)
    assert got.dtype == "datetime64[ns]"
    assert got.iloc[:4].tolist() == [
        pd.Timestamp("2023-07-10 14:03:05"),
        pd.Timestamp("2023-07-10 14:03:00"),
        pd.Timestamp("2023-07-10 14:02:24"),
        pd.Timestamp("2023-07-10 09:00:00"),
    ]
    assert got.iloc[4:].isna().all()


def test_arrow_text_columns_take_the_vectorised_path_and_the_fallback():
    col = pd.Series(["2023/7/10 14:03:05", "2023年7月10日 14:03", None], dtype="string[pyarrow]")
    got = parse_datetime(col)
    assert got.iloc[0] == pd.Timestamp("2023-07-10 14:03:05")
    assert got.iloc[1] == pd.Timestamp("2023-07-10 14:03:00")
    assert pd.isna(got.iloc[2])


def test_unread_cells_names_count_rows_and_first_examples():
    raw = pd.Series(["272秒", "abc", "", None, "abc", "?"], index=[2, 3, 4, 5, 6, 7], dtype=object)
    got = unread_cells(raw, parse_duration(raw))
    assert got == {"n_filled": 4, "n": 3, "rows": [3, 6, 7], "examples": ["abc", "?"]}


# ------------------------------------------------------------------------------------------------ round trips

_SECONDS = st.integers(min_value=1, max_value=5 * 3600)


def _duration_forms(s: int) -> list[object]:
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    forms: list[object] = [
        s,
        str(s),
        f"{s}秒",
        f"{h * 60 + m}分{sec}秒",
        f"{h}小时{m}分{sec}秒",
        f"{h * 60 + m}:{sec:02d}",
        f"{h:02d}:{m:02d}:{sec:02d}",
        dt.timedelta(seconds=s),
        f"{s / 60}分钟",
    ]
    if s < 86_400:
        forms += [dt.time(h, m, sec), s / 86_400, repr(s / 86_400), dt.datetime(1899, 12, 30, h, m, sec)]
    return forms


@settings(max_examples=200, deadline=None)
@given(_SECONDS)
def test_every_written_duration_form_reads_back_as_the_same_seconds(s):
    for form in _duration_forms(s):
        assert duration_seconds(form) == pytest.approx(s, abs=1e-6), form
    for form in _duration_forms(s):  # a column of one form
        assert parse_duration(pd.Series([form, None, form], dtype=object)).iloc[0] == pytest.approx(s), form


_TIMES = st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2099, 12, 31)).map(
    lambda t: t.replace(microsecond=0)
)


def _datetime_forms(t: dt.datetime) -> list[object]:
    half = "上午" if t.hour < 12 else "下午"
    h12 = t.hour % 12 or 12
    serial = (pd.Timestamp(t) - timing.EXCEL_EPOCH) / pd.Timedelta(days=1)
    return [
        t,
        f"{t.year}/{t.month}/{t.day} {t.hour}:{t.minute:02d}:{t.second:02d}",
        t.strftime("%Y-%m-%d %H:%M:%S"),
        t.strftime("%Y-%m-%dT%H:%M:%S"),
        f"{t.year}年{t.month}月{t.day}日 {t.hour}:{t.minute:02d}:{t.second:02d}",
        f"{t.year}年{t.month}月{t.day}日{t.hour}时{t.minute}分{t.second}秒",
        f"{t.year}/{t.month}/{t.day} {half} {h12}:{t.minute:02d}:{t.second:02d}",
        serial,
        repr(serial),
    ]


@settings(max_examples=200, deadline=None)
@given(_TIMES)
def test_every_written_datetime_form_reads_back_as_the_same_second(t):
    want = pd.Timestamp(t)
    for form in _datetime_forms(t):
        assert timestamp(form) == want, form
    got = parse_datetime(pd.Series(_datetime_forms(t), dtype=object))
    assert (got == want).all()


@settings(max_examples=100, deadline=None)
@given(_TIMES)
def test_minute_precision_forms_read_back_as_the_minute(t):
    want = pd.Timestamp(t.replace(second=0))
    assert timestamp(f"{t.year}年{t.month}月{t.day}日 {t.hour}:{t.minute:02d}") == want
    assert timestamp(f"{t.year}/{t.month}/{t.day} {t.hour}:{t.minute:02d}") == want
