"""What turns simulated answers into an online 问卷星 record set: metadata, injected data-quality problems,
duplicate submissions, ordering by submission time (序号), and the truth about every injected problem.

Problems (rates in :class:`OnlineRates`): speeders (all-too-short 所用时间; half answer at random, half
straight-line), straight-liners (same code through every Likert grid row), duplicates (same IP and answers,
submitted from 1 minute to the duplicate rule's ``window_minutes`` after the original), blank Likert cells,
malformed cells (text export only).
Records in the truth are identified by 序号 (1-based position after sorting by submission time).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.config.cleaning import CleaningRules, SpeederRule
from pipeline.simulate import choices
from pipeline.simulate.responses import (
    Responses,
    channel_meta,
    durations,
    ips,
    submit_times,
)


@dataclass(frozen=True)
class OnlineRates:
    speeder: float
    straight: float
    duplicate: float
    blank_rows: float
    outside_gansu: float
    seconds_per_item: float
    channels: tuple[float, float, float]
    malformed: int


#: Planted speeders' durations stay this many seconds under the speeder rule's ``min_seconds`` ...
SPEEDER_FLOOR_MARGIN_S = 5
#: ... or under this share of its median part (``median_fraction`` × median), whichever is longer.
SPEEDER_MEDIAN_SHARE = 0.75


def _speeder_ceiling(rule: SpeederRule, median: float) -> int:
    """Exclusive upper bound of planted speeders' durations: well below the speeder rule's cut
    max(``min_seconds``, ``median_fraction`` × median duration), so that every planted speeder is detectable."""
    return int(
        max(rule.min_seconds - SPEEDER_FLOOR_MARGIN_S, SPEEDER_MEDIAN_SHARE * rule.median_fraction * median)
    )


def finalize_online(
    resp: Responses, rng: np.random.Generator, rates: OnlineRates, rules: CleaningRules
) -> tuple[Responses, dict]:
    """Add metadata and problems to ``resp`` (which carries ``_ac_fail`` / ``_pii`` in meta); sort; truth.

    ``rules`` (the loaded cleaning.yaml) place the planted speeders and duplicates where the clean stage's
    ``speeder`` and ``duplicate`` rules catch them."""
    cb = resp.codebook
    n = resp.n
    grid = choices.matrix_likert_ids(cb)
    median = rates.seconds_per_item * len(cb.items)
    resp.meta["submitted"] = submit_times(rng, n)
    resp.meta["duration"] = durations(rng, n, median)
    resp.meta["channel"], resp.meta["channel_detail"] = channel_meta(rng, n, rates.channels)
    resp.meta["ip"] = ips(rng, n, rates.outside_gansu)

    u = rng.random(n)
    speeder = u < rates.speeder
    straight = (u >= rates.speeder) & (u < rates.speeder + rates.straight)
    sp_rows = np.flatnonzero(speeder)
    resp.meta["duration"][sp_rows] = rng.integers(15, _speeder_ceiling(rules.speeder, median), len(sp_rows))
    half = rng.random(len(sp_rows)) < 0.5
    choices.random_answers(resp, sp_rows[half], rng, grid)
    choices.straight_line(resp, sp_rows[~half], rng, grid)
    choices.straight_line(resp, np.flatnonzero(straight), rng, grid)
    resp.meta["_speeder"] = speeder
    resp.meta["_straight"] = straight
    blanks = choices.blank_cells(resp, rng, grid, rates.blank_rows)
    resp.meta["_blank"] = np.full(n, "", dtype=object)
    for r, i in blanks:
        resp.meta["_blank"][r] += i + ";"

    n_dup = int(round(rates.duplicate * n))
    orig = np.sort(rng.choice(n, size=n_dup, replace=False))
    index = np.concatenate([np.arange(n), orig])
    full = resp.take(index)
    # within the duplicate rule's window of the original, so every planted duplicate is detectable
    later = rng.integers(60, int(rules.duplicate.window_minutes * 60), n_dup).astype("timedelta64[s]")
    full.meta["submitted"][n:] = resp.meta["submitted"][orig] + later
    full.meta["duration"][n:] = durations(rng, n_dup, median)
    full.meta["_speeder"][n:] = False  # a resubmission takes normal time

    order = np.lexsort((np.arange(len(index)), full.meta["submitted"]))
    final = full.take(order)
    serial = np.empty(len(order), dtype=int)
    serial[order] = np.arange(1, len(order) + 1)
    dup_pairs = [
        {"序号": int(serial[k]), "duplicate_of": int(serial[orig[k - n]])} for k in range(n, len(index))
    ]
    dup_pairs.sort(key=lambda d: d["序号"])
    malformed = choices.malformed_cells(final, rng, grid, rates.malformed)
    ac = cb.questionnaire.attention_check
    seq = np.arange(1, final.n + 1)
    ac_code = final.codes[ac.item] if ac else None
    truth = {
        "n_records": final.n,
        "n_respondents": n,
        "speeders": seq[final.meta["_speeder"]].tolist(),
        "straight_liners": seq[final.meta["_straight"]].tolist(),
        "attention_fail_planted": seq[final.meta["_ac_fail"]].tolist(),
        "attention_fail_any": (
            seq[(ac_code != ac.pass_code) & (ac_code >= 0)].tolist() if ac is not None else []
        ),
        "duplicates": dup_pairs,
        "blank_cells": [
            {"序号": int(s), "items": b.rstrip(";").split(";")}
            for s, b in zip(seq, final.meta["_blank"], strict=True)
            if b
        ],
        "malformed_cells_text_mode": [
            {"序号": int(m["row"]) + 1, "column": m["column"], "kind": m["kind"], "value": m["value"]}
            for m in malformed
        ],
        "pii": [{"序号": int(s), "where": str(p)} for s, p in zip(seq, final.meta["_pii"], strict=True) if p],
        "outside_gansu": int(sum("甘肃" not in x for x in final.meta["ip"])),
    }
    return final, truth
