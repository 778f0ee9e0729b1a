"""Cells as text and numbers, and the comparison form of texts: what every reader needs, whatever the format.

- :func:`normalize` / :func:`normalize_option`: the form in which headers, stems, option texts and unit names are
  compared (width, spaces, dash styles and fill-in notes do not matter);
- :func:`cell_text` / :func:`as_text`: one cell / a column as stripped text (integral floats as ``"3"``; an
  Arrow-backed string column with nothing to strip is returned as is);
- :func:`cell_float` / :func:`numeric`: one cell / a column as float (NaN where not a number);
- :func:`free_text` / :func:`free_texts`: a free-text answer / a column of them as typed (nothing stripped).

Column functions work on distinct values (:mod:`pipeline.ingest.columns`).
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import pandas as pd

from pipeline.ingest.columns import factorize, per_unique, spread

_DASHES = re.compile(r"[‐‑‒–—―－−~～]")
_BRACKET_NOTE = re.compile(r"[【〖\[](?:[^】〗\]]*)[】〗\]]")
_SPACE = re.compile(r"\s+")


def normalize(text: object) -> str:
    """Comparison form of a header, stem or option text: NFKC (full-width → half-width), no whitespace, dashes
    and tildes unified to ``-``, middle dots unified. ``"１８－２９ 岁"`` → ``"18-29岁"``."""
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return ""
    s = unicodedata.normalize("NFKC", str(text))
    s = _SPACE.sub("", s)
    s = _DASHES.sub("-", s)
    return s.replace("・", "·").replace("•", "·").replace("．", ".")


def normalize_option(text: object) -> str:
    """:func:`normalize` without 问卷星's fill-in notes: ``其他【请注明】`` / ``其他(请注明)`` / ``其他____`` → ``其他``."""
    s = normalize(text)
    s = _BRACKET_NOTE.sub("", s)
    s = re.sub(r"\((?:请注明|请说明|请填写)\)$", "", s)
    return s.rstrip("_:：")


def as_text(col: pd.Series) -> pd.Series:
    """Cells as stripped strings (None for empty); integral floats as ``"3"``, not ``"3.0"``.

    An Arrow-backed ``str`` column (as read from CSV) with no empty string and nothing to strip is already that
    and is returned as is (missing cells stay NaN); anything else gives an object column."""
    if _is_plain_arrow_text(col):
        return col
    codes, uniques = factorize(col)
    plain = _plain_text_mask(uniques)
    if plain is None:
        values = [_text_or_none(u) for u in uniques]
    else:
        values = [
            u if p and type(u) is str else _text_or_none(u)
            for u, p in zip(uniques.tolist(), plain.tolist(), strict=True)
        ]
    return pd.Series(spread(codes, values, None), index=col.index, dtype=object)


_SPACES = (  # every character with str.isspace(), i.e. what str.strip() removes
    r"\x{9}\x{a}\x{b}\x{c}\x{d}\x{1c}\x{1d}\x{1e}\x{1f}\x{20}\x{85}\x{a0}\x{1680}\x{2000}\x{2001}\x{2002}\x{2003}"
    r"\x{2004}\x{2005}\x{2006}\x{2007}\x{2008}\x{2009}\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}"
)
_EDGE_SPACE = f"^[{_SPACES}]|[{_SPACES}]$"
"""RE2 pattern of a text starting or ending with a character ``str.strip()`` removes (the exact ``isspace`` set)."""


def _is_plain_arrow_text(col: pd.Series) -> bool:
    """True for an Arrow-backed string column whose every non-missing cell is a non-empty string with nothing
    :func:`cell_text` would strip: no first or last character in :data:`_SPACE_CHARS` (Arrow passes over the
    column, no Python string per cell)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not isinstance(col.dtype, pd.StringDtype) or col.dtype.storage != "pyarrow":
        return False
    arr = pa.array(col.array)
    if pc.any(pc.equal(pc.binary_length(arr), 0)).as_py():
        return False
    spaces = pa.array(_SPACE_CHARS, type=arr.type)
    for edge in (pc.utf8_slice_codeunits(arr, 0, 1), pc.utf8_slice_codeunits(arr, -1)):
        if pc.any(pc.is_in(edge, value_set=spaces)).as_py():
            return False
    return True


_SPACE_CHARS = [chr(c) for c in range(0x3001) if chr(c).isspace()]
"""Every character ``str.strip()`` removes (``str.isspace``; none lies above U+3000)."""


def _plain_text_mask(uniques: np.ndarray):
    """Which distinct values are already their :func:`cell_text`: non-empty strings with nothing to strip (one
    Arrow pass instead of a Python call per distinct value). None when the values are not all strings."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if len(uniques) < 1000:  # not worth the Arrow round trip
        return None
    try:
        arr = pa.array(uniques, type=pa.string())
    except (pa.ArrowException, TypeError, ValueError):
        return None
    if arr.null_count:
        return None
    edge = pc.match_substring_regex(arr, _EDGE_SPACE)
    plain = pc.and_(pc.invert(edge), pc.greater(pc.binary_length(arr), 0))
    return plain.to_numpy(zero_copy_only=False)


def _text_or_none(v: object) -> str | None:
    t = cell_text(v)
    return t if t else None


def cell_text(v: object) -> str | None:
    """One cell as stripped text (None for empty/NaN); integral floats as ``"3"``."""
    if v is None:
        return None
    if isinstance(v, float):
        if np.isnan(v):
            return None
        return str(int(v)) if v.is_integer() else repr(v)
    return str(v).strip()


def free_text(v: object) -> str | None:
    """A free-text answer as typed: None when empty or only whitespace, else every character kept (a leading tab
    stays: stripping ``"\\t=2+3"`` would turn a harmless text into a formula; any spreadsheet written later
    neutralises it, :mod:`pipeline.safe_cells`). Non-text cells as :func:`cell_text` (``3.0`` → ``"3"``)."""
    if not isinstance(v, str):
        return cell_text(v) or None
    return v if v.strip() else None


def free_texts(col: pd.Series) -> pd.Series:
    """:func:`free_text` over a column (once per distinct value; missing → None)."""
    return per_unique(col, free_text)


def numeric(col: pd.Series) -> pd.Series:
    """Cells as float (NaN where empty or not a number)."""
    if pd.api.types.is_numeric_dtype(col.dtype):
        return col.astype(float)
    codes, uniques = factorize(col)
    return pd.Series(spread(codes, [cell_float(u) for u in uniques], np.nan, float), index=col.index)


def cell_float(v: object) -> float:
    """One cell as a float (NaN if it is not a number)."""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    try:
        return float(str(v).strip())
    except ValueError:
        return np.nan
