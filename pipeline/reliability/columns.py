"""Column order of the 04_reliability tables: the fixed columns of their schemas (:mod:`pipeline.schemas`,
described in ``docs/DATA_CONTRACT.md``, section 04_reliability)."""

from __future__ import annotations

from pipeline.schemas import column_names

RELIABILITY_COLUMNS = column_names("reliability", "reliability")
FLAG_COLUMNS = column_names("reliability", "flags")
VALIDITY_COLUMNS = column_names("reliability", "validity")
LOADING_COLUMNS = column_names("reliability", "loadings")
AGREEMENT_COLUMNS = column_names("reliability", "agreement")
THIRD_REVIEW_COLUMNS = column_names("reliability", "third_review")
