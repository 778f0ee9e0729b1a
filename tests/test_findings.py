"""The findings stage: problem states, common/individual classing, the review file, the outputs people use, and
compare-rounds."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from conftest import CONFIG_DIR
from hypothesis import given, settings
from hypothesis import strategies as st_

from pipeline.cli import main
from pipeline.config.findings import FindingsReview, FindingsRules
from pipeline.errors import ConfigError
from pipeline.findings import findings_from, infer_states, structure
from pipeline.findings.evidence import COLUMNS
from pipeline.findings.records import apply_review
from pipeline.findings.report import STATUS_OPTIONS, write_problem_list
from pipeline.findings.rounds import read_status
from pipeline.findings.states import _checkpoint_llr, _unit_spread
from pipeline.stats.ordinal import ordinal_cell_loglik, ordinal_null


def _checkpoint_evidence(config, planted: dict[str, set[str]], *, seed=1, p_bad=0.12, p_plant=0.8):
    """Evidence rows of two document points per applicable cell; planted cells fail with ``p_plant``."""
    rng = np.random.default_rng(seed)
    st = structure(config)
    rows = []
    for unit, items in st.applicable.items():
        for item in sorted(items):
            p = p_plant if unit in planted.get(item, ()) else p_bad
            k = int(rng.binomial(3, p))
            rows.append({"unit": unit, "item": item, "stream": "document", "kind": "binomial", "m": 3.0,
                         "k": float(k), "p0": np.nan, "z": np.nan, "points": "", "detail": f"{k}/3", "n": 3.0})  # fmt: skip
    ratings = pd.DataFrame(
        [{"unit": r["unit"], "item": r["item"], "point": f"{r['item']}.{j}", "stream": "document",
          "bad": float(j < r["k"])} for r in rows for j in range(3)]
    )  # fmt: skip
    return st, pd.DataFrame(rows, columns=COLUMNS), ratings


def test_a_problem_in_many_units_is_one_common_finding_and_nothing_planted_gives_none(config):
    units = [u.code for u in config.units.units][8:38]  # 30 municipal units
    st, ev, ratings = _checkpoint_evidence(config, {"8.1": set(units)})
    states = infer_states(ev, config.findings, st, ratings)
    found = findings_from(states, st, config.findings)
    common = found[found["kind"] == "common"]
    assert set(common["item"]) == {"8.1"}
    assert len(set(common["member"]) & set(units)) >= len(units) / 2
    st, ev, ratings = _checkpoint_evidence(config, {}, seed=2)
    quiet = findings_from(infer_states(ev, config.findings, st, ratings), st, config.findings)
    assert (quiet["kind"] == "common").sum() == 0
    assert quiet["id"].nunique() <= 3


def test_a_common_problem_lists_the_units_whose_evidence_favours_it(config):
    """Once an item is common, a unit below ``min_posterior`` is listed when its mixture posterior exceeds the
    item's share (likelihood ratio above 1), and not otherwise; such units do not make an item common."""
    from pipeline.findings import States

    st = structure(config)
    units = sorted(u for u, items in st.applicable.items() if "8.1" in items)[:8]
    strong, weak, against = units[:3], units[3], units[4:]
    cells = pd.DataFrame(
        {"unit": units, "item": "8.1", "posterior": [0.9, 0.9, 0.9, 0.1, 0.05, 0.05, 0.05, 0.05]}
    )
    cells["lfdr"] = 1 - cells["posterior"]
    cells["common_posterior"] = [0.9, 0.9, 0.9, 0.15, 0.05, 0.05, 0.05, 0.05]
    items = pd.DataFrame({"item": ["8.1"], "share": [0.1], "llr": [9.0], "n_pieces": [1], "n_corroborating": [0],
                          "corroborating": [""], "z": [0.0], "p": [1.0], "p_bh": [1.0]})  # fmt: skip
    found = findings_from(
        States(cells, items, {}, pd.DataFrame()),
        st,
        config.findings.model_copy(update={"min_posterior": 0.5}),
    )
    common = found[found["kind"] == "common"]
    assert set(common["member"]) == {*strong, weak} and not set(common["member"]) & set(against)
    cells.loc[:2, ["posterior", "common_posterior"]] = 0.1
    weak_only = findings_from(
        States(cells, items, {}, pd.DataFrame()),
        st,
        config.findings.model_copy(update={"min_posterior": 0.5}),
    )
    assert not (weak_only["kind"] == "common").any()


def test_an_individual_problem_needs_its_own_posterior_not_only_the_lists_fdr(config):
    """Twenty cells at near certainty let a cell at 0.8 into the list at fdr 0.03 (mean local fdr 0.01); it is
    an individual problem only when ``individual_posterior`` admits it."""
    from pipeline.findings import States

    st = structure(config)
    pairs = [(u, i) for u, items in sorted(st.applicable.items()) for i in sorted(items)][:200:10]
    cells = pd.DataFrame(pairs + [("M050", "2.2")], columns=["unit", "item"])
    cells["posterior"] = [0.999] * len(pairs) + [0.8]
    cells["lfdr"] = 1 - cells["posterior"]
    items = pd.DataFrame({"item": sorted(set(cells["item"])), "share": 0.01, "llr": 0.0, "n_pieces": 1,
                          "n_corroborating": 0, "corroborating": "", "z": 0.0, "p": 1.0, "p_bh": 1.0})  # fmt: skip
    states = States(cells, items, {}, pd.DataFrame())
    strict = findings_from(states, st, config.findings.model_copy(update={"fdr": 0.03}))
    loose = findings_from(
        states, st, config.findings.model_copy(update={"fdr": 0.03, "individual_posterior": 0.5})
    )
    assert "individual:2.2:M050" not in set(strict["id"]) and "individual:2.2:M050" in set(loose["id"])
    assert len(set(strict["id"])) == len(pairs)


def test_a_looser_fdr_reports_at_least_the_same_cells(config):
    st, ev, ratings = _checkpoint_evidence(config, {"3.2": {"M010", "M020"}, "9.1": {"620102"}})
    states = infer_states(ev, config.findings, st, ratings)
    strict = findings_from(states, st, config.findings, fdr=0.05)
    loose = findings_from(states, st, config.findings, fdr=0.3)
    pairs = [set(zip(f["item"], f["member"], strict=True)) for f in (strict, loose)]
    assert pairs[0] <= pairs[1]


def test_the_stage_writes_findings_with_evidence_and_wording(simulated_pipeline):
    ctx, _truth = simulated_pipeline
    folder = ctx.stage_dir("findings")
    for name in ("findings.parquet", "states.parquet", "item_tests.parquet", "findings.json", "findings.md",
                 "problem_list.xlsx"):  # fmt: skip
        assert (folder / name).exists(), name
    doc = json.loads((folder / "findings.json").read_text(encoding="utf-8"))
    assert doc["findings"], "the planted sample yields findings"
    for f in doc["findings"]:
        assert f["id"] == f"{f['kind']}:{f['item']}:{f['unit']}"
        assert f["units"] and f["problem"] and f["suggestion"] and " › " in f["path"]
        assert all(u["evidence"] for u in f["units"])
    ranks = [f["rank"] for f in doc["findings"] if f["kind"] == "common"]
    assert ranks == sorted(ranks)
    md = (folder / "findings.md").read_text(encoding="utf-8")
    assert md.index("## 共性问题") < md.index("## 个性问题")


def test_problem_list_has_a_status_drop_down_a_frozen_header_and_reads_back(simulated_pipeline, tmp_path):
    from openpyxl import load_workbook

    ctx, _ = simulated_pipeline
    records = pd.read_parquet(ctx.stage_dir("findings") / "findings.parquet").head(3).copy()
    records.loc[records.index[0], "problem"] = '=HYPERLINK("http://x")'
    path = write_problem_list(records, tmp_path / "problem_list.xlsx")
    wb = load_workbook(path)
    ws = wb["问题清单"]
    assert ws.freeze_panes == "A2"
    lists = [dv for dv in ws.data_validations.dataValidation if dv.type == "list"]
    assert lists and all(s in lists[0].formula1 for s in STATUS_OPTIONS)
    assert ws["G2"].value.startswith("'=")
    # the office fills a status, leaves one blank and adds a row by hand
    header = [c.value for c in ws[1]]
    col = header.index("整改状态") + 1
    ws.cell(row=2, column=col, value="整改中")
    ws.append(["individual:9.9:M001", "个性问题", 99, "M001"] + [None] * (len(header) - 4))
    wb.save(tmp_path / "filled.xlsx")
    status = read_status(tmp_path / "filled.xlsx")
    assert list(status["整改状态"]) == ["整改中", "未填写", "未填写", "未填写"]


def test_review_accepts_rejects_rewords_merges_adds_and_reports_what_no_longer_matches(simulated_pipeline):
    ctx, _ = simulated_pipeline
    records = pd.read_parquet(ctx.stage_dir("findings") / "findings.parquet")
    ids = list(dict.fromkeys(records["id"]))
    assert len(ids) >= 3
    kind0, item0, unit0 = ids[0].split(":")
    kind1, item1, unit1 = ids[1].split(":")
    kind2, item2, unit2 = ids[2].split(":")
    review = FindingsReview.model_validate({"entries": [
        {"kind": kind0, "item": item0, "unit": unit0, "decision": "reword", "problem": "改写后的表述"},
        {"kind": kind1, "item": item1, "unit": unit1, "decision": "reject"},
        {"kind": kind2, "item": item2, "unit": unit2, "decision": "merge", "into": ids[0]},
        {"kind": "individual", "item": "15.1", "unit": "620105", "decision": "add", "source": "暗访",
         "problem": "公共法律服务站无人值守", "evidence": "两次暗访记录"},
        {"kind": "individual", "item": "1.1", "unit": "M999", "decision": "accept"},
    ]})  # fmt: skip
    out, warnings = apply_review(records, review, structure(ctx.config))
    assert set(out.loc[out["id"] == ids[0], "problem"]) == {"改写后的表述"}
    assert ids[1] not in set(out["id"]) and ids[2] not in set(out["id"])
    assert "individual:15.1:620105" in set(out["id"])
    assert [w["key"] for w in warnings] == ["individual:1.1:M999"]
    assert "findings_review.yaml" in warnings[0]["file"]


def test_a_mistyped_findings_key_names_the_file_and_key(tmp_path):
    shutil.copytree(CONFIG_DIR, tmp_path / "cfg")
    (tmp_path / "cfg" / "findings.yaml").write_text("fdr: 0.1\ncommon_shares: 0.3\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        from pipeline.config import load_config

        load_config(tmp_path / "cfg")
    assert "findings.yaml: common_shares" in str(err.value)
    assert FindingsRules().common_share == 0.30


def test_compare_rounds_reports_resolved_persisting_and_new(simulated_pipeline, tmp_path, capsys):
    ctx, _ = simulated_pipeline
    old = tmp_path / "old"
    shutil.copytree(ctx.stage_dir("findings"), old / "08_findings")
    records = pd.read_parquet(old / "08_findings" / "findings.parquet")
    gone = records["id"].iloc[0]
    new = tmp_path / "new"
    (new / "08_findings").mkdir(parents=True)
    records[records["id"] != gone].to_parquet(new / "08_findings" / "findings.parquet")
    code = main(["compare-rounds", str(new), str(old), "--out", str(tmp_path / "cmp"),
                 "--status", str(old / "08_findings" / "problem_list.xlsx")])  # fmt: skip
    assert code == 0
    changes = pd.read_parquet(tmp_path / "cmp" / "problems.parquet")
    assert set(changes.loc[changes["id"] == gone, "change"]) == {"新发现"}
    assert set(changes.loc[changes["id"] != gone, "change"]) == {"持续存在"}
    assert (tmp_path / "cmp" / "rounds.xlsx").exists()
    assert main(["compare-rounds", str(tmp_path / "nothing"), str(old), "--out", str(tmp_path / "x")]) == 2
    assert "findings" in capsys.readouterr().err


@settings(max_examples=60, deadline=None)
@given(
    m=st_.integers(1, 4),
    base=st_.floats(0.02, 0.3),
    p1=st_.floats(0.75, 0.95),
)
def test_failed_points_of_one_cell_count_as_evidence_but_less_than_independent_draws(m, base, p1):
    """The no-problem model of a cell's checkpoints is beta-binomial: more failures are more evidence of a
    problem (over the counts a cell has: up to four ratings, baselines up to 30 %), and all-failed is weaker
    evidence than the same failures read as independent draws."""
    k = np.arange(m + 1, dtype=float)
    llr = _checkpoint_llr(k, np.full(m + 1, float(m)), np.full(m + 1, base), p1)
    assert np.all(np.diff(llr) > 0)
    independent = m * np.log(p1 / base)
    assert llr[-1] <= independent + 1e-9


def test_rescaling_one_questionnaire_leaves_the_posteriors_unchanged(config):
    """Each questionnaire's gaps are read on their own robust scale: a questionnaire whose z are all ten times
    larger (bigger samples) carries the same evidence."""
    st, ev, ratings = _checkpoint_evidence(config, {"8.1": {"M010"}})
    rng = np.random.default_rng(3)
    survey = (
        ev[["unit", "item"]]
        .drop_duplicates()
        .assign(stream="public", kind="normal", m=np.nan, k=np.nan, p0=np.nan, points="", detail="", n=100.0)
    )
    survey["z"] = rng.normal(0, 1.5, len(survey)) - 4.0 * (
        survey["unit"].eq("M010") & survey["item"].eq("8.1")
    )
    both = pd.concat([ev, survey[COLUMNS]], ignore_index=True)
    scaled = both.assign(z=both["z"] * np.where(both["stream"] == "public", 10.0, 1.0))
    a = infer_states(both, config.findings, st, ratings).cells["posterior"].to_numpy()
    b = infer_states(scaled, config.findings, st, ratings).cells["posterior"].to_numpy()
    assert np.allclose(a, b, atol=1e-6)


def test_the_ordinal_cell_likelihood_matches_direct_integration():
    """The Gauss–Hermite marginal likelihood of a cell's ratings against scipy's adaptive quadrature."""
    from scipy import integrate, stats

    cuts = np.array([-1.8, -1.0, 0.2])
    counts = np.array([[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 2.0], [2.0, 0.0, 0.0, 1.0]])
    location, sd = np.array([0.4, 0.9, -0.3]), 0.6
    got = ordinal_cell_loglik(counts, location, cuts, sd)
    edges = np.concatenate([[-np.inf], cuts, [np.inf]])
    for c, mu, value in zip(counts, location, got, strict=True):

        def density(e, c=c, mu=mu):
            p = np.diff(stats.norm.cdf(edges - mu - sd * e))
            return float(np.prod(p**c) * stats.norm.pdf(e))

        assert value == pytest.approx(np.log(integrate.quad(density, -10, 10)[0]), abs=1e-6)


def test_without_a_problem_a_cells_ratings_move_together_along_the_scale():
    """The rating patterns of a two-point cell sum to one under the no-problem model, and a 未落实 comes with a
    部分落实 more often than independent ratings would, with a 完全落实 less often (the cell effect lowers both
    ratings together)."""
    cuts, location, sd = np.array([-1.5, -0.6, 0.5]), np.array([0.8]), 0.6
    p = {}
    for a in range(4):
        for b in range(a, 4):
            row = np.bincount([a, b], minlength=4).astype(float)[None, :]
            p[(a, b)] = float(np.exp(ordinal_cell_loglik(row, location, cuts, sd)[0])) * (1 if a == b else 2)
    assert sum(p.values()) == pytest.approx(1.0, abs=1e-9)
    one = np.exp(ordinal_cell_loglik(np.eye(4), np.repeat(location, 4), cuts, sd))
    assert p[(0, 1)] / (2 * one[0] * one[1]) > 1 > p[(0, 3)] / (2 * one[0] * one[3])


def test_the_ordinal_null_recovers_the_cell_effect_of_simulated_ratings():
    """Ratings drawn as cut(μ_u + 0.6·e + ε), two per cell: the fitted cell-effect SD is near 0.6."""
    rng = np.random.default_rng(5)
    n_units, per_unit = 60, 40
    unit_idx = np.repeat(np.arange(n_units), per_unit)
    latent = rng.normal(0, 0.8, n_units)[unit_idx] + 0.6 * rng.standard_normal(len(unit_idx))
    levels = np.searchsorted([-1.5, -0.6, 0.5], latent[:, None] + rng.standard_normal((len(unit_idx), 3)))
    counts = np.stack([(levels == j).sum(axis=1) for j in range(4)], axis=1).astype(float)
    _, sd = ordinal_null(counts, unit_idx, n_units, np.ones(len(counts)))
    assert 0.4 <= sd <= 0.8


def test_a_units_null_spread_of_survey_gaps_grows_with_its_sample():
    """Gaps / SE of units whose true item differences are the same spread more at larger samples: the fitted
    spread √(a + b·n) follows, where one spread per questionnaire would not."""
    rng = np.random.default_rng(2)
    rows = []
    for u in range(40):
        n = float(rng.integers(20, 600))
        for _ in range(12):
            rows.append((f"U{u}", n, rng.normal(0, np.sqrt(1 + 0.01 * n))))
    frame = pd.DataFrame(rows, columns=["unit", "n", "c"])
    spread = _unit_spread(frame["c"], pd.Series("staff", index=frame.index), frame["unit"], frame["n"])
    small, large = spread[frame["n"] < 100].mean(), spread[frame["n"] > 500].mean()
    assert large > 1.5 * small
    assert np.corrcoef(spread, np.sqrt(1 + 0.01 * frame["n"]))[0, 1] > 0.99
