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

from pipeline.config.cleaning import CleaningRules
from pipeline.config.codebook import Codebook
from pipeline.config.models import (
    CasefileStandard,
    IndicatorSystem,
    Population,
    Questionnaire,
    Suggestions,
    Units,
)
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
}
# Files only the reporting stages read (suggestion templates, report settings): a change to them re-runs the
# stages that declare them (``REPORT_CONFIG`` in a stage module) and reuses ingest … compare.
REPORT_FILES = frozenset({"suggestions.yaml"})


@dataclass(frozen=True)
class Config:
    """The whole validated configuration."""

    directory: Path
    public: Questionnaire
    staff: Questionnaire
    casefile: CasefileStandard
    indicators: IndicatorSystem
    units: Units
    population: Population
    suggestions: Suggestions
    digest: str = field(compare=False)
    """SHA-256 over the bytes of every configuration file, in file-name order."""
    cleaning: CleaningRules = field(default_factory=CleaningRules)
    analysis_digest: str = field(default="", compare=False)
    """SHA-256 as ``digest`` over the files the analysis stages read (all but ``REPORT_FILES``)."""
    file_digests: dict[str, str] = field(default_factory=dict, compare=False)
    """SHA-256 of each configuration file's bytes (file name → hex digest)."""

    def questionnaire(self, instrument: str) -> Questionnaire:
        return {"public": self.public, "staff": self.staff}[instrument]

    @cached_property
    def codebooks(self) -> dict[str, Codebook]:
        return {q.instrument: Codebook.from_config(q, self.units) for q in (self.public, self.staff)}

    def codebook(self, instrument: str) -> Codebook:
        return self.codebooks[instrument]


def format_loc(file: str, loc: tuple[Any, ...] | list[Any]) -> str:
    """``file.yaml: a.b[3].c`` from a pydantic/yaml location tuple."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += ("." if path else "") + str(part)
    return f"{file}: {path}" if path else file


_UNREADABLE = object()


def _read_yaml(path: Path, problems: list[str]) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        problems.append(f"{path.name}: 文件不存在 (file not found in {path.parent})")
        return _UNREADABLE
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
            loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-after"))]
            problems.append(f"{format_loc(file, loc)}: {err['msg']}")
        return None


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
    for name, model in FILES.items():
        data = _read_yaml(directory / name, problems)
        models[name] = None if data is _UNREADABLE else _validate(name, data, model, problems)
    for name in ("public.yaml", "staff.yaml"):
        q = models.get(name)
        expected = name.removesuffix(".yaml")
        if isinstance(q, Questionnaire) and q.instrument != expected:
            problems.append(f"{name}: instrument: should be '{expected}', got '{q.instrument}'")
    if all(m is not None for m in models.values()):
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
            file_digests={f: hashlib.sha256((directory / f).read_bytes()).hexdigest() for f in FILES},
            cleaning=models["cleaning.yaml"],  # type: ignore[arg-type]
        )
        problems.extend(cross_check(config))
    else:
        config = None
    if problems:
        raise ConfigError(problems)
    return config  # type: ignore[return-value]
