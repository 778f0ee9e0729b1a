"""Evaluator checkpoint sheets (资料核查 / 网络检索 / 实地走访): one row per unit × observation point.

Header row (possibly below title rows): ``被评估单位`` (unit name or code), ``观察点`` (point id such as ``9.1.1``,
optionally followed by its name), ``来源`` (``document``/``online``/``site`` or 资料核查/网络检索/实地查看), ``评价``
(a key of ``indicators.yaml: checkpoint_scores``, e.g. 完全落实) and optionally ``备注`` (masked). Without a
``来源`` column the source comes from the file or sheet name (``资料核查表.xlsx`` → document). Other columns (the
point's name, 核查人 — a person's name) are not read.
"""

from __future__ import annotations

import re

import pandas as pd

from pipeline.config.models import IndicatorSystem, Units
from pipeline.errors import DataError
from pipeline.ingest.casefile_sheets import map_units
from pipeline.ingest.excel import Sheet, find_header_row, frame_below
from pipeline.ingest.privacy import mask_series
from pipeline.ingest.text import as_text, free_texts, normalize

ALIASES: dict[str, tuple[str, ...]] = {
    "unit": ("被评估单位", "被评查单位", "单位", "单位名称", "单位代码"),
    "point": ("观察点编号", "观测点编号", "要点编号", "观察点", "观测点", "评估要点", "要点"),
    "source": ("来源", "核查方式", "评估方式", "数据来源"),
    "rating": ("评价", "评价结果", "评估结果", "落实情况", "评定"),
    "note": ("备注", "说明", "情况说明"),
}
REQUIRED = ("unit", "point", "rating")
"""``来源`` may be absent when the file or sheet name tells the source (``资料核查表.xlsx``, ``网络检索``, ``实地…``)."""
SOURCE_NAMES: dict[str, str] = {
    "document": "document",
    "资料核查": "document",
    "资料查阅": "document",
    "材料核查": "document",
    "online": "online",
    "网络检索": "online",
    "网上检索": "online",
    "网络查询": "online",
    "site": "site",
    "实地查看": "site",
    "实地走访": "site",
    "实地暗访": "site",
    "实地(暗)访": "site",
    "暗访": "site",
}
_POINT = re.compile(r"^(\d+(?:\.\d+){1,3})")


def _role(header: str) -> str | None:
    n = normalize(header)
    return next((r for r, names in ALIASES.items() if n in names), None)


def _is_header(cells: list[str]) -> bool:
    roles = {_role(c) for c in cells}
    return all(r in roles for r in REQUIRED)


def looks_like_checkpoints(sheet: Sheet) -> bool:
    return find_header_row(sheet, _is_header) is not None


def read_checkpoint_sheet(sheet: Sheet, indicators: IndicatorSystem, units: Units) -> pd.DataFrame | None:
    hr = find_header_row(sheet, _is_header)
    if hr is None:
        return None
    frame = frame_below(sheet, hr)
    by_role: dict[str, str] = {}
    for col in frame.columns:
        role = _role(col)
        if role and (
            role not in by_role or (role == "point" and "编号" in col and "编号" not in by_role[role])
        ):
            by_role[role] = col
    frame = frame[frame[by_role["unit"]].notna() | frame[by_role["point"]].notna()]
    out = pd.DataFrame(index=frame.index)
    out["unit"] = map_units(frame[by_role["unit"]], units, sheet, by_role["unit"])
    points = {p.id for a in indicators.aspects for i in a.items for p in i.points}
    text = as_text(frame[by_role["point"]])
    pid = text.map(lambda s: m.group(1) if (m := _POINT.match(normalize(s))) else None, na_action="ignore")
    bad = pid.isna() | ~pid.isin(points)
    if bad.any():
        r = int(bad[bad].index[0])
        raise DataError(
            f"未知观察点 (unknown observation point) '{text[r]}': expected an id from indicators.yaml such as "
            f"{sorted(points)[:3]}",
            sheet.location(row=r, column=by_role["point"]),
        )
    out["point"] = pid.astype(str)
    if "source" not in by_role:
        implied = source_from_name(f"{sheet.file.stem} {sheet.name}")
        if implied is None:
            raise DataError(
                "核查表缺少来源 (no 来源 column and the file/sheet name names no source): add a 来源 column "
                "(资料核查/网络检索/实地查看) or name the file 资料核查表/网络检索表/实地走访表",
                sheet.location(row=hr + 1),
            )
        out["source"] = implied
    else:
        _map_sources(out, as_text(frame[by_role["source"]]), sheet, by_role["source"])
    scores = {normalize(k): (k, v) for k, v in indicators.checkpoint_scores.items()}
    rating_text = as_text(frame[by_role["rating"]])
    rated = rating_text.map(lambda s: scores.get(normalize(s)), na_action="ignore")
    if rated.isna().any():
        r = int(rated[rated.isna()].index[0])
        raise DataError(
            f"未知评价 (unknown rating) '{rating_text[r]}': expected one of {list(indicators.checkpoint_scores)}",
            sheet.location(row=r, column=by_role["rating"]),
        )
    out["rating"] = rated.map(lambda t: t[0]).astype(str)
    out["score"] = rated.map(lambda t: t[1]).astype(float)
    out["note"] = mask_series(free_texts(frame[by_role["note"]])) if "note" in by_role else None
    return out


def source_from_name(name: str) -> str | None:
    """The source a file or sheet name implies (``资料核查表`` → document), or None."""
    n = normalize(name).lower()
    hits = {v for k, v in SOURCE_NAMES.items() if normalize(k).lower() in n}
    hits |= {"site"} if "实地" in n else set()
    return hits.pop() if len(hits) == 1 else None


def _map_sources(out: pd.DataFrame, src_text: pd.Series, sheet: Sheet, column: str) -> None:
    table = {normalize(k).lower(): v for k, v in SOURCE_NAMES.items()}
    src = src_text.map(lambda s: table.get(normalize(s).lower()), na_action="ignore")
    if src.isna().any():
        r = int(src[src.isna()].index[0])
        raise DataError(
            f"未知来源 (unknown source) '{src_text[r]}': expected document/online/site (资料核查/网络检索/实地查看)",
            sheet.location(row=r, column=column),
        )
    out["source"] = src.astype(str)
