"""06_describe on the two real 问卷星 exports: a drafted codebook, the text-mode export run through every stage
unweighted, and the multiple-choice table of 第6题 and 第8题 against counts taken directly from the 0/1 columns of
the code-mode export (the same 800 responses, the records clean kept)."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
from test_wjx import CODE_XLS, TEXT_XLS, needs_samples

from pipeline.cli import main
from pipeline.config import load_config

pytestmark = needs_samples


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """The draft, the person's edits (the age option nobody chose; unweighted, by gender) and a run."""
    tmp = tmp_path_factory.mktemp("wjx-describe")
    config_dir, raw, out = tmp / "cfg", tmp / "raw", tmp / "out"
    assert main(["codebook", "draft", str(TEXT_XLS), str(CODE_XLS), "--out", str(config_dir)]) == 0
    path = config_dir / "public.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("- {code: 2, text: 16~19岁}", "- {code: 1, text: 15岁及以下}\n      - {code: 2, text: 16~19岁}"), encoding="utf-8")  # fmt: skip
    (config_dir / "analysis.yaml").write_text(
        "public:\n  weighting: none\n  groupings: [gender]\n", encoding="utf-8"
    )
    (raw / "public").mkdir(parents=True)
    shutil.copy(TEXT_XLS, raw / "public")
    assert main(["run", "--config", str(config_dir), "--raw", str(raw), "--out", str(out)]) == 0
    cleaned = pd.read_parquet(out / "02_clean" / "public.parquet")
    gender = next(q for q in load_config(config_dir).public.questions if q.variable == "gender")
    labels = {o.code: o.text for o in gender.options}
    cleaned = pd.DataFrame({"source_row": cleaned["source_row"], "gender": cleaned[gender.id].map(labels)})
    code_mode = pd.read_excel(CODE_XLS, engine="calamine")
    kept = code_mode.iloc[cleaned["source_row"].to_numpy() - 2].reset_index(drop=True)  # row 1 is the header
    return pd.read_parquet(out / "06_describe" / "multiple.parquet"), kept, cleaned


def _direct(kept: pd.DataFrame, number: int) -> pd.DataFrame:
    """Per option of question ``number``: respondents choosing it, case % and response %, from the 0/1 columns."""
    columns = [c for c in kept.columns if str(c).startswith(f"第{number}题(")]
    picks = kept[columns].apply(pd.to_numeric, errors="coerce")
    answered = picks.notna().any(axis=1)
    chosen = picks[answered].fillna(0).eq(1)
    counts = chosen.sum()
    return pd.DataFrame(
        {
            "label": [c[len(f"第{number}题(") : -1] for c in columns],
            "n": counts.to_numpy(),
            "case": 100 * counts.to_numpy() / answered.sum(),
            "response": 100 * counts.to_numpy() / counts.sum(),
            "answered": int(answered.sum()),
            "mean_chosen": chosen.sum(axis=1).mean(),
        }
    )


@pytest.mark.parametrize("number", [6, 8])
def test_case_and_response_percent_equal_the_code_mode_columns(run, number):
    table, kept, _ = run
    mine = table[(table["number"] == number) & (table["by"] == "") & (table["kind"] == "option")]
    want = _direct(kept, number)
    assert len(mine) == len(want) > 5
    # options in questionnaire order, labelled as the export's column headers (parentheses inside kept)
    assert mine["option_label"].tolist() == want["label"].tolist()
    assert mine["n"].tolist() == want["n"].tolist()
    np.testing.assert_allclose(mine["percent"], want["case"], rtol=1e-12)
    np.testing.assert_allclose(mine["response_percent"], want["response"], rtol=1e-12)
    assert mine["n_valid"].eq(want["answered"].iloc[0]).all()
    assert mine["mean_chosen"].iloc[0] == pytest.approx(want["mean_chosen"].iloc[0], rel=1e-12)
    assert not mine["weighted"].any()
    assert (mine["ci_low"] <= mine["percent"]).all() and (mine["percent"] <= mine["ci_high"]).all()


@pytest.mark.parametrize("number", [6, 8])
def test_the_number_chosen_is_distributed_over_the_answered(run, number):
    table, kept, _ = run
    rows = table[(table["number"] == number) & (table["by"] == "") & (table["kind"] == "n_chosen")]
    columns = [c for c in kept.columns if str(c).startswith(f"第{number}题(")]
    picks = kept[columns].apply(pd.to_numeric, errors="coerce")
    chosen = picks[picks.notna().any(axis=1)].fillna(0).eq(1).sum(axis=1)
    counts = chosen.value_counts()
    got = rows.set_index("option_code")["n"]
    assert all(got.get(k, 0) == counts.get(k, 0) for k in range(len(columns) + 1))
    assert rows["percent"].sum() == pytest.approx(100.0)


def test_multiple_choice_by_gender_adds_up_to_the_whole_sample(run):
    table, kept, cleaned = run
    mine = table[(table["number"] == 6) & (table["kind"] == "option")]
    by_gender = mine[mine["by"] == "gender"]
    assert set(by_gender["group"]) == set(cleaned["gender"].dropna().astype(str))
    overall = mine[mine["by"] == ""].set_index("option_code")["n"]
    summed = by_gender.groupby("option_code")["n"].sum()
    assert (summed.reindex(overall.index) == overall).all()
    # each gender's case % from its own rows of the code-mode export
    for gender, rows in by_gender.groupby("group"):
        want = _direct(kept[cleaned["gender"].astype(str).eq(gender).to_numpy()], 6)
        np.testing.assert_allclose(rows["percent"], want["case"], rtol=1e-12)
