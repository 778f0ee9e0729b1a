"""The run report (output/_run_report.json) and the console summary: valid n, exclusions, α, skips and warnings
of every stage, written after every run."""

from __future__ import annotations

import json
import shutil
import types

import numpy as np
import pandas as pd
import pytest
from conftest import CONFIG_DIR

from pipeline import paths, runner
from pipeline.errors import DataError
from pipeline.run_report import build_report, format_summary
from pipeline.stages.base import StageContext, write_table


def _flow() -> pd.DataFrame:
    rows = []
    for instrument, raw, dup, fast in (("public", 3028, 12, 40), ("staff", 1306, 4, 0)):
        rows += [
            (instrument, "raw", "原始记录", 0, raw),
            (instrument, "duplicate", "重复提交", dup, raw - dup),
            (instrument, "speeder", "作答时间过短", fast, raw - dup - fast),
            (instrument, "valid", "有效样本", 0, raw - dup - fast),
        ]
    return pd.DataFrame(rows, columns=["instrument", "rule", "reason", "n_excluded", "n_after"])


def _reliability() -> pd.DataFrame:
    rows = []
    for instrument, scale, alpha, n in (("public", "SG", 0.871, 2800), ("staff", "SA", np.nan, 0)):
        note = "作答题目少于2题" if np.isnan(alpha) else ""
        for weighted, shift in ((False, 0.0), (True, 0.01)):
            for _method in ("feldt", "bootstrap"):
                rows.append((instrument, scale, f"{scale} 名称", "alpha", alpha + shift, weighted, n, note))
            rows.append((instrument, scale, f"{scale} 名称", "omega_total", 0.9, weighted, n, note))
    columns = ["instrument", "scale", "scale_name", "statistic", "estimate", "weighted", "n", "note"]
    return pd.DataFrame(rows, columns=columns)


def _manifest(**stages) -> dict:
    return {"updated": "2024-01-01T00:00:00+00:00", "stages": stages}


WARNING = {"code": "similar_header", "file": "a.xlsx", "message": "列 'x' 按相似度 0.86 对应题目 P01"}
SKIP = {"what": "staff", "reason": "原始数据中 staff/ 为空或不存在"}


def test_run_report_counts_valid_n_exclusions_and_alpha_per_scale():
    report = build_report(_manifest(), _flow(), _reliability())
    assert report["samples"] == [
        {"instrument": "public", "raw": 3028, "valid": 2976},
        {"instrument": "staff", "raw": 1306, "valid": 1302},
    ]
    assert [(e["instrument"], e["rule"], e["n"]) for e in report["exclusions"]] == [
        ("public", "duplicate", 12),
        ("public", "speeder", 40),
        ("staff", "duplicate", 4),
    ]
    public, staff = report["reliability"]
    assert (public["scale"], public["alpha"], public["alpha_weighted"], public["n"]) == (
        "SG",
        0.871,
        0.881,
        2800,
    )
    assert public["note"] is None
    assert staff["alpha"] is None and staff["note"] == "作答题目少于2题"
    json.dumps(report)  # JSON-able as it is


def test_skips_and_warnings_are_collected_from_every_stage_summary_reused_ones_too():
    manifest = _manifest(
        ingest={"reused": True, "summary": {"warnings": [WARNING], "skipped": [SKIP]}},
        clean={"reused": False, "summary": {"public": {"raw": 1}}},
        weight={"reused": False, "summary": {"skipped": [{"what": "staff", "reason": "无记录"}]}},
    )
    report = build_report(manifest)
    assert report["warnings"] == [{"stage": "ingest", **WARNING}]
    assert report["skipped"] == [
        {"stage": "ingest", **SKIP},
        {"stage": "weight", "what": "staff", "reason": "无记录"},
    ]
    assert [s["reused"] for s in report["stages"]] == [True, False, False]
    assert report["samples"] == report["exclusions"] == report["reliability"] == []


def test_console_summary_in_chinese_with_thousands_separators():
    manifest = _manifest(ingest={"summary": {"warnings": [WARNING], "skipped": [SKIP]}})
    lines = format_summary(build_report(manifest, _flow(), _reliability()))
    text = "\n".join(lines)
    assert "有效样本 (valid / raw): 公众 2,976 / 3,028; 公职人员 1,302 / 1,306" in text
    assert "剔除 (excluded): 公众 作答时间过短 40, 重复提交 12; 公职人员 重复提交 4" in text
    assert "公众 SG 0.87; 公职人员 SA —" in text
    assert "跳过 (skipped) [ingest] staff: 原始数据中 staff/ 为空或不存在" in text
    assert "[ingest] a.xlsx: 列 'x' 按相似度 0.86 对应题目 P01" in text


# -------------------------------------------------------------------------------------------- in the runner


def _fake(name: str, summary: dict | None = None, fail: bool = False) -> types.ModuleType:
    module = types.ModuleType(f"fake_{name}")
    module.NAME, module.REQUIRES = name, ()

    def run(ctx, dest):
        write_table(pd.DataFrame({"x": [1]}), dest, "table")
        if fail:
            raise DataError("坏数据 (bad data)")
        return summary or {}

    module.run = run
    return module


def _ctx(tmp_path) -> StageContext:
    raw = tmp_path / "raw"
    raw.mkdir(exist_ok=True)
    ctx = StageContext(raw=raw, out=tmp_path / "out")
    object.__setattr__(ctx, "__dict__", {**ctx.__dict__, "config": types.SimpleNamespace(digest="abc")})
    return ctx


def test_stage_warnings_and_skips_are_printed_under_the_stage_line(tmp_path, monkeypatch):
    summaries = {"ingest": {"warnings": [WARNING], "skipped": [SKIP]}}
    monkeypatch.setattr(runner, "stage_module", lambda name: _fake(name, summaries.get(name)))
    lines: list[str] = []
    runner.run_stages(_ctx(tmp_path), ["ingest", "clean"], echo=lines.append)
    at = lines.index("[01_ingest] ingest ...")
    assert lines[at + 2] == "    跳过 (skipped) staff: 原始数据中 staff/ 为空或不存在"
    assert lines[at + 3] == "    ! a.xlsx: 列 'x' 按相似度 0.86 对应题目 P01"
    assert lines[at + 4] == "[02_clean] clean ..."


def test_run_report_is_written_after_a_single_stage_run_and_keeps_reused_stages(tmp_path, monkeypatch):
    summaries = {"ingest": {"warnings": [WARNING]}}
    monkeypatch.setattr(runner, "stage_module", lambda name: _fake(name, summaries.get(name)))
    runner.run_stages(_ctx(tmp_path), ["ingest", "clean"], echo=lambda *_: None)
    (tmp_path / "out" / paths.RUN_REPORT).unlink()
    lines: list[str] = []
    runner.run_stages(_ctx(tmp_path), ["clean"], echo=lines.append, force=True)
    report = json.loads((tmp_path / "out" / paths.RUN_REPORT).read_text(encoding="utf-8"))
    assert report["warnings"] == [{"stage": "ingest", **WARNING}]
    assert report["failed"] is None
    assert lines[-2:] == ["警告 (warnings): 1 条", "  [ingest] a.xlsx: 列 'x' 按相似度 0.86 对应题目 P01"]


def test_a_failed_stage_is_named_in_the_run_report(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "stage_module", lambda name: _fake(name, fail=name == "clean"))
    with pytest.raises(DataError):
        runner.run_stages(_ctx(tmp_path), ["ingest", "clean"], echo=lambda *_: None)
    report = json.loads((tmp_path / "out" / paths.RUN_REPORT).read_text(encoding="utf-8"))
    assert report["failed"] == {"stage": "clean", "error": "坏数据 (bad data)"}
    assert [s["stage"] for s in report["stages"]] == ["ingest"]


def test_run_report_of_the_simulated_pipeline_matches_its_tables(simulated_pipeline):
    ctx, _ = simulated_pipeline
    report = json.loads((ctx.out / paths.RUN_REPORT).read_text(encoding="utf-8"))
    flow = ctx.read_table("clean", "flow")
    valid = flow[flow["rule"] == "valid"].set_index("instrument")["n_after"]
    assert {s["instrument"]: s["valid"] for s in report["samples"]} == valid.to_dict()
    excluded = flow.groupby("instrument")["n_excluded"].sum()
    by_instrument = pd.DataFrame(report["exclusions"]).groupby("instrument")["n"].sum()
    assert by_instrument.to_dict() == excluded[excluded > 0].to_dict()
    n_scales = sum(len(ctx.config.codebook(i).questionnaire.scales) for i in ("public", "staff"))
    assert len(report["reliability"]) == n_scales
    assert all(a["alpha"] is not None and 0 < a["alpha"] < 1 for a in report["reliability"])


@pytest.fixture(scope="module")
def raw_without_staff(tmp_path_factory):
    from pipeline.config import load_config
    from pipeline.simulate import simulate_raw

    raw = tmp_path_factory.mktemp("raw")
    simulate_raw(load_config(CONFIG_DIR), raw, seed=1, scale=0.1, plant=None)
    shutil.rmtree(raw / "staff")
    return raw


def test_an_empty_raw_folder_is_skipped_by_ingest_and_clean_runs_on_the_empty_table(
    raw_without_staff, tmp_path
):
    (raw_without_staff / "staff").mkdir(exist_ok=True)  # empty rather than absent: the same
    ctx = StageContext(raw=raw_without_staff, out=tmp_path / "out", config_dir=CONFIG_DIR)
    lines: list[str] = []
    manifest = runner.run_stages(ctx, ["ingest", "clean"], echo=lines.append)
    assert any("跳过" in line and "staff" in line for line in lines)
    assert len(ctx.read_table("ingest", "staff")) == 0  # typed: passes the schema check
    assert manifest["stages"]["clean"]["summary"]["staff"]["raw"] == 0
    report = json.loads((ctx.out / "_run_report.json").read_text(encoding="utf-8"))
    assert {"instrument": "staff", "raw": 0, "valid": 0} in report["samples"]
    assert [(s["stage"], s["what"]) for s in report["skipped"]] == [("ingest", "staff")]
