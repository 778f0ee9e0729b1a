"""06_describe: frequencies, multiple choice, ranking, scales and crosstabs from the codebook's question types."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline import stats
from pipeline.config.codebook import Codebook, CodebookItem
from pipeline.describe.common import Described
from pipeline.describe.frequencies import frequency_table
from pipeline.describe.ranking import ranking_table
from pipeline.stats.small_groups import SmallGroupRule
from tests.fixtures.ingest.small import RANKING, codebook


def _with(item: CodebookItem) -> Codebook:
    base = codebook()
    items = (*base.items, item)
    return Codebook(questionnaire=base.questionnaire, items=items, _by_id={i.id: i for i in items})


def _described(frame: pd.DataFrame, cb: Codebook, weights=None, groupings=()) -> Described:
    return Described(
        instrument="public",
        frame=frame,
        design=stats.SurveyDesign(frame, weights=weights),
        codebook=cb,
        groupings=tuple(groupings),
        rule=SmallGroupRule(flag_below=3, suppress_below=1),
        weighted=weights is not None,
    )


def _ranking_frame() -> pd.DataFrame:
    # four respondents ranked (1 = first), one skipped the question (no rank at all)
    ranks = {
        "R1_1": [1, 2, 1, None, None],
        "R1_2": [2, 1, None, 1, None],
        "R1_3": [3, None, 2, 2, None],
        "R1_4": [None, 3, 3, 3, None],
    }
    return pd.DataFrame({k: pd.array(v, dtype="Int64") for k, v in ranks.items()})


def test_ranking_gives_mean_rank_first_share_top_shares_and_borda_by_definition():
    table = ranking_table(_described(_ranking_frame(), _with(RANKING)))
    got = table.set_index(["option_code", "measure"])["estimate"]
    assert table["n_valid"].eq(4).all() and table["k"].eq(3).all()
    assert got[(1, "mean_rank")] == pytest.approx(4 / 3)  # ranks 1, 2, 1 among the three who ranked it
    assert got[(1, "share_first")] == pytest.approx(50.0)
    assert got[(1, "share_top_2")] == pytest.approx(75.0)
    assert got[(4, "share_top_3")] == pytest.approx(75.0)
    # Borda, k = 3: first 3 points, second 2, third 1, unranked 0; mean over the four who ranked
    assert got[(1, "borda")] == pytest.approx((3 + 2 + 3 + 0) / 4)
    assert got[(3, "borda")] == pytest.approx((1 + 0 + 2 + 2) / 4)
    borda = table[table["measure"] == "borda"]
    assert (borda["ci_low"] <= borda["estimate"]).all() and (borda["estimate"] <= borda["ci_high"]).all()


def test_ranking_borda_is_weighted_with_sampling_weights():
    frame = _ranking_frame()
    table = ranking_table(_described(frame, _with(RANKING), weights=[1.0, 3.0, 1.0, 1.0, 1.0]))
    borda = table[(table["measure"] == "borda") & (table["option_code"] == 1)]["estimate"].iloc[0]
    assert borda == pytest.approx((3 * 1 + 2 * 3 + 3 * 1 + 0 * 1) / 6)


def test_frequencies_count_like_value_counts_and_separate_skipped_unanswered_and_dont_know():
    cb = codebook()
    item = next(it for it in cb.items if it.type in ("single", "matrix") and it.missing_codes)
    codes = list(item.substantive_codes)
    values = [codes[0]] * 5 + [codes[1]] * 3 + [-3] * 2 + [None] + [next(iter(item.missing_codes))] * 4
    frame = pd.DataFrame({item.id: pd.array(values, dtype="Int64")})
    table = frequency_table(_described(frame, cb))
    rows = table[table["item"] == item.id].set_index("option_code")
    counts = frame[item.id].value_counts()
    for code in codes:
        assert rows.loc[code, "n"] == counts.get(code, 0)
    assert rows["n_valid"].eq(8).all() and rows["n_skipped"].eq(2).all() and rows["n_unanswered"].eq(1).all()
    assert rows["n_dont_know"].eq(4).all()
    assert rows.loc[codes[0], "percent"] == pytest.approx(62.5)
    assert np.isnan(rows.loc[next(iter(item.missing_codes)), "percent"])
    if item.ordered:
        substantive = rows[~rows["missing_option"]]
        assert substantive["cum_percent"].iloc[-1] == pytest.approx(100.0)


def test_the_stage_writes_every_describe_table_for_both_questionnaires(simulated_pipeline):
    ctx, _ = simulated_pipeline
    folder = ctx.stage_dir("describe")
    freq = pd.read_parquet(folder / "frequencies.parquet")
    assert set(freq["instrument"]) == {"public", "staff"}
    overall = freq[(freq["by"] == "") & ~freq["missing_option"] & freq["percent"].notna()]
    sums = overall.groupby(["instrument", "item"])["percent"].sum()
    assert np.allclose(sums, 100.0)
    crosstabs = pd.read_parquet(folder / "crosstabs.parquet")
    tested = crosstabs.dropna(subset=["p"])
    assert len(tested) and tested["cramers_v"].between(0, 1).all() and tested["p"].between(0, 1).all()
    scales = pd.read_parquet(folder / "scales.parquet")
    assert {"mean", "sd", "satisfied"} <= set(scales["statistic"])
    quiz = pd.read_parquet(folder / "quiz.parquet")
    assert set(quiz["instrument"]) == {"staff"} and set(quiz["kind"]) == {"item", "score"}


def test_district_scale_means_of_describe_are_those_of_compare(simulated_pipeline):
    ctx, _ = simulated_pipeline
    scales = pd.read_parquet(ctx.stage_dir("describe") / "scales.parquet")
    comparisons = pd.read_parquet(ctx.stage_dir("compare") / "comparisons.parquet")
    mine = scales[
        (scales["instrument"] == "public") & (scales["by"] == "district") & (scales["statistic"] == "mean")
    ]
    theirs = comparisons[(comparisons["test"] == "svy_mean") & (comparisons["by"] == "district")]
    merged = mine.merge(
        theirs, left_on=["variable", "group"], right_on=["dv", "group_a"], suffixes=("", "_c")
    )
    assert len(merged)
    np.testing.assert_allclose(merged["estimate"], merged["estimate_c"], rtol=1e-12)
    np.testing.assert_allclose(merged["ci_low"], merged["ci_low_c"], rtol=1e-12)


def _choice_item(cb: Codebook) -> CodebookItem:
    return next(it for it in cb.items if it.type in ("single", "matrix") and len(it.substantive_codes) >= 3)


def _grouped_frame(
    item: CodebookItem, groups: list[str], categories: list[str], codes: list[int]
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            item.id: pd.array(codes, dtype="Int64"),
            "region": pd.Categorical(groups, categories=categories),
        }
    )


def test_groups_come_in_the_groupings_category_order_not_text_order():
    cb = codebook()
    item = _choice_item(cb)
    c = list(item.substantive_codes)
    order = ["乙", "甲", "丙"]  # not the text order
    groups = [g for g in order for _ in range(4)]
    frame = _grouped_frame(item, groups, order, [c[0], c[1], c[2], c[0]] * 3)
    table = frequency_table(_described(frame, cb, groupings=["region"]))
    by_region = table[(table["by"] == "region") & (table["item"] == item.id)]
    assert by_region["group"].drop_duplicates().tolist() == order
    first = by_region[by_region["group"] == "乙"].set_index("option_code")
    assert first.loc[c[0], "percent"] == pytest.approx(50.0)


def _crosstab_rows(frame, cb, groupings=("region",), rule=None):
    from pipeline.describe.crosstabs import crosstab_table

    d = _described(frame, cb, groupings=groupings)
    if rule is not None:
        d = Described(**{**d.__dict__, "rule": rule, "cache": {}})
    return crosstab_table(d)


def test_a_crosstab_left_with_one_group_says_so():
    cb = codebook()
    item = _choice_item(cb)
    c = list(item.substantive_codes)
    groups = ["甲"] * 30 + ["乙"] * 3
    frame = _grouped_frame(item, groups, ["甲", "乙"], [c[i % 3] for i in range(33)])
    rows = _crosstab_rows(frame, cb, rule=SmallGroupRule(flag_below=20, suppress_below=10))
    row = rows[rows["item"] == item.id].iloc[0]
    assert np.isnan(row["p"]) and row["flag"] == "suppressed"
    assert "不足2个" in row["reason"] and "乙" in row["reason"]


def test_a_crosstab_whose_option_occurs_only_in_a_suppressed_group_says_why_it_is_nan():
    cb = codebook()
    item = _choice_item(cb)
    c = list(item.substantive_codes)
    groups = ["甲"] * 20 + ["乙"] * 20 + ["丙"] * 3
    codes = [c[i % 2] for i in range(40)] + [c[2]] * 3  # the third option only in the small group
    frame = _grouped_frame(item, groups, ["甲", "乙", "丙"], codes)
    rows = _crosstab_rows(frame, cb, rule=SmallGroupRule(flag_below=10, suppress_below=5))
    row = rows[rows["item"] == item.id].iloc[0]
    assert np.isnan(row["statistic"]) and np.isnan(row["cramers_v"])
    assert "只出现在被排除" in row["reason"] and "丙" in row["reason"]


def test_empty_cells_that_make_the_rao_scott_correction_singular_give_nan_with_a_reason():
    cb = codebook()
    item = _choice_item(cb)
    c = list(item.substantive_codes)
    # 2 × 3 table with cells (甲, c0), (甲, c1)... a cycle of empty cells: 甲–c2–乙–... needs ≥ 2 rows and columns
    # empty in a rectangle: 甲 never answers c1 or c2 and 乙 never answers c1 or c2 -> rows × {c1, c2} empty,
    # but c1 and c2 occur in 丙
    groups = ["甲"] * 10 + ["乙"] * 10 + ["丙"] * 12
    codes = [c[0]] * 10 + [c[0]] * 10 + [c[0], c[1], c[2]] * 4
    frame = _grouped_frame(item, groups, ["甲", "乙", "丙"], codes)
    rows = _crosstab_rows(frame, cb, rule=SmallGroupRule(flag_below=3, suppress_below=1))
    row = rows[rows["item"] == item.id].iloc[0]
    assert np.isnan(row["p"]) and "奇异" in row["reason"]


def test_a_full_crosstab_equals_svychisq_through_the_design():
    cb = codebook()
    item = _choice_item(cb)
    c = list(item.substantive_codes)
    rng = np.random.default_rng(3)
    groups = rng.choice(["甲", "乙", "丙"], size=120).tolist()
    codes = rng.choice(c[:3], size=120).tolist()
    frame = _grouped_frame(item, groups, ["甲", "乙", "丙"], codes)
    rows = _crosstab_rows(frame, cb, rule=SmallGroupRule(flag_below=3, suppress_below=1))
    row = rows[rows["item"] == item.id].iloc[0]
    want = stats.crosstab_test(
        stats.SurveyDesign(frame), frame["region"].astype(str), frame[item.id].astype(float)
    )
    assert row["statistic"] == pytest.approx(want["statistic"], rel=1e-10)
    assert row["p"] == pytest.approx(want["p"], rel=1e-10) and row["reason"] == ""


def test_ranking_by_a_grouping_gives_each_groups_own_estimates():
    frame = _ranking_frame().assign(
        region=pd.Categorical(["乙", "甲", "乙", "甲", "甲"], categories=["乙", "甲"])
    )
    table = ranking_table(_described(frame, _with(RANKING), groupings=["region"]))
    assert table["by"].drop_duplicates().tolist() == ["", "region"]
    mine = table[table["group"] == "乙"].set_index(["option_code", "measure"])["estimate"]
    alone = ranking_table(_described(frame[frame["region"] == "乙"].reset_index(drop=True), _with(RANKING)))
    want = alone.set_index(["option_code", "measure"])["estimate"]
    np.testing.assert_allclose(mine.reindex(want.index), want, rtol=1e-12)


def test_the_small_group_rule_counts_equal_weights_as_their_number():
    rule = SmallGroupRule(flag_below=30, suppress_below=10)
    w = np.full(30, 0.1)
    n_eff = w.sum() ** 2 / (w * w).sum()  # 29.999999999999996 in floating point
    assert rule.flag(n_eff).flag == "" and rule.flag(29.9).flag == "small" and rule.flag(float("nan")).flag


def test_every_crosstab_that_was_not_computed_says_why(simulated_pipeline):
    ctx, _ = simulated_pipeline
    crosstabs = pd.read_parquet(ctx.stage_dir("describe") / "crosstabs.parquet")
    missing = crosstabs[crosstabs["p"].isna()]
    assert missing["reason"].str.len().gt(0).all()


def test_the_staff_quiz_is_given_per_unit_with_small_units_suppressed(simulated_pipeline):
    ctx, _ = simulated_pipeline
    quiz = pd.read_parquet(ctx.stage_dir("describe") / "quiz.parquet")
    units = quiz[(quiz["kind"] == "item") & (quiz["by"] == "unit")]
    assert len(units) and units["group"].nunique() > 1
    hidden = units[units["flag"] == "suppressed"]
    assert hidden["percent"].isna().all() and hidden["n"].isna().all()
