"""Load and validate the configuration directory (``questionnaires/``).

``load_config(path)`` reads every YAML file, validates each against its model, runs the cross-file checks,
and either returns a :class:`Config` or raises :class:`~pipeline.errors.ConfigError` listing **every** problem,
each as ``file.yaml: key.path: message``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from pipeline.config.analysis import Analysis
from pipeline.config.cleaning import CleaningRules
from pipeline.config.codebook import Codebook
from pipeline.config.findings import FindingsReview, FindingsRules
from pipeline.config.models import (
    CasefileStandard,
    IndicatorSystem,
    Population,
    Questionnaire,
    Suggestions,
    Units,
)
from pipeline.config.plan import InstrumentPlan, analysis_plan
from pipeline.config.report import ReportSettings
from pipeline.errors import ConfigError

#: file name → model, in the order they are loaded and reported.
FILES: dict[str, type[BaseModel]] = {
    "public.yaml": Questionnaire,
    "staff.yaml": Questionnaire,
    "casefile.yaml": CasefileStandard,
    "indicators.yaml": IndicatorSystem,
    "units.yaml": Units,
    "population.yaml": Population,
    "suggestions.yaml": Suggestions,
    "cleaning.yaml": CleaningRules,
    "analysis.yaml": Analysis,
    "findings.yaml": FindingsRules,
    "findings_review.yaml": FindingsReview,
    "report.yaml": ReportSettings,
}
#: Files that may be absent: a survey needs only its questionnaire. Without ``cleaning.yaml`` or
#: ``analysis.yaml`` the defaults apply; the stages that need the others skip what needs them and say so.
OPTIONAL_FILES = frozenset(FILES) - {"public.yaml", "staff.yaml"}
QUESTIONNAIRE_FILES = ("public.yaml", "staff.yaml")
# Files only the reporting stages read (suggestion templates, report settings): a change to them re-runs the
# stages that declare them (``REPORT_CONFIG`` in a stage module) and reuses ingest … compare.
REPORT_FILES = frozenset({"suggestions.yaml", "findings.yaml", "findings_review.yaml", "report.yaml"})
#: Optional files whose absence (or emptiness) means their model's defaults.
DEFAULTED_FILES = ("cleaning.yaml", "analysis.yaml", "findings.yaml", "findings_review.yaml", "report.yaml")


@dataclass(frozen=True)
class Config:
    """The whole validated configuration."""

    directory: Path
    public: Questionnaire | None
    staff: Questionnaire | None
    casefile: CasefileStandard | None
    indicators: IndicatorSystem | None
    units: Units | None
    population: Population | None
    suggestions: Suggestions | None
    digest: str = field(compare=False)
    """SHA-256 over the bytes of every configuration file, in file-name order."""
    cleaning: CleaningRules = field(default_factory=CleaningRules)
    analysis_digest: str = field(default="", compare=False)
    """SHA-256 as ``digest`` over the files the analysis stages read (all but ``REPORT_FILES``)."""
    file_digests: dict[str, str] = field(default_factory=dict, compare=False)
    """SHA-256 of each configuration file's bytes (file name → hex digest)."""
    analysis: Analysis = field(default_factory=Analysis)
    findings: FindingsRules = field(default_factory=FindingsRules)
    """findings.yaml: thresholds of the problem inference (defaults when absent)."""
    findings_review: FindingsReview = field(default_factory=FindingsReview)
    """findings_review.yaml: the evaluators' decisions on the findings (none when absent)."""
    report: ReportSettings = field(default_factory=ReportSettings)
    """report.yaml: the appendix's title page and the units' notices (defaults when absent)."""
    warnings: tuple[str, ...] = field(default=(), compare=False)
    """What ``validate`` warns about without refusing (e.g. an item on a response set without scoring)."""

    def questionnaire(self, instrument: str) -> Questionnaire | None:
        return {"public": self.public, "staff": self.staff}[instrument]

    @property
    def instruments(self) -> tuple[str, ...]:
        """The configured questionnaires (``public``, ``staff``), in that order."""
        return tuple(i for i in ("public", "staff") if self.questionnaire(i) is not None)

    @property
    def codebooks(self) -> dict[str, Codebook]:
        return {i: self.codebook(i) for i in self.instruments}

    def codebook(self, instrument: str) -> Codebook:
        """The flattened questionnaire of ``instrument`` (built once)."""
        cache = self.__dict__.setdefault("_codebooks", {})
        if instrument not in cache:
            q = self.questionnaire(instrument)
            if q is None:
                raise ConfigError(
                    [f"{instrument}.yaml: 未配置此问卷 (questionnaire not configured in {self.directory})"]
                )
            cache[instrument] = Codebook.from_config(q, self.units)
        return cache[instrument]

    @cached_property
    def plans(self) -> dict[str, InstrumentPlan]:
        """The resolved analysis of each instrument (:func:`pipeline.config.plan.analysis_plan`)."""
        return {i: analysis_plan(self, i) for i in ("public", "staff", "casefile")}

    def plan(self, instrument: str) -> InstrumentPlan:
        return self.plans[instrument]


def format_loc(file: str, loc: tuple[Any, ...] | list[Any], document: Any = None) -> str:
    """``file.yaml: key.path`` from a pydantic/yaml location tuple, for people: list positions count from 1 and,
    when ``document`` (the file's parsed YAML or its model) is given, name what sits there — a question by its
    number and item id, a row or scale by its id, an option by its code.

    >>> format_loc("public.yaml", ("questions", 9, "rows", 11, "text"))
    'public.yaml: questions 第10项.rows 第12项.text'
    """
    path, node = "", document
    for part in loc:
        if isinstance(part, int):
            node = _child(node, part)
            label = _label(node)
            path += f" 第{part + 1}项" + (f" ({label})" if label else "")
        else:
            node = _child(node, part)
            path += ("." if path else "") + str(part)
    return f"{file}: {path}" if path else file


def _child(node: Any, key: Any) -> Any:
    if node is None:
        return None
    if isinstance(node, dict):
        return node.get(key)
    if isinstance(node, list | tuple):
        return node[key] if isinstance(key, int) and 0 <= key < len(node) else None
    return getattr(node, key if key != "in" else "in_", None)


def _label(node: Any) -> str:
    """What a list entry is called: ``第10题 P25`` for a question, the id, code or item of anything else."""

    def get(key: str) -> Any:
        return node.get(key) if isinstance(node, dict) else getattr(node, key, None)

    if node is None or isinstance(node, str | int | float):
        return ""
    parts = []
    if get("type") is not None and get("text") is not None and get("number") is not None:
        parts.append(f"第{get('number')}题")
    for key in ("id", "code", "item"):
        value = get(key)
        if value is not None and not isinstance(value, dict | list):
            parts.append(str(value))
            break
    return " ".join(parts)


#: pydantic error type → a Chinese message first (the English gloss after it); ``{…}`` from the error's ctx.
_MESSAGES = {
    "missing": "缺少必填项 (field required)",
    "extra_forbidden": "未知的键，可能拼写有误 (unknown key: a typo?)",
    "string_pattern_mismatch": "只能包含字母、数字和 _ . - (letters, digits, '_', '.', '-' only)",
    "string_too_short": "不能为空 (must not be empty)",
    "string_type": "应为文字 (must be text)",
    "int_parsing": "应为整数 (must be a whole number)",
    "int_type": "应为整数 (must be a whole number)",
    "int_from_float": "应为整数 (must be a whole number)",
    "float_parsing": "应为数字 (must be a number)",
    "float_type": "应为数字 (must be a number)",
    "bool_parsing": "应为 true 或 false (must be true or false)",
    "bool_type": "应为 true 或 false (must be true or false)",
    "list_type": "应为列表 (must be a list)",
    "dict_type": "应为映射 (must be a mapping of keys to values)",
    "model_type": "应为映射 (must be a mapping of keys to values)",
    "literal_error": "应为 {expected} 之一 (must be one of these)",
    "too_short": "至少需要 {min_length} 项 (needs at least {min_length})",
    "greater_than": "应大于 {gt} (must be greater than {gt})",
    "greater_than_equal": "应不小于 {ge} (must be at least {ge})",
    "less_than": "应小于 {lt} (must be less than {lt})",
    "less_than_equal": "应不大于 {le} (must be at most {le})",
}


def error_message(err: dict[str, Any]) -> str:
    """A pydantic error in words for people: Chinese first, the English gloss in parentheses; our own
    validators' messages (already Chinese first) without pydantic's ``Value error,`` prefix."""
    kind = err.get("type", "")
    if kind == "value_error":
        return str(err["msg"]).removeprefix("Value error, ")
    template = _MESSAGES.get(kind)
    if template is None:
        return str(err["msg"])
    try:
        return template.format(**(err.get("ctx") or {}))
    except (KeyError, IndexError):
        return str(err["msg"])


_UNREADABLE = object()


_ABSENT = object()


def _read_yaml(path: Path, problems: list[str]) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return _ABSENT
    except UnicodeDecodeError as exc:
        problems.append(f"{path.name}: 不是 UTF-8 编码 (not UTF-8: {exc.reason} at byte {exc.start})")
        return _UNREADABLE
    try:
        # libyaml's C loader is ~10x faster than the pure-Python one on these files; same safe subset
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problems.append(f"{path.name}: YAML 语法错误{where}: {getattr(exc, 'problem', exc)}")
        return _UNREADABLE


def _validate(file: str, data: Any, model: type[BaseModel], problems: list[str]) -> BaseModel | None:
    if not isinstance(data, dict):
        problems.append(f"{file}: 顶层应为映射 (top level must be a mapping, got {type(data).__name__})")
        return None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = [p for p in err["loc"] if not (isinstance(p, str) and _internal(p))]
            problems.append(f"{format_loc(file, loc, data)}: {error_message(err)}")
        return None


def _internal(part: str) -> bool:
    """pydantic's own steps in an error location (validator and union-branch names), not YAML keys."""
    return part.startswith(("function-", "literal[")) or part in ("int", "str", "list[str]", "float")


def config_digest(directory: Path, names: Iterable[str] | None = None) -> str:
    """SHA-256 over the named configuration files (default: all), each as its name then its bytes."""
    h = hashlib.sha256()
    for name in sorted(FILES if names is None else names):
        p = directory / name
        h.update(name.encode())
        h.update(p.read_bytes() if p.exists() else b"")
    return h.hexdigest()


def load_config(directory: str | Path = "questionnaires") -> Config:
    """Load, validate and cross-check the configuration; raise ConfigError listing every problem."""
    from pipeline.config.checks import cross_check

    directory = Path(directory)
    if not directory.is_dir():
        raise ConfigError([f"{directory}: 配置目录不存在 (configuration directory not found)"])
    problems: list[str] = []
    models: dict[str, BaseModel | None] = {}
    absent: set[str] = set()
    for name, model in FILES.items():
        data = _read_yaml(directory / name, problems)
        if data is _ABSENT or (data is None and name in DEFAULTED_FILES):
            absent.add(name)
            models[name] = model() if name in DEFAULTED_FILES else None
            continue
        models[name] = None if data is _UNREADABLE else _validate(name, data, model, problems)
    if all(name in absent for name in QUESTIONNAIRE_FILES):
        problems.append(
            f"{directory}: 没有问卷文件：至少需要 public.yaml 或 staff.yaml (no questionnaire: give public.yaml "
            "or staff.yaml; `fazhi-eval codebook draft` writes one from a 问卷星 export)"
        )
    for name in QUESTIONNAIRE_FILES:
        q = models.get(name)
        expected = name.removesuffix(".yaml")
        if isinstance(q, Questionnaire) and q.instrument != expected:
            problems.append(
                f"{name}: instrument: 应为 '{expected}' (should be '{expected}'), got '{q.instrument}'"
            )
    if all(models[name] is not None for name in FILES if name not in absent):
        present = [f for f in FILES if f not in absent]
        config = Config(
            directory=directory,
            public=models["public.yaml"],  # type: ignore[arg-type]
            staff=models["staff.yaml"],  # type: ignore[arg-type]
            casefile=models["casefile.yaml"],  # type: ignore[arg-type]
            indicators=models["indicators.yaml"],  # type: ignore[arg-type]
            units=models["units.yaml"],  # type: ignore[arg-type]
            population=models["population.yaml"],  # type: ignore[arg-type]
            suggestions=models["suggestions.yaml"],  # type: ignore[arg-type]
            digest=config_digest(directory),
            analysis_digest=config_digest(directory, [f for f in FILES if f not in REPORT_FILES]),
            file_digests={f: hashlib.sha256((directory / f).read_bytes()).hexdigest() for f in present},
            cleaning=models["cleaning.yaml"],  # type: ignore[arg-type]
            analysis=models["analysis.yaml"],  # type: ignore[arg-type]
            findings=models["findings.yaml"],  # type: ignore[arg-type]
            findings_review=models["findings_review.yaml"],  # type: ignore[arg-type]
            report=models["report.yaml"],  # type: ignore[arg-type]
        )
        found, warned = cross_check(config)
        problems.extend(found)
        object.__setattr__(config, "warnings", tuple(warned))
    else:
        config = None
    if problems:
        raise ConfigError(problems)
    return config  # type: ignore[return-value]
