"""The same responses read from two files of one instrument folder: the same export saved twice under two names,
a 按文本 and a 按序号 export of one survey, two downloads of one survey covering overlapping days.

:func:`file_overlaps` compares every pair of survey frames (one per file and sheet, as
:func:`pipeline.ingest.surveys.ingest_survey_file` returns them) of one instrument:

- by **序号 + 提交答卷时间** (the ``respondent`` pseudonym of 序号 and ``submitted_at``), where both are filled in:
  any record of the later frame whose pair occurs in the earlier one is an overlap;
- otherwise, when more than half of the records of both frames lack a submission time (paper entry without
  调查日期), by **identical coded answers**: an overlap is reported only when at least :data:`ANSWER_OVERLAP_SHARE` of the
  smaller frame's records have an identical twin, since two people may well give the same answers.

Nothing is dropped here (ingest drops nothing); the clean stage's ``duplicate`` rule removes a repeated 序号 only
within one 问卷星 survey id (the leading digits of a file name), so the stage reports each overlap as a warning.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.clean.rules import respondent_scope

ANSWER_OVERLAP_SHARE = 0.5
"""Share of the smaller frame's records with an identical answer row in the other frame from which two frames
without 序号/提交答卷时间 are taken to hold the same responses."""
MIN_ANSWER_OVERLAP = 2
"""Fewest identical answer rows reported (one identical row between two frames is chance)."""


@dataclass(frozen=True)
class FileOverlap:
    """Records of ``file`` (the later frame, at ``position`` in the frames given) that are also in ``other``."""

    position: int
    file: str
    other: str
    n: int
    """Records of ``file`` found in ``other``."""
    n_file: int
    n_other: int
    by: str
    """``seq_time`` (序号 + 提交答卷时间) or ``answers`` (identical coded answers)."""
    same_survey: bool
    """Both frames in one :func:`~pipeline.clean.rules.respondent_scope` (one 问卷星 survey id, or both paper):
    the clean stage's ``duplicate`` rule then removes the repeated 序号."""

    def as_dict(self) -> dict[str, object]:
        return {
            "other": self.other,
            "n": self.n,
            "n_file": self.n_file,
            "n_other": self.n_other,
            "by": self.by,
            "same_survey": self.same_survey,
        }


def _label(frame: pd.DataFrame) -> str:
    """``file`` or ``file[sheet]`` when the frame is one sheet of several (record ids carry the sheet)."""
    file = str(frame["source_file"].iloc[0])
    sheet = frame["source_sheet"].iloc[0]
    first = str(frame["record_id"].iloc[0])
    return f"{file}[{sheet}]" if first.count(":") > 1 and sheet else file


_NAT = np.iinfo(np.int64).min


def _times(frame: pd.DataFrame) -> np.ndarray:
    """Submission times as int64 nanoseconds (NaT as the int64 minimum)."""
    return frame["submitted_at"].to_numpy(dtype="datetime64[ns]").view(np.int64)


def _isin(values: np.ndarray, among: np.ndarray) -> np.ndarray:
    """``np.isin`` by a hash table of ``among`` (pandas; NumPy's sorts or hashes both sides, ~10x slower at a
    million)."""
    return pd.Series(values, copy=False).isin(among).to_numpy()


def _seq_time_overlap(a: pd.DataFrame, b: pd.DataFrame, ta: np.ndarray, tb: np.ndarray) -> int:
    """Records of ``b`` whose (序号 pseudonym, submission time) occurs in ``a``. Times are compared first (integer
    arrays, the hash table built on the smaller side), pseudonyms only for the records whose time occurs in
    both: two files of different responses cost two lookups of integers."""
    if len(ta) >= len(tb):
        cand_a = np.flatnonzero(_isin(ta, tb[tb != _NAT]))
        cand_b = np.flatnonzero(_isin(tb, ta[cand_a])) if len(cand_a) else cand_a
    else:
        cand_b = np.flatnonzero(_isin(tb, ta[ta != _NAT]))
        cand_a = np.flatnonzero(_isin(ta, tb[cand_b])) if len(cand_b) else cand_b
    if not len(cand_b):
        return 0
    left = pd.DataFrame({"t": ta[cand_a], "r": a["respondent"].to_numpy(dtype=object)[cand_a]})
    right = pd.DataFrame({"t": tb[cand_b], "r": b["respondent"].to_numpy(dtype=object)[cand_b]})
    right = right[right["r"].notna() & (right["r"] != "")]
    return len(right.merge(left.drop_duplicates(), on=["t", "r"]))


def _answer_hashes(frame: pd.DataFrame) -> np.ndarray:
    """A hash per record of its coded answers (every integer item column; texts differ between modes)."""
    cols = [c for c in frame.columns if c != "source_row" and pd.api.types.is_integer_dtype(frame[c].dtype)]
    return pd.util.hash_pandas_object(frame[cols], index=False).to_numpy()


def _pair(a: pd.DataFrame, b: pd.DataFrame, times: dict[int, np.ndarray], answers: dict[int, np.ndarray]):
    """(records of b also in a, by) or None."""
    ta, tb = times[id(a)], times[id(b)]
    n = _seq_time_overlap(a, b, ta, tb)
    if n:
        return n, "seq_time"
    if (ta != _NAT).mean() > 0.5 or (tb != _NAT).mean() > 0.5:
        return None  # (an export with times and a paper sheet without dates are not the same responses)
    for f in (a, b):
        if id(f) not in answers:
            answers[id(f)] = _answer_hashes(f)
    n = int(_isin(answers[id(b)], answers[id(a)]).sum())
    if n >= max(MIN_ANSWER_OVERLAP, ANSWER_OVERLAP_SHARE * min(len(a), len(b))):
        return n, "answers"
    return None


def file_overlaps(frames: list[pd.DataFrame]) -> list[FileOverlap]:
    """Every pair of ``frames`` (in the order read) sharing records, the later one named first. Costs nothing for
    a single frame; for frames of different responses, two lookups of integers per pair."""
    present = [(j, f) for j, f in enumerate(frames) if len(f)]
    if len(present) < 2:
        return []
    times = {id(f): _times(f) for _, f in present}
    answers: dict[int, np.ndarray] = {}
    out = []
    for k, (j, b) in enumerate(present):
        for _, a in present[:k]:
            got = _pair(a, b, times, answers)
            if got is not None:
                same = respondent_scope(a.iloc[:1]).iloc[0] == respondent_scope(b.iloc[:1]).iloc[0]
                out.append(FileOverlap(j, _label(b), _label(a), got[0], len(b), len(a), got[1], bool(same)))
    return out
