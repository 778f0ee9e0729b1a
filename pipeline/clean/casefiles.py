"""One row per case file from the reviewers' rows (docs/BACKGROUND.md §2, double scoring).

Aggregation of the ``casefile_reviews`` rows of one ``case_id``:

- ``score`` = mean of the reviewers' recomputed scores (``score``), always — also when they disagree;
- ``disagreement`` = the reviewers' scores span more than ``double_scoring_tolerance`` points, their grades
  differ, or a veto is disputed (some reviewers record it, others do not);
- ``needs_third_review`` = exactly two reviewers and ``disagreement``: the standard asks for a third reviewer or a
  合议; until one is recorded the mean is used and the file is flagged. With three or more reviewers the third
  review is taken as done and the mean of all is used (``disagreement`` still says whether they differed);
- a veto or a grade-barring defect (``excluded_by``) counts for the file when **at least half** of its reviewers
  record it (so a 1-vs-1 veto dispute counts: the conservative reading, and the file is flagged anyway);
- ``grade`` is recomputed from ``score`` with the standard's bands (:func:`grade_scores`);
- per veto code the share of reviewers recording it, per defect code the mean count.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.config.models import CasefileStandard
from pipeline.errors import DataError


def veto_codes(standard: CasefileStandard) -> list[str]:
    return [v.code for v in standard.vetoes]


def defect_codes(standard: CasefileStandard) -> list[str]:
    return [d.code for cat in standard.categories for d in cat.defects]


def grade_scores(
    score: pd.Series, veto: pd.Series, defects: pd.DataFrame, standard: CasefileStandard
) -> pd.Series:
    """Grade per case file: ``veto_grade`` if ``veto``; else the highest band whose ``min_score`` the score reaches
    and none of whose ``excluded_by`` defects is present (``defects``: bool per defect code); NaN score → NA.

    The same rule as :func:`pipeline.ingest.casefile_sheets.recompute_scores`, which grades one reviewer's sheet and
    recomputes the score from the defects; here the score is given (the reviewers' mean)."""
    grade = pd.Series(pd.NA, index=score.index, dtype="string")
    for band in reversed(standard.grades):  # lowest first, so a higher band reached overwrites it
        barred = pd.Series(False, index=score.index)
        for code in band.excluded_by:
            if code in defects:
                barred |= defects[code].astype(bool)
        grade[(score >= band.min_score) & ~barred] = band.grade
    grade[veto.astype(bool) & score.notna()] = standard.veto_grade
    return grade


def casefile_scores(reviews: pd.DataFrame, standard: CasefileStandard) -> pd.DataFrame:
    """One row per ``case_id`` (first-seen order) from the per-reviewer rows; see the module docstring."""
    vetoes, defects = veto_codes(standard), defect_codes(standard)
    need = ["case_id", "unit", "case_type", "reviewer", "score", "grade", *vetoes, *defects]
    missing = [c for c in need if c not in reviews.columns]
    if missing:
        raise DataError(f"casefile_reviews: 缺少列 (missing columns): {', '.join(missing)}")
    r = reviews.copy()
    r["score"] = pd.to_numeric(r["score"], errors="coerce").astype(float)
    marked = r[vetoes].apply(pd.to_numeric, errors="coerce").fillna(0).gt(0)
    counts = r[defects].apply(pd.to_numeric, errors="coerce").fillna(0).astype(float)
    g = r.groupby("case_id", sort=False)
    out = pd.DataFrame(
        {
            "unit": g["unit"].first(),
            "case_type": g["case_type"].first(),
            "n_reviewers": g.size(),
            "score": g["score"].mean(),
            "score_min": g["score"].min(),
            "score_max": g["score"].max(),
        }
    )
    out["score_diff"] = out["score_max"] - out["score_min"]
    out["grades_agree"] = g["grade"].nunique(dropna=False) <= 1
    veto_share = marked.groupby(r["case_id"], sort=False).mean()
    out["veto_dispute"] = ((veto_share > 0) & (veto_share < 1)).any(axis=1)
    out["veto"] = (veto_share >= 0.5).any(axis=1)
    defect_share = counts.gt(0).groupby(r["case_id"], sort=False).mean()
    out["disagreement"] = (
        (out["score_diff"] > standard.double_scoring_tolerance) | ~out["grades_agree"] | out["veto_dispute"]
    )
    out["needs_third_review"] = out["disagreement"] & (out["n_reviewers"] == 2)
    out["grade"] = grade_scores(out["score"], out["veto"], defect_share >= 0.5, standard)
    if "score_mismatch" in r.columns:
        out["score_mismatch"] = (
            r["score_mismatch"].fillna(False).astype(bool).groupby(r["case_id"], sort=False).any()
        )
    for code in vetoes:
        out[code] = veto_share[code]
    for code in defects:
        out[code] = counts[code].groupby(r["case_id"], sort=False).mean()
    out = out.reset_index()
    out["n_reviewers"] = out["n_reviewers"].astype(np.int64)
    return out


def casefile_summary(cases: pd.DataFrame) -> dict[str, int]:
    """Counts for the run manifest: case files, and those waiting for a third review."""
    return {"files": int(len(cases)), "needs_third_review": int(cases["needs_third_review"].sum())}
