"""The core of the clean stage: pure functions over tables (no I/O; :mod:`pipeline.stages.clean` reads and writes).

In reading order:

- :mod:`pipeline.clean.items` — which columns of a 01_ingest table hold which item, and when an item is answered;
- :mod:`pipeline.clean.rules` — one function per exclusion rule, and :func:`~pipeline.clean.rules.screen`;
- :mod:`pipeline.clean.derive` — demographics, item/scale scores, 满意率/知晓率 inputs, quiz score;
- :mod:`pipeline.clean.flow` — the response flow table (raw → valid);
- :mod:`pipeline.clean.responses` — one questionnaire's response table → kept records, exclusions and flow
  (:func:`~pipeline.clean.responses.cleaned_responses`: screening, derived variables, masking, accounting);
- :mod:`pipeline.clean.casefiles` — one row per case file from the reviewers' rows;
- :mod:`pipeline.clean.checkpoints` — the checkpoint rows, their notes masked again.
"""
