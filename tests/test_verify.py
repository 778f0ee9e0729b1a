"""``fazhi-eval verify``: an untouched output verifies against the inputs its manifest recorded; an edited raw
file, configuration file or output table is named, and the command exits 2."""

from __future__ import annotations

import json
import shutil

import pytest
from conftest import CONFIG_DIR

from pipeline import paths
from pipeline.cli import main
from pipeline.runner import run_stages
from pipeline.stages.base import StageContext

SEED = 13


@pytest.fixture(scope="module")
def made(tmp_path_factory, config):
    """(base): raw/, questionnaires/ and output/ (ingest and clean run on them) under one folder."""
    from pipeline.simulate import simulate_raw

    base = tmp_path_factory.mktemp("verify")
    shutil.copytree(CONFIG_DIR, base / "questionnaires")
    simulate_raw(config, base / "raw", seed=SEED, scale=0.1)
    ctx = StageContext(raw=base / "raw", out=base / "output", config_dir=base / "questionnaires", seed=SEED)
    run_stages(ctx, ["ingest", "clean"], echo=lambda *_: None)
    return base


@pytest.fixture
def copy(made, tmp_path):
    """A private copy of ``made``; verify is pointed at its raw and configuration folders with --raw/--config."""
    for name in ("raw", "questionnaires", "output"):
        shutil.copytree(made / name, tmp_path / name)
    return tmp_path


def _verify(base, capsys, *extra: str) -> tuple[int, str]:
    code = main(["verify", str(base / "output"), *extra])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.out + captured.err


def _verify_copy(base, capsys) -> tuple[int, str]:
    return _verify(base, capsys, "--raw", str(base / "raw"), "--config", str(base / "questionnaires"))


def test_an_untouched_run_verifies_against_the_paths_it_recorded(made, capsys):
    manifest = json.loads((made / "output" / paths.MANIFEST).read_text(encoding="utf-8"))
    assert manifest["raw_absolute"] == str((made / "raw").resolve())
    assert manifest["config_absolute"] == str((made / "questionnaires").resolve())
    code, text = _verify(made, capsys)
    assert code == 0, text
    assert "输出与其输入一致" in text and str((made / "raw").resolve()) in text


def test_an_untouched_copy_verifies_with_raw_and_config_given(copy, capsys):
    code, text = _verify_copy(copy, capsys)
    assert code == 0, text


def test_an_edited_raw_file_is_named(copy, capsys):
    (export,) = [p for p in (copy / "raw" / "public").iterdir() if "按文本" in p.name]
    export.write_bytes(export.read_bytes() + b"\0")
    (copy / "raw" / "staff" / "extra.csv").write_text("a\n1\n", encoding="utf-8")
    code, text = _verify_copy(copy, capsys)
    assert code == 2
    assert f"原始数据 (raw) public/{export.name} 已被修改" in text
    assert "原始数据 (raw) staff/extra.csv 为新增文件" in text
    assert "共 2 处" in text


def test_an_edited_configuration_file_is_named(copy, capsys):
    cleaning = copy / "questionnaires" / "cleaning.yaml"
    cleaning.write_text(cleaning.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    code, text = _verify_copy(copy, capsys)
    assert code == 2
    assert "配置 (config) cleaning.yaml 已被修改" in text and "共 1 处" in text


def test_an_edited_or_deleted_output_table_is_named(copy, capsys):
    table = copy / "output" / "02_clean" / "public.parquet"
    table.write_bytes(table.read_bytes()[:-1] + b"\1")
    (copy / "output" / "01_ingest" / "checkpoints.parquet").unlink()
    code, text = _verify_copy(copy, capsys)
    assert code == 2
    assert "输出 (output) 02_clean/public.parquet 已被修改" in text
    assert "输出 (output) 01_ingest/checkpoints.parquet 缺失" in text


def test_inputs_that_cannot_be_found_are_reported_not_crashed_on(copy, capsys):
    manifest_path = copy / "output" / paths.MANIFEST
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest.update(raw_absolute=str(copy / "moved_away"), raw="moved_away")
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    code, text = _verify(copy, capsys, "--config", str(copy / "questionnaires"))
    assert code == 2
    assert "找不到原始数据文件夹" in text and "--raw" in text


def test_an_output_without_a_manifest_says_what_to_run(tmp_path, capsys):
    (tmp_path / "output").mkdir()
    code, text = _verify(tmp_path, capsys)
    assert code == 2 and "fazhi-eval run" in text and "_manifest.json" in text


def test_a_stage_left_behind_by_a_later_run_of_its_upstream_is_named_stale(copy, capsys):
    cleaning = copy / "questionnaires" / "cleaning.yaml"
    cleaning.write_text(cleaning.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    io = ["--raw", str(copy / "raw"), "--config", str(copy / "questionnaires"), "--out", str(copy / "output")]
    assert main(["ingest", *io, "--seed", str(SEED)]) == 0  # ingest again, clean not
    capsys.readouterr()
    code, text = _verify_copy(copy, capsys)
    assert code == 2
    assert "阶段 (stage) 02_clean 由较早的输入生成" in text and "01_ingest 由较早" not in text
