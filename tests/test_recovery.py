"""The recovery rules of planted problems (bench/recovery.py) and the oracle (bench/oracle.py) at one seed."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from conftest import CONFIG_DIR, PLANT

from bench.oracle import cell_llrs, oracle_findings
from bench.recovery import Finding, as_findings, null_counts, read_truth, score

# --- the rules on a hand-made truth ---------------------------------------------------------------------------

UNITS = [f"U{k:02d}" for k in range(20)]
ITEMS = ["1.1", "1.2", "2.1"]


def _truth(plants):
    base = [[0.1 * k + j for j in range(len(ITEMS))] for k in range(len(UNITS))]
    base[19][2] = -9.0  # U19 on 2.1: truly the worst cell
    return read_truth(
        {
            "plants": plants,
            "quality": {
                "units": UNITS,
                "items": ITEMS,
                "baseline": base,
                "applies": [[True] * len(ITEMS)] * len(UNITS),
            },
        }
    )


COMMON = {"indicator": "1.1", "units": UNITS[:6], "kind": "common"}
INDIVIDUAL = {"indicator": "1.2", "units": ["U10"], "kind": "individual"}


def test_a_common_plant_is_recovered_by_a_common_finding_covering_half_its_units():
    truth = _truth([COMMON, INDIVIDUAL])
    half = score([Finding("common", "1.1", tuple(UNITS[:3]))], truth)["common"]
    less = score([Finding("common", "1.1", tuple(UNITS[:2]))], truth)["common"]
    assert half["recall"] == 1.0 and less["recall"] == 0.0
    assert half["precision"] == less["precision"] == 1.0


def test_a_finding_on_a_point_counts_for_its_item():
    truth = _truth([COMMON])
    assert as_findings([{"kind": "共性", "point": "1.1.2", "units": "U00、U01、U02"}])[0].item == "1.1"
    found = as_findings([{"kind": "common", "point": "1.1.2", "units": "U00,U01,U02"}])
    assert score(found, truth)["common"]["recall"] == 1.0


def test_an_individual_plant_is_recovered_by_any_finding_listing_its_unit():
    truth = _truth([COMMON, INDIVIDUAL])
    by_common = score([Finding("common", "1.2", ("U10", "U11"))], truth)
    assert by_common["individual"]["recall"] == 1.0
    assert by_common["common"]["precision"] == 0.0  # 1.2 carries no common plant


def test_individual_findings_are_correct_when_planted_or_in_the_bottom_five_percent():
    truth = _truth([COMMON, INDIVIDUAL])
    found = [
        Finding("individual", "1.2", ("U10",)),  # planted individual
        Finding("individual", "1.1", ("U00",)),  # planted common cell
        Finding("individual", "2.1", ("U19",)),  # truly the worst cell
        Finding("individual", "2.1", ("U05",)),  # wrong
    ]
    r = score(found, truth)["individual"]
    assert r["precision"] == 0.75 and r["false"] == ["2.1:U05"]


def test_several_findings_on_one_item_count_once_for_recall_and_each_for_precision():
    truth = _truth([COMMON])
    found = [Finding("common", "1.1", tuple(UNITS[:4])), Finding("common", "1.1", ("U00",))]
    found.append(Finding("common", "2.1", ("U01", "U02", "U03")))
    r = score(found, truth)["common"]
    assert r["recall"] == 1.0 and r["found"] == 3 and r["precision"] == pytest.approx(2 / 3)


def test_with_nothing_planted_only_common_and_non_bottom_individual_findings_are_counted():
    truth = _truth([])
    found = [
        Finding("common", "1.1", ("U01", "U02", "U03")),
        Finding("individual", "2.1", ("U19",)),
        Finding("individual", "2.1", ("U03",)),
    ]
    assert null_counts(found, truth) == {"common": 1, "individual_outside_bottom": 1}
    assert score(found, truth)["common"]["recall"] is None


def test_findings_from_rows_per_finding_and_unit_are_grouped_by_id():
    rows = pd.DataFrame(
        {
            "id": ["C-1.1", "C-1.1", "I-1.2-U10"],
            "kind": ["common", "common", "individual"],
            "item": ["1.1", "1.1", "1.2"],
            "member": ["U00", "U01", "U10"],
        }
    )
    assert as_findings(rows) == [
        Finding("common", "1.1", ("U00", "U01")),
        Finding("individual", "1.2", ("U10",)),
    ]


# --- the oracle and the findings on one simulated seed (small surveys: scale 0.05) ------------------------------

SEED = 2
SCALE = 0.05
PIN_ORACLE_COMMON, PIN_ORACLE_INDIVIDUAL = 0.65, 0.7
PIN_COMMON, PIN_INDIVIDUAL = 0.5, 0.13
#: the oracle's thresholds chosen by bench/recovery_bench.py over seeds 1–5 at the default scale.
ORACLE_THRESHOLDS = {"common_llr": 2.5, "individual_llr": 5.25}
UNIT_ORACLE_THRESHOLDS = {"common_llr": 6.5, "individual_llr": 6.25}


@pytest.fixture(scope="module")
def seed_run(tmp_path_factory):
    from pipeline.config import load_config
    from pipeline.findings import findings_from, infer, structure
    from pipeline.runner import run_stages
    from pipeline.simulate import simulate_raw
    from pipeline.stages.base import StageContext

    base = tmp_path_factory.mktemp("recovery")
    config = load_config(CONFIG_DIR)
    simulate_raw(config, base / "raw", seed=SEED, scale=SCALE, plant=PLANT)
    ctx = StageContext(raw=base / "raw", out=base / "output", config_dir=CONFIG_DIR, seed=SEED)
    run_stages(ctx, ["ingest", "clean", "weight", "compare"], echo=lambda *_: None)
    out = base / "output"
    tables = (
        pd.read_parquet(out / "02_clean" / "checkpoints.parquet"),
        pd.read_parquet(out / "02_clean" / "casefiles.parquet"),
        pd.read_parquet(out / "05_compare" / "unit_vs_peers.parquet"),
    )
    truth_json = json.loads((base / "raw" / "truth.json").read_text(encoding="utf-8"))
    oracle = oracle_findings(cell_llrs(config, truth_json, *tables), **ORACLE_THRESHOLDS)
    unit_oracle = oracle_findings(
        cell_llrs(config, truth_json, *tables, item_specific=False), **UNIT_ORACLE_THRESHOLDS
    )
    found = as_findings(findings_from(infer(*tables, config), structure(config), config.findings))
    return oracle, found, read_truth(truth_json), unit_oracle


def test_the_oracle_recovers_the_plants_of_one_seed_as_measured(seed_run):
    """Pinned figures of the oracle at seed 2 (bench/oracle.py: the exact model with the true baselines)."""
    oracle, _, truth, _ = seed_run
    r = score(oracle, truth)
    assert r["common"]["planted"] == 12 and r["individual"]["planted"] == 15
    assert r["common"]["recall"] >= PIN_ORACLE_COMMON and r["common"]["precision"] >= 0.8
    assert r["individual"]["recall"] >= PIN_ORACLE_INDIVIDUAL and r["individual"]["precision"] >= 0.9


def test_the_findings_recover_the_plants_of_one_seed_as_measured(seed_run):
    """Pinned figures of the findings at seed 2 and scale 0.05 (small surveys, so below the 5-seed means at the
    default scale that bench/recovery_bench.py reports): 6 of 12 common problems, nothing false; two individual
    plants listed (by common findings), no individual finding."""
    _, found, truth, _ = seed_run
    r = score(found, truth)
    assert r["common"]["recall"] >= PIN_COMMON and r["common"]["precision"] >= 0.9
    assert r["individual"]["recall"] >= PIN_INDIVIDUAL
    assert r["individual"]["precision"] is None or r["individual"]["precision"] >= 0.9


def test_the_oracle_knowing_only_the_units_standards_is_weaker(seed_run):
    """The reachable reference (bench/oracle.py, ``item_specific=False``): the simulator's draws at the truth's
    seed reproduce its baselines, and not knowing a cell's item-specific quality costs recall."""
    oracle, _, truth, unit_oracle = seed_run
    r, u = score(oracle, truth), score(unit_oracle, truth)
    assert u["common"]["recall"] >= 0.4 and u["common"]["precision"] >= 0.9
    assert u["individual"]["recall"] < r["individual"]["recall"]


def test_the_targets_allow_a_margin_below_an_oracle_that_falls_short_and_check_every_null_seed():
    from bench.recovery_bench import targets

    def kinds(c, i):
        return {"common": {"recall": c, "precision": 1.0}, "individual": {"recall": i, "precision": 0.95}}

    report = {
        "mean": {
            "findings": kinds(0.78, 0.24),
            "oracle": kinds(0.82, 0.64),
            "oracle_unit": kinds(0.95, 0.27),
        },
        "null": [{"findings": {"common": 1, "individual_outside_bottom": 0}}],
    }
    met = targets(report)
    assert met["common recall vs oracle"] and not met["individual recall vs oracle"]
    assert not met["common recall vs oracle_unit"] and met["individual recall vs oracle_unit"]
    assert met["nothing planted"]
    report["null"].append({"findings": {"common": 0, "individual_outside_bottom": 1}})
    assert not targets(report)["nothing planted"]
