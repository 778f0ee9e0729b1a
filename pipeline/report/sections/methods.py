"""Section 9 方法说明: the definitions and formulas in words, the scoring and ranking, the problem-state model, the
cleaning rules and weighting as configured, the tests and corrections, the software and the input files.

Every threshold is read from the loaded configuration (``config.cleaning``, ``config.analysis``,
``config.indicators``, ``config.findings``) and every version and hash from ``_manifest.json``, so the text
describes the run it is printed with.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from pipeline.clean.rules import REASONS
from pipeline.config.cleaning import RULE_ORDER
from pipeline.report.blocks import Block, Heading, Paragraph, Section, Table, shown
from pipeline.report.inputs import ReportInputs
from pipeline.report.sections._scoring_common import small_cells

NUMBER = 9
TITLE = "方法说明"

ACTIONS = {"exclude": "剔除", "flag": "仅标记（保留记录）", "off": "不检查"}
#: Chinese labels of the cleaning rules' settings (``pipeline/config/cleaning.py``).
SETTINGS = {
    "by_respondent": "按同一答卷人识别",
    "by_ip": "按同一 IP 且答案相同识别",
    "window_minutes": "时间窗（分钟）",
    "min_submissions": "最少提交份数",
    "method": "阈值方法",
    "min_seconds": "最短时长（秒）",
    "median_fraction": "中位时长的比例",
    "knee_quantile": "拐点搜索范围（最快的比例）",
    "min_items": "最少矩阵题行数",
    "min_share": "众数选项占比下限",
    "require_reverse": "须含反向题",
    "unanswered_fails": "未作答算未通过",
    "max_missing_share": "未答比例上限",
    "province": "本省",
}
SPEEDER_METHODS = {"median_fraction": "中位时长比例", "knee": "累计曲线拐点"}
WEIGHTING = {
    "none": "不加权（等权）",
    "cells": "单元格事后分层加权（总体数 ÷ 样本数）",
    "raking": "迭代比例拟合（raking）至总体边际",
}
INSTRUMENTS = {"public": "公众问卷", "staff": "公职人员问卷"}
SOURCES = {"public": "公众问卷", "staff": "公职人员问卷", "casefile": "案卷评查", "document": "资料核查",
           "online": "网络检索", "site": "实地（暗）访"}  # fmt: skip


def section(inputs: ReportInputs) -> Section:
    """Section 9 (built from the configuration and the manifest; it has no stage of its own)."""
    blocks: list[Block] = [Heading("统计量的定义")]
    blocks += [Paragraph(text, bullet=True) for text in definitions(inputs)]
    blocks.append(Heading("检验与多重比较校正"))
    blocks += [Paragraph(text, bullet=True) for text in tests_text()]
    blocks.append(Heading("指标得分、覆盖率与排名"))
    blocks += [Paragraph(text, bullet=True) for text in scoring_text(inputs)]
    blocks.append(Heading("问题认定模型"))
    blocks += findings_blocks(inputs)
    blocks.append(Heading("数据清洗规则"))
    blocks += cleaning_blocks(inputs)
    blocks.append(Heading("加权方法"))
    blocks.append(weighting_table(inputs))
    blocks.append(Heading("软件、版本与输入文件"))
    blocks += run_blocks(inputs)
    return Section(NUMBER, TITLE, tuple(blocks))


def _g(x: float) -> str:
    return f"{x:g}"


def definitions(inputs: ReportInputs) -> list[str]:
    """满意率, 满意度指数, weighted shares and their SE, effective n and the small-cell rule, reliability."""
    suppress, mark = small_cells(inputs)
    share = inputs.config.public.min_answered_share if inputs.config.public else 2 / 3
    korn = bool((inputs.manifest.get("options") or {}).get("korn_graubard"))
    interval = "Korn–Graubard（Clopper–Pearson 型，按有效样本量）" if korn else "logit 变换区间"
    return [
        "题目得分：每个实质性选项按问卷配置（选项集的 scoring）映射为 0–100 分，反向题按镜像位置计分；"
        "“不了解/说不清”、未作答和因跳题未显示的题目不计分（不计入分母）。",
        "满意率 = 选择满意选项（选项集 scoring.satisfied 所列选项）的加权人数 ÷ 作出实质性回答的加权人数；"
        "基本满意率的分子另加 scoring.basic_satisfied 所列选项；知晓率 = 1 − 回答“不了解”类选项的比例。",
        f"量表得分 = 受访者已作答题目得分的平均（已作答题目不少于 {shown(share, 'pct1')} 时计算，否则缺失）；"
        f"满意度指数 = 受访者各量表得分的等权平均（同样要求不少于 {shown(share, 'pct1')} 的量表有得分）。",
        "加权比例与均值：估计值 = Σ 权重 × 取值 ÷ Σ 权重，只在有效回答中计算；标准误按复杂抽样设计用泰勒线性化"
        f"计算（公众问卷按 03_weight 权重，公职人员问卷以单位为层、编制人数为有限总体校正）；比例的置信区间为 {interval}，"
        "均值的置信区间为按设计自由度的 t 区间。置信水平 95%。",
        f"Kish 有效样本量 = (Σ 权重)² ÷ Σ 权重²。小样本规则：有效样本量低于 {suppress} 的组不予报告（表中以“—”表示或"
        f"不列出），低于 {mark} 的组照常报告但加注“样本量较小”（†）。",
        "Cronbach's α = k ÷ (k − 1) ×（1 − 各题方差之和 ÷ 量表总分方差），k 为题目数，按列表删除处理缺失，区间报告 Feldt、"
        "Duhachek 和 bootstrap 三种（加权与不加权各一套，见 04_reliability/reliability）；McDonald's ω（总）=（Σ 因子载荷）² ÷ [（Σ 因子载荷）² + Σ 唯一性方差]。"
        "α 不低于 0.7 通常视为内部一致性可接受。",
        "评查员一致性：总分用组内相关系数 ICC（Shrout–Fleiss 各型，F 分布区间），等级和否决项用一致率和 Cohen's κ"
        "（等级另报线性、二次加权 κ）。",
    ]


def tests_text() -> list[str]:
    return [
        "加权分类变量的组间比较用 Rao–Scott 二阶校正 F 检验（对 Pearson χ² 按设计效应校正）；不加权时用 χ² 检验，"
        "2×2 表期望频数小于 5 时用 Fisher 精确检验。效应量 Cramér's V = √(φ² ÷ (min(行数, 列数) − 1))，φ² 由加权"
        "单元格比例计算。",
        "加权均值的组间比较用基于设计的 Wald F 检验，两两比较用线性化标准误的差值检验，效应量为差值 ÷ 加权标准差；"
        "不加权时用 Welch 方差分析（效应量 ω²）、Kruskal–Wallis 检验（ε²）、Games–Howell 两两比较（Hedges' g），"
        "两组时用 Welch t 检验（Hedges' g）和 Mann–Whitney 检验（秩二列相关）。",
        "多重比较：Holm 法在同一检验族（同一结果变量 × 同一分组）内校正，控制族内犯一类错误的概率；"
        "Benjamini–Hochberg（BH）法在全部比较、单位与同类比较和调整后差距的 p 值上统一校正，控制错误发现率。"
        "表中 p 值注明是否校正。",
        "单位与同类单位比较：每个单位与同一类型其余单位比较（县区与其余县区），公众问卷为加权差值检验，公职人员问卷"
        "与案卷为 Welch t 检验。",
    ]


def scoring_text(inputs: ReportInputs) -> list[str]:
    """The scoring rules with the configured source weights, checkpoint scores and ranking settings."""
    system = inputs.config.indicators
    if system is None:
        return ["未配置指标体系（indicators.yaml），不计算指标得分。"]
    weights = "、".join(f"{SOURCES.get(s, s)} {_g(w)}" for s, w in system.source_weights.items())
    ratings = "、".join(f"{r} {_g(v)} 分" for r, v in system.checkpoint_scores.items())
    passes = sorted({p.pass_score for a in system.aspects for i in a.items for p in i.points})
    r = system.ranking
    return [
        f"评估要点得分：每个来源计 0–100 分。问卷来源为该要点所对应题目得分的加权平均；案卷来源为 100 ×"
        f"（1 − 相关类别扣分之和 ÷ 相关类别满分之和）的案卷平均，否决项要点为 100 × 无否决项案卷的比例；核查评级按"
        f"{ratings}计分。多个来源按来源权重（{weights}）在有数据的来源之间重新归一后加权合并。",
        "二级指标、一级指标（方面）、板块与总分：下一层已适用且有得分的各项按配置权重加权平均，权重在有得分的各项"
        "之间重新归一；总分为各板块的加权平均，缺少某方面时各板块仍保持其权重份额。",
        "覆盖率 = 有数据支撑的权重 ÷ 该单位适用的权重（要点按来源权重计算，上层为 Σ 权重 × 覆盖率 ÷ Σ 权重），"
        "即单位适用的全部权重中有数据支撑的份额。",
        "标准误与区间：单一来源的要点沿用该来源的标准误和区间；上层按各项相互独立合并，标准误 = √(Σ (w ÷ Σw)² × se²)，"
        "区间为得分 ± 1.96 × 标准误（截于 0–100）。核查评级无抽样误差。",
        f"排名区间：{r.draws} 次模拟，每次按要点得分的抽样分布（正态，截于 0–100）重抽得分，并按 Dirichlet"
        f"（集中度 {_g(r.weight_concentration)} × 配置权重）重抽各级权重，重新计分排名；取单位模拟名次的中间 "
        f"{shown(r.confidence_level, 'pct1')}，并扩展到包含实际名次和等权重名次。梯队按名次依次归组：最好名次不低于"
        "本梯队第一个单位最差名次的单位与其同一梯队。",
        "合格线：评估要点的 pass_score（本次配置为 "
        + "、".join(f"{_g(p)}" for p in passes)
        + " 分），用于问题认定中"
        "“与合格线差距”的计算。",
    ]


#: Chinese labels of the findings thresholds (``pipeline/config/findings.py``).
FINDINGS = {
    "fdr": "贝叶斯错误发现率上限（报告的问题状态中平均局部 fdr 不超过此值）",
    "min_posterior": "认定为问题的最低后验概率（共性问题的涉及单位亦按此列出）",
    "individual_posterior": "个性问题自身的最低后验概率",
    "common_share": "共性问题：涉及单位占适用单位的比例下限",
    "common_districts": "共性问题：或涉及县区数下限",
    "city_sources": "共性问题：或全市层面检验显著且至少有此数量的独立证据印证",
    "city_alpha": "全市层面检验的 BH 校正显著性水平",
    "city_min_units": "全市层面共性问题至少涉及的单位数",
    "min_effect": "问卷差距计为证据的最小标准化效应量",
    "survey_alpha": "问卷差距的 BH 校正 p 值阈值",
    "bad_ratings": "计为未通过的核查评级",
    "baseline_strength": "单位自身未落实率向全市收缩的先验强度（评级数）",
    "prior_strength": "指标问题占比向总体收缩的先验强度（单位数）",
    "casefile_unit_spread": "单位自身案卷缺陷水平的最大离散度（变异系数）",
    "veto_always_individual": "有否决项案卷的单位一律列为个性问题",
    "max_common": "保留的共性问题上限（0 = 全部）",
    "max_individual": "保留的个性问题上限（0 = 全部）",
}


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, float):
        return _g(v)
    if isinstance(v, list | tuple):
        return "、".join(str(x) for x in v)
    return str(v)


def findings_blocks(inputs: ReportInputs) -> list[Block]:
    """The problem-state model in words and its thresholds as configured."""
    rules = inputs.config.findings
    text = (
        "每个“单位 × 二级指标”视为一个格子，其是否存在问题为潜在状态。证据包括：各核查来源（资料核查、网络检索、"
        "实地（暗）访）中未通过评级的要点数，与该单位自身全部核查的未通过率（向全市收缩）比较；各案卷缺陷类别的缺陷"
        "处数，与全市每卷处数比较，并与该单位其他类别合看（单位整体偏多的部分视为其一般水平）；否决项案卷的比例，与"
        "全市比较；问卷中该单位相关题目与同类单位的差距 ÷ 标准误（以该单位各项差距的中位数为中心）。用两类混合模型"
        "（EM 算法估计）得到每个格子存在问题的后验概率，按后验概率从高到低纳入，直至平均局部 fdr 达到上限，且个性问题"
        "自身的后验概率不低于设定值。共性问题另按核查评级的四个等级（有序 probit 模型）重新估计，问题在足够多单位或"
        "县区出现、项目层面混合检验显著、或全市层面检验显著并有多项证据印证的，列为共性问题，其余为个性问题。"
    )
    frame = pd.DataFrame(
        [{"参数": name, "含义": FINDINGS.get(name, name), "取值": _value(getattr(rules, name))}
         for name in FINDINGS if hasattr(rules, name)]
    )  # fmt: skip
    notes = (
        "来源：findings.yaml（省略的参数取默认值）；合格线沿用 indicators.yaml 各评估要点的 pass_score。",
    )
    return [
        Paragraph(text),
        Table("methods.findings", "问题认定模型的参数", frame, "findings.yaml", notes=notes),
    ]


def cleaning_blocks(inputs: ReportInputs) -> list[Block]:
    """The cleaning rules in the order they run, each with its action and configured thresholds."""
    rules = inputs.config.cleaning
    rows = []
    for k, code in enumerate(RULE_ORDER, start=1):
        settings = (
            rules.location
            if code in ("outside_province", "no_district", "unknown_unit")
            else getattr(rules, code)
        )
        action = rules.action(code)
        rows.append({"顺序": k, "规则": REASONS.get(code, code), "代码": code, "处理": ACTIONS.get(action, action),
                     "阈值与设定": "" if action == "off" else _thresholds(code, settings)})  # fmt: skip
    frame = pd.DataFrame(rows)
    notes = (
        "来源：cleaning.yaml（省略的设定取默认值）。规则按顺序执行；一条记录只计入第一条捕获它的“剔除”规则，"
        "其违反的全部规则写入 02_clean/exclusions 的 detail。“仅标记”的规则不剔除，在保留记录上加 flag_<代码> 列。",
    )
    breaker = rules.circuit_breaker
    watched = [
        c for c in ("speeder", "straightline", "attention", "missing") if getattr(breaker, c) == "check"
    ]
    text = (
        f"熔断：若某条规则（{'、'.join(REASONS[c] for c in watched) or '无'}）将剔除一个文件中超过 "
        f"{shown(breaker.max_excluded_share, 'pct1')} 的记录（记录数不少于 {breaker.min_file_records} 的文件）"
        + (
            "，或问卷星导出缺少可用的所用时间、提交答卷时间、来自IP"
            if breaker.meta_columns == "check"
            else ""
        )
        + "，清洗阶段停止运行而不输出结果。"
    )
    return [Table("methods.cleaning", "数据清洗规则", frame, "cleaning.yaml", {"顺序": "int"}, notes),
            Paragraph(text)]  # fmt: skip


def _thresholds(code: str, settings: Any) -> str:
    fields = [f for f in type(settings).model_fields if f != "action"]
    if code in ("outside_province", "no_district", "unknown_unit"):
        fields = ["province"] if code == "outside_province" else []
    if code == "speeder" and settings.method != "knee":
        fields = [f for f in fields if f != "knee_quantile"]
    parts = []
    for f in fields:
        v = getattr(settings, f)
        shown_value = SPEEDER_METHODS.get(v, v) if f == "method" else _value(v)
        parts.append(f"{SETTINGS.get(f, f)}：{shown_value}")
    return "；".join(parts)


def _variable_text(key: Any) -> str:
    """A weighting variable, or an interaction's variables joined by ×."""
    names = list(key) if isinstance(key, list | tuple) else [key]
    return " × ".join(str(n) for n in names)


def weighting_table(inputs: ReportInputs) -> Table:
    """Per questionnaire: the weighting method, the variables weighted on, the trimming."""
    population = inputs.config.population
    rows = []
    for instrument, label in INSTRUMENTS.items():
        if inputs.config.questionnaire(instrument) is None:
            continue
        plan = inputs.config.plan(instrument)
        method = plan.weighting
        on = "、".join(_variable_text(k) for k in plan.weight_on)
        if method == "raking":
            cap = population.weight_cap if population else None
            trim = f"权重 ÷ 平均权重超过 {_g(cap)} 时截断并重新迭代" if cap else "不截断"
        else:
            trim = "不截断"
        if instrument == "staff" and method != "none":
            on = on or "unit"
            detail = "单位编制人数 ÷ 单位答卷数"
        else:
            detail = WEIGHTING.get(method, method)
        rows.append({"问卷": label, "加权方法": detail if method != "none" else WEIGHTING["none"],
                     "加权变量": on if method != "none" else "", "权重截断": trim if method != "none" else ""})  # fmt: skip
    frame = pd.DataFrame(rows, columns=["问卷", "加权方法", "加权变量", "权重截断"])
    notes = (
        "来源：analysis.yaml（weighting、weight_on）、population.yaml（rake_on、weight_cap）；权重见 03_weight。",
        "组间比较中公职人员问卷不加权；不加权的问卷在各表注中注明。",
    )
    return Table("methods.weighting", "各问卷的加权方法", frame, "analysis.yaml", notes=notes)


def run_blocks(inputs: ReportInputs) -> list[Block]:
    """Software versions, the run's digests, seed and options, and the input files' SHA-256."""
    manifest = inputs.manifest
    if not manifest:
        return [Paragraph("未找到运行记录（_manifest.json），无法列出软件版本与输入文件的校验值。")]
    blocks: list[Block] = []
    packages = manifest.get("packages") or {}
    software = pd.DataFrame({"软件": list(packages), "版本": [str(v) for v in packages.values()]})
    blocks.append(Table("methods.software", "软件与版本", software, "_manifest.json",
                        notes=("来源：_manifest.json 的 packages。",)))  # fmt: skip
    options = manifest.get("options") or {}
    set_options = "；".join(f"{k} = {_value(v)}" for k, v in options.items() if v not in (None, False))
    blocks.append(Paragraph(
        f"随机数种子 {manifest.get('seed', '')}（排名区间的模拟、bootstrap 区间）；运行选项：{set_options or '均为默认'}。"
        f"代码摘要 {manifest.get('code_digest', '')}；配置摘要 {manifest.get('config_digest', '')}。"
        "用 fazhi-eval verify 可核对输入、配置和各阶段输出是否与本次运行记录一致。"
    ))  # fmt: skip
    for key, title, what in (("inputs", "原始数据文件的 SHA-256 校验值", "methods.inputs"),
                             ("config_files", "配置文件的 SHA-256 校验值", "methods.config_files")):  # fmt: skip
        files = manifest.get(key) or {}
        if not files:
            continue
        frame = pd.DataFrame({"文件": list(files), "SHA-256": list(files.values())})
        notes = (f"来源：_manifest.json 的 {key}；文件数 n = {len(files)}。",)
        blocks.append(Table(what, title, frame, "_manifest.json", notes=notes))
    return blocks
