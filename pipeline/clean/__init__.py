"""Pure functions of the clean stage (no I/O): exclusion rules, derived variables, case-file aggregation, flow.

- :mod:`pipeline.clean.items` — which columns of a 01_ingest table hold which item, and when an item is answered;
- :mod:`pipeline.clean.rules` — one function per exclusion rule, and :func:`~pipeline.clean.rules.screen`;
- :mod:`pipeline.clean.derive` — demographics, item/scale scores, 满意率/知晓率 inputs, quiz score;
- :mod:`pipeline.clean.casefiles` — one row per case file from the reviewers' rows;
- :mod:`pipeline.clean.flow` — the response flow table (raw → valid).
"""
