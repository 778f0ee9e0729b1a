"""Ingest split over two processes writes what one process writes; the record-id uniqueness shortcut."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import pandas as pd
import pytest

from pipeline.errors import DataError
from pipeline.stages import ingest
from pipeline.stages.base import StageContext, run_parts, run_stage

CONFIG_DIR = Path(__file__).resolve().parents[1] / "questionnaires"


@pytest.fixture(scope="module")
def raw(tmp_path_factory, config):
    simulate = pytest.importorskip("pipeline.simulate")
    raw = tmp_path_factory.mktemp("raw")
    simulate.simulate_raw(config, raw, seed=11, scale=0.1, plant=None)
    return raw


def test_ingest_in_two_processes_writes_the_same_tables_and_report(raw, tmp_path):
    outs = {}
    for parallel in (False, True):
        ctx = StageContext(
            raw=raw, out=tmp_path / str(parallel), config_dir=CONFIG_DIR, options={"parallel": parallel}
        )
        run_stage(ingest, ctx)
        outs[parallel] = ctx.stage_dir("ingest")
    for name in ingest.PARTS:
        pd.testing.assert_frame_equal(
            pd.read_parquet(outs[False] / f"{name}.parquet"), pd.read_parquet(outs[True] / f"{name}.parquet")
        )
    reports = [
        json.loads((outs[p] / "_ingest_report.json").read_text(encoding="utf-8")) for p in (False, True)
    ]
    assert reports[0] == reports[1]


def _value(x):
    return x


def _fail(message):
    raise DataError(message)


@pytest.mark.parametrize("here", [None, "a", "b", "c"])
def test_run_parts_returns_every_result_in_order_wherever_it_ran(here):
    parts = {name: partial(_value, name * 2) for name in "abc"}
    assert run_parts(parts, here=here) == {"a": "aa", "b": "bb", "c": "cc"}


@pytest.mark.parametrize("here", [None, "a", "b", "c"])
def test_run_parts_raises_the_first_failing_part_in_order(here):
    parts = {"a": partial(_value, 1), "b": partial(_fail, "b broke"), "c": partial(_fail, "c broke")}
    with pytest.raises(DataError, match="b broke"):
        run_parts(parts, here=here)


def _frame(prefix: str, rows: list[int]) -> pd.DataFrame:
    return pd.DataFrame({"record_id": [f"{prefix}{r}" for r in rows], "source_row": rows})


def test_record_ids_with_different_prefixes_never_repeat_but_shared_prefixes_are_checked():
    assert not ingest._ids_may_repeat([_frame("x:", [2, 3, 12]), _frame("x:1:", [2, 3]), _frame("y:", [2])])
    assert ingest._ids_may_repeat([_frame("x:", [2, 3]), _frame("x:", [4])])
    assert ingest._ids_may_repeat([_frame("x:", [3, 2])])
    with pytest.raises(DataError, match="x:2"):
        ingest._concat([_frame("x:", [2, 3]), _frame("x:", [2])], pd.DataFrame())
