"""Column order of the 04_reliability tables (``docs/DATA_CONTRACT.md``, section 04_reliability)."""

from __future__ import annotations

RELIABILITY_COLUMNS = [
    "instrument",
    "scale",
    "scale_name",
    "statistic",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "ci_method",
    "confidence_level",
    "n",
    "n_dropped",
    "n_eff",
    "k",
    "weighted",
    "missing_rule",
    "note",
]


FLAG_COLUMNS = [
    "instrument",
    "scale",
    "scale_name",
    "item",
    "flag_code",
    "reason",
    "value",
    "threshold",
    "weighted",
]


VALIDITY_COLUMNS = [
    "instrument",
    "analysis",
    "item",
    "statistic",
    "estimate",
    "ci_low",
    "ci_high",
    "df",
    "pvalue",
    "n",
    "n_dropped",
    "note",
]


LOADING_COLUMNS = [
    "instrument",
    "method",
    "item",
    "scale",
    "factor",
    "loading",
    "primary_factor",
    "factor_scale",
    "misassigned",
    "flag",
]


AGREEMENT_COLUMNS = [
    "measure",
    "statistic",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "ci_method",
    "pvalue",
    "n_files",
    "n_raters",
    "n_dropped",
    "note",
]


THIRD_REVIEW_COLUMNS = [
    "case_id",
    "unit",
    "case_type",
    "n_reviewers",
    "score_1",
    "score_2",
    "score_diff",
    "tolerance",
    "grade_1",
    "grade_2",
    "score_beyond_tolerance",
    "grades_differ",
    "veto_disputed",
    "reason",
]
