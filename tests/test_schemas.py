"""Stage tables are checked against their schemas when read: a missing or mistyped column is one clear error."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from pipeline import paths, schemas
from pipeline.errors import DataError
from pipeline.stages.base import StageContext

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def run_copy(simulated_pipeline, tmp_path):
    """A copy of the simulated run's output folder, to be damaged by a test."""
    ctx, _ = simulated_pipeline
    out = tmp_path / "output"
    shutil.copytree(ctx.out, out)
    return StageContext(raw=ctx.raw, out=out, config_dir=ctx.config_dir, seed=ctx.seed)


def _rewrite(ctx: StageContext, stage: str, table: str, change) -> None:
    path = paths.table_path(ctx.out, stage, table)
    frame = change(pd.read_parquet(path))
    frame.to_parquet(path, index=False)


def test_every_table_of_a_run_has_a_schema_and_meets_it(simulated_pipeline):
    ctx, _ = simulated_pipeline
    for stage in ("ingest", "clean", "weight", "reliability", "compare", "describe", "score"):
        for path in sorted(ctx.stage_dir(stage).glob("*.parquet")):
            table_schema = schemas.schema(stage, path.stem)
            assert table_schema is not None, f"{stage}/{path.stem} has no schema"
            schemas.check_table(path, table_schema, config=ctx.config)
            # the configured columns are what the stage wrote, no more and no fewer
            if table_schema.configured is not None:
                written = pq.read_schema(path).names
                assert set(table_schema.expected(ctx.config)) == set(written), (stage, path.stem)


def test_a_missing_column_stops_compare_with_a_message_naming_file_and_column(run_copy, capsys):
    from pipeline.cli import main

    _rewrite(run_copy, "clean", "public", lambda f: f.drop(columns=["residence"]))
    out, raw, config = (str(p) for p in (run_copy.out, run_copy.raw, run_copy.config_dir))
    status = main(["compare", "--out", out, "--raw", raw, "--config", config])
    err = capsys.readouterr().err
    assert status == 2
    assert "02_clean/public.parquet" in err and "residence" in err and "Traceback" not in err


def test_every_bad_column_is_named_in_one_error(run_copy):
    _rewrite(
        run_copy,
        "weight",
        "public_weights",
        lambda f: f.assign(weight=f["weight"].astype(str)).rename(columns={"record_id": "id"}),
    )
    with pytest.raises(DataError) as caught:
        run_copy.read_table("weight", "public_weights")
    message = str(caught.value)
    assert "03_weight/public_weights.parquet" in message
    assert "record_id" in message and "weight" in message and "expected number" in message


def test_an_optional_column_may_be_absent_and_a_required_one_may_not(run_copy):
    _rewrite(run_copy, "clean", "public", lambda f: f.drop(columns=["P26_score"]))
    got = run_copy.read_table("clean", "public", columns=["record_id", "P26_score"], optional=["P26_score"])
    assert list(got.columns) == ["record_id"]
    with pytest.raises(DataError, match="P26_score"):
        run_copy.read_table("clean", "public", columns=["record_id", "P26_score"])


def test_a_missing_item_column_is_found_from_the_codebook(run_copy):
    _rewrite(run_copy, "clean", "staff", lambda f: f.drop(columns=["S01"]))
    with pytest.raises(DataError, match="S01"):
        run_copy.read_table("clean", "staff")


def _table_segments(section: str) -> dict[str, str]:
    """Text describing each ``<table>.parquet`` of a contract section (tables named together share it)."""
    mentions = list(re.finditer(r"`(\w+)\.parquet`", section))
    segments: dict[str, str] = {}
    group: list[str] = []
    for i, m in enumerate(mentions):
        group.append(m.group(1))
        end = mentions[i + 1].start() if i + 1 < len(mentions) else len(section)
        between = section[m.end() : end]
        if i + 1 < len(mentions) and re.fullmatch(r"[,\s]*(and\s*)?", between):
            continue  # named together with the next table
        for name in group:
            segments[name] = segments.get(name, "") + between
        group = []
    return segments


def test_data_contract_names_every_fixed_column_of_every_schema():
    contract = (ROOT / "docs" / "DATA_CONTRACT.md").read_text(encoding="utf-8")
    sections = dict(re.findall(r"^## (\d\d_\w+)\n(.*?)(?=^## |\Z)", contract, flags=re.S | re.M))
    for (stage, table), table_schema in schemas.SCHEMAS.items():
        section = sections[paths.STAGE_FOLDERS[stage]]
        segment = _table_segments(section).get(table)
        assert segment is not None, f"DATA_CONTRACT.md does not describe {stage}/{table}.parquet"
        named = {w for span in re.findall(r"`([^`]*)`", segment) for w in re.findall(r"[A-Za-z_][\w]*", span)}
        undocumented = [c for c in table_schema.columns if c not in named]
        assert not undocumented, f"{stage}/{table}: DATA_CONTRACT.md does not name {undocumented}"
