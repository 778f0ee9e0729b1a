"""Masking of free text however it was typed (pipeline.ingest.masking): full-width, grouped, dashed, dotted."""

from __future__ import annotations

import re
import unicodedata

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.ingest.masking import mask_series, mask_text


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("电话１３９８７６５４３２１", "电话[电话]"),
        ("手机139 8765 4321。", "手机[电话]。"),
        ("手机 139-8765-4321，或1398.765.4321", "手机 [电话]，或[电话]"),
        ("电话139　8765　4321（全角空格）", "电话[电话]（全角空格）"),
        ("+86 139 8765 4321", "[电话]"),
        ("（＋８６）１３９８７６５４３２１", "[电话]"),
        ("座机（0931）8881234", "座机[电话]"),
        ("座机０９３１－８８８１２３４", "座机[电话]"),
        ("座机010 6512 3456", "座机[电话]"),
        ("13987654321和13912345678", "[电话]和[电话]"),
        ("139\u200b8765\u200b4321", "[电话]"),
        ("身份证620102 19880506 4321", "身份证[身份证]"),
        ("身份证620102-1988-0506-432X号", "身份证[身份证]号"),
        ("身份证６２０１０２１９８８０５０６４３２ｘ", "身份证[身份证]"),
        ("620102198813454321（日期不对也是身份证）", "[身份证]（日期不对也是身份证）"),
        ("老身份证620102 880506 432", "老身份证[身份证]"),
        ("邮箱ｌｉｓｉ＠ｅｘａｍｐｌｅ．ｃｏｍ", "邮箱[邮箱]"),
        ("邮箱 123456@qq。com 谢谢", "邮箱 [邮箱] 谢谢"),
        ("邮箱 li.si @ example.com", "邮箱 [邮箱]"),
        ("地址２２３．１０４．１．２", "地址[IP]"),
    ],
)
def test_personal_data_is_masked_in_every_typed_form(text, masked):
    assert mask_text(text) == masked
    assert mask_text(masked) == masked  # idempotent


@pytest.mark.parametrize(
    "text",
    [
        "月收入3000-3499元，家庭3人",
        "收入０－９９９、1000-1999、2000-2999元",
        "兰执罚〔2023〕123号、兰城管罚字〔2022〕第0456号",
        "2023年7月12日，2023-07-12 10:23:45，2023.07.12—2023.12.31",
        "拨打12345热线、12348热线、110、０９３１",
        "评分 1.3 2.5 3.8 4.2 5.1 6.0，共 1 3 5 7 9 题",
        "版本 1.2.3 共 100 人，占 13.5%",
        "办理时限20个工作日，收费300元，（一）（二）①②",
        "案卷编号 LZ-2023-0001，统计 2019 2020 2021 2022",
    ],
)
def test_ordinary_numbers_are_left_as_typed(text):
    assert mask_text(text) == text


def test_text_is_returned_as_typed_around_what_is_masked():
    text = "您好！电话：１３９８７６５４３２１，（工作日）ＯＫ"
    assert mask_text(text) == "您好！电话：[电话]，（工作日）ＯＫ"


def test_mask_series_masks_each_distinct_value_once_and_keeps_missing():
    got = mask_series(pd.Series(["电话１３９８７６５４３２１", None, "无", "电话１３９８７６５４３２１"]))
    assert got.tolist() == ["电话[电话]", None, "无", "电话[电话]"]


# ------------------------------------------------------------------------------------------- property-based tests
# An independent check: after NFKC, with separators removed between digits, no valid-looking mobile, ID-card
# number or e-mail address may be left in the masked text.

_SEPARATORS = [" ", "-", ".", "\u3000", "－", "．", " - ", "—", "\u200b"]
_FILLER = st.text(
    alphabet=st.sampled_from(
        list("的了在是我有和人这中大为上个国不电话邮箱号码请联系，。、（）：！？ 　abcXY")
    ),
    max_size=12,
)
_CHECK_MOBILE = re.compile(r"1[3-9]\d{9}")
_CHECK_ID = re.compile(
    r"[1-9]\d{5}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[0-9Xx×]|[1-9]\d{14}"
)
_CHECK_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+\s*@\s*[A-Za-z0-9\-]+(?:[.。][A-Za-z0-9\-]+)*[.。][A-Za-z]{2,}")


def _full_width(text: str, which: list[bool]) -> str:
    """``text`` with the characters picked by ``which`` turned into their full-width forms."""
    out = []
    for c, wide in zip(text, which + [False] * len(text), strict=False):
        out.append(chr(ord(c) + 0xFEE0) if wide and "!" <= c <= "~" else c)
    return "".join(out)


@st.composite
def mobiles(draw) -> str:
    digits = (
        "1"
        + draw(st.sampled_from("3456789"))
        + "".join(draw(st.lists(st.sampled_from("0123456789"), min_size=9, max_size=9)))
    )
    groups = draw(st.sampled_from([(11,), (3, 4, 4), (4, 3, 4), (3, 8), (7, 4), (4, 4, 3)]))
    return _join_groups(draw, digits, groups)


@st.composite
def id_cards(draw) -> str:
    year = draw(st.integers(1930, 2015))
    month, day = draw(st.integers(1, 12)), draw(st.integers(1, 31))
    area = draw(st.integers(110000, 659999))
    tail = draw(st.integers(0, 999))
    if draw(st.booleans()):
        digits = f"{area}{year}{month:02d}{day:02d}{tail:03d}" + draw(st.sampled_from("0123456789Xx"))
        groups = draw(st.sampled_from([(18,), (6, 8, 4), (6, 4, 4, 4), (4, 4, 4, 4, 2), (3, 3, 4, 4, 4)]))
    else:
        digits = f"{area}{year % 100:02d}{month:02d}{day:02d}{tail:03d}"
        groups = draw(st.sampled_from([(15,), (6, 6, 3), (6, 9)]))
    return _join_groups(draw, digits, groups)


def _join_groups(draw, digits: str, groups: tuple[int, ...]) -> str:
    parts, at = [], 0
    for n in groups:
        parts.append(digits[at : at + n])
        at += n
    sep = draw(st.sampled_from(_SEPARATORS))
    return sep.join(parts)


@st.composite
def emails(draw) -> str:
    word = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=8)
    local = draw(word) + draw(st.sampled_from(["", ".", "_", "-"])) + draw(word)
    domain = draw(st.lists(word, min_size=1, max_size=3))
    tld = draw(st.sampled_from(["com", "cn", "net", "org", "gov"]))
    at = draw(st.sampled_from(["@", " @ ", "＠"]))
    dot = draw(st.sampled_from([".", "。", "．"]))
    return local + at + dot.join([*domain, tld])


def _compact(text: str) -> str:
    """NFKC, then separators between digits removed (what a reader would still recognise)."""
    folded = unicodedata.normalize("NFKC", text).replace("\u200b", "")
    return re.sub(r"(?<=[0-9])[ \-.—]+(?=[0-9Xx])", "", folded)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    value=st.one_of(mobiles(), id_cards(), emails()),
    before=_FILLER,
    after=_FILLER,
    wide=st.lists(st.booleans(), max_size=60),
)
def test_no_valid_phone_id_or_email_survives_masking(value, before, after, wide):
    text = f"{before}，{_full_width(value, wide)}，{after}"
    masked = mask_text(text)
    compact = _compact(masked)
    assert not _CHECK_MOBILE.search(compact), (text, masked)
    assert not _CHECK_ID.search(compact), (text, masked)
    assert not _CHECK_EMAIL.search(unicodedata.normalize("NFKC", masked)), (text, masked)
    assert mask_text(masked) == masked


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("的了在是我有人，。、（）：年月日号元第 -")), max_size=30))
def test_text_without_digits_or_at_signs_is_returned_unchanged(text):
    assert mask_text(text) == text
