"""Run stages in order and record what went in and how long each took in ``output/_manifest.json``."""

from __future__ import annotations

import hashlib
import json
import platform
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from pipeline import paths
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


def read_manifest(out: Path) -> dict[str, Any]:
    path = Path(out) / paths.MANIFEST
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))
    return {}


def run_stages(ctx: StageContext, stages: list[str] | None = None, *, echo=print) -> dict[str, Any]:
    """Run the given stages (default: all available) in order; update and return the manifest."""
    names = stages or available_stages()
    manifest = read_manifest(ctx.out)
    manifest.update(
        {
            "updated": datetime.now(UTC).isoformat(timespec="seconds"),
            "raw": str(ctx.raw),
            "config": str(ctx.config_dir),
            "config_digest": ctx.config.digest,
            "inputs": input_digests(ctx.raw),
            "packages": package_versions(),
            "seed": ctx.seed,
        }
    )
    manifest.setdefault("stages", {})
    for name in names:
        module = stage_module(name)
        echo(f"[{paths.STAGE_FOLDERS[name]}] {name} ...")
        start = time.perf_counter()
        summary = run_stage(module, ctx)
        seconds = time.perf_counter() - start
        folder = ctx.stage_dir(name)
        manifest["stages"][name] = {
            "folder": folder.name,
            "seconds": round(seconds, 3),
            "finished": datetime.now(UTC).isoformat(timespec="seconds"),
            "summary": summary,
            "outputs": {p.name: file_digest(p) for p in sorted(folder.iterdir()) if p.is_file()},
        }
        echo(f"    done in {seconds:.2f} s -> {folder}")
        Path(ctx.out).mkdir(parents=True, exist_ok=True)
        write_json(manifest, Path(ctx.out) / paths.MANIFEST)
    return manifest
