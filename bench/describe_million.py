"""The describe core on a million public responses: the sample's cleaned and weighted tables repeated.

``python -m bench.describe_million [--rows N] [--out DIR]`` runs ingest, clean and weight on ``raw/`` (into a
temporary folder unless ``--out`` names one that has them), repeats ``02_clean/public.parquet`` and its
weights to ``N`` rows (default 1,000,000; new record ids, the staff survey as it is), and times each describe
table of the public questionnaire (the frame and design built once, as the stage does). Prints one line per
table, the total wall time and the processor time; writes ``output/bench/describe_million.json``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "output" / "bench"


def repeated(table: pd.DataFrame, rows: int) -> pd.DataFrame:
    """``table`` repeated to ``rows`` rows, each copy's ``record_id`` suffixed with its copy number."""
    copies = -(-rows // len(table))
    out = pd.concat([table] * copies, ignore_index=True).iloc[:rows].copy()
    copy_no = np.repeat(np.arange(copies), len(table))[:rows].astype(str)
    out["record_id"] = out["record_id"].astype(str).str.cat(copy_no, sep="~")
    return out


def main(argv: list[str] | None = None) -> dict:
    from pipeline.describe import tables as describe
    from pipeline.runner import run_stages
    from pipeline.stages.base import StageContext

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--config", type=Path, default=ROOT / "questionnaires")
    args = parser.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="bench-describe-"))
    ctx = StageContext(raw=ROOT / "raw", out=out, config_dir=args.config)
    if not ctx.has_table("weight", "public_weights"):
        run_stages(ctx, ["ingest", "clean", "weight"], echo=lambda *_: None)
    public = repeated(ctx.read_table("clean", "public"), args.rows)
    weights = repeated(ctx.read_table("weight", "public_weights"), args.rows)
    small_n, min_n = ctx.options.small_cells(ctx.config)
    seconds: dict[str, float] = {}
    start, cpu_start = time.perf_counter(), time.process_time()
    original = dict(describe.BUILDERS)
    try:
        for name, build in original.items():

            def timed(described, _build=build, _name=name):
                t = time.perf_counter()
                table = _build(described)
                if described.instrument == "public":
                    seconds[_name] = time.perf_counter() - t
                return table

            describe.BUILDERS[name] = timed
        describe.describe_tables(
            public, weights, pd.DataFrame(), pd.DataFrame(), ctx.config, small_n=small_n, min_n=min_n
        )
    finally:
        describe.BUILDERS.update(original)
    total, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    result = {"rows": args.rows, "seconds": seconds, "total_seconds": total, "cpu_seconds": cpu}
    for name, s in seconds.items():
        print(f"{name:12s} {s:7.2f} s")
    print(f"{'total':12s} {total:7.2f} s  ({args.rows:,} public responses, frame and design included)")
    print(
        f"{'cpu':12s} {cpu:7.2f} s  (processor time of this process: a shared machine inflates the wall time)"
    )
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "describe_million.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    return result


if __name__ == "__main__":
    main()
