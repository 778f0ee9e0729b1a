"""The clean stage end to end: accounting per source, privacy, outputs of the shipped configuration, and (when
ingest and the simulator are present) simulate → ingest → clean catching every planted problem."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import CONFIG_DIR
from test_clean_rules import LIKERT, PUBLIC_CB, UNITS, public_frame

from pipeline.clean.items import SKIPPED, option_columns
from pipeline.clean.responses import check_accounting, cleaned_responses
from pipeline.config.cleaning import CleaningRules
from pipeline.config.codebook import Codebook
from pipeline.errors import DataError
from pipeline.ingest.privacy import MASKS
from pipeline.ingest.surveys import empty_survey
from pipeline.stages import clean
from pipeline.stages.base import StageContext, run_stage


def has_personal_data(frame: pd.DataFrame, skip: tuple[str, ...] = ()) -> list[str]:
    """Columns of ``frame`` holding text that one of the privacy patterns matches."""
    found = []
    for col in frame.columns:
        if col in skip or not (frame[col].dtype == object or pd.api.types.is_string_dtype(frame[col])):
            continue
        text = frame[col].dropna().astype(str)
        if any(text.str.contains(p).any() for p, _ in MASKS):
            found.append(col)
    return found


# ------------------------------------------------------------------------------------------------- one instrument


def test_kept_plus_excluded_equals_raw_for_every_source_file():
    frame = public_frame(8, duration_s=[20.0, 300, 300, 300, 300, 300, 300, 300], AC=[4, 4, 1, 4, 4, 4, 4, 4])
    frame.loc[4:, "source_file"] = "paper.xlsx"
    frame.loc[5, "respondent"] = frame.loc[4, "respondent"]
    res = cleaned_responses(frame, PUBLIC_CB, UNITS, CleaningRules())
    assert len(res.kept) == 5 and len(res.exclusions) == 3
    assert res.exclusions.groupby("source_file").size().to_dict() == {"paper.xlsx": 1, "pub.xlsx": 2}
    assert res.flow["n_after"].iloc[-1] == 5


def test_accounting_mismatch_raises_naming_the_source_file():
    frame = public_frame(3)
    res = cleaned_responses(frame, PUBLIC_CB, UNITS, CleaningRules())
    with pytest.raises(DataError, match="pub.xlsx"):
        check_accounting(frame, res.kept.iloc[:2], res.exclusions, "public")


def test_ip_key_is_dropped_and_free_text_is_masked():
    frame = public_frame(2, T=["电话13912345678，邮箱a@b.cn", None])
    res = cleaned_responses(frame, PUBLIC_CB, UNITS, CleaningRules())
    assert "ip_key" not in res.kept.columns
    assert res.kept.loc[0, "T"] == "电话[电话]，邮箱[邮箱]"
    assert has_personal_data(res.kept, skip=("respondent", "record_id")) == []


def test_kept_records_carry_flags_and_derived_variables():
    frame = public_frame(3, ip_province=["甘肃", "北京", "甘肃"])
    kept = cleaned_responses(frame, PUBLIC_CB, UNITS, CleaningRules()).kept
    assert kept["flag_outside_province"].tolist() == [False, True, False]
    expected = {"district", "district_name", "gender", "A", "B", "I01_score", "satisfied_I01", "aware_I01"}
    assert expected <= set(kept.columns)
    assert isinstance(kept["gender"].dtype, pd.CategoricalDtype)


def test_missing_ingest_column_is_named():
    frame = public_frame(2).drop(columns=["I05"])
    with pytest.raises(DataError, match="I05"):
        cleaned_responses(frame, PUBLIC_CB, UNITS, CleaningRules())


def test_empty_table_gives_empty_outputs():
    res = cleaned_responses(public_frame(0), PUBLIC_CB, UNITS, CleaningRules())
    assert res.kept.empty and res.exclusions.empty
    assert res.flow["n_after"].tolist()[-1] == 0
    assert LIKERT[0] in res.kept.columns


# ------------------------------------------------------------------------------------------------- shipped config


def ingest_like(codebook: Codebook, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """``n`` plausible records in 01_ingest shape for a shipped questionnaire (SD block hidden for staff)."""
    data: dict[str, object] = {
        "record_id": [f"{codebook.instrument}:{i + 2}" for i in range(n)],
        "source_file": [f"{codebook.instrument}.xlsx"] * n,
        "source_sheet": [""] * n,
        "source_row": np.arange(2, n + 2),
        "respondent": [f"{codebook.instrument}{i:05d}" for i in range(n)],
        "submitted_at": pd.Timestamp("2024-05-01") + pd.to_timedelta(np.arange(n), unit="h"),
        "duration_s": rng.uniform(200, 900, n),
        "channel": ["微信"] * n,
        "channel_detail": ["直接访问"] * n,
        "ip_key": [f"k{i}" for i in range(n)],
        "ip_province": ["甘肃"] * n,
        "ip_city": ["兰州"] * n,
        "mode": ["code"] * n,
    }
    q = codebook.questionnaire
    hidden = codebook.skipped_item_ids()
    for it in codebook.items:
        if it.type == "multiple":
            for k, col in enumerate(option_columns(it)):
                data[col] = pd.array([1 if k == 0 else 0] * n, dtype="Int64")
        elif it.type in ("text", "number"):
            data[it.id] = ["请回电 13912345678"] + [None] * (n - 1)
        elif it.id in hidden:
            data[it.id] = pd.array([SKIPPED] * n, dtype="Int64")
        else:
            subs = list(it.substantive_codes)
            data[it.id] = pd.array(rng.choice(subs, n), dtype="Int64")
    if q.attention_check:
        data[q.attention_check.item] = pd.array(
            [SKIPPED if q.attention_check.item in hidden else q.attention_check.pass_code] * n, dtype="Int64"
        )
    for rule in q.skip_logic:  # answer every condition so that the block stays hidden
        for cond in rule.show_if_any:
            item = codebook.item(cond.item)
            other = next(c for c in item.substantive_codes if c not in cond.in_)
            data[cond.item] = pd.array([other] * n, dtype="Int64")
    for col in empty_survey(codebook).columns:  # every other contract column (e.g. "other" texts), unanswered
        data.setdefault(col, [None] * n)
    return pd.DataFrame(data)


@pytest.fixture(scope="module")
def shipped_run(tmp_path_factory):
    from pipeline.config import load_config

    config = load_config(CONFIG_DIR)
    out = tmp_path_factory.mktemp("out")
    ingest = out / "01_ingest"
    ingest.mkdir()
    rng = np.random.default_rng(7)
    frames = {}
    for instrument in ("public", "staff"):
        frames[instrument] = ingest_like(config.codebook(instrument), 40, rng)
        frames[instrument].to_parquet(ingest / f"{instrument}.parquet", index=False)
    pub = frames["public"]
    pub.loc[3, "duration_s"] = 10.0  # a speeder
    pub.loc[5, config.public.attention_check.item] = 1  # fails AC1
    pub.to_parquet(ingest / "public.parquet", index=False)
    ctx = StageContext(raw=out / "raw", out=out, config_dir=CONFIG_DIR)
    summary = run_stage(clean, ctx)
    return out / "02_clean", summary, frames


def test_stage_writes_contract_tables_for_the_shipped_config(shipped_run):
    folder, summary, frames = shipped_run
    assert {p.name for p in folder.iterdir()} >= {
        "public.parquet",
        "staff.parquet",
        "exclusions.parquet",
        "flow.parquet",
    }
    ex = pd.read_parquet(folder / "exclusions.parquet")
    assert sorted(ex["rule"]) == ["attention", "speeder"]
    assert summary["public"] == {
        "raw": 40,
        "kept": 38,
        "excluded": 2,
        "by_rule": {"speeder": 1, "attention": 1},
        "flagged": {"flag_ip_burst": 0, "flag_outside_province": 0},
    }
    assert summary["staff"]["kept"] == 40
    staff = pd.read_parquet(folder / "staff.parquet")
    assert {"unit", "unit_type", "quiz_score", "SA", "SD"} <= set(staff.columns)
    assert staff["SD"].isna().all()  # the hidden block has no scale score
    public = pd.read_parquet(folder / "public.parquet")
    assert {"district", "district_name", "PG", "P25_score", "satisfied_P01", "aware_P01"} <= set(
        public.columns
    )


def test_stage_outputs_hold_no_ip_or_phone(shipped_run):
    folder, _, _ = shipped_run
    for path in folder.glob("*.parquet"):
        frame = pd.read_parquet(path)
        assert "ip_key" not in frame.columns
        assert has_personal_data(frame, skip=("respondent", "record_id")) == [], path.name


# ------------------------------------------------------------------------------------------------- simulate → ingest → clean

HAVE_INGEST = importlib.util.find_spec("pipeline.stages.ingest") is not None


def online_record_ids(raw: Path, instrument: str, serials) -> set[str]:
    """record_id of the 问卷星 export rows with these 序号 (rows are written in 序号 order under one header row)."""
    (export,) = [p for p in (raw / instrument).iterdir() if "_按" in p.name]
    return {f"{export.stem}:{int(s) + 1}" for s in serials}


@pytest.fixture(scope="module")
def simulated_run(tmp_path_factory):
    if not HAVE_INGEST:
        pytest.skip("ingest stage not written yet")
    from pipeline.config import load_config
    from pipeline.runner import run_stages
    from pipeline.simulate import simulate_raw

    base = tmp_path_factory.mktemp("sim")
    config = load_config(CONFIG_DIR)
    simulate_raw(config, base / "raw", seed=20231, scale=0.1)
    ctx = StageContext(raw=base / "raw", out=base / "output", config_dir=CONFIG_DIR)
    run_stages(ctx, ["ingest", "clean"], echo=lambda *_: None)
    truth = json.loads((base / "raw" / "truth.json").read_text(encoding="utf-8"))
    return base, truth


def test_simulated_raw_equals_kept_plus_excluded_per_source(simulated_run):
    base, _ = simulated_run
    folder = base / "output" / "02_clean"
    ex = pd.read_parquet(folder / "exclusions.parquet")
    for instrument in ("public", "staff"):
        raw = pd.read_parquet(base / "output" / "01_ingest" / f"{instrument}.parquet")
        kept = pd.read_parquet(folder / f"{instrument}.parquet")
        mine = ex[ex["instrument"] == instrument]
        n_raw = raw.groupby("source_file").size()
        n_out = kept.groupby("source_file").size().add(mine.groupby("source_file").size(), fill_value=0)
        assert n_raw.to_dict() == n_out.astype(int).to_dict()


@pytest.mark.parametrize("instrument", ["public", "staff"])
def test_simulated_planted_problems_are_all_caught(simulated_run, instrument):
    base, truth = simulated_run
    t = truth[instrument]
    raw = base / "raw"
    ex = pd.read_parquet(base / "output" / "02_clean" / "exclusions.parquet")
    ex = ex[ex["instrument"] == instrument].set_index("record_id")
    failed = ex["detail"]  # every rule a record failed is named in its detail

    def caught(serials, rule):
        ids = online_record_ids(raw, instrument, serials)
        missed = sorted(i for i in ids if i not in ex.index or f"{rule}:" not in failed[i])
        assert not missed, f"{instrument} {rule}: not caught {missed}"

    caught(t["speeders"], "speeder")
    caught(t["straight_liners"], "straightline")
    caught(t["attention_fail_any"], "attention")
    caught([d["序号"] for d in t["duplicates"]], "duplicate")
    if instrument == "staff":
        caught(t["skip_violations"], "skip_logic")
    typos = [m["序号"] for m in t.get("malformed_cells_text_mode", []) if m["kind"] == "typo"]
    caught(typos, "invalid_code")
    originals = online_record_ids(raw, instrument, [d["duplicate_of"] for d in t["duplicates"]])
    assert not any("duplicate:" in failed.get(i, "") for i in originals)  # the first submission is kept


def test_simulated_outside_province_is_flagged_not_excluded(simulated_run):
    base, truth = simulated_run
    kept = pd.read_parquet(base / "output" / "02_clean" / "public.parquet")
    ex = pd.read_parquet(base / "output" / "02_clean" / "exclusions.parquet")
    assert "outside_province" not in set(ex["rule"])
    n_flagged = kept["flag_outside_province"].sum() + ex["detail"].str.contains("outside_province:").sum()
    assert n_flagged == truth["public"]["outside_gansu"]


def test_simulated_outputs_hold_no_phone_id_or_ip(simulated_run):
    base, _ = simulated_run
    for path in (base / "output" / "02_clean").glob("*.parquet"):
        frame = pd.read_parquet(path)
        assert not {"ip", "ip_key"} & set(frame.columns)
        assert has_personal_data(frame, skip=("respondent", "record_id", "reviewer")) == [], path.name


def test_simulated_casefiles_one_row_per_file(simulated_run):
    base, truth = simulated_run
    cases = pd.read_parquet(base / "output" / "02_clean" / "casefiles.parquet")
    assert len(cases) == truth["casefiles"]["n_files"] == cases["case_id"].nunique()
    assert (cases["n_reviewers"] >= 2).sum() == truth["casefiles"]["double_scored"]
    assert set(truth["casefiles"]["veto_files"]) <= set(cases.loc[cases["veto"], "case_id"])
    reviews = pd.read_parquet(base / "output" / "02_clean" / "casefile_reviews.parquet")
    single = cases[cases["n_reviewers"] == 1].merge(reviews[["case_id", "grade"]], on="case_id")
    assert (single["grade_x"] == single["grade_y"]).all()  # same grading rule as ingest's recompute_scores
