"""Fast paths of the clean stage give what the direct computations give; clean split over two processes."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import CONFIG_DIR

from pipeline.clean import rules as R
from pipeline.clean.items import answer_columns
from pipeline.clean.responses import _screen
from pipeline.config import load_config
from pipeline.config.cleaning import CleaningRules
from pipeline.options import RunOptions
from pipeline.parallel import Executor
from pipeline.stages import clean, ingest
from pipeline.stages.base import StageContext, run_stage
from tests.test_clean_stage import ingest_like


@pytest.fixture(scope="module")
def public_cb():
    return load_config(CONFIG_DIR).codebook("public")


def _times(rng: np.random.Generator, n: int) -> pd.Series:
    minutes = rng.integers(0, 60, n)  # many ties and many gaps within 10 minutes
    t = pd.Series(pd.Timestamp("2024-05-01") + pd.to_timedelta(minutes, unit="min"))
    t[rng.random(n) < 0.05] = pd.NaT
    return t.astype("datetime64[ns]")


def test_submission_positions_sort_like_sort_values():
    rng = np.random.default_rng(1)
    n = 500
    frame = pd.DataFrame(
        {
            "submitted_at": _times(rng, n),
            "source_file": pd.Series(rng.choice(["b.xlsx", "a.csv", "纸质.xlsx"], n), dtype="str"),
            "source_row": rng.permutation(n) + 2,
        }
    )
    expected = frame.sort_values(list(frame.columns), na_position="last", kind="mergesort").index
    assert list(R._submission_positions(frame)) == list(expected)
    assert list(R.submission_order(frame)) == list(expected)


def test_groups_of_numbers_groups_in_order_of_first_appearance_with_their_first_rows():
    key = np.array([7, 3, 7, 9, 3, 3, 1, 9])
    group, first = R._groups_of(key)
    assert group.tolist() == [0, 1, 0, 2, 1, 1, 3, 2]
    assert first.tolist() == np.unique(group, return_index=True)[1].tolist() == [0, 1, 3, 6]


def _duplicate_frame(codebook, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = 400
    frame = ingest_like(codebook, n, rng)
    frame["submitted_at"] = _times(rng, n)
    frame["ip_key"] = pd.Series(rng.choice(["k1", "k2", "k3", "", None], n), dtype="str")
    frame["respondent"] = [f"r{i}" for i in range(n)]  # no repeated respondent: the IP part alone
    answers = answer_columns(codebook)
    donors = rng.integers(0, 20, n)  # many records copy the answers of one of 20
    copy = rng.random(n) < 0.7
    frame.loc[copy, answers] = frame.loc[donors[copy], answers].to_numpy()
    return frame


def _duplicates_by_brute_force(frame: pd.DataFrame, codebook, window_minutes: float) -> dict[int, str]:
    """For each record in submission order: the latest earlier record with the same IP and identical answers."""
    order = frame.sort_values(
        ["submitted_at", "source_file", "source_row"], na_position="last", kind="mergesort"
    ).index
    answers = (
        frame[answer_columns(codebook)].astype(object).where(frame[answer_columns(codebook)].notna(), None)
    )
    keys = [tuple(r) for r in answers.itertuples(index=False)]
    last: dict[tuple, int] = {}
    out = {}
    for i in order:
        ip = frame.at[i, "ip_key"]
        if not isinstance(ip, str) or not ip:
            continue
        k = (ip, keys[i])
        if k in last:
            j = last[k]
            gap = frame.at[i, "submitted_at"] - frame.at[j, "submitted_at"]
            if not pd.isna(gap) and gap <= pd.Timedelta(minutes=window_minutes):
                out[i] = f"同一IP答案完全相同，距 {frame.at[j, 'record_id']} {gap.value / 1e9:.0f} 秒"
        last[k] = i
    return out


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_same_ip_same_answers_found_among_near_records_equal_a_search_over_all(public_cb, seed):
    frame = _duplicate_frame(public_cb, seed)
    rules = CleaningRules.model_validate({"duplicate": {"by_respondent": False, "window_minutes": 10}})
    got = R.duplicate(frame, public_cb, rules)
    expected = _duplicates_by_brute_force(frame, public_cb, 10)
    assert 0 < len(expected) < len(frame)
    assert got.hit.tolist() == [i in expected for i in range(len(frame))]
    assert got.detail.tolist() == [expected.get(i, "") for i in range(len(frame))]


def test_screen_detail_lists_every_rule_that_caught_a_record_in_order(public_cb):
    frame = _duplicate_frame(public_cb, 6)
    frame.loc[::7, "duration_s"] = 5.0
    s = R.screen(frame, public_cb, CleaningRules())
    for i in range(len(frame)):
        parts = [f"{r.rule}: {r.detail.iloc[i]}" for r in s.results if r.hit.iloc[i]]
        assert s.detail.iloc[i] == " | ".join(parts)
    first = [
        next((r.rule for r in s.results if r.hit.iloc[i] and s.actions[r.rule] == "exclude"), None)
        for i in range(len(frame))
    ]
    assert [None if pd.isna(v) else v for v in s.excluded_by] == first
    assert s.excluded_by.dtype == "string"


def test_clean_in_two_processes_writes_the_same_tables(tmp_path_factory, config):
    simulate = pytest.importorskip("pipeline.simulate")
    raw = tmp_path_factory.mktemp("raw")
    simulate.simulate_raw(config, raw, seed=13, scale=0.1, plant=None)
    outs = {}
    for parallel in (False, True):
        ctx = StageContext(raw=raw, out=tmp_path_factory.mktemp(f"out{parallel}"), config_dir=CONFIG_DIR)
        run_stage(ingest, ctx)
        ctx = StageContext(
            raw=raw, out=ctx.out, config_dir=CONFIG_DIR, options=RunOptions(workers=2 if parallel else 1)
        )
        outs[parallel] = (run_stage(clean, ctx), ctx.stage_dir("clean"))
    assert json.dumps(outs[False][0]) == json.dumps(outs[True][0])
    names = sorted(p.name for p in outs[False][1].iterdir())
    assert names == sorted(p.name for p in outs[True][1].iterdir())
    for name in names:
        if not name.endswith(".parquet"):  # e.g. name_review.csv
            assert (outs[False][1] / name).read_bytes() == (outs[True][1] / name).read_bytes(), name
            continue
        pd.testing.assert_frame_equal(
            pd.read_parquet(outs[False][1] / name), pd.read_parquet(outs[True][1] / name)
        )


def test_rules_screened_in_a_child_give_the_same_screening(public_cb):
    frame = _duplicate_frame(public_cb, 8)
    here = _screen(frame, public_cb, CleaningRules())
    there = _screen(frame, public_cb, CleaningRules(), Executor(workers=2))
    pd.testing.assert_series_equal(here.excluded_by, there.excluded_by)
    pd.testing.assert_series_equal(here.detail, there.detail)
    pd.testing.assert_frame_equal(here.flags, there.flags)
    for a, b in zip(here.results, there.results, strict=True):
        assert a.rule == b.rule
        pd.testing.assert_series_equal(a.hit, b.hit)
        pd.testing.assert_series_equal(a.detail, b.detail)
