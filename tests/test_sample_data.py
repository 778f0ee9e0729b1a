"""The committed sample in raw/ is exactly what the documented simulate command produces."""

from __future__ import annotations

import hashlib
from pathlib import Path

from conftest import ROOT

SAMPLE_SEED = 20231
PLANT = ROOT / "pipeline" / "simulate" / "plant_sample.yaml"


def _digests(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_committed_sample_is_reproduced_by_make_simulate_sample(tmp_path, config):
    from pipeline.simulate import simulate_raw

    simulate_raw(config, tmp_path / "raw", seed=SAMPLE_SEED, scale=1.0, plant=PLANT)
    assert _digests(tmp_path / "raw") == _digests(ROOT / "raw"), (
        "raw/ is out of date with the simulator or the configuration: run `make simulate-sample` and commit raw/"
    )


def test_sample_is_sized_like_a_city_evaluation():
    import json

    truth = json.loads((ROOT / "raw" / "truth.json").read_text(encoding="utf-8"))
    plants = truth["plants"]
    assert len(plants) >= 20
    exports = {p.parent.name: p.name for p in (ROOT / "raw").rglob("*_按*")}
    public_n = int(exports["public"].rsplit("_", 2)[1])
    staff_n = int(exports["staff"].rsplit("_", 2)[1])
    assert public_n >= 2000 and staff_n >= 1000
