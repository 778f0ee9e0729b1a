"""Masking of free text: phone numbers, ID-card numbers, e-mail and IP addresses → ``[电话]``, ``[身份证]``,
``[邮箱]``, ``[IP]``, however they were typed.

People type these with a Chinese input method (full-width ``１３９８７６５４３２１``, ``ｌｉｓｉ＠ｅｘａｍｐｌｅ．ｃｏｍ``), in
groups (``139 8765 4321``, ``620102 19880506 4321``), with dashes or dots (``139-8765-4321``, ``139.8765.4321``),
with an ideographic full stop in an address (``123456@qq。com``) or with an invisible zero-width character copied
from a web page. Matching happens on a *folded* copy of the text: each character NFKC-normalised (full-width →
ASCII), every decimal digit of any script as its ASCII digit, format characters (zero-width space, BOM) dropped.
The matches are then replaced in the text as typed, so text without personal data keeps its own punctuation
(full-width ``，（）：`` are not rewritten).

What is recognised (after folding; a *separator* is a run of 1–3 spaces, dashes or dots):

- e-mail: ``local@domain.tld``, spaces around ``@`` and ``。`` for a dot allowed;
- ID-card numbers: 18 characters (17 digits and a digit or ``X``/``x``/``×`` check character) or 15 digits; an
  unbroken run is masked whatever its content (checksum and birth date are not checked); a grouped one
  (separators anywhere) when its birth date is a plausible date (``19``/``20`` year, month 01–12, day 01–31);
- IP addresses: IPv4 dotted quads, IPv6 full and ``::`` forms;
- mainland mobiles: 11 digits ``1[3-9]…`` with an optional ``+86``/``0086``/``86`` prefix, separators after the
  3rd, 4th, 7th or 8th digit (``139 8765 4321``, ``1398 765 4321``, ``1398765 4321``);
- landlines: area code ``0`` + 2–3 digits (optionally in brackets), a separator, and a 7–8 digit number
  (optionally grouped 3/4 + 4).

Order matters: e-mail first (QQ addresses are digits), then ID-card numbers (an 18-digit ID contains 11-digit
runs), IPs, mobiles, landlines. No pattern starts or ends inside a longer run of digits, so amounts
(``3000-3499元``), dates (``2023-07-12``, ``2023年7月12日``), counts, hotline numbers (``12345``) and case numbers
(``兰执罚〔2023〕123号``) are left alone; so are two phone numbers typed without anything between them (one run of
22 digits is no phone number).
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import pandas as pd

PHONE, ID_CARD, EMAIL, IP = "[电话]", "[身份证]", "[邮箱]", "[IP]"
"""The placeholders written instead of what was found."""

_SEP_CHARS = r" \t\-‐‑‒–—―−.·・"
_SEP = rf"(?:[{_SEP_CHARS}]{{1,3}})?"
"""An optional separator between digit groups (after folding: full-width space → space, ``－`` → ``-``, ``．`` →
``.``)."""


def _grouped(*atoms: str) -> str:
    """The atoms (each one character of a number) with an optional separator between any two of them."""
    return _SEP.join(atoms)


_DIGIT = r"\d"
_YEAR4 = _grouped(rf"(?:1{_SEP}9|2{_SEP}0)", _DIGIT, _DIGIT)
_YEAR2 = _grouped(_DIGIT, _DIGIT)
_MONTH = rf"(?:0{_SEP}[1-9]|1{_SEP}[0-2])"
_DAY = rf"(?:0{_SEP}[1-9]|[12]{_SEP}\d|3{_SEP}[01])"
_AREA = _grouped("[1-9]", *[_DIGIT] * 5)
_CHECK = "[0-9Xx×]"
_NOT_ALNUM_BEFORE, _NOT_ALNUM_AFTER = r"(?<![0-9A-Za-z])", r"(?![0-9A-Za-z])"

_EMAIL = re.compile(
    r"[A-Za-z0-9._%+\-]+[ \t]?@[ \t]?[A-Za-z0-9\-]+(?:[.。][A-Za-z0-9\-]+)*[.。][A-Za-z]{2,}", re.A
)
_ID_18 = re.compile(rf"{_NOT_ALNUM_BEFORE}[1-9]\d{{16}}{_CHECK}{_NOT_ALNUM_AFTER}", re.A)
_ID_18_GROUPED = re.compile(
    _NOT_ALNUM_BEFORE + _grouped(_AREA, _YEAR4, _MONTH, _DAY, *[_DIGIT] * 3, _CHECK) + _NOT_ALNUM_AFTER, re.A
)
_ID_15 = re.compile(rf"{_NOT_ALNUM_BEFORE}[1-9]\d{{14}}{_NOT_ALNUM_AFTER}", re.A)
_ID_15_GROUPED = re.compile(
    _NOT_ALNUM_BEFORE + _grouped(_AREA, _YEAR2, _MONTH, _DAY, *[_DIGIT] * 3) + _NOT_ALNUM_AFTER, re.A
)
_IPV4 = re.compile(
    r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![\d.])", re.A
)
_IPV6 = re.compile(
    r"(?<![0-9A-Fa-f:])(?:(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}"  # full form
    r"|(?=[0-9A-Fa-f:]*[0-9A-Fa-f]{3})(?:[0-9A-Fa-f]{1,4}:){1,6}:(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){0,5})?)"
    r"(?![0-9A-Fa-f:])",
    re.A,
)  # compressed (::) form; a clock time 10:23:45 has neither 7 colons nor '::'
_MOBILE = re.compile(
    rf"(?<!\d)(?:(?:\+|00)?86{_SEP}|\(\+?86\){_SEP})?"
    rf"1[3-9]\d{_SEP}\d{_SEP}\d{{3}}{_SEP}\d{_SEP}\d{{3}}(?!\d)",
    re.A,
)
_LANDLINE = re.compile(rf"(?<!\d)(?:\(0\d{{2,3}}\)|0\d{{2,3}}){_SEP}\d{{3,4}}{_SEP}\d{{4}}(?!\d)", re.A)

MASKS: tuple[tuple[re.Pattern[str], str], ...] = (
    (_EMAIL, EMAIL),
    (_ID_18, ID_CARD),
    (_ID_18_GROUPED, ID_CARD),
    (_ID_15, ID_CARD),
    (_ID_15_GROUPED, ID_CARD),
    (_IPV4, IP),
    (_IPV6, IP),
    (_MOBILE, PHONE),
    (_LANDLINE, PHONE),
)
"""(pattern on folded text, placeholder), applied in this order."""

_MAYBE_MASKED = re.compile(r"[\d@:]")
"""Every pattern needs a digit, an ``@`` (e-mail) or a ``:`` (IPv6) after folding: text whose NFKC form has none
(Unicode ``\\d`` covers every script's digits) is returned as is, after one search."""

_FOLDED: dict[str, str] = {}


def _fold_char(c: str) -> str:
    """One character as matched: NFKC, any decimal digit as ASCII, format characters (Cf) dropped."""
    got = _FOLDED.get(c)
    if got is None:
        digit = unicodedata.decimal(c, None)
        if digit is not None:
            got = str(digit)
        elif unicodedata.category(c) == "Cf":
            got = ""
        else:
            got = unicodedata.normalize("NFKC", c)
        _FOLDED[c] = got
    return got


def fold(text: str) -> tuple[str, list[int]]:
    """``(folded, origin)``: the text as the patterns see it, and for each folded character the index of the
    character of ``text`` it came from."""
    parts: list[str] = []
    origin: list[int] = []
    for i, c in enumerate(text):
        f = c if c < "\x80" else _fold_char(c)
        parts.append(f)
        origin.extend([i] * len(f))
    return "".join(parts), origin


def _sub_folded(pattern: re.Pattern[str], placeholder: str, text: str) -> str:
    """``text`` with every stretch whose folded form ``pattern`` matches replaced by ``placeholder``."""
    folded, origin = fold(text)
    out: list[str] = []
    last = 0
    for m in pattern.finditer(folded):
        start, end = origin[m.start()], origin[m.end() - 1] + 1
        if start < last:  # two matches inside one expanded character (e.g. ⑽): extend the previous one
            last = max(last, end)
            continue
        out += [text[last:start], placeholder]
        last = end
    if not out:
        return text
    out.append(text[last:])
    return "".join(out)


def mask_text(s: object) -> object:
    """Replace phone numbers, ID-card numbers, e-mail and IP addresses in ``s`` by ``[电话]`` etc. (see the module
    docstring for the forms recognised); everything else is returned exactly as typed.

    Non-strings (None, NaN) are returned unchanged. Idempotent. Personal names cannot be found reliably by
    pattern and are not masked here (see :mod:`pipeline.clean.names` for the review list of candidates); columns
    that are *only* a name (微信昵称, 姓名, 评查人) are dropped or pseudonymised at ingest instead.
    """
    if not isinstance(s, str):
        return s
    if s.isascii():  # NFKC leaves ASCII as it is: the patterns run on the text itself
        if not _MAYBE_MASKED.search(s):
            return s
        for pattern, placeholder in MASKS:
            s = pattern.sub(placeholder, s)
        return s
    if not _MAYBE_MASKED.search(unicodedata.normalize("NFKC", s)):
        return s
    for pattern, placeholder in MASKS:
        s = _sub_folded(pattern, placeholder, s)
    return s


def mask_series(values: pd.Series) -> pd.Series:
    """:func:`mask_text` over a column, once per distinct value (NA → None)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    table = np.array([mask_text(u) for u in uniques] + [None], dtype=object)
    return pd.Series(table[codes], index=values.index, dtype=object)
