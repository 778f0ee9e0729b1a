"""What every stage shares: its context, reading the previous stage's tables, and an all-or-nothing write.

A stage module defines ``NAME`` (a key of :data:`pipeline.paths.STAGE_FOLDERS`), ``REQUIRES`` (names of the
stages whose output it reads) and ``run(ctx, dest) -> dict``: it reads inputs through ``ctx``, writes its tables
into ``dest`` (a temporary folder) and returns a small JSON-able summary for the manifest and the console.
:func:`run_stage` renames ``dest`` to ``output/NN_stage`` only when ``run`` succeeded, so a failed stage never
leaves a half-written folder and never destroys the previous good output.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import tempfile
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd

from pipeline import paths, results
from pipeline.config import Config, load_config


@dataclass(frozen=True)
class StageContext:
    """Where a run reads and writes, and its seed."""

    raw: Path = paths.DEFAULT_RAW
    out: Path = paths.DEFAULT_OUT
    config_dir: Path = paths.DEFAULT_CONFIG
    seed: int = 20231
    options: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def config(self) -> Config:
        return load_config(self.config_dir)

    def stage_dir(self, stage: str) -> Path:
        return paths.stage_dir(self.out, stage)

    def read_table(self, stage: str, table: str, columns: list[str] | None = None) -> pd.DataFrame:
        """A table written by an earlier stage; a clear error if that stage has not run (:func:`results.table`).

        ``columns``: read only these (names the table lacks are skipped); default all.
        """
        return results.table(stage, table, out=self.out, columns=columns)

    def has_table(self, stage: str, table: str) -> bool:
        return paths.table_path(self.out, stage, table).exists()


def write_table(frame: pd.DataFrame, dest: Path, table: str) -> Path:
    """Write one tidy table as ``dest/<table>.parquet`` (index dropped unless it is named)."""
    path = Path(dest) / f"{table}.parquet"
    keep_index = any(n is not None for n in frame.index.names)
    frame.to_parquet(path, index=keep_index)
    return path


def cores() -> int:
    """CPU cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def run_parts(parts: dict[str, Callable[[], Any]], *, here: str | None) -> dict[str, Any]:
    """Results of independent parts of a stage, by name, in the order given.

    With ``here`` named, that part runs in this process while every other part runs, one after another in the
    given order, in a single forked worker process (two cores in use). ``here=None`` (or no ``fork`` on this
    platform) runs every part in this process, in order. The parts must not depend on each other, so both ways
    give the same results; either way the exception of the first failing part in the given order is raised.
    Each part and its result must be picklable (a ``functools.partial`` of a module-level function).
    """
    if here is None or "fork" not in multiprocessing.get_all_start_methods():
        return {name: part() for name, part in parts.items()}
    outcomes: dict[str, tuple[bool, Any]] = {}
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"))
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


def write_json(obj: Any, path: Path) -> None:
    Path(path).write_text(json.dumps(obj, ensure_ascii=False, indent=2, default=str), encoding="utf-8")


def run_stage(module: ModuleType, ctx: StageContext) -> dict[str, Any]:
    """Run one stage into a temporary folder and move it into place only on success."""
    final = ctx.stage_dir(module.NAME)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=final.parent))
    try:
        summary = module.run(ctx, tmp) or {}
        backup = final.with_name(f".{final.name}.old")
        if backup.exists():
            shutil.rmtree(backup)
        if final.exists():
            final.rename(backup)
        tmp.rename(final)
        if backup.exists():
            shutil.rmtree(backup)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return summary
