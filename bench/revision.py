"""Another revision's code beside the working tree, for the benchmarks that compare the two."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def checked_out(rev: str, where: Path) -> Iterator[Path]:
    """``rev`` checked out into ``where`` (a detached git worktree of this repository), removed on leaving."""
    subprocess.run(
        ["git", "worktree", "add", "--detach", str(where), rev], cwd=ROOT, check=True, capture_output=True
    )
    try:
        yield where
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(where)], cwd=ROOT, check=False)
