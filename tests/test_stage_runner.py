"""The stage runner writes a stage folder all-or-nothing and records each run in the manifest."""

from __future__ import annotations

import json
import types

import pandas as pd
import pytest
from conftest import CONFIG_DIR

from pipeline import paths
from pipeline.errors import DataError
from pipeline.stages.base import StageContext, run_stage, write_table


def _stage(name: str, fail: bool = False) -> types.ModuleType:
    module = types.ModuleType(f"fake_{name}")
    module.NAME = name
    module.REQUIRES = ()

    def run(ctx, dest):
        write_table(pd.DataFrame({"x": [1, 2, 3]}), dest, "table")
        if fail:
            raise DataError("bad row")
        return {"rows": 3}

    module.run = run
    return module


def _counting_stages(calls: list[str], report_config: dict[str, tuple[str, ...]] | None = None):
    """A ``stage_module`` replacement whose fake stages append their name to ``calls`` when they run."""

    def counting(name):
        module = _stage(name)
        inner = module.run
        if report_config and name in report_config:
            module.REPORT_CONFIG = report_config[name]

        def run(ctx, dest):
            calls.append(name)
            return inner(ctx, dest)

        module.run = run
        return module

    return counting


def test_successful_stage_lands_in_its_numbered_folder(tmp_path):
    ctx = StageContext(raw=tmp_path / "raw", out=tmp_path / "out")
    summary = run_stage(_stage("ingest"), ctx)
    assert summary == {"rows": 3}
    assert (tmp_path / "out" / "01_ingest" / "table.parquet").exists()
    assert ctx.read_table("ingest", "table")["x"].tolist() == [1, 2, 3]


def test_failed_stage_keeps_previous_output_and_leaves_no_temporary_folder(tmp_path):
    ctx = StageContext(raw=tmp_path / "raw", out=tmp_path / "out")
    run_stage(_stage("ingest"), ctx)
    before = (tmp_path / "out" / "01_ingest" / "table.parquet").read_bytes()
    with pytest.raises(DataError):
        run_stage(_stage("ingest", fail=True), ctx)
    assert (tmp_path / "out" / "01_ingest" / "table.parquet").read_bytes() == before
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["01_ingest"]


def test_reading_a_stage_that_has_not_run_names_the_command_to_run(tmp_path):
    ctx = StageContext(raw=tmp_path / "raw", out=tmp_path / "out")
    with pytest.raises(DataError, match="fazhi-eval clean"):
        ctx.read_table("clean", "public")


def test_manifest_records_inputs_config_and_stage_times(tmp_path, monkeypatch):
    from pipeline import runner

    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "a.csv").write_text("x\n1\n", encoding="utf-8")
    config = types.SimpleNamespace(digest="abc")
    ctx = StageContext(raw=raw, out=tmp_path / "out")
    object.__setattr__(ctx, "__dict__", {**ctx.__dict__, "config": config})
    monkeypatch.setattr(runner, "stage_module", lambda name: _stage(name))
    manifest = runner.run_stages(ctx, ["ingest", "clean"], echo=lambda *_: None)
    stored = json.loads((tmp_path / "out" / paths.MANIFEST).read_text(encoding="utf-8"))
    assert stored["config_digest"] == "abc"
    assert set(stored["inputs"]) == {"a.csv"}
    assert set(stored["stages"]) == {"ingest", "clean"}
    assert stored["stages"]["clean"]["summary"] == {"rows": 3}
    assert manifest["seed"] == ctx.seed


def test_unchanged_stage_is_reused_and_a_changed_input_reruns_it(tmp_path, monkeypatch):
    from pipeline import runner

    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "a.csv").write_text("x\n1\n", encoding="utf-8")
    calls: list[str] = []
    monkeypatch.setattr(runner, "stage_module", _counting_stages(calls))

    def fresh_ctx():
        ctx = StageContext(raw=raw, out=tmp_path / "out")
        object.__setattr__(ctx, "__dict__", {**ctx.__dict__, "config": types.SimpleNamespace(digest="abc")})
        return ctx

    runner.run_stages(fresh_ctx(), ["ingest"], echo=lambda *_: None)
    manifest = runner.run_stages(fresh_ctx(), ["ingest"], echo=lambda *_: None)
    assert calls == ["ingest"]
    assert manifest["stages"]["ingest"]["reused"] is True
    (raw / "a.csv").write_text("x\n2\n", encoding="utf-8")
    runner.run_stages(fresh_ctx(), ["ingest"], echo=lambda *_: None)
    assert calls == ["ingest", "ingest"]
    runner.run_stages(fresh_ctx(), ["ingest"], echo=lambda *_: None, force=True)
    assert calls == ["ingest", "ingest", "ingest"]


def _config_copy(tmp_path):
    import shutil

    from pipeline.config import load_config

    directory = tmp_path / "questionnaires"
    shutil.copytree(CONFIG_DIR, directory)
    return directory, load_config


def test_editing_a_report_only_file_keeps_analysis_stages_and_pseudonym_key(tmp_path, monkeypatch):
    from pipeline import runner
    from pipeline.config.loader import REPORT_FILES

    directory, load_config = _config_copy(tmp_path)
    before = load_config(directory)
    report_file = directory / sorted(REPORT_FILES)[0]
    report_file.write_text(report_file.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    after = load_config(directory)
    assert after.digest != before.digest
    assert after.analysis_digest == before.analysis_digest  # the weak pseudonym key derives from this one

    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "a.csv").write_text("x\n1\n", encoding="utf-8")
    calls: list[str] = []
    # "clean" stands in for a reporting stage that reads the report-only file
    monkeypatch.setattr(
        runner, "stage_module", _counting_stages(calls, {"clean": tuple(sorted(REPORT_FILES))})
    )

    def ctx_with(config):
        ctx = StageContext(raw=raw, out=tmp_path / "out")
        object.__setattr__(ctx, "__dict__", {**ctx.__dict__, "config": config})
        return ctx

    runner.run_stages(ctx_with(before), ["ingest", "clean"], echo=lambda *_: None)
    manifest = runner.run_stages(ctx_with(after), ["ingest", "clean"], echo=lambda *_: None)
    assert calls == ["ingest", "clean", "clean"]
    assert manifest["stages"]["ingest"]["reused"] is True
    assert manifest["config_files"][report_file.name] == after.file_digests[report_file.name]


def test_editing_an_analysis_file_reruns_the_analysis_stages(tmp_path, monkeypatch):
    from pipeline import runner

    directory, load_config = _config_copy(tmp_path)
    before = load_config(directory)
    cleaning = directory / "cleaning.yaml"
    cleaning.write_text(cleaning.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    after = load_config(directory)
    assert after.analysis_digest != before.analysis_digest

    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "a.csv").write_text("x\n1\n", encoding="utf-8")
    calls: list[str] = []
    monkeypatch.setattr(runner, "stage_module", _counting_stages(calls))
    for config in (before, after):
        ctx = StageContext(raw=raw, out=tmp_path / "out")
        object.__setattr__(ctx, "__dict__", {**ctx.__dict__, "config": config})
        runner.run_stages(ctx, ["ingest"], echo=lambda *_: None)
    assert calls == ["ingest", "ingest"]


def test_a_later_stage_run_alone_keeps_the_raw_digests_its_inputs_were_made_from(tmp_path, monkeypatch):
    from pipeline import runner

    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "a.csv").write_text("x\n1\n", encoding="utf-8")
    calls: list[str] = []
    counting = _counting_stages(calls)

    def stages(name):
        module = counting(name)
        module.REQUIRES = ("ingest",) if name == "clean" else ()
        return module

    monkeypatch.setattr(runner, "stage_module", stages)

    def fresh_ctx():
        ctx = StageContext(raw=raw, out=tmp_path / "out")
        object.__setattr__(ctx, "__dict__", {**ctx.__dict__, "config": types.SimpleNamespace(digest="abc")})
        return ctx

    first = runner.run_stages(fresh_ctx(), ["ingest", "clean"], echo=lambda *_: None)["inputs"]
    (raw / "a.csv").write_text("x\n2\n", encoding="utf-8")
    manifest = runner.run_stages(fresh_ctx(), ["clean"], echo=lambda *_: None)
    assert manifest["inputs"] == first
    assert calls == ["ingest", "clean"]
    manifest = runner.run_stages(fresh_ctx(), ["ingest"], echo=lambda *_: None)
    assert manifest["inputs"] != first
    assert calls == ["ingest", "clean", "ingest"]


def test_an_option_reruns_the_stages_it_affects_and_an_execution_option_reruns_none(tmp_path, monkeypatch):
    from pipeline import runner
    from pipeline.options import RunOptions

    raw = tmp_path / "raw"
    raw.mkdir()
    calls: list[str] = []
    monkeypatch.setattr(runner, "stage_module", _counting_stages(calls))
    stages = ["weight", "reliability", "compare"]

    def run(**options):
        ctx = StageContext(raw=raw, out=tmp_path / "out", options=RunOptions(**options))
        object.__setattr__(ctx, "__dict__", {**ctx.__dict__, "config": types.SimpleNamespace(digest="abc")})
        calls.clear()
        return runner.run_stages(ctx, stages, echo=lambda *_: None)

    run()
    assert calls == stages
    run()
    assert calls == []
    manifest = run(min_n=5)
    assert calls == ["compare"]
    assert manifest["options"]["min_n"] == 5
    run(min_n=5, workers=1)
    assert calls == []
    run(min_n=5, n_boot=100)
    assert calls == ["reliability"]


def test_run_options_come_from_the_command_line():
    from pipeline.cli import _run_options, build_parser
    from pipeline.options import RunOptions

    args = build_parser().parse_args(["run", "--min-n", "5", "--n-boot", "200", "--workers", "1"])
    assert _run_options(args) == RunOptions(min_n=5, n_boot=200, workers=1)
    assert _run_options(build_parser().parse_args(["compare"])) == RunOptions()


def test_impossible_run_options_are_refused_with_a_message(tmp_path, capsys):
    from pipeline.cli import main

    status = main(["compare", "--out", str(tmp_path), "--config", str(CONFIG_DIR), "--min-n", "40"])
    assert status == 1
    assert "min_n" in capsys.readouterr().err
