"""Each unit's own documents: a rectification notice (整改通知单) listing its problems, and a one-page score card
(评分卡) setting its aspect scores against the city and its peers.

``整改通知单_<code>_<name>.docx`` — one per unit with at least one row in 08_findings ``findings.parquet``
(``member`` = the unit; a unit without problems gets no notice): per problem its type (共性/个性问题), item,
问题表述, 证据, 整改建议, 销号标准 and an empty 整改时限 column for the commissioning office to fill in.
``评分卡_<code>_<name>.docx`` — one per ranked unit of 07_score ``ranking.parquet``: overall score, rank with
its interval, tier, and each aspect's score with its 95 % interval and coverage next to the city's score and
the mean of its peers (the other units of its type) from ``scores.parquet``.

Speed: one document with the styles and footer is built once and refilled for every unit (its body cleared),
so a unit costs a body and a save, not a new package.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Pt

from pipeline.config.models import Units
from pipeline.findings.records import KIND_NAMES
from pipeline.report import docx_style as st
from pipeline.report.blocks import shown
from pipeline.report.meta import ReportMeta
from pipeline.score.system import CITY

#: The notice's columns: header → findings column ("" = left empty for the office to fill in).
NOTICE_COLUMNS = {
    "问题类型": "kind",
    "指标": "path",
    "问题表述": "problem",
    "证据": "evidence",
    "整改建议": "suggestion",
    "销号标准": "closure",
    "整改时限": "",
}
#: The score card's columns and how each is shown.
CARD_FORMATS = {
    "评估方面": "text",
    "本单位得分": "num1",
    "95%置信区间": "text",
    "覆盖率": "pct1",
    "全市": "num1",
    "同类单位均值": "num1",
    "与同类之差": "num1",
}
_ILLEGAL = re.compile(r'[<>:"/\\|?*\x00-\x1f]')


def safe_file_name(name: str) -> str:
    """``name`` with the characters Windows forbids in file names replaced by ``_`` (and no trailing dot or
    space, which Windows drops).

    >>> safe_file_name('整改通知单_M001_市委/市政府:办公室?.docx')
    '整改通知单_M001_市委_市政府_办公室_.docx'
    """
    return _ILLEGAL.sub("_", name).rstrip(" .") or "_"


def write_unit_documents(
    findings: pd.DataFrame | None,
    scores: pd.DataFrame | None,
    ranking: pd.DataFrame | None,
    units: Units,
    dest: Path,
    meta: ReportMeta,
) -> list[Path]:
    """Write every unit's notice (units with problems) and score card (ranked units) into ``dest``.

    Parameters
    ----------
    findings
        08_findings ``findings.parquet`` (``None``: no notices).
    scores, ranking
        07_score ``scores.parquet`` and ``ranking.parquet`` (either ``None``: no score cards).
    units
        ``config.units``: the order of the units, their names and the labels of their types.
    dest
        The folder to write into (created when missing).
    meta
        The evaluation's title, printed at the head of each document.

    Returns
    -------
    The files written, notices first, each group in the order of ``units.yaml``.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    template = _Template()
    written: list[Path] = []
    if findings is not None and len(findings):
        by_unit = dict(tuple(findings.groupby("member", sort=False)))
        for unit in units.units:
            if unit.code in by_unit:
                path = dest / safe_file_name(f"整改通知单_{unit.code}_{unit.name}.docx")
                written.append(_notice(template, unit.code, unit.name, by_unit[unit.code], meta, path))
    if scores is not None and ranking is not None and len(ranking):
        aspects = _AspectScores(scores[scores["level"] == "aspect"])
        ranked = ranking.set_index("unit")
        type_labels = units.unit_types
        for unit in units.units:
            if unit.code in ranked.index:
                path = dest / safe_file_name(f"评分卡_{unit.code}_{unit.name}.docx")
                card = aspects.card(unit.code, unit.type)
                row = ranked.loc[unit.code]
                label = type_labels.get(unit.type, unit.type)
                written.append(_score_card(template, unit.code, unit.name, label, row, card, meta, path))
    return written


def notice_frame(rows: pd.DataFrame, rectification_days: int | None = None) -> pd.DataFrame:
    """A unit's findings rows as the notice prints them (序号 and :data:`NOTICE_COLUMNS`, text); 整改时限 is
    "自通知之日起 N 日内" when ``report.yaml: rectification_days`` sets N, else left for the office."""
    out = {"序号": [str(i) for i in range(1, len(rows) + 1)]}
    for header, column in NOTICE_COLUMNS.items():
        if not column:
            deadline = f"自通知之日起{rectification_days}日内" if rectification_days else ""
            out[header] = [deadline if header == "整改时限" else ""] * len(rows)
        elif column == "kind":
            out[header] = [KIND_NAMES.get(k, k) for k in rows["kind"]]
        else:
            out[header] = ["" if pd.isna(v) else str(v) for v in rows[column]]
    return pd.DataFrame(out)


def score_card_frame(aspects: pd.DataFrame, unit: str, unit_type: str) -> pd.DataFrame:
    """A unit's aspect scores against the city and its peers, unrounded (columns of :data:`CARD_FORMATS`).

    ``aspects``: the ``level == "aspect"`` rows of ``scores.parquet``. Peers are the other units of the same
    ``unit_type``; their mean is over those with a score.
    """
    return _AspectScores(aspects).card(unit, unit_type)


class _AspectScores:
    """The aspect rows split once by unit, with the city's scores and each type's units × aspects table."""

    def __init__(self, aspects: pd.DataFrame):
        self.by_unit = dict(tuple(aspects.groupby("unit", sort=False)))
        city = self.by_unit.get(CITY)
        self.city = city.set_index("id")["score"] if city is not None else pd.Series(dtype=float)
        self.by_type = {
            t: frame.pivot_table(index="unit", columns="id", values="score", aggfunc="first", dropna=False)
            for t, frame in aspects.groupby("unit_type", sort=False)
        }

    def card(self, unit: str, unit_type: str) -> pd.DataFrame:
        own = self.by_unit.get(
            unit, pd.DataFrame(columns=["id", "name", "score", "ci_low", "ci_high", "coverage"])
        )
        table = self.by_type.get(unit_type)
        peer_mean = (
            table.drop(index=unit, errors="ignore").mean() if table is not None else pd.Series(dtype=float)
        )
        interval = [
            "" if pd.isna(lo) or pd.isna(hi) else f"{shown(lo, 'num1')}–{shown(hi, 'num1')}"
            for lo, hi in zip(own["ci_low"], own["ci_high"], strict=True)
        ]
        peer = own["id"].map(peer_mean).astype(float)
        return pd.DataFrame(
            {
                "评估方面": (own["id"] + " " + own["name"]).tolist(),
                "本单位得分": own["score"].tolist(),
                "95%置信区间": interval,
                "覆盖率": own["coverage"].tolist(),
                "全市": own["id"].map(self.city).astype(float).tolist(),
                "同类单位均值": peer.tolist(),
                "与同类之差": (own["score"].astype(float) - peer).tolist(),
            }
        )


class _Template:
    """One document with styles and a page-number footer, its body emptied for each unit's document."""

    def __init__(self) -> None:
        self.doc = st.new_document()
        st.page_number_footer(self.doc.sections[0])
        body = self.doc.element.body
        self.sect_pr = body.find(qn("w:sectPr"))

    def fresh(self, landscape: bool, title: str):
        body = self.doc.element.body
        for child in list(body):
            if child is not self.sect_pr:
                body.remove(child)
        st.set_page(self.doc.sections[0], landscape)
        st.blank_core_properties(self.doc, title)
        return self.doc


def _head(doc, kind: str, name: str, code: str, meta: ReportMeta) -> None:
    title = doc.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    title.paragraph_format.space_after = Pt(4)
    st.add_text(title, kind, st.HEI, st.TITLE_PT)
    line = doc.add_paragraph()
    line.alignment = WD_ALIGN_PARAGRAPH.CENTER
    line.paragraph_format.space_after = Pt(10)
    st.add_text(line, meta.title, st.SONG, st.BODY_PT)
    unit = doc.add_paragraph()
    unit.paragraph_format.space_after = Pt(6)
    st.add_text(unit, "被评估单位：", st.HEI, st.HEADING_PT[3])
    st.add_text(unit, f"{name}（{code}）", st.SONG, st.HEADING_PT[3])


def _table(doc, frame: pd.DataFrame, formats: dict[str, str], landscape: bool) -> None:
    header = [str(c) for c in frame.columns]
    rows = [[shown(v, formats.get(c, "text")) for c, v in zip(header, r, strict=True)] for r in frame.values]
    right = [formats.get(c, "text") != "text" for c in header]
    layout = st.table_layout(
        header, [list(col) for col in zip(*rows, strict=True)] if rows else [[]] * len(header)
    )
    widths = layout.widths_cm
    if layout.landscape != landscape:  # the page is fixed: fit the widths to its text width
        widths = tuple(w * st.text_width_cm(landscape) / sum(widths) for w in widths)
    st.three_line_table(doc, header, rows, right, widths)


def _notice(
    template: _Template, code: str, name: str, rows: pd.DataFrame, meta: ReportMeta, path: Path
) -> Path:
    doc = template.fresh(landscape=True, title=f"整改通知单 {name}")
    _head(doc, "整改通知单", name, code, meta)
    intro = doc.add_paragraph()
    intro.paragraph_format.space_after = Pt(6)
    st.add_text(intro, f"经第三方评估，贵单位存在以下 {len(rows)} 项问题，请对照整改建议和销号标准落实整改。")
    _table(doc, notice_frame(rows, meta.rectification_days), {}, landscape=True)
    deadline = (
        "整改时限为默认时限，委托单位可另行确定"
        if meta.rectification_days
        else "整改时限由委托单位确定后填写"
    )
    st.note(doc, f"注：{deadline}；问题依据、证据详见统计附录“问题清单”一节。", last=True)
    return st.save_docx(doc, path)


def _score_card(
    template: _Template,
    code: str,
    name: str,
    type_label: str,
    row: pd.Series,
    card: pd.DataFrame,
    meta: ReportMeta,
    path: Path,
) -> Path:
    doc = template.fresh(landscape=False, title=f"评分卡 {name}")
    _head(doc, "评分卡", name, code, meta)
    facts = [
        ("单位类型", type_label),
        ("总得分", shown(row["score"], "num1")),
        ("覆盖率", shown(row["coverage"], "pct1")),
    ]
    if not pd.isna(row["rank"]):
        facts.append(
            (
                "同类排名",
                f"第 {int(row['rank'])} 名 / 共 {int(row['n_units'])} 个"
                f"（排名区间 {int(row['rank_low'])}–{int(row['rank_high'])}）",
            )
        )
    if not pd.isna(row["tier"]):
        facts.append(("梯队", f"第 {int(row['tier'])} 梯队"))
    for label, value in facts:
        paragraph = doc.add_paragraph()
        paragraph.paragraph_format.space_after = Pt(2)
        st.add_text(paragraph, f"{label}：", st.HEI, st.BODY_PT)
        st.add_text(paragraph, value, st.SONG, st.BODY_PT)
    st.caption(doc, "各评估方面得分", keep_with_next=True)
    _table(doc, card, CARD_FORMATS, landscape=False)
    st.note(doc, "注：得分 0–100；同类单位均值为同类型其他单位的平均得分；空白表示无数据。")
    st.note(doc, "资料来源：07_score/scores、07_score/ranking", last=True)
    return st.save_docx(doc, path)
