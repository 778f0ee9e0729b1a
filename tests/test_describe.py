"""06_describe: frequencies, multiple choice, ranking, scales and crosstabs from the codebook's question types."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline import stats
from pipeline.config.codebook import Codebook, CodebookItem
from pipeline.config.models import Option
from pipeline.describe.common import Described
from pipeline.describe.frequencies import frequency_table
from pipeline.describe.ranking import ranking_table
from pipeline.stats.small_groups import SmallGroupRule
from tests.fixtures.ingest.small import codebook

LABELS = ["行政执法", "信息公开", "窗口服务", "普法宣传"]
RANKING = CodebookItem(
    id="R1",
    number=6,
    type="ranking",
    question_text="请对以下方面排序",
    row_text=None,
    options=tuple(Option(code=k, text=t) for k, t in enumerate(LABELS, start=1)),
    max_choices=3,
)


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
