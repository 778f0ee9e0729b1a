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
from functools import cached_property, partial
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
    """Write one tidy table as ``dest/<table>.parquet`` (index dropped unless it is named).

    Snappy-compressed (Arrow's default: no slower than none for these dictionary-encoded columns, and lz4/zstd
    are no faster), without column min/max statistics: row groups hold a million rows, so they could hardly ever
    skip one, and computing them is about a tenth of writing a million-row table."""
    path = Path(dest) / f"{table}.parquet"
    keep_index = any(n is not None for n in frame.index.names)
    frame.to_parquet(path, index=keep_index, **WRITE_OPTIONS)
    return path


WRITE_OPTIONS = {"compression": "snappy", "write_statistics": False}


def write_rows(frames: list[pd.DataFrame], dest: Path, table: str) -> Path:
    """:func:`write_table` of ``pd.concat(frames, ignore_index=True)`` (frames with the same columns), without
    building that frame: the frames' Arrow tables are chained as they are when they agree on every column's type
    and pandas metadata (a column wholly missing in some frames takes the others'); otherwise pandas concatenates.
    """
    if len(frames) == 1:
        return write_table(frames[0].reset_index(drop=True), dest, table)
    import pyarrow as pa
    import pyarrow.parquet as pq

    tables = _same_schema([pa.Table.from_pandas(f, preserve_index=False) for f in frames])
    if tables is None or any(f.attrs for f in frames):
        return write_table(pd.concat(frames, ignore_index=True), dest, table)
    path = Path(dest) / f"{table}.parquet"
    pq.write_table(pa.concat_tables(tables), path, **WRITE_OPTIONS)
    return path


def _same_schema(tables: list) -> list | None:
    """``tables`` cast to one schema, or None. A column that is all missing in a table (Arrow type null, pandas
    type ``empty``) takes the type and pandas metadata it has in the other tables, as it would in the
    concatenated frame; every other column must agree exactly (type and pandas metadata), and none may be a
    dictionary (categorical)."""
    import pyarrow as pa

    if all(t.schema.equals(tables[0].schema, check_metadata=True) for t in tables[1:]):
        return None if any(pa.types.is_dictionary(f.type) for f in tables[0].schema) else tables
    names = tables[0].schema.names
    if any(t.schema.names != names for t in tables) or any(
        b"pandas" not in (t.schema.metadata or {}) for t in tables
    ):
        return None
    metas = [json.loads(t.schema.metadata[b"pandas"]) for t in tables]
    entries = [{c["field_name"]: c for c in m["columns"]} for m in metas]
    fields, target = [], dict(metas[0])
    target_entries = []
    for name in names:
        present = [
            (t.schema.field(name), e[name])
            for t, e in zip(tables, entries, strict=True)
            if not pa.types.is_null(t.schema.field(name).type)
        ]
        field, entry = present[0] if present else (tables[0].schema.field(name), entries[0][name])
        if pa.types.is_dictionary(field.type) or any(f != field or e != entry for f, e in present):
            return None
        fields.append(field)
        target_entries.append(entry)
    rest = [{k: v for k, v in m.items() if k != "columns"} for m in metas]
    if any(r != rest[0] for r in rest):
        return None
    target["columns"] = target_entries
    schema = pa.schema(fields, metadata={**tables[0].schema.metadata, b"pandas": json.dumps(target).encode()})
    return [t.cast(schema) for t in tables]


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


class Background:
    """``func(*args)`` computed in a forked child process while the caller goes on, collected by :meth:`result`.

    The child inherits ``args`` (nothing is copied up front: large tables cost nothing to hand over); only the
    result travels back, pickled. When not ``enabled`` (or without ``fork``) it is computed here, on the first
    :meth:`result`. Use as a context manager: leaving it without a result stops the child. An exception in
    ``func`` is raised by :meth:`result`."""

    def __init__(self, func: Callable[..., Any], *args: Any, enabled: bool):
        self._call = partial(func, *args)
        self._child: Any = None
        if enabled and "fork" in multiprocessing.get_all_start_methods():
            ctx = multiprocessing.get_context("fork")
            self._receive, send = ctx.Pipe(duplex=False)
            self._child = ctx.Process(target=_send_result, args=(self._call, send), daemon=True)
            self._child.start()
            send.close()

    def result(self) -> Any:
        if self._child is None:
            return self._call()
        ok, value = self._receive.recv()
        self._child.join()
        self._child = None
        if not ok:
            raise value
        return value

    def __enter__(self) -> Background:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._child is not None:  # no result was asked for (an error on the caller's side)
            self._child.terminate()
            self._child.join()
            self._child = None


def _send_result(call: Callable[[], Any], connection: Any) -> None:
    try:
        connection.send((True, call()))
    except BaseException as exc:  # handed to the parent, which raises it
        connection.send((False, exc))
    finally:
        connection.close()


def in_subprocess() -> bool:
    """True in a worker process started by :func:`run_parts` or :class:`Background` (which start no more)."""
    return multiprocessing.parent_process() is not None


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
