"""Stage 04_reliability: reliability and construct validity of the questionnaire scales, reviewer agreement.

Reads ``02_clean/public.parquet``, ``02_clean/staff.parquet``, ``02_clean/casefile_reviews.parquet`` (when
present) and ``03_weight/public_weights.parquet``, ``03_weight/staff_weights.parquet``; writes
(docs/DATA_CONTRACT.md, 04_reliability; the tables are built by :mod:`pipeline.reliability`):

- ``reliability.parquet`` — per instrument × scale, long: alpha (Feldt, bootstrap seeded with ``ctx.seed``,
  Duhachek intervals), standardized alpha, Guttman's lambda 6, average inter-item r, omega total; unweighted
  and weighted with the design weights (``weighted``); ``n``, ``n_dropped``, ``missing_rule`` (listwise);
- ``items.parquet`` — item analysis per scale (r.drop, alpha if deleted, response frequencies), both ways;
- ``flags.parquet`` — plain-language Chinese reasons (alpha < .70, r.drop < .30, negative r.drop, deletion
  raising alpha by > .02, items loading on another scale's factor, statistics that could not be estimated);
- ``validity.parquet`` (KMO, Bartlett, EFA, CFA; tidy) and ``loadings.parquet`` (EFA pattern, CFA std);
- ``agreement.parquet`` — ICC, Cohen's/weighted/Fleiss' kappa, percent agreement of double-scored case files;
- ``third_review.parquet`` — double-scored files whose two scores differ beyond the tolerance (and, as
  casefile.yaml asks, those whose grades differ or whose veto is disputed; one boolean column per rule).

``RunOptions.n_boot`` (``--n-boot``) sets the number of bootstrap replicates (default 2000). With two cores
and enough cleaned responses (:data:`pipeline.parallel.THRESHOLDS`), the scales are analysed here while a
forked worker does construct validity and reviewer agreement (each part reads its own inputs;
``RunOptions.workers`` overrides). The tables are the same either way.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
from threadpoolctl import threadpool_limits

from pipeline import paths
from pipeline.clean.casefiles import defect_codes, veto_codes
from pipeline.reliability import (
    ScaleReliability,
    construct_validity,
    reliability_tables,
    reviewer_agreement,
    scale_reliability,
    third_review,
)
from pipeline.schemas import empty_table
from pipeline.stages.base import StageContext, write_table

NAME = "reliability"
REQUIRES = ("clean", "weight")
INSTRUMENTS = ("public", "staff")


def _scale_items(ctx: StageContext, instrument: str) -> list[str]:
    return list(
        dict.fromkeys(i for s in ctx.config.codebook(instrument).questionnaire.scales for i in s.items)
    )


def instruments(ctx: StageContext) -> tuple[list[str], list[dict[str, str]]]:
    """The questionnaires with scales (analysed here), and a skip entry for each configured one without."""
    done, skipped = [], []
    for instrument in ctx.config.instruments:
        if ctx.config.codebook(instrument).questionnaire.scales:
            done.append(instrument)
        else:
            skipped.append(
                {"what": f"{instrument} 信度与效度", "reason": "问卷没有定义量表 (no scales declared)"}
            )
    return done, skipped


def _scales(ctx: StageContext, n_boot: int) -> list[ScaleReliability]:
    """Scale reliability of each questionnaire (reliability, item and flag tables)."""
    out = []
    for instrument in instruments(ctx)[0]:
        # only the scale items (and the id the weights join on): the other columns would only cost memory
        responses = ctx.read_table("clean", instrument, columns=["record_id", *_scale_items(ctx, instrument)])
        weights = ctx.read_table("weight", f"{instrument}_weights", columns=["record_id", "weight"])
        codebook = ctx.config.codebook(instrument)
        out.append(scale_reliability(responses, codebook, weights, seed=ctx.seed, n_boot=n_boot))
    return out


def _validity(ctx: StageContext, instrument: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Construct validity of one questionnaire (validity and loadings tables), from its scale items."""
    responses = ctx.read_table("clean", instrument, columns=_scale_items(ctx, instrument))
    return construct_validity(responses, ctx.config.codebook(instrument))


def _agreement(ctx: StageContext) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reviewer agreement and the third-review list of the double-scored case files."""
    if ctx.config.casefile is None:
        return empty_table("reliability", "agreement"), empty_table("reliability", "third_review")
    if ctx.has_table("clean", "casefile_reviews"):
        standard = ctx.config.casefile
        codes = [*veto_codes(standard), *defect_codes(standard)]
        columns = ["case_id", "unit", "case_type", "reviewer", "score", "grade", *codes]
        reviews = ctx.read_table("clean", "casefile_reviews", columns=columns)
    else:
        reviews = pd.DataFrame(columns=["case_id", "score", "grade"])
    return reviewer_agreement(reviews, ctx.config.casefile), third_review(reviews, ctx.config.casefile)


def _in_parallel(ctx: StageContext) -> bool:
    tables = [paths.table_path(ctx.out, "clean", instrument) for instrument in INSTRUMENTS]
    rows = sum(pq.ParquetFile(t).metadata.num_rows for t in tables if t.exists())
    return ctx.executor.splits(rows, "reliability_parts_rows")


def run(ctx: StageContext, dest: Path) -> dict[str, Any]:
    analysed, skipped = instruments(ctx)
    parts: dict[str, Any] = {"scales": partial(_scales, ctx, ctx.options.n_boot)}
    for instrument in analysed:
        parts[f"validity:{instrument}"] = partial(_validity, ctx, instrument)
    parts["agreement"] = partial(_agreement, ctx)
    # The scales here, the others one after another in the worker (about as long together: the worker also
    # imports semopy and scikit-learn). One BLAS thread per process: the matrix products here are small or
    # skinny (k <= 30 items), and a second BLAS thread mostly spins, taking the core the other process needs.
    with threadpool_limits(limits=1, user_api="blas"):
        done = ctx.executor.run_parts(parts, here="scales" if _in_parallel(ctx) else None)
    tables = reliability_tables(
        done["scales"],
        [done[f"validity:{instrument}"] for instrument in analysed],
        [ctx.config.codebook(instrument) for instrument in analysed],
        done["agreement"],
    )
    for name, table in tables.as_dict().items():
        write_table(table, dest, name)
    return tables.summary() | ({"skipped": skipped} if skipped else {})
