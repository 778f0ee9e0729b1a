"""The core of the weight stage: pure functions over tables (no I/O; :mod:`pipeline.stages.weight` reads and
writes).

In reading order:

- :mod:`pipeline.weight.margins` — the ``rake_on`` margins of population.yaml, keyed as the cleaned table stores
  the variables;
- :mod:`pipeline.weight.weights` — raking weights of the public sample (trimmed and re-raked), unit weights of
  the staff sample;
- :mod:`pipeline.weight.diagnostics` — convergence and spread of the weights, overall and per group, as a tidy
  table;
- :mod:`pipeline.weight.tables` — :func:`~pipeline.weight.tables.weight_tables`: all four 03_weight tables from
  the cleaned responses, and the columns it reads.
"""
