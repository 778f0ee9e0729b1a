"""``fazhi-eval export``: the cleaned, weighted respondent data in the formats analysts open (not a stage).

:func:`labelled_data` (pure) turns one questionnaire's ``02_clean`` table and ``03_weight`` weights into
:class:`Labelled`: one row per valid response, the pseudonymous ``respondent`` id first and the ``weight``
second, then the codebook's item columns (codes as ``02_clean`` holds them: −3 = skipped by the questionnaire's
logic), the item scores, scale scores, 满意度指数 and quiz score, and the derived groupings (district, unit,
unit type). Source references (``record_id``, file, sheet, row), IP-derived columns and the label duplicates of
demographic codes are left out; every text column is masked again (:func:`pipeline.ingest.masking.mask_series`,
idempotent) and names typed beside a title hidden (:func:`pipeline.clean.names.hide_names`).

:func:`write_export` writes it as SPSS ``.sav`` (pyreadstat: variable labels = question wording, value labels =
options, −3 declared user-missing), ``.xlsx`` (labels instead of codes, a second sheet 变量说明 listing every
variable) and ``.csv`` (labels, UTF-8 with BOM, with a ``_变量说明.csv`` beside it); the spreadsheets through
:mod:`pipeline.safe_cells`. Above Excel's row limit the ``.xlsx`` is refused before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pipeline.clean.names import hide_names
from pipeline.config import Config
from pipeline.config.codebook import Codebook, CodebookItem
from pipeline.errors import ConfigError, DataError
from pipeline.ingest.masking import mask_series
from pipeline.safe_cells import write_csv, write_xlsx

FORMATS = ("sav", "xlsx", "csv")
EXCEL_MAX_ROWS = 1_048_576
"""Rows of an Excel sheet, the header row included."""
SKIPPED = -3
SKIPPED_LABEL = "逻辑跳过 (skipped by the questionnaire's logic)"
DERIVED = {
    "district": "县区 (district)",
    "unit": "单位 (unit)",
    "unit_type": "单位类型 (unit type)",
    "SI": "满意度指数 (satisfaction index, 0–100)",
    "quiz_score": "知识测试得分 (quiz score, 0–100)",
}
"""Derived columns exported when present, with their labels."""
INSTRUMENT_NAMES = {"public": "公众问卷", "staff": "公职人员问卷"}
SPSS_RESERVED = frozenset(["ALL", "AND", "BY", "EQ", "GE", "GT", "LE", "LT", "NE", "NOT", "OR", "TO", "WITH"])
"""Names SPSS refuses as variable names (compared case-insensitively)."""


def spss_name(column: str, taken: set[str]) -> str:
    """``column`` as an SPSS variable name: letters, digits and ``_`` (others → ``_``), starting with a letter,
    at most 64 characters, not a reserved word (``BY`` → ``BY_``), unique (case-insensitive) among ``taken``."""
    name = "".join(c if c.isascii() and (c.isalnum() or c == "_") else "_" for c in column) or "V"
    if not name[0].isalpha():
        name = "V" + name
    name = name[:64]
    if name.upper() in SPSS_RESERVED:
        name += "_"
    base, i = name, 1
    while name.upper() in taken:
        i += 1
        name = f"{base[: 64 - len(str(i)) - 1]}_{i}"
    taken.add(name.upper())
    return name


@dataclass(frozen=True)
class Labelled:
    """One questionnaire's respondent data with its labels."""

    instrument: str
    data: pd.DataFrame
    """Codes and numbers; texts masked."""
    variable_labels: dict[str, str]
    value_labels: dict[str, dict[int, str]]
    missing_codes: dict[str, frozenset[int]] = field(default_factory=dict)
    """Codes of 不了解-type options per column: user-missing in the .sav, with −3."""

    def with_labels(self) -> pd.DataFrame:
        """``data`` with each coded column's values replaced by their labels (codes without a label kept)."""
        out = {}
        for col in self.data.columns:
            labels = self.value_labels.get(col)
            if labels:
                values = self.data[col].astype(object)
                out[col] = values.map(lambda v, lab=labels: lab.get(int(v), v) if pd.notna(v) else None)
            else:
                out[col] = self.data[col]
        return pd.DataFrame(out, index=self.data.index)

    def dictionary(self) -> pd.DataFrame:
        """变量说明: every variable with its label and its value labels as ``code=label`` text."""
        return pd.DataFrame(
            {
                "变量 (variable)": list(self.data.columns),
                "标签 (label)": [self.variable_labels.get(c, "") for c in self.data.columns],
                "取值标签 (value labels)": [
                    "；".join(f"{k}={v}" for k, v in self.value_labels.get(c, {}).items())
                    for c in self.data.columns
                ],
            }
        )


def _item_columns(item: CodebookItem, frame: pd.DataFrame) -> list[tuple[str, str, dict[int, str] | None]]:
    """``(column, label, value labels)`` of one item's columns present in ``frame``."""
    label = f"{item.number}. {item.question_text}" + (f" - {item.row_text}" if item.row_text else "")
    options = {o.code: o.text for o in item.options}
    if item.type in ("multiple", "ranking"):
        found = []
        for option in item.options:
            col = f"{item.id}_{option.code}"
            if col in frame.columns:
                values = {0: "未选", 1: "选中"} if item.type == "multiple" else None
                found.append((col, f"{label}: {option.text}", values))
        other = f"{item.id}_other_text"
        if other in frame.columns:
            found.append((other, f"{label}: 其他 (说明)", None))
        return found
    if item.id not in frame.columns:
        return []
    if item.type in ("single", "matrix"):
        return [(item.id, label, {**options, SKIPPED: SKIPPED_LABEL})]
    return [(item.id, label, None)]


def labelled_data(
    responses: pd.DataFrame, weights: pd.DataFrame, config: Config, instrument: str
) -> Labelled:
    """The export of one questionnaire (see the module docstring)."""
    from pipeline.frames import record_weights

    codebook = Codebook.from_config(config.questionnaire(instrument), config.units)
    columns: dict[str, pd.Series] = {"respondent": responses["respondent"].astype(object)}
    variable_labels = {"respondent": "答卷假名编号 (pseudonymous respondent id)"}
    value_labels: dict[str, dict[int, str]] = {}
    missing_codes: dict[str, frozenset[int]] = {}
    weight = record_weights(responses, weights, table=f"03_weight/{instrument}_weights.parquet")
    columns["weight"] = pd.Series(weight, index=responses.index)
    variable_labels["weight"] = "权重 (weight, 03_weight)"
    for item in codebook.items:
        for col, label, values in _item_columns(item, responses):
            columns[col] = responses[col]
            variable_labels[col] = label
            if values:
                value_labels[col] = values
                if item.missing_codes:
                    missing_codes[col] = item.missing_codes
    for item in codebook.scored_items:
        col = f"{item.id}_score"
        if col in responses.columns:
            columns[col] = responses[col]
            variable_labels[col] = f"{item.id} 得分 (0–100)"
    for scale in codebook.questionnaire.scales:
        if scale.id in responses.columns:
            columns[scale.id] = responses[scale.id]
            variable_labels[scale.id] = f"{scale.name} (量表得分 0–100)"
    units = config.units
    names = {u.code: u.name for u in units.units} | dict(units.unit_types) if units else {}
    for col, label in DERIVED.items():
        if col in responses.columns and col not in columns:
            columns[col] = responses[col]
            variable_labels[col] = label
            if not pd.api.types.is_numeric_dtype(responses[col].dtype):
                codes = [str(v) for v in pd.unique(responses[col].dropna())]
                variable_labels[col] += "：" + "；".join(f"{c}={names.get(c, c)}" for c in sorted(codes))
    data = pd.DataFrame(columns, index=responses.index).reset_index(drop=True)
    for col in data.columns.drop("respondent"):  # the keyed pseudonym is hex, never masked
        kind = data[col].dtype
        if isinstance(kind, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(kind):
            texts = mask_series(data[col].astype(object))
            data[col] = texts.map(lambda t: hide_names(t)[0] if isinstance(t, str) else t)
    return Labelled(instrument, data, variable_labels, value_labels, missing_codes)


def check_rows(labelled: list[Labelled], formats: tuple[str, ...], *, limit: int | None = None) -> None:
    """A :class:`DataError` when ``xlsx`` is asked for and a questionnaire has more rows than a sheet holds
    (``limit``, default :data:`EXCEL_MAX_ROWS`)."""
    if "xlsx" not in formats:
        return
    limit = EXCEL_MAX_ROWS if limit is None else limit
    for item in labelled:
        if len(item.data) + 1 > limit:
            raise DataError(
                f"{INSTRUMENT_NAMES.get(item.instrument, item.instrument)} 有 {len(item.data):,} 行，超过 Excel 工作表"
                f"上限 {limit:,} 行（含表头），未写出 .xlsx；请改用 --format csv,sav "
                f"({item.instrument}: {len(item.data):,} rows exceed Excel's {limit:,}-row sheet; "
                "use the .csv or .sav export)"
            )


def write_export(labelled: Labelled, out: Path, formats: tuple[str, ...]) -> list[Path]:
    """Write one questionnaire's export as ``<out>/<instrument>.<format>``; the files written."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    if "sav" in formats:
        written.append(_write_sav(labelled, out / f"{labelled.instrument}.sav"))
    if "xlsx" in formats or "csv" in formats:
        shown = labelled.with_labels()
        if "xlsx" in formats:
            sheets = {"数据": shown, "变量说明": labelled.dictionary()}
            written.append(write_xlsx(sheets, out / f"{labelled.instrument}.xlsx", engine="xlsxwriter"))
        if "csv" in formats:
            written.append(write_csv(shown, out / f"{labelled.instrument}.csv"))
            written.append(write_csv(labelled.dictionary(), out / f"{labelled.instrument}_变量说明.csv"))
    return written


def _write_sav(labelled: Labelled, path: Path) -> Path:
    import pyreadstat

    taken: set[str] = set()
    names = {c: spss_name(c, taken) for c in labelled.data.columns}
    data = labelled.data.copy()
    for col in data.columns.drop("respondent"):  # the keyed pseudonym is hex, never masked
        kind = data[col].dtype
        if pd.api.types.is_bool_dtype(kind) or pd.api.types.is_numeric_dtype(kind):
            data[col] = data[col].astype("float64")
        else:
            data[col] = data[col].astype(object).where(data[col].notna(), "")
    missing = {
        col: [SKIPPED, *sorted(labelled.missing_codes.get(col, ()))][:3]  # SPSS holds three discrete values
        for col, labels in labelled.value_labels.items()
        if SKIPPED in labels
    }
    value_labels = {
        c: {float(k): v for k, v in labels.items()} for c, labels in labelled.value_labels.items()
    }
    labels = [labelled.variable_labels.get(c, "") for c in data.columns]
    pyreadstat.write_sav(
        data.rename(columns=names),
        str(path),
        column_labels=labels,
        variable_value_labels={names[c]: v for c, v in value_labels.items()},
        missing_ranges={names[c]: v for c, v in missing.items()},
        variable_measure={names[c]: "nominal" for c in value_labels},
    )
    return path


def export_all(
    responses: dict[str, pd.DataFrame], weights: dict[str, pd.DataFrame], config: Config
) -> list[Labelled]:
    """:func:`labelled_data` of every questionnaire given."""
    return [labelled_data(responses[i], weights[i], config, i) for i in responses]


def parse_formats(text: str) -> tuple[str, ...]:
    """``"sav,csv"`` → ``("sav", "csv")`` (the ``--format`` argument); an unknown format is a usage error."""
    import argparse

    wanted = tuple(dict.fromkeys(f.strip().lower().lstrip(".") for f in text.split(",") if f.strip()))
    unknown = [f for f in wanted if f not in FORMATS]
    if unknown or not wanted:
        raise argparse.ArgumentTypeError(
            f"未知的导出格式 {', '.join(unknown) or repr(text)}；可选 {', '.join(FORMATS)} "
            f"(unknown export format; choose from {', '.join(FORMATS)})"
        )
    return wanted


def export_command(
    source: Path,
    config_dir: Path,
    out: Path | None,
    *,
    formats: tuple[str, ...] = FORMATS,
    instruments: list[str] | None = None,
) -> list[str]:
    """The ``fazhi-eval export`` command: read ``02_clean`` and ``03_weight`` of the run in ``source``, write the
    export of every configured questionnaire (or of ``instruments``) into ``out`` (default
    ``<source>/export``); the lines to print. Every check (formats, tables, Excel's row limit) happens before
    the first file is written."""
    from pipeline import results
    from pipeline.config import load_config

    chosen = tuple(formats)
    config = load_config(config_dir)
    wanted = instruments or [i for i in INSTRUMENT_NAMES if config.questionnaire(i) is not None]
    labelled = []
    for instrument in wanted:
        if config.questionnaire(instrument) is None:
            raise ConfigError(
                f"配置中没有{INSTRUMENT_NAMES[instrument]} (no {instrument} questionnaire configured)"
            )
        responses = results.table("clean", instrument, out=source, config=config)
        weights = results.table("weight", f"{instrument}_weights", out=source)
        labelled.append(labelled_data(responses, weights, config, instrument))
    check_rows(labelled, chosen)
    out = Path(out) if out is not None else Path(source) / "export"
    lines = []
    for item in labelled:
        for path in write_export(item, out, chosen):
            lines.append(f"已写出 (written) {path} ({len(item.data):,} 行)")
    return lines
