"""Column order of the four 05_compare tables (``docs/DATA_CONTRACT.md``, section 05_compare)."""

from __future__ import annotations

from pipeline.stats.comparisons import RESULT_COLUMNS, UNIT_COLUMNS

COMPARISON_COLUMNS = ["instrument", *RESULT_COLUMNS[:6], "group_a_name", "group_b_name", *RESULT_COLUMNS[6:]]
PEER_COLUMNS = [
    "instrument",
    *UNIT_COLUMNS[:4],
    "unit",
    "unit_name",
    "peer_group",
    "peer_group_name",
    *UNIT_COLUMNS[6:],
    "below_peers",
    "above_peers",
]
ADJUSTED_COLUMNS = [
    "instrument", "family", "dv", "district", "district_name", "reference", "reference_name", "controls",
    "unadjusted_diff", "unadjusted_se", "unadjusted_ci_low", "unadjusted_ci_high", "unadjusted_p",
    "adjusted_diff", "se", "ci_low", "ci_high", "statistic", "df", "p", "p_holm", "p_bh",
    "gap_change", "n", "n_eff", "weighted", "flag", "reason",
]  # fmt: skip
FAMILY_COLUMNS = [
    "family", "table", "instrument", "dv", "by", "weighted", "kind", "tests", "n_rows", "n_tests",
    "n_groups", "holm_over", "description",
]  # fmt: skip
