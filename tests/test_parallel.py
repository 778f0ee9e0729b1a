"""The execution layer: parts and background work give the same results in one process or two, and without
``fork`` everything runs serially."""

from __future__ import annotations

import multiprocessing
import os
import time
from functools import partial

import pandas as pd
import pytest

from pipeline import parallel
from pipeline.errors import DataError
from pipeline.parallel import Background, Executor, run_parts


def _value(x):
    return x


def _fail(message):
    raise DataError(message)


def _pid():
    return os.getpid()


@pytest.mark.parametrize("here", [None, "a", "b", "c"])
def test_run_parts_returns_every_result_in_order_wherever_it_ran(here):
    parts = {name: partial(_value, name * 2) for name in "abc"}
    assert run_parts(parts, here=here) == {"a": "aa", "b": "bb", "c": "cc"}


@pytest.mark.parametrize("here", [None, "a", "b", "c"])
def test_run_parts_raises_the_first_failing_part_in_order(here):
    parts = {"a": partial(_value, 1), "b": partial(_fail, "b broke"), "c": partial(_fail, "c broke")}
    with pytest.raises(DataError, match="b broke"):
        run_parts(parts, here=here)


@pytest.mark.parametrize("enabled", [False, True])
def test_background_gives_the_result_or_raises_the_error_of_its_function(enabled):
    table = pd.DataFrame({"x": range(1000)})
    with Background(_value, table, enabled=enabled) as later:
        pd.testing.assert_frame_equal(later.result(), table)
    with (
        Background(_fail, "in the child", enabled=enabled) as later,
        pytest.raises(DataError, match="in the child"),
    ):
        later.result()


def test_background_left_without_asking_for_the_result_stops_its_child():
    with Background(time.sleep, 60, enabled=True) as later:
        child = later._child
    assert child is not None and not child.is_alive()


def test_work_of_a_child_that_dies_without_a_result_is_done_here():
    parent = os.getpid()

    def compute():
        if os.getpid() != parent:
            os._exit(1)  # the child dies
        return "done here"

    with Background(compute, enabled=True) as work:
        assert work.forked
        assert work.result() == "done here"


def test_executor_decides_by_threshold_and_workers(monkeypatch):
    monkeypatch.setattr(parallel, "cores", lambda: 2)
    auto = Executor()
    limit = parallel.THRESHOLDS["compare_parts_rows"]
    assert auto.splits(limit, "compare_parts_rows")
    assert not auto.splits(limit - 1, "compare_parts_rows")
    assert Executor(workers=2).splits(1, "compare_parts_rows")
    assert not Executor(workers=1).splits(10**9, "compare_parts_rows")
    monkeypatch.setattr(parallel, "cores", lambda: 1)
    assert not auto.splits(10**9, "compare_parts_rows")


def test_unknown_threshold_is_a_programming_error():
    with pytest.raises(KeyError):
        Executor(workers=1).splits(1, "no_such_threshold")


def test_without_fork_everything_runs_here_with_the_same_results(monkeypatch):
    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    ex = Executor(workers=2)
    assert not ex.splits(10**9, "compare_parts_rows")
    done = ex.run_parts({"a": _pid, "b": _pid}, here="a")
    assert done == {"a": os.getpid(), "b": os.getpid()}
    with ex.background(_pid, size=10**9, threshold="compare_parts_rows") as later:
        assert not later.forked
        assert later.result() == os.getpid()
    with Background(_pid, enabled=True) as later:
        assert not later.forked


def _would_split():
    return Executor(workers=2).splits(10**9, "compare_parts_rows")


def test_a_worker_starts_no_further_process():
    assert run_parts({"a": partial(_value, 1), "b": _would_split}, here="a") == {"a": 1, "b": False}


@pytest.mark.parametrize("stage", ["reliability", "compare"])
def test_a_stage_without_fork_writes_the_tables_it_writes_with_fork(
    simulated_pipeline, tmp_path, monkeypatch, stage
):
    from dataclasses import replace

    from pipeline.stages import stage_module
    from pipeline.stages.base import run_stage

    ctx, _ = simulated_pipeline
    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    copy = tmp_path / "out"
    for upstream in ("clean", "weight"):
        src = ctx.stage_dir(upstream)
        (copy / src.name).mkdir(parents=True)
        for f in src.iterdir():
            (copy / src.name / f.name).write_bytes(f.read_bytes())
    serial = replace(ctx, out=copy, options=replace(ctx.options, workers=2))
    run_stage(stage_module(stage), serial)
    for table in sorted(ctx.stage_dir(stage).glob("*.parquet")):
        pd.testing.assert_frame_equal(
            pd.read_parquet(serial.stage_dir(stage) / table.name), pd.read_parquet(table), check_exact=True
        )


def test_thread_map_keeps_the_order_of_its_items_and_threads_follow_the_threshold(monkeypatch):
    items = list(range(50))
    assert parallel.thread_map(lambda x: x * x, items, workers=4) == [x * x for x in items]
    assert parallel.thread_map(lambda x: x * x, items, workers=1) == [x * x for x in items]
    monkeypatch.setattr(parallel, "cores", lambda: 2)
    limit = parallel.THRESHOLDS["rake_coding_rows"]
    assert parallel.threads(limit, "rake_coding_rows") == 2
    assert parallel.threads(limit - 1, "rake_coding_rows") == 0


def _report_in_subprocess(queue):
    queue.put(parallel.in_subprocess())


def test_a_process_started_by_another_program_still_decides_as_a_top_level_process():
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(
        target=_report_in_subprocess, args=(queue,)
    )  # as a benchmark or a notebook pool would
    child.start()
    assert queue.get(timeout=30) is False
    child.join()
    assert run_parts({"a": partial(_value, 1), "b": parallel.in_subprocess}, here="a") == {"a": 1, "b": True}
