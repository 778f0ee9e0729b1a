"""The circuit breaker of the clean stage (pipeline/clean/breaker.py, cleaning.yaml: circuit_breaker).

End to end: a small simulated raw set, one thing broken in its public 问卷星 export the way hand-editing breaks it,
run through ingest and clean by the CLI: exit 2, a message naming what looks wrong and the switch, no traceback,
and the previous 02_clean output untouched."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import CONFIG_DIR

from pipeline import cli, paths
from pipeline.clean.breaker import cross_file_duplicates, input_trips, minutes_evidence, rule_trips
from pipeline.clean.rules import screen
from pipeline.config import load_config
from pipeline.config.cleaning import CircuitBreaker, CleaningRules
from pipeline.ingest.timing import duration_seconds


@pytest.fixture(scope="module")
def sample_raw(tmp_path_factory) -> Path:
    from pipeline.simulate import simulate_raw

    raw = tmp_path_factory.mktemp("raw")
    simulate_raw(load_config(CONFIG_DIR), raw, seed=3, scale=0.1, plant=None)
    for folder in ("casefiles", "checkpoints"):  # not needed here: faster runs
        shutil.rmtree(raw / folder, ignore_errors=True)
    return raw


@pytest.fixture(scope="module")
def ingested(sample_raw, tmp_path_factory) -> Path:
    """The 01_ingest folder of :func:`sample_raw`."""
    from pipeline.runner import run_stages
    from pipeline.stages.base import StageContext

    ctx = StageContext(raw=sample_raw, out=tmp_path_factory.mktemp("out"), config_dir=CONFIG_DIR)
    run_stages(ctx, ["ingest"], echo=lambda *_: None)
    return ctx.stage_dir("ingest")


def _copy(sample_raw: Path, tmp_path: Path) -> tuple[Path, Path]:
    raw = tmp_path / "raw"
    shutil.copytree(sample_raw, raw)
    (export,) = [p for p in (raw / "public").iterdir() if p.name[0].isdigit()]
    return raw, export


def _edit(export: Path, change) -> None:
    frame = pd.read_excel(export, dtype=object, engine="calamine")
    change(frame).to_excel(export, index=False)


def _config(tmp_path: Path, **breaker) -> Path:
    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config)
    path = config / "cleaning.yaml"
    rules = yaml.safe_load(path.read_text(encoding="utf-8"))
    rules["circuit_breaker"].update(breaker)
    path.write_text(yaml.safe_dump(rules, allow_unicode=True), encoding="utf-8")
    return config


def _run(raw: Path, out: Path, capsys, config: Path = CONFIG_DIR) -> tuple[int, str]:
    code = cli.main(
        ["run", "--raw", str(raw), "--out", str(out), "--config", str(config), "--only", "ingest", "clean"]
    )
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _in_minutes(frame: pd.DataFrame) -> pd.DataFrame:
    frame["所用时间"] = [round(duration_seconds(v) / 60, 2) for v in frame["所用时间"]]
    return frame


def test_durations_converted_to_minutes_stop_the_run_naming_minutes_and_the_switch(
    sample_raw, tmp_path, capsys
):
    raw, export = _copy(sample_raw, tmp_path)
    _edit(export, _in_minutes)
    code, text = _run(raw, tmp_path / "out", capsys)
    assert code == 2
    assert "Traceback" not in text
    assert "所用时间 looks like minutes" in text and "below 60" in text
    assert "circuit_breaker.meta_columns: off" in text and "circuit_breaker.speeder: off" in text
    assert not (tmp_path / "out" / paths.STAGE_FOLDERS["clean"]).exists()


def test_a_stop_leaves_the_previous_clean_output_untouched(sample_raw, tmp_path, capsys):
    raw, export = _copy(sample_raw, tmp_path)
    out = tmp_path / "out"
    assert _run(raw, out, capsys)[0] == 0
    clean = out / paths.STAGE_FOLDERS["clean"]
    before = {p.name: p.read_bytes() for p in clean.iterdir()}
    _edit(export, _in_minutes)
    assert _run(raw, out, capsys)[0] == 2
    assert {p.name: p.read_bytes() for p in clean.iterdir()} == before
    report = json.loads((out / paths.RUN_REPORT).read_text(encoding="utf-8"))
    assert report["failed"]["stage"] == "clean"


def test_switching_the_checks_off_lets_minutes_through(sample_raw, tmp_path, capsys):
    raw, export = _copy(sample_raw, tmp_path)
    _edit(export, _in_minutes)
    config = _config(tmp_path, meta_columns="off", speeder="off")
    code, _ = _run(raw, tmp_path / "out", capsys, config)
    assert code == 0


def test_a_renamed_duration_column_stops_the_run_and_names_the_new_header(sample_raw, tmp_path, capsys):
    raw, export = _copy(sample_raw, tmp_path)
    _edit(export, lambda f: f.rename(columns={"所用时间": "作答时长"}))
    code, text = _run(raw, tmp_path / "out", capsys)
    assert code == 2 and "Traceback" not in text
    assert "missing 问卷星 meta column 所用时间" in text and "作答时长" in text
    assert "circuit_breaker.meta_columns: off" in text


def test_an_export_holding_only_its_header_row_stops_the_run(sample_raw, tmp_path, capsys):
    raw, export = _copy(sample_raw, tmp_path)
    _edit(export, lambda f: f.iloc[:0])
    code, text = _run(raw, tmp_path / "out", capsys)
    assert code == 2 and export.name in text
    assert "no record read" in text and "circuit_breaker.empty_file: off" in text


def test_blanked_meta_columns_stop_the_run_unless_the_check_is_off(sample_raw, tmp_path, capsys):
    raw, export = _copy(sample_raw, tmp_path)

    def blank(frame):
        for col in ("提交答卷时间", "所用时间", "来自IP"):
            frame[col] = None
        return frame

    _edit(export, blank)
    code, text = _run(raw, tmp_path / "out", capsys)
    assert code == 2
    for col in ("提交答卷时间", "所用时间", "来自IP"):
        assert f"column {col} is blank in every row" in text
    assert _run(raw, tmp_path / "out2", capsys, _config(tmp_path, meta_columns="off"))[0] == 0


def test_dates_and_durations_retyped_by_hand_run_through_with_the_same_sample(sample_raw, tmp_path, capsys):
    raw, export = _copy(sample_raw, tmp_path)
    assert _run(raw, tmp_path / "before", capsys)[0] == 0

    def retype(frame):
        t = pd.to_datetime(frame["提交答卷时间"], format="%Y/%m/%d %H:%M:%S")
        frame["提交答卷时间"] = [
            f"{x.year}年{x.month}月{x.day}日 {x.hour}:{x.minute:02d}:{x.second:02d}" for x in t
        ]
        seconds = [duration_seconds(v) for v in frame["所用时间"]]
        frame["所用时间"] = [
            v if s != s else f"{int(s) // 60}:{int(s) % 60:02d}"
            for v, s in zip(frame["所用时间"], seconds, strict=True)
        ]
        return frame

    _edit(export, retype)
    assert _run(raw, tmp_path / "after", capsys)[0] == 0
    folder = paths.STAGE_FOLDERS["clean"]
    flows = [pd.read_parquet(tmp_path / o / folder / "flow.parquet") for o in ("before", "after")]
    pd.testing.assert_frame_equal(*flows)


def test_a_simulated_sample_stays_far_below_the_thresholds(ingested, config):
    cfg = config.cleaning.circuit_breaker
    for instrument in ("public", "staff"):
        frame = pd.read_parquet(ingested / f"{instrument}.parquet")
        screening = screen(frame, config.codebook(instrument), config.cleaning)
        assert rule_trips(frame, screening, config.cleaning) == []
        for res in screening.results:
            share = res.hit.groupby(frame["source_file"]).mean()
            if res.rule in ("speeder", "straightline", "attention", "missing"):
                assert (share < cfg.max_excluded_share / 2).all(), (instrument, res.rule, share)


# ------------------------------------------------------------------------------------------------ the core


def _frame(n: int, durations, *, mode="text", file="a.xlsx") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "record_id": [f"a:{i + 2}" for i in range(n)],
            "source_file": file,
            "source_sheet": "Sheet1",
            "mode": mode,
            "duration_s": durations,
            "submitted_at": pd.Timestamp("2023-07-10"),
            "ip_key": "k",
        }
    )


def _entry(n: int, *, mode="text", columns=("所用时间", "提交答卷时间", "来自IP")) -> dict:
    return {
        "file": "a.xlsx",
        "sheet": "Sheet1",
        "instrument": "public",
        "mode": mode,
        "rows": n,
        "meta_columns": {
            c: {"column": c if c in columns else None, "n_filled": n if c in columns else 0}
            for c in ("所用时间", "提交答卷时间", "来自IP")
        },
    }


def test_paper_sheets_have_no_meta_columns_and_are_not_checked_for_them():
    frame = _frame(60, float("nan"), mode="paper").assign(submitted_at=pd.NaT, ip_key="")
    entry = _entry(60, mode="paper", columns=())
    assert input_trips(frame, [entry], CircuitBreaker(), "public") == []


def test_a_small_file_is_not_checked_for_shares_but_a_missing_column_still_stops():
    frame = _frame(10, 300.0)
    assert input_trips(frame, [_entry(10)], CircuitBreaker(), "public") == []
    (trip,) = input_trips(frame, [_entry(10, columns=("提交答卷时间", "来自IP"))], CircuitBreaker(), "public")
    assert trip.check == "meta_columns" and "所用时间" in trip.message


def test_whole_seconds_below_60_do_not_look_like_minutes():
    assert minutes_evidence(pd.Series([30.0, 45.0, 59.0])) is None
    assert minutes_evidence(pd.Series([4.32, 3.5, 12.25, 75.0] + [5.5] * 20)) is not None
    assert minutes_evidence(pd.Series([272.0, 4.5, 300.0])) is None


def test_an_unquoted_off_switches_a_check_off():
    rules = CleaningRules.model_validate(yaml.safe_load("circuit_breaker: {speeder: off, empty_file: on}"))
    assert rules.circuit_breaker.speeder == "off" and rules.circuit_breaker.empty_file == "check"


def test_a_rule_set_to_flag_is_not_watched(ingested, config):
    frame = pd.read_parquet(ingested / "public.parquet")
    frame = frame.assign(duration_s=1.0)  # every online record a speeder
    rules = config.cleaning
    exclude = rule_trips(frame, screen(frame, config.codebook("public"), rules), rules)
    assert any(t.check == "speeder" for t in exclude)
    flagged = rules.model_copy(update={"speeder": rules.speeder.model_copy(update={"action": "flag"})})
    assert not any(
        t.check == "speeder"
        for t in rule_trips(frame, screen(frame, config.codebook("public"), flagged), flagged)
    )


def test_duplicates_across_files_are_a_warning_naming_both_files(ingested, config):
    frame = pd.read_parquet(ingested / "staff.parquet")
    copy = frame.assign(
        source_file="副本.xlsx",
        record_id=frame["record_id"].str.replace(r"^[^:]+", "副本", regex=True),
    )
    both = pd.concat([frame, copy], ignore_index=True)
    screening = screen(both, config.codebook("staff"), config.cleaning)
    warnings = cross_file_duplicates(both, screening)
    (w,) = [w for w in warnings if w["file"] == "副本.xlsx"]
    assert w["code"] == "cross_file_duplicates" and w["other"] == frame["source_file"].iloc[0]
    assert w["n"] >= 0.9 * len(frame)
