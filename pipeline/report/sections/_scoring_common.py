"""Small helpers shared by sections 6–9 (scores, case files, problems, methods): unit names and types from
``units.yaml``, the small-cell rule in force, Chinese ordinal numbers and the note lines every table repeats."""

from __future__ import annotations

from typing import Any

from pipeline.config import Config
from pipeline.score.system import CITY, CITY_NAME

_DIGITS = "零一二三四五六七八九"


def chinese_number(n: int) -> str:
    """``n`` (1–999) in Chinese numerals, as headings number problems (共性问题一, 共性问题十二).

    Examples
    --------
    >>> [chinese_number(k) for k in (1, 10, 12, 20, 105)]
    ['一', '十', '十二', '二十', '一百零五']
    """
    if not 0 < n < 1000:
        return str(n)
    hundreds, rest = divmod(n, 100)
    tens, ones = divmod(rest, 10)
    out = ""
    if hundreds:
        out += _DIGITS[hundreds] + "百"
        if rest and tens == 0:
            return out + "零" + _DIGITS[ones]
    if tens:
        out += ("" if tens == 1 and not hundreds else _DIGITS[tens]) + "十"
    if ones:
        out += _DIGITS[ones]
    return out


def unit_names(config: Config) -> dict[str, str]:
    """Unit code → name (``units.yaml``), with the city as a whole (``CITY``) as 城市整体."""
    names = {u.code: u.name for u in config.units.units} if config.units else {}
    return {**names, CITY: CITY_NAME}


def unit_order(config: Config) -> dict[str, int]:
    """Unit code → its position in ``units.yaml`` (the order every unit table follows)."""
    return {u.code: i for i, u in enumerate(config.units.units)} if config.units else {}


def unit_types(config: Config) -> dict[str, str]:
    """Unit type id → Chinese label, in ``units.yaml`` order."""
    return dict(config.units.unit_types) if config.units else {}


def small_cells(inputs: Any) -> tuple[int, int]:
    """(suppress_below, mark_below) of the run: the run options ``--min-n``/``--small-n`` recorded in the
    manifest when given, else ``analysis.yaml: small_cells``."""
    rule = inputs.config.analysis.small_cells
    options = inputs.manifest.get("options") or {}
    suppress = options.get("min_n") or rule.suppress_below
    mark = options.get("small_n") or rule.mark_below
    return int(suppress), int(mark)


def source_note(inputs: Any, *tables: tuple[str, str]) -> str:
    """The note line naming where a table's numbers come from: ``数据来源：07_score/scores``."""
    return "数据来源：" + "、".join(inputs.source(stage, name) for stage, name in tables) + "。"
