"""The same responses read from two files of one instrument folder: the same export saved twice under two names,
a 按文本 and a 按序号 export of one survey, two downloads of one survey covering overlapping days.

:func:`file_overlaps` compares every pair of survey frames (one per file and sheet, as
:func:`pipeline.ingest.surveys.ingest_survey_file` returns them) of one instrument:

- by **序号 + 提交答卷时间** (the ``respondent`` pseudonym of 序号 and ``submitted_at``), where both are filled in:
  any record of the later frame whose pair occurs in the earlier one is an overlap;
- otherwise, when more than half of a frame's records lack one of them (paper entry without 调查日期), by
  **identical coded answers**: an overlap is reported only when at least :data:`ANSWER_OVERLAP_SHARE` of the
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


def _key_hashes(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(hash of 序号 pseudonym + submission time per record, whether both are present)."""
    respondent, submitted = frame["respondent"], frame["submitted_at"]
    valid = (respondent.notna() & (respondent.astype(str) != "") & submitted.notna()).to_numpy()
    hashes = pd.util.hash_pandas_object(frame[["respondent", "submitted_at"]], index=False).to_numpy()
    return hashes, valid


def _answer_hashes(frame: pd.DataFrame) -> np.ndarray:
    """A hash per record of its coded answers (every integer item column; texts differ between modes)."""
    cols = [c for c in frame.columns if c != "source_row" and pd.api.types.is_integer_dtype(frame[c].dtype)]
    return pd.util.hash_pandas_object(frame[cols], index=False).to_numpy()


def _pair(a: pd.DataFrame, b: pd.DataFrame, keys: dict[int, tuple], answers: dict[int, np.ndarray]):
    """(records of b also in a, by) or None."""
    ka, va = keys[id(a)]
    kb, vb = keys[id(b)]
    n = int(np.isin(kb[vb], ka[va]).sum()) if va.any() and vb.any() else 0
    if n:
        return n, "seq_time"
    if va.mean() > 0.5 and vb.mean() > 0.5:
        return None
    for f in (a, b):
        if id(f) not in answers:
            answers[id(f)] = _answer_hashes(f)
    n = int(np.isin(answers[id(b)], answers[id(a)]).sum())
    if n >= max(MIN_ANSWER_OVERLAP, ANSWER_OVERLAP_SHARE * min(len(a), len(b))):
        return n, "answers"
    return None


def file_overlaps(frames: list[pd.DataFrame]) -> list[FileOverlap]:
    """Every pair of ``frames`` (in the order read) sharing records, the later one named first. Costs nothing for
    a single frame; two hashes per record otherwise."""
    present = [(j, f) for j, f in enumerate(frames) if len(f)]
    if len(present) < 2:
        return []
    keys = {id(f): _key_hashes(f) for _, f in present}
    answers: dict[int, np.ndarray] = {}
    out = []
    for k, (j, b) in enumerate(present):
        for _, a in present[:k]:
            got = _pair(a, b, keys, answers)
            if got is not None:
                same = respondent_scope(a.iloc[:1]).iloc[0] == respondent_scope(b.iloc[:1]).iloc[0]
                out.append(FileOverlap(j, _label(b), _label(a), got[0], len(b), len(a), got[1], bool(same)))
    return out
