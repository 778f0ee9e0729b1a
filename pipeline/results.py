"""Reading stage outputs: the small public API that notebooks and analysts use.

Every function reads what ``fazhi-eval run`` wrote under the output folder (``output/NN_verb/<table>.parquet``,
``output/_manifest.json``, paths from :mod:`pipeline.paths`) and raises :class:`pipeline.errors.DataError`
naming the command to run when something is missing. Stages read their inputs through the same
:func:`table` (``StageContext.read_table`` calls it), so a notebook sees exactly what the next stage sees.

Examples
--------
>>> from pipeline import results  # doctest: +SKIP
>>> results.tables("weight")  # doctest: +SKIP
['diagnostics', 'margins', 'public_weights', 'staff_weights']
>>> d = results.survey_design("public")  # doctest: +SKIP
>>> d.mean("PG", by="district")  # doctest: +SKIP
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline import paths, schemas
from pipeline.errors import DataError

__all__ = ["INSTRUMENTS", "manifest", "survey_design", "table", "tables", "use_cjk_font"]

#: Instruments that have a survey design (02_clean responses joined with 03_weight weights).
INSTRUMENTS = ("public", "staff")


def _stage_folder(stage: str, out: str | Path) -> Path:
    if stage not in paths.STAGE_FOLDERS:
        raise DataError(f"unknown stage '{stage}' (known stages: {', '.join(paths.STAGE_FOLDERS)})")
    return paths.stage_dir(Path(out), stage)


def _run_hint(command: str, out: str | Path) -> str:
    """The command line that produces the missing output (``--out`` only when not the default)."""
    extra = "" if Path(out) == paths.DEFAULT_OUT else f" --out {out}"
    return f"`fazhi-eval {command}{extra}`"


def table(
    stage: str,
    table: str,
    *,
    out: str | Path = paths.DEFAULT_OUT,
    columns: Sequence[str] | None = None,
    optional: Sequence[str] = (),
    config: Any = None,
) -> pd.DataFrame:
    """One table written by a stage: ``<out>/NN_<stage>/<table>.parquet``.

    Parameters
    ----------
    stage : str
        Stage name (``"ingest"``, ``"clean"``, ``"weight"``, ``"reliability"``, ``"compare"`` …, the keys of
        :data:`pipeline.paths.STAGE_FOLDERS`).
    table : str
        Table name without ``.parquet`` (see ``docs/DATA_CONTRACT.md`` or :func:`tables`).
    out : str or Path
        The output folder of the run (default ``output``).
    columns : sequence of str, optional
        Read only these columns (in the table's order). Default: all columns.
    optional : sequence of str
        Columns of ``columns`` that may be absent (they are then left out).
    config : Config, optional
        The run's configuration: with it, the columns that follow the configuration (item columns) are
        checked too.

    Raises
    ------
    DataError
        Unknown stage, or the table does not exist; the message names the command that writes it and, when
        the stage ran but wrote no such table, the tables it did write. A column asked for (or, without
        ``columns``, a column of the table's schema, :mod:`pipeline.schemas`) is missing or of the wrong type:
        the message names the file and every such column.
    """
    folder = _stage_folder(stage, out)
    path = paths.table_path(Path(out), stage, table)
    if not path.exists():
        written = tables(stage, out=out) if folder.is_dir() else []
        also = f"; it wrote: {', '.join(written)}" if written else ""
        raise DataError(
            f"找不到 {path}：请先运行 {_run_hint(stage, out)} "
            f"(stage '{stage}' has not produced '{table}' yet{also})"
        )
    # a table without a schema of its own: only the presence of the columns asked for is checked
    table_schema = schemas.schema(stage, table) or schemas.TableSchema(stage, table, {})
    present = schemas.check_table(
        path,
        table_schema,
        config=config,
        columns=columns,
        optional=optional,
        label=f"{paths.STAGE_FOLDERS[stage]}/{table}.parquet",
    )
    if columns is not None:
        wanted = set(columns)
        columns = [c for c in present if c in wanted]
    return pd.read_parquet(path, columns=columns)


def tables(stage: str, *, out: str | Path = paths.DEFAULT_OUT) -> list[str]:
    """Names of the tables a stage wrote (sorted; metadata files starting with ``_`` are left out).

    Raises
    ------
    DataError
        Unknown stage, or the stage has not run into ``out`` (the message names the command).
    """
    folder = _stage_folder(stage, out)
    if not folder.is_dir():
        raise DataError(f"找不到 {folder}：请先运行 {_run_hint(stage, out)} (stage '{stage}' has not run)")
    return sorted(p.stem for p in folder.glob("*.parquet") if not p.name.startswith("_"))


def manifest(out: str | Path = paths.DEFAULT_OUT) -> dict[str, Any]:
    """The run manifest ``<out>/_manifest.json`` (input and configuration digests, versions, seed, stages).

    Raises
    ------
    DataError
        No manifest in ``out`` (the message names ``fazhi-eval run``).
    """
    path = Path(out) / paths.MANIFEST
    if not path.exists():
        raise DataError(f"找不到 {path}：请先运行 {_run_hint('run', out)} (no manifest in {out})")
    return json.loads(path.read_text(encoding="utf-8"))


def survey_design(
    instrument: str,
    *,
    out: str | Path = paths.DEFAULT_OUT,
    config: str | Path = paths.DEFAULT_CONFIG,
):
    """The survey design of one questionnaire, as the stages build it, from 02_clean and 03_weight.

    * ``"public"``: cleaned responses joined with the raking weights (plus the satisfaction index ``SI``),
      a :class:`~pipeline.stats.SurveyDesign` calibrated on ``population.yaml: rake_on``;
    * ``"staff"``: cleaned responses (plus the unit's ``district`` and ``SI``) with the unit weights
      (headcount / respondents), stratified by unit with the unit headcount as finite population correction,
      single-respondent units collapsed (:func:`pipeline.frames.staff_design`). No stage analyses the staff
      survey design-based yet (05_compare compares staff unweighted).

    Both are built by :mod:`pipeline.frames`, as the stages build them, so ``d.mean("PG", by="district")``
    gives the ``svy_mean`` rows of ``05_compare/comparisons``.

    The weights are sampling weights, not frequency weights. The design's frame is ``d.frame``.

    Parameters
    ----------
    instrument : {"public", "staff"}
    out : str or Path
        Output folder of the run.
    config : str or Path
        Configuration folder (``questionnaires``).

    Raises
    ------
    DataError
        Unknown instrument; a table is missing (naming the command); a record has no weight; a staff unit
        has a single respondent (its stratum variance is undefined; :class:`~pipeline.stats.SurveyDesign`).
    """
    from pipeline import frames
    from pipeline.config import load_config

    if instrument not in INSTRUMENTS:
        raise DataError(f"unknown instrument '{instrument}' (expected one of {', '.join(INSTRUMENTS)})")
    cfg = load_config(Path(config))
    responses = table("clean", instrument, out=out)
    weights = table("weight", f"{instrument}_weights", out=out)
    if instrument == "public":
        return frames.public_design(
            frames.public_frame(responses, weights, cfg, groupings=cfg.plan("public").groupings), cfg
        )
    return frames.staff_design(frames.staff_frame(responses, cfg, weights), cfg)


#: The CJK font charts use (bundled with the ``mplfonts`` package, so no download and no system font needed).
CJK_FONT_FILE = "NotoSansCJKsc-Regular.otf"


def use_cjk_font() -> str | None:
    """Make matplotlib draw Chinese text with the Noto Sans CJK SC font that ``mplfonts`` ships; its name.

    ``mplfonts.use_font`` only sets ``rcParams`` to a font name, which matplotlib cannot find until
    ``mplfonts init`` has copied the files into matplotlib's own folder (a write into site-packages); here
    the bundled file is registered with ``font_manager.addfont`` instead, which works offline and read-only.
    Returns ``None`` (and changes nothing) when ``mplfonts`` or its font file is missing: skip charts then.
    """
    try:
        import matplotlib
        import mplfonts
        from matplotlib import font_manager
    except ImportError:
        return None
    path = Path(mplfonts.__file__).parent / "fonts" / CJK_FONT_FILE
    if not path.exists():
        return None
    font_manager.fontManager.addfont(str(path))
    name = font_manager.FontProperties(fname=str(path)).get_name()
    matplotlib.rcParams["font.family"] = "sans-serif"
    matplotlib.rcParams["font.sans-serif"] = [name, *matplotlib.rcParams["font.sans-serif"]]
    matplotlib.rcParams["axes.unicode_minus"] = False
    return name
