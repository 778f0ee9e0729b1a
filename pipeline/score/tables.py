"""07_score's tables from the cleaned data: point sources, the long score table, the ranking, the workbook sheets."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from pipeline import frames, stats
from pipeline.config import Config
from pipeline.config.models import SOURCES
from pipeline.schemas import column_names, empty_table
from pipeline.score import evidence
from pipeline.score.aggregate import Level, fuse_sources, roll_up
from pipeline.score.ranking import rank_units
from pipeline.score.system import CITY, LEVELS, Tree, UnitTable, intended, tree, unit_table

TABLES = ("point_sources", "scores", "ranking")


@dataclass(frozen=True)
class Inputs:
    """The 02_clean and 03_weight tables the scores are made from (empty frames for what is absent)."""

    public: pd.DataFrame = field(default_factory=pd.DataFrame)
    public_weights: pd.DataFrame = field(default_factory=pd.DataFrame)
    staff: pd.DataFrame = field(default_factory=pd.DataFrame)
    staff_weights: pd.DataFrame = field(default_factory=pd.DataFrame)
    casefiles: pd.DataFrame = field(default_factory=pd.DataFrame)
    casefile_reviews: pd.DataFrame = field(default_factory=pd.DataFrame)
    checkpoints: pd.DataFrame = field(default_factory=pd.DataFrame)


@dataclass(frozen=True)
class ScoreTables:
    tables: dict[str, pd.DataFrame]
    skipped: list[dict[str, str]]

    def summary(self) -> dict[str, Any]:
        scores = self.tables["scores"]
        overall = scores[(scores["level"] == "overall") & (scores["unit"] != CITY)]
        city = scores[(scores["level"] == "overall") & (scores["unit"] == CITY)]
        out: dict[str, Any] = {
            "units_scored": int(overall["score"].notna().sum()),
            "units": int(len(overall)),
            "point_sources": int(len(self.tables["point_sources"])),
            "city_score": None if city.empty or city["score"].isna().all() else round(float(city["score"].iat[0]), 2),
            "mean_coverage": None if overall.empty else round(float(overall["coverage"].mean()), 3),
        }  # fmt: skip
        if self.skipped:
            out["skipped"] = self.skipped
        return out


def score_tables(inputs: Inputs, config: Config, *, small_n: int, min_n: int, seed: int) -> ScoreTables:
    """Every unit scored on every applicable point, item, aspect, block and overall, and ranked."""
    if config.indicators is None or config.units is None:
        what = "indicators.yaml" if config.indicators is None else "units.yaml"
        empty = {name: empty_table("score", name) for name in TABLES}
        return ScoreTables(empty, [{"what": "指标得分 (scores)", "reason": f"没有 {what} (no {what})"}])
    t = tree(config)
    units = unit_table(config)
    rule = stats.SmallGroupRule(flag_below=small_n, suppress_below=min_n)
    parts, skipped = _sources(inputs, config, t, units, rule)
    point_sources = evidence.point_sources_table(parts, t.points, units)
    want = intended(t.points, units)
    levels = _levels(point_sources, t, units, want, config)
    scores = _score_table(levels, point_sources, t, units)
    ranked = ~np.array([c == CITY for c in units.codes])
    codes, types = np.asarray(units.codes)[ranked].tolist(), np.asarray(units.types)[ranked].tolist()
    ranking = rank_units(_rows(levels["point"], ranked), _rows(levels["item"], ranked), t, codes, types,
                         config.indicators.ranking, seed)  # fmt: skip
    overall = scores[scores["level"] == "overall"].set_index("unit")
    ranking.insert(3, "coverage", ranking["unit"].map(overall["coverage"]).astype(float))
    ranking.insert(1, "unit_name", ranking["unit"].map(dict(zip(units.codes, units.names, strict=True))))
    ranking = ranking[column_names("score", "ranking")]
    return ScoreTables({"point_sources": point_sources, "scores": scores, "ranking": ranking}, skipped)


def _rows(level: Level, keep: np.ndarray) -> Level:
    """``level`` restricted to the units ``keep`` marks."""
    return Level(score=level.score[keep], var=level.var[keep], sampled=level.sampled[keep],
                 applies=level.applies[keep], coverage=level.coverage[keep], n=level.n[keep],
                 sources=level.sources[:, keep])  # fmt: skip


def _sources(inputs: Inputs, config: Config, t: Tree, units: UnitTable, rule) -> tuple[list, list]:
    parts, skipped = [], []
    if config.public is not None and len(inputs.public) >= 2:
        frame = frames.public_frame(inputs.public, inputs.public_weights, config)
        design = frames.public_design(frame, config)
        parts.append(evidence.survey_sources("public", frame, design, config, t.points, units, rule))
    else:
        skipped.append(
            {"what": "公众问卷来源 (public source)", "reason": "没有有效的公众问卷 (no public responses)"}
        )
    if config.staff is not None and len(inputs.staff) >= 2:
        frame = frames.staff_frame(inputs.staff, config, inputs.staff_weights)
        design = frames.staff_design(frame, config)
        parts.append(evidence.survey_sources("staff", frame, design, config, t.points, units, rule))
    else:
        skipped.append(
            {
                "what": "公职人员问卷来源 (staff source)",
                "reason": "没有有效的公职人员问卷 (no staff responses)",
            }
        )
    if config.casefile is not None and len(inputs.casefiles):
        parts.append(
            evidence.casefile_sources(inputs.casefiles, inputs.casefile_reviews, config, t.points, units)
        )
    else:
        skipped.append(
            {"what": "案卷评查来源 (case-file source)", "reason": "没有案卷评查数据 (no case files)"}
        )
    if len(inputs.checkpoints):
        parts.append(evidence.checkpoint_sources(inputs.checkpoints, t.points, units))
    else:
        skipped.append(
            {"what": "核查评价来源 (checkpoint sources)", "reason": "没有核查评价 (no checkpoint ratings)"}
        )
    return parts, skipped


def _levels(
    point_sources: pd.DataFrame, t: Tree, units: UnitTable, want: dict, config: Config
) -> dict[str, Level]:
    shape = (len(units.codes), len(t.points))
    u_pos = {u: i for i, u in enumerate(units.codes)}
    p_pos = {p: i for i, p in enumerate(t.points["point"])}
    score = {s: np.full(shape, np.nan) for s in SOURCES}
    var = {s: np.full(shape, np.nan) for s in SOURCES}
    n = {s: np.zeros(shape) for s in SOURCES}
    if len(point_sources):
        ui = point_sources["unit"].map(u_pos).to_numpy()
        pi = point_sources["point"].map(p_pos).to_numpy()
        for s in SOURCES:
            rows = (point_sources["source"] == s).to_numpy()
            score[s][ui[rows], pi[rows]] = point_sources["score"].to_numpy(dtype=float)[rows]
            var[s][ui[rows], pi[rows]] = point_sources["se"].to_numpy(dtype=float)[rows] ** 2
            n[s][ui[rows], pi[rows]] = point_sources["n"].to_numpy(dtype=float)[rows]
    levels = {"point": fuse_sources(score, var, n, want, dict(config.indicators.source_weights))}
    for child, up in zip(LEVELS[:-1], LEVELS[1:], strict=True):
        levels[up] = roll_up(levels[child], t.weights[child], t.parent[child], len(t.ids[up]),
                             count_points=child == "point")  # fmt: skip
    return levels


def _score_table(
    levels: dict[str, Level], point_sources: pd.DataFrame, t: Tree, units: UnitTable
) -> pd.DataFrame:
    """The long ``scores`` table: one row per unit × node that applies to the unit (score NaN without data)."""
    z = float(stats.t_quantile(evidence.CONFIDENCE_LEVEL, np.inf))
    single = _single_source_intervals(point_sources)
    frames_ = []
    for lv in LEVELS:
        L = levels[lv]
        ui, ni = np.nonzero(L.applies)
        ids = np.asarray(t.ids[lv], dtype=object)
        up = LEVELS[LEVELS.index(lv) + 1] if lv != "overall" else None
        parent = (
            np.asarray(t.ids[up], dtype=object)[t.parent[lv]] if up else np.full(len(ids), "", dtype=object)
        )
        score = L.score[ui, ni]
        se = np.where(L.sampled[ui, ni], np.sqrt(L.var[ui, ni]), np.nan)
        se = np.where(np.isnan(score), np.nan, se)
        src = _source_names(L.sources[:, ui, ni])
        f = pd.DataFrame({
            "unit": np.asarray(units.codes, dtype=object)[ui], "unit_type": np.asarray(units.types, dtype=object)[ui],
            "level": lv, "id": ids[ni], "parent": parent[ni], "name": np.asarray(t.names[lv], dtype=object)[ni],
            "score": score, "se": se, "ci_low": np.clip(score - z * se, 0, 100),
            "ci_high": np.clip(score + z * se, 0, 100),
            "n": L.n[ui, ni].astype("int64"), "sources": src, "coverage": L.coverage[ui, ni],
            "weight": t.weights[lv][ni],
        })  # fmt: skip
        if lv == "point" and len(single):
            key = pd.MultiIndex.from_arrays([f["unit"], f["id"], f["sources"]])
            found = single.reindex(key)
            has = found["ci_low"].notna().to_numpy()
            f.loc[has, "ci_low"] = found["ci_low"].to_numpy()[has]
            f.loc[has, "ci_high"] = found["ci_high"].to_numpy()[has]
        frames_.append(f)
    out = pd.concat(frames_, ignore_index=True)
    return out[column_names("score", "scores")]


def _source_names(used: np.ndarray) -> np.ndarray:
    """Comma-separated names of the sources used (``used``: sources × rows, bool), in :data:`SOURCES` order."""
    code = (used.astype(np.int64) * (1 << np.arange(len(SOURCES)))[:, None]).sum(axis=0)
    names = np.array([",".join(s for k, s in enumerate(SOURCES) if c >> k & 1) for c in range(1 << len(SOURCES))],
                     dtype=object)  # fmt: skip
    return names[code]


def _single_source_intervals(point_sources: pd.DataFrame) -> pd.DataFrame:
    """A point measured by one source keeps that source's own interval (a t or Korn–Graubard one)."""
    ps = point_sources[["unit", "point", "source", "ci_low", "ci_high"]]
    return ps.set_index(["unit", "point", "source"])[["ci_low", "ci_high"]]
