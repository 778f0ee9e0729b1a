"""Prepared items (``prepare_items`` / ``PreparedItems.with_weights``): every statistic computed from prepared
items equals the one computed from the DataFrame, and the stage's shortcuts (weights joined by Arrow, KMO and
Bartlett from the correlation matrix) equal the general routes they replace."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from pipeline import frames
from pipeline.errors import DataError
from pipeline.stats import reliability as rel
from pipeline.stats import validity

EXACT = 1e-12  # same arithmetic by another route: equal up to the last bits of a sum
ITEMS = ["a", "b", "c", "d"]


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    """Likert codes 1-5 of four items of one factor, ``c`` reverse-keyed, with holes and unequal weights."""
    rng = np.random.default_rng(7)
    n = 600
    f = rng.normal(size=n)
    data = {}
    for name in ITEMS:
        code = np.digitize(0.8 * f + 0.6 * rng.normal(size=n), [-1.2, -0.4, 0.4, 1.2]) + 1.0
        data[name] = 6 - code if name == "c" else code
    x = pd.DataFrame(data)
    x = x.mask(rng.random(x.shape) < 0.05)
    x["w"] = rng.gamma(2.0, 1.0, n)
    return x


def _assert_same(a, b) -> None:
    """Two result dataclasses with equal fields (floats to EXACT, arrays and Series elementwise)."""
    for f in dataclasses.fields(a):
        u, v = getattr(a, f.name), getattr(b, f.name)
        if isinstance(u, pd.Series):
            pd.testing.assert_series_equal(u, v, rtol=EXACT)
        elif isinstance(u, float):
            assert u == pytest.approx(v, rel=EXACT, nan_ok=True), f.name
        else:
            assert u == v, f.name


@pytest.mark.parametrize("ci", ["feldt", "bootstrap", "duhachek"])
@pytest.mark.parametrize("weighted", [False, True])
def test_alpha_from_prepared_items_equals_alpha_from_the_frame(frame, ci, weighted):
    w = frame["w"] if weighted else None
    direct = rel.cronbach_alpha(frame[ITEMS], reverse=["c"], scale_range=(1, 5), weights=w, ci=ci, n_boot=200)
    prepared = rel.prepare_items(frame[ITEMS], reverse=["c"], scale_range=(1, 5), weights=w)
    _assert_same(rel.cronbach_alpha(prepared, ci=ci, n_boot=200), direct)


@pytest.mark.parametrize("weighted", [False, True])
def test_item_analysis_from_prepared_items_equals_item_analysis_from_the_frame(frame, weighted):
    w = frame["w"] if weighted else None
    direct = rel.item_analysis(frame[ITEMS], reverse=["c"], scale_range=(1, 5), weights=w)
    prepared = rel.prepare_items(frame[ITEMS], reverse=["c"], scale_range=(1, 5), weights=w)
    pd.testing.assert_frame_equal(rel.item_analysis(prepared), direct, rtol=EXACT)


def test_omega_from_prepared_items_equals_omega_from_the_frame(frame):
    direct = rel.omega_total(frame[ITEMS], reverse=["c"], scale_range=(1, 5))
    prepared = rel.prepare_items(frame[ITEMS], reverse=["c"], scale_range=(1, 5))
    _assert_same(rel.omega_total(prepared), direct)


def test_omega_rejects_weighted_prepared_items(frame):
    prepared = rel.prepare_items(frame[ITEMS], scale_range=(1, 5), weights=frame["w"])
    with pytest.raises(DataError, match="no weights"):
        rel.omega_total(prepared)


def test_omega_on_two_prepared_items_gives_the_frames_message(frame):
    with pytest.raises(DataError) as direct:
        rel.omega_total(frame[["a", "b"]])
    with pytest.raises(DataError) as prepared:
        rel.omega_total(rel.prepare_items(frame[["a", "b"]]))
    assert str(prepared.value) == str(direct.value)


def test_options_given_again_with_prepared_items_are_rejected(frame):
    prepared = rel.prepare_items(frame[ITEMS], reverse=["c"], scale_range=(1, 5))
    with pytest.raises(DataError, match="reverse"):
        rel.cronbach_alpha(prepared, reverse=["c"])
    with pytest.raises(DataError, match="weights"):
        rel.item_analysis(prepared, weights=frame["w"])


def _assert_same_prepared(a: rel.PreparedItems, b: rel.PreparedItems) -> None:
    for f in dataclasses.fields(a):
        u, v = getattr(a, f.name), getattr(b, f.name)
        if isinstance(u, np.ndarray) or u is None or isinstance(v, np.ndarray):
            assert (u is None and v is None) or np.array_equal(u, v), f.name
        elif isinstance(u, pd.Index):
            assert u.equals(v), f.name
        else:
            assert u == v, f.name
    np.testing.assert_array_equal(a.cov, b.cov)
    np.testing.assert_array_equal(a.cov_unweighted, b.cov_unweighted)


@pytest.mark.parametrize("scale_range", [(1, 5), None])
def test_weights_added_to_prepared_items_equal_weights_given_to_prepare_items(frame, scale_range):
    unweighted = rel.prepare_items(frame[ITEMS], reverse=["c"], scale_range=scale_range)
    direct = rel.prepare_items(frame[ITEMS], reverse=["c"], scale_range=scale_range, weights=frame["w"])
    _assert_same_prepared(unweighted.with_weights(frame["w"]), direct)


@pytest.mark.parametrize("scale_range", [(1, 5), None])
def test_complete_cases_without_a_weight_are_dropped_as_prepare_items_drops_them(frame, scale_range):
    w = frame["w"].mask(np.arange(len(frame)) % 7 == 0)
    unweighted = rel.prepare_items(frame[ITEMS], reverse=["c"], scale_range=scale_range)
    direct = rel.prepare_items(frame[ITEMS], reverse=["c"], scale_range=scale_range, weights=w)
    from_unweighted = unweighted.with_weights(w)
    assert from_unweighted.n_dropped > unweighted.n_dropped
    _assert_same_prepared(from_unweighted, direct)


def test_weights_added_to_prepared_items_are_checked_like_prepare_items_checks_them(frame):
    unweighted = rel.prepare_items(frame[ITEMS], scale_range=(1, 5))
    for bad in (
        frame["w"].to_numpy()[:-1],
        -frame["w"],
        frame["w"].reset_index(drop=True).set_axis(frame.index + 1),
        np.zeros(len(frame)),
    ):
        with pytest.raises(DataError) as direct:
            rel.prepare_items(frame[ITEMS], scale_range=(1, 5), weights=bad)
        with pytest.raises(DataError) as added:
            unweighted.with_weights(bad)
        assert str(added.value) == str(direct.value)


def test_kmo_and_bartlett_from_the_correlation_matrix_equal_factor_analyzer(frame):
    from factor_analyzer.factor_analyzer import calculate_bartlett_sphericity, calculate_kmo

    complete = frame[ITEMS].dropna().to_numpy()
    per_item, overall = calculate_kmo(complete)
    k = validity.kmo(frame[ITEMS])
    assert k.overall == pytest.approx(overall, rel=EXACT)
    np.testing.assert_allclose(k.per_item.to_numpy(), per_item, rtol=EXACT)
    stat, pvalue = calculate_bartlett_sphericity(complete)
    b = validity.bartlett_sphericity(frame[ITEMS])
    assert (b.statistic, b.pvalue) == pytest.approx((stat, pvalue), rel=EXACT)


def test_validity_from_prepared_items_equals_validity_from_the_frame(frame):
    x = frame[ITEMS]
    prepared = rel.prepare_items(x)
    _assert_same(validity.kmo(prepared), validity.kmo(x))
    _assert_same(validity.bartlett_sphericity(prepared), validity.bartlett_sphericity(x))
    pd.testing.assert_frame_equal(validity.efa(prepared, 1).loadings, validity.efa(x, 1).loadings, rtol=EXACT)


def test_cfa_from_prepared_items_equals_cfa_from_the_frame(frame):
    x = frame[ITEMS]
    structure = {"F": ["b", "a", "c", "d"]}  # another order than the prepared columns
    direct = validity.cfa(x, structure)
    prepared = validity.cfa(rel.prepare_items(x), structure)
    assert (prepared.chi2, prepared.df, prepared.srmr) == pytest.approx((direct.chi2, direct.df, direct.srmr))
    pd.testing.assert_frame_equal(prepared.loadings, direct.loadings)


def test_cfa_rejects_prepared_items_outside_the_structure(frame):
    with pytest.raises(DataError, match="d not in the structure"):
        validity.cfa(rel.prepare_items(frame[ITEMS]), {"F": ["a", "b", "c"]})


def _mapped(responses: pd.DataFrame, weights: pd.DataFrame) -> np.ndarray:
    """The join the stage used to do with pandas."""
    by_id = weights.drop_duplicates("record_id").set_index("record_id")["weight"].astype(float)
    return responses["record_id"].map(by_id).to_numpy(dtype=float)


@pytest.mark.parametrize("dtype", ["str", object])
def test_weights_are_joined_on_record_id_like_a_map_of_the_first_row_per_id(dtype):
    responses = pd.DataFrame({"record_id": pd.array(["r1", "r2", "r3", "r4", "r2"], dtype=dtype)})
    weights = pd.DataFrame(
        {
            "record_id": pd.array(["r2", "r1", "r2", "r9", "r4"], dtype=dtype),
            "weight": [2.0, 1.0, 7.0, 9.0, np.nan],
        }
    )
    joined = frames.record_weights(responses, weights)
    np.testing.assert_array_equal(joined, _mapped(responses, weights))
    np.testing.assert_array_equal(joined, [1.0, 2.0, np.nan, np.nan, 2.0])


@pytest.mark.parametrize("duplicated", [False, True])
def test_weights_listed_in_the_responses_order_are_joined_like_a_map(duplicated):
    ids = ["r1", "r2", "r3", "r2" if duplicated else "r4"]
    responses = pd.DataFrame({"record_id": pd.array(ids, dtype="str")})
    weights = pd.DataFrame({"record_id": pd.array(ids, dtype="str"), "weight": [1.0, 2.0, np.nan, 4.0]})
    joined = frames.record_weights(responses, weights)
    np.testing.assert_array_equal(joined, _mapped(responses, weights))
    np.testing.assert_array_equal(joined, [1.0, 2.0, np.nan, 2.0 if duplicated else 4.0])


def test_weights_with_ids_arrow_cannot_compare_take_the_pandas_route():
    responses = pd.DataFrame({"record_id": [1, 2, 3]})
    weights = pd.DataFrame({"record_id": pd.array(["1", "x", "3"], dtype=object), "weight": [1.0, 2.0, 3.0]})
    np.testing.assert_array_equal(frames.record_weights(responses, weights), [np.nan] * 3)
