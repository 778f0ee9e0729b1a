"""What the analysis stages will do for one instrument: ``analysis.yaml`` resolved against the questionnaires.

:func:`analysis_plan` turns the names of :mod:`pipeline.config.analysis` into the columns of the 02_clean
tables, and records every declaration it cannot honour: a **problem** when the declaration is wrong (an outcome
naming an item that is not scored, raking on a variable without population margins) and a **skip** when the
data simply lack it (no district question → no district comparisons and no raking on district), each with its
reason. ``fazhi-eval validate`` prints both; the stages run the plan and write the skips into the run report.

Example
-------
>>> plan = analysis_plan(config, "public")                          # doctest: +SKIP
>>> plan.groupings[:2], plan.scored[:3], plan.weighting
(('district', 'gender'), ('PG', 'LE', 'JS'), 'raking')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pipeline.config.analysis import DEFAULTS, InstrumentAnalysis

if TYPE_CHECKING:
    from pipeline.config.codebook import Codebook
    from pipeline.config.loader import Config

SI = "SI"
SCALES = "scales"
INDICATOR_ITEMS = "indicator_items"
VARIABLES = "variables"
DERIVED_PREFIXES = ("basic_satisfied_", "satisfied_", "aware_")
CASEFILE_COLUMNS = {"score": "scored", "grade": "categorical", "veto": "categorical"}
CASEFILE_GROUPINGS = ("unit_type", "district", "case_type")
STAFF_UNIT_GROUPINGS = ("unit_type", "district")
"""Staff groupings derived from the respondent's unit (``units.yaml``), not asked."""


@dataclass(frozen=True)
class Skip:
    """A declared analysis that will not run, and why (for the run report)."""

    what: str
    reason: str

    def line(self) -> str:
        return f"{self.what}: {self.reason}"


@dataclass(frozen=True)
class AdjustedPlan:
    by: str
    controls: tuple[str, ...]
    outcomes: tuple[str, ...]


@dataclass(frozen=True)
class InstrumentPlan:
    """One instrument's analysis, as 02_clean column names."""

    instrument: str
    available: bool
    """The instrument is configured (its questionnaire, or for case files the standard, exists)."""
    weighting: str = "none"
    weight_on: tuple[str | tuple[str, ...], ...] = ()
    groupings: tuple[str, ...] = ()
    scored: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()
    peer_outcomes: tuple[str, ...] = ()
    unit_vs_peers: bool = False
    adjusted: AdjustedPlan | None = None
    skipped: tuple[Skip, ...] = ()
    problems: tuple[str, ...] = field(default=(), compare=False)

    @property
    def weight_variables(self) -> list[str]:
        """Every variable weighted on (an interaction's parts one by one)."""
        return list(
            dict.fromkeys(v for key in self.weight_on for v in ([key] if isinstance(key, str) else key))
        )


def analysis_plan(config: Config, instrument: str) -> InstrumentPlan:
    """The analysis of ``instrument`` (``public``, ``staff`` or ``casefile``) that the configuration declares,
    resolved against its questionnaire; see the module docstring."""
    section = config.analysis.section(instrument)
    if instrument == "casefile":
        return _casefile_plan(config, section)
    q = config.questionnaire(instrument)
    if q is None:
        return InstrumentPlan(instrument, available=False)
    return _Resolver(config, instrument, section).plan()


def _casefile_plan(config: Config, section: InstrumentAnalysis) -> InstrumentPlan:
    if config.casefile is None:
        return InstrumentPlan("casefile", available=False)
    defaults = DEFAULTS["casefile"]
    file = "analysis.yaml: casefile"
    problems: list[str] = []
    for key in ("weighting", "weight_on", "adjusted"):
        if getattr(section, key) is not None:
            problems.append(
                f"{file}.{key}: 案卷评查不加权、不做调整后差距，请删去此项 (not used for case files)"
            )
    groupings = section.groupings if section.groupings is not None else list(defaults["groupings"])  # type: ignore[call-overload]
    for g in groupings:
        if g not in CASEFILE_GROUPINGS:
            problems.append(
                f"{file}.groupings: 案卷只能按 {', '.join(CASEFILE_GROUPINGS)} 分组，不认识 '{g}'"
            )
    scored = section.outcomes.scored if section.outcomes.scored is not None else list(defaults["scored"])  # type: ignore[call-overload]
    categorical = (
        section.outcomes.categorical
        if section.outcomes.categorical is not None
        else list(defaults["categorical"])  # type: ignore[call-overload]
    )
    for kind, names in (("scored", scored), ("categorical", categorical)):
        for name in names:
            if CASEFILE_COLUMNS.get(name) != kind:
                known = ", ".join(c for c, k in CASEFILE_COLUMNS.items() if k == kind)
                problems.append(f"{file}.outcomes.{kind}: 案卷的此类结果只有 {known}，不认识 '{name}'")
    peers = section.unit_vs_peers
    declared = peers.outcomes if peers.outcomes is not None else list(defaults["peer_outcomes"])  # type: ignore[call-overload]
    for name in declared:
        if CASEFILE_COLUMNS.get(name) != "scored":
            problems.append(f"{file}.unit_vs_peers.outcomes: 案卷单位对比只有 score，不认识 '{name}'")
    peer_outcomes = tuple(name for name in declared if CASEFILE_COLUMNS.get(name) == "scored")
    return InstrumentPlan(
        "casefile",
        available=True,
        groupings=tuple(g for g in groupings if g in CASEFILE_GROUPINGS),
        scored=tuple(s for s in scored if CASEFILE_COLUMNS.get(s) == "scored"),
        categorical=tuple(c for c in categorical if CASEFILE_COLUMNS.get(c) == "categorical"),
        peer_outcomes=peer_outcomes,
        unit_vs_peers=peers.enabled and config.units is not None,
        problems=tuple(problems),
    )


class _Resolver:
    """Resolves one questionnaire section; collects problems and skips as it goes."""

    def __init__(self, config: Config, instrument: str, section: InstrumentAnalysis):
        self.config, self.instrument, self.section = config, instrument, section
        self.defaults = DEFAULTS[instrument]
        self.cb: Codebook = config.codebook(instrument)
        self.file = f"analysis.yaml: {instrument}"
        self.problems: list[str] = []
        self.skipped: list[Skip] = []
        q = self.cb.questionnaire
        self.scales = [s.id for s in q.scales]
        self.scored_ids = {it.id for it in _scored(self.cb)}
        self.variables = {
            it.variable: it for it in self.cb.items if it.variable is not None and it.type == "single"
        }
        self.has_unit = "unit" in self.variables and config.units is not None

    def skip(self, what: str, reason: str) -> None:
        self.skipped.append(Skip(what, reason))

    # ---------------------------------------------------------------------------------------- groupings
    def grouping_names(self) -> list[str]:
        if self.instrument == "staff":
            derived = list(STAFF_UNIT_GROUPINGS) if self.has_unit else []
            asked = [v for v in self.variables if v != "unit"]
        else:
            derived, asked = [], list(self.variables)
        out = []
        for name in (
            self.section.groupings if self.section.groupings is not None else self.defaults["groupings"]
        ):  # type: ignore[attr-defined]
            out += (derived + asked) if name == VARIABLES else [name]
        return list(dict.fromkeys(out))

    def grouping(self, name: str, where: str) -> str | None:
        if self.instrument == "staff" and name in STAFF_UNIT_GROUPINGS:
            if self.has_unit:
                return name
            reason = "问卷没有单位题 (variable: unit)" if "unit" not in self.variables else "没有 units.yaml"
            self.skip(f"{self.instrument} {where} {name}", f"{reason}，不按 {name} 分组")
            return None
        if name in self.variables:
            return name
        self.skip(
            f"{self.instrument} {where} {name}",
            f"问卷中没有 variable 为 {name} 的单选题，跳过 (no single-choice question with variable '{name}')",
        )
        return None

    # ---------------------------------------------------------------------------------------- outcomes
    def scored_outcome(self, name: str, where: str) -> list[str]:
        if name == SCALES:
            if not self.scales:
                self.skip(f"{self.instrument} {where} scales", "问卷没有定义量表 (no scales declared)")
            return list(self.scales)
        if name == SI:
            if not self.scales:
                self.skip(f"{self.instrument} {where} SI", "满意度指数需要量表，问卷没有定义量表 (no scales)")
                return []
            return [SI]
        if name in self.scales:
            return [name]
        if name == "quiz_score":
            if self.cb.questionnaire.quiz:
                return [name]
            self.skip(f"{self.instrument} {where} quiz_score", "问卷没有知识测试题 (no quiz declared)")
            return []
        if name == INDICATOR_ITEMS and where == "unit_vs_peers":
            return [f"{it.id}_score" for it in _scored(self.cb) if it.feeds]
        item_id = name.removesuffix("_score")
        if item_id in self.cb:
            if item_id in self.scored_ids:
                return [f"{item_id}_score"]
            self.problems.append(
                f"{self.file}.{where}: 题目 {item_id} 不计分，不能作为连续结果 (item '{item_id}' is not scored: "
                "give its response set or options a 'scoring', or compare it as categorical)"
            )
            return []
        self.skip(f"{self.instrument} {where} {name}", f"问卷中没有量表或题目 {name}，跳过 (unknown outcome)")
        return []

    def categorical_outcome(self, name: str, where: str) -> list[str]:
        for prefix in DERIVED_PREFIXES:
            if name.startswith(prefix):
                item_id = name.removeprefix(prefix)
                if item_id not in self.cb:
                    break
                if item_id not in self.scored_ids:
                    self.problems.append(
                        f"{self.file}.{where}: {name} 需要题目 {item_id} 计分 (item '{item_id}' is not scored)"
                    )
                    return []
                if prefix == "aware_" and not self.cb.item(item_id).missing_codes:
                    self.problems.append(
                        f"{self.file}.{where}: {name} 需要题目 {item_id} 有“不了解”类选项 (no 'missing' option)"
                    )
                    return []
                return [name]
        if name in self.variables:
            return [name]
        if name in self.cb:
            item = self.cb.item(name)
            if item.type in ("single", "matrix"):
                return [item.variable or item.id]
            self.problems.append(
                f"{self.file}.{where}: 题目 {name} 是{item.type}题，只有单选题和矩阵行可作分类结果 "
                f"(only single-choice and matrix items)"
            )
            return []
        self.skip(f"{self.instrument} {where} {name}", f"问卷中没有题目或变量 {name}，跳过 (unknown outcome)")
        return []

    def outcomes(self, names: list[str], where: str, resolve) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c for n in names for c in resolve(n, where)))

    # ---------------------------------------------------------------------------------------- weighting
    def weighting(self) -> tuple[str, tuple[str | tuple[str, ...], ...]]:
        method = self.section.weighting or self.defaults["weighting"]
        if method == "none":
            return "none", ()
        if self.instrument == "staff":
            if method == "raking":
                self.problems.append(
                    f"{self.file}.weighting: 公职人员问卷按单位编制人数加权，只能是 cells 或 none "
                    "(staff weights are unit headcount cells: 'cells' or 'none')"
                )
            if self.section.weight_on not in (None, ["unit"]):
                self.problems.append(
                    f"{self.file}.weight_on: 公职人员问卷只能按单位编制人数加权 (staff weights: unit headcounts)"
                )
            if not self.has_unit:
                self.skip("staff weighting", "没有单位题或 units.yaml，不加权 (equal weights)")
                return "none", ()
            return "cells", ("unit",)
        population = self.config.population
        declared = self.section.weight_on
        if declared is None:
            if population is None:
                self.skip(
                    "public weighting", "没有 population.yaml，不加权 (no population margins: equal weights)"
                )
                return "none", ()
            declared = list(population.rake_on)
        keys: list[str | tuple[str, ...]] = []
        for key in declared:
            parts = (key,) if isinstance(key, str) else tuple(key)
            missing = [v for v in parts if v not in self.variables]
            if missing:
                self.skip(
                    f"public weighting on {'×'.join(parts)}",
                    f"问卷中没有 variable {', '.join(missing)}，不按其加权 (not asked)",
                )
                continue
            keys.append(parts[0] if len(parts) == 1 else parts)
        if population is None:
            self.problems.append(
                f"{self.file}.weighting: {method} 需要 population.yaml 的人口边际 (needs margins)"
            )
            return "none", ()
        margins = {
            (m.variable,) if isinstance(m.variable, str) else tuple(m.variable) for m in population.margins
        }
        for key in keys:
            parts = (key,) if isinstance(key, str) else key
            if parts not in margins:
                self.problems.append(
                    f"{self.file}.weight_on: population.yaml 没有 {'×'.join(parts)} 的边际 (no margin for it)"
                )
        if method == "cells" and len(keys) > 1:
            self.problems.append(
                f"{self.file}.weight_on: cells 加权只按一个变量或一个交互 (one variable or one interaction); "
                "多个边际请用 raking"
            )
        if not keys:
            self.skip("public weighting", "没有可用的加权变量，不加权 (equal weights)")
            return "none", ()
        return method, tuple(keys)

    # ---------------------------------------------------------------------------------------- the plan
    def plan(self) -> InstrumentPlan:
        d, s = self.defaults, self.section
        groupings = tuple(g for g in (self.grouping(n, "groupings") for n in self.grouping_names()) if g)
        scored = self.outcomes(
            s.outcomes.scored if s.outcomes.scored is not None else d["scored"],
            "outcomes.scored",
            self.scored_outcome,
        )  # type: ignore[arg-type]
        categorical = self.outcomes(
            s.outcomes.categorical if s.outcomes.categorical is not None else d["categorical"],  # type: ignore[arg-type]
            "outcomes.categorical",
            self.categorical_outcome,
        )
        peer_unit = "district" if self.instrument == "public" else "unit"
        peers = s.unit_vs_peers.enabled
        if peers and not (peer_unit in self.variables and self.config.units is not None):
            self.skip(
                f"{self.instrument} unit_vs_peers",
                f"问卷没有{'县区' if peer_unit == 'district' else '单位'}题或没有 units.yaml，不做单位对比",
            )
            peers = False
        peer_outcomes = (
            self.outcomes(
                s.unit_vs_peers.outcomes if s.unit_vs_peers.outcomes is not None else d["peer_outcomes"],  # type: ignore[arg-type]
                "unit_vs_peers",
                self.scored_outcome,
            )
            if peers
            else ()
        )
        weighting, weight_on = self.weighting()
        return InstrumentPlan(
            self.instrument,
            available=True,
            weighting=weighting,
            weight_on=weight_on,
            groupings=groupings,
            scored=scored,
            categorical=categorical,
            peer_outcomes=peer_outcomes,
            unit_vs_peers=peers,
            adjusted=self.adjusted(),
            skipped=tuple(self.skipped),
            problems=tuple(self.problems),
        )

    def adjusted(self) -> AdjustedPlan | None:
        declared = self.section.adjusted
        default = self.defaults["adjusted"]
        if declared is None and default is None:
            return None
        if declared is not None and not declared.enabled:
            return None
        if self.instrument != "public":
            self.problems.append(f"{self.file}.adjusted: 调整后差距只用于公众问卷 (public survey only)")
            return None
        by = declared.by if declared is not None else default["by"]  # type: ignore[index]
        if self.grouping(by, "adjusted.by") is None:
            return None
        controls = (
            declared.controls
            if declared is not None and declared.controls is not None
            else default["controls"]
        )  # type: ignore[index]
        outcomes = (
            declared.outcomes
            if declared is not None and declared.outcomes is not None
            else default["outcomes"]
        )  # type: ignore[index]
        present = tuple(c for c in (self.grouping(c, "adjusted.controls") for c in controls) if c and c != by)
        resolved = self.outcomes(list(outcomes), "adjusted.outcomes", self.scored_outcome)
        if not present or not resolved:
            self.skip("public adjusted", "没有可用的控制变量或结果，不做调整后差距 (nothing to adjust)")
            return None
        return AdjustedPlan(by=by, controls=present, outcomes=resolved)


def _scored(cb: Codebook):
    from pipeline.clean.items import scored_items

    return scored_items(cb)
