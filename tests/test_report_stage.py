"""The report stage end to end: the Word and Excel appendix read back equal the tables they were built from,
every table names a stage table that exists, a missing stage is one line, and only what a change touches re-runs."""

from __future__ import annotations

import re
import shutil

import docx
import openpyxl
import pandas as pd
import pytest
import yaml
from conftest import CONFIG_DIR

from pipeline import paths
from pipeline.report.appendix import appendix
from pipeline.report.inputs import ReportInputs
from pipeline.report.xlsx_writer import HEADER_ROW
from pipeline.stages.report import DOCX, XLSX


@pytest.fixture(scope="module")
def report(simulated_pipeline):
    ctx, _ = simulated_pipeline
    folder = paths.stage_dir(ctx.out, "report")
    built = appendix(ReportInputs(ctx.out, ctx.config))
    return ctx, folder, built


def test_the_stage_writes_the_appendix_charts_and_unit_documents(report):
    _, folder, built = report
    assert (folder / DOCX).exists() and (folder / XLSX).exists()
    for figure in built.figures():
        assert (folder / "charts" / f"{figure.key}.png").exists()
        assert (folder / "charts" / f"{figure.key}.svg").exists()
    assert any(p.name.startswith("整改通知单_") for p in (folder / "units").iterdir())
    assert any(p.name.startswith("评分卡_") for p in (folder / "units").iterdir())
    assert {s.number for s in built.sections} == set(range(1, 10))
    assert all(s.missing is None for s in built.sections)
    assert all(s.tables() for s in built.sections)


def test_every_word_table_shows_the_appendix_table_as_formatted(report):
    _, folder, built = report
    document = docx.Document(str(folder / DOCX))
    tables = built.tables()
    assert len(document.tables) == len(tables)
    for word, table in zip(document.tables, tables, strict=True):
        cells = [[c.text for c in row.cells] for row in word.rows]
        assert cells[0] == [str(c) for c in table.frame.columns], table.key
        assert cells[1:] == table.shown_frame().values.tolist(), table.key


def test_every_sheet_holds_the_appendix_table_unrounded(report):
    _, folder, built = report
    book = openpyxl.load_workbook(folder / XLSX, read_only=True)
    contents = built.contents()
    for table in built.tables():
        sheet = contents.loc[contents["key"] == table.key, "sheet"].iloc[0]
        rows = list(book[sheet].iter_rows(min_row=HEADER_ROW + 1, values_only=True))
        assert list(rows[0][: table.frame.shape[1]]) == [str(c) for c in table.frame.columns]
        for i, expected in enumerate(table.frame.itertuples(index=False)):
            got = rows[1 + i][: table.frame.shape[1]]
            for value, want in zip(got, expected, strict=True):
                if want is None or (isinstance(want, float) and pd.isna(want)) or want is pd.NA:
                    assert value is None, table.key
                elif isinstance(want, str):
                    assert value in (want, "'" + want), table.key
                elif isinstance(want, bool):
                    assert value == ("是" if want else "否"), table.key
                else:
                    assert value == pytest.approx(float(want), rel=1e-12, abs=1e-12), table.key


def test_every_table_names_stage_tables_that_exist(report):
    ctx, folder, _ = report
    contents = pd.read_parquet(folder / "contents.parquet")
    assert len(contents) and contents["number"].is_unique
    for source in contents["source"]:
        for part in source.split("；"):
            setting = re.match(r"([a-z_]+\.yaml|_manifest\.json|_run_report\.json)", part.strip())
            if setting:  # a configuration file or the run's metadata
                assert (CONFIG_DIR / setting[1]).exists() or (ctx.out / setting[1]).exists(), source
                continue
            named = re.match(r"(\d\d_[a-z]+)/([A-Za-z0-9_.]+)", part.strip())
            assert named, source
            stage_folder, name = named.groups()
            assert stage_folder in paths.STAGE_FOLDERS.values(), source
            candidates = [ctx.out / stage_folder / f"{name}.parquet", ctx.out / stage_folder / name]
            assert any(p.exists() for p in candidates), source


def test_a_section_whose_stage_has_not_run_says_so_in_one_line(report, tmp_path):
    ctx, _, _ = report
    out = tmp_path / "output"
    shutil.copytree(ctx.out, out, ignore=shutil.ignore_patterns("09_report"))
    shutil.rmtree(out / paths.STAGE_FOLDERS["describe"])
    inputs = ReportInputs(out, ctx.config)
    built = appendix(inputs, charts=False)
    describe = next(s for s in built.sections if s.number == 4)
    assert describe.missing == inputs.missing_line("describe") and not describe.blocks


def test_editing_report_settings_reruns_only_the_stages_that_read_them(report, tmp_path):
    from pipeline.runner import run_stages
    from pipeline.stages.base import StageContext

    ctx, _, _ = report
    config_dir, out = tmp_path / "questionnaires", tmp_path / "output"
    shutil.copytree(CONFIG_DIR, config_dir)
    shutil.copytree(ctx.out, out)
    lines: list[str] = []

    def run():
        lines.clear()
        fresh = StageContext(raw=ctx.raw, out=out, config_dir=config_dir, seed=ctx.seed)
        return run_stages(fresh, echo=lines.append)

    (config_dir / "report.yaml").write_text("title: 改过的评估名称\n", encoding="utf-8")
    manifest = run()
    rerun = [name for name, stage in manifest["stages"].items() if not stage.get("reused")]
    assert rerun == ["report"]
    document = docx.Document(str(out / paths.STAGE_FOLDERS["report"] / DOCX))
    assert any("改过的评估名称" in p.text for p in document.paragraphs)

    suggestions = config_dir / "suggestions.yaml"
    text = suggestions.read_text(encoding="utf-8")
    templates = yaml.safe_load(text)["templates"]
    first = next(iter(templates.values()))["suggestion"].strip()
    suggestions.write_text(text.replace(first, first + "（评估组修订）", 1), encoding="utf-8")
    before = manifest["stages"]["findings"]["outputs"]
    manifest = run()
    rerun = [name for name, stage in manifest["stages"].items() if not stage.get("reused")]
    findings_changed = manifest["stages"]["findings"]["outputs"] != before
    assert rerun == (["findings", "report"] if findings_changed else ["findings"])


def test_a_chart_follows_the_table_it_illustrates_and_others_close_their_section():
    from types import SimpleNamespace

    from pipeline.report.appendix import place_charts
    from pipeline.report.blocks import Figure, Heading, Section, Table

    def table(key):
        return Table(key, key, pd.DataFrame({"a": [1]}), "02_clean/flow")

    section = Section(
        1,
        "调查概况",
        (Heading("样本"), table("overview.samples"), table("overview.flow.public"), Heading("x")),
    )
    flow = SimpleNamespace(figure=Figure("flow_public", "流程", "02_clean/flow"), section=1, after=None)
    other = SimpleNamespace(figure=Figure("something_new", "新图", "02_clean/flow"), section=1, after=None)
    named = SimpleNamespace(
        figure=Figure("named", "指定", "02_clean/flow"), section=1, after="overview.samples"
    )
    (placed,) = place_charts([section], [flow, other, named])
    keys = [getattr(b, "key", getattr(b, "text", None)) for b in placed.blocks]
    assert keys == [
        "样本",
        "overview.samples",
        "named",
        "overview.flow.public",
        "flow_public",
        "x",
        "something_new",
    ]
