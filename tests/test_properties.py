"""Property-based tests (hypothesis): the 问卷星 header matcher, the case-file score and the cleaning accounting
hold for any input of their kind, not only for the examples elsewhere in the suite."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import CONFIG_DIR
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from pipeline.clean.casefiles import casefile_scores
from pipeline.clean.responses import cleaned_responses
from pipeline.config import load_config
from pipeline.ingest import wjx
from pipeline.ingest.casefile_sheets import recompute_scores
from pipeline.ingest.codebook_match import match_export
from pipeline.ingest.excel import Sheet
from pipeline.ingest.surveys import empty_survey
from pipeline.ingest.text import normalize

CONFIG = load_config(CONFIG_DIR)
STANDARD = CONFIG.casefile
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --------------------------------------------------------------------------------------------------------------
# the 问卷星 header matcher

HALF_TO_FULL = dict(zip("(),:;?!", "（），：；？！", strict=True))
FULL_TO_HALF = {v: k for k, v in HALF_TO_FULL.items()}
SPACES = st.sampled_from([" ", "\u3000", "  ", "\u00a0"])
NUMBERINGS = ["{n}、", "{n}.", "{n}．", "{n}：", "{n}:", "第{n}题 ", "Q{n}.", "{n}、 "]


@st.composite
def retyped(draw, text: str) -> str:
    """``text`` as a person or another export may write it: punctuation switched between half and full width
    and stray spaces (ASCII, ideographic, no-break) put in anywhere."""
    out = []
    for ch in text:
        swap = HALF_TO_FULL.get(ch) or FULL_TO_HALF.get(ch)
        out.append(swap if swap and draw(st.booleans()) else ch)
    for _ in range(draw(st.integers(0, 3))):
        out.insert(draw(st.integers(0, len(out))), draw(SPACES))
    return "".join(out)


@st.composite
def export_headers(draw, codebook) -> dict[str, str]:
    """Item id → the header a 问卷星 export (按文本) gives it, every text retyped."""
    headers: dict[str, str] = {}
    for number, items in codebook.questions_by_number().items():
        if items[0].type == "matrix":
            for it in items:
                form = draw(st.sampled_from(["第{n}题({row})", "{n}({row})", "第{n}题（{row}）"]))
                headers[it.id] = form.format(n=number, row=draw(retyped(it.row_text)))
        else:
            numbering = draw(st.sampled_from(NUMBERINGS)).format(n=number)
            headers[items[0].id] = (
                numbering + draw(retyped(items[0].question_text)) + draw(st.sampled_from(["", " "]))
            )
    return headers


def _answer(item) -> str:
    return item.options[0].text if item.options else "无"


@pytest.mark.parametrize("instrument", ["public", "staff"])
@SETTINGS
@given(data=st.data())
def test_any_retyped_header_matches_its_item_exactly(instrument, data):
    codebook = CONFIG.codebook(instrument)
    headers = data.draw(export_headers(codebook))
    meta = list(wjx.META_COLUMNS)
    columns = meta + list(headers.values())
    row = [1, "2023/7/10 14:01:12", "252秒", "微信", "N/A", "61.178.218.252(甘肃-兰州)"]
    row += [_answer(it) for it in codebook.items if it.id in headers]
    sheet = Sheet(file=Path("386540716_按文本_测试.xlsx"), name="Sheet1", rows=[columns, row])
    export = wjx.export_from_sheet(sheet, guess_kinds=False)
    match = match_export(export, codebook)
    assert {i: ic.column for i, ic in match.items.items()} == headers
    assert match.similar == []  # equal after normalisation: never a guess by similarity


@given(
    number=st.integers(1, 999),
    option=st.text(
        st.sampled_from(list("法治建设动漫游戏其他请注明ABC12、·() ")), min_size=1, max_size=20
    ).filter(lambda s: s.strip() and "(" not in s.strip()[:1]),
    prefix=st.sampled_from(["第{n}题", "{n}", "Q{n}"]),
    full_width=st.booleans(),
)
def test_a_sub_column_label_runs_to_the_last_parenthesis(number, option, prefix, full_width):
    """``第N题(选项)``: the option may hold parentheses of its own (``ACG文化(动漫、游戏等)``)."""
    opening, closing = ("（", "）") if full_width else ("(", ")")
    header = wjx.parse_header(f"{prefix.format(n=number)}{opening}{option}{closing}")
    assert (header.kind, header.number) == ("sub", number)
    assert normalize(header.sub) == normalize(option)


# --------------------------------------------------------------------------------------------------------------
# the case-file score

VETOES = [v.code for v in STANDARD.vetoes]
DEFECTS = [d.code for c in STANDARD.categories for d in c.defects]


@st.composite
def review_sheets(draw, max_rows: int = 12) -> pd.DataFrame:
    """Reviewer rows with any veto marks (0/1) and any defect counts (0 to far beyond a category's cap)."""
    n = draw(st.integers(1, max_rows))
    vetoes = draw(hnp.arrays(np.int64, (n, len(VETOES)), elements=st.integers(0, 1)))
    counts = draw(
        hnp.arrays(np.int64, (n, len(DEFECTS)), elements=st.sampled_from([0, 0, 1, 2, 3, 7, 40, 200]))
    )
    return pd.concat([pd.DataFrame(vetoes, columns=VETOES), pd.DataFrame(counts, columns=DEFECTS)], axis=1)


@settings(max_examples=100, deadline=None)
@given(frame=review_sheets())
def test_a_reviewers_score_stays_in_range_and_a_veto_forces_the_veto_grade(frame):
    got = recompute_scores(frame, STANDARD)
    assert got["score"].between(0, STANDARD.total_points).all()
    vetoed = frame[VETOES].gt(0).any(axis=1)
    assert (got.loc[vetoed, "grade"] == STANDARD.veto_grade).all()
    assert STANDARD.veto_grade == "不合格"


@settings(max_examples=50, deadline=None)
@given(frame=review_sheets(max_rows=20), data=st.data())
def test_a_case_files_score_stays_in_range_and_a_majority_veto_forces_the_veto_grade(frame, data):
    n = len(frame)
    frame["case_id"] = [f"AJ-{k}" for k in data.draw(st.lists(st.integers(0, 5), min_size=n, max_size=n))]
    frame["unit"], frame["case_type"], frame["reviewer"] = "U01", STANDARD.case_types[0], "r"
    frame = frame.join(recompute_scores(frame, STANDARD))
    cases = casefile_scores(frame, STANDARD)
    assert cases["score"].between(0, STANDARD.total_points).all()
    assert cases["score_min"].le(cases["score"]).all() and cases["score"].le(cases["score_max"]).all()
    assert (cases.loc[cases["veto"], "grade"] == STANDARD.veto_grade).all()
    assert cases["n_reviewers"].sum() == n


# --------------------------------------------------------------------------------------------------------------
# the cleaning rules: every record is kept or excluded, once


def _values(rng: np.random.Generator, column: str, series: pd.Series, n: int, codes: dict[str, list[int]]):
    """Random values of one 01_ingest column, in its dtype: valid codes, skips (−3), invalid (−9), missing."""
    if column in codes:
        pool = codes[column] + [-3, -9]
        values = pd.array(rng.choice(pool, n), dtype="Int64")
        values[rng.random(n) < 0.1] = pd.NA
        return values
    if str(series.dtype) in ("Int64", "Int8"):
        values = pd.array(rng.choice([0, 1, 1, 2, -9], n), dtype="Int64")
        values[rng.random(n) < 0.1] = pd.NA
        return values
    if str(series.dtype) == "Float64":
        return pd.array(rng.choice([0.0, 3.0, 50.0, np.nan], n), dtype="Float64")
    if column == "submitted_at":
        start = pd.Timestamp("2023-07-10")
        return (start + pd.to_timedelta(rng.integers(0, 3 * 86400, n), unit="s")).astype("datetime64[ns]")
    if column == "duration_s":
        return rng.choice([5.0, 30.0, 120.0, 400.0, 5000.0, np.nan], n)
    choices = {
        "respondent": ["r1", "r2", "r3", "r4"],
        "ip_key": ["k1", "k2", "", "k3"],
        "ip_province": ["甘肃", "北京", "未知"],
        "ip_city": ["兰州", "北京", "未知"],
        "mode": ["text", "code", "paper"],
        "channel": ["微信", "链接", "纸质问卷"],
    }.get(column, ["", "无", None])
    return pd.Series(rng.choice(np.array(choices, dtype=object), n), dtype=object).to_numpy()


def random_ingest_table(codebook, n: int, seed: int) -> pd.DataFrame:
    """An 01_ingest response table of ``n`` records whose every cell is drawn at random (in its column's type)."""
    rng = np.random.default_rng(seed)
    empty = empty_survey(codebook)
    codes = {it.id: sorted(it.valid_codes) for it in codebook.items if it.type in ("single", "matrix")}
    files = rng.choice(["a.xlsx", "b.csv", "纸质问卷录入.xlsx"], n)
    rows = np.arange(2, n + 2)
    frame = pd.DataFrame(
        {
            "record_id": [f"{f}:{r}" for f, r in zip(files, rows, strict=True)],
            "source_file": files,
            "source_sheet": "",
            "source_row": rows.astype(np.int64),
        }
    )
    for column in empty.columns[4:]:
        frame[column] = _values(rng, column, empty[column], n, codes)
    return frame


@pytest.mark.parametrize("instrument", ["public", "staff"])
@settings(max_examples=25, deadline=None)
@given(n=st.integers(0, 60), seed=st.integers(0, 2**32 - 1))
def test_every_generated_record_is_kept_or_excluded_once(instrument, n, seed):
    codebook = CONFIG.codebook(instrument)
    frame = random_ingest_table(codebook, n, seed)
    result = cleaned_responses(frame.copy(), codebook, CONFIG.units, CONFIG.cleaning)
    kept, excluded = set(result.kept["record_id"]), set(result.exclusions["record_id"])
    assert len(result.kept) + len(result.exclusions) == n
    assert kept.isdisjoint(excluded) and kept | excluded == set(frame["record_id"])
    flow = result.flow.set_index("rule")
    assert flow.at["raw", "n_after"] == n
    assert flow.at["valid", "n_after"] == len(result.kept) == n - flow["n_excluded"].sum()
