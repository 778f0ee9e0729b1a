"""Simulated raw data, as the evaluation team receives it, with known truth (``fazhi-eval simulate``).

``simulate_raw(config, out, seed=, scale=, plant=)`` writes::

    out/public/386540716_按文本_<title>_<N>_<N>.xlsx   问卷星 按选项文本 export (.csv, UTF-8 BOM, above CSV_THRESHOLD rows)
    out/public/纸质问卷录入.xlsx                         paper-entry sheet (item ids, codes; ~5% of responses)
    out/staff/386541023_按序号_<title>_<N>_<N>.xlsx    问卷星 按选项序号 export (−3 = skipped)
    out/casefiles/评查组{1..4}_案卷评查表.xlsx           case-file review sheets, one per reviewing team
    out/checkpoints/{资料核查表,网络检索表,实地走访表}.xlsx  evaluator checkpoint sheets
    out/population_truth.yaml                          the population margins sampled from, and the tilt
    out/truth.json                                     seed, plants, true quality, sizes, injected problems

Header styles: public text export writes matrix rows as ``N(行标题)``; the staff code export as ``第N题(行标题)``.

The model (latent.py): each unit has a true baseline quality per second-level indicator item; a plant puts units
into a problem state (common or individual) on an item, with a signature in every source that feeds it: checkpoint
points rated 部分落实/未落实 with probability 0.75 (common) or 0.9 (individual) against 0.15 on average
(checkpoints.py), case-file defect categories at 3 × the rate (casefiles.py), survey items shifted by the plant's
effect in SD (likert.py through public.py and staff.py).

truth.json records per plant its ``kind`` (common/individual), item and units, and under ``quality`` the true
``baseline`` and ``planted`` (baseline + effects) quality per unit × item, ``applies`` (whether the item applies to
the unit) and ``state`` (0 none, 1 common, 2 individual) — what ``bench/recovery.py`` scores findings against.
Determinism: independent random streams per part (``SeedSequence(seed).spawn``), so the case files and
checkpoints do not change with ``scale``; fixed workbook dates; same inputs → identical bytes.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import yaml

from pipeline import paths
from pipeline.config.loader import Config
from pipeline.simulate import wjx_writer
from pipeline.simulate.casefiles import simulate_casefiles, write_casefiles
from pipeline.simulate.checkpoints import simulate_checkpoints
from pipeline.simulate.demographics import ONLINE_TILT, PAPER_TILT, population_shares
from pipeline.simulate.latent import Latent, draw_latent, item_applies, load_plants
from pipeline.simulate.public import simulate_public
from pipeline.simulate.responses import Responses
from pipeline.simulate.staff import simulate_staff

__all__ = ["simulate_raw", "CSV_THRESHOLD", "PUBLIC_VID", "STAFF_VID"]

#: above this many rows a questionnaire export is written as CSV (UTF-8 with BOM) instead of xlsx.
CSV_THRESHOLD = 100_000
PUBLIC_VID = 386540716
STAFF_VID = 386541023
PUBLIC_MATRIX_STYLE = "number"
STAFF_MATRIX_STYLE = "di"
PAPER_FILE = "纸质问卷录入.xlsx"


def _trailing_space_numbers(config: Config, instrument: str, rng: np.random.Generator) -> frozenset[int]:
    singles = sorted({it.number for it in config.codebook(instrument).items if it.type != "matrix"})
    k = min(3, len(singles))
    return frozenset(int(x) for x in rng.choice(singles, size=k, replace=False)) if k else frozenset()


def _population_truth(config: Config, online: Responses, seed: int) -> dict:
    cb = config.codebook("public")
    universe = config.population.universe if config.population is not None else None
    out: dict = {"universe": universe, "variables": {}}
    for var, item_id in cb.variables.items():
        it = cb.item(item_id)
        if it.type != "single":
            continue
        pop = population_shares(it, config.population, seed=seed)
        codes = online.codes[item_id]
        sample = np.array([(codes == o.code).mean() for o in it.options])
        out["variables"][var] = {
            "item": item_id,
            "categories": [o.text for o in it.options],
            "population_share": [float(x) for x in pop],
            "online_tilt": ONLINE_TILT.get(var),
            "paper_tilt": PAPER_TILT.get(var),
            "online_sample_share": [float(x) for x in sample],
        }
    return out


def _applies(config: Config, latent: Latent) -> list[list[bool]]:
    """Per unit × item of ``latent``, whether the item applies to the unit (any of its points does)."""
    if config.indicators is None or config.units is None:
        return []
    items = {it.id: it for a in config.indicators.aspects for it in a.items}
    return [[item_applies(items[i].points, u) for i in latent.item_ids] for u in config.units.units]


def _skipped_parts(config: Config, plant: str | Path | None) -> list[dict]:
    """What this configuration cannot simulate, and why (``{"what", "reason"}``, Chinese first)."""
    missing = {
        "public": config.public is None,
        "staff": config.staff is None,
        "casefile": config.casefile is None,
        "indicators": config.indicators is None,
        "units": config.units is None,
    }
    out = []
    if missing["public"]:
        out.append(
            {"what": "public", "reason": "未配置 public.yaml，不生成公众问卷导出 (no public questionnaire)"}
        )
    if missing["staff"]:
        out.append(
            {"what": "staff", "reason": "未配置 staff.yaml，不生成公职人员问卷导出 (no staff questionnaire)"}
        )
    if missing["casefile"] or missing["units"]:
        files = "、".join(
            f
            for f, gone in (("casefile.yaml", missing["casefile"]), ("units.yaml", missing["units"]))
            if gone
        )
        out.append(
            {
                "what": "casefiles",
                "reason": f"未配置 {files}，不生成案卷评查表 (no case-file standard or units)",
            }
        )
    if missing["indicators"] or missing["units"]:
        files = "、".join(
            f
            for f, gone in (("indicators.yaml", missing["indicators"]), ("units.yaml", missing["units"]))
            if gone
        )
        out.append(
            {"what": "checkpoints", "reason": f"未配置 {files}，不生成核查表 (no indicator system or units)"}
        )
        if plant is not None:
            out.append(
                {
                    "what": "plants",
                    "reason": f"未配置 {files}，不植入问题：植入项指向指标与单位 (plants name indicator items and units)",
                }
            )
    return out


def simulate_raw(
    config: Config,
    out: str | Path,
    *,
    seed: int,
    scale: float = 1.0,
    plant: str | Path | None = None,
) -> list[Path]:
    """Write a complete simulated raw set under ``out`` and return the files written (see module docstring).

    Parts the configuration lacks are left out and listed under ``skipped`` in truth.json: no staff.yaml → no
    staff export; no casefile.yaml or units.yaml → no case-file workbooks; no indicators.yaml (or units.yaml) → no
    checkpoint workbooks and no plants; no population.yaml → demographics without margins.
    """
    out = Path(out)
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    skipped = _skipped_parts(config, plant)
    can_plant = config.indicators is not None and config.units is not None
    plants = load_plants(plant, config.indicators, config.units) if can_plant else []
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(6)]
    latent = draw_latent(config.indicators, config.units, streams[0], plants)
    parts = {
        paths.RAW_PUBLIC_DIR: config.public is not None,
        paths.RAW_STAFF_DIR: config.staff is not None,
        paths.RAW_CASEFILE_DIR: config.casefile is not None and config.units is not None,
        paths.RAW_CHECKPOINT_DIR: can_plant,
    }
    dirs = {k: out / k for k, wanted in parts.items() if wanted}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    truth_parts: dict = {}
    sizes: list[int] = []

    if config.public is not None:
        pub = simulate_public(config, latent, streams[1], scale, seed=seed)
        sizes.append(pub.online.n)
        csv = pub.online.n > CSV_THRESHOLD
        written.append(
            wjx_writer.write_export(
                pub.online,
                dirs[paths.RAW_PUBLIC_DIR],
                mode="text",
                vid=PUBLIC_VID,
                csv=csv,
                matrix_style=PUBLIC_MATRIX_STYLE,
                trailing_space=_trailing_space_numbers(config, "public", streams[5]),
            )
        )
        paper_cols = wjx_writer.paper_columns(pub.paper, pub.paper_ids, pub.paper_clerks)
        written.append(
            wjx_writer.write_xlsx(paper_cols, dirs[paths.RAW_PUBLIC_DIR] / PAPER_FILE, sheet="录入")
        )
        truth_parts["public"] = pub.truth

    if config.staff is not None:
        staff, staff_truth = simulate_staff(config, latent, streams[2], scale, seed=seed)
        sizes.append(staff.n)
        written.append(
            wjx_writer.write_export(
                staff,
                dirs[paths.RAW_STAFF_DIR],
                mode="code",
                vid=STAFF_VID,
                csv=staff.n > CSV_THRESHOLD,
                matrix_style=STAFF_MATRIX_STYLE,
                trailing_space=_trailing_space_numbers(config, "staff", streams[5]),
            )
        )
        truth_parts["staff"] = staff_truth

    if paths.RAW_CASEFILE_DIR in dirs:
        rows, truth_parts["casefiles"] = simulate_casefiles(config, latent, streams[3])
        written += write_casefiles(rows, config, dirs[paths.RAW_CASEFILE_DIR])
    if paths.RAW_CHECKPOINT_DIR in dirs:
        cp_paths, truth_parts["checkpoints"] = simulate_checkpoints(
            config, latent, streams[4], dirs[paths.RAW_CHECKPOINT_DIR]
        )
        written += cp_paths

    if config.public is not None:
        pop_path = out / paths.RAW_POPULATION
        pop_path.write_text(
            yaml.safe_dump(_population_truth(config, pub.online, seed), allow_unicode=True, sort_keys=False),
            encoding="utf-8",
        )
        written.append(pop_path)
    first_n = sizes[0] if sizes else 0  # the public sample's size when there is one
    truth = {
        "seed": seed,
        "scale": scale,
        "config_digest": config.digest,
        "formats": {
            "public": f"按选项文本, matrix header {PUBLIC_MATRIX_STYLE!r} = 'N(行标题)', "
            f"{'csv' if first_n > CSV_THRESHOLD else 'xlsx'}",
            "staff": f"按选项序号, matrix header {STAFF_MATRIX_STYLE!r} = '第N题(行标题)', skipped = -3",
            "paper": "item ids as headers, codes; multiple choice as <id>_<code> 0/1 + <id>_other_text",
            "casefiles": "1-2 title rows; veto 是/否; defect counts (teams 1-2: 0, teams 3-4: empty for none)",
            "records": "survey problems are listed by 序号 (1-based, ordered by submission time)",
        },
        "plants": [
            {
                "indicator": p.indicator,
                "units": list(p.units),
                "effect": p.effect,
                "label": p.label,
                "kind": p.resolved_kind,
            }
            for p in plants
        ],
        "quality": {
            "units": list(latent.unit_codes),
            "items": list(latent.item_ids),
            "baseline": latent.baseline.tolist(),
            "planted": latent.quality.tolist(),
            "applies": _applies(config, latent),
            "state": latent.state.tolist() if latent.state is not None else [],
        },
        **{k: truth_parts[k] for k in ("public", "staff", "casefiles", "checkpoints") if k in truth_parts},
    }
    if skipped:
        truth["skipped"] = skipped
    truth_path = out / paths.RAW_TRUTH
    indent = 1 if first_n <= CSV_THRESHOLD else None  # a huge truth file is read by programs only
    truth_path.write_text(json.dumps(truth, ensure_ascii=False, indent=indent), encoding="utf-8")
    written.append(truth_path)
    return written
