"""Durations and points in time as 问卷星 writes them and as people retype them in Excel/WPS.

:func:`duration_seconds` reads one 所用时间 cell as seconds, :func:`timestamp` one 提交答卷时间 (or 调查日期) cell as
a naive timestamp rounded to the second; :func:`parse_duration` / :func:`parse_datetime` do a whole column (once
per distinct value, with a vectorised path for 问卷星's own ``2023/7/10 14:03:05``), and :func:`unread_cells`
says which filled cells could not be read.

Durations read (seconds, float):

- 问卷星's ``272秒``, ``4分32秒``, ``1小时2分5秒``, and ``4.53 分钟``; a plain number ``272`` (seconds);
- clock notation ``4:32`` (minutes:seconds) and ``00:04:32`` / ``1:02:03`` (hours:minutes:seconds);
- an Excel time or duration: a ``datetime.time`` / ``timedelta`` as the reader returns a cell formatted as time,
  a datetime on Excel's day zero (1899-12-30/31), or a bare day fraction (a number below 1: ``0.00315`` of a day
  is 272 s, when no plain number of the column is 1 or more), each rounded to the second.

A number of 1 or more is seconds: a column of minutes typed as numbers (``4.32``) is read as seconds, and it is
the clean stage's circuit breaker (:mod:`pipeline.clean.breaker`) that notices it. An Excel time value is read as
Excel holds it: ``4:32`` typed into a time-formatted cell is 4 h 32 min there.

Points in time read (naive, rounded to the second):

- ``2023/7/10 14:03:05``, ``2023-07-10 14:03``, ``2023-07-10T14:03:05``, ``2023.7.10``, ``2023年7月10日 14:03``,
  ``2023年7月10日14时3分5秒``, ``2023/7/10 下午 2:03`` (上午/下午, AM/PM), a date alone (midnight);
- datetimes (Excel cells formatted as dates), and Excel serial numbers as numbers or as text (``45117.585``),
  when between :data:`SERIAL_RANGE` (a number outside it is no date).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

import numpy as np
import pandas as pd

from pipeline.ingest.columns import factorize, spread

SECONDS_PER_DAY = 86_400
EXCEL_EPOCH = pd.Timestamp("1899-12-30")
"""Day 0 of Excel's 1900 date system as used by every Excel since 1900-03-01 (serial 1 = 1899-12-31)."""
SERIAL_RANGE = (20_000.0, 100_000.0)
"""Excel serials read as dates: 1954-10-03 up to 2173-10-14. Smaller or larger numbers are not read as dates."""
_EXCEL_DAY_ZERO = (dt.date(1899, 12, 30), dt.date(1899, 12, 31), dt.date(1900, 1, 1))
"""Dates a reader may attach to an Excel time of day (a serial below 1, or 1 in some readers)."""

# --------------------------------------------------------------------------------------------------------------
# durations

_UNITS = re.compile(
    r"^(?:(\d+(?:\.\d+)?)(?:小时|时|h|hr|hrs|hour|hours))?"
    r"(?:(\d+(?:\.\d+)?)(?:分钟|分|m|min|mins|minute|minutes))?"
    r"(?:(\d+(?:\.\d+)?)(?:秒钟|秒|s|sec|secs|second|seconds)?)?$"
)
_CLOCK = re.compile(r"^(?:(\d+):)?(\d+):(\d{1,2}(?:\.\d+)?)$")
_NUMBER = re.compile(r"^[+]?\d+(?:\.\d*)?(?:e[+-]?\d+)?$|^[+]?\.\d+$")


def _squeeze(text: str) -> str:
    """NFKC (full-width digits, ``：`` → ``:``), lower case, no whitespace."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).lower()


def _number_seconds(x: float, day_fractions: bool = True) -> float:
    """A number in a duration column: a day fraction below 1 (rounded to the second), else seconds."""
    if not np.isfinite(x) or x < 0:
        return np.nan
    if day_fractions and 0 < x < 1:
        return float(round(x * SECONDS_PER_DAY))
    return float(x)


def _clock_seconds(h: int, m: int, s: float, us: int = 0) -> float:
    return float(round(h * 3600 + m * 60 + s + us / 1e6))


def duration_seconds(value: object, *, day_fractions: bool = True) -> float:
    """One 所用时间 cell as seconds (float; NaN when empty or unreadable). See the module docstring for the forms.

    ``day_fractions=False``: a plain number below 1 is seconds, not a fraction of a day."""
    if value is None or isinstance(value, bool):
        return np.nan
    if isinstance(value, (int, float, np.integer, np.floating)):
        return _number_seconds(float(value), day_fractions)
    if isinstance(value, (dt.timedelta, pd.Timedelta)):
        s = pd.Timedelta(value).total_seconds()
        return float(round(s)) if s >= 0 else np.nan
    if isinstance(value, dt.datetime):  # an Excel time shown with a date of day zero
        if value.date() not in _EXCEL_DAY_ZERO:
            return np.nan
        value = value.time()
    if isinstance(value, dt.time):
        return _clock_seconds(value.hour, value.minute, value.second, value.microsecond)
    if value is pd.NaT or isinstance(value, dt.date):
        return np.nan
    s = _squeeze(str(value))
    if not s:
        return np.nan
    if _NUMBER.match(s):
        return _number_seconds(float(s), day_fractions)
    m = _CLOCK.match(s)
    if m:
        h, mi, se = m.groups()
        if (h is not None and int(mi) >= 60) or float(se) >= 60:
            return np.nan
        return float(int(h or 0) * 3600 + int(mi) * 60 + float(se))
    m = _UNITS.match(s)
    if m and any(m.groups()):
        h, mi, se = (float(g) if g else 0.0 for g in m.groups())
        return h * 3600 + mi * 60 + se
    return np.nan


def _plain_number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    if isinstance(value, str) and _NUMBER.match(t := _squeeze(value)):
        return float(t)
    return None


def parse_duration(col: pd.Series) -> pd.Series:
    """A 所用时间 column as float seconds (NaN where empty or unreadable), once per distinct value.

    Plain numbers below 1 are fractions of a day only when every plain number of the column is: in a column that
    also holds ``4.32`` or ``272``, ``0.98`` is a number of the same kind (so that minutes typed as numbers stay
    recognisable as such)."""
    codes, uniques = factorize(col)
    numbers = [x for x in map(_plain_number, uniques) if x is not None and np.isfinite(x)]
    fractions = all(x < 1 for x in numbers)
    values = [duration_seconds(u, day_fractions=fractions) for u in uniques]
    return pd.Series(spread(codes, values, np.nan, float), index=col.index)


# --------------------------------------------------------------------------------------------------------------
# points in time

_HALF = r"(上午|下午|早上|中午|晚上|am|pm)?"
_DATE_TIME = re.compile(
    r"^(\d{4}) ?[年/.\-] ?(\d{1,2}) ?[月/.\-] ?(\d{1,2})(?: ?日)?"
    rf"(?:(?: |t|(?<=日)) ?{_HALF} ?(\d{{1,2}}) ?[:时点] ?(\d{{1,2}})"
    rf"(?: ?(?:[:分] ?(\d{{1,2}}(?:\.\d+)?) ?秒?|分))? ?{_HALF})?$"
)
"""A date (年月日 or ``/ . -`` separated) and optionally a time, on text with whitespace collapsed to one space."""
_AFTERNOON = {"下午", "晚上", "pm"}


def _rounded(ts: pd.Timestamp) -> pd.Timestamp:
    return ts.round("s") if ts is not pd.NaT else ts


def serial_timestamp(x: float) -> pd.Timestamp:
    """An Excel serial (days since :data:`EXCEL_EPOCH`) as a timestamp rounded to the second; NaT outside
    :data:`SERIAL_RANGE`."""
    if not (SERIAL_RANGE[0] <= x <= SERIAL_RANGE[1]):
        return pd.NaT
    return EXCEL_EPOCH + pd.Timedelta(seconds=round(x * SECONDS_PER_DAY))


def _text_timestamp(text: str) -> pd.Timestamp:
    s = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip().lower()
    if _NUMBER.match(s):
        return serial_timestamp(float(s))
    m = _DATE_TIME.match(s)
    if not m:
        return pd.NaT
    year, month, day, half, hour, minute, second, half_after = m.groups()
    half = half or half_after
    h = int(hour or 0)
    if half in _AFTERNOON and h < 12:
        h += 12
    elif half in ("上午", "早上", "am") and h == 12:
        h = 0
    sec = float(second or 0)
    try:
        base = pd.Timestamp(dt.datetime(int(year), int(month), int(day), h, int(minute or 0)))
    except ValueError:  # 2023/2/30, 25:00
        return pd.NaT
    if sec >= 60:
        return pd.NaT
    return _rounded(base + pd.Timedelta(seconds=sec))


def timestamp(value: object) -> pd.Timestamp:
    """One 提交答卷时间 cell as a naive timestamp rounded to the second (NaT when empty or unreadable)."""
    if value is None or value is pd.NaT or isinstance(value, bool):
        return pd.NaT
    if isinstance(value, (int, float, np.integer, np.floating)):
        x = float(value)
        return serial_timestamp(x) if np.isfinite(x) else pd.NaT
    if isinstance(value, (dt.datetime, np.datetime64, pd.Timestamp)):
        ts = pd.Timestamp(value)
        return _rounded(ts.tz_localize(None) if ts.tzinfo is not None else ts)
    if isinstance(value, dt.date):
        return pd.Timestamp(value)
    if isinstance(value, (dt.time, dt.timedelta)):
        return pd.NaT
    return _text_timestamp(str(value))


_WJX_FORMAT = "%Y/%m/%d %H:%M:%S"


def parse_datetime(col: pd.Series) -> pd.Series:
    """A 提交答卷时间 column as naive ``datetime64[ns]`` rounded to the second (NaT where empty or unreadable).

    Text in 问卷星's own ``2023/7/10 14:03:05`` is parsed in one vectorised pass; every other distinct value goes
    through :func:`timestamp`."""
    out = pd.Series(pd.NaT, index=col.index, dtype="datetime64[ns]")
    if pd.api.types.is_datetime64_any_dtype(col.dtype):
        values = col.dt.tz_localize(None) if getattr(col.dt, "tz", None) is not None else col
        return values.astype("datetime64[ns]").dt.round("s")
    kind = pd.api.types.infer_dtype(col, skipna=True)
    rest = col.notna()
    if kind in ("datetime", "datetime64", "date"):  # Excel date cells: one vectorised conversion
        values = pd.to_datetime(col.astype(object).where(rest, None), errors="coerce")
        return values.astype("datetime64[ns]").dt.round("s")
    if kind in ("floating", "integer", "mixed-integer-float"):  # Excel serials
        return _serials(pd.to_numeric(col, errors="coerce").astype(float))
    if kind in ("string", "empty"):
        text = col.astype(object).where(rest, None)
        fast = pd.to_datetime(text, format=_WJX_FORMAT, errors="coerce")
        out[fast.notna()] = fast[fast.notna()].astype("datetime64[ns]")
        rest &= fast.isna()
    if rest.any():
        codes, uniques = factorize(col[rest])
        values = pd.DatetimeIndex([timestamp(u) for u in uniques] + [pd.NaT]).as_unit("ns").to_numpy()
        out[rest] = values[codes]
    return out


def _serials(x: pd.Series) -> pd.Series:
    """:func:`serial_timestamp` of a float column, vectorised."""
    ok = x.between(*SERIAL_RANGE)
    seconds = np.round(x.where(ok).to_numpy() * SECONDS_PER_DAY)
    out = EXCEL_EPOCH + pd.to_timedelta(seconds, unit="s")
    return pd.Series(np.asarray(out, dtype="datetime64[ns]"), index=x.index)


# --------------------------------------------------------------------------------------------------------------
# what could not be read


def unread_cells(raw: pd.Series, parsed: pd.Series, *, examples: int = 3, rows: int = 5) -> dict:
    """Filled cells of ``raw`` whose ``parsed`` value is missing: ``{n, rows, examples}`` (the first spreadsheet
    rows, i.e. index labels, and the first distinct texts as typed)."""
    candidates = raw.notna() & parsed.isna()  # a blank cell never parses: only these need the text test
    blank = raw[candidates].astype(str).str.strip() == ""
    bad = candidates.copy()
    bad[candidates] = ~blank.to_numpy()
    filled = int(raw.notna().sum()) - int(blank.sum())
    found = raw[bad]
    seen: list[str] = []
    for v in found.tolist():
        t = str(v).strip()
        if t not in seen:
            seen.append(t)
        if len(seen) >= examples:
            break
    return {
        "n_filled": filled,
        "n": int(bad.sum()),
        "rows": [int(r) for r in found.index[:rows]],
        "examples": seen,
    }
