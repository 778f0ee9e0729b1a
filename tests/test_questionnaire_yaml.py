"""The bundled public.yaml and staff.yaml validate and say what docs/BACKGROUND.md §1 says.

They are read from the frozen copy in tests/fixtures/config/, so that a team's own edit of questionnaires/ does
not fail here (tests/test_live_config.py checks the live files). The expected facts (reverse items,
attention-check answers, quiz keys) are copied from docs/BACKGROUND.md §1 on purpose, so that a refreshed copy
that drifts from the questionnaire design fails here.
"""

from __future__ import annotations

import pytest
import yaml
from conftest import CONFIG_DIR
from pydantic import ValidationError

from pipeline.config.codebook import Codebook
from pipeline.config.models import Question, Questionnaire, Units

QDIR = CONFIG_DIR  # frozen copy of questionnaires/

REVERSE = {
    "public": {"P05", "P09", "P15", "P19", "P20"},
    "staff": {"S02", "S03", "S08", "S12", "S16"},
}
ATTENTION = {"public": ("AC1", "比较同意"), "staff": ("AC2", "很不同意")}
QUIZ_KEY_TEXT = {"K01": "二年", "K02": "2", "K03": "不予行政处罚", "K04": "60日", "K05": "执法责任追究"}
LIKERT = {
    "public": [f"P{i:02d}" for i in range(1, 27)],
    "staff": [f"S{i:02d}" for i in range(1, 25)],
}
SD_BLOCK = ["S13", "S14", "S15", "S16", "S17", "AC2"]
SCORE_MAP = {5: 100, 4: 75, 3: 50, 2: 25, 1: 0}


def _load(instrument: str) -> Questionnaire:
    with open(QDIR / f"{instrument}.yaml", encoding="utf-8") as f:
        return Questionnaire.model_validate(yaml.safe_load(f))


@pytest.fixture(scope="module", params=["public", "staff"])
def questionnaire(request: pytest.FixtureRequest) -> Questionnaire:
    q = _load(request.param)
    assert q.instrument == request.param
    return q


def _questions_by_item(q: Questionnaire) -> dict[str, Question]:
    return {item: question for question in q.questions for item in question.item_ids()}


def _options(q: Questionnaire, question: Question) -> dict[int, str]:
    opts = question.options or (
        q.response_sets[question.response_set].options if question.response_set else []
    )
    return {o.code: o.text for o in opts}


def _rows(q: Questionnaire) -> dict:
    return {row.id: row for question in q.questions for row in question.rows}


def test_question_numbers_run_one_to_n_in_form_order(questionnaire: Questionnaire) -> None:
    numbers = [question.number for question in questionnaire.questions]
    assert numbers == list(range(1, len(numbers) + 1))


def test_item_ids_are_unique(questionnaire: Questionnaire) -> None:
    ids = [item for question in questionnaire.questions for item in question.item_ids()]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})


def test_likert_response_sets_and_their_scoring(questionnaire: Questionnaire) -> None:
    for name in ("SAT5", "AGR5"):
        assert questionnaire.response_sets[name].scoring.scores == SCORE_MAP
    sat = [(o.code, o.text, o.missing) for o in questionnaire.response_sets["SAT5"].options]
    agr = [(o.code, o.text, o.missing) for o in questionnaire.response_sets["AGR5"].options]
    assert sat[-1] == (99, "不了解", True) and agr[-1] == (99, "说不清", True)
    assert [c for c, _, m in sat if not m] == [5, 4, 3, 2, 1] == [c for c, _, m in agr if not m]


def test_all_likert_items_exist_and_public_p01_to_p24_sit_in_matrices(questionnaire: Questionnaire) -> None:
    by_item = _questions_by_item(questionnaire)
    likert = LIKERT[questionnaire.instrument]
    assert [i for i in likert if i not in by_item] == []
    if questionnaire.instrument == "public":
        in_matrix = [i for i in likert if by_item[i].type == "matrix"]
        assert in_matrix == [f"P{i:02d}" for i in range(1, 25)]
        assert by_item["P25"].response_set == "SAT5"
        assert by_item["P26"].type == "single" and sorted(_options(questionnaire, by_item["P26"])) == [
            1,
            2,
            3,
            4,
            5,
        ]


def test_public_matrices_group_items_by_response_set() -> None:
    q = _load("public")
    for question in q.questions:
        if question.type != "matrix":
            continue
        endings = {row.text.endswith("满意程度") for row in question.rows if not row.id.startswith("AC")}
        expected = {"SAT5": {True}, "AGR5": {False}}[question.response_set]
        assert endings == expected, question.number


def test_every_scale_item_exists_and_is_likert(questionnaire: Questionnaire) -> None:
    likert = set(LIKERT[questionnaire.instrument])
    for scale in questionnaire.scales:
        assert set(scale.items) <= likert, scale.id
    scaled = [i for s in questionnaire.scales for i in s.items]
    assert len(scaled) == len(set(scaled))
    expected_ids = {"public": ["PG", "LE", "JS", "PF", "SG"], "staff": ["SA", "SB", "SC", "SD", "SE", "SF"]}
    assert [s.id for s in questionnaire.scales] == expected_ids[questionnaire.instrument]


def test_reverse_items_are_exactly_those_marked_r(questionnaire: Questionnaire) -> None:
    reversed_rows = {row.id for row in _rows(questionnaire).values() if row.reverse}
    reversed_questions = {question.id for question in questionnaire.questions if question.reverse}
    assert reversed_rows | reversed_questions == REVERSE[questionnaire.instrument]


def test_attention_check_pass_code_is_the_requested_answer(questionnaire: Questionnaire) -> None:
    item, answer = ATTENTION[questionnaire.instrument]
    check = questionnaire.attention_check
    assert check is not None and check.item == item
    question = _questions_by_item(questionnaire)[item]
    assert question.type == "matrix" and question.response_set == "AGR5"
    assert _options(questionnaire, question)[check.pass_code] == answer
    assert f'"{answer}"' in _rows(questionnaire)[item].text


def test_quiz_keys_match_domain() -> None:
    q = _load("staff")
    by_item = _questions_by_item(q)
    keys = {entry.item: _options(q, by_item[entry.item])[entry.key] for entry in q.quiz}
    assert keys == QUIZ_KEY_TEXT
    assert all(entry.basis for entry in q.quiz)


def test_skip_logic_points_at_the_sd_block() -> None:
    q = _load("staff")
    by_item = _questions_by_item(q)
    (rule,) = q.skip_logic
    (first,) = rule.items
    block = next(question for question in q.questions if first in question.item_ids())
    assert block.item_ids() == SD_BLOCK
    sd_scale = next(s for s in q.scales if s.id == "SD")
    assert sd_scale.items == SD_BLOCK[:-1]
    shown_for = {
        by_item[cond.item].variable: {_options(q, by_item[cond.item])[c] for c in cond.in_}
        for cond in rule.show_if_any
    }
    assert shown_for == {"post": {"行政执法", "法制审核"}, "cert": {"是"}}


def test_demographic_variables(questionnaire: Questionnaire) -> None:
    expected = {
        "public": [
            "district",
            "gender",
            "age_group",
            "education",
            "occupation",
            "residence",
            "years_in_city",
        ],
        "staff": [
            "unit",
            "unit_category",
            "rank",
            "post",
            "cert",
            "years_of_service",
            "education",
            "law_background",
            "gender",
            "age_group",
        ],
    }[questionnaire.instrument]
    prefix = {"public": "D_", "staff": "SD_"}[questionnaire.instrument]
    variables = {question.variable: question for question in questionnaire.questions if question.variable}
    assert set(expected) <= set(variables)
    for name, question in variables.items():
        assert question.id == f"{prefix}{name}"
    if questionnaire.instrument == "public":
        contact = variables["contact"]
        assert contact.type == "multiple" and [o.text for o in contact.options if o.exclusive] == ["无"]
        assert variables["district"].options_from == "districts"
    else:
        assert variables["unit"].options_from == "units"


@pytest.fixture(scope="module")
def units() -> Units:
    path = QDIR / "units.yaml"
    if not path.exists():
        pytest.skip("units.yaml not written yet")
    try:
        with open(path, encoding="utf-8") as f:
            return Units.model_validate(yaml.safe_load(f))
    except (yaml.YAMLError, ValidationError) as err:
        pytest.skip(f"units.yaml does not load: {err}")


def test_codebook_builds_with_units(questionnaire: Questionnaire, units: Units) -> None:
    cb = Codebook.from_config(questionnaire, units)
    assert all(i in cb for i in LIKERT[questionnaire.instrument])
    assert cb.item(sorted(REVERSE[questionnaire.instrument])[0]).reverse
    if questionnaire.instrument == "public":
        districts = cb.by_variable("district").options
        assert len(districts) == 8 and all(o.unit for o in districts)
        assert cb.item("P05").substantive_codes == (5, 4, 3, 2, 1)
    else:
        assert len(cb.by_variable("unit").options) == len(units.units)
        assert cb.skipped_item_ids() == set(SD_BLOCK)
