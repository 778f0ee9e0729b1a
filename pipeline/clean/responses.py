"""One questionnaire's 01_ingest response table → its valid sample, with a reason for every exclusion.

:func:`cleaned_responses` screens every record with the rules of :mod:`pipeline.clean.rules`, keeps the records
no ``exclude`` rule caught, adds their ``flag_<rule>`` columns and the derived variables of
:mod:`pipeline.clean.derive`, and returns them with the exclusions table and the flow table
(:mod:`pipeline.clean.flow`) as a :class:`CleanResult`.

Checks: the circuit breaker of :mod:`pipeline.clean.breaker` (a watched rule excluding too large a share of a
file, a missing or unusable 问卷星 meta column, a file without records: DataError); for every ``source_file``, raw
rows = kept + excluded, else DataError (:func:`check_accounting`). Records excluded as duplicates of another
file's records are warned about (``CleanResult.warnings``).

Privacy: ``ip_key`` (a keyed hash of the IP) served only duplicate detection, which happens here, so it is
dropped rather than passed on — a keyed hash of a 32-bit IPv4 space is reversible by anyone holding the key. Free
text (fill-in items, ``<item>_other_text``, ``channel_detail``) is masked again with
:func:`pipeline.ingest.privacy.mask_series` (idempotent; ingest masks it first) so no phone, ID-card, e-mail or IP
leaves the clean stage even if an upstream table missed one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.clean import breaker
from pipeline.clean.derive import (
    demographics,
    indicator_inputs,
    item_scores,
    quiz_scores,
    scale_scores,
)
from pipeline.clean.flow import flow_table
from pipeline.clean.items import require_columns, scored_items, substantive_code
from pipeline.clean.rules import Screening, active_rules, exclusions_table, rule_results, screening_from
from pipeline.config.cleaning import CleaningRules
from pipeline.config.codebook import Codebook
from pipeline.config.models import Units
from pipeline.errors import DataError
from pipeline.ingest.privacy import mask_series
from pipeline.parallel import SERIAL, Executor

DROPPED_COLUMNS = ("ip_key",)


@dataclass(frozen=True)
class CleanResult:
    """The clean stage's output for one instrument."""

    kept: pd.DataFrame
    exclusions: pd.DataFrame
    flow: pd.DataFrame
    screening: Screening
    warnings: tuple[dict[str, Any], ...] = ()
    """Console warnings (:func:`pipeline.clean.breaker.cross_file_duplicates`)."""

    def summary(self) -> dict[str, Any]:
        """Counts for the run manifest: raw, kept, excluded, excluded by rule, flagged by flag column."""
        ex = self.exclusions
        return {
            "raw": int(len(self.screening.excluded_by)),
            "kept": int(len(self.kept)),
            "excluded": int(len(ex)),
            "by_rule": {str(k): int(v) for k, v in ex["rule"].value_counts().items()},
            "flagged": {c: int(self.screening.flags[c].sum()) for c in self.screening.flags.columns},
        }


def free_text_columns(frame: pd.DataFrame, codebook: Codebook) -> list[str]:
    """Columns that may hold free text: fill-in items, ``*_other_text``, ``channel_detail``."""
    cols = [it.id for it in codebook.items if it.type in ("text", "number") and it.id in frame.columns]
    cols += [c for c in frame.columns if c.endswith("_other_text")]
    if "channel_detail" in frame.columns:
        cols.append("channel_detail")
    return cols


def derived_variables(
    frame: pd.DataFrame, codebook: Codebook, units: Units, rules: CleaningRules
) -> pd.DataFrame:
    """All derived columns of one response table (see :mod:`pipeline.clean.derive`)."""
    substantive = {it.id: substantive_code(frame, it) for it in scored_items(codebook)}  # shared below
    scores = item_scores(frame, codebook, substantive)
    parts = [
        demographics(frame, codebook, units),
        scores,
        scale_scores(scores, codebook),
        indicator_inputs(frame, codebook, substantive),
        quiz_scores(frame, codebook),
    ]
    return pd.concat(parts, axis=1)


def check_accounting(
    raw: pd.DataFrame, kept: pd.DataFrame, exclusions: pd.DataFrame, instrument: str
) -> None:
    """Raise DataError unless raw rows = kept + excluded for every source file (and no record is in both).

    ``raw`` needs only its ``source_file`` column."""
    n_raw = raw.groupby("source_file").size()
    n_kept = kept.groupby("source_file").size().reindex(n_raw.index, fill_value=0)
    n_ex = exclusions.groupby("source_file").size().reindex(n_raw.index, fill_value=0)
    bad = n_raw[n_raw != n_kept + n_ex]
    in_both = _isin(kept["record_id"], exclusions["record_id"])
    both = set(kept["record_id"][in_both]) if in_both.any() else set()
    if len(bad) or both or len(raw) != len(kept) + len(exclusions):
        lines = [f"{f}: 原始 {n_raw[f]} ≠ 保留 {n_kept[f]} + 剔除 {n_ex[f]}" for f in bad.index]
        if both:
            lines.append(f"同时被保留和剔除的记录: {sorted(both)[:5]}")
        raise DataError(f"{instrument}: 清洗前后记录数对不上 (raw ≠ kept + excluded): " + "; ".join(lines))


def _isin(values: pd.Series, among: pd.Series) -> np.ndarray:
    """``values.isin(among)`` by Arrow's hash kernel (pandas' isin on Arrow strings goes through Python objects)."""
    try:
        left = pa.array(values, from_pandas=True)
        right = pa.array(among, from_pandas=True).cast(left.type)
        return pc.is_in(left, value_set=right).to_numpy(zero_copy_only=False).astype(bool)
    except (pa.ArrowException, TypeError, ValueError):
        return values.isin(among).to_numpy()


RULES_IN_BACKGROUND = ("duplicate", "ip_burst")
"""The costliest rules (close to half the screening work), which the executor may run in a second process for a
large table (threshold ``clean_rules_rows``) while the others run here."""


def _screen(
    frame: pd.DataFrame, codebook: Codebook, rules: CleaningRules, executor: Executor = SERIAL
) -> Screening:
    """:func:`pipeline.clean.rules.screen`, with the rules of :data:`RULES_IN_BACKGROUND` handed to
    ``executor.background`` (a forked process inherits the table). The rules are independent, so the screening
    is the same."""
    names = active_rules(rules)
    far = [r for r in names if r in RULES_IN_BACKGROUND]
    background = executor.background(
        rule_results, frame, codebook, rules, far, size=len(frame), threshold="clean_rules_rows"
    )
    with background as elsewhere:
        results = rule_results(frame, codebook, rules, [r for r in names if r not in far])
        results.update(elsewhere.result())
    return screening_from(frame, results, rules)


def cleaned_responses(
    frame: pd.DataFrame,
    codebook: Codebook,
    units: Units,
    rules: CleaningRules,
    executor: Executor = SERIAL,
    *,
    files: list[dict[str, Any]] | None = None,
) -> CleanResult:
    """Screen one 01_ingest response table, derive variables for the kept records, and account for every row.

    ``files``: the file entries of ``_ingest_report.json``, for the circuit breaker's meta-column and empty-file
    checks (None: those two are not checked; the rule shares always are)."""
    instrument = codebook.instrument
    require_columns(frame, codebook)
    frame = frame.reset_index(drop=True)
    cfg = rules.circuit_breaker
    trips = breaker.input_trips(frame, files, cfg, instrument) if files is not None else []
    screening = _screen(frame, codebook, rules, executor)
    breaker.stop(trips + breaker.rule_trips(frame, screening, rules), instrument)
    warnings = tuple(breaker.cross_file_duplicates(frame, screening))
    exclusions = exclusions_table(frame, screening, instrument)
    kept_mask = screening.kept.to_numpy()
    # masking and derived variables are row-wise: done for the kept records only, taken from the table once
    kept_rows = frame.loc[kept_mask]
    raw_files = frame[["source_file"]]  # all the accounting check needs of the raw table
    # frees the full table before the derived variables are built, when the caller passed its only reference
    # (as the stage shell does): peak memory
    del frame
    base = kept_rows.drop(columns=[c for c in DROPPED_COLUMNS if c in kept_rows.columns])
    for col in free_text_columns(base, codebook):
        base[col] = mask_series(base[col])
    derived = derived_variables(kept_rows, codebook, units, rules)
    clash = sorted((set(derived.columns) | set(screening.flags.columns)) & set(base.columns))
    if clash:
        raise DataError(
            f"{instrument}: 派生变量与输入列重名 (derived names clash with ingest columns): {clash}"
        )
    kept = pd.concat([base, screening.flags.loc[kept_mask], derived], axis=1)
    kept = kept.reset_index(drop=True)
    check_accounting(raw_files, kept, exclusions, instrument)
    return CleanResult(kept, exclusions, flow_table(screening, instrument), screening, warnings)
