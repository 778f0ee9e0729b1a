"""Free-text answers that may name a person: a review list for the survey team, which itself names nobody.

Names cannot be masked reliably by pattern (张 is a surname and a measure word), but a name is most often typed
beside a title: ``张局长``, ``王小明主任``, ``李女士``, ``欧阳警官``. :func:`name_candidates` finds a common
surname (:data:`SURNAMES`, :data:`COMPOUND_SURNAMES`) followed by at most two more Chinese characters and a title
(:data:`TITLES`), and lists every text holding one, with each such name replaced by ``○`` per character and the
title kept (``找过王小明主任`` → ``找过○○○主任``; the leftmost surname within reach starts the name, so ``感谢张局长``
→ ``感○○局长``: hiding a character too many costs context, one too few would leak part of a name): the team can find the record by ``record_id`` and decide whether
the answer may be reported, while the list carries no name. Over-finding (``城关区长``) costs a glance; the list is
a prompt for people, not a filter.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
    "姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫阎段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常"
    "温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂"
    "成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳穆农卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费"
    "卜冷晏席卫米柏宗瞿桂佟臧闵苟邬边卞姬仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩佘池麻苑迟邝"
)
"""Common single-character surnames (the most frequent few hundred)."""
COMPOUND_SURNAMES = (
    "欧阳",
    "司马",
    "上官",
    "诸葛",
    "东方",
    "皇甫",
    "尉迟",
    "公孙",
    "慕容",
    "长孙",
    "令狐",
    "夏侯",
)
TITLES = (
    "局长",
    "科长",
    "主任",
    "处长",
    "所长",
    "队长",
    "书记",
    "经理",
    "老师",
    "医生",
    "大夫",
    "警官",
    "法官",
    "检察官",
    "律师",
    "先生",
    "女士",
    "同志",
    "院长",
    "庭长",
    "部长",
    "厅长",
    "县长",
    "区长",
    "市长",
    "镇长",
    "乡长",
    "村长",
    "站长",
    "组长",
    "股长",
    "主席",
    "师傅",
)
"""Titles and forms of address after which a preceding surname is taken as a candidate name."""
HIDDEN = "○"

_NAME = re.compile(
    "(?P<name>(?:" + "|".join(COMPOUND_SURNAMES) + f"|[{SURNAMES}])[\u4e00-\u9fff]{{0,2}}?)"
    f"(?P<title>副?(?:{'|'.join(sorted(TITLES, key=len, reverse=True))}))"
)
COLUMNS = ["table", "record_id", "source_file", "column", "title", "text"]
"""The review list's columns: which 01_ingest table, the record, the column, the title(s) found (``、``-joined),
the text with the candidate names hidden."""


def hide_names(text: str) -> tuple[str, list[str]]:
    """``(text with each candidate name hidden, titles found)``; the text unchanged and ``[]`` when none."""
    titles: list[str] = []

    def hidden(m: re.Match[str]) -> str:
        titles.append(m.group("title"))
        return HIDDEN * len(m.group("name")) + m.group("title")

    return _NAME.sub(hidden, text), titles


def name_candidates(frame: pd.DataFrame, columns: list[str], table: str) -> pd.DataFrame:
    """One row per (record, column) of ``frame`` whose text holds a candidate name (:data:`COLUMNS`; each
    distinct text is searched once). ``frame`` needs ``record_id``, ``source_file`` and ``columns``."""
    parts = []
    for column in columns:
        if column not in frame:
            continue
        values = frame[column]
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        found = {i: hide_names(u) for i, u in enumerate(uniques) if isinstance(u, str) and _NAME.search(u)}
        if not found:
            continue
        rows = np.flatnonzero(np.isin(codes, list(found)))
        parts.append(
            pd.DataFrame(
                {
                    "table": table,
                    "record_id": frame["record_id"].iloc[rows].astype(str).to_numpy(),
                    "source_file": frame["source_file"].iloc[rows].astype(str).to_numpy(),
                    "column": column,
                    "title": ["、".join(dict.fromkeys(found[codes[r]][1])) for r in rows],
                    "text": [found[codes[r]][0] for r in rows],
                }
            )
        )
    return pd.concat(parts, ignore_index=True)[COLUMNS] if parts else empty_review()


def empty_review() -> pd.DataFrame:
    """The review list without rows (every column ``str``)."""
    return pd.DataFrame({c: pd.Series(dtype=str) for c in COLUMNS})


def review_message(n: int) -> dict[str, str]:
    """The stage summary's warning: how many texts may name a person, and where the list is."""
    return {
        "code": "name_review",
        "file": "name_review.csv",
        "message": (
            f"{n} 处自由文本可能含人名（姓氏 + 职务/称呼），请人工核查后再引用，名单中姓名已用 {HIDDEN} 代替 "
            f"({n} free-text answer(s) may name a person; review 02_clean/name_review.csv)"
        ),
    }
