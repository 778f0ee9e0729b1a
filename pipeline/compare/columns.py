"""Column order of the four 05_compare tables: the fixed columns of their schemas (:mod:`pipeline.schemas`,
described in ``docs/DATA_CONTRACT.md``, section 05_compare)."""

from __future__ import annotations

from pipeline.schemas import column_names

COMPARISON_COLUMNS = column_names("compare", "comparisons")
PEER_COLUMNS = column_names("compare", "unit_vs_peers")
ADJUSTED_COLUMNS = column_names("compare", "adjusted")
FAMILY_COLUMNS = column_names("compare", "families")
