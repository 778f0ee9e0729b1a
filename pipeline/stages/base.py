"""What every stage shares: its context, reading the previous stage's tables, and an all-or-nothing write.

A stage module defines ``NAME`` (a key of :data:`pipeline.paths.STAGE_FOLDERS`), ``REQUIRES`` (names of the
stages whose output it reads) and ``run(ctx, dest) -> dict``: it reads inputs through ``ctx``, writes its tables
into ``dest`` (a temporary folder) and returns a small JSON-able summary for the manifest and the console.
:func:`run_stage` renames ``dest`` to ``output/NN_stage`` only when ``run`` succeeded, so a failed stage never
leaves a half-written folder and never destroys the previous good output.
"""

from __future__ import annotations

import json
import shutil
import tempfile
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
