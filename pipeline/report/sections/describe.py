"""Section 4 描述统计: per questionnaire and question (form order) its frequency, multiple-choice or ranking table;
the quiz; 满意度指数 and 满意率 of scales, the index and items overall and by district; the crosstab tests.

Reads the 06_describe tables ``frequencies``, ``multiple``, ``ranking``, ``quiz``, ``scales`` and ``crosstabs``.
Percentages are taken from the stage (which stores percent 0–100) as shares 0–1. The frequency table keeps the
layout readers know from SPSS: 百分比 is a row's count over all records of the table (总计, unweighted, 不了解 /
skipped / unanswered included), 有效百分比 the stage's estimate over the valid answers (weighted where the
questionnaire is), 累计百分比 its cumulative share; only 百分比 is computed here, from the stage's counts.

Crosstab rule (stated in the section): every grouping × item Rao–Scott test is listed in one summary table per
grouping; the group-by-option percentages are shown for the district crosstabs whose test has p < 0.05
(:data:`DETAIL_BY`, :data:`DETAIL_ALPHA`).
"""

from __future__ import annotations

import pandas as pd

from pipeline.config.codebook import CodebookItem
from pipeline.report.blocks import Block, Heading, Paragraph, Section, Table
from pipeline.report.inputs import ReportInputs
from pipeline.report.sections._common import (
    MARK_COLUMN,
    SIG_NOTE,
    Labels,
    apply_small_cells,
    base_note,
    flags_of,
    instrument_name,
    is_weighted,
    sig_mark,
    small_cell_notes,
    weighting_note,
)

NUMBER = 4
TITLE = "描述统计"

#: The grouping whose crosstabs are shown cell by cell, and the p below which they are.
DETAIL_BY = "district"
DETAIL_ALPHA = 0.05
FREQ_COLUMNS = ("百分比", "有效百分比", "累计百分比")
MISSING_NOTE = (
    "“不了解”类选项、跳过、未作答计入频数和百分比，不计入有效百分比的基数；"
    "跳过 = 因问卷逻辑未显示该题；未作答 = 应答而未答。"
)
RANK_MEASURES = (("mean_rank", "平均排序", "num2", 1.0), ("share_first", "排第一的比例", "pct1", 100.0))


def _by_item(table: pd.DataFrame | None, instrument: str, **equal: str) -> dict[str, pd.DataFrame]:
    """Rows of ``table`` for ``instrument`` (and the given column values), split by item, in table order."""
    if table is None or not len(table):
        return {}
    mask = table["instrument"] == instrument
    for col, value in equal.items():
        mask &= table[col].fillna("") == value
    part = table[mask]
    return {str(k): v for k, v in part.groupby("item", sort=False)}


def _item_title(item: CodebookItem) -> str:
    return f"{item.id} {item.text}"


def frequency_table(inputs: ReportInputs, instrument: str, item: CodebookItem, rows: list[dict]) -> Table:
    """选项 | 频数 | 百分比 | 有效百分比 | 累计百分比 for one single-choice or matrix item.

    ``rows`` are the item's overall rows of ``06_describe/frequencies`` as records, in the stage's order.
    """
    first = rows[0]
    weighted = bool(first["weighted"])
    substantive = [r for r in rows if not r["missing_option"]]
    missing = [r for r in rows if r["missing_option"]]
    n_valid = int(first["n_valid"]) if pd.notna(first["n_valid"]) else 0
    ordered = bool(first["ordered"])
    flag = flags_of(pd.DataFrame([first]))[0]
    records: list[dict[str, object]] = []
    flags: list[str] = []
    for r in substantive:
        records.append(
            {
                "选项": str(r["option_label"]),
                "频数": r["n"],
                "有效百分比": r["percent"] / 100,
                "累计百分比": r["cum_percent"] / 100 if ordered else float("nan"),
            }
        )
        flags.append(flag)
    records.append({"选项": "有效回答合计", "频数": n_valid, "有效百分比": 1.0})
    flags.append(flag)
    for r in missing:
        records.append({"选项": str(r["option_label"]), "频数": r["n"]})
        flags.append("")
    counts = {column: _count(first[column]) for column in ("n_skipped", "n_unanswered")}
    for label, column in (("跳过", "n_skipped"), ("未作答", "n_unanswered")):
        if counts[column] > 0:
            records.append({"选项": label, "频数": counts[column]})
            flags.append("")
    total = n_valid + sum(_count(r["n"]) for r in missing) + sum(counts.values())
    records.append({"选项": "总计", "频数": total})
    flags.append("")
    for record in records:
        record["百分比"] = _count(record["频数"]) / total if total else float("nan")
    frame = pd.DataFrame(records, columns=["选项", "频数", *FREQ_COLUMNS])
    if not ordered:
        frame = frame.drop(columns="累计百分比")
    frame = apply_small_cells(frame, flags, [c for c in FREQ_COLUMNS if c in frame.columns])
    notes = [base_note(n_valid, "有效回答")]
    notes.append(
        "百分比 = 频数 ÷ 总计（未加权，含不了解、跳过、未作答）；有效百分比以有效回答为基数"
        + ("，为加权百分比（总体估计）；频数为未加权样本数。" if weighted else "；未加权。")
    )
    notes.append(MISSING_NOTE)
    if ordered:
        notes.append("累计百分比为有效百分比按选项在问卷中的顺序累计。")
    notes += small_cell_notes(inputs.config, flags, weighted)
    return Table(
        f"describe.freq.{item.id}",
        _item_title(item),
        frame,
        source=inputs.source("describe", "frequencies"),
        formats={"频数": "int", "百分比": "pct1", "有效百分比": "pct1", "累计百分比": "pct1"},
        notes=tuple(notes),
    )


def _count(value: object) -> int:
    return 0 if value is None or value is pd.NA or pd.isna(value) else int(value)  # type: ignore[arg-type]


def _records_by_item(table: pd.DataFrame | None, instrument: str, by: str, items: set[str] | None = None):
    """The rows of ``table`` for ``instrument`` and grouping ``by`` (optionally only ``items``) as records,
    split by item in table order."""
    if table is None or not len(table):
        return {}
    mask = (table["instrument"] == instrument) & (table["by"].fillna("") == by)
    if items is not None:
        mask &= table["item"].isin(sorted(items))
    out: dict[str, list[dict]] = {}
    for record in table[mask].to_dict("records"):
        out.setdefault(str(record["item"]), []).append(record)
    return out


def _multiple_table(inputs: ReportInputs, item: CodebookItem, rows: pd.DataFrame) -> Table:
    options = rows[rows["kind"] == "option"]
    first = rows.iloc[0]
    weighted = bool(first["weighted"])
    frame = pd.DataFrame(
        {
            "选项": options["option_label"].astype(str).tolist(),
            "频数": options["n"].tolist(),
            "个案百分比": (options["percent"] / 100).tolist(),
            "响应百分比": (options["response_percent"] / 100).tolist(),
        }
    )
    flags = flags_of(options)
    frame = apply_small_cells(frame, flags, ["个案百分比", "响应百分比"])
    notes = [
        base_note(first["n_valid"], "作答该题的人数"),
        "个案百分比 = 选该项的人占作答者的比例（可多选，合计超过100%）；响应百分比 = 该项占全部选择的比例。"
        f"人均选择 {first['mean_chosen']:.2f} 项。",
        (weighting_note(True) if weighted else weighting_note(False)),
        *small_cell_notes(inputs.config, flags, weighted),
    ]
    return Table(
        f"describe.multiple.{item.id}",
        _item_title(item),
        frame,
        source=inputs.source("describe", "multiple"),
        formats={"频数": "int", "个案百分比": "pct1", "响应百分比": "pct1"},
        notes=tuple(notes),
    )


def _ranking_table(inputs: ReportInputs, item: CodebookItem, rows: pd.DataFrame) -> Table:
    options = list(dict.fromkeys(rows["option_label"].astype(str)))
    by_measure = {str(m): part for m, part in rows.groupby("measure", sort=False)}
    frame = pd.DataFrame({"选项": options})
    formats = {}
    for measure, label, fmt, scale in (*RANK_MEASURES, ("borda", "Borda得分", "num2", 1.0)):
        part = by_measure.get(measure)
        if part is None:
            continue
        values = dict(zip(part["option_label"].astype(str), part["estimate"] / scale, strict=True))
        frame[label] = [values.get(o, float("nan")) for o in options]
        formats[label] = fmt
    first = rows.iloc[0]
    flags = flags_of(rows.drop_duplicates("option_label"))
    frame = apply_small_cells(frame, flags, list(formats))
    notes = (
        base_note(first["n_valid"], "作答该题的人数"),
        f"平均排序为排了该项的人给出的平均名次（1 = 第一）；Borda得分：排第 r 位得 {int(first['k'])} − r + 1 分，"
        "未排为 0，按作答者平均。",
        weighting_note(bool(first["weighted"])),
    )
    return Table(
        f"describe.ranking.{item.id}",
        _item_title(item),
        frame,
        source=inputs.source("describe", "ranking"),
        formats=formats,
        notes=notes,
    )


def _quiz_tables(inputs: ReportInputs, instrument: str, quiz: pd.DataFrame) -> list[Table]:
    part = quiz[(quiz["instrument"] == instrument) & (quiz["by"].fillna("") == "")]
    tables = []
    items = part[part["kind"] == "item"]
    if len(items):
        weighted = is_weighted(items)
        frame = pd.DataFrame(
            {
                "题目": [f"{i} {q}" for i, q in zip(items["item"], items["question"], strict=True)],
                "正确答案": items["key_label"].astype(str).tolist(),
                "答对人数": items["n"].tolist(),
                "正确率": (items["percent"] / 100).tolist(),
                "95%CI下限": (items["ci_low"] / 100).tolist(),
                "95%CI上限": (items["ci_high"] / 100).tolist(),
            }
        )
        tables.append(
            Table(
                f"describe.quiz.{instrument}",
                f"{instrument_name(instrument)}法律知识测试正确率",
                frame,
                source=inputs.source("describe", "quiz"),
                formats={"答对人数": "int", "正确率": "pct1", "95%CI下限": "pct1", "95%CI上限": "pct1"},
                notes=(
                    base_note(items["n_valid"].iloc[0], "有效样本"),
                    "未作答按答错计。正确率" + ("为加权百分比；答对人数未加权。" if weighted else "未加权。"),
                ),
            )
        )
    scores = part[part["kind"] == "score"]
    if len(scores):
        frame = pd.DataFrame(
            {
                "得分": scores["score"].tolist(),
                "人数": scores["n"].tolist(),
                "百分比": (scores["percent"] / 100).tolist(),
            }
        )
        tables.append(
            Table(
                f"describe.quiz_score.{instrument}",
                f"{instrument_name(instrument)}法律知识测试得分分布",
                frame,
                source=inputs.source("describe", "quiz"),
                formats={"得分": "num1", "人数": "int", "百分比": "pct1"},
                notes=(
                    base_note(scores["n_valid"].iloc[0], "有效样本"),
                    weighting_note(is_weighted(scores)),
                ),
            )
        )
    return tables


def _scale_rows(part: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    """mean and satisfied side by side, one row per ``key`` (the order of the stage table)."""
    mean = part[part["statistic"] == "mean"].set_index(key)
    satisfied = part[part["statistic"] == "satisfied"].set_index(key)
    out = mean[["name", "kind", "n", "n_eff", "estimate", "ci_low", "ci_high", "flag", "weighted"]].join(
        satisfied[["estimate", "ci_low", "ci_high"]].rename(columns=lambda c: f"sat_{c}"), how="left"
    )
    return out.reset_index()


SCALE_FORMATS = {
    "样本量": "int",
    "满意度指数": "num1",
    "指数95%CI下限": "num1",
    "指数95%CI上限": "num1",
    "满意率": "pct1",
    "满意率95%CI下限": "pct1",
    "满意率95%CI上限": "pct1",
}
SCALE_VALUES = tuple(c for c in SCALE_FORMATS if c != "样本量")


def _scale_values(rows: pd.DataFrame) -> dict[str, list[object]]:
    return {
        "样本量": rows["n"].tolist(),
        "满意度指数": rows["estimate"].tolist(),
        "指数95%CI下限": rows["ci_low"].tolist(),
        "指数95%CI上限": rows["ci_high"].tolist(),
        "满意率": (rows["sat_estimate"] / 100).tolist(),
        "满意率95%CI下限": (rows["sat_ci_low"] / 100).tolist(),
        "满意率95%CI上限": (rows["sat_ci_high"] / 100).tolist(),
    }


SCALE_NOTE = (
    "满意度指数为 0–100 分的平均得分（量表为所含题目得分的均值，综合指数为各量表得分的等权均值）；"
    "满意率为得分达到“满意”线的人所占比例。“不了解”不计分。"
)
KIND_NAMES = {"index": "综合指数", "scale": "量表", "item": "题目"}


def _scales_overall(
    inputs: ReportInputs, labels: Labels, instrument: str, scales: pd.DataFrame
) -> Table | None:
    part = scales[(scales["instrument"] == instrument) & (scales["by"].fillna("") == "")]
    if not len(part):
        return None
    rows = _scale_rows(part, ["variable"])
    order = {"index": 0, "scale": 1, "item": 2}
    rows = rows.sort_values("kind", key=lambda k: k.map(order), kind="stable")
    frame = pd.DataFrame(
        {
            "指标": [
                labels.outcome(instrument, str(v), {}) if k == "item" else str(n)
                for v, n, k in zip(rows["variable"], rows["name"], rows["kind"], strict=True)
            ],
            "类型": [KIND_NAMES.get(str(k), str(k)) for k in rows["kind"]],
            **_scale_values(rows),
        }
    )
    return _scale_table(
        inputs,
        f"describe.scales.{instrument}",
        f"{instrument_name(instrument)}满意度指数与满意率",
        frame,
        rows,
        SCALE_VALUES,
    )


def _scale_table(
    inputs: ReportInputs,
    key: str,
    title: str,
    frame: pd.DataFrame,
    rows: pd.DataFrame,
    suppress: list[str] | tuple[str, ...],
) -> Table:
    """A table of 06_describe ``scales`` rows: small cells marked or suppressed in ``suppress`` columns, the
    notes on the index, the weighting and the small-cell rule."""
    flags = flags_of(rows)
    weighted = is_weighted(rows)
    return Table(
        key,
        title,
        apply_small_cells(frame, flags, suppress),
        source=inputs.source("describe", "scales"),
        formats=SCALE_FORMATS,
        notes=(
            SCALE_NOTE,
            "加权估计；样本量为未加权人数。" if weighted else "未加权。",
            *small_cell_notes(inputs.config, flags, weighted),
        ),
        landscape=True,
    )


def _scales_by_district(
    inputs: ReportInputs, labels: Labels, instrument: str, scales: pd.DataFrame
) -> list[Table]:
    part = scales[
        (scales["instrument"] == instrument) & (scales["by"] == "district") & (scales["kind"] != "item")
    ]
    tables = []
    for variable, rows in part.groupby("variable", sort=False):
        rows = _scale_rows(rows, ["group"])
        frame = pd.DataFrame({"县区": [labels.group(g) for g in rows["group"]], **_scale_values(rows)})
        tables.append(
            _scale_table(
                inputs,
                f"describe.scales.{instrument}.{variable}.district",
                f"{instrument_name(instrument)}{rows['name'].iloc[0]}：分县区",
                frame,
                rows,
                ["样本量", *SCALE_VALUES],
            )
        )
    return tables


def _crosstab_summary(
    inputs: ReportInputs, labels: Labels, instrument: str, by: str, rows: pd.DataFrame
) -> Table:
    frame = pd.DataFrame(
        {
            "题目": [labels.item(instrument, str(i)) for i in rows["item"]],
            "F": rows["statistic"].tolist(),
            "分子自由度": rows["ndf"].tolist(),
            "分母自由度": rows["ddf"].tolist(),
            "p": rows["p"].tolist(),
            "显著性": [sig_mark(p) for p in rows["p"]],
            "Cramér's V": rows["cramers_v"].tolist(),
            "样本量": rows["n"].tolist(),
        }
    )
    flags = flags_of(rows)
    frame = apply_small_cells(frame, flags, ["F", "分子自由度", "分母自由度", "p", "Cramér's V"])
    if MARK_COLUMN in frame.columns:
        frame = frame.drop(columns=MARK_COLUMN)
    reasons = [
        f"{labels.item(instrument, str(i))}：{r}"
        for i, r, f in zip(rows["item"], rows["reason"], flags, strict=True)
        if f == "suppressed" and isinstance(r, str) and r
    ]
    notes = [
        "检验：Rao–Scott 二阶校正 F（设计为基础的卡方检验）；Cramér's V 按加权表计算。",
        f"{SIG_NOTE}（未做多重比较校正）。",
        "样本量不足的组不参加检验（见 06_describe/crosstabs 的 reason）。",
    ]
    if reasons:
        notes.append(f"{SUPPRESSED_TEST}：" + "；".join(reasons))
    return Table(
        f"describe.crosstabs.{instrument}.{by}",
        f"{instrument_name(instrument)}按{labels.by(by, instrument)}的交叉分析检验",
        frame,
        source=inputs.source("describe", "crosstabs"),
        formats={
            "F": "num2",
            "分子自由度": "num2",
            "分母自由度": "num1",
            "p": "p",
            "Cramér's V": "num3",
            "样本量": "int",
        },
        notes=tuple(notes),
        landscape=True,
    )


SUPPRESSED_TEST = "无法检验（—）的原因"


def _crosstab_detail(
    inputs: ReportInputs, labels: Labels, instrument: str, item: CodebookItem, test: dict, rows: list[dict]
) -> Table:
    rows = [r for r in rows if not r["missing_option"]]
    options = list(dict.fromkeys(str(r["option_label"]) for r in rows))
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(str(r["group"]), []).append(r)
    records, flags = [], []
    for group, part in groups.items():
        record: dict[str, object] = {"县区": labels.group(group), "有效回答": part[0]["n_valid"]}
        values = {str(r["option_label"]): r["percent"] / 100 for r in part}
        record |= {o: values.get(o, float("nan")) for o in options}
        records.append(record)
        flags.append(flags_of(pd.DataFrame(part[:1]))[0])
    frame = pd.DataFrame(records)
    frame = apply_small_cells(frame, flags, ["有效回答", *options])
    weighted = bool(rows and rows[0]["weighted"])
    notes = (
        "行百分比：各县区有效回答中选各项的比例" + ("（加权）；有效回答为未加权人数。" if weighted else "。"),
        f"Rao–Scott F = {test['statistic']:.2f}，p {_p_text(test['p'])}，Cramér's V = {test['cramers_v']:.3f}。",
        MISSING_NOTE,
        *small_cell_notes(inputs.config, flags, weighted),
    )
    return Table(
        f"describe.crosstab.{instrument}.{DETAIL_BY}.{item.id}",
        f"{_item_title(item)}：分县区",
        frame,
        source=inputs.source("describe", "frequencies") + "；" + inputs.source("describe", "crosstabs"),
        formats={"有效回答": "int", **{o: "pct1" for o in options}},
        notes=notes,
        landscape=len(frame.columns) > 7,
    )


def _p_text(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"= {p:.3f}"


def _questions(inputs: ReportInputs, labels: Labels, instrument: str) -> list[Block]:
    codebook = labels.codebook(instrument)
    if codebook is None:
        return []
    freq = _records_by_item(inputs.table("describe", "frequencies"), instrument, "")
    multiple = _by_item(inputs.table("describe", "multiple"), instrument, by="")
    ranking = _by_item(inputs.table("describe", "ranking"), instrument, by="")
    blocks: list[Block] = []
    for number, items in codebook.questions_by_number().items():
        blocks.append(Heading(f"第{number}题 {items[0].question_text}", level=3))
        for item in items:
            if item.id in freq:
                blocks.append(frequency_table(inputs, instrument, item, freq[item.id]))
            elif item.id in multiple:
                blocks.append(_multiple_table(inputs, item, multiple[item.id]))
            elif item.id in ranking:
                blocks.append(_ranking_table(inputs, item, ranking[item.id]))
            elif item.type in ("text", "number"):
                blocks.append(Paragraph(f"{item.id} 为填空题，不列频数表。"))
            else:
                blocks.append(Paragraph(f"{item.id} 在 06_describe 中没有结果。"))
    return blocks


def _crosstabs(inputs: ReportInputs, labels: Labels, instrument: str) -> list[Block]:
    crosstabs = inputs.table("describe", "crosstabs")
    if crosstabs is None:
        return []
    mine = crosstabs[crosstabs["instrument"] == instrument]
    if not len(mine):
        return []
    codebook = labels.codebook(instrument)
    blocks: list[Block] = [Heading(f"{instrument_name(instrument)}交叉分析", level=3)]
    blocks += [
        _crosstab_summary(inputs, labels, instrument, str(by), rows)
        for by, rows in mine.groupby("by", sort=False)
    ]
    detail = mine[(mine["by"] == DETAIL_BY) & (mine["p"] < DETAIL_ALPHA)]
    if len(detail) and codebook is not None:
        tests = detail.to_dict("records")
        wanted = {str(t["item"]) for t in tests}
        freq = _records_by_item(inputs.table("describe", "frequencies"), instrument, DETAIL_BY, wanted)
        for test in tests:
            item = str(test["item"])
            if item in freq and item in codebook:
                blocks.append(
                    _crosstab_detail(inputs, labels, instrument, codebook.item(item), test, freq[item])
                )
    return blocks


def section(inputs: ReportInputs) -> Section:
    """描述统计, or one line when 06_describe has not run."""
    if not inputs.ran("describe"):
        return Section(NUMBER, TITLE, missing=inputs.missing_line("describe"))
    labels = Labels(inputs.config)
    scales = inputs.table("describe", "scales")
    quiz = inputs.table("describe", "quiz")
    blocks: list[Block] = [
        Paragraph(
            "本节按问卷顺序列出每题的频数表；随后是满意度指数与满意率（总体、分县区）和交叉分析。"
            f"交叉分析的取舍规则：每个分组变量与各单选题、矩阵题的 Rao–Scott 检验全部列入该分组的汇总表；"
            f"按县区的交叉表中，检验 p < {DETAIL_ALPHA} 的题目另列各县区的选项百分比；"
            "其他分组的逐格百分比见 06_describe/frequencies。"
        )
    ]
    for instrument in ("public", "staff"):
        if labels.codebook(instrument) is None:
            continue
        blocks.append(Heading(questionnaire_heading(inputs, instrument)))
        blocks += _questions(inputs, labels, instrument)
        if quiz is not None and len(quiz):
            blocks += _quiz_tables(inputs, instrument, quiz)
        if scales is not None and len(scales):
            overall = _scales_overall(inputs, labels, instrument, scales)
            if overall is not None:
                blocks.append(Heading(f"{instrument_name(instrument)}满意度", level=3))
                blocks.append(overall)
                blocks += _scales_by_district(inputs, labels, instrument, scales)
        blocks += _crosstabs(inputs, labels, instrument)
    return Section(NUMBER, TITLE, tuple(blocks))


def questionnaire_heading(inputs: ReportInputs, instrument: str) -> str:
    q = inputs.config.questionnaire(instrument)
    return f"{instrument_name(instrument)}：{q.title}" if q is not None else instrument_name(instrument)
