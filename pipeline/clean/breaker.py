"""The circuit breaker: stop the run when a file looks wrong, rather than clean it into a wrong sample.

Hand-edited exports go wrong in ways every later stage would silently accept: 所用时间 converted to minutes makes
nearly every respondent a speeder, a renamed or blanked meta column switches a screen off, an export holding only
its header row yields nothing. The checks (settings: ``cleaning.yaml: circuit_breaker``,
:class:`pipeline.config.cleaning.CircuitBreaker`), each a :class:`Trip` per file:

``speeder`` / ``straightline`` / ``attention`` / ``missing``
    the rule (action ``exclude``) catches more than ``max_excluded_share`` of a file's records (files of at least
    ``min_file_records``); the message says what was most often found and, for durations, whether they look like
    minutes;
``meta_columns``
    a 问卷星 export lacks 所用时间, 提交答卷时间 or 来自IP, holds none usable, holds too few usable in a large file,
    or its durations look like minutes (nearly every value below 60, most with decimals). Paper sheets have no meta
    columns by design and are not checked;
``empty_file``
    a survey file (or sheet) yields no record.

:func:`input_trips` works on the 01_ingest table and the per-file entries of ``_ingest_report.json``;
:func:`rule_trips` on the screening; :func:`stop` raises one :class:`~pipeline.errors.DataError` naming every trip
and the ``cleaning.yaml`` switch that turns its check off. :func:`cross_file_duplicates` is not a stop: the
warnings for records excluded as duplicates of a record in another file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pipeline.clean.rules import REASONS, Screening
from pipeline.config.cleaning import BREAKER_RULES, CircuitBreaker, CleaningRules
from pipeline.errors import DataError

WJX_MODES = ("text", "code")
"""``mode`` values of 问卷星 exports (paper sheets are ``paper``)."""


@dataclass(frozen=True)
class Trip:
    """One reason to stop: which check (its ``circuit_breaker`` key), which file, what looks wrong."""

    check: str
    file: str
    message: str

    def line(self) -> str:
        return f"- {self.file}: {self.message} [关闭此检查 (to switch it off): cleaning.yaml circuit_breaker.{self.check}: off]"


def stop(trips: list[Trip], instrument: str) -> None:
    """Raise one DataError listing every trip (nothing when there is none)."""
    if not trips:
        return
    raise DataError(
        f"{instrument}: 数据看起来有问题，已停止运行 (circuit breaker: the data look wrong, the run stopped; "
        "earlier outputs are untouched). 请修正原始文件，或确认无误后在 cleaning.yaml 中关闭相应检查:\n"
        + "\n".join(t.line() for t in trips)
    )


def _pct(k: int, n: int) -> str:
    return f"{k:,} / {n:,} ({k / n:.0%})" if n else f"{k:,} / 0"


# ---------------------------------------------------------------------------------------------------- inputs


MINUTES_BELOW_60 = 0.9
"""Share of durations below 60 from which a column whose values mostly have decimals looks like minutes (a few
long interviews run past an hour)."""


def minutes_evidence(durations: pd.Series) -> str | None:
    """Why 所用时间 looks converted to minutes (问卷星 writes whole seconds), or None: at least
    :data:`MINUTES_BELOW_60` of the durations below 60 and most of them with decimals."""
    d = durations.dropna().to_numpy(dtype=float)
    if len(d) == 0:
        return None
    below = float((d < 60).mean())
    decimals = float((d != np.round(d)).mean())
    if below < MINUTES_BELOW_60 or decimals <= 0.5:
        return None
    every = "每个值都" if below == 1 else f"{below:.0%} 的值"
    every_en = "every value is" if below == 1 else f"{below:.0%} of the values are"
    return (
        f"所用时间 看起来是分钟：{every}小于 60，{decimals:.0%} 带小数，应为秒 "
        f"(所用时间 looks like minutes: {every_en} below 60 and {decimals:.0%} have decimals; seconds expected)"
    )


def _usable(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per meta column of the export (问卷星 name), whether each record has a usable value."""
    ip = frame["ip_key"] if "ip_key" in frame else pd.Series("", index=frame.index)
    return {
        "所用时间": (frame["duration_s"].notna() & (frame["duration_s"] > 0)).to_numpy(),
        "提交答卷时间": frame["submitted_at"].notna().to_numpy(),
        "来自IP": (ip.notna() & (ip.astype(str) != "")).to_numpy(),
    }


def _meta_trips(rows: pd.DataFrame, entry: dict[str, Any], cfg: CircuitBreaker) -> list[Trip]:
    where = entry["file"] + (f" (工作表 {entry['sheet']})" if entry.get("sheet") else "")
    trips = []
    usable = _usable(rows)
    n = len(rows)
    for name, facts in entry.get("meta_columns", {}).items():
        ok = usable.get(name)
        if ok is None:
            continue
        k = int(ok.sum())
        if facts.get("column") is None:
            others = facts.get("unrecognised_columns") or []
            hint = (
                f"；未识别的列 (unrecognised columns): {others}，如为改名请改回「{name}」" if others else ""
            )
            msg = f"缺少问卷星列「{name}」(missing 问卷星 meta column {name}){hint}"
        elif facts.get("n_filled", 0) == 0:
            msg = f"列「{name}」每一行都是空的 (column {name} is blank in every row)"
        elif k == 0:
            examples = facts.get("unread_examples") or []
            msg = f"列「{name}」没有一格能读取 (no value of {name} could be read)" + (
                f"，如 {examples}" if examples else ""
            )
        elif n >= cfg.min_file_records and (n - k) / n > cfg.max_excluded_share:
            msg = (
                f"列「{name}」有 {_pct(n - k, n)} 行无法使用，超过 {cfg.max_excluded_share:.0%} "
                f"(column {name} unusable in more than the allowed share of rows)"
            )
        elif name == "所用时间" and (minutes := minutes_evidence(rows["duration_s"][ok])):
            msg = minutes
        else:
            continue
        trips.append(Trip("meta_columns", where, msg))
    return trips


def input_trips(
    frame: pd.DataFrame, files: list[dict[str, Any]], cfg: CircuitBreaker, instrument: str
) -> list[Trip]:
    """The ``meta_columns`` and ``empty_file`` trips of one instrument: ``frame`` its 01_ingest table (needs
    ``source_file, source_sheet, mode, duration_s, submitted_at, ip_key``), ``files`` the entries of
    ``_ingest_report.json`` (those of other instruments are ignored)."""
    trips: list[Trip] = []
    mine = [e for e in files if e.get("instrument") == instrument]
    if cfg.empty_file == "check":
        for e in mine:
            if e.get("rows", 0) == 0:
                where = e["file"] + (f" (工作表 {e['sheet']})" if e.get("sheet") else "")
                trips.append(
                    Trip(
                        "empty_file",
                        where,
                        "没有读到任何记录，可能只有表头行 (no record read: only a header row?)",
                    )
                )
    if cfg.meta_columns == "check":
        by_sheet = frame.groupby(["source_file", "source_sheet"], sort=False, observed=True).indices
        for e in mine:
            if e.get("mode") not in WJX_MODES or not e.get("rows"):
                continue
            at = by_sheet.get((e["file"], e.get("sheet", "")))
            if at is None:
                continue
            trips += _meta_trips(frame.iloc[at], e, cfg)
    return trips


# ----------------------------------------------------------------------------------------------------- rules


def _most_common(detail: pd.Series) -> str:
    texts = detail[detail != ""]
    if texts.empty:
        return ""
    top = texts.value_counts().index[0]
    return top if len(top) <= 80 else top[:77] + "…"


_HINTS = {
    "speeder": "请核对 所用时间 的单位与格式 (check the unit of 所用时间)",
    "straightline": "请核对矩阵题的反向题标记 reverse 与选项代码 (check reverse flags and codes of the matrix)",
    "attention": "请核对注意力题的 pass_code 是否与问卷一致 (check the attention check's pass_code)",
    "missing": "可能有题目列没有对应上，或导出不完整 (item columns not matched, or an incomplete export?)",
}


def rule_trips(frame: pd.DataFrame, screening: Screening, rules: CleaningRules) -> list[Trip]:
    """The trips of the watched rules (:data:`BREAKER_RULES`, action ``exclude``, check not ``off``): per
    ``source_file`` of at least ``min_file_records`` records, the share the rule catches (whatever rule came
    first) above ``max_excluded_share``."""
    cfg = rules.circuit_breaker
    watched = {
        r.rule: r
        for r in screening.results
        if r.rule in BREAKER_RULES
        and getattr(cfg, r.rule) == "check"
        and screening.actions[r.rule] == "exclude"
    }
    if not watched:
        return []
    trips = []
    files = frame["source_file"].astype(str)
    for file, at in files.groupby(files, sort=False).indices.items():
        n = len(at)
        if n < cfg.min_file_records:
            continue
        for rule, res in watched.items():
            hit = res.hit.to_numpy(dtype=bool)[at]
            k = int(hit.sum())
            if k / n <= cfg.max_excluded_share:
                continue
            msg = (
                f"规则 {rule}（{REASONS[rule]}）将剔除 {_pct(k, n)} 条记录，超过上限 {cfg.max_excluded_share:.0%} "
                f"(rule {rule} would exclude more than the allowed share of the file's records)"
            )
            if rule == "speeder":
                durations = frame["duration_s"].iloc[at]
                if minutes := minutes_evidence(durations):
                    msg += "；" + minutes
                elif durations.notna().any():
                    msg += f"；所用时间中位数 {durations.median():.0f} 秒 (median duration)"
            common = _most_common(res.detail.iloc[at][hit])
            if common:
                msg += f"；最常见 (most common): {common}"
            trips.append(Trip(rule, file, msg + "；" + _HINTS[rule]))
    return trips


# ------------------------------------------------------------------------------------------------ duplicates

_KEPT = re.compile(r"(?:保留 (.+?)(?=；|$)|距 (.+?) \d+ 秒)")


def cross_file_duplicates(frame: pd.DataFrame, screening: Screening) -> list[dict[str, Any]]:
    """A warning (``{code, file, message, other, n}``) per pair of files where records of ``file`` were
    excluded as duplicates of a record kept from ``other``. Read from the duplicate rule's detail, which names
    the record each duplicate repeats."""
    excluded = (screening.excluded_by == "duplicate").fillna(False).to_numpy(dtype=bool)
    if not excluded.any():
        return []
    (dup,) = [r for r in screening.results if r.rule == "duplicate"]
    file_of = dict(zip(frame["record_id"].astype(str), frame["source_file"].astype(str), strict=True))
    pairs: dict[tuple[str, str], int] = {}
    for file, detail in zip(frame["source_file"].astype(str)[excluded], dup.detail[excluded], strict=True):
        for kept in _KEPT.findall(str(detail)):
            other = file_of.get(kept[0] or kept[1])
            if other is not None and other != file:
                pairs[(file, other)] = pairs.get((file, other), 0) + 1
                break
    return [
        {
            "code": "cross_file_duplicates",
            "file": file,
            "message": (
                f"{n:,} 条记录与 '{other}' 中的记录重复，已按重复提交剔除 "
                f"(records repeating records of another file, excluded as duplicates)"
            ),
            "other": other,
            "n": n,
        }
        for (file, other), n in pairs.items()
    ]
