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
        ingest._check_record_ids([_frame("x:", [2, 3]), _frame("x:", [2])])


def _parts() -> list[pd.DataFrame]:
    a = pd.DataFrame(
        {
            "record_id": pd.Series(["a:2", "a:3"], dtype="str"),
            "n": pd.array([1, None], dtype="Int64"),
            "t": pd.to_datetime(["2024-05-01 10:00", None]).astype("datetime64[ns]"),
            "note": pd.Series(["电话[电话]", None], dtype=object),
            "x": [0.5, float("nan")],
        }
    )
    b = pd.DataFrame(
        {
            "record_id": pd.Series(["b:2"], dtype="str"),
            "n": pd.array([3], dtype="Int64"),
            "t": pd.to_datetime(["2024-05-02 11:00"]).astype("datetime64[ns]"),
            "note": pd.Series([None], dtype=object),  # all missing here: Arrow type null
            "x": [1.5],
        }
    )
    return [a, b]


@pytest.mark.parametrize("categorical", [False, True])
def test_write_rows_reads_back_as_the_concatenated_frame(tmp_path, categorical):
    import pyarrow.parquet as pq

    from pipeline.stages.base import write_rows, write_table

    frames = _parts()
    if categorical:  # not chained by Arrow: pandas concatenates
        frames = [f.assign(c=pd.Categorical(["u"] * len(f))) for f in frames]
    (tmp_path / "rows").mkdir()
    (tmp_path / "whole").mkdir()
    chained = write_rows(frames, tmp_path / "rows", "t")
    whole = write_table(pd.concat(frames, ignore_index=True), tmp_path / "whole", "t")
    pd.testing.assert_frame_equal(pd.read_parquet(chained), pd.read_parquet(whole))
    a, b = pq.read_schema(chained), pq.read_schema(whole)
    assert a.remove_metadata() == b.remove_metadata()
    assert json.loads(a.metadata[b"pandas"])["columns"] == json.loads(b.metadata[b"pandas"])["columns"]


@pytest.mark.parametrize("enabled", [False, True])
def test_background_gives_the_result_or_raises_the_error_of_its_function(enabled):
    from pipeline.stages.base import Background

    table = pd.DataFrame({"x": range(1000)})
    with Background(_value, table, enabled=enabled) as later:
        pd.testing.assert_frame_equal(later.result(), table)
    with (
        Background(_fail, "in the child", enabled=enabled) as later,
        pytest.raises(DataError, match="in the child"),
    ):
        later.result()


def test_background_left_without_asking_for_the_result_stops_its_child():
    import time

    from pipeline.stages.base import Background

    with Background(time.sleep, 60, enabled=True) as later:
        child = later._child
    assert child is not None and not child.is_alive()


def test_keyed_columns_computed_in_a_child_are_the_same(raw, tmp_path, monkeypatch):
    from pipeline.io.privacy import project_key

    config = StageContext(raw=raw, config_dir=CONFIG_DIR).config
    key = project_key("k")
    here, _ = ingest.ingest_part(raw, config, "public", key=key)
    monkeypatch.setattr(ingest, "KEYED_IN_BACKGROUND_MIN_ROWS", 0)
    monkeypatch.setattr(ingest, "cores", lambda: 2)
    there, _ = ingest.ingest_part(raw, config, "public", key=key)
    pd.testing.assert_frame_equal(here, there)
