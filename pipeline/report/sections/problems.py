"""Section 8 问题清单: the common problems, then the individual ones, in rank order, each with its wording, units,
evidence, suggestion, basis and closure standard, and one summary table (08_findings ``findings``).

Built from ``findings.parquet`` (one row per problem × affected unit), not from ``findings.md``, so that every
count and score in the text is a cell of the stage table.
"""

from __future__ import annotations

import pandas as pd

from pipeline.findings.records import KIND_NAMES
from pipeline.report.blocks import Block, Heading, Paragraph, Section, Table, shown
from pipeline.report.inputs import ReportInputs
from pipeline.report.sections._scoring_common import chinese_number, source_note

NUMBER = 8
TITLE = "问题清单"
STAGE = "findings"
KINDS = ("common", "individual")

#: How a problem came to be reported (``findings.rule``), in words.
RULES = {
    "share": "达到适用单位比例线",
    "districts": "涉及县区数达到规定",
    "mixture": "项目层面混合检验显著（多个单位同时显出问题）",
    "city": "全市层面检验显著且有多项证据印证",
    "state": "单位问题状态（后验概率）",
    "veto": "否决项案卷",
    "review": "评估组审核补充",
}
#: The evaluators' decision on a machine finding (``findings.status``).
STATUS = {
    "machine": "",
    "accepted": "评估组已确认",
    "reworded": "评估组已改写表述",
    "merged": "评估组已合并同类问题",
    "added": "评估组补充",
}


def section(inputs: ReportInputs) -> Section:
    """Section 8, or its one missing line when 08_findings has not run."""
    findings = inputs.table(STAGE, "findings")
    if findings is None:
        return Section(NUMBER, TITLE, missing=inputs.missing_line(STAGE))
    counts = {kind: findings.loc[findings["kind"] == kind, "id"].nunique() for kind in KINDS}
    blocks: list[Block] = [Paragraph(intro(inputs, counts))]
    if findings.empty:
        return Section(NUMBER, TITLE, tuple(blocks))
    blocks.append(summary_table(inputs, findings))
    for kind in KINDS:
        part = ordered(findings[findings["kind"] == kind])
        blocks.append(Heading(f"{KIND_NAMES[kind]}（{counts[kind]} 项）"))
        if part.empty:
            blocks.append(Paragraph(f"未发现{KIND_NAMES[kind]}。"))
        for k, (_, rows) in enumerate(part.groupby("id", sort=False), start=1):
            blocks += problem_blocks(kind, k, rows)
    return Section(NUMBER, TITLE, tuple(blocks))


def ordered(part: pd.DataFrame) -> pd.DataFrame:
    """Problems by rank (the table's own row order within a problem kept)."""
    return part.assign(_row=range(len(part))).sort_values(["rank", "_row"], kind="stable")


def intro(inputs: ReportInputs, counts: dict[str, int]) -> str:
    """How problems were found and classed, with the thresholds of ``findings.yaml``."""
    rules = inputs.config.findings
    return (
        f"本次评估共发现共性问题 {counts['common']} 项、个性问题 {counts['individual']} 项。每个“单位 × 二级指标”"
        "根据核查评级、案卷缺陷、否决项和问卷差距估计其存在问题的后验概率，按贝叶斯错误发现率（平均局部 fdr ≤ "
        f"{shown(rules.fdr, 'pct1')}）且后验概率不低于 {rules.min_posterior:g} 认定问题；某项问题出现在该指标适用单位的 "
        f"{shown(rules.common_share, 'pct1')} 及以上、或 {rules.common_districts} 个及以上县区、或全市层面检验显著"
        f"（BH 水平 {rules.city_alpha:g}，至少 {rules.city_sources} 项独立证据印证、至少 {rules.city_min_units} 个单位）"
        "的，列为共性问题，其余为个性问题。同类问题按严重程度排序：涉及否决项的在前，其余按涉及单位占比 × 与合格线"
        "差距排序。"
    )


def _item_title(path: str) -> str:
    """The item part of ``"3 地方立法与规范性文件 › 3.2 规范性文件合法性审核与备案审查"``."""
    return path.split("›")[-1].strip()


def _unit_text(row: pd.Series) -> str:
    score = shown(row["score"], "num1")
    return f"{row['member_name']}（{score} 分）" if score else str(row["member_name"])


def problem_blocks(kind: str, k: int, rows: pd.DataFrame) -> list[Block]:
    """One problem: a heading, its wording, units, evidence (one bullet per unit), suggestion, basis, closure."""
    first = rows.iloc[0]
    title = _item_title(str(first["path"]))
    if kind == "individual":
        title = f"{first['member_name']}：{title}"
    blocks: list[Block] = [Heading(f"{KIND_NAMES[kind]}{chinese_number(k)}：{title}", level=3)]
    blocks.append(Paragraph(f"问题表述：{first['problem'] or first['path']}"))
    units = "、".join(_unit_text(r) for _, r in rows.iterrows())
    blocks.append(Paragraph(
        f"涉及单位（{int(first['n_affected'])} 个，占适用的 {int(first['n_applicable'])} 个单位的 "
        f"{shown(first['share'], 'pct1')}）：{units}。"
    ))  # fmt: skip
    evidence = [(r["member_name"], r["evidence"]) for _, r in rows.iterrows() if r["evidence"]]
    if evidence:
        blocks.append(Paragraph("主要证据："))
        blocks += [Paragraph(f"{name}：{text}", bullet=True) for name, text in evidence]
    blocks.append(Paragraph(f"整改建议：{first['suggestion']}"))
    if first["basis"]:
        blocks.append(Paragraph(f"依据：{first['basis']}"))
    if first["closure"]:
        blocks.append(Paragraph(f"销号标准：{first['closure']}"))
    if first["responsible"]:
        blocks.append(Paragraph(f"责任单位（建议）：{first['responsible']}"))
    status = STATUS.get(str(first["status"]), str(first["status"]))
    if status:
        blocks.append(Paragraph(f"审核：{status}" + (f"（{first['note']}）" if first["note"] else "") + "。"))
    return blocks


def summary_table(inputs: ReportInputs, findings: pd.DataFrame) -> Table:
    """One row per problem: id, kind, rank, item, units affected, share, gap to the pass line, severity."""
    rows = []
    for kind in KINDS:
        for k, (fid, g) in enumerate(
            ordered(findings[findings["kind"] == kind]).groupby("id", sort=False), 1
        ):
            f = g.iloc[0]
            rows.append({
                "问题编号": fid,
                "类型": f"{KIND_NAMES[kind]}{chinese_number(k)}",
                "严重程度排序": int(f["rank"]),
                "指标": f["path"],
                "涉及单位数": int(f["n_affected"]),
                "适用单位数": int(f["n_applicable"]),
                "占比": float(f["share"]),
                "与合格线差距": float(f["gap"]),
                "严重程度": float(f["severity"]),
                "认定依据": RULES.get(str(f["rule"]), str(f["rule"])),
            })  # fmt: skip
    frame = pd.DataFrame(rows)
    formats = {"严重程度排序": "int", "涉及单位数": "int", "适用单位数": "int", "占比": "pct1",
               "与合格线差距": "num1", "严重程度": "num2"}  # fmt: skip
    notes = (
        source_note(inputs, (STAGE, "findings")),
        f"问题数 n = {len(frame)}；占比 = 涉及单位数 ÷ 该指标适用的单位数。与合格线差距 = 涉及单位的平均合格线"
        "（indicators.yaml 的 pass_score）− 其平均得分（不小于 0）。严重程度 = 占比 × 差距，涉及否决项的另加 1000。",
        "问题编号为稳定键（类型:指标:单位），与 08_findings/problem_list.xlsx 的问题编号一致。",
    )
    return Table("problems.summary", "问题清单汇总", frame, inputs.source(STAGE, "findings"), formats, notes,
                 landscape=True)  # fmt: skip
