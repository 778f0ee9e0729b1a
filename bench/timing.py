"""Timing helper shared by the peer benchmarks: best wall-clock time of several runs."""

from __future__ import annotations

import time
from collections.abc import Callable

REPEATS = 3
#: Fast calls are repeated until they have taken this long together (as ``timeit``'s autorange does), so that
#: the best of them is not one lucky or unlucky scheduling slice on a busy machine. Applies to ours and to the
#: Python peers alike; R times its own repetitions (best of 3 of calls taking seconds).
MIN_TOTAL_S = 1.0
MAX_REPEATS = 25


def best_of(fn: Callable[[], object], repeats: int = REPEATS) -> tuple[float, object]:
    """(fastest wall-clock time in seconds of at least ``repeats`` runs, the last result).

    Runs continue past ``repeats`` while all of them together took less than :data:`MIN_TOTAL_S`, up to
    :data:`MAX_REPEATS`.
    """
    best, out, spent, done = float("inf"), None, 0.0, 0
    while done < repeats or (spent < MIN_TOTAL_S and done < MAX_REPEATS):
        t0 = time.perf_counter()
        out = fn()
        took = time.perf_counter() - t0
        best, spent, done = min(best, took), spent + took, done + 1
    return best, out
