"""``fazhi-eval verify``: does an output folder still match the inputs its manifest recorded?

The manifest (``output/_manifest.json``, :mod:`pipeline.runner`) holds the SHA-256 of every raw file, of every
configuration file and of every file each stage wrote. :func:`verify` finds the raw and configuration folders
(given, else the absolute paths recorded at run time, else the paths as given to the run), hashes them and the
stage folders again, and lists every difference: a raw, configuration or output file that was edited, is missing
or was added, and a stage made from earlier inputs than those recorded (:func:`stale_stages`). :func:`report_lines` words the result for people (Chinese, English in brackets).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline import paths
from pipeline.errors import DataError, Location

KINDS = {
    "raw": "原始数据 (raw)",
    "config": "配置 (config)",
    "output": "输出 (output)",
    "stage": "阶段 (stage)",
}
STATUS = {
    "changed": "已被修改 (edited)",
    "missing": "缺失 (missing)",
    "added": "为新增文件，清单中没有 (added, not in the manifest)",
    "stale": "由较早的输入生成，其上游或配置后来又运行或修改过 (made from earlier inputs: re-run it)",
}


@dataclass(frozen=True)
class Change:
    """One difference between the manifest and the files: ``kind`` (raw | config | output | stage), ``name``
    (path relative to its folder; outputs as ``NN_stage/file``; a stage as its folder), ``status`` (changed |
    missing | added, or stale: a stage not made from the inputs the manifest now records)."""

    kind: str
    name: str
    status: str


@dataclass(frozen=True)
class Verification:
    out: Path
    raw: Path | None
    config: Path | None
    checked: dict[str, int]
    """Files compared per kind."""
    changes: list[Change] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """Findings that do not make the output wrong (e.g. another program version, leftovers of a killed run)."""

    @property
    def ok(self) -> bool:
        return not self.changes


def compare(kind: str, recorded: dict[str, str], present: dict[str, str]) -> list[Change]:
    """The differences between recorded and present digests (name → SHA-256), sorted by name."""
    names = sorted(set(recorded) | set(present))
    out = []
    for name in names:
        if name not in present:
            out.append(Change(kind, name, "missing"))
        elif name not in recorded:
            out.append(Change(kind, name, "added"))
        elif recorded[name] != present[name]:
            out.append(Change(kind, name, "changed"))
    return out


def _folder(given: Path | None, manifest: dict[str, Any], key: str) -> Path | None:
    """The folder to check: ``given``, else the recorded absolute path, else the recorded path as given."""
    if given is not None:
        return Path(given)
    for candidate in (manifest.get(f"{key}_absolute"), manifest.get(key)):
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return None


def verify(out: Path, raw: Path | None = None, config: Path | None = None) -> Verification:
    """Compare ``out``'s manifest with the raw, configuration and output files as they are now."""
    from pipeline.config.loader import FILES
    from pipeline.runner import code_digest, file_digest, input_digests, output_digests

    out = Path(out)
    path = out / paths.MANIFEST
    if not path.is_file():
        raise DataError(
            "没有运行清单，无法核验：请先运行 fazhi-eval run (no manifest to verify against: run the pipeline first)",
            Location(file=path),
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise DataError(f"运行清单无法读取 (unreadable manifest: {exc})", Location(file=path)) from exc
    changes: list[Change] = []
    notes: list[str] = []
    checked = {}

    raw_dir = _folder(raw, manifest, "raw")
    recorded_raw = manifest.get("inputs", {})
    if raw_dir is None or not raw_dir.is_dir():
        notes.append(
            _not_found("原始数据文件夹 (raw folder)", raw_dir, manifest.get("raw_absolute"), "--raw")
        )
        changes += [Change("raw", name, "missing") for name in sorted(recorded_raw)]
    else:
        changes += compare("raw", recorded_raw, input_digests(raw_dir))
    checked["raw"] = len(recorded_raw)

    config_dir = _folder(config, manifest, "config")
    recorded_config = manifest.get("config_files", {})
    if config_dir is None or not config_dir.is_dir():
        notes.append(
            _not_found("配置文件夹 (config folder)", config_dir, manifest.get("config_absolute"), "--config")
        )
        changes += [Change("config", name, "missing") for name in sorted(recorded_config)]
    else:
        present = {f: file_digest(config_dir / f) for f in FILES if (config_dir / f).is_file()}
        changes += compare("config", recorded_config, present)
    checked["config"] = len(recorded_config)

    n_outputs = 0
    for name, stage in manifest.get("stages", {}).items():
        folder = out / stage.get("folder", paths.STAGE_FOLDERS.get(name, name))
        recorded = stage.get("outputs", {})
        present = output_digests(folder) if folder.is_dir() else {}
        changes += [
            Change("output", f"{folder.name}/{c.name}", c.status)
            for c in compare("output", recorded, present)
        ]
        n_outputs += len(recorded)
        leftovers = sorted(p.name for p in out.glob(f".{folder.name}.*") if p.name != folder.name)
        if leftovers:
            notes.append(
                f"{folder.name}: 有中断运行留下的文件夹 {leftovers}，下次运行会自动清理 "
                "(left by an interrupted run; the next run repairs them)"
            )
    checked["output"] = n_outputs
    changes += stale_stages(manifest)
    recorded_code = manifest.get("code_digest")
    if recorded_code and recorded_code != code_digest():
        notes.append(
            "输出由另一版本的 fazhi-eval 生成 (written by another version of the program): 重新运行会得到新结果 "
            "(a new run may give other results)"
        )
    return Verification(out, raw_dir, config_dir, checked, changes, notes)


def stale_stages(manifest: dict[str, Any]) -> list[Change]:
    """Stages whose recorded key no longer follows from the manifest (a stage run after them changed their
    inputs: e.g. ``fazhi-eval ingest`` on new raw data without re-running ``clean``), computed with the code
    digest the manifest records; none when it records none."""
    from pipeline.options import RunOptions
    from pipeline.runner import stage_key
    from pipeline.stages import stage_module

    code = manifest.get("code_digest")
    if not code:
        return []
    try:
        options = RunOptions(**manifest.get("options", {}))
    except TypeError:
        return []
    out = []
    for name, stage in manifest.get("stages", {}).items():
        try:
            stage_module(name)
        except (KeyError, ImportError, ValueError):
            continue
        if stage.get("key") != stage_key(name, manifest, code, options):
            out.append(Change("stage", stage.get("folder", name), "stale"))
    return out


def _not_found(what: str, tried: Path | None, recorded: str | None, flag: str) -> str:
    where = tried or recorded or "?"
    return f"找不到{what}: {where}；请用 {flag} 指定 (not found; give it with {flag})"


def report_lines(result: Verification) -> list[str]:
    """The console report: where each kind was looked for, each difference, the notes, the verdict."""
    lines = [f"核验 (verify) {result.out}"]
    lines.append(f"  原始数据 (raw): {result.raw or '?'} — {result.checked['raw']} 个文件 (files)")
    lines.append(f"  配置 (config): {result.config or '?'} — {result.checked['config']} 个文件 (files)")
    lines.append(f"  输出 (output): {result.checked['output']} 个文件 (files)")
    for c in result.changes:
        lines.append(f"  ✗ {KINDS[c.kind]} {c.name} {STATUS[c.status]}")
    for note in result.notes:
        lines.append(f"  ! {note}")
    if result.ok:
        lines.append("结论 (result): 输出与其输入一致 (the output matches the inputs it was made from)")
    else:
        by_kind = ", ".join(
            f"{KINDS[k]} {n}" for k in KINDS if (n := sum(c.kind == k for c in result.changes))
        )
        lines.append(
            f"结论 (result): 输出与其输入不一致，共 {len(result.changes)} 处 ({by_kind}) "
            "(the output no longer matches its inputs: re-run `fazhi-eval run` or restore the files named)"
        )
    return lines
