"""Keep personal data out of ``output/``: keyed pseudonyms, masking of free text (:mod:`pipeline.ingest.masking`,
re-exported here), splitting 问卷星's ``来自IP``.

Key design
----------
``raw/`` is never written, so there is no key file. The key is

1. the environment variable ``FAZHI_PSEUDONYM_KEY`` when it is set (use this for real data: a secret key that lives
   outside the repository makes pseudonyms and IP hashes irreversible for anyone without it), otherwise
2. a default derived from the configuration digest (``Config.digest``) — reproducible with no setup, stable while
   the configuration does not change.

Trade-off of the default: anyone holding the configuration files can recompute the key, and IPv4 addresses (2³²)
or 问卷星 序号 (small integers) can then be recovered by enumeration. The default protects against casual reading
of ``output/`` only; set ``FAZHI_PSEUDONYM_KEY`` before ingesting real responses. Pseudonyms change whenever the key
(or, for the default, the configuration) changes; they are meant for linking within one run (duplicate-IP checks,
reviewer ids), not across runs.
"""

from __future__ import annotations

import hashlib
import os
import re

import numpy as np
import pandas as pd

from pipeline.ingest.masking import MASKS, mask_series, mask_text  # noqa: F401  (re-exported: callers import them here)

KEY_ENV = "FAZHI_PSEUDONYM_KEY"
PSEUDONYM_HEX = 16
"""Length of a pseudonym in hex characters (64-bit BLAKE2b digest: collisions negligible below ~10⁷ values)."""
UNKNOWN_PLACE = "未知"


def project_key(config_digest: str = "") -> bytes:
    """The pseudonym key: ``$FAZHI_PSEUDONYM_KEY`` if set, else derived from the configuration digest."""
    env = os.environ.get(KEY_ENV, "")
    if env:
        return hashlib.blake2b(env.encode("utf-8"), digest_size=32, person=b"fazhi-env").digest()
    return hashlib.blake2b(config_digest.encode("utf-8"), digest_size=32, person=b"fazhi-cfg").digest()


def key_source() -> str:
    """Where :func:`project_key` takes the key from, as the ingest report states it."""
    return (
        f"${KEY_ENV}" if os.environ.get(KEY_ENV) else f"config digest (default; set ${KEY_ENV} for real data)"
    )


def key_fingerprint() -> str:
    """A digest that changes when ``$FAZHI_PSEUDONYM_KEY`` does (``""`` while unset), never the key itself: the
    runner hashes it into the ingest stage's reuse key, so setting or changing the key re-runs ingest instead of
    reusing tables pseudonymised with the old one."""
    env = os.environ.get(KEY_ENV, "")
    return (
        hashlib.blake2b(env.encode("utf-8"), digest_size=16, person=b"fazhi-fpr").hexdigest() if env else ""
    )


def default_key_warning() -> dict[str, str] | None:
    """The warning of every run while ``$FAZHI_PSEUDONYM_KEY`` is unset (None once it is set): the key is then
    derived from the configuration digest, so anyone holding the configuration can recompute it."""
    if os.environ.get(KEY_ENV):
        return None
    return {
        "code": "pseudonym_key_default",
        "file": "",
        "message": (
            f"未设置环境变量 {KEY_ENV}：假名（序号、IP、评查人）的密钥由配置文件摘要推出，任何持有这套配置文件的人都能"
            "重新算出假名，并能穷举还原 IP 地址和问卷序号。处理真实数据前请设置一个只有项目组知道的密钥，保存在仓库和 "
            f"output/ 之外：export {KEY_ENV}='一段足够长的随机文字'（Windows: set {KEY_ENV}=…），再重新运行 "
            f"({KEY_ENV} is unset: pseudonyms are keyed by the configuration digest, so anyone with the "
            "configuration can recompute them; set a secret key before processing real responses)"
        ),
    }


def pseudonym(value: object, key: bytes) -> str:
    """Keyed BLAKE2b hash (BLAKE2's built-in keyed mode, a MAC like HMAC) of ``str(value)``, 16 hex characters.

    Integral floats are hashed as integers (``3.0`` and ``"3"`` give the same pseudonym) because Excel readers
    return numbers as floats. ``None``/NaN give ``""``.
    """
    text = _canonical(value)
    if not text:
        return ""
    return hashlib.blake2b(text.encode("utf-8"), key=key[:64], digest_size=PSEUDONYM_HEX // 2).hexdigest()


def pseudonym_series(values: pd.Series, key: bytes) -> pd.Series:
    """:func:`pseudonym` of every value (a ``str`` column), hashing each distinct value once (≈0.6 µs each)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    table = _hex_pseudonyms(_canonical_many(uniques), key)
    return _spread_strings(table, codes, "", values.index)


def _digests(texts: list[str], key: bytes) -> bytes:
    """The keyed BLAKE2b digests (:data:`PSEUDONYM_HEX` / 2 bytes each) of ``texts``, concatenated.

    One keyed prototype (its key block compressed once) is copied per text: the loop body is three C calls."""
    copy = hashlib.blake2b(key=key[:64], digest_size=PSEUDONYM_HEX // 2).copy
    out: list[bytes] = []
    append = out.append
    for t in texts:
        h = copy()
        h.update(t.encode("utf-8"))
        append(h.digest())
    return b"".join(out)


_HEX_DIGITS = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def _hex_pseudonyms(texts: list[str], key: bytes):
    """:func:`pseudonym` of already canonical texts (``""`` → ``""``) as an Arrow string array.

    The digests are hashed in one tight loop and turned into hex by numpy (no Python string per value); the
    result equals ``[pseudonym(t, key) for t in texts]``."""
    import pyarrow as pa

    present = np.fromiter(map(bool, texts), dtype=bool, count=len(texts))
    raw = np.frombuffer(
        _digests([t for t in texts if t] if not present.all() else texts, key), dtype=np.uint8
    )
    hexed = np.empty(2 * len(raw), dtype=np.uint8)
    hexed[0::2] = _HEX_DIGITS[raw >> 4]
    hexed[1::2] = _HEX_DIGITS[raw & 15]
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(np.where(present, PSEUDONYM_HEX, 0), out=offsets[1:])
    return pa.Array.from_buffers(
        pa.large_string(), len(texts), [None, pa.py_buffer(offsets), pa.py_buffer(hexed)]
    )


def _spread_strings(table, codes: np.ndarray, na: str, index: pd.Index) -> pd.Series:
    """A ``str`` column (what ``.astype(str)`` gives) of ``table[codes]`` (an Arrow string array, one entry per
    distinct value), code −1 → ``na``; spread by Arrow's take, no Python object per record."""
    import pyarrow as pa

    full = pa.concat_arrays([table.cast(pa.large_string()), pa.array([na], type=pa.large_string())])
    take = pa.array(np.where(codes < 0, len(table), codes))
    return pd.Series(pd.array(full.take(take), dtype=pd.StringDtype(na_value=np.nan)), index=index)


# Texts that are their own canonical form: ASCII letters, digits and ``.:_-`` only (nothing to strip), and not
# integral float text like ``3.0``. Checked by Arrow in one pass; anything else goes through :func:`_canonical`.
_PLAIN = r"^[0-9A-Za-z.:_-]+$"
_INTEGRAL_ASCII = r"^-?[0-9]+\.0+$"


def _canonical_many(values) -> list[str]:
    """:func:`_canonical` of each value (an object array, or the Arrow-backed uniques of a CSV column); plain ASCII
    strings (the usual 序号 and IPs, see ``_PLAIN``) pass through unchanged."""
    import pyarrow.compute as pc

    arr = _all_strings(values)
    if arr is None:  # e.g. 序号 read from Excel as floats 1.0, 2.0, …
        return [
            str(int(v)) if type(v) is float and v.is_integer() else _canonical(v)
            for v in np.asarray(values, dtype=object).tolist()
        ]
    plain = pc.and_(
        pc.match_substring_regex(arr, _PLAIN), pc.invert(pc.match_substring_regex(arr, _INTEGRAL_ASCII))
    ).to_numpy(zero_copy_only=False)
    texts = arr.to_pylist()
    if plain.all():
        return texts
    return [t if p else _canonical(t) for t, p in zip(texts, plain.tolist(), strict=True)]


def _all_strings(values):
    """``values`` as an Arrow string array when every value is a str (no missing value), else None."""
    import pyarrow as pa

    try:
        arr = pa.array(values, type=pa.string())
    except (pa.ArrowException, TypeError, ValueError):
        return None
    return None if arr.null_count else arr


def _canonical(value: object) -> str:
    """The text a pseudonym is computed from: stripped; integral numbers as ints, whether the reader gave the float
    ``3.0`` or the text ``"3.0"`` (an Excel sheet saved as CSV), so that 序号 3 has one pseudonym."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if _INTEGRAL_TEXT.match(text):
        text = text.split(".", 1)[0]
    return text


_INTEGRAL_TEXT = re.compile(r"^-?\d+\.0+$")


_IP_CELL = re.compile(r"^\s*([^\s(（]*)\s*(?:[(（]\s*([^)）]*?)\s*[)）])?\s*$")


def ip_parts(cell: object) -> tuple[str | None, str, str]:
    """Split 问卷星's ``来自IP`` cell ``223.104.1.2(甘肃-兰州)`` into ``(ip, province, city)``.

    Returns the raw IP (the caller hashes it; it is never written) and the place; ``"未知"`` for a missing part.
    ``(甘肃)`` alone gives city ``"未知"``; an empty cell gives ``(None, "未知", "未知")``.
    """
    if not isinstance(cell, str) or not cell.strip():
        return None, UNKNOWN_PLACE, UNKNOWN_PLACE
    m = _IP_CELL.match(cell)
    if not m:
        return cell.strip(), UNKNOWN_PLACE, UNKNOWN_PLACE
    ip, place = m.group(1) or None, m.group(2) or ""
    parts = [p.strip() for p in re.split(r"[-－—]", place, maxsplit=1)] if place else []
    province = parts[0] if parts and parts[0] else UNKNOWN_PLACE
    city = parts[1] if len(parts) > 1 and parts[1] else UNKNOWN_PLACE
    return ip, province, city


_IP_FAST = r"^(?P<ip>[0-9A-Fa-f.:]+)(?:\((?P<place>[^()（）\n]*)\))?$"
"""The usual ``来自IP`` cell, ``223.104.1.2(甘肃-兰州)``: an ASCII address, no spaces, an ASCII-parenthesised place.
For such cells :func:`ip_parts` gives exactly (address, place split); Arrow (RE2) finds them in one pass."""


def _place_parts(place: str) -> tuple[str, str]:
    """(province, city) of a place text as :func:`ip_parts` splits it."""
    place = place.strip()
    parts = [p.strip() for p in re.split(r"[-－—]", place, maxsplit=1)] if place else []
    province = parts[0] if parts and parts[0] else UNKNOWN_PLACE
    city = parts[1] if len(parts) > 1 and parts[1] else UNKNOWN_PLACE
    return province, city


def _ip_table(uniques, key: bytes):
    """(ip_key, province, city) per distinct cell, as three Arrow string arrays. Plain cells (``_IP_FAST``) are
    split by Arrow, their addresses hashed in one loop and their places parsed once per distinct place; every
    other cell goes through :func:`ip_parts`."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(uniques)
    try:
        arr = pa.array(uniques, type=pa.string()) if n else None
    except (pa.ArrowException, TypeError, ValueError):
        arr = None
    fast = np.zeros(n, dtype=bool)
    if arr is not None:
        found = pc.extract_regex(arr, _IP_FAST)
        ok = pc.and_(
            found.is_valid(), pc.invert(pc.match_substring_regex(found.field("ip"), _INTEGRAL_ASCII))
        )
        fast = ok.fill_null(False).to_numpy(zero_copy_only=False)
    rows, slow = np.flatnonzero(fast), np.flatnonzero(~fast)
    parts: list[tuple[pa.Array, pa.Array, pa.Array]] = []
    if len(rows):
        taken = found.take(pa.array(rows))
        places = pc.dictionary_encode(taken.field("place").fill_null(""))
        split = [_place_parts(p) for p in places.dictionary.to_pylist()]
        parts.append(
            (
                _hex_pseudonyms(taken.field("ip").to_pylist(), key),
                pa.array([p for p, _ in split], type=pa.string()).take(places.indices),
                pa.array([c for _, c in split], type=pa.string()).take(places.indices),
            )
        )
    if len(slow):
        split = [ip_parts(uniques[r]) for r in slow.tolist()]
        parts.append(
            (
                _hex_pseudonyms([_canonical(ip) if ip else "" for ip, _, _ in split], key),
                pa.array([p for _, p, _ in split], type=pa.string()),
                pa.array([c for _, _, c in split], type=pa.string()),
            )
        )
    if not parts:
        return tuple(pa.array([], type=pa.string()) for _ in range(3))
    if len(parts) == 1:
        return parts[0]
    back = pa.array(np.argsort(np.concatenate([rows, slow]), kind="stable"))  # fast rows first → cell order
    return tuple(
        pa.concat_arrays([a.cast(pa.string()) for a in column]).take(back)
        for column in zip(*parts, strict=True)
    )


def ip_columns(values: pd.Series, key: bytes) -> pd.DataFrame:
    """``ip_key, ip_province, ip_city`` (``str`` columns) for a ``来自IP`` column; each distinct cell is parsed
    once."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    k, p, c = _ip_table(uniques, key)
    index = values.index
    return pd.DataFrame(
        {
            "ip_key": _spread_strings(k, codes, "", index),
            "ip_province": _spread_strings(p, codes, UNKNOWN_PLACE, index),
            "ip_city": _spread_strings(c, codes, UNKNOWN_PLACE, index),
        },
        index=index,
    )
