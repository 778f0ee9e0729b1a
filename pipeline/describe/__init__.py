"""The core of stage 06_describe: the descriptive tables every survey report starts with.

One module per table kind, each a pure function from an analysis frame, its survey design and the codebook to
a long table: :mod:`.frequencies` (single-choice and matrix items, overall and by every grouping),
:mod:`.crosstabs` (grouping × item tests), :mod:`.multiple`, :mod:`.ranking`, :mod:`.scales` (means, SD,
满意率 and the distribution of scale scores) and :mod:`.quiz`. :func:`.tables.describe_tables` runs them for
every configured questionnaire. What is described follows the codebook's question types; nothing is named in
code.
"""

from pipeline.describe.tables import DescribeTables, describe_tables

__all__ = ["DescribeTables", "describe_tables"]
