"""07_score: renormalisation over what was measured, coverage, a missing source never a zero, rank intervals and
tiers, and the stage on the simulated run (every unit scored, tables meeting their schemas, the workbook)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from pipeline import paths, schemas, stats
from pipeline.config.models import SOURCES
from pipeline.score.aggregate import fuse_sources, roll_up
from pipeline.score.ranking import FastOverall, ItemDraws, overall_scores, tiers
from pipeline.score.system import CITY, intended, tree, unit_table

NAN = np.nan


def _sources(shape, **given):
    """Per source (score, var, n) arrays of ``shape``, NaN/0 except those ``given`` as (score, se, n)."""
    score = {s: np.full(shape, NAN) for s in SOURCES}
    var = {s: np.full(shape, NAN) for s in SOURCES}
    n = {s: np.zeros(shape) for s in SOURCES}
    for s, (sc, se, k) in given.items():
        score[s], var[s], n[s] = np.asarray(sc, float), np.asarray(se, float) ** 2, np.asarray(k, float)
    return score, var, n


def _want(shape, *sources):
    return {s: np.full(shape, s in sources) for s in SOURCES}


def test_a_point_fuses_its_sources_by_source_weight_renormalised_over_those_with_data():
    shape = (2, 1)  # unit 0 has both sources, unit 1 only the document rating
    score, var, n = _sources(shape, public=([[60.0], [NAN]], [[2.0], [NAN]], [[100], [0]]),
                             document=([[80.0], [50.0]], [[NAN], [NAN]], [[1], [1]]))  # fmt: skip
    level = fuse_sources(score, var, n, _want(shape, "public", "document"), {"public": 0.3, "document": 0.6})
    assert level.score[0, 0] == pytest.approx((0.3 * 60 + 0.6 * 80) / 0.9)
    assert level.score[1, 0] == 50.0  # the missing public estimate is left out, not a zero
    assert level.coverage[:, 0] == pytest.approx([1.0, 0.6 / 0.9])
    assert np.sqrt(level.var[0, 0]) == pytest.approx(0.3 / 0.9 * 2.0)  # the rating has no sampling error
    assert not level.sampled[1, 0]


def test_an_item_is_renormalised_over_its_points_with_data_and_coverage_is_the_weight_measured():
    # one unit, one item of three points weighted .5/.3/.2; the second point has no data
    shape = (1, 3)
    score, var, n = _sources(shape, document=([[90.0, NAN, 40.0]], [[NAN, NAN, NAN]], [[1, 0, 1]]))
    point = fuse_sources(score, var, n, _want(shape, "document"), {"document": 1.0})
    item = roll_up(point, np.array([0.5, 0.3, 0.2]), np.array([0, 0, 0]), 1, count_points=True)
    assert item.score[0, 0] == pytest.approx((0.5 * 90 + 0.2 * 40) / 0.7)
    assert item.coverage[0, 0] == pytest.approx(0.7)
    assert item.n[0, 0] == 2
    # one level up, with a second, fully measured item of weight .4: coverage is the product-weight share
    both = fuse_sources(*_sources((1, 4), document=([[90.0, NAN, 40.0, 70.0]], [[NAN] * 4], [[1, 0, 1, 1]])),
                        _want((1, 4), "document"), {"document": 1.0})  # fmt: skip
    items = roll_up(both, np.array([0.5, 0.3, 0.2, 1.0]), np.array([0, 0, 0, 1]), 2, count_points=True)
    aspect = roll_up(items, np.array([0.6, 0.4]), np.array([0, 0]), 1, count_points=False)
    assert aspect.coverage[0, 0] == pytest.approx(0.6 * 0.7 + 0.4 * 1.0)
    assert aspect.score[0, 0] == pytest.approx(0.6 * (53 / 0.7) + 0.4 * 70)
    assert aspect.n[0, 0] == 3


def test_a_unit_with_no_data_for_a_point_gets_no_score_not_zero():
    shape = (1, 2)
    score, var, n = _sources(shape, site=([[NAN, NAN]], [[NAN, NAN]], [[0, 0]]))
    point = fuse_sources(score, var, n, _want(shape, "site"), {"site": 1.0})
    assert np.isnan(point.score).all() and (point.coverage == 0).all()
    item = roll_up(point, np.array([0.5, 0.5]), np.array([0, 0]), 1, count_points=True)
    assert np.isnan(item.score[0, 0]) and item.coverage[0, 0] == 0 and item.applies[0, 0]


def test_a_point_that_does_not_apply_is_outside_the_coverage():
    shape = (1, 2)
    score, var, n = _sources(shape, document=([[80.0, NAN]], [[NAN, NAN]], [[1, 0]]))
    want = _want(shape, "document")
    want["document"][0, 1] = False  # e.g. an enforcement-only point of a unit without enforcement power
    point = fuse_sources(score, var, n, want, {"document": 1.0})
    item = roll_up(point, np.array([0.5, 0.5]), np.array([0, 0]), 1, count_points=True)
    assert item.score[0, 0] == 80.0 and item.coverage[0, 0] == 1.0


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(st.none(), st.floats(0, 100)), min_size=4, max_size=4),
       st.lists(st.floats(0.05, 1), min_size=4, max_size=4))  # fmt: skip
def test_an_aggregate_lies_within_its_measured_childrens_scores(values, weights):
    s = np.array([[NAN if v is None else v for v in values]])
    point = fuse_sources(*_sources(s.shape, site=(s, np.full(s.shape, NAN), np.ones(s.shape))),
                         _want(s.shape, "site"), {"site": 1.0})  # fmt: skip
    item = roll_up(point, np.array(weights), np.zeros(4, dtype=int), 1, count_points=True)
    measured = s[~np.isnan(s)]
    if measured.size == 0:
        assert np.isnan(item.score[0, 0])
    else:
        assert measured.min() - 1e-9 <= item.score[0, 0] <= measured.max() + 1e-9
    assert item.coverage[0, 0] == pytest.approx(np.array(weights)[~np.isnan(s[0])].sum() / sum(weights))


def test_competition_ranks_and_rank_intervals_contain_the_rank():
    assert stats.competition_ranks(np.array([70.0, 90.0, 70.0, NAN])).tolist()[:3] == [2.0, 1.0, 2.0]
    rng = np.random.default_rng(1)
    scores = np.array([80.0, 79.0, 60.0, NAN])
    draws = scores + rng.normal(0, 3, size=(500, 4))
    r = stats.rank_intervals(scores, draws, confidence_level=0.95)
    assert r.rank[:3].tolist() == [1.0, 2.0, 3.0]
    assert (r.low[:3] <= r.rank[:3]).all() and (r.rank[:3] <= r.high[:3]).all()
    assert (
        r.low[0] == 1 and r.high[0] == 2 and r.low[2] == r.high[2] == 3
    )  # close pair overlaps, 60 stands apart
    assert np.isnan(r.rank[3]) and np.isnan(r.low[3])


def test_tiers_join_units_whose_interval_reaches_the_tier_leader():
    rank = np.array([1.0, 2.0, 3.0, 4.0, NAN])
    low = np.array([1.0, 1.0, 2.0, 4.0, NAN])
    high = np.array([2.0, 3.0, 4.0, 4.0, NAN])
    got = tiers(rank, low, high)
    # the leader's interval ends at 2: units reaching rank 2 join it; the fourth (4–4) opens tier 2
    assert got[:4].tolist() == [1.0, 1.0, 1.0, 2.0]
    assert np.isnan(got[4])


def test_the_fast_draw_roll_up_equals_the_full_one(config):
    t = tree(config)
    units = unit_table(config)
    want = intended(t.points, units)
    rng = np.random.default_rng(3)
    shape = (len(units.codes), len(t.points))
    given = {}
    for s in SOURCES:
        sc = np.where(rng.random(shape) < 0.8, rng.uniform(20, 100, shape), NAN)
        se = np.where(rng.random(shape) < 0.5, rng.uniform(0.5, 5, shape), NAN)
        given[s] = (sc, se, np.ones(shape))
    point = fuse_sources(*_sources(shape, **given), want, dict(config.indicators.source_weights))
    item = roll_up(point, t.weights["point"], t.parent["point"], len(t.ids["item"]), count_points=True)
    fast = FastOverall(item.applies, t, start="item")
    assert np.allclose(fast(item.score, t.weights), overall_scores(point, t), equal_nan=True)
    draws = ItemDraws(point, item, t)(rng, 3)
    assert draws.shape == (3, *item.score.shape)
    assert np.allclose(draws.mean(axis=0), item.score, atol=15, equal_nan=True)


def test_public_scope_decides_which_estimate_reaches_a_unit(config):
    t = tree(config)
    units = unit_table(config)
    points = t.points.copy()
    j = int(np.flatnonzero([("public" in s) for s in points["sources"]])[0])
    municipal = int(np.flatnonzero(~units.district[:-1])[0])
    district = int(np.flatnonzero(units.district)[0])
    city = units.codes.index(CITY)
    for scope, reaches in ((None, (True, True)), ("district", (True, False)), ("city", (True, True)),
                           ("none", (False, False))):  # fmt: skip
        points.loc[j, "public_scope"] = scope
        want = intended(points, units)["public"]
        assert (bool(want[district, j]), bool(want[municipal, j])) == reaches, scope
        assert want[city, j]


# --------------------------------------------------------------------------------------------------
# the stage on the simulated run


@pytest.fixture(scope="module")
def scored(simulated_pipeline):
    ctx, _ = simulated_pipeline
    folder = ctx.stage_dir("score")
    return ctx, {
        name: pd.read_parquet(folder / f"{name}.parquet") for name in ("point_sources", "scores", "ranking")
    }


def test_every_score_table_meets_its_schema(scored):
    ctx, _ = scored
    for name in ("point_sources", "scores", "ranking"):
        schemas.check_table(paths.table_path(ctx.out, "score", name), schemas.schema("score", name))


def test_every_unit_is_scored_on_every_applicable_item_with_coverage(scored):
    ctx, tables = scored
    scores = tables["scores"]
    overall = scores[scores["level"] == "overall"]
    assert set(overall["unit"]) == {u.code for u in ctx.config.units.units} | {CITY}
    assert overall["score"].notna().all() and overall["coverage"].between(0, 1).all()
    items = scores[scores["level"] == "item"]
    assert items["coverage"].notna().all() and items["score"].between(0, 100).all()
    # enforcement-only aspect 9 is not scored for units without enforcement power
    no_power = {u.code for u in ctx.config.units.units if not u.enforcement}
    assert not ((scores["level"] == "aspect") & (scores["id"] == "9") & scores["unit"].isin(no_power)).any()


def test_a_unit_score_is_the_renormalised_weighted_mean_of_its_children(scored):
    _, tables = scored
    s = tables["scores"]
    unit = s[s["unit"] == s["unit"].iat[0]]
    for level, child in (("item", "point"), ("aspect", "item"), ("block", "aspect"), ("overall", "block")):
        for r in unit[unit["level"] == level].itertuples():
            kids = unit[(unit["level"] == child) & (unit["parent"] == r.id) & unit["score"].notna()]
            expected = (kids["score"] * kids["weight"]).sum() / kids["weight"].sum()
            assert r.score == pytest.approx(expected), (level, r.id)


def test_point_sources_hold_the_case_file_and_public_evidence(scored):
    _, tables = scored
    ps = tables["point_sources"]
    assert set(ps["source"]) == {"public", "staff", "casefile", "document", "online", "site"}
    assert ps["score"].dropna().between(0, 100).all()
    cf = ps[ps["source"] == "casefile"]
    assert cf["detail"].str.startswith("案卷：").all() and (cf["n"] >= 1).all()
    public = ps[(ps["source"] == "public") & (ps["unit_type"] == "district")]
    assert public["se"].notna().all() and (public["ci_low"] <= public["score"]).all()
    sampled = ps["source"].isin(["document", "online", "site"])
    assert ps.loc[sampled, "se"].isna().all()


def test_ranks_lie_in_their_intervals_and_tiers_start_at_one(scored):
    _, tables = scored
    r = tables["ranking"]
    assert (r["rank_low"] <= r["rank"]).all() and (r["rank"] <= r["rank_high"]).all()
    assert (r["rank_low"] <= r["rank_equal_weights"]).all() and (
        r["rank_equal_weights"] <= r["rank_high"]
    ).all()
    for _, part in r.groupby("unit_type"):
        assert part["tier"].min() == 1
        assert part.sort_values("rank")["tier"].is_monotonic_increasing
        assert part["rank"].max() <= part["n_units"].iat[0]


def test_the_scores_workbook_has_one_row_per_unit(scored):
    ctx, tables = scored
    wb = load_workbook(ctx.stage_dir("score") / "scores.xlsx", read_only=True)
    assert wb.sheetnames[:2] == ["单位得分", "覆盖率"]
    rows = list(wb["单位得分"].iter_rows(values_only=True))
    assert rows[0][:3] == ("单位代码", "单位名称", "单位类型")
    assert len(rows) - 1 == len(tables["ranking"])


def test_public_scope_on_a_point_without_public_source_is_a_config_error(tmp_path):
    import shutil

    import yaml
    from conftest import CONFIG_DIR

    from pipeline.config import load_config
    from pipeline.errors import ConfigError

    for f in CONFIG_DIR.glob("*.yaml"):
        shutil.copy(f, tmp_path / f.name)
    data = yaml.safe_load((tmp_path / "indicators.yaml").read_text(encoding="utf-8"))
    data["aspects"][0]["items"][0]["points"][1]["public_scope"] = "city"  # 1.1.2: a document point
    (tmp_path / "indicators.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError, match="public_scope"):
        load_config(tmp_path)
