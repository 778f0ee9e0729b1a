"""``describe.xlsx``: the 06_describe tables laid out for people, one sheet per question.

A pure function from the describe tables (name → table, as the stage writes them) and the configuration to the
sheets of :func:`pipeline.safe_cells.write_report_xlsx`: a contents sheet (目录), then per questionnaire and
question (in form order) a sheet named ``公众第9题`` / ``公职第14题`` whose title is the question's wording, with
labels instead of codes: the frequencies overall (n, weighted percentage, SE, interval, cumulative percentage)
and by every grouping (groups suppressed by the small-cell rule left out and named), the crosstab tests of the
item, multiple-choice case and response percentages, ranking measures, quiz shares correct and the open-answer
summary, terms and sample answers. Per questionnaire, one sheet of scale means, SDs and 满意率 and one of score
distributions; the staff quiz score distribution on its own sheet.

Nothing here computes a statistic: rows are selected, relabelled and ordered. Columns are read by their schema
names (:mod:`pipeline.schemas`), so a table that gains columns (or a ``by``/``group`` breakdown) still lays out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.config import Config
from pipeline.config.codebook import Codebook, CodebookItem
from pipeline.safe_cells import Block, Sheet, sheet_name

INSTRUMENTS = {"public": ("公众", "公众问卷"), "staff": ("公职", "公职人员问卷")}
"""Instrument → (sheet-name prefix, name in titles)."""
FIXED_BY_LABELS = {"district": "县区", "unit": "单位", "unit_type": "单位类型"}
CI = ("95%CI下限", "95%CI上限")
FLAG_LABELS = {"small": "样本量较小", "suppressed": "不予报告", "": ""}
RANK_MEASURES = {"mean_rank": "平均排序", "share_first": "排第一的比例", "borda": "Borda得分"}


def _rows(tables: dict[str, pd.DataFrame], name: str, instrument: str) -> pd.DataFrame:
    table = tables.get(name)
    if table is None or not len(table):
        return pd.DataFrame()
    return table[table["instrument"] == instrument]


def _by_item(table: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The rows of each item (one pass over the table)."""
    if not len(table):
        return {}
    return {str(item): rows for item, rows in table.groupby("item", sort=False)}


class _Labels:
    """Labels of groupings and groups for one questionnaire (codes of districts, units and unit types → names)."""

    def __init__(self, config: Config, codebook: Codebook):
        self.codebook = codebook
        units = config.units
        self.groups = {u.code: u.name for u in units.units} | dict(units.unit_types) if units else {}

    def by(self, by: str) -> str:
        if by in FIXED_BY_LABELS:
            return FIXED_BY_LABELS[by]
        try:
            return self.codebook.by_variable(by).question_text
        except KeyError:
            return by

    def group(self, group: object) -> str:
        return self.groups.get(str(group), str(group))


def _flag(frame: pd.DataFrame) -> pd.Series:
    return frame["flag"].fillna("").map(lambda f: FLAG_LABELS.get(f, f))


def _overall(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["by"].fillna("") == ""] if "by" in frame.columns else frame


def _by_groups(frame: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    if "by" not in frame.columns:
        return []
    grouped = frame[frame["by"].fillna("") != ""]
    return [(by, part) for by, part in grouped.groupby("by", sort=False)]


def _suppressed_note(part: pd.DataFrame, labels: _Labels) -> str:
    hidden = part.loc[part["flag"] == "suppressed", "group"].drop_duplicates() if "group" in part else []
    if not len(hidden):
        return ""
    return "样本量不足、不予报告的组未列出：" + "、".join(labels.group(g) for g in hidden)


def _frequency_blocks(rows: pd.DataFrame, item: CodebookItem, labels: _Labels) -> list[Block]:
    blocks = []
    overall = _overall(rows)
    percent = ("百分比", "标准误", *CI, "累计百分比")
    if len(overall):
        first = overall.iloc[0]
        table = pd.DataFrame(
            {
                "选项": overall["option_label"],
                "人数": overall["n"],
                "百分比": overall["percent"],
                "标准误": overall["se"],
                CI[0]: overall["ci_low"],
                CI[1]: overall["ci_high"],
                "累计百分比": overall["cum_percent"],
                "标注": _flag(overall),
            }
        )
        note = (
            f"有效回答 {first['n_valid']}（有效样本量 {float(first['n_eff']):.0f}）；不了解等 {first['n_dont_know']}；"
            f"逻辑跳过 {first['n_skipped']}；未作答 {first['n_unanswered']}。"
            f"{'加权' if first['weighted'] else '未加权'}百分比，置信区间方法 {first['method']}；"
            "不了解等选项计人数、不计百分比。"
        )
        blocks.append(Block(table, title=_item_title(item, "频数分布（总体）"), note=note, percent=percent))
    for by, part in _by_groups(rows):
        shown = part[(part["flag"] != "suppressed") & ~part["missing_option"].fillna(False).astype(bool)]
        if not len(shown):
            continue
        title = _item_title(item, f"按{labels.by(by)}分组（行百分比）")
        note = "每组一行：各选项的加权百分比及其 95% 置信区间。" + _suppressed_note(part, labels)
        table, percent = _wide(shown, labels)
        blocks.append(Block(table, title=title, note=note, percent=percent))
    return blocks


def _wide(shown: pd.DataFrame, labels: _Labels) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Group × option rows of one grouping as a crosstab: a row per group, per option its percentage and
    interval."""
    group = shown["group"].to_numpy(dtype=object)
    names, first, row_of = np.unique(group, return_index=True, return_inverse=True)
    order = np.argsort(first)  # groups in table order
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    first, row_of = first[order], rank[row_of]
    flags = shown["flag"].to_numpy(dtype=object)[first]
    columns: dict[str, object] = {
        "组别": [labels.group(g) for g in names[order]],
        "有效回答": shown["n_valid"].to_numpy()[first],
        "不了解等(人)": shown["n_dont_know"].to_numpy()[first],
    }
    percent = []
    estimates = {c: shown[c].to_numpy(dtype=float, na_value=np.nan) for c in ("percent", "ci_low", "ci_high")}
    options = shown["option_label"].to_numpy(dtype=object)
    for label in dict.fromkeys(options):
        at = np.flatnonzero(options == label)
        for suffix, column in (("%", "percent"), ("下限", "ci_low"), ("上限", "ci_high")):
            values = np.full(len(first), np.nan)
            values[row_of[at]] = estimates[column][at]
            columns[f"{label} {suffix}"] = values
            percent.append(f"{label} {suffix}")
    columns["标注"] = [FLAG_LABELS.get(f, f) if isinstance(f, str) else "" for f in flags]
    return pd.DataFrame(columns), tuple(percent)


def _item_title(item: CodebookItem, what: str) -> str:
    return f"{item.row_text} · {what}" if item.row_text else what


def _crosstab_block(rows: pd.DataFrame, item: CodebookItem, labels: _Labels) -> list[Block]:
    if not len(rows):
        return []
    table = pd.DataFrame(
        {
            "分组变量": rows["by"].map(labels.by),
            "Rao–Scott F": rows["statistic"],
            "自由度1": rows["ndf"],
            "自由度2": rows["ddf"],
            "p值": rows["p"],
            "Cramér's V": rows["cramers_v"],
            "人数": rows["n"],
            "组数": rows["n_groups"],
            "标注": _flag(rows),
            "说明": rows["reason"].fillna(""),
        }
    )
    note = "Rao–Scott 二阶校正 F 检验 (svychisq)；Cramér's V 按加权表的比例计算。"
    return [Block(table, title=_item_title(item, "交叉表检验"), note=note)]


def _multiple_blocks(rows: pd.DataFrame, item: CodebookItem, labels: _Labels) -> list[Block]:
    blocks = []
    parts = [("", _overall(rows))] + _by_groups(rows)
    for by, part in parts:
        if not len(part):
            continue
        group = part["group"].map(labels.group) if "group" in part.columns and by else None
        options = part[part["kind"] == "option"]
        first = part.iloc[0]
        table = pd.DataFrame(
            {
                **({"组别": group[options.index]} if group is not None else {}),
                "选项": options["option_label"],
                "人数": options["n"],
                "个案百分比": options["percent"],
                CI[0]: options["ci_low"],
                CI[1]: options["ci_high"],
                "响应百分比": options["response_percent"],
                "标注": _flag(options),
            }
        )
        where = f"按{labels.by(by)}分组" if by else "总体"
        note = (
            f"基数：作答本题的 {first['n_valid']} 人；平均选择 {float(first['mean_chosen']):.2f} 项；"
            f"填写“其他”说明 {first['other_text_n']} 人。个案百分比 = 选择该项的人占作答者的比例；"
            "响应百分比 = 该项占全部选择次数的比例。"
        )
        blocks.append(
            Block(table, title=f"多选题（{where}）", note=note, percent=("个案百分比", *CI, "响应百分比"))
        )
        if not by:
            counts = part[part["kind"] == "n_chosen"]
            table = pd.DataFrame(
                {
                    "选择项数": counts["option_label"],
                    "人数": counts["n"],
                    "百分比": counts["percent"],
                    CI[0]: counts["ci_low"],
                    CI[1]: counts["ci_high"],
                }
            )
            blocks.append(Block(table, title="选择项数分布", percent=("百分比", *CI)))
    return blocks


def _ranking_blocks(rows: pd.DataFrame, item: CodebookItem, labels: _Labels) -> list[Block]:
    blocks = []
    for by, part in [("", _overall(rows)), *_by_groups(rows)]:
        if not len(part):
            continue
        group = {"组别": part["group"].map(labels.group)} if by and "group" in part.columns else {}
        measure = part["measure"].map(
            lambda m: RANK_MEASURES.get(m, f"排前{m.rsplit('_', 1)[-1]}位的比例" if "top" in m else m)
        )
        table = pd.DataFrame(
            {
                **group,
                "选项": part["option_label"],
                "指标": measure,
                "估计": part["estimate"],
                CI[0]: part["ci_low"],
                CI[1]: part["ci_high"],
                "人数": part["n"],
                "标注": _flag(part),
            }
        )
        shares = part["measure"].str.startswith("share")
        where = f"按{labels.by(by)}分组" if by else "总体"
        k = int(part["k"].iloc[0])
        note = (
            f"k = {k}；平均排序 = 排了该项的人给它的平均名次 (1 = 第一)；Borda得分：排第 r 位得 k − r + 1 分，"
            f"未排 0 分，按全部作答者平均 (0–{k})。"
        )
        blocks.append(
            Block(table[shares.to_numpy()], title=f"排序题：比例（{where}）", percent=("估计", *CI))
        )
        blocks.append(
            Block(table[~shares.to_numpy()], title=f"排序题：平均排序与Borda得分（{where}）", note=note)
        )
    return blocks


def _quiz_blocks(rows: pd.DataFrame, item: CodebookItem, labels: _Labels) -> list[Block]:
    if not len(rows):
        return []
    shown = rows[rows["flag"] != "suppressed"]
    table = pd.DataFrame(
        {
            "分组变量": shown["by"].map(lambda b: labels.by(b) if b else "总体"),
            "组别": shown["group"].map(lambda g: labels.group(g) if g else ""),
            "正确答案": shown["key_label"],
            "答对比例": shown["percent"],
            CI[0]: shown["ci_low"],
            CI[1]: shown["ci_high"],
            "人数": shown["n_valid"],
            "标注": _flag(shown),
        }
    )
    note = "未作答计为答错。" + _suppressed_note(rows, labels)
    return [Block(table, title="知识测试：答对比例", note=note, percent=("答对比例", *CI))]


def _open_blocks(opened: dict[str, pd.DataFrame], item: CodebookItem) -> list[Block]:
    blocks = []
    summary, terms, samples = (
        opened[n] for n in ("open_answers", "open_answer_terms", "open_answer_samples")
    )
    for _, row in summary[summary["item"] == item.id].iterrows() if len(summary) else []:
        what = "“其他”说明" if row["source"] == "other" else "填空回答"
        table = pd.DataFrame(
            {
                "回答人数": [row["n_answers"]],
                "无实质内容": [row["n_no_comment"]],
                "有效回答": [row["n_substantive"]],
                "平均字数": [row["mean_chars"]],
                "字数中位数": [row["median_chars"]],
                "最多字数": [row["max_chars"]],
            }
        )
        blocks.append(
            Block(table, title=f"开放回答：{what}", note=f"作答人数基数 {row['n_respondents']}；未加权。")
        )
        mine = terms[terms["column"] == row["column"]] if len(terms) else terms
        if len(mine):
            words = pd.DataFrame(
                {
                    "类型": mine["kind"].map({"word": "词", "phrase": "短语"}),
                    "排名": mine["rank"],
                    "词语": mine["term"],
                    "提及人数": mine["n"],
                    "占有效回答": mine["percent"],
                    "出现次数": mine["occurrences"],
                }
            )
            blocks.append(
                Block(words, title="高频词与短语 (rjieba 分词，已去停用词)", percent=("占有效回答",))
            )
        mine = samples[samples["column"] == row["column"]] if len(samples) else samples
        if len(mine):
            table = pd.DataFrame({"序号": mine["rank"], "回答 (已脱敏)": mine["text"], "字数": mine["chars"]})
            blocks.append(Block(table, title="回答示例 (按固定种子抽取，已脱敏)"))
    return blocks


def _scale_sheets(
    tables: dict[str, pd.DataFrame], instrument: str, labels: _Labels
) -> list[tuple[str, Sheet]]:
    prefix, title = INSTRUMENTS[instrument]
    sheets = []
    scales = _rows(tables, "scales", instrument)
    if len(scales):
        shown = scales[scales["flag"] != "suppressed"]
        base = {
            "名称": shown["name"],
            "分组变量": shown["by"].map(lambda b: labels.by(b) if b else "总体"),
            "组别": shown["group"].map(lambda g: labels.group(g) if g else ""),
        }
        stat = shown["statistic"]
        means = pd.DataFrame(
            {
                **base,
                "指标": stat.map({"mean": "均值", "sd": "标准差"}),
                "估计": shown["estimate"],
                CI[0]: shown["ci_low"],
                CI[1]: shown["ci_high"],
                "人数": shown["n"],
                "标注": _flag(shown),
            }
        )
        satisfied = pd.DataFrame(
            {
                **base,
                "满意率": shown["estimate"],
                CI[0]: shown["ci_low"],
                CI[1]: shown["ci_high"],
                "满意阈值 (0–100分)": shown["threshold"],
                "人数": shown["n"],
                "标注": _flag(shown),
            }
        )
        is_rate = (stat == "satisfied").to_numpy()
        blocks = [
            Block(means[~is_rate], title="得分均值与标准差 (0–100)", note=_suppressed_note(scales, labels)),
            Block(satisfied[is_rate], title="满意率", percent=("满意率", *CI)),
        ]
        sheets.append((f"{prefix}量表与满意度", Sheet(f"{title}：量表、满意度指数与计分题", blocks)))
    bins = _rows(tables, "scale_bins", instrument)
    if len(bins):
        shown = bins[bins["flag"] != "suppressed"]
        table = pd.DataFrame(
            {
                "名称": shown["name"],
                "分组变量": shown["by"].map(lambda b: labels.by(b) if b else "总体"),
                "组别": shown["group"].map(lambda g: labels.group(g) if g else ""),
                "分数段": shown["bin"],
                "人数": shown["n"],
                "百分比": shown["percent"],
                CI[0]: shown["ci_low"],
                CI[1]: shown["ci_high"],
                "标注": _flag(shown),
            }
        )
        block = Block(table, title="得分分布", percent=("百分比", *CI), note=_suppressed_note(bins, labels))
        sheets.append((f"{prefix}得分分布", Sheet(f"{title}：量表得分与满意度指数的分布", [block])))
    quiz = _rows(tables, "quiz", instrument)
    scores = quiz[quiz["kind"] == "score"] if len(quiz) else quiz
    if len(scores):
        table = pd.DataFrame(
            {
                "得分": scores["score"],
                "人数": scores["n"],
                "百分比": scores["percent"],
                CI[0]: scores["ci_low"],
                CI[1]: scores["ci_high"],
            }
        )
        block = Block(table, title="知识测试得分分布", percent=("百分比", *CI))
        sheets.append((f"{prefix}测试得分", Sheet(f"{title}：知识测试得分", [block])))
    return sheets


def describe_workbook(tables: dict[str, pd.DataFrame], config: Config) -> dict[str, Sheet]:
    """The sheets of ``describe.xlsx`` (sheet name → :class:`Sheet`), contents first."""
    taken: set[str] = set()
    contents = []
    sheets: dict[str, Sheet] = {}
    index_name = sheet_name("目录", taken)
    for instrument, (prefix, title) in INSTRUMENTS.items():
        questionnaire = config.questionnaire(instrument)
        if questionnaire is None:
            continue
        codebook = Codebook.from_config(questionnaire, config.units)
        labels = _Labels(config, codebook)
        quiz = _rows(tables, "quiz", instrument)
        by_item = [
            (_by_item(_rows(tables, name, instrument)), build)
            for name, build in (
                ("frequencies", _frequency_blocks),
                ("crosstabs", _crosstab_block),
                ("multiple", _multiple_blocks),
                ("ranking", _ranking_blocks),
            )
        ]
        by_item.append((_by_item(quiz[quiz["kind"] == "item"] if len(quiz) else quiz), _quiz_blocks))
        opened = {
            n: _rows(tables, n, instrument)
            for n in ("open_answers", "open_answer_terms", "open_answer_samples")
        }
        for number, items in codebook.questions_by_number().items():
            blocks: list[Block] = []
            for item in items:
                for parts, build in by_item:
                    if item.id in parts:
                        blocks += build(parts[item.id], item, labels)
                blocks += _open_blocks(opened, item)
            if not blocks:
                continue
            wording = items[0].question_text
            name = sheet_name(f"{prefix}第{number}题", taken)
            sheets[name] = Sheet(f"{title} 第{number}题 {wording}", blocks, subtitle=_kind(items[0]))
            contents.append(
                {"工作表": name, "问卷": title, "题号": number, "题目": wording, "题型": _kind(items[0])}
            )
        for wanted, sheet in _scale_sheets(tables, instrument, labels):
            name = sheet_name(wanted, taken)
            sheets[name] = sheet
            contents.append({"工作表": name, "问卷": title, "题号": None, "题目": sheet.title, "题型": ""})
    note = "百分比为加权估计 (公职人员按单位编制人数加权)，置信水平 95%；各列含义见 docs/DATA_CONTRACT.md 06_describe。"
    index = Sheet(
        "描述统计 (descriptive statistics)",
        [Block(pd.DataFrame(contents).astype({"题号": "Int64"}), title="目录", note=note)],
    )
    return {index_name: index, **sheets}


_KINDS = {
    "single": "单选题",
    "matrix": "矩阵量表题",
    "multiple": "多选题",
    "ranking": "排序题",
    "text": "填空题",
    "number": "数值题",
}


def _kind(item: CodebookItem) -> str:
    return _KINDS.get(item.type, item.type)
