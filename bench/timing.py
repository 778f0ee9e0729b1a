"""Timing helper shared by the peer benchmarks: best wall-clock time of several runs."""

from __future__ import annotations

import time
from collections.abc import Callable

REPEATS = 3


def best_of(fn: Callable[[], object], repeats: int = REPEATS) -> tuple[float, object]:
    """(fastest of ``repeats`` wall-clock times in seconds, the last result)."""
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out
