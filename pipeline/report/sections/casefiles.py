"""Section 7 案卷评查: case files per unit (number, mean score, grades, vetoes), the defect categories as a Pareto
table, what the case files contribute to the observation points, the agreement of the two reviewers and the files
sent to a third review (02_clean ``casefiles``/``casefile_reviews``, 07_score ``point_sources``, 04_reliability
``agreement``/``third_review``).

Case files are the files drawn for review, not a survey sample: like 07_score, their figures carry no
small-cell flag; the number of files stands beside every figure.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.report.blocks import Block, Heading, Paragraph, Section, Table
from pipeline.report.inputs import ReportInputs
from pipeline.report.sections._scoring_common import source_note, unit_names, unit_order
from pipeline.score.evidence import category_deductions
from pipeline.score.system import CITY

NUMBER = 7
TITLE = "案卷评查"

NOT_SAMPLED = (
    "案卷为按单位抽取的评查案卷，不是问卷抽样，不适用小样本抑制规则（与 07_score 一致）；各单位案卷数列于表中，"
    "案卷数少的单位其平均分波动较大。"
)
#: Chinese labels of the 04_reliability agreement measures and statistics shown in the appendix.
MEASURES = {"score": "评查总分", "grade": "评查等级", "any_veto": "是否有否决项"}
STATISTICS = {
    "ICC1": "ICC(1)：单评分者，单因素随机",
    "ICC2": "ICC(2,1)：单评分者，双因素随机，绝对一致",
    "ICC3": "ICC(3,1)：单评分者，双因素固定，一致性",
    "ICC1k": "ICC(1,k)：两人平均，单因素随机",
    "ICC2k": "ICC(2,k)：两人平均，双因素随机，绝对一致",
    "ICC3k": "ICC(3,k)：两人平均，双因素固定，一致性",
    "share_within_tolerance": "总分差在容差内的案卷比例",
    "percent_agreement": "一致率",
    "kappa": "Cohen's κ",
    "kappa_linear": "加权 κ（线性权重）",
    "kappa_quadratic": "加权 κ（二次权重）",
}


def section(inputs: ReportInputs) -> Section:
    """Section 7, or its one missing line when 02_clean has not run or holds no case files."""
    files = inputs.table("clean", "casefiles")
    if files is None:
        return Section(NUMBER, TITLE, missing=inputs.missing_line("clean"))
    if files.empty or inputs.config.casefile is None:
        return Section(
            NUMBER, TITLE, missing="本次评估没有读入评查案卷（02_clean/casefiles 为空），本节从略。"
        )
    blocks: list[Block] = [Heading("各单位案卷评查结果"), units_table(inputs, files)]
    blocks.append(Heading("扣分类别"))
    reviews = inputs.table("clean", "casefile_reviews")
    if reviews is not None and not reviews.empty:
        blocks.append(defects_table(inputs, files, reviews))
    points = points_table(inputs)
    if points is not None:
        blocks.append(Heading("案卷评查对评估要点的贡献"))
        blocks.append(points)
    blocks.append(Heading("评查员一致性与第三人复评"))
    blocks += agreement_blocks(inputs)
    return Section(NUMBER, TITLE, tuple(blocks))


def units_table(inputs: ReportInputs, files: pd.DataFrame) -> Table:
    """Per unit (``units.yaml`` order) and city-wide: files, mean score, files per grade, vetoes."""
    names = unit_names(inputs.config)
    order = unit_order(inputs.config)
    standard = inputs.config.casefile
    grades = [g.grade for g in standard.grades] if standard else []
    units = sorted(files["unit"].astype(str).unique(), key=lambda u: (order.get(u, len(order)), u))
    by_unit = dict(tuple(files.groupby(files["unit"].astype(str), sort=False)))
    groups = [(names.get(u, u), by_unit[u]) for u in units] + [("全市", files)]
    has_grade = "grade" in files.columns
    rows = []
    for name, g in groups:
        row: dict[str, object] = {"单位": name, "案卷数": len(g), "平均得分": float(g["score"].mean())}
        if has_grade:
            counts = g["grade"].astype(str).value_counts()
            for grade in grades:
                row[grade] = int(counts.get(grade, 0))
        veto = g["veto"].astype(bool)
        row["否决案卷数"] = int(veto.sum())
        row["否决率"] = float(veto.mean()) if len(g) else float("nan")
        rows.append(row)
    frame = pd.DataFrame(rows)
    formats = {"案卷数": "int", "平均得分": "num1", "否决案卷数": "int", "否决率": "pct1"}
    formats.update({grade: "int" for grade in grades if grade in frame.columns})
    notes = [
        source_note(inputs, ("clean", "casefiles")),
        f"案卷数 n = {len(files)}（{len(units)} 个单位）；不加权。得分为评查员评分的平均（双评案卷取两人平均），"
        "满分 100；评查员人数不等的案卷同等计入。",
    ]
    if has_grade:
        notes.append(f"等级列为各等级的案卷数（{'、'.join(grades)}）；否决案卷：多数评查员认定存在否决项，等级为"
                     f"“{standard.veto_grade}”，得分照常计算。")  # fmt: skip
    notes.append(NOT_SAMPLED)
    return Table("casefiles.units", "各单位案卷评查结果", frame, inputs.source("clean", "casefiles"), formats,
                 tuple(notes))  # fmt: skip


def defects_table(inputs: ReportInputs, files: pd.DataFrame, reviews: pd.DataFrame) -> Table:
    """The defect categories city-wide, most frequent first: files with a deduction and points deducted."""
    standard = inputs.config.casefile
    deductions = category_deductions(reviews, inputs.config).reindex(files["case_id"].astype(str))
    n = len(files)
    rows = []
    for cat in standard.categories:
        lost = deductions[cat.id].to_numpy(dtype=float)
        rows.append({
            "扣分类别": f"{cat.id} {cat.name}",
            "有扣分的案卷数": int(np.nansum(lost > 0)),
            "占案卷比例": float(np.nansum(lost > 0) / n) if n else float("nan"),
            "扣分合计": float(np.nansum(lost)),
            "每卷平均扣分": float(np.nanmean(lost)) if n else float("nan"),
            "该类满分": float(cat.max_points),
        })  # fmt: skip
    frame = pd.DataFrame(rows).sort_values(["占案卷比例", "扣分合计"], ascending=False, kind="stable")
    total = frame["扣分合计"].sum()
    frame["占全部扣分比例"] = frame["扣分合计"] / total if total > 0 else float("nan")
    frame["累计比例"] = frame["占全部扣分比例"].cumsum()
    frame = frame.reset_index(drop=True)
    formats = {"有扣分的案卷数": "int", "占案卷比例": "pct1", "扣分合计": "num1", "每卷平均扣分": "num2",
               "该类满分": "num1", "占全部扣分比例": "pct1", "累计比例": "pct1"}  # fmt: skip
    notes = (
        source_note(inputs, ("clean", "casefiles"), ("clean", "casefile_reviews")),
        f"案卷数 n = {n}（全市）；不加权。每类扣分按评查标准计算并以该类满分为上限，双评案卷取两名评查员的平均；"
        "“有扣分”即该类扣分大于 0（与 07_score/point_sources 的案卷说明一致）。",
        "按有扣分的案卷比例从高到低排列（帕累托表）；累计比例为按此顺序累加的扣分占比。",
    )
    return Table("casefiles.defects", "案卷扣分类别（全市）", frame, inputs.source("clean", "casefile_reviews"),
                 formats, notes)  # fmt: skip


def points_table(inputs: ReportInputs) -> Table | None:
    """City-wide case-file scores of the observation points they feed (07_score ``point_sources``)."""
    sources = inputs.table("score", "point_sources")
    if sources is None:
        return None
    rows = sources[(sources["source"] == "casefile") & (sources["unit"] == CITY)]
    if rows.empty:
        return None
    names = _point_names(inputs)
    frame = pd.DataFrame({
        "评估要点": [f"{p} {names.get(p, '')}".strip() for p in rows["point"]],
        "案卷得分": rows["score"].to_numpy(dtype=float),
        "95%置信区间下限": rows["ci_low"].to_numpy(dtype=float),
        "95%置信区间上限": rows["ci_high"].to_numpy(dtype=float),
        "案卷数": rows["n"].to_numpy(),
        "说明": rows["detail"].to_numpy(),
    })  # fmt: skip
    formats = {"案卷得分": "num1", "95%置信区间下限": "num1", "95%置信区间上限": "num1", "案卷数": "int"}
    notes = (
        source_note(inputs, ("score", "point_sources")),
        "要点得分 = 100 ×（1 − 相关类别扣分之和 ÷ 相关类别满分之和），取全部案卷的平均，按单位分层计算区间；"
        "否决项要点 = 100 × 无否决项案卷的比例（Korn–Graubard 区间）。不加权。",
    )
    return Table("casefiles.points", "案卷评查对评估要点的得分（全市）", frame,
                 inputs.source("score", "point_sources"), formats, notes)  # fmt: skip


def _point_names(inputs: ReportInputs) -> dict[str, str]:
    system = inputs.config.indicators
    if system is None:
        return {}
    return {p.id: p.name for a in system.aspects for i in a.items for p in i.points}


def agreement_blocks(inputs: ReportInputs) -> list[Block]:
    """The reviewers' agreement on the double-scored files and the files sent to a third review."""
    agreement = inputs.table("reliability", "agreement")
    if agreement is None:
        return [Paragraph(inputs.missing_line("reliability"))]
    blocks: list[Block] = []
    double = agreement[agreement["measure"] == "double_scoring"]
    n_double = int(double["n_files"].iloc[0]) if not double.empty else 0
    tolerance = inputs.config.casefile.double_scoring_tolerance if inputs.config.casefile else float("nan")
    blocks.append(Paragraph(
        f"双评案卷 {n_double} 份：由两名评查员独立评分。两人总分相差超过 {tolerance:g} 分、等级不同或否决项认定不一致的"
        "案卷交第三人复评或合议。"
    ))  # fmt: skip
    rows = agreement[agreement["measure"] != "double_scoring"]
    if not rows.empty:
        frame = pd.DataFrame({
            "评查内容": [measure_label(inputs, str(m)) for m in rows["measure"]],
            "统计量": [STATISTICS.get(s, s) for s in rows["statistic"]],
            "估计值": rows["estimate"].to_numpy(dtype=float),
            "95%置信区间下限": rows["ci_low"].to_numpy(dtype=float),
            "95%置信区间上限": rows["ci_high"].to_numpy(dtype=float),
            "p 值": rows["pvalue"].to_numpy(dtype=float),
            "案卷数": rows["n_files"].to_numpy(),
        })  # fmt: skip
        formats = {"估计值": "num3", "95%置信区间下限": "num3", "95%置信区间上限": "num3", "p 值": "p",
                   "案卷数": "int"}  # fmt: skip
        notes = (
            source_note(inputs, ("reliability", "agreement")),
            f"基数：双评案卷 n = {n_double}（各行实际计入的案卷数见“案卷数”列，缺少某名评查员记录的案卷不计入）；不加权。",
            "ICC 区间为 F 分布区间，p 值检验 ICC = 0；κ 区间为渐近区间。一致率与容差内比例无区间。估计值空白："
            "两名评查员对全部案卷的判断都相同（或都未出现），κ 无定义。",
        )
        blocks.append(Table("casefiles.agreement", "评查员评分一致性", frame,
                            inputs.source("reliability", "agreement"), formats, notes))  # fmt: skip
    blocks += third_review_blocks(inputs)
    return blocks


def measure_label(inputs: ReportInputs, measure: str) -> str:
    """A 04_reliability agreement measure in words: the file's score, grade or vetoes (:data:`MEASURES`), or a
    veto or defect of ``casefile.yaml`` by its code and text."""
    if measure in MEASURES:
        return MEASURES[measure]
    standard = inputs.config.casefile
    if standard is not None:
        for veto in standard.vetoes:
            if veto.code == measure:
                return f"否决项 {measure} {veto.text}"
        for category in standard.categories:
            for defect in category.defects:
                if defect.code == measure:
                    return f"扣分项 {measure} {defect.text}"
    return measure


def third_review_blocks(inputs: ReportInputs) -> list[Block]:
    """The files sent to a third review, with the reason."""
    third = inputs.table("reliability", "third_review")
    if third is None:
        return []
    if third.empty:
        return [Paragraph("没有需要第三人复评的案卷。")]
    names = unit_names(inputs.config)
    frame = pd.DataFrame({
        "案卷编号": third["case_id"].astype(str).to_numpy(),
        "单位": [names.get(u, u) for u in third["unit"].astype(str)],
        "案件类型": third["case_type"].astype(str).to_numpy(),
        "评查员甲得分": third["score_1"].to_numpy(dtype=float),
        "评查员乙得分": third["score_2"].to_numpy(dtype=float),
        "分差": third["score_diff"].to_numpy(dtype=float),
        "评查员甲等级": third["grade_1"].astype(str).to_numpy(),
        "评查员乙等级": third["grade_2"].astype(str).to_numpy(),
        "原因": third["reason"].astype(str).to_numpy(),
    })  # fmt: skip
    formats = {"评查员甲得分": "num1", "评查员乙得分": "num1", "分差": "num1"}
    notes = (
        source_note(inputs, ("reliability", "third_review")),
        f"需第三人复评的案卷 n = {len(third)}（与 02_clean/casefiles 的 needs_third_review 为同一组案卷）。",
    )
    return [Table("casefiles.third_review", "需第三人复评的案卷", frame,
                  inputs.source("reliability", "third_review"), formats, notes, landscape=True)]  # fmt: skip
