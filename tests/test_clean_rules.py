"""Exclusion rules of the clean stage on small hand-made frames shaped like 01_ingest tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline.clean.rules import (
    REASONS,
    RULES,
    exclusions_table,
    knee_seconds,
    screen,
    speeder_threshold,
)
from pipeline.config.cleaning import RULE_ORDER, CleaningRules
from pipeline.config.codebook import Codebook
from pipeline.config.models import Questionnaire, Units

UNITS = Units.model_validate(
    {
        "unit_types": {"district": "县区", "department": "市直部门"},
        "units": [
            {"code": "620102", "name": "城关区", "type": "district", "headcount": 10, "enforcement": True},
            {"code": "620103", "name": "七里河区", "type": "district", "headcount": 10, "enforcement": True},
            {"code": "M001", "name": "市司法局", "type": "department", "headcount": 10, "enforcement": True},
        ],
    }
)
AGR5 = {
    "options": [
        {"code": 5, "text": "非常同意"},
        {"code": 4, "text": "比较同意"},
        {"code": 3, "text": "一般"},
        {"code": 2, "text": "不太同意"},
        {"code": 1, "text": "很不同意"},
        {"code": 99, "text": "说不清", "missing": True},
    ],
    "scoring": {"scores": {5: 100, 4: 75, 3: 50, 2: 25, 1: 0}},
}
LIKERT = [f"I{i:02d}" for i in range(1, 11)]
REVERSE = {"I03", "I07"}

PUBLIC = Questionnaire.model_validate(
    {
        "instrument": "public",
        "title": "t",
        "response_sets": {"AGR5": AGR5},
        "questions": [
            {
                "number": 1,
                "id": "D_district",
                "variable": "district",
                "type": "single",
                "text": "县区",
                "options_from": "districts",
            },
            {
                "number": 2,
                "id": "D_gender",
                "variable": "gender",
                "type": "single",
                "text": "性别",
                "options": [{"code": 1, "text": "男"}, {"code": 2, "text": "女"}],
            },
            {
                "number": 3,
                "type": "matrix",
                "text": "同意吗",
                "response_set": "AGR5",
                "rows": [{"id": i, "text": i, "reverse": i in REVERSE} for i in LIKERT[:6]]
                + [{"id": "AC", "text": "请选比较同意"}]
                + [{"id": i, "text": i, "reverse": i in REVERSE} for i in LIKERT[6:]],
            },
            {
                "number": 4,
                "id": "M",
                "type": "multiple",
                "text": "多选",
                "max_choices": 2,
                "options": [
                    {"code": 1, "text": "a"},
                    {"code": 2, "text": "b"},
                    {"code": 3, "text": "c"},
                    {"code": 4, "text": "无", "exclusive": True},
                ],
            },
            {"number": 5, "id": "T", "type": "text", "text": "建议", "required": False},
        ],
        "scales": [
            {"id": "A", "name": "A", "items": LIKERT[:5]},
            {"id": "B", "name": "B", "items": LIKERT[5:]},
        ],
        "attention_check": {"item": "AC", "pass_code": 4},
    }
)
STAFF = Questionnaire.model_validate(
    {
        "instrument": "staff",
        "title": "t",
        "response_sets": {"AGR5": AGR5},
        "questions": [
            {
                "number": 1,
                "id": "U",
                "variable": "unit",
                "type": "single",
                "text": "单位",
                "options_from": "units",
            },
            {
                "number": 2,
                "id": "POST",
                "variable": "post",
                "type": "single",
                "text": "岗位",
                "options": [{"code": 1, "text": "执法"}, {"code": 2, "text": "其他"}],
            },
            {
                "number": 3,
                "type": "matrix",
                "text": "同意吗",
                "response_set": "AGR5",
                "rows": [{"id": i, "text": i, "reverse": i in REVERSE} for i in LIKERT],
            },
            {
                "number": 4,
                "type": "matrix",
                "text": "执法",
                "response_set": "AGR5",
                "rows": [{"id": "E1", "text": "e1"}, {"id": "E2", "text": "e2"}],
            },
            {
                "number": 5,
                "id": "K1",
                "type": "single",
                "text": "quiz",
                "options": [{"code": c, "text": t} for c, t in zip(range(1, 5), "ABCD", strict=True)],
            },
        ],
        "scales": [
            {"id": "A", "name": "A", "items": LIKERT[:5]},
            {"id": "E", "name": "E", "items": ["E1", "E2"]},
        ],
        "skip_logic": [{"questions": [4], "show_if_any": [{"item": "POST", "in": [1]}]}],
        "quiz": [{"item": "K1", "key": 2}],
    }
)
PUBLIC_CB = Codebook.from_config(PUBLIC, UNITS)
STAFF_CB = Codebook.from_config(STAFF, UNITS)
VARIED = [5, 4, 4, 3, 5, 4, 2, 4, 5, 3]  # a plausible, non-straight answer pattern over I01..I10


def public_frame(n: int, **overrides: list) -> pd.DataFrame:
    """``n`` clean public records in 01_ingest shape; keyword lists override columns."""
    base = pd.Timestamp("2024-05-01 08:00")
    data: dict[str, list] = {
        "record_id": [f"pub:{i + 2}" for i in range(n)],
        "source_file": ["pub.xlsx"] * n,
        "source_sheet": ["Sheet1"] * n,
        "source_row": [i + 2 for i in range(n)],
        "respondent": [f"r{i:04d}" for i in range(n)],
        "submitted_at": [base + pd.Timedelta(hours=i) for i in range(n)],
        "duration_s": [300.0 + i for i in range(n)],
        "channel": ["微信"] * n,
        "channel_detail": ["直接访问"] * n,
        "ip_key": [f"ip{i:04d}" for i in range(n)],
        "ip_province": ["甘肃"] * n,
        "ip_city": ["兰州"] * n,
        "D_district": [1 + i % 2 for i in range(n)],
        "D_gender": [1 + i % 2 for i in range(n)],
        "AC": [4] * n,
        "M_1": [1] * n,
        "M_2": [0] * n,
        "M_3": [0] * n,
        "M_4": [0] * n,
        "T": [None] * n,
        "mode": ["code"] * n,
    }
    for j, item in enumerate(LIKERT):
        data[item] = [VARIED[(j + i) % len(VARIED)] for i in range(n)]
    data.update(overrides)
    frame = pd.DataFrame(data)
    for c in ["D_district", "D_gender", "AC", *LIKERT]:
        frame[c] = frame[c].astype("Int64")
    for c in ["M_1", "M_2", "M_3", "M_4"]:
        frame[c] = frame[c].astype("Int64")
    return frame


def staff_frame(n: int, **overrides: list) -> pd.DataFrame:
    pub = public_frame(n)
    data = {
        c: pub[c].tolist()
        for c in pub.columns
        if c not in ("D_district", "D_gender", "AC", "M_1", "M_2", "M_3", "M_4", "T")
    }
    data["record_id"] = [f"staff:{i + 2}" for i in range(n)]
    data.update(
        {"U": [1 + i % 3 for i in range(n)], "POST": [1] * n, "E1": [4] * n, "E2": [3] * n, "K1": [2] * n}
    )
    data.update(overrides)
    frame = pd.DataFrame(data)
    for c in ["U", "POST", "E1", "E2", "K1", *LIKERT]:
        frame[c] = frame[c].astype("Int64")
    return frame


def hits(frame: pd.DataFrame, rule: str, codebook: Codebook = PUBLIC_CB, rules: CleaningRules | None = None):
    res = RULES[rule](frame, codebook, rules or CleaningRules())
    return list(frame.index[res.hit])


def with_cells(frame: pd.DataFrame, row: int, **cells) -> pd.DataFrame:
    out = frame.copy()
    for col, v in cells.items():
        out.loc[row, col] = v
    return out


# ------------------------------------------------------------------------------------------------- order


def test_rule_registry_follows_the_documented_order():
    assert tuple(RULES) == RULE_ORDER
    assert set(REASONS) == set(RULE_ORDER)


def test_clean_frame_has_no_hits():
    frame = public_frame(20)
    for rule in RULE_ORDER:
        assert hits(frame, rule) == [], rule


# ------------------------------------------------------------------------------------------------- duplicates


def test_same_respondent_is_a_duplicate_and_the_first_submission_is_kept():
    frame = public_frame(5, respondent=["a", "b", "a", "c", "a"])
    assert hits(frame, "duplicate") == [2, 4]


def test_same_serial_in_two_wjx_surveys_is_not_a_duplicate_but_twin_exports_are():
    files = ["111_按文本_a.xlsx", "222_按文本_b.xlsx", "111_按序号_a.xlsx", "paper1.xlsx", "paper2.xlsx"]
    frame = public_frame(5, respondent=["s1", "s1", "s1", "p9", "p9"], source_file=files)
    frame.loc[3:, "mode"] = "paper"
    assert hits(frame, "duplicate") == [2, 4]


def test_later_row_submitted_earlier_is_the_one_kept():
    times = [pd.Timestamp("2024-05-02 10:00"), pd.Timestamp("2024-05-01 10:00")]
    frame = public_frame(2, respondent=["a", "a"], submitted_at=times)
    assert hits(frame, "duplicate") == [0]


def test_same_ip_with_identical_answers_within_window_is_a_duplicate():
    frame = public_frame(4)
    frame.loc[1, "ip_key"] = frame.loc[0, "ip_key"]
    frame.loc[1, "submitted_at"] = frame.loc[0, "submitted_at"] + pd.Timedelta(minutes=5)
    for col in [*LIKERT, "D_district", "D_gender"]:
        frame.loc[1, col] = frame.loc[0, col]
    res = RULES["duplicate"](frame, PUBLIC_CB, CleaningRules())
    assert list(frame.index[res.hit]) == [1]
    assert "pub:2" in res.detail[1]


def test_same_ip_identical_answers_outside_window_or_different_answers_is_kept():
    frame = public_frame(3)
    frame["ip_key"] = "shared"
    for col in [*LIKERT, "D_district", "D_gender"]:
        frame[col] = frame.loc[0, col]
    frame["submitted_at"] = [pd.Timestamp("2024-05-01 08:00") + pd.Timedelta(minutes=m) for m in (0, 11, 30)]
    frame["respondent"] = ["a", "b", "c"]
    assert hits(frame, "duplicate") == []
    frame.loc[1, "submitted_at"] = pd.Timestamp("2024-05-01 08:09")
    frame.loc[1, "I01"] = 1
    assert hits(frame, "duplicate") == []


def test_three_submissions_from_one_ip_in_ten_minutes_are_flagged_not_excluded():
    frame = public_frame(5)
    frame.loc[[0, 1, 2], "ip_key"] = "burst"
    frame.loc[[0, 1, 2], "submitted_at"] = pd.to_datetime(
        ["2024-05-01 08:00", "2024-05-01 08:04", "2024-05-01 08:09"]
    )
    assert hits(frame, "ip_burst") == [0, 1, 2]
    s = screen(frame, PUBLIC_CB, CleaningRules())
    assert s.kept.all()
    assert s.flags["flag_ip_burst"].tolist() == [True, True, True, False, False]


# ------------------------------------------------------------------------------------------------- speeders


#: The speeder thresholds these tests exercise, given as their input rather than taken from the shipped defaults
#: (so changing those edits no test): at least 60 s, a third of the median duration.
SPEEDER_60S_THIRD = {"min_seconds": 60, "median_fraction": 1 / 3}


def test_speeder_threshold_is_max_of_floor_and_third_of_median():
    rules = CleaningRules.model_validate({"speeder": SPEEDER_60S_THIRD})
    assert speeder_threshold(pd.Series([100.0, 120, 140]), rules)[0] == 60
    assert speeder_threshold(pd.Series([300.0, 600, 900]), rules)[0] == pytest.approx(200)


def test_speeders_below_threshold_are_caught_and_missing_duration_is_not():
    rules = CleaningRules.model_validate({"speeder": SPEEDER_60S_THIRD})
    frame = public_frame(6, duration_s=[59.0, 60, 100, 100, 100, float("nan")])
    assert hits(frame, "speeder", rules=rules) == [0]  # median 100 s → max(60, 33) = 60 s
    frame = public_frame(7, duration_s=[150.0, 199, 200, 600, 600, 600, 600])  # median 600 → 200 s
    assert hits(frame, "speeder", rules=rules) == [0, 1]


def test_knee_lies_between_the_fast_tail_and_the_first_quartile():
    rng = np.random.default_rng(1)
    body = np.exp(rng.normal(np.log(400), 0.45, 1000))  # genuine completions, median ≈ 400 s
    fast = rng.uniform(15, 50, 40)  # speeders
    durations = pd.Series(np.round(np.r_[body, fast]))
    knee = knee_seconds(durations, quantile=0.25)
    assert knee is not None
    assert 50 < knee < durations.quantile(0.25)


def test_knee_method_falls_back_to_median_rule_without_a_knee():
    rules = CleaningRules.model_validate({"speeder": {**SPEEDER_60S_THIRD, "method": "knee"}})
    threshold, how = speeder_threshold(pd.Series([300.0, 301, 302, 900]), rules)
    assert how in ("中位数比例", "最低时长")
    assert threshold == pytest.approx(max(60, 301.5 / 3))


# ------------------------------------------------------------------------------------------------- straight-lining


def test_all_identical_likert_rows_including_reverse_items_is_straightlining():
    frame = public_frame(3)
    frame.loc[1, LIKERT] = 4
    assert hits(frame, "straightline") == [1]


def test_straightlining_ignores_dont_know_and_needs_min_items():
    frame = public_frame(2)
    frame.loc[0, LIKERT] = 5
    frame.loc[0, "I10"] = 99  # 9 identical answered rows < 10
    assert hits(frame, "straightline") == []
    rules = CleaningRules.model_validate({"straightline": {"min_items": 9}})
    assert hits(frame, "straightline", rules=rules) == [0]


def test_straightlining_without_a_reverse_item_is_not_counted_when_required():
    frame = public_frame(1)
    frame.loc[0, LIKERT] = 5
    frame.loc[0, list(REVERSE)] = 1  # consistent answers: agree with positive, disagree with reverse items
    rules = CleaningRules.model_validate({"straightline": {"min_items": 8}})
    assert hits(frame, "straightline", rules=rules) == []
    rules = CleaningRules.model_validate(
        {"straightline": {"min_items": 8, "min_share": 0.8, "require_reverse": False}}
    )
    assert hits(frame, "straightline", rules=rules) == [0]


# ------------------------------------------------------------------------------------------------- attention, codes, missing


def test_failed_attention_check_is_caught_but_skipped_or_blank_is_not():
    frame = public_frame(4, AC=[4, 2, None, -3])
    assert hits(frame, "attention") == [1]
    rules = CleaningRules.model_validate({"attention": {"unanswered_fails": True}})
    assert hits(frame, "attention", rules=rules) == [1, 2]


def test_codes_outside_the_codebook_are_invalid():
    frame = public_frame(6)
    frame.loc[0, "I01"] = 7
    frame.loc[1, "I02"] = -9  # a sentinel for unmatched text
    frame.loc[2, "I03"] = -3  # skipped: not invalid
    frame.loc[3, ["M_1", "M_2", "M_3"]] = 1  # 3 choices > max 2
    frame.loc[4, ["M_1", "M_4"]] = 1  # exclusive 无 with another
    frame.loc[5, "M_2"] = 2
    res = RULES["invalid_code"](frame, PUBLIC_CB, CleaningRules())
    assert list(frame.index[res.hit]) == [0, 1, 3, 4, 5]
    assert "I01=7" in res.detail[0]


def test_too_many_missing_answers_is_caught():
    frame = public_frame(3)
    frame.loc[0, LIKERT[:3]] = pd.NA  # 3 of 11 = 27 % → kept
    frame.loc[1, LIKERT[:4]] = pd.NA  # 4 of 11 = 36 % → excluded
    frame.loc[2, LIKERT] = 99  # 不了解 counts as answered
    assert hits(frame, "missing") == [1]


def test_skip_block_items_count_as_required_only_when_shown():
    # row 0: block not shown → 11 required items; row 1: shown but E1, E2 blank → 13 required items
    frame = staff_frame(2, POST=[2, 1], E1=[-3, pd.NA], E2=[-3, pd.NA])
    frame.loc[:, "I01"] = pd.NA  # 1/11 and 3/13
    assert hits(frame, "missing", STAFF_CB) == []
    frame.loc[:, LIKERT[:3]] = pd.NA  # 3/11 = 27 % kept; 5/13 = 38 % excluded
    assert hits(frame, "missing", STAFF_CB) == [1]


# ------------------------------------------------------------------------------------------------- place, unit, skip logic


def test_ip_outside_gansu_is_flagged_by_default_and_excludable():
    frame = public_frame(4, ip_province=["甘肃", "北京", "未知", "甘肃省"])
    s = screen(frame, PUBLIC_CB, CleaningRules())
    assert s.kept.all()
    assert s.flags["flag_outside_province"].tolist() == [False, True, False, False]
    rules = CleaningRules.model_validate({"location": {"outside_province": "exclude"}})
    assert screen(frame, PUBLIC_CB, rules).excluded_by.tolist() == [pd.NA, "outside_province", pd.NA, pd.NA]


def test_missing_district_and_unknown_unit_are_excluded():
    assert hits(public_frame(3, D_district=[1, None, -3]), "no_district") == [1, 2]
    assert hits(staff_frame(3, U=[1, None, 3]), "unknown_unit", STAFF_CB) == [1]


def test_skip_logic_violations_both_ways():
    frame = staff_frame(4, POST=[1, 2, 1, 2], E1=[4, 4, None, -3], E2=[3, None, None, -3])
    res = RULES["skip_logic"](frame, STAFF_CB, CleaningRules())
    assert list(frame.index[res.hit]) == [1, 2]
    assert "未显示却作答" in res.detail[1] and "应显示却未作答" in res.detail[2]
    rules = CleaningRules.model_validate({"skip_logic": {"action": "flag"}})
    assert screen(frame, STAFF_CB, rules).kept.all()


# ------------------------------------------------------------------------------------------------- screen


def test_record_is_excluded_once_under_the_first_rule_but_detail_lists_all():
    frame = public_frame(4, duration_s=[30.0, 300, 300, 300], AC=[2, 4, 4, 4])
    frame.loc[0, LIKERT] = 4
    s = screen(frame, PUBLIC_CB, CleaningRules())
    assert s.excluded_by[0] == "speeder"
    assert "speeder:" in s.detail[0] and "straightline:" in s.detail[0] and "attention:" in s.detail[0]
    ex = exclusions_table(frame, s, "public")
    assert ex.columns.tolist() == [
        "instrument",
        "record_id",
        "source_file",
        "source_sheet",
        "source_row",
        "rule",
        "reason",
        "detail",
    ]
    assert ex["reason"].tolist() == ["作答时间过短"]


def test_rule_turned_off_is_not_run():
    frame = public_frame(3, AC=[1, 4, 4])
    rules = CleaningRules.model_validate({"attention": {"action": "off"}})
    s = screen(frame, PUBLIC_CB, rules)
    assert s.kept.all()
    assert "attention" not in s.detail[0]


def test_ip_burst_marks_exactly_the_records_a_brute_force_window_scan_marks():
    from pipeline.clean.rules import ip_burst

    rng = np.random.default_rng(11)
    n = 400
    frame = public_frame(n)
    frame["ip_key"] = rng.choice([f"ip{i}" for i in range(40)], size=n)
    frame["submitted_at"] = pd.Timestamp("2024-05-01 08:00") + pd.to_timedelta(
        rng.integers(0, 6 * 3600, n), unit="s"
    )
    rules = CleaningRules()
    window = pd.Timedelta(minutes=rules.ip_burst.window_minutes)
    expected = set()
    for _, grp in frame.groupby("ip_key"):
        times = grp["submitted_at"].sort_values()
        for start in times:
            inside = times[(times >= start) & (times <= start + window)]
            if len(inside) >= rules.ip_burst.min_submissions:
                expected |= set(inside.index)
    got = ip_burst(frame, PUBLIC_CB, rules).hit
    assert set(frame.index[got.to_numpy()]) == expected
    assert expected  # the random data does contain bursts
