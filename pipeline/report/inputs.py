"""What the report stage reads: the earlier stages' tables, the manifest, the run report and the configuration.

Everything is read lazily and once; a table of a stage that has not run (or did not write that table) is
``None``, so a section can say in one line that its stage has not run instead of failing
(:meth:`ReportInputs.missing_line`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline import paths, results
from pipeline.config import Config


@dataclass
class ReportInputs:
    """The output folder of a run, read for the appendix.

    Examples
    --------
    >>> inputs = ReportInputs(Path("output"), config)  # doctest: +SKIP
    >>> inputs.table("describe", "frequencies")  # doctest: +SKIP
    """

    out: Path
    config: Config
    _tables: dict[tuple[str, str], pd.DataFrame | None] = field(default_factory=dict, repr=False)

    def ran(self, stage: str) -> bool:
        """Whether ``stage`` has an output folder in ``out``."""
        return paths.stage_dir(self.out, stage).is_dir()

    def table(self, stage: str, name: str) -> pd.DataFrame | None:
        """``out/NN_stage/<name>.parquet`` (schema-checked like every stage's reads), or ``None`` if absent."""
        key = (stage, name)
        if key not in self._tables:
            present = paths.table_path(self.out, stage, name).exists()
            self._tables[key] = (
                results.table(stage, name, out=self.out, config=self.config) if present else None
            )
        return self._tables[key]

    def source(self, stage: str, name: str) -> str:
        """How a table names where its numbers come from: ``"06_describe/frequencies"``."""
        return f"{paths.STAGE_FOLDERS[stage]}/{name}"

    @property
    def manifest(self) -> dict[str, Any]:
        """``_manifest.json`` of the run (empty when absent)."""
        path = self.out / paths.MANIFEST
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}

    @property
    def run_report(self) -> dict[str, Any]:
        """``_run_report.json`` of the run (empty when absent)."""
        path = self.out / paths.RUN_REPORT
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}

    def stage_json(self, stage: str, name: str) -> dict[str, Any] | None:
        """A JSON file a stage wrote (e.g. ``01_ingest/_ingest_report.json``), or ``None``."""
        path = paths.stage_dir(self.out, stage) / name
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None

    def missing_line(self, stage: str) -> str:
        """The one line a section prints when the stage it reports has not run."""
        folder = paths.STAGE_FOLDERS[stage]
        return f"本节依据的 {folder} 阶段尚未运行（运行 fazhi-eval {stage} 后重新生成本附录）。"
