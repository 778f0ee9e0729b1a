"""Every path fazhi-eval reads or writes, in one place.

Stage folders are ``output/NN_verb/``; metadata files start with ``_``.
"""

from __future__ import annotations

from pathlib import Path

DEFAULT_RAW = Path("raw")
DEFAULT_OUT = Path("output")
DEFAULT_CONFIG = Path("questionnaires")

#: stage name → folder under the output directory, in run order.
STAGE_FOLDERS: dict[str, str] = {
    "ingest": "01_ingest",
    "clean": "02_clean",
    "weight": "03_weight",
    "reliability": "04_reliability",
    "compare": "05_compare",
}
MANIFEST = "_manifest.json"
BENCH_FOLDER = "bench"

#: file names inside raw/ (what the simulator writes and ingest looks for by default).
RAW_PUBLIC_GLOB = "public*"
RAW_STAFF_GLOB = "staff*"
RAW_CASEFILE_DIR = "casefiles"
RAW_CHECKPOINT_DIR = "checkpoints"
RAW_POPULATION = "population.yaml"
RAW_TRUTH = "truth.json"


def stage_dir(out: Path, stage: str) -> Path:
    """``out/NN_stage`` for a stage name."""
    return Path(out) / STAGE_FOLDERS[stage]


def table_path(out: Path, stage: str, table: str) -> Path:
    """``out/NN_stage/<table>.parquet``."""
    return stage_dir(out, stage) / f"{table}.parquet"
