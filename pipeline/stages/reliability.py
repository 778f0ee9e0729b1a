"""Stage 04_reliability: reliability and construct validity of the questionnaire scales, reviewer agreement.

Reads ``02_clean/public.parquet``, ``02_clean/staff.parquet``, ``02_clean/casefile_reviews.parquet`` (when
present) and ``03_weight/public_weights.parquet``, ``03_weight/staff_weights.parquet``; writes
(docs/DATA_CONTRACT.md, 04_reliability; the tables are built by :mod:`pipeline.reliability_tables`):

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

``ctx.options["n_boot"]`` overrides the number of bootstrap replicates (default 2000).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from pipeline import reliability_tables as rt
from pipeline.stages.base import StageContext, write_table

NAME = "reliability"
REQUIRES = ("clean", "weight")
INSTRUMENTS = ("public", "staff")


def run(ctx: StageContext, dest: Path) -> dict[str, Any]:
    n_boot = int(ctx.options.get("n_boot", rt.DEFAULT_N_BOOT))
    rel, items, flags, validity, loadings = [], [], [], [], []
    for instrument in INSTRUMENTS:
        codebook = ctx.config.codebook(instrument)
        # only the scale items (and the id the weights join on): the other columns would only cost memory
        scale_items = [i for s in codebook.questionnaire.scales for i in s.items]
        responses = ctx.read_table(
            "clean", instrument, columns=list(dict.fromkeys(["record_id", *scale_items]))
        )
        weights = ctx.read_table("weight", f"{instrument}_weights", columns=["record_id", "weight"])
        res = rt.scale_reliability(responses, codebook, weights, seed=ctx.seed, n_boot=n_boot)
        v, lo = rt.construct_validity(responses, codebook)
        rel.append(res.reliability)
        items.append(res.items)
        flags.append(res.flags)
        validity.append(v)
        loadings.append(lo)
        flags.append(rt.misassigned_flags(lo, codebook))
    if ctx.has_table("clean", "casefile_reviews"):
        reviews = ctx.read_table("clean", "casefile_reviews")
    else:
        reviews = pd.DataFrame(columns=["case_id", "score", "grade"])
    agreement = rt.reviewer_agreement(reviews, ctx.config.casefile)
    third = rt.third_review(reviews, ctx.config.casefile)

    tables = {
        "reliability": pd.concat(rel, ignore_index=True),
        "items": pd.concat(items, ignore_index=True),
        "flags": pd.concat([f for f in flags if not f.empty], ignore_index=True)
        if any(not f.empty for f in flags)
        else flags[0],
        "validity": pd.concat(validity, ignore_index=True),
        "loadings": pd.concat(loadings, ignore_index=True),
        "agreement": agreement,
        "third_review": third,
    }
    for name, table in tables.items():
        write_table(table, dest, name)
    scales = tables["reliability"][["instrument", "scale"]].drop_duplicates()
    return {
        "scales_analysed": len(scales),
        "flags": len(tables["flags"]),
        "files_needing_third_review": len(third),
        "files_scores_beyond_tolerance": int(third["score_beyond_tolerance"].sum()) if len(third) else 0,
        "double_scored_files": int(
            agreement.loc[
                (agreement["measure"] == "double_scoring") & (agreement["statistic"] == "n_files"), "estimate"
            ].iloc[0]
        ),
    }
