"""Run stages in order and record what went in and how long each took in ``output/_manifest.json``."""

from __future__ import annotations

import hashlib
import json
import platform
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from pipeline import atomic, paths
from pipeline.errors import DataError, Location
from pipeline.options import RunOptions
from pipeline.run_report import format_summary, run_report, skipped_line, warning_line
from pipeline.stages import available_stages, stage_module
from pipeline.stages.base import StageContext, json_text, run_stage, write_json

PACKAGES = (
    "fazhi-eval",
    "pandas",
    "numpy",
    "scipy",
    "statsmodels",
    "pingouin",
    "pydantic",
    "python-calamine",
)

RUN_TIMES = ("updated", "seconds", "finished")
"""The only keys of ``_manifest.json`` and ``_run_report.json`` that differ between two runs on the same inputs,
configuration, seed and options: when the run happened and how long each stage took. Every stage file (parquet,
JSON) is byte-identical (``tests/test_reproducible.py``)."""


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def input_digests(raw: Path) -> dict[str, str]:
    """SHA-256 of every file under ``raw/`` (relative path → digest)."""
    raw = Path(raw)
    if not raw.exists():
        return {}
    return {
        p.relative_to(raw).as_posix(): file_digest(p)
        for p in sorted(raw.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def code_digest() -> str:
    """SHA-256 over the package's own source files: a code change invalidates every reused stage."""
    h = hashlib.sha256()
    root = Path(__file__).resolve().parent
    for p in sorted(root.rglob("*.py")):
        h.update(p.relative_to(root).as_posix().encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def stage_key(name: str, manifest: dict[str, Any], code: str, options: RunOptions | None = None) -> str:
    """What a stage's output depends on: code, configuration, seed, the run options that affect it
    (:meth:`RunOptions.affecting`; execution-only options such as ``workers`` are left out), and its inputs'
    digests.

    Configuration: the analysis files (every file but :data:`pipeline.config.loader.REPORT_FILES`) plus the
    report files the stage module lists in ``REPORT_CONFIG``, so editing a report setting re-runs only the stages
    that read it. Ingest depends on the files under raw/; every later stage on the recorded outputs of the stages
    it requires.
    """
    module = stage_module(name)
    report_files = getattr(module, "REPORT_CONFIG", ())
    h = hashlib.sha256()
    config = [manifest["analysis_config_digest"], [manifest["config_files"].get(f) for f in report_files]]
    affecting = (options or RunOptions()).affecting(name)
    h.update(json.dumps([name, code, config, manifest["seed"], affecting], sort_keys=True).encode())
    if not module.REQUIRES:
        h.update(json.dumps(manifest["inputs"], sort_keys=True).encode())
    h.update(getattr(module, "reuse_salt", str)().encode())  # e.g. ingest: the pseudonym key's fingerprint
    for upstream in module.REQUIRES:
        recorded = manifest["stages"].get(upstream, {})
        h.update(json.dumps(recorded.get("outputs", {}), sort_keys=True).encode())
    return h.hexdigest()


def _reusable(name: str, key: str, manifest: dict[str, Any], folder: Path) -> bool:
    recorded = manifest["stages"].get(name)
    if not recorded or recorded.get("key") != key or not folder.is_dir():
        return False
    return output_digests(folder) == recorded.get("outputs")


def output_digests(folder: Path) -> dict[str, str]:
    """SHA-256 of each output file of a stage folder (name below the folder → digest; :func:`pipeline.atomic.output_files`)."""
    return {atomic.relative_name(p, folder): file_digest(p) for p in atomic.output_files(folder)}


def recover_output(out: Path) -> list[str]:
    """Repair what a killed run left in ``out`` (:func:`pipeline.atomic.recover_folder` for every stage folder,
    leftover temporary copies of the manifest and run report deleted); the repairs done, as messages."""
    out = Path(out)
    if not out.is_dir():
        return []
    notes = [n for name in paths.STAGE_FOLDERS for n in atomic.recover_folder(paths.stage_dir(out, name))]
    for meta in (paths.MANIFEST, paths.RUN_REPORT):
        atomic.remove_stale_files(out / meta)
    return notes


def read_manifest(out: Path) -> dict[str, Any]:
    path = Path(out) / paths.MANIFEST
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))
    return {}


@contextmanager
def output_lock(out: Path) -> Iterator[None]:
    """Hold ``out/.lock`` while a run writes ``out``: a second run on the same folder stops with a message
    instead of deleting the first one's temporary folders. Released by the system when the process ends, killed
    or not. Where file locks are not available (no ``fcntl``), runs are not guarded."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / paths.LOCK, "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            raise DataError(
                "另一个 fazhi-eval 正在写入这个输出目录，请等它结束或换一个 --out "
                "(another run is writing this output folder: wait for it or use another --out)",
                Location(file=out),
            ) from exc
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def run_stages(
    ctx: StageContext, stages: list[str] | None = None, *, echo=print, force: bool = False
) -> dict[str, Any]:
    """Run the given stages (default: all available) in order; update and return the manifest, and write
    ``_run_report.json`` (:mod:`pipeline.run_report`) with its summary echoed at the end.

    A stage whose key (code, configuration, seed and input digests, see :func:`stage_key`) equals the one
    recorded in the manifest, and whose folder still holds exactly the recorded files, is reused rather than
    re-run, unless ``force``. The run holds the output folder's lock (:func:`output_lock`) and first repairs what
    a killed run left in it (:func:`recover_output`).
    """
    with output_lock(ctx.out):
        return _run_stages(ctx, stages, echo=echo, force=force)


def _run_stages(ctx: StageContext, stages: list[str] | None, *, echo, force: bool) -> dict[str, Any]:
    names = stages or available_stages()
    for note in recover_output(ctx.out):
        echo(f"! {note}")
    manifest = read_manifest(ctx.out)
    before = json.loads(json.dumps(manifest))  # what to put back if a stage fails
    if "inputs" not in manifest or any(not stage_module(name).REQUIRES for name in names):
        # Only a stage that reads raw/ (ingest) depends on it; the rest depend on recorded outputs. Hashing a
        # million-response export costs ~0.6 s, so a later stage run alone keeps the digests of the raw/ its
        # inputs were made from.
        manifest.update(
            {
                "raw": str(ctx.raw),
                "raw_absolute": str(Path(ctx.raw).resolve()),
                "inputs": input_digests(ctx.raw),
            }
        )
    manifest.update(
        {
            "updated": datetime.now(UTC).isoformat(timespec="seconds"),
            "config": str(ctx.config_dir),
            "config_absolute": str(Path(ctx.config_dir).resolve()),
            "config_digest": ctx.config.digest,
            "analysis_config_digest": getattr(ctx.config, "analysis_digest", "") or ctx.config.digest,
            "config_files": dict(getattr(ctx.config, "file_digests", {})),
            "packages": package_versions(),
            "seed": ctx.seed,
            "options": asdict(ctx.options),
        }
    )
    manifest.setdefault("stages", {})
    code = code_digest()
    manifest["code_digest"] = code
    replaced: list[str] = []  # stages this run rewrote, their previous output kept until it ends
    try:
        _run_each(ctx, names, manifest, code, replaced, echo=echo, force=force)
    except Exception as exc:
        restored = [name for name in reversed(replaced) if atomic.restore_previous(ctx.stage_dir(name))]
        if restored:
            if before:
                write_manifest(before, ctx.out)
            else:
                (Path(ctx.out) / paths.MANIFEST).unlink(missing_ok=True)
            echo(
                f"! 运行未完成，已恢复本次运行前的结果 (the run stopped: the outputs it had replaced were put back): "
                f"{', '.join(paths.STAGE_FOLDERS[n] for n in reversed(restored))}"
            )
        failed = getattr(exc, "failed_stage", None)
        _write_report(
            ctx, before or manifest, failed={"stage": failed, "error": str(exc)} if failed else None
        )
        raise
    finally:
        for name in replaced:
            atomic.drop_previous(ctx.stage_dir(name))
    for line in format_summary(_write_report(ctx, manifest)):
        echo(line)
    return manifest


def _run_each(
    ctx: StageContext,
    names: list[str],
    manifest: dict[str, Any],
    code: str,
    replaced: list[str],
    *,
    echo,
    force,
) -> None:
    """Run (or reuse) each stage in order, recording it in the manifest; ``replaced`` collects the stages whose
    output was rewritten (their previous output kept until the run ends)."""
    for name in names:
        module = stage_module(name)
        folder = ctx.stage_dir(name)
        key = stage_key(name, manifest, code, ctx.options)
        if not force and _reusable(name, key, manifest, folder):
            echo(f"[{paths.STAGE_FOLDERS[name]}] {name}: 输入未变，沿用上次结果 (unchanged, reused)")
            manifest["stages"][name]["reused"] = True
            continue
        echo(f"[{paths.STAGE_FOLDERS[name]}] {name} ...")
        start = time.perf_counter()
        try:
            summary = run_stage(module, ctx, keep_previous=True)
        except Exception as exc:  # the report still tells what the output holds, and which stage failed
            exc.failed_stage = name  # type: ignore[attr-defined]
            raise
        replaced.append(name)
        seconds = time.perf_counter() - start
        manifest["stages"][name] = {
            "key": key,
            "reused": False,
            "folder": folder.name,
            "seconds": round(seconds, 3),
            "finished": datetime.now(UTC).isoformat(timespec="seconds"),
            "summary": summary,
            "outputs": output_digests(folder),
        }
        echo(f"    done in {seconds:.2f} s -> {folder}")
        for line in stage_notes(summary):
            echo(f"    {line}")
        write_manifest(manifest, ctx.out)


def write_manifest(manifest: dict[str, Any], out: Path) -> None:
    """``out/_manifest.json``, replaced all at once: a run killed while writing it leaves the previous one."""
    atomic.write_text(Path(out) / paths.MANIFEST, json_text(manifest), crash_at="manifest")


def _write_report(ctx: StageContext, manifest: dict[str, Any], failed: dict[str, str] | None = None):
    """Write and return ``_run_report.json`` (:func:`pipeline.run_report.run_report`)."""
    report = run_report(ctx, manifest, failed=failed)
    Path(ctx.out).mkdir(parents=True, exist_ok=True)
    write_json(report, Path(ctx.out) / paths.RUN_REPORT)
    return report


def stage_notes(summary: dict[str, Any]) -> list[str]:
    """The lines printed under a stage's line: what it skipped, then each warning (from its summary's
    ``skipped`` and ``warnings`` lists)."""
    return [skipped_line(s) for s in summary.get("skipped", []) or []] + [
        "! " + warning_line(w) for w in summary.get("warnings", []) or []
    ]
