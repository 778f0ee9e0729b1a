"""One schema per stage table: the columns the next stage may rely on, checked when a table is read.

A stage reads its inputs through :meth:`pipeline.stages.base.StageContext.read_table` (notebooks through
:func:`pipeline.results.table`), which checks the file's column names and types against the table's schema
before reading it: a table edited by hand, written by an older version or truncated gives one
:class:`~pipeline.errors.DataError` naming the file and **every** missing or mistyped column, never a
``KeyError`` three functions later.

Why Arrow schemas and not pandera: the check needs only the column names and types, which a parquet file keeps
in its footer (:func:`pyarrow.parquet.read_schema`: no data read, microseconds at a million rows), while pandera
validates a loaded DataFrame (a pass over every value, and a dependency with its own import cost). Values are
the stages' own business and are checked where they are made.

A schema lists *fixed* columns with a coarse kind (``text``, ``number``, ``int``, ``bool``, ``datetime``,
``any``); the tables whose columns follow the configuration (the questionnaires' item columns, the case-file
standard's veto and defect codes) get theirs from the code that writes them, run on an empty input of the
configured codebook (:func:`survey_columns`), so the naming rules of items have one home. Extra columns are
allowed (``04_reliability/items`` has one ``freq_<code>`` per response code seen). ``docs/DATA_CONTRACT.md``
names every fixed column (a test checks that).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.errors import DataError

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from pipeline.config import Config

#: What each kind accepts (an all-missing column, Arrow type ``null``, is accepted by every kind).
KINDS = ("text", "number", "int", "bool", "datetime", "any")


@dataclass(frozen=True)
class TableSchema:
    """The columns of one stage table: fixed ``columns`` (name → kind) and, for tables whose columns follow the
    configuration, ``configured(config)`` giving the others."""

    stage: str
    table: str
    columns: dict[str, str]
    configured: Callable[[Config], dict[str, str]] | None = field(default=None, compare=False)

    def expected(self, config: Config | None = None) -> dict[str, str]:
        """Every column this table must have (the configured ones only when ``config`` is given)."""
        if config is None or self.configured is None:
            return dict(self.columns)
        return {**self.columns, **self.configured(config)}


def _cols(spec: str, kind: str) -> dict[str, str]:
    return dict.fromkeys(spec.split(), kind)


SOURCE = {**_cols("record_id source_file source_sheet", "text"), "source_row": "int"}
SURVEY_META = {
    **SOURCE,
    "respondent": "text",
    "submitted_at": "datetime",
    "duration_s": "number",
    **_cols("channel channel_detail ip_province ip_city", "text"),
}
CASEFILE_REVIEW = {
    **SOURCE,
    **_cols("case_id unit case_type reviewer", "text"),
    **_cols("typed_score score", "number"),
    "grade": "text",
    "score_mismatch": "bool",
}
CHECKPOINT = {**SOURCE, **_cols("unit point source rating", "text"), "score": "number", "note": "text"}
CASEFILE = {
    **_cols("case_id unit case_type", "text"),
    "n_reviewers": "int",
    **_cols("score score_min score_max score_diff", "number"),
    **_cols("grades_agree veto_dispute veto disagreement needs_third_review", "bool"),
    "grade": "text",
    "score_mismatch": "bool",
}
RESULT = {
    **_cols("estimate se ci_low ci_high statistic df1 df2 p p_holm p_bh", "number"),
    "effect_name": "text",
    **_cols("effect effect_ci_low effect_ci_high", "number"),
    **_cols("n n_a n_b", "int"),
    **_cols("n_eff_a n_eff_b", "number"),
    "weighted": "bool",
    **_cols("flag reason", "text"),
}


def _kind_of_dtype(dtype) -> str:
    """The kind a pandas dtype of an empty frame stands for (object: not known from zero rows → ``any``)."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_numeric_dtype(dtype):
        return "number"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if isinstance(dtype, pd.CategoricalDtype | pd.StringDtype):
        return "text"
    return "any"


_SURVEY_COLUMNS: dict[tuple[str, str, str], dict[str, str]] = {}


def _survey_columns_of(config: Config, instrument: str, stage: str) -> dict[str, str]:
    from pipeline.clean.responses import cleaned_responses
    from pipeline.ingest.surveys import empty_survey

    codebook = config.codebook(instrument)
    frame = empty_survey(codebook)
    if stage == "clean":
        frame = cleaned_responses(frame, codebook, config.units, config.cleaning).kept
    fixed = SURVEY_META if stage == "clean" else {**SURVEY_META, "ip_key": "text"}
    return {c: _kind_of_dtype(t) for c, t in frame.dtypes.items() if c not in fixed}


def survey_columns(config: Config, instrument: str, stage: str) -> dict[str, str]:
    """Item and derived columns of a questionnaire's ``01_ingest`` or ``02_clean`` table: what the stage's own
    code writes for an empty export of the configured codebook (so naming rules live only there)."""
    key = (config.digest, instrument, stage)
    if key not in _SURVEY_COLUMNS:
        _SURVEY_COLUMNS[key] = _survey_columns_of(config, instrument, stage)
    return dict(_SURVEY_COLUMNS[key])


def _casefile_codes(kind: str) -> Callable[[Config], dict[str, str]]:
    def columns(config: Config) -> dict[str, str]:
        from pipeline.clean.casefiles import defect_codes, veto_codes

        codes = [*veto_codes(config.casefile), *defect_codes(config.casefile)]
        return dict.fromkeys(codes, kind)

    return columns


def _survey(instrument: str, stage: str) -> Callable[[Config], dict[str, str]]:
    return lambda config: survey_columns(config, instrument, stage)


_SCHEMAS = [
    TableSchema(
        "ingest", "public", {**SURVEY_META, "ip_key": "text", "mode": "text"}, _survey("public", "ingest")
    ),
    TableSchema(
        "ingest", "staff", {**SURVEY_META, "ip_key": "text", "mode": "text"}, _survey("staff", "ingest")
    ),
    TableSchema("ingest", "casefile_reviews", CASEFILE_REVIEW, _casefile_codes("number")),
    TableSchema("ingest", "checkpoints", CHECKPOINT),
    TableSchema("clean", "public", {**SURVEY_META, "mode": "text"}, _survey("public", "clean")),
    TableSchema("clean", "staff", {**SURVEY_META, "mode": "text"}, _survey("staff", "clean")),
    TableSchema("clean", "casefile_reviews", CASEFILE_REVIEW, _casefile_codes("number")),
    TableSchema("clean", "casefiles", CASEFILE, _casefile_codes("number")),
    TableSchema("clean", "checkpoints", CHECKPOINT),
    TableSchema("clean", "name_review", _cols("table record_id source_file column title text", "text")),
    TableSchema(
        "clean",
        "exclusions",
        {"instrument": "text", **SOURCE, **_cols("rule reason detail", "text")},
    ),
    TableSchema(
        "clean",
        "flow",
        {
            "instrument": "text",
            "step": "int",
            **_cols("rule reason action", "text"),
            **_cols("n_before n_excluded n_flagged n_after", "int"),
        },
    ),  # fmt: skip
    TableSchema("weight", "public_weights", {"record_id": "text", "weight": "number"}),
    TableSchema("weight", "staff_weights", {"record_id": "text", "unit": "text", "weight": "number"}),
    TableSchema(
        "weight",
        "margins",
        {**_cols("variable category", "text"), **_cols("target achieved rel_error", "number")},
    ),
    TableSchema("weight", "diagnostics", {**_cols("instrument scope statistic", "text"), "value": "number"}),
    TableSchema(
        "reliability",
        "reliability",
        {
            **_cols("instrument scale scale_name statistic", "text"),
            **_cols("estimate se ci_low ci_high", "number"),
            "ci_method": "text",
            "confidence_level": "number",
            **_cols("n n_dropped", "int"),
            "n_eff": "number",
            "k": "int",
            "weighted": "bool",
            **_cols("missing_rule note", "text"),
        },
    ),  # fmt: skip
    TableSchema(
        "reliability",
        "items",
        {
            **_cols("instrument scale scale_name item", "text"),
            **_cols("weighted reversed", "bool"),
            **_cols("n n_dropped", "int"),
            **_cols("mean sd r_drop r_cor alpha_if_deleted scale_alpha", "number"),
            **_cols("flag_codes flags missing_rule note", "text"),
        },
    ),  # fmt: skip
    TableSchema(
        "reliability",
        "flags",
        {
            **_cols("instrument scale scale_name item flag_code reason", "text"),
            **_cols("value threshold", "number"),
            "weighted": "bool",
        },
    ),  # fmt: skip
    TableSchema(
        "reliability",
        "validity",
        {
            **_cols("instrument analysis item statistic", "text"),
            **_cols("estimate ci_low ci_high df pvalue", "number"),
            **_cols("n n_dropped", "int"),
            "note": "text",
        },
    ),  # fmt: skip
    TableSchema(
        "reliability",
        "loadings",
        {
            **_cols("instrument method item scale factor", "text"),
            "loading": "number",
            **_cols("primary_factor factor_scale", "text"),
            "misassigned": "bool",
            "flag": "text",
        },
    ),  # fmt: skip
    TableSchema(
        "reliability",
        "agreement",
        {
            **_cols("measure statistic", "text"),
            **_cols("estimate se ci_low ci_high", "number"),
            "ci_method": "text",
            "pvalue": "number",
            "n_files": "int",
            **_cols("n_raters n_dropped", "number"),
            "note": "text",
        },
    ),  # fmt: skip
    TableSchema(
        "reliability",
        "third_review",
        {
            **_cols("case_id unit case_type", "text"),
            "n_reviewers": "int",
            **_cols("score_1 score_2 score_diff tolerance", "number"),
            **_cols("grade_1 grade_2", "text"),
            **_cols("score_beyond_tolerance grades_differ veto_disputed", "bool"),
            "reason": "text",
        },
    ),  # fmt: skip
    TableSchema(
        "compare",
        "comparisons",
        {
            **_cols(
                "instrument family dv by test contrast group_a group_a_name group_b_name group_b level",
                "text",
            ),
            **RESULT,
        },
    ),  # fmt: skip
    TableSchema(
        "compare",
        "unit_vs_peers",
        {
            **_cols(
                "instrument family dv by test unit unit_name peer_group peer_group_name contrast group_a group_b "
                "level",
                "text",
            ),
            **_cols("mean_unit mean_rest", "number"),
            **RESULT,
            **_cols("below_peers above_peers", "bool"),
        },
    ),  # fmt: skip
    TableSchema(
        "compare",
        "adjusted",
        {
            **_cols("instrument family dv district district_name reference reference_name controls", "text"),
            **_cols(
                "unadjusted_diff unadjusted_se unadjusted_ci_low unadjusted_ci_high unadjusted_p adjusted_diff "
                "se ci_low ci_high statistic df p p_holm p_bh gap_change",
                "number",
            ),
            "n": "int",
            "n_eff": "number",
            "weighted": "bool",
            **_cols("flag reason", "text"),
        },
    ),  # fmt: skip
    TableSchema(
        "compare",
        "families",
        {
            **_cols("family table instrument dv by", "text"),
            "weighted": "bool",
            **_cols("kind tests", "text"),
            **_cols("n_rows n_tests n_groups", "int"),
            **_cols("holm_over description", "text"),
        },
    ),  # fmt: skip
    TableSchema(
        "describe",
        "frequencies",
        {
            **_cols("instrument by group item", "text"),
            "number": "int",
            **_cols("question row_text type", "text"),
            "option_code": "int",
            "option_label": "text",
            **_cols("missing_option ordered", "bool"),
            "n": "int",
            **_cols("percent se ci_low ci_high cum_percent", "number"),
            **_cols("n_valid n_dont_know n_skipped n_unanswered", "int"),
            "n_eff": "number",
            "weighted": "bool",
            **_cols("method flag reason", "text"),
        },
    ),  # fmt: skip
    TableSchema(
        "describe",
        "crosstabs",
        {
            **_cols("instrument by item", "text"),
            "number": "int",
            **_cols("question row_text", "text"),
            **_cols("statistic ndf ddf p pearson deff cramers_v", "number"),
            **_cols("n n_groups", "int"),
            "weighted": "bool",
            **_cols("flag reason", "text"),
        },
    ),  # fmt: skip
    TableSchema(
        "describe",
        "multiple",
        {
            **_cols("instrument by group item", "text"),
            "number": "int",
            **_cols("question row_text kind", "text"),
            "option_code": "int",
            "option_label": "text",
            "n": "int",
            **_cols("percent se ci_low ci_high response_percent", "number"),
            "n_valid": "int",
            **_cols("n_eff mean_chosen", "number"),
            "other_text_n": "int",
            "weighted": "bool",
            **_cols("flag reason", "text"),
        },
    ),  # fmt: skip
    TableSchema(
        "describe",
        "ranking",
        {
            **_cols("instrument by group item", "text"),
            "number": "int",
            **_cols("question row_text", "text"),
            "option_code": "int",
            **_cols("option_label measure", "text"),
            **_cols("k n n_valid", "int"),
            **_cols("estimate se ci_low ci_high n_eff", "number"),
            "weighted": "bool",
            **_cols("flag reason", "text"),
        },
    ),  # fmt: skip
    TableSchema(
        "describe",
        "scales",
        {
            **_cols("instrument variable kind name by group statistic", "text"),
            **_cols("estimate se ci_low ci_high", "number"),
            "n": "int",
            **_cols("n_eff threshold", "number"),
            "weighted": "bool",
            **_cols("flag reason", "text"),
        },
    ),  # fmt: skip
    TableSchema(
        "describe",
        "scale_bins",
        {
            **_cols("instrument variable name by group bin", "text"),
            **_cols("lower upper", "number"),
            "n": "int",
            **_cols("percent se ci_low ci_high", "number"),
            "n_valid": "int",
            "n_eff": "number",
            "weighted": "bool",
            **_cols("flag reason", "text"),
        },
    ),  # fmt: skip
    TableSchema(
        "describe",
        "quiz",
        {
            **_cols("instrument kind item question", "text"),
            "key": "int",
            **_cols("key_label by group", "text"),
            "score": "number",
            "n": "int",
            **_cols("percent se ci_low ci_high", "number"),
            "n_valid": "int",
            "n_eff": "number",
            "weighted": "bool",
            **_cols("flag reason", "text"),
        },
    ),  # fmt: skip
    TableSchema(
        "describe",
        "open_answers",
        {
            **_cols("instrument item", "text"),
            "number": "int",
            **_cols("question row_text source column", "text"),
            **_cols("n_respondents n_answers n_no_comment n_substantive", "int"),
            **_cols("mean_chars median_chars", "number"),
            **_cols("max_chars n_words n_distinct_words", "int"),
        },
    ),  # fmt: skip
    TableSchema(
        "describe",
        "open_answer_terms",
        {
            **_cols("instrument item", "text"),
            "number": "int",
            **_cols("question row_text source column kind", "text"),
            "rank": "int",
            "term": "text",
            "n": "int",
            "percent": "number",
            "occurrences": "int",
        },
    ),  # fmt: skip
    TableSchema(
        "describe",
        "open_answer_samples",
        {
            **_cols("instrument item", "text"),
            "number": "int",
            **_cols("question row_text source column", "text"),
            "rank": "int",
            "text": "text",
            "chars": "int",
        },
    ),  # fmt: skip
    TableSchema(
        "score",
        "point_sources",
        {
            **_cols("unit unit_type unit_name aspect item point source", "text"),
            **_cols("score se ci_low ci_high", "number"),
            "n": "int",
            **_cols("flag reason detail", "text"),
        },
    ),  # fmt: skip
    TableSchema(
        "score",
        "scores",
        {
            **_cols("unit unit_type level id parent name", "text"),
            **_cols("score se ci_low ci_high", "number"),
            "n": "int",
            "sources": "text",
            **_cols("coverage weight", "number"),
        },
    ),  # fmt: skip
    TableSchema(
        "score",
        "ranking",
        {
            **_cols("unit unit_name unit_type", "text"),
            **_cols("score coverage", "number"),
            **_cols(
                "rank rank_low rank_high tier rank_low_sampling rank_high_sampling rank_low_weights "
                "rank_high_weights rank_equal_weights n_units",
                "int",
            ),
        },
    ),  # fmt: skip
    TableSchema(
        "findings",
        "findings",
        {
            **_cols("id kind item unit aspect path member member_name member_type", "text"),
            **_cols("score ci_low ci_high n posterior", "number"),
            **_cols("evidence sources", "text"),
            "veto": "bool",
            "rule": "text",
            **_cols("n_affected n_applicable", "int"),
            **_cols("share gap severity", "number"),
            "rank": "int",
            **_cols("problem suggestion basis responsible closure status note", "text"),
        },
    ),  # fmt: skip
    TableSchema(
        "findings",
        "states",
        {
            **_cols("unit item", "text"),
            **_cols("posterior lfdr llr prior", "number"),
            "n_streams": "int",
            "common_posterior": "number",
        },
    ),  # fmt: skip
    TableSchema(
        "findings",
        "item_tests",
        {
            "item": "text",
            **_cols("share llr", "number"),
            **_cols("n_pieces n_corroborating", "int"),
            "corroborating": "text",
            **_cols("z p p_bh", "number"),
        },
    ),  # fmt: skip
]

#: (stage, table) → its schema.
SCHEMAS: dict[tuple[str, str], TableSchema] = {(s.stage, s.table): s for s in _SCHEMAS}


def schema(stage: str, table: str) -> TableSchema | None:
    """The schema of a stage table, or None for a table without one."""
    return SCHEMAS.get((stage, table))


def column_names(stage: str, table: str) -> list[str]:
    """The fixed columns of a stage table in the order the stage writes them (its writers select these)."""
    return list(SCHEMAS[(stage, table)].columns)


_EMPTY_DTYPES = {
    "text": "string",
    "number": "float64",
    "int": "Int64",
    "bool": "boolean",
    "datetime": "datetime64[ns]",
    "any": "object",
}


def empty_table(stage: str, table: str) -> pd.DataFrame:
    """A table of no rows with the fixed columns of its schema, each of its kind (what a stage writes when
    there is nothing to compute, e.g. no comparisons for an instrument without groupings)."""
    import pandas as pd

    columns = SCHEMAS[(stage, table)].columns
    return pd.DataFrame({name: pd.Series(dtype=_EMPTY_DTYPES[kind]) for name, kind in columns.items()})


def _accepts(kind: str, arrow_type: pa.DataType) -> bool:
    import pyarrow as pa

    t = arrow_type.value_type if pa.types.is_dictionary(arrow_type) else arrow_type
    if kind == "any" or pa.types.is_null(t):
        return True
    if kind == "text":
        return pa.types.is_string(t) or pa.types.is_large_string(t)
    if kind == "number":
        return pa.types.is_integer(t) or pa.types.is_floating(t)
    if kind == "int":
        return pa.types.is_integer(t)
    if kind == "bool":
        return pa.types.is_boolean(t)
    if kind == "datetime":
        return pa.types.is_timestamp(t) or pa.types.is_date(t)
    raise ValueError(f"unknown column kind {kind!r} (known: {', '.join(KINDS)})")


def check_table(
    path: Path,
    table_schema: TableSchema,
    *,
    config: Config | None = None,
    columns: Sequence[str] | None = None,
    optional: Iterable[str] = (),
    label: str | None = None,
) -> list[str]:
    """Check a parquet file's columns against ``table_schema`` before it is read.

    ``columns``: the columns the reader asks for (default: every column of the schema, the configured ones
    included); ``optional``: asked-for columns that may be absent. Of chosen columns, each must be present and
    the fixed ones must be of their kind. Raises one :class:`DataError` naming the file (``label``, default its path) and
    every column that is missing or of the wrong kind. Returns the file's column names, in order.
    """
    import pyarrow.parquet as pq

    present = pq.read_schema(path)
    names = set(present.names)
    # a full read checks every column, the configured ones included; a read of chosen columns checks that each
    # is there and the kind of the fixed ones (deriving the configured kinds runs the writing stage's code on
    # an empty export: not worth it for a few columns)
    expected = table_schema.expected(config if columns is None else None)
    wanted = list(expected) if columns is None else list(columns)
    optional = set(optional)
    problems = []
    for name in dict.fromkeys(wanted):
        if name not in names:
            if name not in optional:
                problems.append(f"{name} (缺失 missing)")
            continue
        kind = expected.get(name, "any")
        arrow_type = present.field(name).type
        if not _accepts(kind, arrow_type):
            problems.append(f"{name} (类型为 {arrow_type}，应为 {kind}; type {arrow_type}, expected {kind})")
    if problems:
        raise DataError(
            f"{label or path}: 列缺失或类型不符，请重新运行生成它的阶段 (missing or mistyped columns; re-run the "
            f"stage that writes it): {'; '.join(problems)}"
        )
    return present.names
