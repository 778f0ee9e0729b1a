"""The simulator's sample from the frozen configuration does not drift unnoticed; raw/ says what made it.

The committed ``raw/`` is not compared with the live ``questionnaires/`` here (an edit of the questionnaires would
fail the suite): ``make run`` warns when ``raw/truth.json`` names another configuration (pipeline.sample_check).
"""

from __future__ import annotations

import json
import shutil

import pytest
from conftest import CONFIG_DIR, ROOT

from pipeline.sample_check import main, stale_sample_warning
from tests import sample_digests


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """(raw folder, record): the frozen configuration simulated as `make simulate-sample` does."""
    raw = tmp_path_factory.mktemp("sample") / "raw"
    return raw, sample_digests.simulated(raw)


def test_simulating_the_frozen_config_gives_the_stored_digests(sample):
    _, record = sample
    stored = json.loads(sample_digests.DIGESTS.read_text(encoding="utf-8"))
    assert record["config_digest"] == stored["config_digest"], (
        "tests/fixtures/config/ changed: run `make sample-digests` and commit tests/fixtures/sample_digests.json"
    )
    changed = sorted(
        name
        for name in set(record["files"]) | set(stored["files"])
        if record["files"].get(name) != stored["files"].get(name)
    )
    assert not changed, (
        f"the simulator writes other bytes for the same configuration and seed: {changed}; if that is intended, "
        "run `make sample-digests` and commit tests/fixtures/sample_digests.json (and `make simulate-sample` for raw/)"
    )


def test_a_fresh_sample_matches_its_configuration_and_an_edited_one_is_reported(sample, tmp_path, capsys):
    raw, _ = sample
    assert stale_sample_warning(raw, CONFIG_DIR) is None
    edited = tmp_path / "questionnaires"
    shutil.copytree(CONFIG_DIR, edited)
    public = edited / "public.yaml"
    public.write_text(public.read_text(encoding="utf-8").replace("您的性别", "性别"), encoding="utf-8")
    warning = stale_sample_warning(raw, edited)
    assert warning is not None and "make simulate-sample" in warning
    assert main([str(raw), str(edited)]) == 0  # a warning, never a failure
    assert "make simulate-sample" in capsys.readouterr().err


def test_raw_data_without_truth_json_is_not_checked(tmp_path):
    (tmp_path / "public").mkdir()
    assert stale_sample_warning(tmp_path, CONFIG_DIR) is None


def test_sample_is_sized_like_a_city_evaluation():
    truth = json.loads((ROOT / "raw" / "truth.json").read_text(encoding="utf-8"))
    plants = truth["plants"]
    assert len(plants) >= 20
    exports = {p.parent.name: p.name for p in (ROOT / "raw").rglob("*_按*")}
    public_n = int(exports["public"].rsplit("_", 2)[1])
    staff_n = int(exports["staff"].rsplit("_", 2)[1])
    assert public_n >= 2000 and staff_n >= 1000
