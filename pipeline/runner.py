"""Run stages in order and record what went in and how long each took in ``output/_manifest.json``."""

from __future__ import annotations

import hashlib
import json
import platform
import time
from dataclasses import asdict
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from pipeline import paths
from pipeline.options import RunOptions
from pipeline.run_report import format_summary, run_report, skipped_line, warning_line
from pipeline.stages import available_stages, stage_module
from pipeline.stages.base import StageContext, run_stage, write_json

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
    present = {p.name: file_digest(p) for p in sorted(folder.iterdir()) if p.is_file()}
    return present == recorded.get("outputs")


def read_manifest(out: Path) -> dict[str, Any]:
    path = Path(out) / paths.MANIFEST
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))
    return {}


def run_stages(
    ctx: StageContext, stages: list[str] | None = None, *, echo=print, force: bool = False
) -> dict[str, Any]:
    """Run the given stages (default: all available) in order; update and return the manifest, and write
    ``_run_report.json`` (:mod:`pipeline.run_report`) with its summary echoed at the end.

    A stage whose key (code, configuration, seed and input digests, see :func:`stage_key`) equals the one
    recorded in the manifest, and whose folder still holds exactly the recorded files, is reused rather than
    re-run, unless ``force``.
    """
    names = stages or available_stages()
    manifest = read_manifest(ctx.out)
    if "inputs" not in manifest or any(not stage_module(name).REQUIRES for name in names):
        # Only a stage that reads raw/ (ingest) depends on it; the rest depend on recorded outputs. Hashing a
        # million-response export costs ~0.6 s, so a later stage run alone keeps the digests of the raw/ its
        # inputs were made from.
        manifest.update({"raw": str(ctx.raw), "inputs": input_digests(ctx.raw)})
    manifest.update(
        {
            "updated": datetime.now(UTC).isoformat(timespec="seconds"),
            "config": str(ctx.config_dir),
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
            summary = run_stage(module, ctx)
        except Exception as exc:  # the report still tells what the output holds, and which stage failed
            _write_report(ctx, manifest, failed={"stage": name, "error": str(exc)})
            raise
        seconds = time.perf_counter() - start
        manifest["stages"][name] = {
            "key": key,
            "reused": False,
            "folder": folder.name,
            "seconds": round(seconds, 3),
            "finished": datetime.now(UTC).isoformat(timespec="seconds"),
            "summary": summary,
            "outputs": {p.name: file_digest(p) for p in sorted(folder.iterdir()) if p.is_file()},
        }
        echo(f"    done in {seconds:.2f} s -> {folder}")
        for line in stage_notes(summary):
            echo(f"    {line}")
        Path(ctx.out).mkdir(parents=True, exist_ok=True)
        write_json(manifest, Path(ctx.out) / paths.MANIFEST)
    for line in format_summary(_write_report(ctx, manifest)):
        echo(line)
    return manifest


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
