"""``scores.xlsx``: the scores as people read them — one row per unit, one column per block and aspect.

Sheets: 单位得分 (overall, rank interval, tier and the block and aspect scores, rounded to 0.1), 覆盖率 (the same
layout with the coverage in percent), 二级指标 (item scores), 城市整体 (the city-wide item scores with interval,
sources and coverage) and 说明 (how to read them). Built in memory; the stage saves it through
:func:`pipeline.safe_cells.save_workbook`.
"""

from __future__ import annotations

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from pipeline.score.system import CITY

NOTES = (
    "各层得分 = 下级得分按 indicators.yaml 的权重加权平均，只在有数据的下级之间重新归一；缺少数据的要点不计为 0 分，而是不计入。",
    "覆盖率 = 适用于该单位的权重中有数据支撑的比例 (0–100%)；覆盖率低的得分主要由少数要点决定，解读时须谨慎。",
    "排名在同类单位之间进行；排名区间综合了问卷抽样误差和权重的不确定性 (Dirichlet 扰动与等权重)，"
    "梯队：排名区间与本梯队首位单位重叠的单位归入同一梯队。",
    "公众问卷按县区估计，市直单位默认取全市估计 (要点的 public_scope)；公职人员问卷按单位；案卷按单位所抽案卷；"
    "资料核查、网络检索、实地走访取核查评价分 (完全落实 100、基本落实 80、部分落实 50、未落实 0)。",
    "明细见 point_sources.parquet (每个单位×要点×来源) 与 scores.parquet (各层得分、标准误、区间、覆盖率)。",
)


def _wide(
    scores: pd.DataFrame, ranking: pd.DataFrame, value: str, factor: float, digits: int
) -> pd.DataFrame:
    units = scores[(scores["unit"] != CITY) & (scores["level"] == "overall")][["unit", "unit_type"]]
    rk = ranking.set_index("unit")
    head = pd.DataFrame({
        "单位代码": units["unit"].to_numpy(),
        "单位名称": units["unit"].map(rk["unit_name"]).to_numpy(),
        "单位类型": units["unit_type"].to_numpy(),
    })  # fmt: skip
    if value == "score":
        head["总分"] = units["unit"].map(rk["score"]).round(1).to_numpy()
        head["排名"] = units["unit"].map(rk["rank"]).to_numpy()
        low, high = units["unit"].map(rk["rank_low"]), units["unit"].map(rk["rank_high"])
        head["排名区间"] = [
            f"{int(a)}–{int(b)}" if pd.notna(a) else "" for a, b in zip(low, high, strict=True)
        ]
        head["梯队"] = units["unit"].map(rk["tier"]).to_numpy()
    head["覆盖率(%)" if value == "score" else "总体覆盖率(%)"] = (
        (units["unit"].map(rk["coverage"]) * 100).round(0).to_numpy()
    )
    for level in ("block", "aspect"):
        part = scores[(scores["level"] == level) & (scores["unit"] != CITY)]
        labels = {i: f"{i} {n}" for i, n in zip(part["id"], part["name"], strict=True)}
        table = part.pivot(index="unit", columns="id", values=value)
        table = table[list(dict.fromkeys(part["id"]))]
        for col in table.columns:
            head[labels[col]] = (units["unit"].map(table[col]) * factor).round(digits).to_numpy()
    return head


def _items(scores: pd.DataFrame) -> pd.DataFrame:
    part = scores[(scores["level"] == "item") & (scores["unit"] != CITY)]
    table = part.pivot(index="unit", columns="id", values="score")
    order = list(dict.fromkeys(part["id"]))
    names = dict(zip(part["id"], part["name"], strict=False))
    units = list(dict.fromkeys(part["unit"]))
    out = table.reindex(index=units, columns=order).round(1)
    out.columns = [f"{i} {names[i]}" for i in order]
    return out.reset_index(names="单位代码")


def _city(scores: pd.DataFrame) -> pd.DataFrame:
    part = scores[(scores["unit"] == CITY) & scores["level"].isin(["overall", "block", "aspect", "item"])]
    return pd.DataFrame({
        "层级": part["level"].map({"overall": "总分", "block": "板块", "aspect": "一级方面", "item": "二级项目"}),
        "编号": part["id"], "名称": part["name"], "得分": part["score"].round(1),
        "区间下限": part["ci_low"].round(1), "区间上限": part["ci_high"].round(1),
        "来源": part["sources"], "覆盖率(%)": (part["coverage"] * 100).round(0),
    })  # fmt: skip


def scores_workbook(scores: pd.DataFrame, ranking: pd.DataFrame) -> Workbook:
    """The workbook (see the module docstring) from the ``scores`` and ``ranking`` tables."""
    sheets = {
        "单位得分": _wide(scores, ranking, "score", 1.0, 1),
        "覆盖率": _wide(scores, ranking, "coverage", 100.0, 0),
        "二级指标": _items(scores),
        "城市整体": _city(scores),
        "说明": pd.DataFrame({"说明": list(NOTES)}),
    }
    wb = Workbook()
    wb.remove(wb.active)
    for name, frame in sheets.items():
        ws = wb.create_sheet(name)
        ws.append([str(c) for c in frame.columns])
        for row in frame.itertuples(index=False):
            ws.append([None if pd.isna(v) else (v.item() if hasattr(v, "item") else v) for v in row])
        for cell in ws[1]:
            cell.font = Font(bold=True)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        ws.freeze_panes = "D2" if name in ("单位得分", "覆盖率") else "B2"
        for k in range(1, frame.shape[1] + 1):
            ws.column_dimensions[get_column_letter(k)].width = (
                100 if name == "说明" else (20 if k <= 2 else 12)
            )
    return wb
