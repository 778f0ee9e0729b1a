"""Section 5 差异分析: the significant group differences of 05_compare, the units that differ significantly from
their peers, and the district gaps adjusted for demographic mix.

Reads ``05_compare/comparisons``, ``families``, ``unit_vs_peers`` and ``adjusted``. "Significant" is the stage's
Holm-adjusted p (``p_holm``) below :data:`ALPHA`; the public questionnaire is reported from its design-based
(weighted) families, the staff questionnaire and case files from their unweighted ones.
"""

from __future__ import annotations

import pandas as pd

from pipeline.report.blocks import Block, Heading, Paragraph, Section, Table
from pipeline.report.inputs import ReportInputs
from pipeline.report.sections._common import (
    Labels,
    apply_small_cells,
    flags_of,
    instrument_name,
    sig_mark,
    small_cell_notes,
    sources,
)

NUMBER = 5
TITLE = "差异分析"

ALPHA = 0.05
SIG_NOTE = "* p<0.05，** p<0.01，*** p<0.001（多重比较校正后，Holm 法）"
#: Tests with one row per family (omnibus), and pairwise ones.
OMNIBUS = ("svy_wald_f", "rao_scott", "welch_anova", "kruskal", "chi2", "fisher", "welch_t", "mann_whitney")
PAIRWISE = ("svy_contrast", "games_howell")
TEST_NAMES = {
    "svy_wald_f": "设计Wald F",
    "rao_scott": "Rao–Scott F",
    "welch_anova": "Welch 方差分析",
    "kruskal": "Kruskal–Wallis",
    "chi2": "卡方检验",
    "fisher": "Fisher 精确检验",
    "welch_t": "Welch t",
    "mann_whitney": "Mann–Whitney U",
    "svy_contrast": "设计对比",
    "games_howell": "Games–Howell",
}
EFFECT_NAMES = {
    "standardized_difference": "标准化差值",
    "omega_squared": "ω²",
    "epsilon_squared": "ε²",
    "hedges_g": "Hedges' g",
    "cramers_v": "Cramér's V",
    "rank_biserial": "秩二列相关",
}
#: Case-file outcomes (not questionnaire variables).
CASEFILE_OUTCOMES = {"score": "案卷评查得分", "grade": "案卷等级", "veto": "否决项"}
INDEX_NAME = "满意度指数"


def _outcome(labels: Labels, instrument: str, dv: str) -> str:
    if instrument == "casefile":
        return CASEFILE_OUTCOMES.get(dv, dv)
    if dv == "SI":
        return INDEX_NAME
    if dv.startswith("satisfied_"):
        return f"{labels.item(instrument, dv[len('satisfied_') :])}（满意率）"
    return labels.outcome(instrument, dv)


def _primary(table: pd.DataFrame) -> pd.DataFrame:
    """Public rows from weighted families, other instruments' rows as they are."""
    public = table["instrument"] == "public"
    return table[~public | table["weighted"].astype(bool)]


def _effect_name(name: object) -> str:
    return EFFECT_NAMES.get(str(name), str(name)) if isinstance(name, str) else ""


def _omnibus_table(inputs: ReportInputs, labels: Labels, instrument: str, rows: pd.DataFrame) -> Table:
    frame = pd.DataFrame(
        {
            "结果变量": [_outcome(labels, instrument, str(d)) for d in rows["dv"]],
            "分组": [labels.by(str(b), instrument) for b in rows["by"]],
            "检验": [TEST_NAMES.get(str(t), str(t)) for t in rows["test"]],
            "统计量": rows["statistic"].tolist(),
            "df1": rows["df1"].tolist(),
            "df2": rows["df2"].tolist(),
            "校正p": rows["p_holm"].tolist(),
            "显著性": [sig_mark(p) for p in rows["p_holm"]],
            "效应量": rows["effect"].tolist(),
            "效应量指标": [_effect_name(n) for n in rows["effect_name"]],
            "样本量": rows["n"].tolist(),
        }
    )
    flags = flags_of(rows)
    weighted = bool(rows["weighted"].astype(bool).any())
    return Table(
        f"differences.omnibus.{instrument}",
        f"{instrument_name(instrument)}：组间差异显著的总体检验",
        apply_small_cells(frame, flags, ["统计量", "校正p", "效应量"]),
        source=sources(inputs, ("compare", "comparisons"), ("compare", "families")),
        formats={
            "统计量": "num2",
            "df1": "num1",
            "df2": "num1",
            "校正p": "p",
            "效应量": "num3",
            "样本量": "int",
        },
        notes=(
            f"列出校正p < {ALPHA} 的检验；校正p 为 05_compare 的 p_holm（同一检验族内 Holm 校正）。",
            SIG_NOTE,
            "加权（设计为基础的检验）。" if weighted else "未加权。",
            "缺失处理：各结果变量以有回答（“不了解”不计分）的记录计算。",
            *small_cell_notes(inputs.config, flags, weighted),
        ),
        landscape=True,
    )


def _pairwise_table(inputs: ReportInputs, labels: Labels, instrument: str, rows: pd.DataFrame) -> Table:
    frame = pd.DataFrame(
        {
            "结果变量": [_outcome(labels, instrument, str(d)) for d in rows["dv"]],
            "分组": [labels.by(str(b), instrument) for b in rows["by"]],
            "组A": [_name(n, g, labels) for n, g in zip(rows["group_a_name"], rows["group_a"], strict=True)],
            "组B": [_name(n, g, labels) for n, g in zip(rows["group_b_name"], rows["group_b"], strict=True)],
            "差值(A−B)": rows["estimate"].tolist(),
            "95%CI下限": rows["ci_low"].tolist(),
            "95%CI上限": rows["ci_high"].tolist(),
            "校正p": rows["p_holm"].tolist(),
            "显著性": [sig_mark(p) for p in rows["p_holm"]],
            "效应量": rows["effect"].tolist(),
            "效应量指标": [_effect_name(n) for n in rows["effect_name"]],
        }
    )
    flags = flags_of(rows)
    weighted = bool(rows["weighted"].astype(bool).any())
    return Table(
        f"differences.pairwise.{instrument}",
        f"{instrument_name(instrument)}：差异显著的两两比较",
        apply_small_cells(frame, flags, ["差值(A−B)", "95%CI下限", "95%CI上限", "校正p", "效应量"]),
        source=inputs.source("compare", "comparisons"),
        formats={
            "差值(A−B)": "num2",
            "95%CI下限": "num2",
            "95%CI上限": "num2",
            "校正p": "p",
            "效应量": "num3",
        },
        notes=(
            f"列出校正p < {ALPHA} 的两两比较；校正p 为同一检验族内所有两两比较的 Holm 校正。",
            SIG_NOTE,
            "得分为 0–100 分；" + ("加权（设计为基础的对比）。" if weighted else "未加权。"),
            *small_cell_notes(inputs.config, flags, weighted),
        ),
        landscape=True,
    )


def _name(name: object, group: object, labels: Labels) -> str:
    if isinstance(name, str) and name:
        return name
    return labels.group(group)


def _peers_table(inputs: ReportInputs, labels: Labels, rows: pd.DataFrame) -> Table:
    frame = pd.DataFrame(
        {
            "单位": rows["unit_name"].astype(str).tolist(),
            "问卷": [instrument_name(str(i)) for i in rows["instrument"]],
            "结果变量": [
                _outcome(labels, str(i), str(d)) for i, d in zip(rows["instrument"], rows["dv"], strict=True)
            ],
            "本单位": rows["mean_unit"].tolist(),
            "同类其他单位": rows["mean_rest"].tolist(),
            "差值": rows["estimate"].tolist(),
            "95%CI下限": rows["ci_low"].tolist(),
            "95%CI上限": rows["ci_high"].tolist(),
            "校正p": rows["p_holm"].tolist(),
            "显著性": [sig_mark(p) for p in rows["p_holm"]],
            "样本量": rows["n_a"].tolist(),
        }
    )
    flags = flags_of(rows)
    return Table(
        "differences.unit_vs_peers",
        "与同类单位差异显著的单位",
        apply_small_cells(frame, flags, ["本单位", "差值", "95%CI下限", "95%CI上限", "校正p"]),
        source=inputs.source("compare", "unit_vs_peers"),
        formats={
            "本单位": "num1",
            "同类其他单位": "num1",
            "差值": "num2",
            "95%CI下限": "num2",
            "95%CI上限": "num2",
            "校正p": "p",
            "样本量": "int",
        },
        notes=(
            "各单位与同类型其他单位（县区与其他县区）比较；差值 = 本单位 − 同类其他单位，0–100 分。",
            f"列出校正p < {ALPHA} 的结果（每个结果变量内对全部单位做 Holm 校正）。",
            SIG_NOTE,
            "公众问卷加权（设计为基础的对比），公职人员问卷与案卷未加权（Welch t）；样本量为本单位人数（件数）。",
            *small_cell_notes(inputs.config, flags, True),
        ),
        landscape=True,
    )


def _adjusted_table(inputs: ReportInputs, labels: Labels, rows: pd.DataFrame) -> Table:
    frame = pd.DataFrame(
        {
            "结果变量": [
                _outcome(labels, str(i), str(d)) for i, d in zip(rows["instrument"], rows["dv"], strict=True)
            ],
            "县区": rows["district_name"].astype(str).tolist(),
            "未调整差距": rows["unadjusted_diff"].tolist(),
            "调整后差距": rows["adjusted_diff"].tolist(),
            "95%CI下限": rows["ci_low"].tolist(),
            "95%CI上限": rows["ci_high"].tolist(),
            "校正p": rows["p_holm"].tolist(),
            "显著性": [sig_mark(p) for p in rows["p_holm"]],
            "构成差异": rows["gap_change"].tolist(),
            "样本量": rows["n"].tolist(),
        }
    )
    flags = flags_of(rows)
    reference = str(rows["reference_name"].iloc[0]) if len(rows) else ""
    controls = str(rows["controls"].iloc[0]) if len(rows) else ""
    control_names = "、".join(labels.by(c.strip(), "public") for c in controls.split("+") if c.strip())
    return Table(
        "differences.adjusted",
        "调整人口构成后的县区差距",
        apply_small_cells(
            frame, flags, ["未调整差距", "调整后差距", "95%CI下限", "95%CI上限", "校正p", "构成差异"]
        ),
        source=inputs.source("compare", "adjusted"),
        formats={
            "未调整差距": "num2",
            "调整后差距": "num2",
            "95%CI下限": "num2",
            "95%CI上限": "num2",
            "校正p": "p",
            "构成差异": "num2",
            "样本量": "int",
        },
        notes=(
            f"差距 = 该县区 − 参照县区（{reference}），0–100 分；调整后差距控制了{control_names}（加权回归）。",
            "构成差异 = 调整后 − 未调整，即差距中由人口构成造成的部分；区间与校正p 为调整后差距的。",
            SIG_NOTE,
            "只用各控制变量都有回答的记录。",
            *small_cell_notes(inputs.config, flags, True),
        ),
        landscape=True,
    )


def section(inputs: ReportInputs) -> Section:
    """差异分析, or one line when 05_compare has not run."""
    if not inputs.ran("compare"):
        return Section(NUMBER, TITLE, missing=inputs.missing_line("compare"))
    labels = Labels(inputs.config)
    blocks: list[Block] = [
        Paragraph(
            f"本节只列出多重比较校正后 p < {ALPHA} 的差异（校正方法见各表注）；公众问卷用加权的设计为基础的检验，"
            "公职人员问卷与案卷评查为未加权检验。全部检验结果见 05_compare 的各表。"
        )
    ]
    comparisons = inputs.table("compare", "comparisons")
    if comparisons is not None and len(comparisons):
        primary = _primary(comparisons)
        significant = primary[primary["p_holm"] < ALPHA]
        blocks.append(Heading("组间差异"))
        for instrument in dict.fromkeys(comparisons["instrument"].astype(str)):
            mine = primary[primary["instrument"] == instrument]
            omnibus = significant[
                (significant["instrument"] == instrument) & significant["test"].isin(OMNIBUS)
            ]
            pairwise = significant[
                (significant["instrument"] == instrument) & significant["test"].isin(PAIRWISE)
            ]
            n_tests = int(mine["test"].isin(OMNIBUS).sum())
            blocks.append(Heading(instrument_name(instrument), level=3))
            blocks.append(Paragraph(f"共 {n_tests} 项总体检验，其中 {len(omnibus)} 项差异显著。"))
            if len(omnibus):
                blocks.append(_omnibus_table(inputs, labels, instrument, omnibus))
            if len(pairwise):
                blocks.append(_pairwise_table(inputs, labels, instrument, pairwise))
    peers = inputs.table("compare", "unit_vs_peers")
    if peers is not None and len(peers):
        hits = peers[peers["below_peers"].astype(bool) | peers["above_peers"].astype(bool)]
        blocks.append(Heading("单位与同类单位比较"))
        blocks.append(Paragraph(f"共 {len(peers)} 项比较，其中 {len(hits)} 项差异显著。"))
        if len(hits):
            blocks.append(_peers_table(inputs, labels, hits))
    adjusted = inputs.table("compare", "adjusted")
    if adjusted is not None and len(adjusted):
        blocks.append(Heading("调整人口构成后的县区差距"))
        blocks.append(_adjusted_table(inputs, labels, adjusted))
    return Section(NUMBER, TITLE, tuple(blocks))
