"""Evaluator checkpoint sheets: document verification, online search, site visits (one workbook per source).

One row per unit × observation point with that source that applies to the unit (``applies_to``).

- A unit **without** a problem on the point's item: rating from ``y = Y0 + LOADING·b + NOISE·ε`` (b = the item's
  baseline quality, latent.py) cut at :data:`CUTS` into the rating texts of ``indicators.yaml:
  checkpoint_scores`` (lowest score = worst). ``Y0`` puts the share rated 部分落实/未落实 (y < 0) at
  :data:`BAD_SHARE` = 0.15 on average over units (≈ 3 % 未落实, 12 % 部分, 33 % 基本, 52 % 完全); better units
  are rated lower less often (≈ 4 % at b = +1, 40 % at b = −1.6).
- A unit **in a problem state** on the item (a plant): rated 部分落实/未落实 with probability
  :data:`BAD_PROBABILITY` (0.75 common, 0.9 individual), each of the two equally likely; otherwise 基本落实
  (70 %) or 完全落实.

Every point draws the same random numbers in either case, so a plant changes only the ratings of its cells.
Rating sets other than the four bundled texts: cuts at even quantiles of ``y``, the lower half of the ratings
counting as "not implemented". A few ratings carry stray spaces, a few notes a contact phone number (to be
masked).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xlsxwriter

from pipeline.config.loader import Config
from pipeline.simulate import texts
from pipeline.simulate.latent import COMMON, INDIVIDUAL, NONE, Latent, applies
from pipeline.simulate.wjx_writer import FIXED_CREATED

SOURCE_FILES = {"document": "资料核查表.xlsx", "online": "网络检索表.xlsx", "site": "实地走访表.xlsx"}
SOURCE_LABEL = {"document": "资料核查", "online": "网络检索", "site": "实地（暗）访"}
CUTS = np.array([-0.75, 0.0, 0.95])
STRAY_SPACE_RATE = 0.003
PHONE_NOTE_RATE = 0.004
LOADING, NOISE = 0.6, 0.75
#: mean share of a problem-free unit's points rated below 基本落实 (fixed by the plant model, latent.py).
BAD_SHARE = 0.15
#: probability that a point of a unit in a problem state is rated below 基本落实.
BAD_PROBABILITY = {COMMON: 0.75, INDIVIDUAL: 0.9}
#: share of 完全落实 among the ratings of a problem unit's points that are not "bad".
STATE_TOP_SHARE = 0.3
#: variance of the baseline quality (latent.py loadings); Y0 = Φ⁻¹(1 − BAD_SHARE) · sd(y).
_SD_Y = float(np.sqrt(LOADING**2 * (0.5**2 + 0.55**2 + 0.67**2) + NOISE**2))
Y0 = 1.0364333894937898 * _SD_Y


def rating_index(
    b: float, state: int, n_ratings: int, cuts: np.ndarray, eps: float, u: float, v: float
) -> int:
    """Index (0 = worst) of one point's rating from the cell's baseline ``b``, its state and three draws
    (``eps`` standard normal, ``u`` and ``v`` uniform)."""
    if state == NONE:
        return int(np.searchsorted(cuts, Y0 + LOADING * b + NOISE * eps))
    n_bad = max(n_ratings // 2, 1)
    if u < BAD_PROBABILITY[state]:
        return min(int(v * n_bad), n_bad - 1)
    if v < STATE_TOP_SHARE or n_ratings - n_bad < 2:
        return n_ratings - 1
    return n_bad + min(
        int((v - STATE_TOP_SHARE) / (1 - STATE_TOP_SHARE) * (n_ratings - n_bad - 1)), n_ratings - n_bad - 2
    )


def simulate_checkpoints(
    config: Config, latent: Latent, rng: np.random.Generator, out_dir: Path
) -> tuple[list[Path], dict]:
    ratings = sorted(
        config.indicators.checkpoint_scores, key=lambda t: config.indicators.checkpoint_scores[t]
    )
    if len(ratings) != len(CUTS) + 1:
        cuts = np.quantile(rng.standard_normal(10000) * _SD_Y + Y0, np.linspace(0, 1, len(ratings) + 1)[1:-1])
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
                    b = latent.baseline[ui, latent.item_index(item.id)]
                    state = latent.cell_state(ui, item.id)
                    for pt in item.points:
                        if source not in pt.sources or not applies(pt.applies_to, u):
                            continue
                        eps, draw_u, draw_v = rng.standard_normal(), rng.random(), rng.random()
                        k = rating_index(b, state, len(ratings), cuts, eps, draw_u, draw_v)
                        rating = ratings[k]
                        pick = rng.random()  # drawn for every point: a plant changes only its own cells
                        note = ""
                        if k == 0:
                            note = texts.NOTES_LOW[int(pick * len(texts.NOTES_LOW))]
                        elif k == 1:
                            note = texts.NOTES_MID[int(pick * len(texts.NOTES_MID))]
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
