"""Run one corpus case: break a copy of the sample, run ingest and clean over a good earlier output, check.

A case (:class:`Case`) names a breaker (:mod:`bad_inputs.breakers`), the outcome it must have and the fragments
the user must be told:

- ``DATA`` / ``CONFIG``: ``fazhi-eval`` stops with exit 2 / 1, a Chinese message on stderr holding every fragment,
  no traceback, and the earlier output left byte for byte as it was;
- ``COMPLETES``: the run finishes and every record is accounted for: each instrument's 01_ingest rows equal the
  data rows of its raw files (counted here, independently of the readers), and 02_clean's flow has raw = kept +
  excluded; every fragment is said on the console and kept in ``output/_run_report.json``;
- ``NOTICE``: either of the two, as long as the fragments reach the user (used where the issue asks that a
  problem be said, and leaves open whether it stops the run).

A fragment is a string, or a tuple of strings of which one must appear.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import re
import shutil
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

DATA, CONFIG, COMPLETES, NOTICE = "data error", "config error", "completes", "notice"
EXIT_CODES = {DATA: 2, CONFIG: 1}
CJK = re.compile(r"[\u4e00-\u9fff]")
STAGES = ["ingest", "clean"]
"""The corpus's inputs are all read by ingest and accounted for by clean; later stages are not needed."""
RAW_FOLDERS = {
    "public": "public",
    "staff": "staff",
    "casefile_reviews": "casefiles",
    "checkpoints": "checkpoints",
}
HEADER_MARKS = {"序号", "问卷编号", "案卷编号", "单位", "被评估单位"}
"""A header row holds one of these (问卷星 export, paper entry, case-file review, checkpoint sheet)."""

Fragment = str | tuple[str, ...]
Check = Callable[[Path, Path], None]
"""An extra check of a completed run: ``check(output, good_output)``."""


@dataclass(frozen=True)
class Case:
    name: str
    breaker: Callable[[Path, Path], None]
    kind: str
    fragments: tuple[Fragment, ...] = ()
    check: Check | None = None
    fixing: str | None = None
    """The area whose work in progress will make this case pass (marked strict xfail until then)."""

    def param(self):
        marks = (
            [pytest.mark.xfail(strict=True, reason=f"not handled yet: {self.fixing}")] if self.fixing else []
        )
        return pytest.param(self, id=self.name, marks=marks)


@dataclass(frozen=True)
class Sample:
    """The good inputs every case starts from, and a good output of them."""

    raw: Path
    config: Path
    output: Path


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str
    out: Path
    raw: Path


def digests(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder`` except the run report (which records a failed run on purpose)."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "_run_report.json"
    }


def run_case(case: Case, sample: Sample, work: Path) -> Outcome:
    """Break copies of the sample and run ``fazhi-eval run --only ingest clean`` into a copy of its output."""
    from pipeline.cli import main

    raw, config, out = work / "raw", work / "config", work / "output"
    shutil.copytree(sample.raw, raw)
    shutil.copytree(sample.config, config)
    shutil.copytree(sample.output, out)
    case.breaker(raw, config)
    argv = ["run", "--only", *STAGES, "--raw", str(raw), "--out", str(out), "--config", str(config)]
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            code = main(argv)
        except Exception as exc:  # a traceback would reach the user: say which case and what
            pytest.fail(f"{case.name}: uncaught {type(exc).__name__}: {exc}")
    return Outcome(code, stdout.getvalue(), stderr.getvalue(), out, raw)


def _has(text: str, fragment: Fragment) -> bool:
    return any(f in text for f in fragment) if isinstance(fragment, tuple) else fragment in text


def check_error(case: Case, got: Outcome, sample: Sample) -> None:
    expected = [EXIT_CODES[case.kind]] if case.kind in EXIT_CODES else list(EXIT_CODES.values())
    assert got.code in expected, f"exit {got.code}, expected {expected}; stderr: {got.stderr!r}"
    assert "Traceback" not in got.stderr
    assert CJK.search(got.stderr), f"no Chinese in the message: {got.stderr!r}"
    missing = [f for f in case.fragments if not _has(got.stderr, f)]
    assert not missing, f"message lacks {missing}: {got.stderr!r}"
    assert digests(got.out) == digests(sample.output), "the earlier output was changed by the failed run"
    assert not [p.name for p in got.out.iterdir() if ".tmp" in p.name], "a temporary stage folder was left"


def check_completed(case: Case, got: Outcome, sample: Sample) -> None:
    assert got.code == 0, f"exit {got.code}: {got.stderr!r}"
    report = (got.out / "_run_report.json").read_text(encoding="utf-8")
    missing = [f for f in case.fragments if not (_has(got.stdout, f) and _has(report, f))]
    assert not missing, f"not said on the console and in _run_report.json: {missing}\n{got.stdout}"
    ingest = got.out / "01_ingest"
    for table, folder in RAW_FOLDERS.items():
        n = len(pd.read_parquet(ingest / f"{table}.parquet", columns=["record_id"]))
        assert n == data_rows(got.raw / folder), (
            f"{table}: {n} records ingested, files hold {data_rows(got.raw / folder)}"
        )
    flow = pd.read_parquet(got.out / "02_clean" / "flow.parquet")
    for instrument, rows in flow.groupby("instrument"):
        raw = int(rows.loc[rows["rule"] == "raw", "n_after"].iloc[0])
        kept = int(rows.loc[rows["rule"] == "valid", "n_after"].iloc[0])
        assert raw == kept + int(rows["n_excluded"].sum()), f"{instrument}: raw ≠ kept + excluded"
        n_ingest = len(pd.read_parquet(ingest / f"{instrument}.parquet", columns=["record_id"]))
        assert raw == n_ingest, f"{instrument}: flow starts at {raw}, ingest holds {n_ingest}"
    if case.check is not None:
        case.check(got.out, sample.output)


def check_outcome(case: Case, got: Outcome, sample: Sample) -> None:
    if case.kind == COMPLETES or (case.kind == NOTICE and got.code == 0):
        check_completed(case, got, sample)
    else:
        check_error(case, got, sample)


# --------------------------------------------------------------------------------------------------------------
# counting data rows without the pipeline's readers


def _text(v: object) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return ""
    return unicodedata.normalize("NFKC", str(v)).strip()


def _table_rows(path: Path) -> list[list[list[object]]]:
    """The rows of every sheet of a workbook, or of a CSV (UTF-8 or GB18030), by the file's first bytes (zip or
    OLE2: a workbook; anything else: text), whatever its extension says."""
    head = path.read_bytes()[:8]
    if not (head.startswith(b"PK\x03\x04") or head.startswith(b"\xd0\xcf\x11\xe0")):
        import csv

        raw = path.read_bytes()
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = raw.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        return [list(csv.reader(io.StringIO(text)))]
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_filelike(
        io.BytesIO(path.read_bytes())
    )  # the type from the bytes, not the name
    return [wb.get_sheet_by_name(n).to_python(skip_empty_area=False) for n in wb.sheet_names]


def data_rows(folder: Path) -> int:
    """Rows below a header row (:data:`HEADER_MARKS`) with any non-empty cell, over the spreadsheets of
    ``folder`` (lock files ``~$…`` and hidden files are not spreadsheets)."""
    if not folder.is_dir():
        return 0
    n = 0
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in (".xlsx", ".xls", ".csv") or path.name.startswith(("~$", ".")):
            continue
        for rows in _table_rows(path):
            header = next(
                (r for r, row in enumerate(rows[:15]) if HEADER_MARKS & {_text(c) for c in row}), None
            )
            if header is not None:
                n += sum(any(_text(c) for c in row) for row in rows[header + 1 :])
    return n


# --------------------------------------------------------------------------------------------------------------
# extra checks of completed runs


ORIGIN_COLUMNS = {"record_id", "source_file", "source_sheet", "source_row"}


def same_records(table: str) -> Check:
    """The table's records equal those of the good output, apart from where they came from (file, sheet, row)."""

    def check(out: Path, good: Path) -> None:
        got = pd.read_parquet(out / "01_ingest" / f"{table}.parquet")
        want = pd.read_parquet(good / "01_ingest" / f"{table}.parquet")
        cols = [c for c in want.columns if c not in ORIGIN_COLUMNS]
        pd.testing.assert_frame_equal(
            got[cols].reset_index(drop=True), want[cols].reset_index(drop=True), check_dtype=False
        )

    return check


def nowhere_in_output(text: str) -> Check:
    """``text`` (and its half-width form) appears in no table of the output."""

    def check(out: Path, good: Path) -> None:
        needles = {text, unicodedata.normalize("NFKC", text)}
        for path in sorted(out.rglob("*.parquet")):
            frame = pd.read_parquet(path)
            for col in frame.columns:
                if frame[col].dtype == object or isinstance(frame[col].dtype, pd.StringDtype):
                    values = frame[col].dropna().astype(str)
                    hit = values[values.map(lambda v: any(n in v for n in needles))]
                    assert hit.empty, f"{path.name}:{col} holds {hit.iloc[0]!r}"

    return check


def submit_times_read(out: Path, good: Path) -> None:
    """Every 问卷星 record of the public table has its submission time."""
    frame = pd.read_parquet(out / "01_ingest" / "public.parquet", columns=["mode", "submitted_at"])
    assert frame.loc[frame["mode"] != "paper", "submitted_at"].notna().all()
