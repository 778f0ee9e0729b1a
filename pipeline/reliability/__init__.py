"""The core of stage 04_reliability: reliability and construct validity of the scales, reviewer agreement.

Pure functions over DataFrames; nothing reads or writes files (:mod:`pipeline.stages.reliability` does). Every
statistic comes from :mod:`pipeline.stats` (checked against R there); this package decides which items, codes,
weights and rows go in and turns results into long tidy tables at full precision. A statistic that cannot be
computed (fewer than 2 answered items, fewer than 3 complete cases, a constant item, a constant flag in kappa
...) gives a row with NaN and the reason in ``note``, never an exception. In reading order:

* :mod:`~pipeline.reliability.scales` — alpha with its intervals, λ6, ω, item analysis and item flags;
* :mod:`~pipeline.reliability.validity` — KMO, Bartlett, EFA, CFA and items loading on another scale;
* :mod:`~pipeline.reliability.agreement` — agreement of case-file reviewers and the third-review list;
* :mod:`~pipeline.reliability.tables` — the seven tables of the stage from those parts;
* :mod:`~pipeline.reliability.columns` — the column order of each table.
"""

from pipeline.reliability.agreement import reviewer_agreement, third_review
from pipeline.reliability.scales import ScaleReliability, keyed_items, scale_reliability
from pipeline.reliability.tables import ReliabilityTables, reliability_tables
from pipeline.reliability.validity import construct_validity, misassigned_flags

__all__ = [
    "ReliabilityTables",
    "ScaleReliability",
    "construct_validity",
    "keyed_items",
    "misassigned_flags",
    "reliability_tables",
    "reviewer_agreement",
    "scale_reliability",
    "third_review",
]
