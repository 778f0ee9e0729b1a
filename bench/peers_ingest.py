"""Peer benchmark: reading a 问卷星 .xlsx export — fazhi-eval ingest vs pandas + openpyxl.

Ours: the whole per-file ingest (calamine read, header parsing, codebook matching, text → code decoding,
pseudonymised meta). Peer: ``pandas.read_excel(engine="openpyxl")`` of the same file, which only reads the cells
(no decoding), so the ratio understates our advantage.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import pandas as pd

from pipeline.config import load_config
from pipeline.ingest.privacy import project_key
from pipeline.ingest.surveys import ingest_survey_file
from pipeline.simulate import simulate_raw

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_PUBLIC_ROWS = 2878  # public 问卷星 rows the simulator writes at --scale 1


def _best_of(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def run(n_rows: int = 10_000, seed: int = 0) -> list[dict]:
    """Time both readers on a simulated text-mode public export of about ``n_rows`` rows (capped at 50,000:
    above 100,000 rows the simulator writes CSV, and openpyxl would take minutes)."""
    n = min(int(n_rows), 50_000)
    config = load_config(ROOT / "questionnaires")
    work = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    try:
        simulate_raw(config, work / "raw", seed=seed, scale=n / SAMPLE_PUBLIC_ROWS)
        (export,) = [p for p in (work / "raw" / "public").iterdir() if "_按" in p.name]
        codebook = config.codebook("public")
        key = project_key(config.digest)
        frames, _ = ingest_survey_file(export, codebook, key)
        rows, cols = len(frames[0]), pd.read_excel(export, engine="calamine", nrows=1).shape[1]
        ours = _best_of(lambda: ingest_survey_file(export, codebook, key))
        peer = _best_of(lambda: pd.read_excel(export, engine="openpyxl"), repeat=1 if n > 20_000 else 3)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return [
        {
            "task": f"xlsx ingest ({rows} rows x {cols} columns)",
            "n": rows,
            "ours_s": ours,
            "peer": "pandas+openpyxl (read only)",
            "peer_s": peer,
            "ratio": peer / ours,
        }
    ]


if __name__ == "__main__":
    for record in run():
        print(record)
