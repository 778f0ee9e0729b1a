"""Section 3 信度与效度: Cronbach's α with intervals and ω per scale, flagged items, KMO and Bartlett, CFA fit,
case-file reviewers' agreement and the files sent to a third review.

Reads the 04_reliability tables ``reliability``, ``flags``, ``validity``, ``agreement`` and ``third_review``.
"""

from __future__ import annotations

import pandas as pd

from pipeline.report.blocks import Block, Heading, Paragraph, Section, Table
from pipeline.report.inputs import ReportInputs
from pipeline.report.sections._common import Labels, instrument_name

NUMBER = 3
TITLE = "信度与效度"

#: The interval shown with α: the first of these methods present for the scale.
CI_METHODS = ("feldt", "bootstrap", "duhachek")
CI_METHOD_NAMES = {"feldt": "Feldt 法", "bootstrap": "bootstrap 法", "duhachek": "Duhachek 渐近法"}
CFA_FIT = (("chi2", "χ²", "num2"), ("cfi", "CFI", "num3"), ("tli", "TLI", "num3"), ("srmr", "SRMR", "num3"))


def _alpha_table(inputs: ReportInputs, reliability: pd.DataFrame) -> Table | None:
    if not len(reliability):
        return None
    rows, methods = [], set()
    for (instrument, _scale, weighted), part in reliability.groupby(
        ["instrument", "scale", "weighted"], sort=False
    ):
        alpha = part[part["statistic"] == "alpha"]
        chosen = None
        for method in CI_METHODS:
            hit = alpha[alpha["ci_method"] == method]
            if len(hit):
                chosen = hit.iloc[0]
                methods.add(method)
                break
        if chosen is None and len(alpha):
            chosen = alpha.iloc[0]
        omega = part.loc[part["statistic"] == "omega_total", "estimate"]
        first = part.iloc[0]
        rows.append(
            {
                "问卷": instrument_name(str(instrument)),
                "量表": str(first["scale_name"]),
                "加权": "是" if weighted else "否",
                "题数": first["k"],
                "样本量": first["n"],
                "α": chosen["estimate"] if chosen is not None else float("nan"),
                "95%CI下限": chosen["ci_low"] if chosen is not None else float("nan"),
                "95%CI上限": chosen["ci_high"] if chosen is not None else float("nan"),
                "ω": omega.iloc[0] if len(omega) else float("nan"),
                "说明": str(chosen["note"]) if chosen is not None and pd.isna(chosen["estimate"]) else "",
            }
        )
    frame = pd.DataFrame(rows)
    if not frame["说明"].astype(bool).any():
        frame = frame.drop(columns="说明")
    method_text = "、".join(CI_METHOD_NAMES[m] for m in CI_METHODS if m in methods)
    dropped = int(reliability["n_dropped"].max()) if reliability["n_dropped"].notna().any() else 0
    notes = [
        f"α 的置信区间为 {method_text or '—'}；ω 为 McDonald's ω（total）。",
        "缺失处理：列删除（量表任一题未答或选“不了解”的记录不计入该量表），"
        f"各量表删除的记录数不同（最多 {dropped:,} 条）；样本量为计入的记录数。",
        "加权 = 是：用 03_weight 的权数计算。",
    ]
    return Table(
        "reliability.alpha",
        "各量表内部一致性信度",
        frame,
        source=inputs.source("reliability", "reliability"),
        formats={
            "题数": "int",
            "样本量": "int",
            "α": "num3",
            "95%CI下限": "num3",
            "95%CI上限": "num3",
            "ω": "num3",
        },
        notes=tuple(notes),
        landscape=len(frame.columns) > 7,
    )


def _flags_table(inputs: ReportInputs, labels: Labels, flags: pd.DataFrame) -> Table:
    frame = pd.DataFrame(
        {
            "问卷": [instrument_name(str(i)) for i in flags["instrument"]],
            "量表": flags["scale_name"].astype(str).tolist(),
            "题目": [
                labels.item(str(i), str(t)) for i, t in zip(flags["instrument"], flags["item"], strict=True)
            ],
            "原因": flags["reason"].astype(str).tolist(),
            "数值": flags["value"].tolist(),
            "阈值": flags["threshold"].tolist(),
        }
    )
    return Table(
        "reliability.flags",
        "被标记的题目",
        frame,
        source=inputs.source("reliability", "flags"),
        formats={"数值": "num3", "阈值": "num3"},
        notes=("阈值为空表示该标记不按单一阈值判断（如题目在其他量表的因子上载荷最高）。",),
    )


def _validity_tables(inputs: ReportInputs, validity: pd.DataFrame) -> list[Table]:
    tables = []
    rows = []
    for instrument, part in validity.groupby("instrument", sort=False):
        kmo = part[(part["analysis"] == "kmo") & (part["statistic"] == "kmo")]
        bartlett = part[part["analysis"] == "bartlett"]
        if not len(kmo) and not len(bartlett):
            continue
        b = bartlett.iloc[0] if len(bartlett) else None
        rows.append(
            {
                "问卷": instrument_name(str(instrument)),
                "KMO": kmo["estimate"].iloc[0] if len(kmo) else float("nan"),
                "Bartlett χ²": b["estimate"] if b is not None else float("nan"),
                "自由度": b["df"] if b is not None else float("nan"),
                "p": b["pvalue"] if b is not None else float("nan"),
                "样本量": (kmo if len(kmo) else bartlett)["n"].iloc[0],
            }
        )
    if rows:
        tables.append(
            Table(
                "reliability.kmo",
                "KMO 与 Bartlett 球形检验",
                pd.DataFrame(rows),
                source=inputs.source("reliability", "validity"),
                formats={"KMO": "num3", "Bartlett χ²": "num2", "自由度": "int", "p": "p", "样本量": "int"},
                notes=("样本量为全部量表题均有实质回答的记录（列删除）。",),
            )
        )
    rows = []
    for instrument, part in validity[validity["analysis"] == "cfa"].groupby("instrument", sort=False):
        values = {str(r.statistic): r for r in part.itertuples()}
        row: dict[str, object] = {"问卷": instrument_name(str(instrument))}
        for statistic, label, _ in CFA_FIT:
            row[label] = values[statistic].estimate if statistic in values else float("nan")
            if statistic == "chi2":
                row["自由度"] = values[statistic].df if statistic in values else float("nan")
                row["p"] = values[statistic].pvalue if statistic in values else float("nan")
        rmsea = values.get("rmsea")
        row["RMSEA"] = rmsea.estimate if rmsea is not None else float("nan")
        row["RMSEA 90%CI下限"] = rmsea.ci_low if rmsea is not None else float("nan")
        row["RMSEA 90%CI上限"] = rmsea.ci_high if rmsea is not None else float("nan")
        row["样本量"] = part["n"].iloc[0]
        rows.append(row)
    if rows:
        frame = pd.DataFrame(rows)
        formats = {label: fmt for _, label, fmt in CFA_FIT}
        formats |= {"自由度": "int", "p": "p", "RMSEA": "num3", "样本量": "int"}
        formats |= {"RMSEA 90%CI下限": "num3", "RMSEA 90%CI上限": "num3"}
        tables.append(
            Table(
                "reliability.cfa",
                "验证性因子分析拟合指标",
                frame,
                source=inputs.source("reliability", "validity"),
                formats=formats,
                notes=("模型：各量表题目只负载于其所属量表的因子；样本量为列删除后的记录数。",),
                landscape=len(frame.columns) > 7,
            )
        )
    return tables


def section(inputs: ReportInputs) -> Section:
    """信度与效度, or one line when 04_reliability has not run."""
    if not inputs.ran("reliability"):
        return Section(NUMBER, TITLE, missing=inputs.missing_line("reliability"))
    labels = Labels(inputs.config)
    blocks: list[Block] = [Heading("量表信度")]
    reliability = inputs.table("reliability", "reliability")
    alpha = _alpha_table(inputs, reliability) if reliability is not None else None
    blocks.append(alpha if alpha is not None else Paragraph("没有可计算信度的量表。"))
    flags = inputs.table("reliability", "flags")
    if flags is not None and len(flags):
        blocks.append(_flags_table(inputs, labels, flags))
    elif flags is not None:
        blocks.append(Paragraph("没有题目被标记。"))
    validity = inputs.table("reliability", "validity")
    if validity is not None and len(validity):
        blocks.append(Heading("结构效度"))
        blocks += _validity_tables(inputs, validity)
    agreement = inputs.table("reliability", "agreement")
    if agreement is not None and len(agreement):
        # The tables themselves are in section 7 (pipeline.report.sections.casefiles.agreement_blocks).
        blocks.append(Heading("案卷评查一致性"))
        blocks.append(
            Paragraph(
                "评查员之间的评分一致性（ICC、κ）与需第三人复评的案卷，见第 7 节“评查员一致性与第三人复评”。"
            )
        )
    return Section(NUMBER, TITLE, tuple(blocks))
