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
    "describe": "06_describe",
    "score": "07_score",
    "findings": "08_findings",
    "report": "09_report",
}
MANIFEST = "_manifest.json"
RUN_REPORT = "_run_report.json"  # pipeline.run_report: valid n, exclusions, α, skips and warnings of the run
LOCK = ".lock"  # pipeline.runner: held while a run writes the output folder
BENCH_FOLDER = "bench"
#: 09_report: the appendix files and sub-folders inside the stage folder.
REPORT_DOCX = "statistics_appendix.docx"
REPORT_XLSX = "statistics_appendix.xlsx"
REPORT_CHARTS = "charts"
REPORT_UNITS = "units"
#: fazhi-eval report --pdf: the appendix converted by LibreOffice (outside every stage folder).
PDF_FOLDER = "pdf"

#: sub-folders of raw/ (what the simulator writes and ingest reads): any file names inside.
RAW_PUBLIC_DIR = "public"  # 问卷星 exports (either mode; .xlsx/.xls/.csv) and paper-entry sheets
RAW_STAFF_DIR = "staff"
RAW_CASEFILE_DIR = "casefiles"  # case-file review workbooks of the reviewing teams
RAW_CHECKPOINT_DIR = "checkpoints"  # evaluator checkpoint sheets (document / online / site)
RAW_TRUTH = "truth.json"  # simulator only: the planted problems
RAW_POPULATION = "population_truth.yaml"  # simulator only: the population it sampled from


def stage_dir(out: Path, stage: str) -> Path:
    """``out/NN_stage`` for a stage name."""
    return Path(out) / STAGE_FOLDERS[stage]


def table_path(out: Path, stage: str, table: str) -> Path:
    """``out/NN_stage/<table>.parquet``."""
    return stage_dir(out, stage) / f"{table}.parquet"
