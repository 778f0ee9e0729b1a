"""``make bench-versus``: each stage's seconds and peak memory with the working tree against another revision.

For a change meant to leave speed alone (a reshaping, a move) or to improve it: both versions run every stage on
the same raw set, each stage as its own ``python -m pipeline.cli <stage>`` (a top-level process, as users run
it), the two versions interleaved round by round (their order alternating) so a busy machine slows both alike.
Reported per stage: the best of the rounds for each version and their ratio (working tree / revision), seconds
and peak memory (the sampled proportional set size of the stage's process tree, :class:`bench.run.TreeMemory`).

Usage: ``python -m bench.versus [--against REV] [--rows N | --raw DIR] [--rounds K]`` (defaults: ``HEAD``,
1,000,000 simulated public responses, 3 rounds). Writes ``output/bench/versus.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.revision import checked_out
from bench.run import OUT, ROOT, SAMPLE_PUBLIC_ROWS, measured

STAGES = ("ingest", "clean", "weight", "reliability", "compare")


def _cli(code: str, stage: str, raw: str, out: str, config: str) -> dict[str, Any]:
    """One stage as ``python -m pipeline.cli`` with the package found in ``code``."""
    env = {**os.environ, "PYTHONPATH": code}
    command = [sys.executable, "-m", "pipeline.cli", stage, "--raw", raw, "--out", out, "--config", config]
    subprocess.run(command, cwd=code, env=env, check=True, stdout=subprocess.DEVNULL)
    return {}


def compare_versions(
    versions: dict[str, Path], raw: Path, config: Path, work: Path, rounds: int, echo=print
) -> dict[str, dict[str, list[dict[str, float]]]]:
    """Seconds and peak MB of every stage of every version, ``rounds`` times, interleaved."""
    runs: dict[str, dict[str, list[dict[str, float]]]] = {v: {s: [] for s in STAGES} for v in versions}
    order = list(versions)
    for r in range(rounds):
        for name in order if r % 2 == 0 else order[::-1]:
            out = work / f"out-{name}"
            shutil.rmtree(out, ignore_errors=True)
            for stage in STAGES:
                res = measured(_cli, str(versions[name]), stage, str(raw), str(out), str(config))
                if res.get("error"):
                    raise RuntimeError(f"{name} {stage}: {res['error']}")
                runs[name][stage].append({"seconds": res["seconds"], "peak_mb": res["peak_mb"]})
                echo(f"round {r + 1} {name:8s} {stage:12s} {res['seconds']:7.2f} s {res['peak_mb']:7.0f} MB")
    return runs


def summary(
    runs: dict[str, dict[str, list[dict[str, float]]]], before: str, after: str
) -> list[dict[str, Any]]:
    """Best of the rounds per stage and version, and the ratios after / before."""
    rows = []
    for stage in STAGES:
        best = {
            v: {k: min(x[k] for x in runs[v][stage]) for k in ("seconds", "peak_mb")} for v in (before, after)
        }
        rows.append(
            {
                "stage": stage,
                **{f"{k}_{v}": best[v][k] for v in (before, after) for k in ("seconds", "peak_mb")},
                "seconds_ratio": best[after]["seconds"] / best[before]["seconds"],
                "peak_ratio": best[after]["peak_mb"] / best[before]["peak_mb"],
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", default="HEAD", help="git revision to compare with (default HEAD)")
    parser.add_argument("--rows", type=int, default=1_000_000, help="simulated public responses")
    parser.add_argument("--raw", type=Path, default=None, help="a raw folder to use instead of simulating")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--config", type=Path, default=ROOT / "questionnaires")
    args = parser.parse_args(argv)
    config = args.config.resolve()
    with tempfile.TemporaryDirectory(prefix="bench-versus-") as tmp:
        work = Path(tmp)
        with checked_out(args.against, work / "code") as other:
            raw = args.raw.resolve() if args.raw else work / "raw"
            if args.raw is None:
                print(f"simulating {args.rows:,} public responses ...")
                env = {**os.environ, "PYTHONPATH": str(ROOT)}
                scale = str(args.rows / SAMPLE_PUBLIC_ROWS)
                subprocess.run([sys.executable, "-m", "pipeline.cli", "simulate", "--out", str(raw), "--seed", "7",
                                "--scale", scale, "--config", str(config)], env=env, check=True,
                               stdout=subprocess.DEVNULL)  # fmt: skip
            versions = {args.against: other, "working tree": ROOT}
            runs = compare_versions(versions, raw, config, work, args.rounds)
    rows = summary(runs, args.against, "working tree")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "versus.json").write_text(
        json.dumps({"against": args.against, "runs": runs, "best": rows}, indent=1)
    )
    print(f"best of {args.rounds}: working tree / {args.against}")
    for row in rows:
        print(
            f"  {row['stage']:12s} seconds {row['seconds_ratio']:5.2f}  peak memory {row['peak_ratio']:5.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
