"""What option labels say on their own: Likert scales, numeric bands, 其他/无/不了解 options, demographic stems.

Used to draft a codebook from a 问卷星 export (:mod:`pipeline.ingest.draft`), where only the labels respondents saw
are known. Every function takes labels and returns a guess; a person confirms it in the draft.

Likert labels are read as a family word (满意, 同意/符合, or a frequency word) with a polarity (不 before it) and an
intensity (非常/很 > plain > 比较/不太); neutral words (一般, 中立) sit in the middle. A set of labels is a Likert
scale when each substantive label gets a distinct position in one family and there are 4, 5 or 7 of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.ingest.text import normalize, normalize_option

LIKERT_POINTS = (4, 5, 7)
"""Number of substantive options of a recognised Likert scale."""

_FAMILIES = {"satisfaction": ("满意",), "agreement": ("同意", "符合", "赞同")}
_STRONG = ("非常", "很", "十分", "完全", "特别", "极其", "极为")
_WEAK = ("比较", "较", "基本", "还算", "有点", "有些", "不太", "不大")
_NEUTRAL = frozenset({"一般", "中立", "中等", "尚可", "说不上", "无所谓", "一般般"})
_FREQUENCY = {"总是": 5.0, "始终": 5.0, "经常": 4.0, "常常": 4.0, "有时": 3.0, "偶尔": 2.0, "很少": 1.5}
_NEVER = re.compile(r"^(从不|从未|从来没有|从没有|没有过|从来不)$")
_MISSING_WORDS = (
    "不了解",
    "说不清",
    "不清楚",
    "不知道",
    "拒绝回答",
    "无法回答",
    "不好说",
    "无法判断",
    "不确定",
)
_EXCLUSIVE = re.compile(
    r"^(以上|上述)?(选项)?(都|均|皆|全都|全)?(没有|无|不是|不关注|没|未|从未)"
    r"(以上|上述|任何|这些|此类|的|过|情况|选项|关注|参加|了解)*$"
)
_LEADING_NUMBER = re.compile(r"^\D{0,2}?(\d+(?:\.\d+)?)")
_BELOW = re.compile(r"以下|以内|及以下|不到|不足|低于|少于|<")
_ABOVE = re.compile(r"以上|及以上|超过|高于|多于|>|\+$")

#: Stem keywords → ``variable`` of a demographic question (first match wins, longest keywords first).
DEMOGRAPHIC_STEMS: tuple[tuple[str, str], ...] = (
    ("文化程度", "education"),
    ("学历", "education"),
    ("性别", "gender"),
    ("年龄", "age_group"),
    ("职业", "occupation"),
    ("户籍", "hukou"),
    ("户口", "hukou"),
    ("收入", "income"),
    ("县区", "district"),
    ("区县", "district"),
    ("所在区", "district"),
    ("所在地区", "district"),
    ("所在单位", "unit"),
    ("工作单位", "unit"),
)
DEMOGRAPHIC_SLACK = 4
"""At most this many characters before and after the keyword (``您家庭的月收入``, ``您的年龄段``)."""
_ADDRESS = re.compile(r"^(请问)?(您|你)(的)?")


@dataclass(frozen=True)
class Likert:
    """A recognised Likert scale: its family and the labels from most to least favourable."""

    family: str
    """``satisfaction``, ``agreement`` or ``frequency``."""
    order: tuple[str, ...]
    """Substantive labels, most favourable (or most frequent) first."""
    missing: tuple[str, ...] = ()
    """Don't-know labels (不了解, 说不清) beside the scale."""

    @property
    def points(self) -> int:
        return len(self.order)

    @property
    def prefix(self) -> str:
        return {"satisfaction": "SAT", "agreement": "AGR", "frequency": "FREQ"}[self.family]


def is_other(label: str) -> bool:
    """``其他【请注明】``, ``其它``, ``其他(请说明)`` … — an 'other, please specify' option."""
    return normalize_option(label).startswith(("其他", "其它"))


def is_missing_like(label: str) -> bool:
    """不了解 / 说不清 / 不知道/拒绝回答 …: a don't-know option (every part of the label is such a word)."""
    parts = [p for p in re.split(r"[/、，,或]", normalize_option(label)) if p]
    return bool(parts) and all(any(w in p for w in _MISSING_WORDS) and len(p) <= 6 for p in parts)


def is_exclusive(label: str) -> bool:
    """无 / 都没有 / 以上都没有 / 不关注 …: an option of a multiple-choice question that excludes the others."""
    return bool(_EXCLUSIVE.match(normalize_option(label)))


def likert_position(label: str) -> tuple[str, float] | None:
    """(family, position) of one label: ``非常满意`` → (satisfaction, 3), ``不太满意`` → (satisfaction, −1),
    ``一般`` → ("", 0) (neutral, any family), ``经常`` → (frequency, 4); None when it is no Likert label."""
    s = normalize_option(label)
    if s in _NEUTRAL:
        return "", 0.0
    if s in _FREQUENCY:
        return "frequency", _FREQUENCY[s]
    if _NEVER.match(s):
        return "frequency", 0.0
    for family, words in _FAMILIES.items():
        word = next((w for w in words if s.endswith(w)), None)
        if word is None:
            continue
        head = s[: -len(word)]
        negative = head.endswith("不") or head.startswith(("不", "很不", "非常不"))
        strength = 2.0
        if head.startswith(_STRONG):
            strength = 3.0
        elif head.startswith(_WEAK) or head == "不太":
            strength = 1.0
        rest = head.removesuffix("不")
        for w in (*_STRONG, *_WEAK):
            rest = rest.removeprefix(w)
        if rest not in ("", "不"):
            return None
        return family, -strength if negative else strength
    return None


def recognise_likert(labels: list[str]) -> Likert | None:
    """The Likert scale these labels form, or None (a mixed or too short list, two labels at one position)."""
    missing = tuple(lb for lb in labels if is_missing_like(lb))
    scored: list[tuple[float, str]] = []
    families: set[str] = set()
    for lb in labels:
        if lb in missing:
            continue
        pos = likert_position(lb)
        if pos is None:
            return None
        if pos[0]:
            families.add(pos[0])
        scored.append((pos[1], lb))
    positions = [p for p, _ in scored]
    if len(families) != 1 or len(set(positions)) != len(positions) or len(scored) not in LIKERT_POINTS:
        return None
    family = families.pop()
    if (
        family == "frequency"
        and 0.0 in positions
        and any(normalize_option(lb) in _NEUTRAL for _, lb in scored)
    ):
        return None  # 一般 beside 从不: not one scale
    order = tuple(lb for _, lb in sorted(scored, key=lambda t: -t[0]))
    return Likert(family=family, order=order, missing=missing)


def numeric_key(label: str) -> float | None:
    """Sort key of a numeric band: ``3000-3499元`` → 3000, ``18~24岁`` → 18, ``3000元以下`` → 2999.5,
    ``60岁以上`` → 60.5, ``超过50%`` → 50.5; None when the label does not start with a number."""
    s = normalize(label)
    above = bool(_ABOVE.search(s))
    m = (
        _LEADING_NUMBER.match(s)
        if not s.startswith(("超过", "高于", "多于"))
        else re.search(r"\d+(?:\.\d+)?", s)
    )
    if m is None:
        return None
    key = float(m.group(1) if m.lastindex else m.group(0))
    if _BELOW.search(s):
        return key - 0.5
    return key + 0.5 if above else key


def sensible_order(labels: list[str]) -> list[str]:
    """Labels in the order a questionnaire would list them: numeric bands by their number when most labels are
    bands, else as given; don't-know and 其他 options last (in that order)."""
    tail_missing = [lb for lb in labels if is_missing_like(lb)]
    tail_other = [lb for lb in labels if is_other(lb) and lb not in tail_missing]
    body = [lb for lb in labels if lb not in tail_missing and lb not in tail_other]
    keys = {lb: numeric_key(lb) for lb in body}
    numbered = [lb for lb in body if keys[lb] is not None]
    if body and len(numbered) * 2 > len(body):
        rest = [lb for lb in body if keys[lb] is None]
        body = sorted(numbered, key=lambda lb: keys[lb]) + rest  # type: ignore[arg-type, return-value]
    return body + tail_missing + tail_other


_AT_MOST = re.compile(r"(?:最多|至多|限)选?(?:择)?(\d+)项|选(?:择)?(\d+)项以内|不超过(\d+)项")


def max_choices_from_stem(stem: str | None) -> int | None:
    """The limit a multiple-choice stem states: ``最需改进的方面(最多选3项)`` → 3; None when it states none."""
    m = _AT_MOST.search(normalize(stem))
    return int(next(g for g in m.groups() if g)) if m else None


def demographic_variable(stem: str | None) -> str | None:
    """``variable`` guess of a question from its stem: ``您的性别`` → gender, ``月收入`` → income; a stem that
    only mentions the word in a longer question (``爱好投入占收入比重``) is none."""
    s = _ADDRESS.sub("", normalize(stem).rstrip("?？:："))
    for word, variable in DEMOGRAPHIC_STEMS:
        k = s.find(word)
        if k >= 0 and k <= DEMOGRAPHIC_SLACK and len(s) - k - len(word) <= DEMOGRAPHIC_SLACK:
            return variable
    return None
