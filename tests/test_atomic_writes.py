"""A run killed (SIGKILL) at any point of a stage leaves the previous outputs recoverable, and the next run
repairs the output folder: the previous stage folder back in place or the finished one moved in, no temporary
folder left, the manifest whole."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import CONFIG_DIR, ROOT

from pipeline import atomic, paths
from pipeline.runner import output_digests, run_stages
from pipeline.stages.base import StageContext

SEED = 11


@pytest.fixture(scope="module")
def baseline(tmp_path_factory, config):
    """(raw, out): a small simulated raw set and an output folder holding its ingest stage and manifest."""
    from pipeline.simulate import simulate_raw

    base = tmp_path_factory.mktemp("atomic")
    simulate_raw(config, base / "raw", seed=SEED, scale=0.1)
    run_stages(_ctx(base / "raw", base / "out"), ["ingest"], echo=lambda *_: None)
    return base / "raw", base / "out"


def _ctx(raw: Path, out: Path) -> StageContext:
    return StageContext(raw=raw, out=out, config_dir=CONFIG_DIR, seed=SEED)


def _cli(raw: Path, out: Path, command: str = "ingest") -> list[str]:
    return [sys.executable, "-m", "pipeline.cli", command, "--raw", str(raw), "--out", str(out)] + [
        "--config",
        str(CONFIG_DIR),
        "--seed",
        str(SEED),
    ]


def _env(crash_at: str | None = None) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop(atomic.CRASH_ENV, None)
    if crash_at:
        env[atomic.CRASH_ENV] = crash_at
    return env


def _killed_run(raw: Path, out: Path, crash_at: str) -> None:
    proc = subprocess.run(_cli(raw, out), env=_env(crash_at), capture_output=True, text=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr


def _leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.iterdir() if ".tmp-" in p.name or p.name.endswith(".old"))


def _copy(baseline, tmp_path) -> tuple[Path, Path, dict]:
    raw, out = baseline
    shutil.copytree(out, tmp_path / "out")
    manifest = json.loads((out / paths.MANIFEST).read_text(encoding="utf-8"))
    return raw, tmp_path / "out", manifest


@pytest.mark.parametrize("point", atomic.CRASH_POINTS)
def test_a_stage_killed_at_any_point_leaves_its_previous_output_recoverable(baseline, tmp_path, point):
    raw, out, manifest = _copy(baseline, tmp_path)
    recorded = manifest["stages"]["ingest"]["outputs"]
    _killed_run(raw, out, f"ingest:{point}")
    folder = out / "01_ingest"
    if point == "moved_aside":  # the only moment without a 01_ingest: its former content sits in the .old
        assert not folder.exists() and output_digests(out / ".01_ingest.old") == recorded
    else:
        assert output_digests(folder) == recorded  # same inputs and seed: the new output is byte-identical
    assert json.loads((out / paths.MANIFEST).read_text(encoding="utf-8")) == manifest

    lines: list[str] = []
    after = run_stages(_ctx(raw, out), ["ingest"], echo=lines.append)
    assert _leftovers(out) == [] and not (folder / atomic.MARKER).exists()
    assert output_digests(folder) == recorded
    assert after["stages"]["ingest"]["reused"], lines  # what the manifest describes is in place again
    if point == "moved_aside":
        assert any("已恢复原有结果" in line and "01_ingest" in line for line in lines), lines
    if point != "moved_in":
        assert any("临时文件夹" in line for line in lines), lines


def test_a_first_run_killed_after_its_stage_finished_moves_the_finished_folder_in(baseline, tmp_path):
    raw, _ = baseline
    out = tmp_path / "out"
    _killed_run(raw, out, "ingest:complete")
    assert not (out / "01_ingest").exists() and len(_leftovers(out)) == 1
    lines: list[str] = []
    run_stages(_ctx(raw, out), ["ingest"], echo=lines.append)
    assert any("已移入" in line for line in lines), lines
    assert _leftovers(out) == [] and (out / "01_ingest" / "public.parquet").exists()


def test_a_temporary_folder_without_its_marker_is_never_moved_in(baseline, tmp_path):
    raw, _ = baseline
    out = tmp_path / "out"
    _killed_run(raw, out, "ingest:work")
    assert atomic.recover_folder(out / "01_ingest")  # removed, and said so
    assert not (out / "01_ingest").exists() and _leftovers(out) == []


def test_a_run_killed_while_writing_the_manifest_keeps_the_previous_manifest(baseline, tmp_path):
    raw, out, manifest = _copy(baseline, tmp_path)
    _killed_run(raw, out, "manifest")
    assert json.loads((out / paths.MANIFEST).read_text(encoding="utf-8")) == manifest
    assert any(p.name.startswith(f".{paths.MANIFEST}.tmp-") for p in out.iterdir())
    run_stages(_ctx(raw, out), ["ingest"], echo=lambda *_: None)
    assert not any(p.name.startswith(f".{paths.MANIFEST}.tmp-") for p in out.iterdir())


def test_a_run_killed_from_outside_while_a_stage_works_is_repaired_by_the_next_run(baseline, tmp_path):
    """No test hook: the process is killed as soon as the stage's temporary folder appears (wherever it is by
    then), and the next run leaves exactly the recorded output."""
    raw, out, manifest = _copy(baseline, tmp_path)
    proc = subprocess.Popen(_cli(raw, out), env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if any(p.name.startswith(".01_ingest.tmp-") for p in out.iterdir()):
                break
            time.sleep(0.002)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    after = run_stages(_ctx(raw, out), ["ingest"], echo=lambda *_: None)
    assert _leftovers(out) == []
    assert output_digests(out / "01_ingest") == manifest["stages"]["ingest"]["outputs"]
    assert after["stages"]["ingest"]["outputs"] == manifest["stages"]["ingest"]["outputs"]


def test_a_stale_backup_beside_a_whole_output_is_deleted(tmp_path):
    final = tmp_path / "02_clean"
    final.mkdir()
    (final / "a.parquet").write_bytes(b"new")
    (tmp_path / ".02_clean.old").mkdir()
    (tmp_path / ".02_clean.old" / "a.parquet").write_bytes(b"old")
    atomic.recover_folder(final)
    assert (final / "a.parquet").read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["02_clean"]


def test_a_second_run_on_an_output_folder_being_written_stops_with_a_message(tmp_path, capsys):
    fcntl = pytest.importorskip("fcntl")
    from pipeline.cli import main

    out = tmp_path / "out"
    out.mkdir()
    with open(out / paths.LOCK, "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        code = main(
            ["ingest", "--raw", str(tmp_path / "raw"), "--out", str(out), "--config", str(CONFIG_DIR)]
        )
    err = capsys.readouterr().err
    assert code == 2 and "另一个 fazhi-eval 正在写入" in err and "Traceback" not in err
