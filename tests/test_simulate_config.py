"""The simulator follows the configuration: any ordered response set, a public-only set-up, ranking questions."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import CONFIG_DIR, PLANT, SIM_SCALE, SIM_SEED
from test_config import edit

from pipeline.config import load_config
from pipeline.ingest.codebook_match import INVALID_CODE
from pipeline.runner import run_stages
from pipeline.simulate import simulate_raw
from pipeline.simulate.choices import rank_answers
from pipeline.simulate.responses import SKIPPED, Responses
from pipeline.simulate.wjx_writer import export_columns, paper_columns
from pipeline.stages.base import StageContext

ALPHA_TOLERANCE = 0.05
NOMINAL = 0.05
#: groupings the simulator gives no effect when there is no district question: answers depend on age and
#: education (public.py) and on the district; residence follows the district (demographics.py).
NULL_GROUPINGS = ("gender", "residence")
PUBLIC_ONLY_FILES = ("public.yaml", "cleaning.yaml", "analysis.yaml")
AGREEMENT = {
    4: ["非常同意", "同意", "不同意", "非常不同意"],
    7: ["完全同意", "同意", "比较同意", "一般", "比较不同意", "不同意", "完全不同意"],
}
SATISFACTION = {
    4: ["非常满意", "满意", "不满意", "非常不满意"],
    7: ["非常满意", "满意", "比较满意", "一般", "比较不满意", "不满意", "非常不满意"],
}


def _response_set(texts: list[str], missing: str) -> dict:
    """Codes k..1 from the best option down, the don't-know option 99, scored with the best at the high end."""
    k = len(texts)
    options = [{"code": k - j, "text": t} for j, t in enumerate(texts)]
    return {
        "options": [*options, {"code": 99, "text": missing, "missing": True}],
        "scoring": {"best": "high"},
    }


def _public_on_points(public: dict, points: int) -> None:
    """public.yaml with its agreement and satisfaction sets replaced by ``points``-point ones (same item ids)."""
    public["response_sets"]["AGR5"] = _response_set(AGREEMENT[points], "说不清")
    public["response_sets"]["SAT5"] = _response_set(SATISFACTION[points], "不了解")
    public["attention_check"]["pass_code"] = points - 1  # the second-best agreement option


def _config_copy(tmp_path: Path, files: tuple[str, ...] | None = None) -> Path:
    target = tmp_path / "questionnaires"
    target.mkdir(parents=True)
    for path in sorted(CONFIG_DIR.glob("*.yaml")):
        if files is None or path.name in files:
            shutil.copy(path, target / path.name)
    return target


def _run(config_dir: Path, base: Path, stages: list[str] | None, *, plant: Path | None) -> StageContext:
    simulate_raw(load_config(config_dir), base / "raw", seed=SIM_SEED, scale=SIM_SCALE, plant=plant)
    ctx = StageContext(raw=base / "raw", out=base / "output", config_dir=config_dir, seed=SIM_SEED)
    run_stages(ctx, stages, echo=lambda *_: None)
    return ctx


def _public_alpha(ctx: StageContext) -> dict[str, float]:
    rel = ctx.read_table("reliability", "reliability")
    rel = rel[
        (rel["instrument"] == "public")
        & (rel["statistic"] == "alpha")
        & (rel["ci_method"] == "feldt")
        & ~rel["weighted"]
    ]
    return dict(zip(rel["scale"], rel["estimate"], strict=True))


def _flags(ctx: StageContext) -> set[tuple]:
    flags = ctx.read_table("reliability", "flags")
    return set(
        flags[["instrument", "scale", "item", "flag_code", "weighted"]].itertuples(index=False, name=None)
    )


@pytest.mark.parametrize("points", [4, 7])
def test_scales_on_other_point_counts_are_as_reliable_as_on_five_points(points, simulated_pipeline, tmp_path):
    bundled, _ = simulated_pipeline
    config_dir = _config_copy(tmp_path)
    edit(config_dir, "public.yaml", lambda public: _public_on_points(public, points))
    ctx = _run(config_dir, tmp_path / "run", ["ingest", "clean", "weight", "reliability"], plant=PLANT)

    codebook = ctx.config.codebook("public")
    assert {codebook.item(i).scoring.points for i in ("P01", "P03")} == {points}
    alpha, expected = _public_alpha(ctx), _public_alpha(bundled)
    assert set(alpha) == set(expected)
    far = {
        s: (round(alpha[s], 3), round(expected[s], 3))
        for s in alpha
        if abs(alpha[s] - expected[s]) > ALPHA_TOLERANCE
    }
    assert not far, far
    assert _flags(ctx) <= _flags(bundled), _flags(ctx) - _flags(bundled)


def _public_only(tmp_path: Path, points: int) -> Path:
    """public.yaml (without the district question and feeds, on ``points``-point sets), cleaning.yaml and an
    analysis.yaml that asks for nothing the missing files would give."""
    config_dir = _config_copy(tmp_path, PUBLIC_ONLY_FILES)

    def public_only(public: dict) -> None:
        _public_on_points(public, points)
        public["questions"] = [q for q in public["questions"] if q.get("variable") != "district"]
        for question in public["questions"]:
            question.pop("feeds", None)
            for row in question.get("rows", []):
                row.pop("feeds", None)

    def no_district_or_margins(analysis: dict) -> None:
        settings = analysis["public"]
        settings["weighting"] = "none"
        for key in ("weight_on", "unit_vs_peers", "adjusted"):
            settings.pop(key, None)
        settings["groupings"] = [g for g in settings["groupings"] if g != "district"]

    edit(config_dir, "public.yaml", public_only)
    edit(config_dir, "analysis.yaml", no_district_or_margins)
    return config_dir


@pytest.fixture(scope="module")
def public_only(tmp_path_factory):
    base = tmp_path_factory.mktemp("public_only")
    config_dir = _public_only(base, 4)
    return _run(config_dir, base / "run", None, plant=None)


def test_a_public_only_configuration_simulates_and_runs_through_compare(public_only):
    raw = public_only.raw
    assert sorted(p.name for p in raw.iterdir() if p.is_dir()) == ["public"]
    truth = json.loads((raw / "truth.json").read_text(encoding="utf-8"))
    assert {s["what"] for s in truth["skipped"]} == {"staff", "casefiles", "checkpoints"}
    assert "district_sizes" not in truth["public"] and truth["plants"] == []
    comparisons = public_only.read_table("compare", "comparisons")
    assert not comparisons.empty and set(comparisons["instrument"]) == {"public"}
    assert "district" not in set(comparisons["by"])


def test_without_plants_null_comparisons_are_significant_at_no_more_than_the_nominal_rate(public_only):
    comparisons = public_only.read_table("compare", "comparisons")
    null = comparisons[comparisons["by"].isin(NULL_GROUPINGS)]["p_bh"].dropna()
    assert len(null) >= 50
    assert (null < NOMINAL).mean() <= NOMINAL


def test_answers_on_a_four_point_set_use_its_codes_in_score_order(public_only):
    frame = public_only.read_table("ingest", "public")
    codebook = public_only.config.codebook("public")
    item = codebook.item("P03")
    values = pd.to_numeric(frame["P03"], errors="coerce").dropna().astype(int)
    values = values[values != INVALID_CODE]  # the few cells the simulator spoils on purpose
    assert set(values) <= item.valid_codes
    shares = values[values != 99].value_counts(normalize=True)
    assert shares.index[0] in (3, 4) and shares.get(1, 0.0) < 0.1  # mostly agreement, few at the worst end
    reverse = pd.to_numeric(frame["P05"], errors="coerce")
    assert reverse[reverse != 99].mean() < values[values != 99].mean()  # a reverse item mirrors


RANKING_CONFIG = {
    "instrument": "public",
    "title": "排序测试",
    "questions": [
        {
            "id": "R1",
            "type": "ranking",
            "text": "请按重要程度排序",
            "max_choices": 3,
            "options": [
                {"code": c, "text": t} for c, t in enumerate(["执法", "服务", "司法", "普法", "治安"], 1)
            ],
        },
        {
            "id": "Q1",
            "type": "single",
            "text": "总体满意程度",
            "options": [{"code": c, "text": f"{c}分"} for c in range(10, 0, -1)],
            "scoring": {"best": "high"},
        },
    ],
}


def test_a_ranking_question_is_written_and_read_back_in_both_modes(tmp_path):
    config_dir = tmp_path / "questionnaires"
    config_dir.mkdir()
    (config_dir / "public.yaml").write_text(
        yaml.safe_dump(RANKING_CONFIG, allow_unicode=True), encoding="utf-8"
    )
    ctx = _run(config_dir, tmp_path / "run", ["ingest"], plant=None)
    frame = ctx.read_table("ingest", "public")
    ranks = frame[[f"R1_{c}" for c in range(1, 6)]].to_numpy(dtype=float)
    ranked = np.sort(np.nan_to_num(ranks), axis=1)[:, -3:]
    assert (ranked == [1, 2, 3]).all()  # every answer ranks its top three, each rank once
    assert (np.isnan(ranks).sum(axis=1) == 2).all()
    q1 = pd.to_numeric(frame["Q1"]).dropna()
    assert q1.between(1, 10).all() and q1.nunique() >= 6  # a 10-point item uses its scale

    codebook = ctx.config.codebook("public")
    item = codebook.item("R1")
    rng = np.random.default_rng(1)
    answers = rank_answers(item, rng, 4)
    answers[3] = SKIPPED
    resp = Responses(codebook, 4, codes={"Q1": np.array([10, 9, 1, 5])}, multi={"R1": answers})
    resp.meta = {
        "submitted": np.array(["2023-07-12T10:23:45"] * 4, dtype="datetime64[s]"),
        "duration": np.array([125] * 4),
        "channel": np.array(["微信"] * 4, dtype=object),
        "channel_detail": np.array(["N/A"] * 4, dtype=object),
        "ip": np.array(["223.104.1.2(甘肃-兰州)"] * 4, dtype=object),
    }
    labels = [o.text for o in item.options]
    text = dict(export_columns(resp, "text"))["1、请按重要程度排序"]
    for row, cell in zip(answers[:3], text[:3], strict=True):
        assert cell == "→".join(labels[k] for k in np.argsort(row) if row[k] > 0)
    assert text[3] == "(跳过)"
    code = dict(export_columns(resp, "code"))
    assert [code[f"第1题({t})"][0] for t in labels] == answers[0].tolist()
    paper = dict(paper_columns(resp, np.array(["a", "b", "c", "d"]), np.array(["x"] * 4)))
    assert [paper[f"R1_{c}"][0] for c in range(1, 6)] == [r if r > 0 else None for r in answers[0].tolist()]
