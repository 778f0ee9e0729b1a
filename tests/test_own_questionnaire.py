"""A team's own questionnaire: response-set scoring, analysis.yaml, weighting choices and messages for people.

The configuration is edited in a private copy of the bundled one (as tests/test_config.py does); the real
问卷星 exports go from a drafted codebook to comparisons with only YAML edits.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from test_config import SHIPPED, edit, problems_of
from test_wjx import CODE_XLS, TEXT_XLS, needs_samples

from pipeline.cli import main
from pipeline.config import load_config
from pipeline.config.codebook import ItemScoring
from pipeline.config.models import Option, Scoring


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    """A private copy of the configuration the tests run on."""
    target = tmp_path / "questionnaires"
    shutil.copytree(SHIPPED, target)
    return target


def options(n: int, *, missing: bool = True) -> list[Option]:
    out = [Option(code=c, text=f"o{c}") for c in range(n, 0, -1)]
    return out + ([Option(code=99, text="不了解", missing=True)] if missing else [])


# ------------------------------------------------------------------------------------------------ scoring


def test_a_four_point_set_scores_its_top_option_100_and_counts_the_top_two_as_satisfied():
    s = ItemScoring.resolve(Scoring(), options(4))
    assert s.scores == pytest.approx({1: 0.0, 2: 100 / 3, 3: 200 / 3, 4: 100.0})
    assert s.satisfied == {4, 3} and s.basic_satisfied == {4, 3}


def test_a_seven_point_set_counts_the_three_above_the_midpoint_and_basic_adds_the_midpoint():
    s = ItemScoring.resolve(Scoring(), options(7))
    assert s.scores[7] == 100 and s.scores[4] == 50 and s.scores[1] == 0
    assert s.satisfied == {7, 6, 5} and s.basic_satisfied == {7, 6, 5, 4}


def test_a_set_whose_lowest_code_is_best_scores_it_100():
    s = ItemScoring.resolve(Scoring(best="low"), options(5))
    assert s.scores[1] == 100 and s.scores[5] == 0 and s.satisfied == {1, 2} and s.best == "low"


def test_a_reverse_item_is_mirrored_in_its_score_and_in_what_counts_as_satisfied():
    s = ItemScoring.resolve(Scoring(scores={5: 100, 4: 75, 3: 50, 2: 25, 1: 0}), options(5))
    assert s.item_scores(reverse=True) == {5: 0, 4: 25, 3: 50, 2: 75, 1: 100}
    assert s.satisfied_codes(reverse=True) == {1, 2}
    assert s.satisfied_codes(basic=True, reverse=True) == {1, 2, 3}


def _four_point_public(data: Any) -> None:
    """P26 on a 4-point set of its own, with a scoring."""
    q = next(q for q in data["questions"] if q.get("id") == "P26")
    q["options"] = [
        {"code": c, "text": t}
        for c, t in ((4, "明显变好"), (3, "有所变好"), (2, "有所变差"), (1, "明显变差"))
    ]
    q["scoring"] = {"best": "high"}


def test_a_four_point_item_with_a_scoring_is_scored_on_its_own_scale(cfg):
    edit(cfg, "public.yaml", _four_point_public)
    item = load_config(cfg).codebook("public").item("P26")
    assert item.scoring.scores == pytest.approx({4: 100.0, 3: 200 / 3, 2: 100 / 3, 1: 0.0})
    assert item.scoring.satisfied == {4, 3}


def test_a_single_choice_item_without_a_scoring_is_not_scored(cfg):
    edit(cfg, "public.yaml", lambda d: next(q for q in d["questions"] if q.get("id") == "P26").pop("scoring"))
    edit(cfg, "analysis.yaml", lambda d: d["public"]["outcomes"]["scored"].remove("P26"))
    assert not load_config(cfg).codebook("public").item("P26").scored


def test_an_outcome_on_an_item_whose_scoring_was_removed_is_refused(cfg):
    edit(cfg, "public.yaml", lambda d: next(q for q in d["questions"] if q.get("id") == "P26").pop("scoring"))
    problems = problems_of(cfg)
    assert any("题目 P26 不计分" in p for p in problems), problems


def test_a_scale_mixing_score_directions_is_refused(cfg):
    def low_best(data: Any) -> None:
        data["response_sets"]["AGR5"]["scoring"] = {"best": "low"}

    edit(cfg, "public.yaml", low_best)
    problems = problems_of(cfg)
    assert any("混合了不同的计分" in p and "scales 第1项 (PG)" in p for p in problems), problems


def test_a_scale_with_a_demographic_item_is_refused(cfg):
    edit(cfg, "public.yaml", lambda d: d["scales"][0]["items"].append("D_gender"))
    problems = problems_of(cfg)
    assert any("D_gender 不计分 (人口学题)" in p for p in problems), problems


def test_a_scale_mixing_four_and_five_point_items_is_warned_about_not_refused(cfg):
    def mix(data: Any) -> None:
        _four_point_public(data)
        data["scales"].append({"id": "OV", "name": "总体", "items": ["P25", "P26"]})

    edit(cfg, "public.yaml", mix)
    warnings = load_config(cfg).warnings
    assert any("OV 混合了不同点数" in w for w in warnings), warnings


def test_a_likert_grid_on_a_set_without_scoring_is_warned_about(cfg):
    def unscored(data: Any) -> None:
        data["response_sets"]["SAT9"] = {"options": [{"code": c, "text": f"t{c}"} for c in range(1, 10)]}
        data["questions"].append({"type": "matrix", "text": "新矩阵", "response_set": "SAT9",
                                  "rows": [{"id": "N1", "text": "a"}, {"id": "N2", "text": "b"}]})  # fmt: skip

    edit(cfg, "public.yaml", unscored)
    config = load_config(cfg)
    assert any("response_sets.SAT9: 选项集没有 scoring" in w for w in config.warnings), config.warnings
    assert not config.codebook("public").item("N1").scored


def test_a_score_for_an_option_that_does_not_exist_is_named(cfg):
    edit(cfg, "public.yaml", lambda d: d["response_sets"]["SAT5"]["scoring"]["scores"].update({6: 100}))
    assert "public.yaml: response_sets.SAT5.scoring.scores: 没有代码为 6 的选项 (no option 6)" in problems_of(
        cfg
    )


# ------------------------------------------------------------------------------------------------ messages


def test_questions_without_numbers_are_numbered_in_order(cfg):
    def drop_numbers(data: Any) -> None:
        for q in data["questions"]:
            q.pop("number", None)

    edit(cfg, "public.yaml", drop_numbers)
    numbers = [q.number for q in load_config(cfg).public.questions]
    assert numbers == list(range(1, len(numbers) + 1))


def test_an_unquoted_off_switches_a_rule_off(cfg):
    path = cfg / "cleaning.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("action: flag", "action: off", 1), encoding="utf-8"
    )
    assert load_config(cfg).cleaning.ip_burst.action == "off"


def test_a_bad_item_id_is_named_by_question_number_in_chinese(cfg):
    edit(cfg, "public.yaml", lambda d: d["questions"][10].update(id="P 25"))
    assert any(
        p.startswith("public.yaml: questions 第11项 (第11题 P 25).id: 只能包含字母、数字和 _ . -")
        for p in problems_of(cfg)
    ), problems_of(cfg)


def test_the_earlier_questionnaire_wide_score_map_says_where_it_moved(cfg):
    edit(cfg, "public.yaml", lambda d: d.update(score_map={5: 100}))
    assert any("score_map 已改为按选项集计分" in p for p in problems_of(cfg))


# ------------------------------------------------------------------------------------------------ analysis.yaml


def test_an_outcome_naming_an_unscored_item_is_a_problem(cfg):
    edit(cfg, "analysis.yaml", lambda d: d["public"]["outcomes"]["scored"].append("D_gender"))
    assert any("题目 D_gender 不计分，不能作为连续结果" in p for p in problems_of(cfg))


def test_without_a_district_question_district_analyses_are_skipped_with_their_reason(cfg):
    def no_district(data: Any) -> None:
        data["questions"] = [q for q in data["questions"] if q.get("variable") != "district"]

    edit(cfg, "public.yaml", no_district)

    def no_district_margins(data: Any) -> None:
        data["margins"] = [m for m in data["margins"] if "district" not in m["variable"]]
        data["rake_on"] = ["gender", "age_group"]

    edit(cfg, "population.yaml", no_district_margins)
    config = load_config(cfg)
    plan = config.plan("public")
    assert "district" not in plan.groupings and not plan.unit_vs_peers and plan.adjusted is None
    assert plan.weight_on == ("gender", "age_group")
    assert any("public groupings district" in w for w in config.warnings)


def test_a_new_demographic_question_left_out_of_the_groupings_is_warned_about(cfg):
    def income(data: Any) -> None:
        data["questions"].insert(7, {"id": "D_income", "variable": "income", "type": "single", "text": "月收入",
                                     "options": [{"code": 1, "text": "低"}, {"code": 2, "text": "高"}]})  # fmt: skip
        for q in data["questions"][8:]:
            q["number"] += 1

    edit(cfg, "public.yaml", income)
    assert any("D_income (income)" in w for w in load_config(cfg).warnings)


def test_raking_on_a_variable_without_a_margin_is_a_problem(cfg):
    edit(cfg, "analysis.yaml", lambda d: d["public"].update(weight_on=["education"]))
    assert any("population.yaml 没有 education 的边际" in p for p in problems_of(cfg))


def test_validate_prints_the_plan_and_the_warnings(cfg, capsys):
    assert main(["validate", "--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert "分析计划 analysis plan" in out and "public: 加权 raking" in out and "提醒 warnings" not in out
    edit(cfg, "analysis.yaml", lambda d: d["public"].update(not_compared=[]))
    assert main(["validate", "--config", str(cfg)]) == 0
    assert "提醒 warnings (1)" in capsys.readouterr().out


# ------------------------------------------------------------------------------------------------ weighting


def _weights(config_dir: Path, tmp_path: Path, method: str) -> pd.DataFrame:
    from pipeline.runner import run_stages
    from pipeline.simulate import simulate_raw
    from pipeline.stages.base import StageContext

    edit(config_dir, "analysis.yaml", lambda d: d["public"].update(weighting=method, weight_on=["district"]))
    config = load_config(config_dir)
    simulate_raw(config, tmp_path / "raw", seed=7, scale=0.1)
    ctx = StageContext(raw=tmp_path / "raw", out=tmp_path / "out", config_dir=config_dir, seed=7)
    run_stages(ctx, ["ingest", "clean", "weight"], echo=lambda *_: None)
    return ctx.read_table("weight", "public_weights").merge(
        ctx.read_table("clean", "public", columns=["record_id", "district"]), on="record_id"
    )


def test_weighting_none_gives_every_respondent_weight_one(cfg, tmp_path):
    assert (_weights(cfg, tmp_path, "none")["weight"] == 1.0).all()


def test_cell_weighting_gives_each_district_its_population_count_over_its_respondents(cfg, tmp_path):
    frame = _weights(cfg, tmp_path, "cells")
    population = load_config(cfg).population
    targets = next(m.targets for m in population.margins if m.variable == "district")
    names = {u.code: u.name for u in load_config(cfg).units.units}
    for district, group in frame.groupby("district", observed=True):
        assert group["weight"].nunique() == 1
        assert group["weight"].sum() == pytest.approx(targets[names[district]], rel=1e-9)


# ------------------------------------------------------------------------------------------------ real exports


@needs_samples
def test_the_real_exports_go_from_a_draft_to_a_chi_square_with_only_yaml_edits(tmp_path):
    config_dir, raw, out = tmp_path / "cfg", tmp_path / "raw", tmp_path / "out"
    assert main(["codebook", "draft", str(TEXT_XLS), str(CODE_XLS), "--out", str(config_dir)]) == 0
    # the person's decisions: the age option nobody chose (the draft marks it TODO), and what to compare
    path = config_dir / "public.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("- {code: 2, text: 16~19岁}", "- {code: 1, text: 15岁及以下}\n      - {code: 2, text: 16~19岁}"), encoding="utf-8")  # fmt: skip
    (config_dir / "analysis.yaml").write_text(
        "public:\n  weighting: none\n  groupings: [gender]\n  outcomes:\n    categorical: [Q1]\n",
        encoding="utf-8",
    )
    (raw / "public").mkdir(parents=True)
    shutil.copy(TEXT_XLS, raw / "public")
    assert main(["validate", "--config", str(config_dir)]) == 0
    assert main(["run", "--config", str(config_dir), "--raw", str(raw), "--out", str(out)]) == 0
    table = pd.read_parquet(out / "05_compare" / "comparisons.parquet")
    tests = set(table.loc[table["family"].str.startswith("public: Q1 ~ gender"), "test"])
    assert {"rao_scott", "chi2"} <= tests, tests
    assert table["family"].str.endswith("(equal weights)").any()
    cleaned = pd.read_parquet(out / "02_clean" / "public.parquet")
    assert 790 <= len(cleaned) <= 800
