"""The core of stage 05_compare: which districts, departments and groups differ, as tidy tables.

Pure functions over DataFrames (and the loaded :class:`~pipeline.config.Config`); nothing reads or writes files
(:mod:`pipeline.stages.compare` does). In reading order:

* :mod:`~pipeline.compare.outcomes` — what is compared: groupings, outcomes, the columns read;
* :mod:`~pipeline.compare.families` — group comparisons, one family per outcome × grouping, and the family table;
* :mod:`~pipeline.compare.unit_vs_peers` — each unit against the rest of its type (evidence for 个性问题);
* :mod:`~pipeline.compare.adjusted` — district gaps with and without demographic controls;
* :mod:`~pipeline.compare.tables` — all four tables and the run-level Benjamini–Hochberg adjustment;
* :mod:`~pipeline.compare.columns` — the column order of each table.

Analysis frames and survey designs come from :mod:`pipeline.frames`; every statistic from :mod:`pipeline.stats`.
"""

from pipeline.compare.tables import CompareTables, comparison_tables

__all__ = ["CompareTables", "comparison_tables"]
