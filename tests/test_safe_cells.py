"""Spreadsheets written by fazhi-eval never run what respondents typed: texts a spreadsheet would take for a
formula get a leading quote when written (pipeline.safe_cells), while the stage tables keep every answer as typed
(a leading tab is not stripped into a formula)."""

from __future__ import annotations

import csv
import io
import shutil

import openpyxl
import pandas as pd
import pytest
from conftest import CONFIG_DIR
from hypothesis import given
from hypothesis import strategies as st
from test_config import edit

from pipeline import safe_cells
from pipeline.cli import main
from pipeline.config import load_config
from pipeline.ingest.templates import KINDS, write_template
from pipeline.stages import ingest
from pipeline.stages.base import StageContext, run_stage

HOSTILE = ['=HYPERLINK("http://example.com","点此领奖")', "+1+1", "-2+3", "@SUM(A1)", "\t=2+3", "\r=1"]


@given(st.text())
def test_a_neutralised_text_never_starts_a_formula_and_keeps_every_character(text):
    safe = safe_cells.neutralise(text)
    assert not safe_cells.is_dangerous(safe)
    assert safe in (text, "'" + text)
    assert (safe != text) == (text[:1] in safe_cells.TRIGGERS)
    assert safe_cells.neutralise(safe) == safe


@pytest.mark.parametrize(
    "value", [-2, 3.5, None, True, pd.Timestamp("2023-07-12"), "普通意见", "'=已转义", " =1"]
)
def test_numbers_dates_and_ordinary_texts_are_left_alone(value):
    assert safe_cells.neutralise(value) is value


def _cells_of_csv(path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"), newline="")))


def _xlsx_cells(path):
    wb = openpyxl.load_workbook(path)
    return [cell for ws in wb.worksheets for row in ws.iter_rows() for cell in row]


def test_csv_and_xlsx_written_through_safe_cells_hold_no_formula(tmp_path):
    frame = pd.DataFrame({"text": HOSTILE, "n": range(-3, 3), "+header": pd.Categorical(["@x", "ok"] * 3)})
    rows = _cells_of_csv(safe_cells.write_csv(frame, tmp_path / "t.csv"))
    assert rows[0] == ["text", "n", "'+header"]
    assert [r[0] for r in rows[1:]] == ["'" + t for t in HOSTILE]  # the CR stays inside its quoted cell
    assert [r[1] for r in rows[1:]] == [str(n) for n in range(-3, 3)]  # negative numbers are numbers
    cells = _xlsx_cells(safe_cells.write_xlsx({"表": frame}, tmp_path / "t.xlsx"))
    assert not [c.coordinate for c in cells if c.data_type == "f" or safe_cells.is_dangerous(c.value)]
    texts = {c.value for c in cells if isinstance(c.value, str)}
    assert {"'" + t for t in HOSTILE} <= texts and "'+header" in texts
    assert frame["text"].tolist() == HOSTILE  # the caller's frame is not changed


@pytest.mark.parametrize("kind", KINDS)
def test_templates_built_from_a_hostile_configuration_hold_no_formula(tmp_path, kind):
    cfg = tmp_path / "questionnaires"
    shutil.copytree(CONFIG_DIR, cfg)

    def hostile_texts(data):
        for q in data["questions"]:
            if q.get("id") == "P28":
                q["text"] = '=HYPERLINK("http://example.com","意见")'

    def hostile_unit(data):
        data["units"][-1]["name"] = "@SUM(A1)单位"

    edit(cfg, "public.yaml", hostile_texts)
    edit(cfg, "units.yaml", hostile_unit)
    cells = _xlsx_cells(write_template(load_config(cfg), kind, tmp_path / f"{kind}.xlsx"))
    assert not [c.coordinate for c in cells if c.data_type == "f" or safe_cells.is_dangerous(c.value)]
    if kind == "public":
        assert '\'=HYPERLINK("http://example.com","意见")' in {c.value for c in cells}


def _put_text(path, header_match, texts) -> list[int]:
    """Write ``texts`` as plain text cells into the column whose header contains ``header_match``, from row 2;
    return the rows written."""
    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[0]
    (col,) = [c.column for c in ws[1] if isinstance(c.value, str) and header_match(c.value)]
    rows = list(range(2, 2 + len(texts)))
    for r, text in zip(rows, texts, strict=True):
        cell = ws.cell(row=r, column=col)
        cell.value = text
        cell.data_type = "s"  # the typist's text, not a formula
    wb.save(path)
    return rows


def test_hostile_free_text_answers_are_kept_as_typed_and_neutralised_when_written(tmp_path, config):
    from pipeline.simulate import simulate_raw

    raw, out = tmp_path / "raw", tmp_path / "out"
    simulate_raw(config, raw, seed=5, scale=0.1)
    (export,) = [p for p in (raw / "public").iterdir() if "按文本" in p.name]
    (paper,) = [p for p in (raw / "public").iterdir() if "纸质" in p.name]
    export_rows = _put_text(export, lambda h: "意见建议" in h, HOSTILE)
    paper_rows = _put_text(paper, lambda h: h == "P28", HOSTILE)
    io = ["--raw", str(raw), "--out", str(out), "--config", str(CONFIG_DIR)]
    assert main(["run", "--only", "ingest", "clean", *io]) == 0
    table = pd.read_parquet(out / "01_ingest" / "public.parquet")
    for path, rows in ((export, export_rows), (paper, paper_rows)):
        mine = table[table["source_file"] == path.name].set_index("source_row")
        assert mine.loc[rows, "P28"].tolist() == HOSTILE, path.name  # "\t=2+3" is not "=2+3"
    kept = pd.read_parquet(out / "02_clean" / "public.parquet").set_index("record_id")["P28"]
    sent = table.set_index("record_id")["P28"]
    survived = kept.index[kept.index.isin(sent[sent.isin(HOSTILE)].index)]
    assert len(survived) and (kept[survived] == sent[survived]).all()  # clean masks again, changes nothing

    hostile = table[table["P28"].isin(HOSTILE)][["record_id", "P28"]]
    cells = _xlsx_cells(safe_cells.write_xlsx({"意见": hostile}, tmp_path / "意见.xlsx"))
    assert not [c.coordinate for c in cells if c.data_type == "f" or safe_cells.is_dangerous(c.value)]
    rows = _cells_of_csv(safe_cells.write_csv(hostile, tmp_path / "意见.csv"))
    assert sorted(r[1] for r in rows[1:]) == sorted("'" + t for t in hostile["P28"])


def test_a_stage_run_directly_keeps_a_leading_tab_of_a_paper_answer(tmp_path, config):
    from pipeline.simulate import simulate_raw

    raw = tmp_path / "raw"
    simulate_raw(config, raw, seed=6, scale=0.1)
    (paper,) = [p for p in (raw / "public").iterdir() if "纸质" in p.name]
    _put_text(paper, lambda h: h == "P27_other_text", ["\t=2+3"])
    ctx = StageContext(raw=raw, out=tmp_path / "out", config_dir=CONFIG_DIR)
    run_stage(ingest, ctx)
    table = ctx.read_table("ingest", "public")
    row = table[(table["source_file"] == paper.name) & (table["source_row"] == 2)]
    assert row["P27_other_text"].tolist() == ["\t=2+3"]
