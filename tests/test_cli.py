"""The fazhi-eval command: help, exit codes, and what a user sees when their data is wrong."""

from __future__ import annotations

import json
import shutil

import pytest
from conftest import CONFIG_DIR

from pipeline import paths
from pipeline.cli import main


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for command in ("validate", "simulate", "template", "ingest", "clean", "weight", "run"):
        assert command in out


def test_every_stage_command_has_raw_out_and_config_options(capsys):
    for command in ("ingest", "clean", "weight", "run"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        out = capsys.readouterr().out
        assert "--raw" in out and "--out" in out and "--config" in out


def test_validate_exits_zero_and_prints_the_summary(capsys):
    assert main(["validate", "--config", str(CONFIG_DIR)]) == 0
    assert "53" in capsys.readouterr().out


def test_invalid_configuration_exits_one_without_traceback(tmp_path, capsys):
    broken = tmp_path / "questionnaires"
    shutil.copytree(CONFIG_DIR, broken)
    (broken / "units.yaml").write_text("units: [\n", encoding="utf-8")
    assert main(["validate", "--config", str(broken)]) == 1
    err = capsys.readouterr().err
    assert "units.yaml" in err and "Traceback" not in err


def test_unreadable_export_exits_two_naming_the_file_and_writes_no_stage_folder(tmp_path, capsys):
    raw = tmp_path / "raw"
    (raw / paths.RAW_PUBLIC_DIR).mkdir(parents=True)
    (raw / paths.RAW_PUBLIC_DIR / "broken_export.xlsx").write_bytes(b"this is not a workbook")
    out = tmp_path / "output"
    code = main(["ingest", "--raw", str(raw), "--out", str(out), "--config", str(CONFIG_DIR)])
    err = capsys.readouterr().err
    assert code == 2
    assert "broken_export.xlsx" in err and "Traceback" not in err
    assert not (out / "01_ingest").exists()
    assert not any(p.name.startswith(".01_ingest") for p in out.iterdir()) if out.exists() else True


def test_running_a_stage_before_its_input_exists_says_which_command_to_run(tmp_path, capsys):
    code = main(
        ["weight", "--raw", str(tmp_path), "--out", str(tmp_path / "out"), "--config", str(CONFIG_DIR)]
    )
    assert code == 2
    assert "fazhi-eval clean" in capsys.readouterr().err


def test_run_writes_every_stage_folder_and_the_manifest(simulated_pipeline):
    ctx, _ = simulated_pipeline
    manifest = json.loads((ctx.out / paths.MANIFEST).read_text(encoding="utf-8"))
    from pipeline.stages import available_stages

    for stage in available_stages():
        assert (ctx.out / paths.STAGE_FOLDERS[stage]).is_dir()
        assert manifest["stages"][stage]["outputs"]
    assert manifest["config_digest"] == ctx.config.digest
    assert any(name.startswith("public/") for name in manifest["inputs"])
    assert "pandas" in manifest["packages"]
