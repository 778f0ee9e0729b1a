"""``make bench``: stage times and peak memory, scaling to a million responses, and peers side by side.

Writes ``output/bench/bench.json`` and prints a table. Every timing is wall-clock (``time.perf_counter``); peak
memory (``peak_mb``) is the sampled peak of the proportional set size summed over the measured process and the
workers it forks (each measured step runs in a fresh process, so peaks do not leak between steps); each process's
own maximum RSS is recorded beside it. Ratios against peers are computed within this one run on the same data.

Environment knobs: ``BENCH_SIZES`` (comma-separated public sample sizes for the scaling runs, default
``10000,100000,1000000``), ``BENCH_PEER_ROWS`` (rows for the peer comparisons, default 1,000,000),
``BENCH_SKIP`` (comma-separated sections to skip: ``sample``, ``scaling``, ``peers``, ``recovery``); the recovery
section's own knobs are in :mod:`bench.recovery_bench`.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import multiprocessing as mp
import os
import resource
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "output" / "bench"
# public 问卷星 rows the simulator writes at --scale 1 (benchmark sizes are turned into scales with it)
SAMPLE_PUBLIC_ROWS = 2878
SCALING_STAGES = (
    "ingest",
    "clean",
    "weight",
    "reliability",
    "compare",
    "describe",
    "score",
    "findings",
    "report",
)
PEER_MODULES = (
    "bench.peers_weighting",
    "bench.peers_reliability",
    "bench.peers_comparisons",
    "bench.peers_ingest",
)


class TreeMemory:
    """Sampled peak of the memory held by this process and its worker processes together.

    Stages fork workers, whose peak RSS ``ru_maxrss`` of this process does not include, and RSS summed over
    forked processes counts the pages they share twice. The proportional set size (``Pss`` in
    ``/proc/<pid>/smaps_rollup``: shared pages split among the processes sharing them) summed over the process
    tree is what the machine holds; a thread samples it every ``interval`` seconds. Linux only: elsewhere
    :attr:`peak_mb` stays ``None``.
    """

    def __init__(self, interval: float = 0.1) -> None:
        self.interval = interval
        self.peak_mb: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> TreeMemory:
        if Path("/proc/self/smaps_rollup").exists():
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._thread.is_alive():
            self._stop.set()
            self._thread.join()

    def _sample(self) -> None:
        me = os.getpid()
        while True:
            total = sum(_pss_kb(pid) for pid in _process_tree(me)) / 1024
            self.peak_mb = total if self.peak_mb is None else max(self.peak_mb, total)
            if self._stop.wait(self.interval):
                return


def _process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (from ``/proc/<pid>/task/<tid>/children``)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for children in Path(f"/proc/{p}/task").glob("*/children"):
            with contextlib.suppress(OSError):  # the process ended while being read
                todo.extend(int(c) for c in children.read_text().split())
    return out


def _pss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError):  # the process ended while being read
        pass
    return 0


def _child(target, args, queue) -> None:
    start = time.perf_counter()
    with TreeMemory() as tree:
        try:
            info = target(*args) or {}
            error = None
        except Exception as exc:  # report, don't hide: the table shows the error text
            info, error = {}, f"{type(exc).__name__}: {exc}"
    seconds = time.perf_counter() - start
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    queue.put(
        {
            "seconds": seconds,
            # what the machine held for this step: the process and its forked workers (sampled PSS), or,
            # without /proc, the larger of the two processes' peaks
            "peak_mb": tree.peak_mb if tree.peak_mb is not None else max(own, workers),
            "peak_rss_main_mb": own,
            "peak_rss_worker_mb": workers,
            "error": error,
            **info,
        }
    )


def measured(target, *args) -> dict[str, Any]:
    """Run ``target(*args)`` in a fresh process; its time, peak RSS and returned info."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(target, args, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def _run_stage(stage: str, raw: str, out: str, config: str) -> dict[str, Any]:
    from pipeline.runner import run_stages
    from pipeline.stages.base import StageContext

    ctx = StageContext(raw=Path(raw), out=Path(out), config_dir=Path(config))
    manifest = run_stages(ctx, [stage], echo=lambda *_: None)
    return {"summary": manifest["stages"][stage]["summary"]}


def _run_all(raw: str, out: str, config: str) -> dict[str, Any]:
    """The whole run in one process, as ``fazhi-eval run``; seconds per stage from its manifest."""
    from pipeline.runner import run_stages
    from pipeline.stages.base import StageContext

    manifest = run_stages(
        StageContext(raw=Path(raw), out=Path(out), config_dir=Path(config)), echo=lambda *_: None
    )
    return {
        "stage_seconds": {k: v.get("seconds") for k, v in manifest["stages"].items()},
        "reused": sorted(k for k, v in manifest["stages"].items() if v.get("reused")),
    }


def _export(out: str, config: str, dest: str, formats: str) -> dict[str, Any]:
    """``fazhi-eval export`` of a finished run (not a stage: timed on its own)."""
    from pipeline.export import export_command, parse_formats

    lines = export_command(Path(out), Path(config), Path(dest), formats=parse_formats(formats))
    return {"files": len(lines)}


def _simulate(out: str, config: str, scale: float, seed: int) -> dict[str, Any]:
    from pipeline.config import load_config
    from pipeline.simulate import simulate_raw

    simulate_raw(load_config(config), Path(out), seed=seed, scale=scale)
    return {}


def sample_section(config: Path) -> dict[str, Any]:
    """Each stage on the committed sample in raw/, then the whole run, then a re-run."""
    from pipeline.stages import available_stages

    work = Path(tempfile.mkdtemp(prefix="bench-sample-"))
    try:
        stages = {}
        for stage in available_stages():
            stages[stage] = measured(_run_stage, stage, str(ROOT / "raw"), str(work), str(config))
        # the whole run on a copy of the configuration, so that a report setting can be edited between runs
        config_copy = work / "questionnaires"
        shutil.copytree(config, config_copy)
        whole = measured(_run_all, str(ROOT / "raw"), str(work / "whole"), str(config_copy))
        rerun = measured(_run_all, str(ROOT / "raw"), str(work / "whole"), str(config_copy))
        export = measured(
            _export, str(work / "whole"), str(config_copy), str(work / "export"), "sav,xlsx,csv"
        )
        _edit_report_setting(config_copy)
        rerun_report = measured(_run_all, str(ROOT / "raw"), str(work / "whole"), str(config_copy))
        return {
            "stages": stages,
            "whole_run": whole,
            "rerun": rerun,
            "rerun_after_report_edit": rerun_report,
            "export": export,
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _edit_report_setting(config_dir: Path) -> None:
    """Reword one rectification suggestion in a configuration copy (a report-only file, see REPORT_FILES)."""
    import yaml

    from pipeline.config import load_config
    from pipeline.config.loader import REPORT_FILES

    path = config_dir / "suggestions.yaml"
    if path.name not in REPORT_FILES:
        raise RuntimeError("suggestions.yaml is no longer a report-only file: pick another report setting")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    first = next(iter(data["templates"].values()))
    first["suggestion"] = first["suggestion"] + "（评估组修订）"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    load_config(config_dir)  # the edited copy must still be a valid configuration


def scaling_section(config: Path, sizes: list[int]) -> dict[str, Any]:
    """Simulated public data of each size through the stages, with growth ratios between sizes."""
    from pipeline.stages import available_stages

    stages = [s for s in SCALING_STAGES if s in available_stages()]
    runs: dict[str, Any] = {}
    for n in sizes:
        work = Path(tempfile.mkdtemp(prefix=f"bench-{n}-"))
        try:
            sim = measured(_simulate, str(work / "raw"), str(config), n / SAMPLE_PUBLIC_ROWS, 7)
            per_stage = {
                s: measured(_run_stage, s, str(work / "raw"), str(work / "out"), str(config)) for s in stages
            }
            total = sum(r["seconds"] for r in per_stage.values())
            rows = (per_stage.get("ingest", {}).get("summary") or {}).get("rows", {})
            # the same stages as one `fazhi-eval run` (one process: the imports are paid once)
            whole = measured(_run_all, str(work / "raw"), str(work / "whole"), str(config))
            # xlsx only below Excel's row limit (above it the command refuses it)
            formats = "sav,xlsx,csv" if n < 1_000_000 else "sav,csv"
            export = measured(_export, str(work / "whole"), str(config), str(work / "export"), formats)
            runs[str(n)] = {
                "simulate": sim,
                "rows": rows,
                "stages": per_stage,
                "total_seconds": total,
                "whole_run": whole,
                "export": export,
            }
        finally:
            shutil.rmtree(work, ignore_errors=True)
    growth = {}
    if len(sizes) >= 2:
        a, b = str(sizes[-2]), str(sizes[-1])
        for s in stages:
            ta, tb = runs[a]["stages"][s]["seconds"], runs[b]["stages"][s]["seconds"]
            growth[s] = tb / ta if ta > 0 else float("nan")
        growth["total"] = runs[b]["total_seconds"] / runs[a]["total_seconds"]
    return {"runs": runs, "growth": growth, "growth_between": sizes[-2:]}


def peers_section(rows: int) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for name in PEER_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError:
            continue
        try:
            records.extend(module.run(rows))
        except Exception as exc:
            records.append({"task": name, "error": f"{type(exc).__name__}: {exc}"})
    return records


def planted_section() -> dict[str, Any]:
    """Planted-problem recovery over 5 seeds at the default scale, findings and oracle (bench/recovery_bench.py)."""
    from bench.recovery_bench import recovery_section, with_targets

    try:
        return with_targets(recovery_section(ROOT / "questionnaires"))
    except Exception as exc:  # the benchmark reports, never stops
        return {"error": f"{type(exc).__name__}: {exc}"}


def print_table(report: dict[str, Any]) -> None:
    line = "-" * 78
    if "sample" in report:
        print(line, "\nDefault sample (raw/): stage, seconds, peak MB")
        for stage, r in report["sample"]["stages"].items():
            print(f"  {stage:<14}{r['seconds']:>9.2f} s{r['peak_mb']:>10.0f} MB  {r['error'] or ''}")
        for key in ("whole_run", "rerun", "rerun_after_report_edit", "export"):
            r = report["sample"][key]
            print(f"  {key:<14}{r['seconds']:>9.2f} s{r['peak_mb']:>10.0f} MB  {r['error'] or ''}")
    if "scaling" in report:
        print(line, "\nScaling (public responses): stage seconds / peak MB per size")
        for n, run in report["scaling"]["runs"].items():
            cells = "  ".join(
                f"{s}={r['seconds']:.2f}s/{r['peak_mb']:.0f}MB" + (" ERR" if r["error"] else "")
                for s, r in run["stages"].items()
            )
            rows = ", ".join(f"{k} {v:,}" for k, v in run.get("rows", {}).items() if k in ("public", "staff"))
            whole = run["whole_run"]
            print(f"  n={n:>8} ({rows}): sum of stages {run['total_seconds']:.2f} s  {cells}")
            print(
                f"  {'':>10} one `fazhi-eval run` process: {whole['seconds']:.2f} s, peak {whole['peak_mb']:.0f} MB"
                + (f"  ERR {whole['error']}" if whole["error"] else "")
            )
            export = run["export"]
            print(
                f"  {'':>10} `fazhi-eval export`: {export['seconds']:.2f} s, peak {export['peak_mb']:.0f} MB"
                + (f"  ERR {export['error']}" if export["error"] else "")
            )
        if report["scaling"]["growth"]:
            g = ", ".join(f"{k} {v:.2f}" for k, v in report["scaling"]["growth"].items())
            print(
                f"  growth time({report['scaling']['growth_between'][1]})/time({report['scaling']['growth_between'][0]}): {g}"
            )
    if "peers" in report:
        print(line, "\nPeers (same data, same run): ours vs peer, ratio = peer time / our time")
        for r in report["peers"]:
            if "error" in r:
                print(f"  {r['task']:<40} error: {r['error']}")
                continue
            print(
                f"  {r['task']:<40} n={r['n']:>8}  ours {r['ours_s']:.4f} s  {r['peer']:<22} {r['peer_s']:.4f} s"
                f"  ratio {r['ratio']:.1f}x"
            )
    if "planted_recovery" in report:
        from bench.recovery_bench import print_recovery

        r = report["planted_recovery"]
        print(line)
        if "error" in r:
            print(f"Planted-problem recovery: {r['error']}")
        else:
            print_recovery(r)
    print(line)


def main() -> int:
    config = ROOT / "questionnaires"
    skip = {s for s in os.environ.get("BENCH_SKIP", "").split(",") if s}
    sizes = [int(s) for s in os.environ.get("BENCH_SIZES", "10000,100000,1000000").split(",") if s]
    report: dict[str, Any] = {"started": time.strftime("%Y-%m-%d %H:%M:%S"), "cpus": os.cpu_count()}
    if "sample" not in skip:
        report["sample"] = sample_section(config)
    if "scaling" not in skip:
        report["scaling"] = scaling_section(config, sizes)
    if "peers" not in skip:
        report["peers"] = peers_section(int(os.environ.get("BENCH_PEER_ROWS", "1000000")))
    if "recovery" not in skip:
        report["planted_recovery"] = planted_section()
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "bench.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    print_table(report)
    print(f"written: {OUT / 'bench.json'}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
