"""The appendix's charts: planned from the stage outputs, drawn with Chinese glyphs, byte-identical runs,
one unit order, and matplotlib kept out of the other stages."""

from __future__ import annotations

import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from pipeline.parallel import Executor
from pipeline.report import style
from pipeline.report.charts import draw_charts, planned_charts, write_chart
from pipeline.report.inputs import ReportInputs

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def inputs(simulated_pipeline):
    ctx, _ = simulated_pipeline
    return ReportInputs(ctx.out, ctx.config)


@pytest.fixture(scope="module")
def charts(inputs):
    return planned_charts(inputs)


@pytest.fixture(scope="module")
def drawn(charts, tmp_path_factory):
    """Every chart drawn once, serially, with every warning recorded."""
    dest = tmp_path_factory.mktemp("charts")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        paths = draw_charts(charts, dest, Executor(workers=1))
    return dest, paths, caught


def test_every_kind_of_chart_is_planned_with_a_section_and_a_source(charts):
    keys = {c.key for c in charts}
    for expected in (
        "flow_public",
        "margins_public",
        "weights_public",
        "alpha",
        "likert_public_PG",
        "district_public",
        "aspects_district",
        "casefile_scores",
        "casefile_pareto",
    ):
        assert expected in keys
    assert any(k.startswith("heatmap_units_aspects_") for k in keys)
    assert len(keys) == len(charts)  # keys name files: unique
    assert all(1 <= c.section <= 8 and c.after is None for c in charts)
    assert all(c.figure.title and "/" in c.figure.source for c in charts)
    assert [c.section for c in charts] == sorted(c.section for c in charts)


def test_every_planned_chart_writes_a_png_and_an_svg(charts, drawn):
    dest, paths, _ = drawn
    assert len(paths) == 2 * len(charts)
    for chart in charts:
        png, svg = dest / f"{chart.key}.png", dest / f"{chart.key}.svg"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert b"<svg" in svg.read_bytes()[:2000]


def test_chinese_labels_draw_without_a_missing_glyph(drawn):
    _, _, caught = drawn
    glyph_warnings = [
        str(w.message) for w in caught if "Glyph" in str(w.message) or "missing from font" in str(w.message)
    ]
    assert glyph_warnings == []


def test_the_png_is_printed_at_200_dpi(charts, drawn):
    from PIL import Image

    dest, _, _ = drawn
    with Image.open(dest / f"{charts[0].key}.png") as image:
        assert round(image.info["dpi"][0]) == style.DPI
        assert image.width <= style.cm(style.TEXT_WIDTH_CM) * style.DPI + 1


def test_two_draws_and_two_processes_write_identical_bytes(charts, drawn, tmp_path):
    dest, _, _ = drawn
    some = [
        c for c in charts if c.key in ("alpha", "likert_public_PG", "aspects_district", "casefile_scores")
    ]
    draw_charts(some, tmp_path, Executor(workers=2))
    for chart in some:
        for ext in (".png", ".svg"):
            assert (tmp_path / f"{chart.key}{ext}").read_bytes() == (dest / f"{chart.key}{ext}").read_bytes()


def test_a_chart_whose_stage_has_not_run_is_not_planned(simulated_pipeline, tmp_path):
    ctx, _ = simulated_pipeline
    out = tmp_path / "output"
    shutil.copytree(ctx.out, out, ignore=shutil.ignore_patterns("07_score"))
    keys = {c.key for c in planned_charts(ReportInputs(out, ctx.config))}
    assert "aspects_district" not in keys
    assert not any(k.startswith("heatmap_units_aspects_") for k in keys)
    assert "likert_public_PG" in keys


def test_the_heatmap_rows_follow_the_one_unit_order(charts, inputs):
    names = style.unit_names(inputs.config)
    order = [names[u] for u in style.unit_order(inputs.config)]
    heatmaps = [c for c in charts if c.key.startswith("heatmap_units_aspects_")]
    shown = []
    for chart in heatmaps:
        fig = chart.draw()
        shown += [t.get_text() for t in fig.axes[0].get_yticklabels()][1:]  # the first row is the city
    assert shown == [n for n in order if n in shown]
    assert len(shown) > 0


def test_the_unit_order_puts_districts_first_then_types_as_units_yaml_lists_them(config):
    order = style.unit_order(config)
    types = style.unit_types(config)
    type_rank = {t: i for i, t in enumerate(style.type_labels(config))}
    assert types[order[0]] == config.units.district_type
    assert [type_rank[types[u]] for u in order] == sorted(type_rank[types[u]] for u in order)
    listed = [u.code for u in config.units.units]
    for t in type_rank:
        assert [u for u in order if types[u] == t] == [u for u in listed if types[u] == t]


def test_the_likert_answers_run_from_worst_to_best_with_a_grey_middle(charts):
    chart = next(c for c in charts if c.key == "likert_public_PG")
    fig = chart.draw()
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert len(labels) == 5
    colours = style.likert_colours(5)
    assert colours[2] == style.NEUTRAL and colours[0] in style.NEGATIVE and colours[-1] in style.POSITIVE


def test_a_long_chinese_label_wraps_without_starting_a_line_with_punctuation():
    wrapped = style.wrap("涉及群众切身利益的重大决策(征收、规划、价格调整)会公开征求公众意见", 16)
    lines = wrapped.split("\n")
    assert len(lines) > 1
    assert not any(line[0] in style.NO_LINE_START for line in lines)
    assert "".join(lines) == "涉及群众切身利益的重大决策(征收、规划、价格调整)会公开征求公众意见"


def test_writing_a_chart_leaves_no_figure_open(charts, tmp_path):
    write_chart(charts[0], tmp_path)
    assert "matplotlib.pyplot" not in sys.modules or not __import__("matplotlib.pyplot").pyplot.get_fignums()


STAGE_MODULES = ",".join(
    f"pipeline.stages.{p.stem}" for p in sorted((ROOT / "pipeline" / "stages").glob("[a-z]*.py"))
)


@pytest.mark.parametrize("modules", ["pipeline.cli", STAGE_MODULES, "pipeline.report.charts"])
def test_matplotlib_is_not_imported_by_the_cli_the_stages_or_chart_planning(modules):
    code = f"import sys, {modules}; print('matplotlib' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert result.stdout.strip() == "False"
