"""Two runs on the same raw data, configuration and seed write byte-identical stage files (parquet and JSON); the
manifest and run report differ only in the run's times (:data:`pipeline.runner.RUN_TIMES`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from conftest import CONFIG_DIR, ROOT, SIM_SEED

from pipeline import atomic, paths
from pipeline.runner import RUN_TIMES


def _without_times(obj):
    """``obj`` with every key of :data:`RUN_TIMES` removed, at any depth."""
    if isinstance(obj, dict):
        return {k: _without_times(v) for k, v in obj.items() if k not in RUN_TIMES}
    if isinstance(obj, list):
        return [_without_times(v) for v in obj]
    return obj


def test_a_second_run_in_another_process_writes_byte_identical_outputs(simulated_pipeline, tmp_path):
    ctx, _ = simulated_pipeline
    out = tmp_path / "again"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": "12345"}  # another set/dict hash order
    env.pop(atomic.CRASH_ENV, None)
    cmd = [sys.executable, "-m", "pipeline.cli", "run", "--raw", str(ctx.raw), "--out", str(out)]
    cmd += ["--config", str(CONFIG_DIR), "--seed", str(SIM_SEED)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr

    first = json.loads((ctx.out / paths.MANIFEST).read_text(encoding="utf-8"))
    second = json.loads((out / paths.MANIFEST).read_text(encoding="utf-8"))
    assert list(first["stages"]) == list(paths.STAGE_FOLDERS)
    for name, folder in paths.STAGE_FOLDERS.items():
        files = [atomic.relative_name(p, ctx.out / folder) for p in atomic.output_files(ctx.out / folder)]
        assert files == [atomic.relative_name(p, out / folder) for p in atomic.output_files(out / folder)]
        assert any(f.endswith(".parquet") for f in files)
        for f in files:
            assert (ctx.out / folder / f).read_bytes() == (out / folder / f).read_bytes(), f"{folder}/{f}"
        assert first["stages"][name]["outputs"] == second["stages"][name]["outputs"]
    assert _without_times(first) == _without_times(second)
    report = [json.loads((o / paths.RUN_REPORT).read_text(encoding="utf-8")) for o in (ctx.out, out)]
    assert _without_times(report[0]) == _without_times(report[1])
