"""The shipped configuration is valid, and every kind of broken configuration is reported by file and key path.

"The shipped configuration" is its frozen copy in ``tests/fixtures/config/`` (tests/test_live_config.py checks the
live ``questionnaires/``). Each broken-copy test copies it to a temporary folder, edits one YAML file in Python and
checks the exact ``file.yaml: key.path: message`` line that ``load_config`` reports.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import CONFIG_DIR

from pipeline.cli import main
from pipeline.config import load_config
from pipeline.errors import ConfigError

SHIPPED = CONFIG_DIR  # the frozen copy of questionnaires/

Edit = Callable[[Any], None]


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    """A private copy of the shipped configuration."""
    target = tmp_path / "questionnaires"
    shutil.copytree(SHIPPED, target)
    return target


def edit(directory: Path, file: str, change: Edit) -> None:
    """Load ``file`` of ``directory``, apply ``change`` to the data in place, write it back."""
    path = directory / file
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def problems_of(directory: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(directory)
    return info.value.problems


def question_index(data: dict[str, Any], item_id: str) -> tuple[int, int | None]:
    """(question index, row index or None) of an item in questionnaire data."""
    for i, q in enumerate(data["questions"]):
        if q.get("id") == item_id:
            return i, None
        for j, row in enumerate(q.get("rows", [])):
            if row["id"] == item_id:
                return i, j
    raise KeyError(item_id)


def item_dict(data: dict[str, Any], item_id: str) -> dict[str, Any]:
    i, j = question_index(data, item_id)
    q = data["questions"][i]
    return q if j is None else q["rows"][j]


def point_dict(data: dict[str, Any], point_id: str) -> dict[str, Any]:
    for a in data["aspects"]:
        for it in a["items"]:
            for p in it["points"]:
                if p["id"] == point_id:
                    return p
    raise KeyError(point_id)


def margin(data: dict[str, Any], variable: str) -> dict[str, Any]:
    return next(m for m in data["margins"] if m["variable"] == variable)


# --------------------------------------------------------------------------------------------------
# the shipped configuration


def test_shipped_config_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(SHIPPED.parent)
    config = load_config(SHIPPED.name)
    assert config.public.instrument == "public"
    assert config.staff.instrument == "staff"


def test_validate_command_exits_0_and_prints_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--config", str(SHIPPED)]) == 0
    out = capsys.readouterr().out
    assert "17 方面 aspects · 53 项目 items" in out
    assert "35 扣分项 defect codes" in out


def test_shipped_indicator_system_has_17_aspects_53_items_and_block_weights_30_45_25() -> None:
    ind = load_config(SHIPPED).indicators
    assert len(ind.aspects) == 17
    assert sum(len(a.items) for a in ind.aspects) == 53
    for a in ind.aspects:
        for it in a.items:
            assert 2 <= len(it.points) <= 4, it.id
    blocks = {b: sum(a.weight for a in ind.aspects if a.block == b) for b in ind.blocks}
    assert list(blocks) == ["A", "B", "C"]
    assert [round(w, 9) for w in blocks.values()] == [0.30, 0.45, 0.25]


def test_shipped_units_have_real_district_codes_and_about_40_enforcement_departments() -> None:
    units = load_config(SHIPPED).units
    districts = {u.name: u.code for u in units.units if u.type == "district"}
    assert districts == {
        "城关区": "620102",
        "七里河区": "620103",
        "西固区": "620104",
        "安宁区": "620105",
        "红古区": "620111",
        "永登县": "620121",
        "皋兰县": "620122",
        "榆中县": "620123",
    }
    municipal = [u for u in units.units if u.type != "district"]
    assert 80 <= len(municipal) <= 100
    assert 35 <= sum(u.enforcement for u in municipal) <= 45


def test_shipped_casefile_grades_and_codes() -> None:
    cf = load_config(SHIPPED).casefile
    assert [v.code for v in cf.vetoes] == [f"V0{i}" for i in range(1, 8)]
    assert {c.id: c.max_points for c in cf.categories} == {
        "A": 10,
        "B": 25,
        "C": 25,
        "D": 15,
        "E": 15,
        "F": 10,
    }
    assert [(g.grade, g.min_score, g.excluded_by) for g in cf.grades] == [
        ("优秀", 90, ["B1", "C5"]),
        ("良好", 80, []),
        ("合格", 60, []),
        ("不合格", 0, []),
    ]


# --------------------------------------------------------------------------------------------------
# one problem at a time: (file to edit, edit, exact line expected)


def _set(path: list[Any], value: Any) -> Edit:
    def change(data: Any) -> None:
        node = data
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return change


def _public_dup_item(data: Any) -> None:
    item_dict(data, "P02")["id"] = "P01"


def _public_feed(point: str) -> Edit:
    def change(data: Any) -> None:
        item_dict(data, "P10")["feeds"] = [point]
        item_dict(data, "P01")["feeds"] = ["7.2.1", "5.3.1"]  # keep 5.3.1 fed

    return change


def _drop_score(data: Any) -> None:
    del data["response_sets"]["SAT5"]["scoring"]["scores"][3]


def _response_set(data: Any) -> None:
    i, _ = question_index(data, "P03")
    data["questions"][i]["response_set"] = "AGR6"


def _add_source(point: str, source: str) -> Edit:
    def change(data: Any) -> None:
        point_dict(data, point)["sources"].append(source)

    return change


def _point_field(point: str, key: str, value: Any) -> Edit:
    def change(data: Any) -> None:
        point_dict(data, point)[key] = value

    return change


def _dup_defect(data: Any) -> None:
    data["categories"][1]["defects"][0]["code"] = "A1"


def _swap_grades(data: Any) -> None:
    data["grades"][1]["min_score"] = 95


def _rename_key(variable: str, old: str, new: str) -> Edit:
    def change(data: Any) -> None:
        targets = margin(data, variable)["targets"]
        targets[new] = targets.pop(old)

    return change


def _bump(variable: str, key: str) -> Edit:
    def change(data: Any) -> None:
        margin(data, variable)["targets"][key] += 1000

    return change


def _template(key: str, value: Any) -> Edit:
    def change(data: Any) -> None:
        if value is None:
            del data["templates"][key]
        else:
            data["templates"][key] = value

    return change


def _placeholder(data: Any) -> None:
    data["templates"]["1.1"]["problem"] = "{unit}第一责任人职责落实不到位"


def _dup_point(data: Any) -> None:
    data["aspects"][0]["items"][0]["points"][1]["id"] = "1.1.1"


CASES: list[tuple[str, str, Edit, str]] = [
    # questionnaires
    (
        "unknown_scale_item",
        "public.yaml",
        _set(["scales", 0, "items", 3], "P37"),
        "public.yaml: scales 第1项 (PG).items 第4项: 没有题目 (unknown item) 'P37'",
    ),
    (
        "duplicate_item",
        "public.yaml",
        _public_dup_item,
        "public.yaml: questions 第9项 (第9题).rows 第2项 (P01).id: duplicate item id 'P01' (first at public.yaml: questions 第9项 (第9题).rows 第1项 (P01).id)",
    ),
    (
        "duplicate_scale",
        "staff.yaml",
        _set(["scales", 1, "id"], "SA"),
        "staff.yaml: scales 第2项 (SA).id: duplicate scale id 'SA' (first at staff.yaml: scales 第1项 (SA).id)",
    ),
    (
        "feed_unknown_point",
        "public.yaml",
        _public_feed("5.3.9"),
        "public.yaml: questions 第9项 (第9题).rows 第4项 (P10).feeds 第1项: unknown observation point '5.3.9'",
    ),
    (
        "feed_point_without_source",
        "public.yaml",
        _public_feed("5.3.2"),
        "public.yaml: questions 第9项 (第9题).rows 第4项 (P10).feeds 第1项: observation point '5.3.2' does not "
        "list source 'public' in indicators.yaml (sources: online)",
    ),
    (
        "likert_option_without_score",
        "public.yaml",
        _drop_score,
        "public.yaml: response_sets.SAT5.scoring.scores: 选项 3 没有分数 (option 3 has no score)",
    ),
    (
        "unknown_response_set",
        "public.yaml",
        _response_set,
        "public.yaml: questions 第10项 (第10题).response_set: 未定义的选项集 (unknown response set) 'AGR6' (已定义 known: SAT5, AGR5)",
    ),
    (
        "attention_item",
        "public.yaml",
        _set(["attention_check", "item"], "AC9"),
        "public.yaml: attention_check.item: unknown item 'AC9'",
    ),
    (
        "attention_code",
        "public.yaml",
        _set(["attention_check", "pass_code"], 7),
        "public.yaml: attention_check.pass_code: 7 is not an option code of 'AC1' (codes: 5, 4, 3, 2, 1, 99)",
    ),
    (
        "skip_question",
        "staff.yaml",
        _set(["skip_logic", 0], {"questions": [99], "show_if_any": [{"item": "SD_post", "in": [2]}]}),
        "staff.yaml: skip_logic 第1项.questions 第1项: 没有第99题 (no question 99)",
    ),
    (
        "skip_item",
        "staff.yaml",
        _set(["skip_logic", 0, "show_if_any", 0, "item"], "SD_nope"),
        "staff.yaml: skip_logic 第1项.show_if_any 第1项 (SD_nope).item: unknown item 'SD_nope'",
    ),
    (
        "skip_code",
        "staff.yaml",
        _set(["skip_logic", 0, "show_if_any", 1, "in", 0], 9),
        "staff.yaml: skip_logic 第1项.show_if_any 第2项 (SD_cert).in 第1项: 9 is not an option code of 'SD_cert'",
    ),
    (
        "quiz_key",
        "staff.yaml",
        _set(["quiz", 0, "key"], 5),
        "staff.yaml: quiz 第1项 (K01).key: 5 is not an option code of 'K01' (codes: 1, 2, 3, 4)",
    ),
    (
        "quiz_item",
        "staff.yaml",
        _set(["quiz", 4, "item"], "K09"),
        "staff.yaml: quiz 第5项 (K09).item: unknown item 'K09'",
    ),
    # indicators
    (
        "aspect_weights",
        "indicators.yaml",
        _set(["aspects", 0, "weight"], 0.06),
        "indicators.yaml: aspects: aspect weights sum to",
    ),
    (
        "item_weights",
        "indicators.yaml",
        _set(["aspects", 1, "items", 0, "weight"], 0.6),
        "indicators.yaml: aspects 第2项 (2).items: aspect 2: item weights sum to 1.1",
    ),
    (
        "point_weights",
        "indicators.yaml",
        _set(["aspects", 2, "items", 1, "points", 0, "weight"], 0.5),
        "indicators.yaml: aspects 第3项 (3).items 第2项 (3.2).points: item 3.2: observation point weights sum to 1.1",
    ),
    (
        "no_source",
        "indicators.yaml",
        _point_field("1.2.1", "sources", []),
        "indicators.yaml: aspects 第1项 (1).items 第2项 (1.2).points 第1项 (1.2.1).sources: 至少需要 1 项 (needs at least 1)",
    ),
    (
        "unfed_public_point",
        "indicators.yaml",
        _add_source("1.2.1", "public"),
        "indicators.yaml: aspects 第1项 (1).items 第2项 (1.2).points 第1项 (1.2.1).sources 第2项: source 'public' "
        "but no public.yaml item feeds observation point '1.2.1'",
    ),
    (
        "unfed_casefile_point",
        "indicators.yaml",
        _add_source("1.2.1", "casefile"),
        "indicators.yaml: aspects 第1项 (1).items 第2项 (1.2).points 第1项 (1.2.1).sources 第2项: source "
        "'casefile' but no casefile.yaml category (or veto_feeds) feeds observation point '1.2.1'",
    ),
    (
        "applies_to",
        "indicators.yaml",
        _point_field("9.1.1", "applies_to", ["enforcment"]),
        "indicators.yaml: aspects 第9项 (9).items 第1项 (9.1).points 第1项 (9.1.1).applies_to 第1项: 'enforcment' is neither a unit type",
    ),
    (
        "duplicate_point",
        "indicators.yaml",
        _dup_point,
        "indicators.yaml: aspects 第1项 (1).items 第1项 (1.1).points 第2项 (1.1.1).id: duplicate observation point id '1.1.1'",
    ),
    (
        "duplicate_aspect",
        "indicators.yaml",
        _set(["aspects", 1, "id"], "1"),
        "indicators.yaml: aspects 第2项 (1).id: duplicate aspect id '1' (first at indicators.yaml: aspects 第1项 (1).id)",
    ),
    (
        "unknown_block",
        "indicators.yaml",
        _set(["aspects", 1, "block"], "Z"),
        "indicators.yaml: aspects 第2项 (2).block: unknown block 'Z' (blocks: A, B, C)",
    ),
    (
        "expected_counts",
        "indicators.yaml",
        _set(["expected_counts", "items"], 54),
        "indicators.yaml: aspects: expected 17 aspects and 54 items in the shipped system, "
        "found 17 aspects and 53 items",
    ),
    # casefile
    (
        "casefile_feed",
        "casefile.yaml",
        _set(["categories", 5, "feeds"], ["9.2.4", "1.2.1"]),
        "casefile.yaml: categories 第6项 (F).feeds 第2项: observation point '1.2.1' does not list source 'casefile'",
    ),
    (
        "casefile_max_points",
        "casefile.yaml",
        _set(["categories", 0, "max_points"], 15),
        "casefile.yaml: categories: max_points sum to 105, not total_points 100",
    ),
    (
        "grade_order",
        "casefile.yaml",
        _swap_grades,
        "casefile.yaml: grades 第2项.min_score: grade bands must be in strictly descending order (95 after 90)",
    ),
    (
        "excluded_by",
        "casefile.yaml",
        _set(["grades", 0, "excluded_by"], ["B1", "B9"]),
        "casefile.yaml: grades 第1项.excluded_by 第2项: unknown defect code 'B9'",
    ),
    (
        "duplicate_defect",
        "casefile.yaml",
        _dup_defect,
        "casefile.yaml: categories 第2项 (B).defects 第1项 (A1).code: duplicate veto/defect code 'A1' "
        "(first at casefile.yaml: categories 第1项 (A).defects 第1项 (A1).code)",
    ),
    (
        "veto_grade",
        "casefile.yaml",
        _set(["veto_grade"], "差"),
        "casefile.yaml: veto_grade: '差' is not one of the grades",
    ),
    # units
    (
        "unit_parent",
        "units.yaml",
        _set(["units", 10, "parent"], "M999"),
        "units.yaml: units 第11项 (M003).parent: unknown unit 'M999'",
    ),
    (
        "unit_code",
        "units.yaml",
        _set(["units", 9, "code"], "M001"),
        "units.yaml: units 第10项 (M001).code: duplicate unit code 'M001' (first at units.yaml: units 第9项 (M001).code)",
    ),
    (
        "unit_type",
        "units.yaml",
        _set(["units", 9, "type"], "agency"),
        "units.yaml: units 第10项 (M002).type: unknown unit type 'agency'",
    ),
    (
        "options_from",
        "units.yaml",
        _set(["district_type"], "county"),
        "public.yaml: questions 第1项 (第1题 D_district).options_from: units.yaml has no unit of type 'county'",
    ),
    (
        "headcount_range",
        "units.yaml",
        _set(["units", 3, "headcount"], -5),
        "units.yaml: units 第4项 (620105).headcount: 应不小于 0 (must be at least 0)",
    ),
    # population
    (
        "margin_variable",
        "population.yaml",
        _set(["margins", 1, "variable"], "sex"),
        "population.yaml: margins 第2项.variable: 'sex' is not a demographic variable of public.yaml",
    ),
    (
        "margin_key",
        "population.yaml",
        _rename_key("gender", "男", "M"),
        "population.yaml: margins 第2项.targets.M: 'M' is not an option of public.yaml question D_gender (gender: 男, 女)",
    ),
    (
        "margin_missing_category",
        "population.yaml",
        _rename_key("gender", "男", "M"),
        "population.yaml: margins 第2项.targets: no target for '男'",
    ),
    (
        "interaction_key",
        "population.yaml",
        _rename_key(["district", "gender"], "城关区×男", "城关区×M"),
        "population.yaml: margins 第4项.targets.城关区×M: 'M' is not an option of public.yaml question D_gender",
    ),
    (
        "margin_totals",
        "population.yaml",
        _bump("age_group", "70+"),
        "population.yaml: margins 第3项.targets: targets sum to 3,393,200, not total 3,392,200",
    ),
    (
        "rake_on",
        "population.yaml",
        _set(["rake_on", 1], "sex"),
        "population.yaml: rake_on 第2项: no margin for 'sex'",
    ),
    # suggestions
    (
        "suggestion_unknown_item",
        "suggestions.yaml",
        _template("9.9", {"problem": "{units}x", "suggestion": "y"}),
        "suggestions.yaml: templates.9.9: unknown indicator item '9.9'",
    ),
    (
        "suggestion_missing",
        "suggestions.yaml",
        _template("9.2", None),
        "suggestions.yaml: templates: no template for indicator item '9.2'",
    ),
    (
        "suggestion_placeholder",
        "suggestions.yaml",
        _placeholder,
        "suggestions.yaml: templates.1.1.problem: unknown placeholder '{unit}'",
    ),
]


@pytest.mark.parametrize(("file", "change", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_broken_copy_names_file_and_key_path(cfg: Path, file: str, change: Edit, expected: str) -> None:
    edit(cfg, file, change)
    problems = problems_of(cfg)
    assert any(p.startswith(expected) for p in problems), "\n".join(problems)


def test_several_problems_are_listed_at_once_and_validate_exits_1(
    cfg: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit(cfg, "public.yaml", _set(["scales", 0, "items", 3], "P37"))
    edit(cfg, "indicators.yaml", _set(["aspects", 0, "weight"], 0.06))
    edit(cfg, "units.yaml", _set(["units", 10, "parent"], "M999"))
    edit(cfg, "suggestions.yaml", _template("9.2", None))
    edit(cfg, "casefile.yaml", _set(["grades", 0, "excluded_by"], ["B1", "B9"]))
    expected = [
        "public.yaml: scales 第1项 (PG).items 第4项: 没有题目 (unknown item) 'P37'",
        "casefile.yaml: grades 第1项.excluded_by 第2项: unknown defect code 'B9'",
        "indicators.yaml: aspects: aspect weights sum to",
        "units.yaml: units 第11项 (M003).parent: unknown unit 'M999'",
        "suggestions.yaml: templates: no template for indicator item '9.2'",
    ]
    problems = problems_of(cfg)
    assert len(problems) == len(expected), "\n".join(problems)
    for got, want in zip(problems, expected, strict=True):
        assert got.startswith(want)

    assert main(["validate", "--config", str(cfg)]) == 1
    err = capsys.readouterr().err
    assert "配置有 5 处问题" in err
    for want in expected:
        assert want in err


def test_model_errors_in_several_files_are_listed_together(cfg: Path) -> None:
    edit(cfg, "units.yaml", _set(["units", 3, "headcount"], -5))
    edit(cfg, "casefile.yaml", _set(["categories", 0, "defects", 0, "per"], "file"))
    problems = problems_of(cfg)
    assert any(p.startswith("casefile.yaml: categories 第1项 (A).defects 第1项 (A1).per: ") for p in problems)
    assert any(p.startswith("units.yaml: units 第4项 (620105).headcount: 应不小于 0") for p in problems)


def test_yaml_syntax_error_names_the_line(cfg: Path) -> None:
    path = cfg / "units.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    broken_line = (
        next(i for i, ln in enumerate(lines) if ln.startswith("units:")) + 2
    )  # 1-based line after it
    lines.insert(broken_line - 1, "  name: [不闭合")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    problems = problems_of(cfg)
    assert len(problems) == 1
    assert problems[0].startswith("units.yaml: YAML 语法错误 (line ")
    reported = int(problems[0].split("(line ")[1].split(",")[0])
    assert broken_line <= reported <= broken_line + 1


def test_a_questionnaire_alone_is_a_valid_configuration(cfg: Path) -> None:
    for name in (
        "staff",
        "casefile",
        "indicators",
        "units",
        "population",
        "suggestions",
        "cleaning",
        "analysis",
    ):
        (cfg / f"{name}.yaml").unlink()
    edit(cfg, "public.yaml", _strip_public_to_survey)
    config = load_config(cfg)
    assert config.instruments == ("public",)
    assert config.staff is None and config.indicators is None and config.population is None
    plan = config.plan("public")
    assert plan.weighting == "none" and "district" not in plan.groupings
    assert any("没有 population.yaml" in w for w in config.warnings)


def _strip_public_to_survey(data: Any) -> None:
    """public.yaml without what needs other files: the district question and the feeds."""
    data["questions"] = [q for q in data["questions"] if q.get("options_from") is None]
    for q in data["questions"]:
        q.pop("feeds", None)
        for row in q.get("rows", []):
            row.pop("feeds", None)


def test_no_questionnaire_is_named(cfg: Path) -> None:
    (cfg / "public.yaml").unlink()
    (cfg / "staff.yaml").unlink()
    problems = problems_of(cfg)
    assert any("没有问卷文件" in p for p in problems)


def test_missing_directory_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--config", str(tmp_path / "nowhere")]) == 1
    assert "nowhere: 配置目录不存在" in capsys.readouterr().err
