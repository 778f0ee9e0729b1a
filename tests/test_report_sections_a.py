"""Sections 1–5 of the statistics appendix, built from the simulated pipeline's stage tables."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from pipeline import paths
from pipeline.report.blocks import SMALL_MARK, SUPPRESSED, Section
from pipeline.report.inputs import ReportInputs
from pipeline.report.sections import describe, differences, overview, reliability, sampling
from pipeline.report.sections._common import MARK_COLUMN

MODULES = (overview, sampling, reliability, describe, differences)


@pytest.fixture(scope="module")
def built(simulated_pipeline):
    ctx, _ = simulated_pipeline
    inputs = ReportInputs(ctx.out, ctx.config)
    return inputs, {m.NUMBER: m.section(inputs) for m in MODULES}


def _table(section: Section, key: str):
    hits = [t for t in section.tables() if t.key == key]
    assert hits, f"no table {key}"
    return hits[0]


def test_each_section_builds_with_its_number_title_and_sourced_tables(built):
    inputs, sections = built
    for module in MODULES:
        section = sections[module.NUMBER]
        assert (section.number, section.title, section.missing) == (module.NUMBER, module.TITLE, None)
        assert section.tables(), module.__name__
        for table in section.tables():
            assert table.source, table.key
            assert table.notes, table.key
            assert table.landscape or len(table.frame.columns) <= 7, table.key
            table.shown_frame()  # every cell prints under its format
    keys = [t.key for s in sections.values() for t in s.tables()]
    assert len(keys) == len(set(keys))


def test_the_flow_counts_add_up_from_raw_to_valid(built):
    inputs, sections = built
    flow = inputs.table("clean", "flow")
    samples = _table(sections[1], "overview.samples").frame
    for row in samples.itertuples():
        assert row.原始记录 - row.剔除 == row.有效样本
    for instrument, part in flow.groupby("instrument"):
        table = _table(sections[1], f"overview.flow.{instrument}").frame
        assert table["剔除"].sum() == part["n_excluded"].sum()
        assert table["处理后"].iloc[-1] == part.loc[part["rule"] == "valid", "n_after"].iloc[0]
        assert table["处理前"].iloc[0] - table["剔除"].sum() == table["处理后"].iloc[-1]


def test_a_frequency_table_shows_the_stage_weighted_share_and_counts(built):
    inputs, sections = built
    freq = inputs.table("describe", "frequencies")
    overall = freq[(freq["instrument"] == "public") & (freq["by"] == "") & freq["weighted"].astype(bool)]
    item = str(overall.loc[~overall["missing_option"].astype(bool), "item"].iloc[-1])
    table = _table(sections[4], f"describe.freq.{item}")
    rows = overall[(overall["item"] == item) & ~overall["missing_option"].astype(bool)]
    frame = table.frame.set_index("选项")
    for r in rows.itertuples():
        assert frame.loc[r.option_label, "有效百分比"] == r.percent / 100
        assert frame.loc[r.option_label, "频数"] == r.n
    assert frame.loc["有效回答合计", "频数"] == rows["n_valid"].iloc[0]
    assert "为加权百分比（总体估计）；频数为未加权样本数。" in " ".join(table.notes)
    assert frame.loc["总计", "百分比"] == 1.0


def test_the_frequency_tables_follow_the_questionnaire_order(built):
    inputs, sections = built
    codebook = inputs.config.codebook("public")
    freq_items = [t.key.split(".")[-1] for t in sections[4].tables() if t.key.startswith("describe.freq.")]
    public = [i for i in freq_items if i in codebook]
    order = [it.id for it in codebook.items if it.id in set(public)]
    assert public == order


def test_suppressed_groups_hold_the_suppressed_mark_and_small_ones_are_marked(built):
    inputs, sections = built
    scales = inputs.table("describe", "scales")
    district = scales[
        (scales["by"] == "district") & (scales["kind"] != "item") & (scales["statistic"] == "mean")
    ]
    suppressed = district[district["flag"] == "suppressed"]
    assert len(suppressed), "the simulated sample should have a suppressed district"
    row = suppressed.iloc[0]
    table = _table(sections[4], f"describe.scales.{row['instrument']}.{row['variable']}.district")
    frame = table.frame.set_index("县区")
    name = inputs.config.units.units[[u.code for u in inputs.config.units.units].index(row["group"])].name
    assert frame.loc[name, "满意度指数"] == SUPPRESSED
    assert any(note.startswith(SUPPRESSED) for note in table.notes)
    small = district[(district["flag"] == "small") & (district["variable"] == row["variable"])]
    for group in small["group"][small["instrument"] == row["instrument"]]:
        label = next(u.name for u in inputs.config.units.units if u.code == group)
        assert frame.loc[label, MARK_COLUMN] == SMALL_MARK


def test_significant_differences_are_the_stage_rows_with_holm_p_below_alpha(built):
    inputs, sections = built
    comparisons = inputs.table("compare", "comparisons")
    public = comparisons[
        (comparisons["instrument"] == "public")
        & comparisons["weighted"].astype(bool)
        & comparisons["test"].isin(differences.OMNIBUS)
        & (comparisons["p_holm"] < differences.ALPHA)
    ]
    table = _table(sections[5], "differences.omnibus.public")
    assert len(table.frame) == len(public)
    assert table.frame["统计量"].tolist() == public["statistic"].tolist()
    assert all(mark for mark in table.frame["显著性"])


def test_a_section_whose_stage_has_not_run_says_so_in_one_line(simulated_pipeline, tmp_path):
    ctx, _ = simulated_pipeline
    out = tmp_path / "output"
    shutil.copytree(ctx.out, out)
    for module, stage in ((reliability, "reliability"), (describe, "describe"), (sampling, "weight")):
        shutil.rmtree(paths.stage_dir(out, stage))
        section = module.section(ReportInputs(out, ctx.config))
        assert section.missing == ReportInputs(out, ctx.config).missing_line(stage)
        assert section.tables() == []


def test_building_twice_gives_identical_tables(simulated_pipeline, built):
    ctx, _ = simulated_pipeline
    _, first = built
    again = ReportInputs(ctx.out, ctx.config)
    for module in MODULES:
        a, b = first[module.NUMBER], module.section(again)
        assert [t.key for t in a.tables()] == [t.key for t in b.tables()]
        for x, y in zip(a.tables(), b.tables(), strict=True):
            pd.testing.assert_frame_equal(x.frame, y.frame)
            assert (x.title, x.source, x.notes, x.formats) == (y.title, y.source, y.notes, y.formats)
