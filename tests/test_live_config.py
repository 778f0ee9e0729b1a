"""The live ``questionnaires/`` validate and run end to end on data simulated from them.

Every other test reads the frozen copy in ``tests/fixtures/config/``. This one reads the configuration a team
edits, so a consistent edit (an item reworded, a demographic question added, a response set changed) passes and
an inconsistent one fails here. It pins no numbers: only that each stage writes its folder and the manifest.
"""

from __future__ import annotations

import json

import pytest
from conftest import ROOT

from pipeline import paths
from pipeline.cli import main
from pipeline.config import load_config
from pipeline.options import RunOptions
from pipeline.runner import available_stages, run_stages
from pipeline.simulate import simulate_raw
from pipeline.stages.base import StageContext

LIVE = ROOT / paths.DEFAULT_CONFIG
SCALE = 0.1
SEED = 20231
N_BOOT = 20  # bootstrap replicates: enough to run the code path, the interval is tested elsewhere


@pytest.fixture(scope="module")
def live_run(tmp_path_factory):
    """(ctx, manifest): the live configuration simulated at a small scale and run through every stage."""
    config = load_config(LIVE)
    base = tmp_path_factory.mktemp("live")
    simulate_raw(config, base / "raw", seed=SEED, scale=SCALE)
    ctx = StageContext(
        raw=base / "raw", out=base / "output", config_dir=LIVE, seed=SEED, options=RunOptions(n_boot=N_BOOT)
    )
    return ctx, run_stages(ctx, echo=lambda *_: None)


def test_the_live_configuration_validates(capsys):
    assert main(["validate", "--config", str(LIVE)]) == 0, capsys.readouterr().err


def test_every_stage_writes_its_folder_on_data_simulated_from_the_live_configuration(live_run):
    ctx, _ = live_run
    for stage in available_stages():
        folder = paths.stage_dir(ctx.out, stage)
        assert folder.is_dir(), f"{stage}: {folder.name}/ not written"
        assert any(folder.glob("*.parquet")), f"{stage}: no table in {folder.name}/"


def test_the_manifest_records_every_stage_and_the_live_configuration(live_run):
    ctx, manifest = live_run
    stored = json.loads((ctx.out / paths.MANIFEST).read_text(encoding="utf-8"))
    assert set(stored["stages"]) == set(available_stages()) == set(manifest["stages"])
    assert stored["config_digest"] == load_config(LIVE).digest
    assert (ctx.out / paths.RUN_REPORT).is_file()
