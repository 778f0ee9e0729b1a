"""Shared fixtures: one small simulated raw set run through every available stage, once per test session."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: A frozen copy of questionnaires/ (see its README): the suite does not break when a team edits the live
#: configuration; tests/test_live_config.py checks the live one end to end.
CONFIG_DIR = ROOT / "tests" / "fixtures" / "config"
SIM_SEED = 20231
SIM_SCALE = 0.3
PLANT = ROOT / "pipeline" / "simulate" / "plant_sample.yaml"


@pytest.fixture(scope="session")
def config():
    from pipeline.config import load_config

    return load_config(CONFIG_DIR)


@pytest.fixture(scope="session")
def simulated_pipeline(tmp_path_factory, config):
    """(ctx, truth): a simulated raw set at a small scale, run through all available stages."""
    from pipeline.runner import run_stages
    from pipeline.simulate import simulate_raw
    from pipeline.stages.base import StageContext

    base = tmp_path_factory.mktemp("pipeline")
    simulate_raw(config, base / "raw", seed=SIM_SEED, scale=SIM_SCALE, plant=PLANT)
    ctx = StageContext(raw=base / "raw", out=base / "output", config_dir=CONFIG_DIR, seed=SIM_SEED)
    run_stages(ctx, echo=lambda *_: None)
    truth = json.loads((base / "raw" / "truth.json").read_text(encoding="utf-8"))
    return ctx, truth
