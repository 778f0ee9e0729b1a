"""Evaluator checkpoint sheets: document verification, online search, site visits (one workbook per source).

One row per unit × observation point with that source that applies to the unit (``applies_to``). Rating from
``y = 0.55 + 0.8·q + 0.6·ε`` (q = true quality of the point's second-level item) cut into the rating texts of
``indicators.yaml: checkpoint_scores`` (lowest score = worst): ≈10% 未落实, 20% 部分, 35% 基本, 35% 完全
at q = 0. A few ratings carry stray spaces, a few notes a contact phone number (to be masked).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xlsxwriter

from pipeline.config.loader import Config
from pipeline.simulate import texts
from pipeline.simulate.latent import Latent, applies
from pipeline.simulate.wjx_writer import FIXED_CREATED

SOURCE_FILES = {"document": "资料核查表.xlsx", "online": "网络检索表.xlsx", "site": "实地走访表.xlsx"}
SOURCE_LABEL = {"document": "资料核查", "online": "网络检索", "site": "实地（暗）访"}
CUTS = np.array([-0.75, 0.0, 0.95])
STRAY_SPACE_RATE = 0.003
PHONE_NOTE_RATE = 0.004


def simulate_checkpoints(
    config: Config, latent: Latent, rng: np.random.Generator, out_dir: Path
) -> tuple[list[Path], dict]:
    ratings = sorted(
        config.indicators.checkpoint_scores, key=lambda t: config.indicators.checkpoint_scores[t]
    )
    if len(ratings) != len(CUTS) + 1:
        cuts = np.quantile(rng.standard_normal(10000) * 1.0 + 0.55, np.linspace(0, 1, len(ratings) + 1)[1:-1])
    else:
        cuts = CUTS
    paths: list[Path] = []
    truth: dict = {"rows": {}, "stray_spaces": [], "phone_notes": []}
    evaluators = texts.names(rng, 6)
    for source, fname in SOURCE_FILES.items():
        path = Path(out_dir) / fname
        wb = xlsxwriter.Workbook(str(path))
        wb.set_properties({"created": FIXED_CREATED, "author": "评估组"})
        ws = wb.add_worksheet(SOURCE_LABEL[source])
        ws.write_row(0, 0, ["单位", "观测点编号", "观测点", "评估结果", "备注", "核查人"])
        r = 1
        for u in config.units.units:
            ui = latent.unit_index(u.code)
            for aspect in config.indicators.aspects:
                for item in aspect.items:
                    q = latent.quality[ui, latent.item_index(item.id)]
                    for pt in item.points:
                        if source not in pt.sources or not applies(pt.applies_to, u):
                            continue
                        y = 0.55 + 0.8 * q + 0.6 * rng.standard_normal()
                        k = int(np.searchsorted(cuts, y))
                        rating = ratings[k]
                        note = ""
                        if k == 0:
                            note = texts.NOTES_LOW[int(rng.integers(len(texts.NOTES_LOW)))]
                        elif k == 1:
                            note = texts.NOTES_MID[int(rng.integers(len(texts.NOTES_MID)))]
                        if rng.random() < STRAY_SPACE_RATE:
                            rating = f" {rating} "
                            truth["stray_spaces"].append({"unit": u.code, "point": pt.id})
                        if rng.random() < PHONE_NOTE_RATE:
                            note = f"{note}联系人电话{texts.phone(rng)}"
                            truth["phone_notes"].append({"unit": u.code, "point": pt.id})
                        who = evaluators[int(rng.integers(len(evaluators)))]
                        ws.write_row(r, 0, [u.name, pt.id, pt.name, rating, note or None, who])
                        r += 1
        wb.close()
        truth["rows"][source] = r - 1
        paths.append(path)
    return paths, truth
