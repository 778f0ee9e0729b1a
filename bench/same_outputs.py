"""``make same-outputs``: does the working tree write byte for byte the tables that another revision writes?

A change that only reshapes code (moves a function, renames a module, speeds up a kernel) must leave every stage
table unchanged. This runs the whole pipeline on ``raw/`` twice — once with the code of ``--against`` (default
``HEAD``, checked out into a temporary git worktree) and once with the working tree — with the same seed and the
same pseudonym key, and compares the SHA-256 of every file the stages write (``_manifest.json`` aside: it holds
times). Exit status 0 when all are identical, 1 otherwise (the differing files are listed).

Usage: ``python -m bench.same_outputs [--against REV] [--raw DIR] [--config DIR]``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.revision import ROOT, checked_out

#: Fixed so that pseudonyms (and so the tables that hold them) are comparable between the two runs.
KEY = "same-outputs-comparison-key"


def run_pipeline(code: Path, raw: Path, config: Path, out: Path) -> None:
    """``fazhi-eval run --force`` with the package found in ``code``."""
    env = {**os.environ, "PYTHONPATH": str(code), "FAZHI_PSEUDONYM_KEY": KEY}
    command = [sys.executable, "-m", "pipeline.cli", "run", "--raw", str(raw), "--config", str(config)]
    subprocess.run(
        [*command, "--out", str(out), "--force"], env=env, cwd=code, check=True, stdout=subprocess.DEVNULL
    )


def digests(out: Path) -> dict[str, str]:
    """Relative path → SHA-256 of every file a stage wrote under ``out``."""
    return {
        p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.parent != out
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", default="HEAD", help="git revision to compare with (default HEAD)")
    parser.add_argument("--raw", type=Path, default=ROOT / "raw")
    parser.add_argument("--config", type=Path, default=ROOT / "questionnaires")
    args = parser.parse_args(argv)
    raw, config = args.raw.resolve(), args.config.resolve()
    with tempfile.TemporaryDirectory(prefix="same-outputs-") as tmp:
        tmp = Path(tmp)
        with checked_out(args.against, tmp / "code") as other:
            run_pipeline(other, raw, config, tmp / "before")
            run_pipeline(ROOT, raw, config, tmp / "after")
        before, after = digests(tmp / "before"), digests(tmp / "after")
    differ = sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))
    for name in differ:
        print(f"differs: {name}" if name in before and name in after else f"only in one run: {name}")
    print(
        f"{len(before.keys() & after.keys()) - len(differ)} files identical, {len(differ)} differ (vs {args.against})"
    )
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
