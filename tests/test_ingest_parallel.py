"""Ingest split over two processes writes what one process writes; the record-id uniqueness shortcut."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from conftest import CONFIG_DIR

from pipeline.errors import DataError
from pipeline.ingest import records
from pipeline.ingest.parts import PARTS, ingest_part
from pipeline.options import RunOptions
from pipeline.parallel import Executor
from pipeline.stages import ingest
from pipeline.stages.base import StageContext, run_stage


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
            raw=raw,
            out=tmp_path / str(parallel),
            config_dir=CONFIG_DIR,
            options=RunOptions(workers=2 if parallel else 1),
        )
        run_stage(ingest, ctx)
        outs[parallel] = ctx.stage_dir("ingest")
    for name in PARTS:
        pd.testing.assert_frame_equal(
            pd.read_parquet(outs[False] / f"{name}.parquet"), pd.read_parquet(outs[True] / f"{name}.parquet")
        )
    reports = [
        json.loads((outs[p] / "_ingest_report.json").read_text(encoding="utf-8")) for p in (False, True)
    ]
    assert reports[0] == reports[1]


def _frame(prefix: str, rows: list[int]) -> pd.DataFrame:
    return pd.DataFrame({"record_id": [f"{prefix}{r}" for r in rows], "source_row": rows})


def test_record_ids_with_different_prefixes_never_repeat_but_shared_prefixes_are_checked():
    assert not records._ids_may_repeat([_frame("x:", [2, 3, 12]), _frame("x:1:", [2, 3]), _frame("y:", [2])])
    assert records._ids_may_repeat([_frame("x:", [2, 3]), _frame("x:", [4])])
    assert records._ids_may_repeat([_frame("x:", [3, 2])])
    with pytest.raises(DataError, match="x:2"):
        records.check_record_ids([_frame("x:", [2, 3]), _frame("x:", [2])])


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


def test_keyed_columns_computed_in_a_child_are_the_same(raw, tmp_path, monkeypatch):
    from pipeline.ingest.privacy import project_key

    config = StageContext(raw=raw, config_dir=CONFIG_DIR).config
    key = project_key("k")
    here, _ = ingest_part(raw, config, "public", key=key)
    there, _ = ingest_part(raw, config, "public", key=key, executor=Executor(workers=2))
    pd.testing.assert_frame_equal(here, there)
