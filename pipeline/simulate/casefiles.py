"""Case-file review workbooks (行政执法案卷评查表), one per reviewing team (docs/BACKGROUND.md §2).

Sampling: 3–5 files per municipal enforcement unit, 8–10 per district (fixed, ``scale`` does not apply).
True defects per file: Poisson with mean λ₀·exp(−0.35·b)·frailty·m (b = the unit's baseline quality of the items
the category feeds, frailty ~ Gamma(20, 1/20), m = :data:`PROBLEM_RATE_FACTOR` = 3 when the unit is in a problem
state on any item the category feeds — a plant, latent.py — else 1), spread over defect codes with weight 2.5 for
categories C and E; λ₀ is set so that a sample without plants scores ≈ N(88, 7) and the bundled sample, whose
plants triple the defects of about a third of the enforcement units, ≈ N(81, 11). Veto ≈ 2–3.5% (less where
quality is high; × 3 where the unit has a problem on the item the veto rate feeds). Each reviewer sees each true
occurrence with probability 0.9 and adds false findings at a low rate, so double-scored files (20%) are scored
independently. ``得分`` is typed by the reviewer (≈3% typed wrongly); ``等级`` follows the typed score.

Sheet layout: 1 or 2 title rows (the first a merged cell) above the header ``案卷编号, 被评查单位, 案件类型,
评查人, <veto code + short text>…, <defect code + short text>…, 得分, 等级, 备注``. Veto cells are ``是``/``否``.
Defect counts: teams 1–2 write 0 for none, teams 3–4 leave the cell empty.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import xlsxwriter

from pipeline.config.loader import Config
from pipeline.simulate import texts
from pipeline.simulate.latent import Latent
from pipeline.simulate.wjx_writer import FIXED_CREATED

N_TEAMS = 4
REVIEWERS_PER_TEAM = 3
FILES_PER_DEPARTMENT = (3, 5)
FILES_PER_DISTRICT = (8, 10)
DOUBLE_SHARE = 0.20
TARGET_MEAN_DEDUCTION = 13.0
VETO_BASE = 0.026
DETECT = 0.9
FALSE_FINDING = 0.006
MISTYPE_RATE = 0.03
FRAILTY_SHAPE = 20.0
#: defect (and veto) rate multiplier of a unit in a problem state on an item the category feeds.
PROBLEM_RATE_FACTOR = 3.0
HEAVY_CATEGORIES = {"C": 2.5, "E": 2.5}
CASE_TYPE_WEIGHTS = [0.6, 0.25, 0.07, 0.05, 0.03]


def short_text(text: str, limit: int = 12) -> str:
    """First clause of a defect text, for the column header (``B2 询问笔录缺签名``)."""
    return re.split(r"[，、,；;（(或]", text, maxsplit=1)[0][:limit]


def _grade(score: float, veto: bool, found: set[str], config: Config) -> str:
    std = config.casefile
    if veto:
        return std.veto_grade
    for band in std.grades:
        if score >= band.min_score and not (set(band.excluded_by) & found):
            return band.grade
    return std.grades[-1].grade


def _score(counts: np.ndarray, defects: list, config: Config) -> float:
    std = config.casefile
    total = std.total_points
    k = 0
    for cat in std.categories:
        ded = 0.0
        for d in cat.defects:
            c = counts[k]
            ded += d.deduction * (min(c, 1) if d.per == "case" else c)
            k += 1
        total -= min(ded, cat.max_points)
    return max(total, 0.0)


def simulate_casefiles(config: Config, latent: Latent, rng: np.random.Generator) -> tuple[list[dict], dict]:
    """Review rows (dicts) and truth."""
    std = config.casefile
    units = config.units.units
    defects = [d for cat in std.categories for d in cat.defects]
    cat_of = [cat for cat in std.categories for _ in cat.defects]
    w = np.array([HEAVY_CATEGORIES.get(c.id, 1.0) for c in cat_of])
    w = w / w.sum()
    ded = np.array([d.deduction for d in defects])
    lam0 = TARGET_MEAN_DEDUCTION / float((w * ded).sum())
    veto_q = latent.feeds_baseline(std.veto_feeds)
    veto_m = np.where(latent.feeds_problem(std.veto_feeds), PROBLEM_RATE_FACTOR, 1.0)
    cat_q = {c.id: latent.feeds_baseline(c.feeds) for c in std.categories}
    cat_m = {c.id: np.where(latent.feeds_problem(c.feeds), PROBLEM_RATE_FACTOR, 1.0) for c in std.categories}
    types = std.case_types
    tw = np.array(
        CASE_TYPE_WEIGHTS[: len(types)] if len(types) <= len(CASE_TYPE_WEIGHTS) else [1] * len(types)
    )
    team_names = [texts.names(rng, REVIEWERS_PER_TEAM) for _ in range(N_TEAMS)]
    rows: list[dict] = []
    truth_files: list[dict] = []
    mistyped: list[dict] = []
    serial = 0
    enforcement = [u for u in units if u.enforcement]
    for k, u in enumerate(enforcement):
        lo, hi = FILES_PER_DISTRICT if u.type == config.units.district_type else FILES_PER_DEPARTMENT
        ui = latent.unit_index(u.code)
        team = k % N_TEAMS
        for _ in range(int(rng.integers(lo, hi + 1))):
            serial += 1
            case_id = f"AJ2023-{serial:04d}"
            ctype = types[int(rng.choice(len(types), p=tw / tw.sum()))]
            frailty = rng.gamma(FRAILTY_SHAPE, 1 / FRAILTY_SHAPE)
            qd = np.array([cat_q[c.id][ui] for c in cat_of])
            md = np.array([cat_m[c.id][ui] for c in cat_of])
            true = rng.poisson(lam0 * w * np.exp(-0.35 * qd) * frailty * md)
            p_veto = VETO_BASE * np.exp(-0.5 * veto_q[ui]) * veto_m[ui]
            veto_true = rng.random() < p_veto
            veto_code = std.vetoes[int(rng.integers(len(std.vetoes)))].code if veto_true else None
            double = rng.random() < DOUBLE_SHARE
            reviewers = rng.choice(REVIEWERS_PER_TEAM, size=2 if double else 1, replace=False)
            truth_files.append(
                {
                    "case_id": case_id,
                    "unit": u.code,
                    "team": team + 1,
                    "veto": veto_code,
                    "double": bool(double),
                }
            )
            for r in reviewers:
                seen = rng.binomial(true, DETECT) + rng.poisson(FALSE_FINDING, len(defects))
                vetoes = {v.code: False for v in std.vetoes}
                if veto_code and rng.random() < DETECT:
                    vetoes[veto_code] = True
                elif rng.random() < 0.003:
                    vetoes[std.vetoes[int(rng.integers(len(std.vetoes)))].code] = True
                score = _score(seen, defects, config)
                typed = score
                if rng.random() < MISTYPE_RATE:
                    s = f"{int(score)}"
                    swap = len(s) == 2 and 0 < abs(int(s[0]) - int(s[1])) <= 2  # 87 → 78
                    typed = float(s[::-1]) if swap else score + float(rng.choice([-5, 5, 10]))
                    typed = min(typed, std.total_points)
                    mistyped.append(
                        {"case_id": case_id, "reviewer": team_names[team][r], "true": score, "typed": typed}
                    )
                found = {d.code for d, c in zip(defects, seen, strict=True) if c > 0}
                rows.append(
                    {
                        "team": team,
                        "案卷编号": case_id,
                        "被评查单位": u.name,
                        "案件类型": ctype,
                        "评查人": team_names[team][r],
                        "vetoes": vetoes,
                        "counts": seen,
                        "得分": typed,
                        "等级": _grade(typed, any(vetoes.values()), found, config),
                    }
                )
    truth = {
        "n_files": serial,
        "n_reviews": len(rows),
        "double_scored": sum(t["double"] for t in truth_files),
        "veto_files": [t["case_id"] for t in truth_files if t["veto"]],
        "mistyped_scores": mistyped,
        "teams": {f"评查组{t + 1}": team_names[t] for t in range(N_TEAMS)},
    }
    return rows, truth


def write_casefiles(rows: list[dict], config: Config, out_dir: Path) -> list[Path]:
    std = config.casefile
    defects = [d for cat in std.categories for d in cat.defects]
    veto_heads = [f"{v.code} {short_text(v.text)}" for v in std.vetoes]
    defect_heads = [f"{d.code} {short_text(d.text)}" for d in defects]
    header = [
        "案卷编号",
        "被评查单位",
        "案件类型",
        "评查人",
        *veto_heads,
        *defect_heads,
        "得分",
        "等级",
        "备注",
    ]
    paths = []
    for team in range(N_TEAMS):
        path = Path(out_dir) / f"评查组{team + 1}_案卷评查表.xlsx"
        wb = xlsxwriter.Workbook(str(path))
        wb.set_properties({"created": FIXED_CREATED, "author": f"评查组{team + 1}"})
        ws = wb.add_worksheet("评查表")
        bold = wb.add_format({"bold": True, "align": "center", "font_size": 14})
        ws.merge_range(0, 0, 0, len(header) - 1, f"{std.title}——案卷评查结果汇总表（评查组{team + 1}）", bold)
        r0 = 1
        if team % 2 == 1:
            ws.write_row(1, 0, ["评查时间：2023年8月", "", "", "填表说明：否决项填“是/否”，扣分项填出现次数"])
            r0 = 2
        ws.write_row(r0, 0, header)
        r = r0 + 1
        for row in rows:
            if row["team"] != team:
                continue
            counts = [(int(c) if c or team < 2 else None) for c in row["counts"]]
            vetoes = ["是" if row["vetoes"][v.code] else "否" for v in std.vetoes]
            score = row["得分"]
            score_cell = int(score) if float(score).is_integer() else score
            ws.write_row(
                r,
                0,
                [
                    row["案卷编号"],
                    row["被评查单位"],
                    row["案件类型"],
                    row["评查人"],
                    *vetoes,
                    *counts,
                    score_cell,
                    row["等级"],
                    None,
                ],
            )
            r += 1
        wb.close()
        paths.append(path)
    return paths
