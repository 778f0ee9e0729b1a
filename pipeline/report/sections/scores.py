"""Section 6 指标得分: the units' aspect scores and coverage, the city as a whole, the rankings within each
unit type (07_score ``scores``, ``ranking``, ``point_sources``).

Every number is a cell of a 07_score table, unrounded; scores above the observation points are aggregates, so
nothing is suppressed here: a unit whose score rests partly on a survey cell below the small-cell rule is
marked :data:`~pipeline.report.blocks.SMALL_MARK` (07_score ``point_sources.flag``).
"""

from __future__ import annotations

import pandas as pd

from pipeline.report.blocks import SMALL_MARK, Block, Heading, Paragraph, Section, Table
from pipeline.report.inputs import ReportInputs
from pipeline.report.sections._scoring_common import (
    small_cells,
    source_note,
    unit_names,
    unit_order,
    unit_types,
)
from pipeline.score.system import CITY, CITY_NAME, CITY_TYPE

NUMBER = 6
TITLE = "指标得分"
STAGE = "score"

EXPLANATION = (
    "得分：每个评估要点按数据来源（公众问卷、公职人员问卷、案卷评查、资料核查、网络检索、实地（暗）访）计 0–100 分，"
    "多个来源按指标体系规定的来源权重加权合并；二级指标、一级指标（方面）、板块和总分均为下一层已适用且有数据的"
    "各项按配置权重的加权平均（权重在有数据的各项之间重新归一）。无数据的项目留空，不按 0 分计。",
    "覆盖率：某单位适用的指标权重中有数据支撑的份额（0–100%）。覆盖率低于 100% 表示部分要点缺少数据，"
    "该单位得分依据的是其余要点，与其他单位比较时须注意。",
    "排名区间：同时按抽样误差（要点得分在其标准误范围内随机变动）和权重不确定性（各级权重在配置值附近随机变动）"
    "重复模拟计分，取该单位模拟排名的中间部分，并扩展到包含实际名次和等权重名次。区间重叠的单位不能有把握地"
    "区分先后。梯队：按名次依次归组，某单位排名区间中的最好名次不低于（数值不大于）本梯队第一个单位排名区间中的"
    "最差名次时，与其同属一个梯队，否则另起一个梯队；同一梯队的单位与该梯队第一个单位不能有把握地区分。",
)


def section(inputs: ReportInputs) -> Section:
    """Section 6, or its one missing line when 07_score has not run."""
    scores = inputs.table(STAGE, "scores")
    if scores is None:
        return Section(NUMBER, TITLE, missing=inputs.missing_line(STAGE))
    scores = scores[
        scores["level"].isin(["aspect", "block", "overall"])
    ]  # the point and item rows are not shown
    ranking = inputs.table(STAGE, "ranking")
    flagged = _flagged(inputs.table(STAGE, "point_sources"))
    blocks: list[Block] = [Paragraph(text, bullet=True) for text in EXPLANATION]
    blocks.append(Heading("城市整体得分"))
    city = city_table(inputs, scores, flagged)
    if city is not None:
        blocks.append(city)
    for type_id, label in unit_types(inputs.config).items():
        part = scores[scores["unit_type"] == type_id]
        if part.empty:
            continue
        blocks.append(Heading(f"{label}：方面得分与排名"))
        blocks.append(aspect_table(inputs, part, type_id, label, flagged))
        if ranking is not None:
            ranked = ranking_table(inputs, ranking, scores, type_id, label)
            if ranked is not None:
                blocks.append(ranked)
    blocks.append(Heading("数据覆盖率"))
    blocks += coverage_blocks(inputs, scores)
    return Section(NUMBER, TITLE, tuple(blocks))


def _flagged(point_sources: pd.DataFrame | None) -> pd.DataFrame:
    """The (unit, aspect) pairs with a survey cell below the small-cell rule (``flag`` small or suppressed)."""
    if point_sources is None:
        return pd.DataFrame({"unit": [], "aspect": [], "flag": []})
    rows = point_sources[point_sources["flag"].isin(["small", "suppressed"])]
    return rows[["unit", "aspect", "flag"]].drop_duplicates()


def _mark_note(inputs: ReportInputs) -> str:
    suppress, mark = small_cells(inputs)
    return (
        f"{SMALL_MARK}：该单位（行）的得分部分依据样本量较小的问卷估计（Kish 有效样本量低于 {mark}；低于 {suppress} "
        "的问卷格不单独报告，只计入汇总得分，见 07_score/point_sources 的 flag 与 reason 列）。汇总得分不作抑制。"
    )


def _aspects(inputs: ReportInputs) -> list[tuple[str, str]]:
    """(aspect id, column header) in ``indicators.yaml`` order."""
    system = inputs.config.indicators
    return [(a.id, f"{a.id} {a.name}") for a in system.aspects] if system else []


def aspect_table(
    inputs: ReportInputs, part: pd.DataFrame, type_id: str, label: str, flagged: pd.DataFrame
) -> Table:
    """Units of one type × aspects: the overall score and coverage, then each aspect's score."""
    names = unit_names(inputs.config)
    order = unit_order(inputs.config)
    units = sorted(part["unit"].unique(), key=lambda u: (order.get(u, len(order)), u))
    overall = part[part["level"] == "overall"].set_index("unit")
    aspects = part[part["level"] == "aspect"]
    wide = aspects.pivot_table(index="unit", columns="id", values="score", aggfunc="first", dropna=False)
    frame = pd.DataFrame({"单位": [names.get(u, u) for u in units]})
    frame["总分"] = overall["score"].reindex(units).to_numpy(dtype=float)
    frame["覆盖率"] = overall["coverage"].reindex(units).to_numpy(dtype=float)
    formats = {"总分": "num1", "覆盖率": "pct1"}
    for aspect_id, header in _aspects(inputs):
        if aspect_id in wide.columns:
            frame[header] = wide[aspect_id].reindex(units).to_numpy(dtype=float)
            formats[header] = "num1"
    marked = set(flagged["unit"])
    frame["标记"] = [SMALL_MARK if u in marked else "" for u in units]
    notes = (
        source_note(inputs, (STAGE, "scores")),
        f"单位数 n = {len(units)}（{label}）；得分 0–100。问卷来源为加权估计（03_weight 权重），案卷与核查评级不加权。",
        "空白：该方面不适用于该单位，或该方面没有任何数据（不按 0 分计）。覆盖率为总分的覆盖率，各方面的覆盖率见本节"
        "“数据覆盖率”。",
        _mark_note(inputs),
    )
    return Table(f"scores.aspects.{type_id}", f"{label}各单位总分与方面得分", frame,
                 inputs.source(STAGE, "scores"), formats, notes, landscape=True)  # fmt: skip


def coverage_blocks(inputs: ReportInputs, scores: pd.DataFrame) -> list[Block]:
    """The aspects whose coverage is below 100 %, one row per unit × aspect (a sentence when there is none)."""
    names = unit_names(inputs.config)
    types = unit_types(inputs.config)
    order = unit_order(inputs.config)
    aspect_order = {a: i for i, (a, _) in enumerate(_aspects(inputs))}
    headers = dict(_aspects(inputs))
    aspects = scores[(scores["level"] == "aspect") & (scores["coverage"] < 1)]
    n_units = scores.loc[scores["level"] == "overall", "unit"].nunique()
    if aspects.empty:
        return [Paragraph(f"全部 {n_units} 个单位（含城市整体）各方面的数据覆盖率均为 100%。")]
    overall = scores[scores["level"] == "overall"].set_index("unit")["coverage"]
    aspects = aspects.assign(
        _unit=aspects["unit"].map(lambda u: order.get(u, -1 if u == CITY else len(order))),
        _aspect=aspects["id"].map(lambda a: aspect_order.get(a, len(aspect_order))),
    ).sort_values(["_unit", "unit", "_aspect"], kind="stable")
    frame = pd.DataFrame({
        "单位": [names.get(u, u) for u in aspects["unit"]],
        "单位类型": [types.get(t, CITY_NAME if t == CITY_TYPE else t) for t in aspects["unit_type"]],
        "方面": [headers.get(a, a) for a in aspects["id"]],
        "方面覆盖率": aspects["coverage"].to_numpy(dtype=float),
        "方面得分": aspects["score"].to_numpy(dtype=float),
        "总分覆盖率": overall.reindex(aspects["unit"]).to_numpy(dtype=float),
    })  # fmt: skip
    notes = (
        source_note(inputs, (STAGE, "scores")),
        f"列出覆盖率低于 100% 的单位 × 方面（{aspects['unit'].nunique()} 个单位，共 {n_units} 个单位含城市整体）；"
        "未列出的均为 100%。方面得分空白：该方面完全没有数据。",
    )
    formats = {"方面覆盖率": "pct1", "方面得分": "num1", "总分覆盖率": "pct1"}
    return [
        Table(
            "scores.coverage", "数据覆盖率不足的方面", frame, inputs.source(STAGE, "scores"), formats, notes
        )
    ]


def city_table(inputs: ReportInputs, scores: pd.DataFrame, flagged: pd.DataFrame) -> Table | None:
    """The city as a whole (unit ``CITY``): overall, block and aspect scores with interval, coverage, sources."""
    city = scores[(scores["unit"] == CITY) & scores["level"].isin(["overall", "block", "aspect"])]
    if city.empty:
        return None
    levels = {"overall": "总分", "block": "板块", "aspect": "方面"}
    rank = {"overall": 0, "block": 1, "aspect": 2}
    city = city.assign(_level=city["level"].map(rank)).sort_values("_level", kind="stable")
    marked = set(flagged.loc[flagged["unit"] == CITY, "aspect"])
    frame = pd.DataFrame({
        "层级": city["level"].map(levels).to_numpy(),
        "编号": city["id"].to_numpy(),
        "名称": city["name"].to_numpy(),
        "得分": city["score"].to_numpy(dtype=float),
        "标准误": city["se"].to_numpy(dtype=float),
        "95%置信区间下限": city["ci_low"].to_numpy(dtype=float),
        "95%置信区间上限": city["ci_high"].to_numpy(dtype=float),
        "覆盖率": city["coverage"].to_numpy(dtype=float),
        "有数据的要点数": city["n"].to_numpy(),
        "数据来源": city["sources"].to_numpy(),
        "标记": [SMALL_MARK if lvl == "aspect" and i in marked else ""
               for lvl, i in zip(city["level"], city["id"], strict=True)],
    })  # fmt: skip
    formats = {"得分": "num1", "标准误": "num2", "95%置信区间下限": "num1", "95%置信区间上限": "num1",
               "覆盖率": "pct1", "有数据的要点数": "int"}  # fmt: skip
    notes = (
        source_note(inputs, (STAGE, "scores")),
        "城市整体：公众问卷为全市加权估计，公职人员问卷按编制人数加权，案卷为全部抽查案卷，核查评级为各单位的平均。",
        "置信区间：得分 ± 1.96 × 标准误（下层各项按相互独立合并，截于 0–100）；同一批答卷支撑的要点正相关，"
        "故汇总标准误略偏小。标准误空白：该项只有核查评级，无抽样误差。",
        _mark_note(inputs),
    )
    return Table("scores.city", "城市整体得分", frame, inputs.source(STAGE, "scores"), formats, notes)


def ranking_table(
    inputs: ReportInputs, ranking: pd.DataFrame, scores: pd.DataFrame, type_id: str, label: str
) -> Table | None:
    """The ranking of one unit type: rank, overall and block scores, coverage, rank interval, tier."""
    part = ranking[ranking["unit_type"] == type_id]
    if part.empty:
        return None
    order = unit_order(inputs.config)
    part = part.assign(_order=part["unit"].map(lambda u: order.get(u, len(order))))
    part = part.sort_values(["rank", "_order", "unit"], na_position="last", kind="stable")
    units = part["unit"].tolist()
    frame = pd.DataFrame({
        "名次": part["rank"].astype("Float64").to_numpy(dtype=float, na_value=float("nan")),
        "单位": part["unit_name"].to_numpy(),
        "总分": part["score"].to_numpy(dtype=float),
    })  # fmt: skip
    formats = {"名次": "int", "总分": "num1", "覆盖率": "pct1", "梯队": "int"}
    system = inputs.config.indicators
    blocks = scores[(scores["level"] == "block") & scores["unit"].isin(units)]
    wide = blocks.pivot_table(index="unit", columns="id", values="score", aggfunc="first", dropna=False)
    for block_id, block_name in system.blocks.items() if system else []:
        if block_id in wide.columns:
            frame[block_name] = wide[block_id].reindex(units).to_numpy(dtype=float)
            formats[block_name] = "num1"
    frame["覆盖率"] = part["coverage"].to_numpy(dtype=float)
    frame["排名区间"] = [
        _interval(lo, hi) for lo, hi in zip(part["rank_low"], part["rank_high"], strict=True)
    ]
    frame["梯队"] = part["tier"].astype("Float64").to_numpy(dtype=float, na_value=float("nan"))
    settings = system.ranking if system else None
    n_units = int(part["n_units"].max())
    notes = [
        source_note(inputs, (STAGE, "ranking"), (STAGE, "scores")),
        f"参与排名的单位数 n = {n_units}（{label}，有总分的单位）；名次按总分从高到低，并列取较好名次。",
    ]
    if settings is not None:
        notes.append(
            f"排名区间：{settings.draws} 次模拟中该单位名次的中间 {settings.confidence_level:.0%}，同时扰动要点得分"
            f"（抽样误差）和各级权重（Dirichlet 分布，集中度 {settings.weight_concentration:g}）。"
        )
    notes.append("名次、排名区间与梯队空白：该单位没有总分。")
    return Table(f"scores.ranking.{type_id}", f"{label}排名", frame, inputs.source(STAGE, "ranking"), formats,
                 tuple(notes))  # fmt: skip


def _interval(low: object, high: object) -> str:
    if pd.isna(low) or pd.isna(high):
        return ""
    return f"{int(low)}–{int(high)}"
