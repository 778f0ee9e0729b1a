"""How a stage's work is spread over processes: one execution layer and one policy for the whole package.

A stage shell builds an :class:`Executor` from the run options (``RunOptions.workers``) and hands it to its core
functions. Cores never start processes themselves: they say which pieces of their work are independent
(:meth:`Executor.run_parts`, :meth:`Executor.background`) and how large the work is, and the executor decides,
from :data:`THRESHOLDS` and the machine, whether a piece runs in a forked second process or here. Both ways run
the same code on the same data, so the tables are the same (each stage's tests compare the two).

Only ``fork`` is used: a forked child inherits its inputs copy-on-write, so a million-row table costs nothing to
hand over, and only the (small) result is pickled back. Where ``fork`` is unavailable (Windows, or a platform
whose default is ``spawn``), everything runs serially in this process — the same results, one core.

Examples
--------
>>> ex = Executor(workers=1)  # everything here, in order
>>> ex.run_parts({"a": lambda: 1, "b": lambda: 2}, here=None)
{'a': 1, 'b': 2}
>>> ex.splits(10**9, "compare_parts_rows")
False
"""

from __future__ import annotations

import multiprocessing
import os
import traceback
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any

#: Work sizes from which a stage uses a second process (with two cores and ``workers`` left automatic).
#: Each was measured on a busy two-core machine; below it, starting a process costs more than it saves.
THRESHOLDS: dict[str, int] = {
    # ingest: raw bytes of the four input folders; the largest part is read here, the rest in one worker
    "ingest_parts_bytes": 32 * 2**20,
    # ingest: rows of one export whose keyed pseudonyms and IP places are computed in a child while its
    # answers are decoded (~2 M keyed hashes at 1 M rows)
    "ingest_keyed_rows": 200_000,
    # clean: records of all sources; the largest instrument is cleaned here, the other parts in one worker
    "clean_parts_rows": 100_000,
    # clean: records of one instrument whose duplicate and ip_burst screens run in a child
    "clean_rules_rows": 200_000,
    # reliability: cleaned responses of both questionnaires (sample, 4 interleaved runs: 2.9 s in one
    # process, 2.2 s in two; the worker also imports semopy and scikit-learn)
    "reliability_parts_rows": 2_000,
    # compare: cleaned public responses; the unweighted families run in a child
    "compare_parts_rows": 2_000,
    # raking: rows from which the raking columns are coded in threads, one chunk per core (Arrow and the hash
    # tables release the GIL)
    "rake_coding_rows": 100_000,
    # report: charts to draw; a forked worker draws every other chart
    "report_charts": 8,
}


def cores() -> int:
    """CPU cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def can_fork() -> bool:
    """Whether this platform can fork a worker (not on Windows)."""
    return "fork" in multiprocessing.get_all_start_methods()


_in_worker = False
"""Set in a process started by this module (only there: a forked child gets its own copy)."""


def _mark_worker() -> None:
    global _in_worker
    _in_worker = True


def in_subprocess() -> bool:
    """True in a worker process started by this module (which starts no further processes), or in a daemon
    process (which may not start any). A process started by someone else's multiprocessing (a benchmark, a
    notebook's pool) is not a worker: it decides like a top-level process."""
    return _in_worker or multiprocessing.current_process().daemon


@dataclass(frozen=True)
class Executor:
    """The execution policy of one run.

    ``workers``: ``None`` decides by :data:`THRESHOLDS` (two processes with two cores and enough work);
    ``1`` runs everything here; ``2`` or more uses a second process wherever a stage can. Either way a
    worker never starts another process, and without ``fork`` everything runs here.
    """

    workers: int | None = None

    def splits(self, size: float, threshold: str) -> bool:
        """Whether work of ``size`` (in the unit of ``THRESHOLDS[threshold]``) goes to a second process."""
        limit = THRESHOLDS[threshold]  # KeyError for a misspelt threshold, whatever the decision
        if not can_fork() or in_subprocess():
            return False
        if self.workers is not None:
            return self.workers >= 2
        return cores() >= 2 and size >= limit

    def run_parts(self, parts: dict[str, Callable[[], Any]], *, here: str | None) -> dict[str, Any]:
        """Results of independent parts, by name, in the order given (:func:`run_parts`).

        ``here`` names the part this process runs while one forked worker runs the others; ``None`` runs all
        here. A caller decides ``here`` with :meth:`splits`."""
        return run_parts(parts, here=None if in_subprocess() else here)

    def background(self, func: Callable[..., Any], *args: Any, size: float, threshold: str) -> Background:
        """``func(*args)`` in a forked child if :meth:`splits` says so, else here on :meth:`Background.result`."""
        return Background(func, *args, enabled=self.splits(size, threshold))


#: Everything in this process (the default of core functions called from notebooks and tests).
SERIAL = Executor(workers=1)


def threads(size: float, threshold: str) -> int:
    """Threads for work of ``size`` that releases the GIL (Arrow, pandas hash tables): one per core from
    ``THRESHOLDS[threshold]`` on, 0 below it (do it in this thread)."""
    return cores() if size >= THRESHOLDS[threshold] else 0


def thread_map(func: Callable[[Any], Any], items: list[Any], *, workers: int) -> list[Any]:
    """``[func(item) for item in items]`` computed by ``workers`` threads, in the order of ``items``."""
    from concurrent.futures import ThreadPoolExecutor

    if workers <= 1 or len(items) <= 1:
        return [func(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(len(items), workers)) as pool:
        return list(pool.map(func, items))


def run_parts(parts: dict[str, Callable[[], Any]], *, here: str | None) -> dict[str, Any]:
    """Results of independent parts of a stage, by name, in the order given.

    With ``here`` named, that part runs in this process while every other part runs, one after another in the
    given order, in a single forked worker process (two cores in use). ``here=None`` (or no ``fork`` on this
    platform) runs every part in this process, in order. The parts must not depend on each other, so both ways
    give the same results; either way the exception of the first failing part in the given order is raised.
    Each part and its result must be picklable (a ``functools.partial`` of a module-level function).
    """
    if here is None or not can_fork():
        return {name: part() for name, part in parts.items()}
    outcomes: dict[str, tuple[bool, Any]] = {}
    pool = ProcessPoolExecutor(
        max_workers=1, mp_context=multiprocessing.get_context("fork"), initializer=_mark_worker
    )
    try:
        futures = {name: pool.submit(part) for name, part in parts.items() if name != here}
        try:
            outcomes[here] = (True, parts[here]())
        except Exception as exc:  # raised below unless a part before it in order failed too
            outcomes[here] = (False, exc)
            later = list(parts)[list(parts).index(here) + 1 :]
            for name in later:
                futures[name].cancel()  # not started yet: not needed (a running one is waited for)
        for name, future in futures.items():
            if future.cancelled():
                continue
            exc = future.exception()
            outcomes[name] = (True, future.result()) if exc is None else (False, exc)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    for name in parts:
        if name in outcomes and not outcomes[name][0]:
            raise outcomes[name][1]
    return {name: outcomes[name][1] for name in parts}


class Background:
    """``func(*args)`` computed in a forked child process while the caller goes on, collected by :meth:`result`.

    The child inherits ``args`` (nothing is copied up front: large tables cost nothing to hand over); only the
    result travels back, pickled. When not ``enabled`` (or without ``fork``) it is computed here, on the first
    :meth:`result`. An exception in ``func`` is raised by :meth:`result` (as the text of its traceback when it
    cannot be pickled); if the child dies without a result (killed for memory, say), ``func`` runs here
    instead. Use as a context manager: leaving it without a result stops the child."""

    def __init__(self, func: Callable[..., Any], *args: Any, enabled: bool):
        self._call = partial(func, *args)
        self._child: Any = None
        if enabled and can_fork() and not in_subprocess():
            ctx = multiprocessing.get_context("fork")
            self._receive, send = ctx.Pipe(duplex=False)
            self._child = ctx.Process(target=_send_result, args=(self._call, send), daemon=True)
            self._child.start()
            send.close()

    @property
    def forked(self) -> bool:
        """Whether a child process is computing the result."""
        return self._child is not None

    def result(self) -> Any:
        if self._child is None:
            return self._call()
        try:
            status, value = self._receive.recv()
        except EOFError:  # the child died without a word
            status, value = "lost", None
        finally:
            self._stop()
        if status == "error":
            raise value
        return value if status == "ok" else self._call()

    def _stop(self) -> None:
        if self._child is not None:
            self._receive.close()
            if self._child.is_alive():
                self._child.terminate()
            self._child.join()
            self._child = None

    def __enter__(self) -> Background:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop()


def _send_result(call: Callable[[], Any], connection: Any) -> None:
    _mark_worker()
    try:
        outcome = ("ok", call())
    except BaseException as exc:  # handed to the parent, which raises it
        outcome = ("error", exc)
    try:
        connection.send(outcome)
    except Exception:  # a value or exception that cannot be pickled: the traceback's text
        connection.send(("error", RuntimeError(traceback.format_exc())))
    finally:
        connection.close()
