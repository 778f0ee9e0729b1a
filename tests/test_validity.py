"""Validity (KMO, Bartlett, EFA, CFA) against psych and lavaan numbers in tests/reference/psych/."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.errors import DataError
from pipeline.stats import validity

REF = Path(__file__).parent / "reference" / "psych"
TOL = 1e-6  # closed-form statistics
PVALUE_RTOL = 1e-6
LOADING_TOL = 1e-4  # iterative estimates: psych's and lavaan's optimisers stop ~1e-5 from the optimum
FIT_TOL = 1e-6  # CFA fit indices (semopy with tight tolerance vs lavaan)
STRUCTURE = {"A": ["a1", "a2", "a3", "a4"], "B": ["b1", "b2", "b3", "b4"]}


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return pd.read_csv(REF / "efa.csv")


@pytest.fixture(scope="module")
def ref() -> dict:
    return json.loads((REF / "validity.json").read_text())


def _aligned(ours: np.ndarray, theirs: np.ndarray) -> np.ndarray:
    """Reorder and re-sign our factor columns to best match R's (factor order/sign are arbitrary)."""
    out = np.empty_like(theirs)
    free = list(range(ours.shape[1]))
    for j in range(theirs.shape[1]):
        best = max(free, key=lambda c: abs(ours[:, c] @ theirs[:, j]))
        free.remove(best)
        out[:, j] = ours[:, best] * np.sign(ours[:, best] @ theirs[:, j])
    return out


def test_kmo_matches_psych_kmo(data, ref):
    res = validity.kmo(data)
    assert res.overall == pytest.approx(ref["kmo_msa"], abs=TOL)
    np.testing.assert_allclose(res.per_item[ref["item"]], ref["kmo_msai"], atol=TOL)


def test_bartlett_matches_psych_cortest_bartlett(data, ref):
    res = validity.bartlett_sphericity(data)
    assert res.statistic == pytest.approx(ref["bartlett_chisq"], abs=TOL)
    assert res.df == ref["bartlett_df"]
    assert res.pvalue == pytest.approx(ref["bartlett_p"], rel=PVALUE_RTOL)
    assert (res.n, res.k) == (500, 8)


def test_efa_oblimin_loadings_match_psych_fa_minres(data, ref):
    res = validity.efa(data, 2, rotation="oblimin")
    theirs = np.array(ref["fa_loadings"])
    np.testing.assert_allclose(_aligned(res.loadings.to_numpy(), theirs), theirs, atol=LOADING_TOL)
    np.testing.assert_allclose(res.communalities[ref["item"]], ref["fa_communality"], atol=LOADING_TOL)
    assert abs(res.phi.iloc[0, 1]) == pytest.approx(ref["fa_phi"][0][1], abs=LOADING_TOL)


def test_efa_varimax_loadings_match_psych_fa_minres(data, ref):
    res = validity.efa(data, 2, rotation="varimax")
    theirs = np.array(ref["fa_varimax_loadings"])
    np.testing.assert_allclose(_aligned(res.loadings.to_numpy(), theirs), theirs, atol=LOADING_TOL)
    assert res.phi is None


def test_item_loading_on_another_scales_factor_is_marked(data):
    res = validity.efa(data, 2)
    expected = {c: ("A" if c.startswith("a") else "B") for c in data.columns}
    clean = validity.misassigned_items(res, expected)
    assert not clean["misassigned"].any()
    expected["b3"] = "A"  # pretend the questionnaire put b3 in scale A
    marked = validity.misassigned_items(res, expected).set_index("item")
    assert marked["misassigned"].sum() == 1
    assert marked.loc["b3", "flag_code"] == "loads_on_other_scale"
    assert "B" in marked.loc["b3", "flag"] and "A" in marked.loc["b3", "flag"]


def test_misassigned_items_rejects_unknown_item(data):
    res = validity.efa(data, 2)
    with pytest.raises(DataError, match="b4"):
        validity.misassigned_items(res, {c: "A" for c in data.columns if c != "b4"})


def test_cfa_fit_matches_lavaan_fitmeasures(data, ref):
    res = validity.cfa(data, STRUCTURE)
    fm = ref["cfa"]
    assert res.converged
    assert res.df == fm["df"]
    for ours, theirs in [
        ("chi2", "chisq"),
        ("pvalue", "pvalue"),
        ("cfi", "cfi"),
        ("tli", "tli"),
        ("rmsea", "rmsea"),
        ("rmsea_ci_low", "rmsea.ci.lower"),
        ("rmsea_ci_high", "rmsea.ci.upper"),
        ("srmr", "srmr"),
    ]:
        assert getattr(res, ours) == pytest.approx(fm[theirs], abs=FIT_TOL), ours
    std = res.loadings.set_index("item").loc[ref["cfa_std_item"], "std_estimate"]
    np.testing.assert_allclose(std, ref["cfa_std_loadings"], atol=LOADING_TOL)


_CFA_IN_FRESH_PROCESS = """
import json, sys
import pandas as pd
from pipeline.stats import validity
data = pd.read_csv(sys.argv[1])
structure = {"A": ["a1", "a2", "a3", "a4"], "B": ["b1", "b2", "b3", "b4"], "C": ["a1b", "b1b", "a2b"]}
data = data.assign(a1b=data["a1"] + data["b2"] % 2, b1b=data["b1"] + data["a3"] % 3, a2b=data["a2"] + data["b4"] % 2)
res = validity.cfa(data, structure)
print(json.dumps([res.chi2, res.srmr, *res.loadings["std_estimate"].tolist()]))
"""


def test_cfa_estimates_do_not_depend_on_the_hash_seed():
    """semopy orders the default factor covariances by set iteration; named in the model, they are fixed."""
    import json
    import os
    import subprocess
    import sys

    runs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", _CFA_IN_FRESH_PROCESS, str(REF / "efa.csv")],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        runs.append(json.loads(out.stdout))
    assert runs[0] == runs[1]


def test_cfa_accepts_chinese_scale_names(data):
    res = validity.cfa(data, {"法治意识": STRUCTURE["A"], "执法满意度": STRUCTURE["B"]})
    assert set(res.loadings["scale"]) == {"法治意识", "执法满意度"}
    assert list(res.factor_correlations.columns) == ["法治意识", "执法满意度"]


def test_cfa_unknown_item_is_rejected_naming_it(data):
    with pytest.raises(DataError, match="b9"):
        validity.cfa(data, {"A": STRUCTURE["A"], "B": ["b1", "b9"]})


def test_singular_correlation_matrix_is_rejected_naming_an_item(data):
    x = data.copy()
    x["total"] = x[["a1", "a2"]].sum(axis=1)
    with pytest.raises(DataError, match="singular"):
        validity.kmo(x)


def test_efa_rejects_too_many_factors(data):
    with pytest.raises(DataError, match="n_factors"):
        validity.efa(data, 8)


LAVAAN_REF = Path(__file__).parent / "reference" / "lavaan"
LAVAAN_CASES = {
    "docstring_example": ("cfa_docstring_example.csv", {"A": ["q0", "q1", "q2"], "B": ["q3", "q4", "q5"]}),
    "close": ("cfa_close.csv", STRUCTURE),
    "misfit": ("cfa_misfit.csv", {"A": ["a1", "a2", "a3"], "B": ["b1", "b2", "b3"], "C": ["c1", "c2", "c3"]}),
}


@pytest.mark.parametrize("case", list(LAVAAN_CASES))
def test_cfa_cfi_is_bentlers_bounded_cfi_and_tli_unbounded_as_lavaan(case):
    # close: chi-square below df (lavaan CFI 1, TLI > 1); misfit: CFI < 1; docstring example: CFI 1
    fm = json.loads((LAVAAN_REF / "cfa.json").read_text())[case]
    file, structure = LAVAAN_CASES[case]
    res = validity.cfa(pd.read_csv(LAVAAN_REF / file), structure)
    assert res.df == fm["df"]
    for ours, theirs in [
        ("chi2", "chisq"),
        ("cfi", "cfi"),
        ("tli", "tli"),
        ("rmsea", "rmsea"),
        ("srmr", "srmr"),
    ]:
        assert getattr(res, ours) == pytest.approx(fm[theirs], abs=FIT_TOL), ours
    assert 0.0 <= res.cfi <= 1.0
    if fm["chisq"] < fm["df"]:
        assert res.cfi == 1.0 and res.tli > 1.0
