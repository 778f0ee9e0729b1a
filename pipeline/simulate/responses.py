"""Answers of one questionnaire as arrays (one per item), the shared Likert engine, and 问卷星 metadata.

Conventions of :class:`Responses` (what :mod:`pipeline.simulate.wjx_writer` turns into an export):

- ``codes[item]``: int array, one code per respondent; ``SKIPPED`` (−3) = hidden by skip logic, ``BLANK`` (−1) =
  left unanswered (an empty cell).
- ``multi[item]``: int8 array respondents × options (0/1, in codebook option order); a skipped row is all −3.
- ``texts[item]``: str array of fill-in answers ("" = empty → ``(空)``); ``other[item]``: the free text typed
  into an "other" option of a multiple-choice item.
- ``overrides``: ``(row, item_id) → raw cell text`` for deliberately malformed cells (applied by the writer).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pipeline.config.codebook import Codebook, CodebookItem, ItemScoring
from pipeline.config.models import Scoring

SKIPPED = -3
BLANK = -1

#: survey window (the mid-term evaluation's field period) and 问卷星's submission-time format.
WINDOW_START = np.datetime64("2023-07-10T07:00:00")
WINDOW_DAYS = 36
#: relative frequency of submissions by hour of day.
HOUR_WEIGHTS = np.array(
    [1, 0.5, 0.3, 0.2, 0.2, 0.3, 1, 2, 4, 6, 7, 6, 4, 4, 5, 6, 6, 5, 4, 5, 7, 7, 5, 2], dtype=float
)
#: IP prefixes with their 问卷星 location label; the first are in 甘肃.
IP_PREFIXES_GANSU = [
    ("223.104", "甘肃-兰州"),
    ("117.136", "甘肃-兰州"),
    ("42.91", "甘肃-兰州"),
    ("60.165", "甘肃-兰州"),
    ("36.142", "甘肃-兰州"),
    ("118.182", "甘肃-兰州"),
    ("124.152", "甘肃-白银"),
    ("61.178", "甘肃-定西"),
]
IP_PREFIXES_OTHER = [
    ("222.90", "陕西-西安"),
    ("111.196", "北京-北京"),
    ("183.214", "宁夏-银川"),
    ("113.200", "四川-成都"),
    ("39.144", "青海-西宁"),
    ("116.224", "上海-上海"),
]
_OCTETS = np.array([str(k) for k in range(256)], dtype=object)
CHANNELS = np.array(["微信", "手机提交", "链接"], dtype=object)


@dataclass
class Responses:
    codebook: Codebook
    n: int
    codes: dict[str, np.ndarray] = field(default_factory=dict)
    multi: dict[str, np.ndarray] = field(default_factory=dict)
    texts: dict[str, np.ndarray] = field(default_factory=dict)
    other: dict[str, np.ndarray] = field(default_factory=dict)
    meta: dict[str, np.ndarray] = field(default_factory=dict)
    """``submitted`` (datetime64[s]), ``duration`` (int seconds), ``channel``, ``channel_detail``, ``ip``."""
    overrides: dict[tuple[int, str], str] = field(default_factory=dict)

    def take(self, index: np.ndarray) -> Responses:
        """Rows ``index`` (in that order) as a new Responses; overrides are dropped."""
        return Responses(
            self.codebook,
            len(index),
            {k: v[index] for k, v in self.codes.items()},
            {k: v[index] for k, v in self.multi.items()},
            {k: v[index] for k, v in self.texts.items()},
            {k: v[index] for k, v in self.other.items()},
            {k: v[index] for k, v in self.meta.items()},
        )


def is_likert(item: CodebookItem) -> bool:
    """A five-point ordinal item (codes 1–5 plus optional don't-know)."""
    return item.type in ("single", "matrix") and sorted(item.substantive_codes) == [1, 2, 3, 4, 5]


def is_latent(item: CodebookItem) -> bool:
    """An item answered from the latent model: a scored or ordered single-choice or matrix item of any length,
    or an unscored non-demographic item coded exactly 1–5. A demographic question (``variable``) keeps the value
    drawn for it (:mod:`pipeline.simulate.demographics`) unless it is scored.
    """
    if item.type not in ("single", "matrix") or len(item.substantive_codes) < 2:
        return False
    if item.scoring is None and item.variable is not None:
        return False
    return item.scoring is not None or item.ordered or is_likert(item)


def ladder(item: CodebookItem) -> np.ndarray:
    """The substantive codes of an ordered item from the worst to the best answer (by score; ties by code).

    Without a scoring the codes count in ascending order, the highest best (:class:`Scoring`'s default).
    """
    scoring = item.scoring or ItemScoring.resolve(Scoring(), item.options)
    return np.array(sorted(scoring.scores, key=lambda c: (scoring.scores[c], c)), dtype=np.int16)


def ladder_scores(item: CodebookItem) -> np.ndarray:
    """The 0–100 scores of :func:`ladder`'s codes, in the same order."""
    scoring = item.scoring or ItemScoring.resolve(Scoring(), item.options)
    return np.array([scoring.scores[int(c)] for c in ladder(item)], dtype=float)


def categorical(rng: np.random.Generator, probs: np.ndarray, n: int | None = None) -> np.ndarray:
    """Indices drawn from probabilities ``probs`` (1-D, or one row per draw)."""
    probs = np.asarray(probs, dtype=float)
    if probs.ndim == 1:
        return rng.choice(len(probs), size=n, p=probs / probs.sum())
    cum = np.cumsum(probs / probs.sum(axis=1, keepdims=True), axis=1)
    u = rng.random(len(probs))
    return np.minimum((u[:, None] > cum).sum(axis=1), probs.shape[1] - 1)


def submit_times(rng: np.random.Generator, n: int) -> np.ndarray:
    day = rng.integers(0, WINDOW_DAYS, n)
    hour = categorical(rng, HOUR_WEIGHTS, n)
    sec = rng.integers(0, 3600, n)
    offset = (day * 86400 + hour * 3600 + sec).astype("timedelta64[s]")
    return WINDOW_START.astype("datetime64[s]") + offset


def durations(rng: np.random.Generator, n: int, median: float) -> np.ndarray:
    return np.maximum(np.round(median * np.exp(0.45 * rng.standard_normal(n))), 30).astype(np.int64)


def ips(rng: np.random.Generator, n: int, outside_share: float) -> np.ndarray:
    """``a.b.c.d(省-市)`` strings, ``outside_share`` of them outside 甘肃."""
    outside = rng.random(n) < outside_share
    kg = rng.integers(0, len(IP_PREFIXES_GANSU), n)
    ko = rng.integers(0, len(IP_PREFIXES_OTHER), n)
    pre = np.where(
        outside,
        np.array([p for p, _ in IP_PREFIXES_OTHER], dtype=object)[ko],
        np.array([p for p, _ in IP_PREFIXES_GANSU], dtype=object)[kg],
    )
    loc = np.where(
        outside,
        np.array([c for _, c in IP_PREFIXES_OTHER], dtype=object)[ko],
        np.array([c for _, c in IP_PREFIXES_GANSU], dtype=object)[kg],
    )
    c = _OCTETS[rng.integers(0, 256, n)]
    d = _OCTETS[rng.integers(1, 255, n)]
    return pre + "." + c + "." + d + "(" + loc + ")"


def channel_meta(
    rng: np.random.Generator, n: int, probs: tuple[float, float, float]
) -> tuple[np.ndarray, np.ndarray]:
    k = categorical(rng, np.array(probs), n)
    channel = CHANNELS[k]
    detail = np.where(k == 2, "直接访问", "N/A").astype(object)
    return channel, detail
