"""``fazhi-eval codebook draft``: a questionnaire YAML drafted from 问卷星 exports (pipeline.ingest.draft).

On the two real exports (both modes of one survey) and on small hand-made exports with a Likert matrix, a ranking
question, a multiple-choice question with 无, a fill-in and a number.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from test_wjx import CODE_XLS, TEXT_XLS, needs_samples

from pipeline.cli import main
from pipeline.config.cleaning import CleaningRules
from pipeline.config.codebook import Codebook
from pipeline.config.models import Questionnaire
from pipeline.ingest import wjx
from pipeline.ingest.codebook_match import decode_export
from pipeline.ingest.draft import clean_text, draft_from_exports
from pipeline.ingest.draft_yaml import cleaning_yaml, questionnaire_yaml, scalar
from pipeline.ingest.labels import (
    demographic_variable,
    is_exclusive,
    is_missing_like,
    is_other,
    max_choices_from_stem,
    recognise_likert,
    sensible_order,
)
from pipeline.simulate.wjx_writer import write_xlsx
from tests.fixtures.ingest.small import UNITS


def codebook_of(text: str) -> Codebook:
    """A Codebook from a draft's YAML, validated by the questionnaire model as it stands."""
    return Codebook.from_config(Questionnaire.model_validate(yaml.safe_load(text)), UNITS)


# --------------------------------------------------------------------------------------------------------------
# the two real exports


@pytest.fixture(scope="module")
def real_pair() -> tuple[wjx.WjxExport, wjx.WjxExport]:
    return wjx.read_export(TEXT_XLS), wjx.read_export(CODE_XLS)


@needs_samples
@pytest.mark.parametrize("with_code", [True, False], ids=["paired", "text-only"])
def test_real_export_drafts_eight_questions_of_the_right_types(real_pair, with_code):
    text, code = real_pair
    draft = draft_from_exports(text, code if with_code else None)
    assert [q.number for q in draft.questions] == list(range(1, 9))
    types = {q.number: q.type for q in draft.questions}
    assert types == {n: "multiple" if n in (6, 8) else "single" for n in range(1, 9)}
    assert [q.id for q in draft.questions] == [f"Q{n}" for n in range(1, 9)]
    assert draft.questions[2].text == "性别"  # '3、性别 ' without its trailing space
    for n in (2, 6, 8):
        other = [o for o in draft.questions[n - 1].options if o.other]
        assert [o.text for o in other] == ["其他【请注明】"]
    data = yaml.safe_load(questionnaire_yaml(draft))
    assert [q["id"] for q in data["questions"]] == [f"Q{n}" for n in range(1, 9)]
    yaml.safe_load(cleaning_yaml(draft))


@needs_samples
def test_paired_draft_takes_the_codes_of_the_code_mode_export(real_pair):
    text, code = real_pair
    draft = draft_from_exports(code, text)  # either order
    for q in draft.questions:
        if q.type != "single":
            continue
        mapping = {o.text: o.code for o in q.options}
        cells = text.cells[text.questions[q.number].column].map(lambda v: wjx.split_other(str(v))[0])
        codes = code.cells[code.questions[q.number].column].astype(int)
        assert (cells.map(mapping) == codes).all(), q.number
    q4 = draft.questions[3]
    assert [o.code for o in q4.options][:2] == [2, 3]  # code 1 was never chosen
    assert any("代码 [1]" in note for note in q4.notes)
    q6 = draft.questions[5]
    assert [(o.code, o.text) for o in q6.options][:2] == [(1, "运动"), (2, "阅读")]  # column order
    assert next(o for o in draft.questions[7].options if o.text == "不关注").exclusive


@needs_samples
def test_real_text_only_draft_orders_numeric_bands_like_the_form(real_pair):
    text, code = real_pair
    draft = draft_from_exports(text)
    paired = draft_from_exports(text, code)
    for n in (1, 2, 5):  # bands sorted by leading number, 其他 and 不知道 last: 问卷星's own order
        assert draft.questions[n - 1].options == paired.questions[n - 1].options
    assert [q.variable for q in draft.questions] == [
        None,
        None,
        "gender",
        "age_group",
        "income",
        None,
        None,
        None,
    ]


@needs_samples
def test_draft_written_by_the_cli_decodes_both_exports_to_the_same_codes(tmp_path, capsys):
    out = tmp_path / "questionnaires"
    assert main(["codebook", "draft", str(TEXT_XLS), str(CODE_XLS), "--out", str(out)]) == 0
    assert "8 题" in capsys.readouterr().out
    cleaning = yaml.safe_load((out / "cleaning.yaml").read_text(encoding="utf-8"))
    assert cleaning["speeder"]["action"] == cleaning["ip_burst"]["action"] == "off"  # meta columns blank
    assert cleaning["duplicate"]["by_ip"] is False and cleaning["location"]["outside_province"] == "off"
    assert cleaning["straightline"]["action"] == cleaning["attention"]["action"] == "off"
    assert "indicators" not in cleaning
    CleaningRules.model_validate(cleaning)
    cb = codebook_of((out / "public.yaml").read_text(encoding="utf-8"))
    by_text = decode_export(wjx.read_export(TEXT_XLS), cb)
    by_code = decode_export(wjx.read_export(CODE_XLS), cb)
    assert by_text.issues == [] and by_code.issues == []
    coded = [c for c in by_text.frame.columns if not c.endswith("_other_text")]
    pd.testing.assert_frame_equal(by_text.frame[coded], by_code.frame[coded])
    assert by_text.frame["Q2_other_text"].dropna().tolist() == ["我妈买的。", "亲友赠送的"]
    # a second run does not overwrite the edited draft
    assert main(["codebook", "draft", str(TEXT_XLS), "--out", str(out)]) == 1


# --------------------------------------------------------------------------------------------------------------
# hand-made exports: a Likert matrix, a ranking question, 无 in a multiple choice, a fill-in, a number

N = 12
META = {
    "序号": list(range(1, N + 1)),
    "提交答卷时间": ["2023/7/12 10:23:45"] * N,
    "所用时间": ["125秒"] * N,
    "来源": ["微信"] * N,
    "来源详情": ["直接访问"] * N,
    "来自IP": ["223.104.1.2(甘肃-兰州)"] * N,
}
SAT = ["非常满意", "比较满意", "一般", "不太满意", "很不满意", "不了解"]  # 问卷星 codes 1..6 in this order
ROWS = ["依法办事", "信息公开", "窗口服务"]
RANKED = ["行政执法", "信息公开", "窗口服务", "普法宣传"]
PROBLEMS = ["办事难", "乱收费", "无"]


def _answers(seed: int = 7) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    sat = rng.integers(1, 7, size=(N, len(ROWS)))
    sat[:6, 0] = np.arange(1, 7)  # every option seen
    ranks = np.array([rng.permutation(len(RANKED)) for _ in range(N)])  # option order per respondent
    k = rng.integers(1, 4, size=N)  # each ranks its top 1..3
    k[0] = 3
    problems = [[0], [0, 1], [2], [1], [2], [0, 1], [0], [1], [2], [0], [1], [0, 1]]
    return {"sat": sat, "ranks": ranks, "k": k, "problems": problems, "age": 20 + rng.permutation(40)[:N]}


def _text_columns(a: dict) -> list[tuple[str, np.ndarray]]:
    cols = [(h, np.array(v, dtype=object)) for h, v in META.items()]
    cols.append(("1、您的性别", np.array(["男", "女"] * (N // 2), dtype=object)))
    for j, row in enumerate(ROWS):
        cols.append((f"2({row})", np.array([SAT[c - 1] for c in a["sat"][:, j]], dtype=object)))
    cols.append(
        (
            "3、请对以下方面排序 ",
            np.array(
                ["→".join(RANKED[p] for p in perm[:k]) for perm, k in zip(a["ranks"], a["k"], strict=True)],
                dtype=object,
            ),
        )
    )
    cols.append(
        ("4、您遇到过哪些问题", np.array(["┋".join(PROBLEMS[p] for p in ps) for ps in a["problems"]]))
    )
    cols.append(
        ("5、意见  建议", np.array([f"建议{i}号" if i % 5 else "无" for i in range(N)], dtype=object))
    )
    cols.append(("6、您的年龄", np.array([str(x) for x in a["age"]], dtype=object)))
    return cols


def _code_columns(a: dict) -> list[tuple[str, np.ndarray]]:
    cols = [(h, np.array(v, dtype=object)) for h, v in META.items()]
    cols.append(("1、您的性别", np.array([1, 2] * (N // 2))))
    for j, row in enumerate(ROWS):
        cols.append((f"第2题({row})", a["sat"][:, j]))
    for o, label in enumerate(RANKED):  # the rank each option got, "" when not ranked
        rank = [int(np.flatnonzero(perm == o)[0]) + 1 for perm in a["ranks"]]
        cols.append(
            (
                f"第3题({label})",
                np.array([r if r <= k else "" for r, k in zip(rank, a["k"], strict=True)], dtype=object),
            )
        )
    for o, label in enumerate(PROBLEMS):
        cols.append((f"第4题({label})", np.array([int(o in ps) for ps in a["problems"]])))
    cols.append(
        ("5、意见  建议", np.array([f"建议{i}号" if i % 5 else "无" for i in range(N)], dtype=object))
    )
    cols.append(("6、您的年龄", a["age"]))
    return cols


@pytest.fixture(scope="module")
def small_pair(tmp_path_factory) -> tuple[wjx.WjxExport, wjx.WjxExport]:
    base = tmp_path_factory.mktemp("draft")
    a = _answers()
    text = write_xlsx(_text_columns(a), base / "1_按文本_小问卷_12_12.xlsx")
    code = write_xlsx(_code_columns(a), base / "1_按序号_小问卷_12_12.xlsx")
    return wjx.read_export(text), wjx.read_export(code)


def test_small_export_types_matrix_rows_and_title(small_pair):
    draft = draft_from_exports(*small_pair)
    assert draft.title == "小问卷"
    assert [(q.number, q.type, q.id) for q in draft.questions] == [
        (1, "single", "Q1"),
        (2, "matrix", None),
        (3, "ranking", "Q3"),
        (4, "multiple", "Q4"),
        (5, "text", "Q5"),
        (6, "number", "Q6"),
    ]
    matrix = draft.questions[1]
    assert [(r.id, r.text) for r in matrix.rows] == [
        ("Q2_1", "依法办事"),
        ("Q2_2", "信息公开"),
        ("Q2_3", "窗口服务"),
    ]
    assert matrix.text == "第2题" and any("题干" in n for n in matrix.notes)  # the export has rows only
    assert draft.questions[4].text == "意见建议"
    assert draft.questions[6 - 1].variable == "age"
    assert next(o for o in draft.questions[3].options if o.text == "无").exclusive


def test_likert_matrix_becomes_a_scored_response_set_with_the_export_codes(small_pair):
    draft = draft_from_exports(*small_pair)
    assert draft.questions[1].response_set == "SAT5"
    rs = draft.response_sets["SAT5"]
    assert [(o.code, o.text, o.missing) for o in rs.options] == [
        (c, t, t == "不了解") for c, t in enumerate(SAT, start=1)
    ]
    assert rs.scores == {1: 100, 2: 75, 3: 50, 4: 25, 5: 0}
    assert (rs.satisfied, rs.basic_satisfied) == ((1, 2), (1, 2, 3))
    data = yaml.safe_load(questionnaire_yaml(draft))
    assert data["response_sets"]["SAT5"]["scoring"] == {
        "scores": {1: 100, 2: 75, 3: 50, 4: 25, 5: 0},
        "satisfied": [1, 2],
        "basic_satisfied": [1, 2, 3],
    }
    assert data["response_sets"]["SAT5"]["ordered"] is True
    assert data["questions"][1]["rows"][0] == {"id": "Q2_1", "text": "依法办事", "reverse": False}


def test_text_only_likert_is_coded_from_the_favourable_end(small_pair):
    draft = draft_from_exports(small_pair[0])
    rs = draft.response_sets["SAT5"]
    assert [(o.code, o.text) for o in rs.options] == list(enumerate(SAT, start=1))


def test_ranking_options_are_coded_by_their_code_mode_column_and_top_k_noted(small_pair):
    paired = draft_from_exports(*small_pair)
    ranking = paired.questions[2]
    assert [(o.code, o.text) for o in ranking.options] == list(enumerate(RANKED, start=1))
    assert ranking.max_choices == 3 and any("max_choices" in n for n in ranking.notes)
    text_only = draft_from_exports(small_pair[0]).questions[2]
    assert sorted(o.text for o in text_only.options) == sorted(RANKED)
    assert text_only.type == "ranking"


def test_small_cleaning_draft_keeps_rules_whose_columns_are_filled(small_pair):
    draft = draft_from_exports(*small_pair)
    cleaning = yaml.safe_load(cleaning_yaml(draft))
    assert cleaning["speeder"]["action"] == "exclude" and cleaning["duplicate"]["by_ip"] is True
    assert cleaning["ip_burst"]["action"] == "flag" and cleaning["straightline"]["action"] == "exclude"
    assert cleaning["straightline"]["min_items"] == 3
    assert cleaning["location"]["outside_province"] == "flag"
    CleaningRules.model_validate(cleaning)


def test_draft_yaml_carries_todo_comments_and_parses(small_pair):
    text = questionnaire_yaml(draft_from_exports(*small_pair))
    assert "# TODO" in text and "scales: []" in text
    data = yaml.safe_load(text)
    assert data["instrument"] == "public" and data["questions"][2]["max_choices"] == 3
    ids = [q.get("id") for q in data["questions"] if "id" in q] + [
        r["id"] for q in data["questions"] for r in q.get("rows", [])
    ]
    assert len(ids) == len(set(ids))


def test_a_code_mode_export_alone_is_refused_by_the_cli(small_pair, tmp_path, capsys):
    code = small_pair[1]
    assert main(["codebook", "draft", str(code.file), "--out", str(tmp_path)]) == 2
    assert "按选项文本" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------------------------
# labels and scalars


@pytest.mark.parametrize(
    ("labels", "order"),
    [
        (
            ["比较满意", "很不满意", "一般", "非常满意", "不太满意"],
            ["非常满意", "比较满意", "一般", "不太满意", "很不满意"],
        ),
        (["不同意", "同意", "非常同意", "非常不同意"], ["非常同意", "同意", "不同意", "非常不同意"]),
        (
            ["满意", "比较不满意", "非常满意", "一般", "不满意", "比较满意", "非常不满意"],
            ["非常满意", "满意", "比较满意", "一般", "比较不满意", "不满意", "非常不满意"],
        ),
        (["偶尔", "从不", "经常", "有时", "总是"], ["总是", "经常", "有时", "偶尔", "从不"]),
    ],
)
def test_likert_scales_are_recognised_and_ordered(labels, order):
    likert = recognise_likert(labels + ["不了解"])
    assert likert is not None and list(likert.order) == order and likert.missing == ("不了解",)


@pytest.mark.parametrize("labels", [["男", "女"], ["满意", "不满意"], ["非常满意", "很满意", "满意", "一般"]])
def test_non_likert_labels_are_not_a_scale(labels):
    assert recognise_likert(labels) is None


def test_numeric_bands_sort_by_their_leading_number():
    got = sensible_order(["60岁以上", "18~24岁", "其他", "25-29岁", "不知道", "18岁以下"])
    assert got == ["18岁以下", "18~24岁", "25-29岁", "60岁以上", "不知道", "其他"]


def test_option_flags_and_demographic_stems():
    assert is_other("其他【请注明】") and is_other("其它") and not is_other("其余都好")
    assert is_exclusive("无") and is_exclusive("以上都没有") and not is_exclusive("无人机")
    assert is_missing_like("不知道/拒绝回答") and not is_missing_like("无收入")
    assert demographic_variable("您的文化程度") == "education"
    assert demographic_variable("您所在的县区") == "district"
    assert demographic_variable("爱好投入占收入比重") is None


@pytest.mark.parametrize(
    "value", ["男", "yes", "1", "a: b", "#1", "- x", "{x}", "10%左右", " 空格", "null", "它'说"]
)
def test_scalars_read_back_as_themselves(value):
    assert yaml.safe_load(f"k: {scalar(value)}") == {"k": value}


@pytest.mark.parametrize(
    ("stem", "k"), [("最需改进的方面（最多选3项）", 3), ("请选择,不超过 2 项", 2), ("兴趣爱好", None)]
)
def test_a_limit_stated_in_the_stem_becomes_max_choices(stem, k):
    assert max_choices_from_stem(stem) == k


def test_clean_text_drops_stray_spaces():
    assert clean_text(" 意见  建议 ") == "意见建议"
    assert clean_text("IT  数码 and more") == "IT 数码 and more"


def test_cleaning_draft_keeps_the_meta_column_check_when_the_meta_columns_are_filled(small_pair):
    cleaning = yaml.safe_load(cleaning_yaml(draft_from_exports(*small_pair)))
    assert cleaning["circuit_breaker"]["meta_columns"] == "check"


def test_cleaning_draft_switches_the_meta_column_check_off_with_a_reason_for_blank_meta_columns(small_pair):
    import dataclasses

    text, code = small_pair
    blank = [dataclasses.replace(e, meta=e.meta.assign(duration_s=np.nan, ip=None)) for e in (text, code)]
    written = cleaning_yaml(draft_from_exports(*blank))
    cleaning = yaml.safe_load(written)
    assert cleaning["circuit_breaker"]["meta_columns"] == "off"
    (line,) = [line for line in written.splitlines() if line.strip().startswith("meta_columns")]
    assert "所用时间" in line and "来自IP" in line and "提交答卷时间" not in line
    CleaningRules.model_validate(cleaning)
