"""All-or-nothing writes: a stage folder swapped into place, a metadata file replaced, and the repair of what a
killed run left behind.

A stage is written into ``output/.NN_stage.tmp-<random>/``; when its tables are all there a marker file
(:data:`MARKER`) is written into it. Replacing the previous output then takes two renames::

    NN_stage            → .NN_stage.old        (moved aside)
    .NN_stage.tmp-xxxx  → NN_stage             (moved in)

after which ``.NN_stage.old`` and the marker are deleted (during a run of several stages the replaced output
is kept as ``.NN_stage.prev`` until the run ends: a stage that fails puts back what the run replaced before it,
:func:`restore_previous`, so a bad input never leaves earlier stages rewritten and later ones not). A run killed anywhere in between leaves one of these states, and
:func:`recover_folder` (called before the next run reads or writes the folder) repairs it:

- ``.NN_stage.old`` without ``NN_stage`` (killed between the renames) → moved back: the previous output, which
  the manifest still describes, is in place again;
- a temporary folder whose marker says it is complete, without ``NN_stage`` or ``.old`` (a first run killed
  before its rename) → moved into place (the manifest does not list it, so the runner re-runs the stage unless
  its files are exactly those recorded);
- every other temporary folder (killed while the stage worked, or a finished one beside an intact output) and a
  ``.old`` beside ``NN_stage`` → deleted.

Files whose name starts with ``.`` (a marker left by a kill before its deletion) are not outputs:
:func:`output_files` leaves them out.

``FAZHI_EVAL_CRASH_AT`` (tests only) kills the process with SIGKILL at a named point, so that a test can check
every state above in a subprocess: ``<stage>:<point>`` with a point of :data:`CRASH_POINTS`, or ``manifest``
(the new manifest written to its temporary file, not yet renamed).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
from pathlib import Path

MARKER = ".complete.json"
"""Written into a stage's temporary folder once every table is in it: ``{"folder", "files"}``."""

CRASH_ENV = "FAZHI_EVAL_CRASH_AT"
CRASH_POINTS = ("work", "complete", "moved_aside", "moved_in")
"""Where :func:`replace_folder` and the stage runner may be killed by a test: ``work`` (the stage's tables
written, no marker yet: as if killed while it worked), ``complete`` (marker written), ``moved_aside`` (the
previous output renamed to ``.old``, the new one not yet in place), ``moved_in`` (the new output in place, the
``.old`` not yet deleted)."""


def crash_point(where: str) -> None:
    """Kill this process with SIGKILL if ``FAZHI_EVAL_CRASH_AT`` names ``where`` (a test hook; no-op otherwise)."""
    if os.environ.get(CRASH_ENV) == where:
        os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))


def temp_folder(final: Path) -> Path:
    """A new empty folder beside ``final`` (``.<name>.tmp-<random>``) to write a stage into."""
    final.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=final.parent))


def backup_of(final: Path) -> Path:
    return final.with_name(f".{final.name}.old")


def output_files(folder: Path) -> list[Path]:
    """The output files of a stage folder and its sub-folders (``09_report/charts/``), sorted by their
    :func:`relative_name` (no hidden files such as :data:`MARKER`, nothing inside a hidden folder)."""
    folder = Path(folder)
    files = (
        p
        for p in folder.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )
    return sorted(files, key=lambda p: relative_name(p, folder))


def relative_name(path: Path, folder: Path) -> str:
    """How a stage folder's manifest and marker name one of its files: the path below the folder, with ``/``."""
    return Path(path).relative_to(folder).as_posix()


def mark_complete(tmp: Path, final: Path) -> None:
    """Record in ``tmp`` that it holds the whole output of ``final``."""
    files = [relative_name(p, tmp) for p in output_files(tmp)]
    write_text(tmp / MARKER, json.dumps({"folder": final.name, "files": files}, ensure_ascii=False))


def is_complete(tmp: Path, final: Path) -> bool:
    """True when ``tmp`` carries a marker for ``final`` and every file the marker lists."""
    try:
        marker = json.loads((tmp / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(marker, dict) or marker.get("folder") != final.name:
        return False
    return [relative_name(p, tmp) for p in output_files(tmp)] == marker.get("files")


def previous_of(final: Path) -> Path:
    """Where a run keeps the output a stage replaced until the whole run has succeeded (:func:`restore_previous`)."""
    return final.with_name(f".{final.name}.prev")


def replace_folder(tmp: Path, final: Path, stage: str = "", *, keep_previous: bool = False) -> None:
    """Move the complete folder ``tmp`` to ``final``, replacing what was there (see the module docstring).
    ``keep_previous``: the replaced output is kept as :func:`previous_of` (for the run to put back should a
    later stage fail) instead of being deleted; a folder a first run creates leaves an empty one (there was
    nothing before)."""
    backup = backup_of(final)
    if backup.exists():
        shutil.rmtree(backup)
    if final.exists():
        final.rename(backup)
        crash_point(f"{stage}:moved_aside")
    tmp.rename(final)
    _sync_dir(final.parent)
    crash_point(f"{stage}:moved_in")
    if keep_previous:
        previous = previous_of(final)
        if previous.exists():
            shutil.rmtree(previous)
        if backup.exists():
            backup.rename(previous)
        else:
            previous.mkdir()
            (previous / ABSENT).touch()
    if backup.exists():
        shutil.rmtree(backup)
    (final / MARKER).unlink(missing_ok=True)  # an output folder holds only outputs


ABSENT = ".absent"
"""Marks a kept previous output that did not exist (the stage had never run in this folder)."""


def restore_previous(final: Path) -> bool:
    """Put back the output a failed run replaced (kept by :func:`replace_folder` with ``keep_previous``): the
    folder as it was before the run, or no folder if there was none. True when something was restored."""
    previous = previous_of(final)
    if not previous.is_dir():
        return False
    if final.exists():
        shutil.rmtree(final)
    if (previous / ABSENT).exists():
        shutil.rmtree(previous)
    else:
        previous.rename(final)
    _sync_dir(final.parent)
    return True


def drop_previous(final: Path) -> None:
    """Forget the kept previous output of ``final`` (the run succeeded)."""
    shutil.rmtree(previous_of(final), ignore_errors=True)


def recover_folder(final: Path) -> list[str]:
    """Repair what a killed run left around ``final`` (see the module docstring); return what was done, one
    Chinese message (English in brackets) per repair, empty when there was nothing to do."""
    final = Path(final)
    if not final.parent.is_dir():
        return []
    notes = []
    backup = backup_of(final)
    temps = sorted(final.parent.glob(f".{final.name}.tmp-*"))
    if not final.exists() and backup.is_dir():
        backup.rename(final)
        notes.append(
            f"{final.name}: 上次运行在替换输出时中断，已恢复原有结果 "
            "(the previous run was killed while replacing this folder; its former output was restored)"
        )
    elif not final.exists():
        complete = [t for t in temps if t.is_dir() and is_complete(t, final)]
        if complete:
            newest = max(complete, key=lambda t: t.stat().st_mtime)
            newest.rename(final)
            notes.append(
                f"{final.name}: 上次运行已写完但未移入的结果已移入 "
                "(a finished output the previous run did not move into place was moved in)"
            )
    if backup.exists():
        shutil.rmtree(backup, ignore_errors=True)
    # a kept previous output of a run killed before it ended: the output in place is complete and the manifest
    # records it, so the previous one is no longer needed
    shutil.rmtree(previous_of(final), ignore_errors=True)
    if final.is_dir():
        (final / MARKER).unlink(missing_ok=True)
    left = [t for t in temps if t.exists()]
    for t in left:
        if t.is_dir():
            shutil.rmtree(t, ignore_errors=True)
        else:
            t.unlink(missing_ok=True)
    if left:
        notes.append(
            f"{final.name}: 删除了上次中断运行留下的 {len(left)} 个临时文件夹 "
            f"(removed {len(left)} temporary folder(s) of an interrupted run)"
        )
    return notes


def write_text(path: Path, text: str, *, crash_at: str | None = None) -> None:
    """Write ``text`` (UTF-8) to ``path`` all at once: into a temporary file beside it, flushed to disk, then
    ``os.replace``; a reader sees the old file or the new one, never a part."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        if crash_at:
            crash_point(crash_at)
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def remove_stale_files(path: Path) -> None:
    """Delete the temporary files a killed :func:`write_text` of ``path`` left (``.<name>.tmp-*``)."""
    path = Path(path)
    if path.parent.is_dir():
        for stale in path.parent.glob(f".{path.name}.tmp-*"):
            if stale.is_file():
                stale.unlink(missing_ok=True)


def _sync_dir(folder: Path) -> None:
    """Flush a folder's entries (the renames) to disk where the system allows it."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
