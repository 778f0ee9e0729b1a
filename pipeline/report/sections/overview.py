"""Section 1 调查概况: data sources, fieldwork window, sample sizes and the flow from raw records to valid ones.

Reads ``01_ingest/_ingest_report.json`` (files and records per source), the ``submitted_at`` column of the
01_ingest questionnaire tables (the fieldwork window is recorded nowhere else), ``02_clean/flow`` and
``02_clean/exclusions``.
"""

from __future__ import annotations

import pandas as pd

from pipeline.report.blocks import Block, Heading, Paragraph, Section, Table
from pipeline.report.inputs import ReportInputs
from pipeline.report.sections._common import instrument_name, questionnaire_title, sources, submit_window

NUMBER = 1
TITLE = "调查概况"

#: How the ingest report names the kinds of non-questionnaire files.
CASEFILE_KIND = "案卷评查表"
CHECKPOINT_KIND = "核查表"
ACTIONS = {"exclude": "剔除", "flag": "标记", "": ""}


def _source_rows(inputs: ReportInputs, report: dict) -> list[dict[str, object]]:
    files = report.get("files", [])
    rows: list[dict[str, object]] = []
    for instrument in inputs.config.instruments:
        if instrument not in ("public", "staff"):
            continue
        mine = [f for f in files if f.get("instrument") == instrument]
        rows.append(
            {
                "数据来源": questionnaire_title(inputs.config, instrument),
                "类别": instrument_name(instrument),
                "文件数": len(mine),
                "记录数": sum(int(f.get("rows", 0)) for f in mine),
            }
        )
    for kind in (CASEFILE_KIND, CHECKPOINT_KIND):
        mine = [f for f in files if f.get("kind") == kind]
        if mine:
            sheets = "、".join(dict.fromkeys(str(f.get("sheet", "")) for f in mine if f.get("sheet")))
            casefile = inputs.config.casefile
            title = casefile.title if kind == CASEFILE_KIND and casefile is not None else sheets
            rows.append(
                {
                    "数据来源": title,
                    "类别": kind,
                    "文件数": len(mine),
                    "记录数": sum(int(f.get("rows", 0)) for f in mine),
                }
            )
    return rows


def _sources_table(inputs: ReportInputs, report: dict) -> Table:
    frame = pd.DataFrame(_source_rows(inputs, report), columns=["数据来源", "类别", "文件数", "记录数"])
    return Table(
        "overview.sources",
        "数据来源",
        frame,
        source="01_ingest/_ingest_report.json",
        formats={"文件数": "int", "记录数": "int"},
        notes=(
            "记录数为读入的原始记录（问卷为答卷，案卷评查为案卷×评查人，核查表为单位×观测点），未经清洗。",
        ),
    )


def _fieldwork_table(inputs: ReportInputs) -> Table | None:
    rows = []
    for instrument in ("public", "staff"):
        window = submit_window(inputs, instrument)
        if window is not None:
            first, last, n = window
            rows.append(
                {
                    "问卷": instrument_name(instrument),
                    "首份提交时间": first.strftime("%Y-%m-%d %H:%M"),
                    "末份提交时间": last.strftime("%Y-%m-%d %H:%M"),
                    "有提交时间的记录数": n,
                }
            )
    if not rows:
        return None
    return Table(
        "overview.fieldwork",
        "调查时间",
        pd.DataFrame(rows),
        source=sources(inputs, ("ingest", "public"), ("ingest", "staff")) + "（仅 submitted_at 列）",
        formats={"有提交时间的记录数": "int"},
        notes=("按原始记录（含此后剔除的记录）的提交时间统计；纸质问卷等无提交时间的记录不计入。",),
    )


def _samples_table(inputs: ReportInputs, flow: pd.DataFrame) -> Table:
    rows = []
    for instrument, part in flow.groupby("instrument", sort=False):
        raw = part.loc[part["rule"] == "raw", "n_after"]
        valid = part.loc[part["rule"] == "valid", "n_after"]
        rows.append(
            {
                "问卷": instrument_name(str(instrument)),
                "原始记录": int(raw.iloc[0]) if len(raw) else pd.NA,
                "剔除": int(part["n_excluded"].sum()),
                "有效样本": int(valid.iloc[0]) if len(valid) else pd.NA,
            }
        )
    frame = pd.DataFrame(rows, columns=["问卷", "原始记录", "剔除", "有效样本"])
    return Table(
        "overview.samples",
        "各问卷样本量",
        frame,
        source=inputs.source("clean", "flow"),
        formats={"原始记录": "int", "剔除": "int", "有效样本": "int"},
        notes=("有效样本 = 原始记录 − 剔除；仅标记（不剔除）的记录计入有效样本。",),
    )


def _flow_table(inputs: ReportInputs, instrument: str, part: pd.DataFrame) -> Table:
    part = part.sort_values("step", kind="stable")
    frame = pd.DataFrame(
        {
            "步骤": part["reason"].astype(str).tolist(),
            "处理": [ACTIONS.get(str(a), str(a)) for a in part["action"].fillna("")],
            "处理前": part["n_before"].astype("int64").tolist(),
            "剔除": part["n_excluded"].astype("int64").tolist(),
            "标记": part["n_flagged"].astype("int64").tolist(),
            "处理后": part["n_after"].astype("int64").tolist(),
        }
    )
    flagged = part.loc[part["n_flagged"] > 0, "reason"].astype(str).tolist()
    notes = ["按规则顺序逐步处理；一条记录只计入首个剔除它的规则。"]
    if flagged:
        notes.append(f"标记的记录保留在有效样本中（{'、'.join(flagged)}）。")
    return Table(
        f"overview.flow.{instrument}",
        f"{instrument_name(instrument)}样本清洗流程",
        frame,
        source=inputs.source("clean", "flow"),
        formats={c: "int" for c in ("处理前", "剔除", "标记", "处理后")},
        notes=tuple(notes),
    )


def section(inputs: ReportInputs) -> Section:
    """调查概况, or one line when 01_ingest has not run."""
    if not inputs.ran("ingest"):
        return Section(NUMBER, TITLE, missing=inputs.missing_line("ingest"))
    report = inputs.stage_json("ingest", "_ingest_report.json") or {}
    blocks: list[Block] = [Heading("数据来源"), _sources_table(inputs, report)]
    fieldwork = _fieldwork_table(inputs)
    if fieldwork is not None:
        blocks += [Heading("调查时间"), fieldwork]
    flow = inputs.table("clean", "flow")
    blocks.append(Heading("样本量与清洗流程"))
    if flow is None:
        blocks.append(Paragraph(inputs.missing_line("clean")))
        return Section(NUMBER, TITLE, tuple(blocks))
    blocks.append(_samples_table(inputs, flow))
    for instrument, part in flow.groupby("instrument", sort=False):
        blocks.append(_flow_table(inputs, str(instrument), part))
    return Section(NUMBER, TITLE, tuple(blocks))
