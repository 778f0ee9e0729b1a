"""The small-group rule: flag groups below 30 respondents, suppress those below 10 (effective n when weighted).

One definition for every table of the evaluation (group comparisons, unit vs peers, adjusted district gaps):
a group whose size is below ``suppress_below`` is reported without estimates (``flag = "suppressed"``), one
below ``flag_below`` keeps its estimates with ``flag = "small"``. The size is the number of respondents, or,
for weighted (sampling-weight) estimates, Kish's effective sample size ``(Σw)² / Σw²``
(:func:`~pipeline.stats.kish_n_eff`), which is never larger than n, so weighting never makes the rule more
lenient. numpy/pandas only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from pipeline.errors import DataError
from pipeline.stats.descriptives import kish_n_eff

SMALL_N = 30
"""Groups with n (effective n when weighted) below this are flagged ``small``."""
MIN_N = 10
"""Groups with n (effective n when weighted) below this are suppressed."""


class GroupFlag(NamedTuple):
    """A group's flag (``"suppressed"``, ``"small"`` or ``""``) and its Chinese reason (``""`` if none)."""

    flag: str
    reason: str


@dataclass(frozen=True)
class SmallGroupRule:
    """Thresholds of the small-group rule; :meth:`flag` applies them to a group size.

    Attributes
    ----------
    flag_below : int, default 30
        Sizes below this are flagged ``"small"`` (reason ``"样本量不足30，结果仅供参考"``).
    suppress_below : int, default 10
        Sizes below this (and a missing size) are ``"suppressed"`` (reason ``"样本量不足10，不予报告"``).

    Examples
    --------
    >>> rule = SmallGroupRule()
    >>> rule.flag(9.5), rule.flag(12), rule.flag(30)
    (GroupFlag(flag='suppressed', reason='样本量不足10，不予报告'), GroupFlag(flag='small', reason='样本量不足30，结果仅供参考'), GroupFlag(flag='', reason=''))
    """

    flag_below: int = SMALL_N
    suppress_below: int = MIN_N

    @property
    def suppressed_reason(self) -> str:
        return f"样本量不足{self.suppress_below}，不予报告"

    @property
    def small_reason(self) -> str:
        return f"样本量不足{self.flag_below}，结果仅供参考"

    def flag(self, size: float) -> GroupFlag:
        """The flag of a group of ``size`` respondents (or effective n); NaN counts as suppressed. The size is
        compared rounded to 9 decimals: Kish's n of equal weights is the count, whatever order the weights
        were summed in (29.999999999999996 is 30)."""
        size = round(float(size), 9) if size == size else size
        if not size >= self.suppress_below:
            return GroupFlag("suppressed", self.suppressed_reason)
        if size < self.flag_below:
            return GroupFlag("small", self.small_reason)
        return GroupFlag("", "")

    def flag_array(self, sizes) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`flag` of many sizes at once: arrays of flags and reasons (no DataFrame, for hot loops)."""
        sizes = np.round(np.asarray(sizes, dtype=float), 9)
        with np.errstate(invalid="ignore"):
            hidden = ~(sizes >= self.suppress_below)
            small = ~hidden & (sizes < self.flag_below)
        flag = np.where(hidden, "suppressed", np.where(small, "small", "")).astype(object)
        reason = np.where(hidden, self.suppressed_reason, np.where(small, self.small_reason, "")).astype(
            object
        )
        return flag, reason

    def flags(self, sizes) -> pd.DataFrame:
        """:meth:`flag` of each size: columns ``size, flag, reason`` (index kept from a Series)."""
        sizes = sizes if isinstance(sizes, pd.Series) else pd.Series(np.asarray(sizes, dtype=float))
        found = [self.flag(s) for s in sizes.to_numpy(dtype=float)]
        return pd.DataFrame(
            {
                "size": sizes.to_numpy(dtype=float),
                "flag": [f.flag for f in found],
                "reason": [f.reason for f in found],
            },
            index=sizes.index,
        )


def small_group_flags(groups, *, weights=None, rule: SmallGroupRule | None = None) -> pd.DataFrame:
    """The small-group rule for every group of ``groups``: size (n, or Kish effective n if weighted) and flag.

    Parameters
    ----------
    groups : Series or array-like
        Group label of each respondent; missing labels belong to no group.
    weights : array-like, optional
        Sampling weights (not frequency weights) of the same respondents; then the size is Kish's effective
        sample size ``(Σw)² / Σw²`` over the group's respondents (:func:`~pipeline.stats.kish_n_eff`, summed
        in the rows' order), else the count.
    rule : SmallGroupRule, optional
        Thresholds (default 30 / 10).

    Returns
    -------
    DataFrame
        Indexed by group (sorted labels; a Categorical's category order): ``n``, ``n_eff`` (= n unweighted),
        ``size`` (the one the rule used), ``flag``, ``reason``.

    Raises
    ------
    DataError
        ``weights`` do not have one value per respondent, or are missing/negative.

    Examples
    --------
    >>> small_group_flags(["a"] * 12 + ["b"] * 40)[["n", "flag"]].to_dict("index")
    {'a': {'n': 12, 'flag': 'small'}, 'b': {'n': 40, 'flag': ''}}
    """
    rule = SmallGroupRule() if rule is None else rule
    labels = groups if isinstance(groups, pd.Series) else pd.Series(np.asarray(groups, dtype=object))
    codes, uniques = pd.factorize(labels, sort=True)
    n = np.bincount(codes[codes >= 0], minlength=len(uniques))
    if weights is None:
        n_eff = n.astype(float)
    else:
        w = np.asarray(weights, dtype=float)
        if w.shape != codes.shape:
            raise DataError(f"small_group_flags(): {w.size} weights for {codes.size} respondents")
        order = np.argsort(codes, kind="stable")  # each group's rows in their original order
        bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
        n_eff = np.array([kish_n_eff(w[order[bounds[g] : bounds[g + 1]]]) for g in range(len(uniques))])
    flags = rule.flags(pd.Series(n_eff if weights is not None else n.astype(float)))
    return pd.DataFrame(
        {"n": n, "n_eff": n_eff, "size": flags["size"].to_numpy(), "flag": flags["flag"].to_numpy(),
         "reason": flags["reason"].to_numpy()},
        index=pd.Index(uniques, name=labels.name),
    )  # fmt: skip
