"""Helpers shared by the section builders: labels, small-cell marks, significance marks and note texts.

Nothing here computes a statistic: values are taken from stage tables as they are, relabelled, and replaced by
:data:`~pipeline.report.blocks.SUPPRESSED` or marked with :data:`~pipeline.report.blocks.SMALL_MARK` where the
stage table's ``flag`` says so (the stages apply ``analysis.yaml: small_cells``; this module only reads the flag).

Examples
--------
>>> sig_mark(0.004)
'**'
>>> sig_mark(float("nan"))
''
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import pandas as pd
import pyarrow.parquet as pq

from pipeline import paths
from pipeline.config import Config
from pipeline.config.codebook import Codebook
from pipeline.report.blocks import SMALL_MARK, SUPPRESSED
from pipeline.report.inputs import ReportInputs

#: Short names of the instruments in titles and tables.
INSTRUMENT_NAMES = {"public": "公众问卷", "staff": "公职人员问卷", "casefile": "案卷评查"}
#: Groupings that are not a question of the questionnaire (or not only one).
FIXED_BY_LABELS = {"district": "县区", "unit": "单位", "unit_type": "单位类型", "case_type": "案卷类型"}
#: Column of the small-cell mark.
MARK_COLUMN = "标记"
#: The note explaining significance marks.
SIG_NOTE = "* p<0.05，** p<0.01，*** p<0.001"
WEIGHTED_NOTE = "百分比为加权百分比；频数为未加权样本数。"
UNWEIGHTED_NOTE = "未加权。"


def instrument_name(instrument: str) -> str:
    """``public`` → 公众问卷."""
    return INSTRUMENT_NAMES.get(instrument, instrument)


def questionnaire_title(config: Config, instrument: str) -> str:
    """The questionnaire's own title from its YAML (its short name when it is not configured)."""
    q = config.questionnaire(instrument) if instrument in ("public", "staff") else None
    return q.title if q is not None else instrument_name(instrument)


def sources(inputs: ReportInputs, *tables: tuple[str, str]) -> str:
    """``Table.source`` for several stage tables: ``"05_compare/comparisons；05_compare/families"``."""
    return "；".join(inputs.source(stage, name) for stage, name in tables)


class Labels:
    """Names of groupings, groups (unit codes → names, unit types → names) and outcome variables.

    Groupings that are a demographic question take the question's wording from the codebook; unit codes and
    unit types come from ``units.yaml``; scales from the questionnaire's ``scales``.
    """

    def __init__(self, config: Config):
        self.config = config
        units = config.units
        self.groups: dict[str, str] = (
            {u.code: u.name for u in units.units} | dict(units.unit_types) if units is not None else {}
        )
        self._codebooks: dict[str, Codebook] = {
            i: config.codebook(i) for i in ("public", "staff") if config.questionnaire(i) is not None
        }

    def codebook(self, instrument: str) -> Codebook | None:
        return self._codebooks.get(instrument)

    def by(self, by: str, instrument: str = "public") -> str:
        """A grouping's label: 县区, or the demographic question's wording (您的性别)."""
        if by in FIXED_BY_LABELS:
            return FIXED_BY_LABELS[by]
        codebook = self._codebooks.get(instrument)
        if codebook is not None:
            try:
                return codebook.by_variable(by).question_text
            except KeyError:
                pass
        return by

    def group(self, group: object) -> str:
        """A group's label: a unit or unit-type name for its code, else the text as it is."""
        if group is None or (isinstance(group, float) and math.isnan(group)):
            return ""
        return self.groups.get(str(group), str(group))

    def item(self, instrument: str, item: str) -> str:
        """``P05 某题目（矩阵行）`` from the codebook (the id alone when it is not there)."""
        codebook = self._codebooks.get(instrument)
        if codebook is None or item not in codebook:
            return item
        return f"{item} {codebook.item(item).text}"

    def outcome(self, instrument: str, variable: str, names: dict[str, str] | None = None) -> str:
        """A compared or described variable's label: a scale's name, ``<item>_score`` as the item's text."""
        if names and variable in names:
            return names[variable]
        q = self.config.questionnaire(instrument) if instrument in ("public", "staff") else None
        if q is not None:
            for scale in q.scales:
                if scale.id == variable:
                    return scale.name
        if variable.endswith("_score") and variable != "quiz_score":
            return f"{self.item(instrument, variable[: -len('_score')])}（得分）"
        return variable


def sig_mark(p: object) -> str:
    """``*``, ``**``, ``***`` for p below 0.05, 0.01, 0.001; empty for a missing or larger p."""
    if p is None or p is pd.NA:
        return ""
    x = float(p)  # type: ignore[arg-type]
    if math.isnan(x):
        return ""
    return "***" if x < 0.001 else "**" if x < 0.01 else "*" if x < 0.05 else ""


def flags_of(table: pd.DataFrame) -> list[str]:
    """The ``flag`` column as plain strings ("" where absent)."""
    if "flag" not in table.columns:
        return [""] * len(table)
    return [
        "" if f is None or f is pd.NA or (isinstance(f, float) and math.isnan(f)) else str(f)
        for f in table["flag"]
    ]


def apply_small_cells(frame: pd.DataFrame, flags: Sequence[str], columns: Iterable[str]) -> pd.DataFrame:
    """``frame`` with the estimate ``columns`` of suppressed rows replaced by :data:`SUPPRESSED` and a
    :data:`MARK_COLUMN` holding :data:`SMALL_MARK` for small rows (added only when some row is flagged).

    ``flags`` are the stage table's ``flag`` values for the rows of ``frame`` (same order).
    """
    frame = frame.reset_index(drop=True).copy()
    flags = list(flags)
    suppressed = [f == "suppressed" for f in flags]
    if any(suppressed):
        for col in columns:
            frame[col] = [
                SUPPRESSED if s else v for v, s in zip(frame[col].astype(object), suppressed, strict=True)
            ]
    if any(f in ("small", "suppressed") for f in flags):
        frame[MARK_COLUMN] = [SMALL_MARK if f == "small" else "" for f in flags]
    return frame


def small_cell_notes(config: Config, flags: Iterable[str], weighted: bool) -> tuple[str, ...]:
    """The notes for the marks :func:`apply_small_cells` put in a table (none when no row is flagged)."""
    flags = set(flags)
    cells = config.analysis.small_cells
    size = "Kish有效样本量" if weighted else "样本量"
    notes = []
    if "small" in flags:
        notes.append(f"{SMALL_MARK} {size}不足{cells.mark_below}，结果仅供参考。")
    if "suppressed" in flags:
        notes.append(f"{SUPPRESSED} {size}不足{cells.suppress_below}，不予报告。")
    return tuple(notes)


def weighting_note(weighted: bool) -> str:
    return WEIGHTED_NOTE if weighted else "未加权；百分比为样本百分比。"


def is_weighted(table: pd.DataFrame) -> bool:
    """Whether a stage table's rows are weighted estimates (its ``weighted`` column; False when absent)."""
    return bool("weighted" in table.columns and len(table) and table["weighted"].astype(bool).any())


def base_note(n: object, what: str = "样本量") -> str:
    """``基数：有效样本量 n = 1,234。``"""
    try:
        return f"基数：{what} n = {int(n):,}。"  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return f"基数：{what}不详。"


def submit_window(inputs: ReportInputs, instrument: str) -> tuple[pd.Timestamp, pd.Timestamp, int] | None:
    """First and last submission time of a questionnaire and the number of records with a time.

    Neither ``_ingest_report.json`` nor the manifest records the fieldwork window, so this reads the one column
    ``submitted_at`` of ``01_ingest/<instrument>.parquet`` (no other column of the responses). ``None`` when
    the table is absent or no record has a time.
    """
    path = paths.table_path(inputs.out, "ingest", instrument)
    if not path.exists():
        return None
    column = pq.read_table(path, columns=["submitted_at"]).column(0).to_pandas().dropna()
    if not len(column):
        return None
    return pd.Timestamp(column.min()), pd.Timestamp(column.max()), int(len(column))


def rows_of(table: pd.DataFrame | None, **equal: object) -> pd.DataFrame:
    """The rows of ``table`` whose columns equal the given values (empty frame for an absent table)."""
    if table is None:
        return pd.DataFrame()
    mask = pd.Series(True, index=table.index)
    for col, value in equal.items():
        mask &= table[col].fillna("") == value if isinstance(value, str) else table[col] == value
    return table[mask]
