"""Derived variables (scores, indicators, demographics), case-file aggregation and the flow table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_clean_rules import LIKERT, PUBLIC_CB, STAFF_CB, UNITS, public_frame, staff_frame

from pipeline.clean.casefiles import casefile_scores
from pipeline.clean.derive import demographics, indicator_inputs, item_scores, quiz_scores, scale_scores
from pipeline.clean.flow import flow_table
from pipeline.clean.rules import screen
from pipeline.config.cleaning import CleaningRules
from pipeline.config.codebook import Codebook
from pipeline.config.models import CasefileStandard, Questionnaire


def test_item_scores_reverse_code_and_map_dont_know_to_nan():
    frame = public_frame(1)
    frame.loc[0, ["I01", "I02", "I03", "I04"]] = [5, 2, 5, 99]  # I03 is reverse-worded
    frame.loc[0, "I07"] = pd.NA  # reverse, unanswered
    s = item_scores(frame, PUBLIC_CB)
    assert s.loc[0, "I01_score"] == 100
    assert s.loc[0, "I02_score"] == 25
    assert s.loc[0, "I03_score"] == 0  # 6 − 5 = 1 → 0
    assert np.isnan(s.loc[0, "I04_score"]) and np.isnan(s.loc[0, "I07_score"])
    assert "AC_score" not in s.columns  # the attention check is not scored


def test_scale_score_needs_the_minimum_share_of_answered_items():
    frame = public_frame(3)
    frame.loc[:, LIKERT[:5]] = 4
    frame.loc[1, ["I01"]] = 99  # 4 of 5 answered → mean of 4
    frame.loc[2, ["I01", "I02"]] = 99  # 3 of 5 = 60 % < 2/3 → NaN
    frame.loc[:, "I03"] = 2  # reverse → 4 → 75
    scales = scale_scores(item_scores(frame, PUBLIC_CB), PUBLIC_CB)
    assert scales["A"].tolist()[:2] == [75.0, 75.0]
    assert np.isnan(scales.loc[2, "A"])


def test_satisfied_and_aware_inputs():
    frame = public_frame(4)
    frame["I01"] = pd.array([5, 3, 99, None], dtype="Int64")
    frame["I03"] = pd.array([1, 5, 3, 99], dtype="Int64")  # reverse-worded: 1 is favourable
    out = indicator_inputs(frame, PUBLIC_CB)
    assert out["satisfied_I01"].tolist() == [1, 0, pd.NA, pd.NA]
    assert out["basic_satisfied_I01"].tolist() == [1, 1, pd.NA, pd.NA]
    assert out["aware_I01"].tolist() == [1, 1, 0, pd.NA]
    assert out["satisfied_I03"].tolist() == [1, 0, 0, pd.NA]
    assert out["basic_satisfied_I03"].tolist() == [1, 0, 1, pd.NA]


def test_quiz_score_counts_unanswered_as_wrong():
    frame = staff_frame(3, K1=[2, 3, None])
    q = quiz_scores(frame, STAFF_CB)
    assert q["K1_correct"].tolist() == [1, 0, 0]
    assert q["quiz_score"].tolist()[:2] == [100.0, 0.0]
    assert np.isnan(q.loc[2, "quiz_score"])
    assert quiz_scores(public_frame(2), PUBLIC_CB).empty


def test_demographics_are_categoricals_with_unit_codes_and_labels():
    frame = public_frame(3, D_district=[2, 1, None], D_gender=[1, 2, 9])
    d = demographics(frame, PUBLIC_CB, UNITS)
    assert d["district"].tolist()[:2] == ["620103", "620102"] and pd.isna(d.loc[2, "district"])
    assert list(d["district"].cat.categories) == ["620102", "620103"]
    assert d["district_name"].tolist()[:2] == ["七里河区", "城关区"]
    assert list(d["gender"].cat.categories) == ["男", "女"] and pd.isna(d.loc[2, "gender"])
    s = demographics(staff_frame(3), STAFF_CB, UNITS)
    assert s["unit"].tolist() == ["620102", "620103", "M001"]
    assert s["unit_type"].tolist() == ["district", "district", "department"]
    assert s["unit_type_name"].tolist() == ["县区", "县区", "市直部门"]


def test_demographics_need_no_units_yaml_when_no_question_lists_units():
    """A questionnaire-only configuration (no units.yaml) still labels its demographic questions."""
    q = Questionnaire.model_validate(
        {
            "instrument": "public",
            "title": "t",
            "questions": [
                {
                    "id": "G",
                    "type": "single",
                    "variable": "gender",
                    "text": "您的性别",
                    "options": [{"code": 1, "text": "男"}, {"code": 2, "text": "女"}],
                }
            ],
        }
    )
    frame = pd.DataFrame({"G": pd.array([2, 1, None], dtype="Int64")})
    d = demographics(frame, Codebook.from_config(q, None), None)  # type: ignore[arg-type]
    assert d["gender"].tolist()[:2] == ["女", "男"] and pd.isna(d.loc[2, "gender"])


# ------------------------------------------------------------------------------------------------- case files

STANDARD = CasefileStandard.model_validate(
    {
        "title": "t",
        "total_points": 100,
        "case_types": ["处罚"],
        "vetoes": [{"code": "V01", "text": "v"}],
        "veto_grade": "不合格",
        "categories": [
            {
                "id": "B",
                "name": "b",
                "max_points": 100,
                "defects": [{"code": "B1", "text": "b1", "deduction": 5}],
            }
        ],
        "grades": [
            {"grade": "优秀", "min_score": 90, "excluded_by": ["B1"]},
            {"grade": "良好", "min_score": 80},
            {"grade": "合格", "min_score": 60},
            {"grade": "不合格", "min_score": 0},
        ],
        "double_scoring_tolerance": 10,
    }
)


def reviews(rows):
    cols = ["case_id", "reviewer", "score", "grade", "V01", "B1"]
    r = pd.DataFrame(rows, columns=cols)
    r["unit"] = "M001"
    r["case_type"] = "处罚"
    r["score_mismatch"] = False
    return r


def test_casefile_final_score_is_the_mean_and_disagreement_is_flagged():
    r = reviews(
        [
            ("c1", "a", 92, "优秀", 0, 0),
            ("c1", "b", 96, "优秀", 0, 0),
            ("c2", "a", 70, "合格", 0, 0),
            ("c2", "b", 85, "良好", 0, 0),  # Δ 15 > 10 and grades differ
            ("c3", "a", 95, "优秀", 0, 1),
            ("c3", "b", 93, "优秀", 0, 1),  # B1 bars 优秀
            ("c4", "a", 88, "良好", 1, 0),
            ("c4", "b", 88, "良好", 0, 0),  # veto disputed 1 vs 1
        ]
    )
    c = casefile_scores(r, STANDARD).set_index("case_id")
    assert c.loc["c1", "score"] == 94 and c.loc["c1", "grade"] == "优秀"
    assert not c.loc["c1", "needs_third_review"]
    assert c.loc["c2", "score"] == 77.5 and c.loc["c2", "needs_third_review"]
    assert c.loc["c2", "grade"] == "合格"
    assert c.loc["c3", "grade"] == "良好"
    assert c.loc["c4", "veto_dispute"] and c.loc["c4", "needs_third_review"]
    assert c.loc["c4", "grade"] == "不合格" and c.loc["c4", "V01"] == 0.5
    assert c["n_reviewers"].tolist() == [2, 2, 2, 2]


# ------------------------------------------------------------------------------------------------- flow


def test_flow_table_adds_up_from_raw_to_valid():
    frame = public_frame(6, duration_s=[30.0, 300, 300, 300, 300, 300], AC=[4, 1, 4, 4, 4, 4])
    frame.loc[2, "respondent"] = frame.loc[3, "respondent"]
    f = flow_table(screen(frame, PUBLIC_CB, CleaningRules()), "public").set_index("rule")
    assert f.loc["raw", "n_after"] == 6
    assert f.loc["duplicate", "n_excluded"] == 1
    assert f.loc["speeder", "n_excluded"] == 1
    assert f.loc["attention", "n_excluded"] == 1
    assert f.loc["valid", "n_after"] == 3
    assert (f["n_before"] - f["n_excluded"] == f["n_after"]).all()


@pytest.mark.parametrize("instrument", ["public", "staff"])
def test_flow_has_contract_columns(instrument):
    frame, cb = (public_frame(2), PUBLIC_CB) if instrument == "public" else (staff_frame(2), STAFF_CB)
    f = flow_table(screen(frame, cb, CleaningRules()), instrument)
    assert {"instrument", "step", "rule", "n_before", "n_excluded", "n_after"} <= set(f.columns)
