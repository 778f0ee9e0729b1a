"""What every stage shares: its context, reading the previous stage's tables, and an all-or-nothing write.

A stage module defines ``NAME`` (a key of :data:`pipeline.paths.STAGE_FOLDERS`), ``REQUIRES`` (names of the
stages whose output it reads) and ``run(ctx, dest) -> dict``: it reads inputs through ``ctx``, writes its tables
into ``dest`` (a temporary folder) and returns a small JSON-able summary for the manifest and the console (its
optional ``skipped`` and ``warnings`` lists are printed under the stage's line and gathered by
:mod:`pipeline.run_report`).
:func:`run_stage` renames ``dest`` to ``output/NN_stage`` only when ``run`` succeeded, so a failed stage never
leaves a half-written folder and never destroys the previous good output; a stage killed at any point (SIGKILL,
power loss) leaves a state the next run repairs (:mod:`pipeline.atomic`).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd

from pipeline import atomic, paths, results
from pipeline.config import Config, load_config
from pipeline.options import RunOptions
from pipeline.parallel import Executor


@dataclass(frozen=True)
class StageContext:
    """Where a run reads and writes, its seed and its options."""

    raw: Path = paths.DEFAULT_RAW
    out: Path = paths.DEFAULT_OUT
    config_dir: Path = paths.DEFAULT_CONFIG
    seed: int = 20231
    options: RunOptions = field(default_factory=RunOptions)

    @cached_property
    def config(self) -> Config:
        return load_config(self.config_dir)

    @property
    def executor(self) -> Executor:
        """How this run spreads a stage's work over processes (:mod:`pipeline.parallel`)."""
        return Executor(workers=self.options.workers)

    def stage_dir(self, stage: str) -> Path:
        return paths.stage_dir(self.out, stage)

    def read_table(
        self, stage: str, table: str, columns: list[str] | None = None, *, optional: list[str] | tuple = ()
    ) -> pd.DataFrame:
        """A table written by an earlier stage, its columns checked against the table's schema
        (:func:`results.table`): a clear error if that stage has not run or a column is missing or mistyped.

        ``columns``: read only these; default all. ``optional``: those of ``columns`` that may be absent.
        """
        return results.table(
            stage, table, out=self.out, columns=columns, optional=optional, config=self.config
        )

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


def write_json(obj: Any, path: Path) -> None:
    """``obj`` as indented UTF-8 JSON at ``path``, replaced all at once (:func:`pipeline.atomic.write_text`)."""
    atomic.write_text(Path(path), json_text(obj))


def json_text(obj: Any) -> str:
    """The text :func:`write_json` writes (keys in the order the code built them: the same every run)."""
    return json.dumps(obj, ensure_ascii=False, indent=2, default=str)


def run_stage(module: ModuleType, ctx: StageContext, *, keep_previous: bool = False) -> dict[str, Any]:
    """Run one stage into a temporary folder and move it into place only when it finished
    (:func:`pipeline.atomic.replace_folder`); what a killed earlier run left around the folder is repaired
    first (:func:`pipeline.atomic.recover_folder`). ``keep_previous``: keep the replaced output until the run
    ends (:func:`pipeline.atomic.restore_previous`)."""
    final = ctx.stage_dir(module.NAME)
    atomic.recover_folder(final)
    tmp = atomic.temp_folder(final)
    try:
        summary = module.run(ctx, tmp) or {}
        atomic.crash_point(f"{module.NAME}:work")
        atomic.mark_complete(tmp, final)
        atomic.crash_point(f"{module.NAME}:complete")
        atomic.replace_folder(tmp, final, module.NAME, keep_previous=keep_previous)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return summary
