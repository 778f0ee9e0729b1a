"""Section 2 样本结构与加权: sample against population margins per weighting variable, and the weights' diagnostics.

Reads ``03_weight/margins`` (population target and achieved weighted total per category), ``03_weight/
diagnostics`` (overall rows per instrument) and, for the unweighted sample shares, the overall rows of the
weighting variables' questions in ``06_describe/frequencies`` (respondents choosing the option over the valid
answers). The method per instrument is ``analysis.yaml`` (``config.plan(instrument).weighting``).
"""

from __future__ import annotations

import pandas as pd

from pipeline.report.blocks import Block, Heading, Paragraph, Section, Table
from pipeline.report.inputs import ReportInputs
from pipeline.report.sections._common import Labels, instrument_name, rows_of, sources

NUMBER = 2
TITLE = "样本结构与加权"

METHODS = {
    "raking": "迭代比例加权（raking），按人口边际校准，权数截尾后重新校准",
    "cells": "事后分层加权（cells）：各层权数 = 总体数 / 样本数",
    "none": "不加权（weighting: none），每份有效问卷权数为 1",
}
#: Overall diagnostics shown, in order, with their labels and formats.
DIAGNOSTICS = (
    ("n", "样本量", "int"),
    ("sum_weight", "权数和", "int"),
    ("n_eff", "Kish有效样本量", "num1"),
    ("deff_kish", "设计效应（Kish）", "num3"),
    ("n_trimmed", "截尾权数个数", "int"),
    ("iterations", "迭代次数", "int"),
    ("max_margin_error", "边际最大相对误差", "num3"),
    ("min", "最小权数", "num2"),
    ("median", "权数中位数", "num2"),
    ("max", "最大权数", "num2"),
    ("max_min_ratio", "最大/最小权数比", "num2"),
)


def _weighted_instruments(inputs: ReportInputs) -> list[tuple[str, str, tuple]]:
    out = []
    for instrument in ("public", "staff"):
        if inputs.config.questionnaire(instrument) is None:
            continue
        plan = inputs.config.plan(instrument)
        out.append((instrument, plan.weighting, plan.weight_on))
    return out


def _sample_shares(inputs: ReportInputs, labels: Labels, instrument: str, variable: str) -> dict[str, float]:
    """Option label → unweighted share of the valid answers, from 06_describe's overall frequencies."""
    codebook = labels.codebook(instrument)
    freq = inputs.table("describe", "frequencies")
    if codebook is None or freq is None:
        return {}
    try:
        item = codebook.by_variable(variable).id
    except KeyError:
        return {}
    rows = rows_of(freq, instrument=instrument, by="", item=item)
    rows = rows[~rows["missing_option"].astype(bool)]
    return {str(r.option_label): r.n / r.n_valid for r in rows.itertuples() if r.n_valid}


def _margins_table(inputs: ReportInputs, labels: Labels, instrument: str, weight_on: tuple) -> Table | None:
    margins = inputs.table("weight", "margins")
    if margins is None or not len(margins):
        return None
    variables = [v for v in weight_on if isinstance(v, str)]
    rows = []
    for variable in variables:
        part = margins[margins["variable"] == variable]
        if not len(part):
            continue
        shares = _sample_shares(inputs, labels, instrument, variable)
        target_total = part["target"].sum()
        achieved_total = part["achieved"].sum()
        for r in part.itertuples():
            label = labels.group(r.category)
            rows.append(
                {
                    "变量": labels.by(variable, instrument),
                    "类别": label,
                    "样本%": shares.get(label, float("nan")),
                    "总体%": r.target / target_total,
                    "加权后%": r.achieved / achieved_total,
                    "相对误差": r.rel_error,
                }
            )
    if not rows:
        return None
    frame = pd.DataFrame(rows)
    source = inputs.source("weight", "margins")
    if inputs.table("describe", "frequencies") is not None:
        source = sources(inputs, ("weight", "margins"), ("describe", "frequencies"))
    return Table(
        f"sampling.margins.{instrument}",
        f"{instrument_name(instrument)}样本结构与总体边际",
        frame,
        source=source,
        formats={"样本%": "pct1", "总体%": "pct1", "加权后%": "pct1", "相对误差": "num3"},
        notes=(
            "样本% 为未加权有效样本中的构成（06_describe 总体频数）；总体% 为 population.yaml 的总体边际；"
            "加权后% 为加权后的构成；相对误差 =（加权后总数 − 总体数）/ 总体数。",
        ),
    )


def _diagnostics_table(inputs: ReportInputs, instruments: list[tuple[str, str, tuple]]) -> Table | None:
    diagnostics = inputs.table("weight", "diagnostics")
    if diagnostics is None or not len(diagnostics):
        return None
    overall = diagnostics[diagnostics["scope"] == "overall"]
    rows, formats = [], {}
    for instrument, method, _ in instruments:
        part = overall[overall["instrument"] == instrument]
        if not len(part):
            continue
        values = dict(zip(part["statistic"].astype(str), part["value"], strict=True))
        row: dict[str, object] = {"问卷": instrument_name(instrument), "加权方法": method}
        for statistic, label, fmt in DIAGNOSTICS:
            row[label] = values.get(statistic, float("nan"))
            formats[label] = fmt
        rows.append(row)
    if not rows:
        return None
    frame = pd.DataFrame(rows).dropna(axis=1, how="all")
    formats = {k: v for k, v in formats.items() if k in frame.columns}
    return Table(
        "sampling.diagnostics",
        "加权诊断",
        frame,
        source=inputs.source("weight", "diagnostics"),
        formats=formats,
        notes=(
            "设计效应（Kish）= 1 + 权数变异系数的平方；Kish有效样本量 = 样本量 / 设计效应。",
            "空白表示该加权方法无此项（如事后分层不迭代、不截尾）。",
        ),
        landscape=len(frame.columns) > 7,
    )


def section(inputs: ReportInputs) -> Section:
    """样本结构与加权, or one line when 03_weight has not run."""
    if not inputs.ran("weight"):
        return Section(NUMBER, TITLE, missing=inputs.missing_line("weight"))
    labels = Labels(inputs.config)
    instruments = _weighted_instruments(inputs)
    blocks: list[Block] = [Heading("加权方法")]
    for instrument, method, weight_on in instruments:
        text = METHODS.get(method, method)
        if weight_on:
            names = "、".join(
                labels.by(v, instrument) if isinstance(v, str) else "×".join(v) for v in weight_on
            )
            text += f"；加权变量：{names}"
        blocks.append(Paragraph(f"{instrument_name(instrument)}：{text}。", bullet=True))
    blocks.append(Heading("样本结构"))
    any_margins = False
    for instrument, method, weight_on in instruments:
        if method == "none":
            continue
        table = _margins_table(inputs, labels, instrument, weight_on)
        if table is not None:
            blocks.append(table)
            any_margins = True
    if not any_margins:
        blocks.append(Paragraph("本次运行没有按人口边际校准的问卷，无边际对照表。"))
    if not inputs.ran("describe"):
        blocks.append(Paragraph("样本% 需要 06_describe 的频数表；" + inputs.missing_line("describe")))
    diagnostics = _diagnostics_table(inputs, instruments)
    if diagnostics is not None:
        blocks += [Heading("加权诊断"), diagnostics]
    return Section(NUMBER, TITLE, tuple(blocks))
