"""SHA-256 digests of the sample the simulator writes from the frozen configuration (tests/fixtures/config/).

``tests/test_sample_data.py`` compares a fresh simulation with the digests stored in
``tests/fixtures/sample_digests.json``. After a deliberate change to the simulator or to the frozen configuration,
refresh them with ``make sample-digests`` (``python -m tests.sample_digests``) and commit the file.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = ROOT / "tests" / "fixtures" / "config"
DIGESTS = ROOT / "tests" / "fixtures" / "sample_digests.json"
PLANT = ROOT / "pipeline" / "simulate" / "plant_sample.yaml"
SEED = 20231  # the seed and scale of `make simulate-sample`
SCALE = 1.0


def file_digests(folder: Path) -> dict[str, str]:
    """Relative POSIX path → SHA-256 of every file under ``folder``."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def simulated(out: Path) -> dict:
    """Simulate the frozen configuration into ``out``; the record stored in ``sample_digests.json``."""
    from pipeline.config import load_config
    from pipeline.simulate import simulate_raw

    config = load_config(CONFIG_DIR)
    simulate_raw(config, out, seed=SEED, scale=SCALE, plant=PLANT)
    return {
        "about": "SHA-256 of each file the simulator writes from tests/fixtures/config/ with "
        "pipeline/simulate/plant_sample.yaml; refresh deliberately with `make sample-digests`",
        "seed": SEED,
        "scale": SCALE,
        "config_digest": config.digest,
        "files": file_digests(out),
    }


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        record = simulated(Path(tmp) / "raw")
    DIGESTS.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{DIGESTS.relative_to(ROOT)}: {len(record['files'])} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
