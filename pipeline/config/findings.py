"""Models of ``questionnaires/findings.yaml`` (how problems are inferred and classed) and
``questionnaires/findings_review.yaml`` (the evaluators' decisions on the machine findings).

Both files are optional: without ``findings.yaml`` every threshold has the default documented here (taken from
docs/BACKGROUND.md §4); without ``findings_review.yaml`` the machine findings are reported as they are. The pass
line is not repeated here: it stays ``pass_score`` of each observation point in ``indicators.yaml``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from pipeline.config.models import Model


class FindingsRules(Model):
    """findings.yaml: thresholds of the problem inference (``pipeline.findings``)."""

    fdr: float = Field(default=0.10, gt=0, lt=1)
    """Bayesian false-discovery rate of the unit × item problem states reported: cells are taken by decreasing
    posterior probability while the mean local fdr (1 − posterior) of those taken stays at most this."""
    min_posterior: float = Field(default=0.5, gt=0, lt=1)
    """A cell is a problem state only if its posterior probability is at least this (also inside the FDR set);
    the units of a common problem are the cells of its item at or above it, and those whose item-mixture
    evidence favours the problem state (likelihood ratio above 1; pipeline/findings/rules.py)."""
    individual_posterior: float = Field(default=0.9, ge=0, le=1)
    """An individual problem also needs its own posterior at least this (local fdr ≤ 1 − this): the ``fdr``
    bound holds for the list on average, and cells reported with near certainty would otherwise carry a
    marginal one that names a unit on weak evidence."""
    common_share: float = Field(default=0.30, gt=0, le=1)
    """A problem present in at least this share of the units its item applies to is common (共性问题)."""
    common_districts: int = Field(default=3, ge=1)
    """… or present in at least this many districts (县区) is common."""
    city_sources: int = Field(default=2, ge=1)
    """… or at city level: the item-wide excess of problems over the units' baselines is significant in at least
    this many independent evidence streams (a checkpoint source, a case-file category, a questionnaire)."""
    city_alpha: float = Field(default=0.01, gt=0, lt=1)
    """Benjamini–Hochberg level of the item-wide excess tests (over every item × evidence stream)."""
    common_llr: float = Field(default=3.0, ge=0)
    """… or its item-level mixture test passes: the log-likelihood ratio of "a share of its units is in the problem
    state" against "none", without the largest unit contribution, is at least this (with at least
    ``city_min_units`` affected units). The bundled findings.yaml uses 3.5 (with ``city_alpha`` 0.005 and ``fdr``
    0.03): it keeps the simulated runs with nothing planted at most one common problem and no individual one
    outside the worst cells (bench/recovery_bench.py)."""
    city_min_units: int = Field(default=3, ge=1)
    """A city-level common problem needs at least this many affected units (cells at ``min_posterior``)."""
    min_effect: float = Field(default=0.2, ge=0)
    """Smallest standardized effect (|Hedges' g| or weighted standardized difference, 05_compare unit_vs_peers)
    a survey gap must reach to count as evidence of a problem."""
    survey_alpha: float = Field(default=0.05, gt=0, lt=1)
    """BH-adjusted p (``p_bh`` of unit_vs_peers) below which a survey gap is called significant in the evidence."""
    bad_ratings: list[str] = Field(default_factory=lambda: ["部分落实", "未落实"])
    """Checkpoint ratings that count as a failed checkpoint (the others, 完全落实/基本落实, as passed)."""
    baseline_strength: float = Field(default=20, gt=0)
    """Prior strength (pseudo-ratings) shrinking a unit's own failure rate toward the city's (small units)."""
    prior_strength: float = Field(default=10, gt=0)
    """Prior strength (pseudo-units) shrinking an item's share of affected units toward the overall share."""
    casefile_unit_spread: float = Field(default=0.3, ge=0)
    """Largest spread (coefficient of variation) of the units' own levels of case-file defects that the model
    fits; the unit factor's shape κ is at least 1 / spread². A larger spread lets more of a unit's excess of
    defects pass as its general level rather than a problem (pipeline/findings/defects.py); 0 = no bound."""
    veto_always_individual: bool = False
    """True: every unit with a veto-level case file gets an individual problem on the veto's item whatever the
    other evidence (the strict reading of §4); False (default): a veto is strong evidence in the cell."""
    max_common: int = Field(default=0, ge=0)
    """Keep at most this many common problems in the report (0 = all; the source evaluation reported 12)."""
    max_individual: int = Field(default=0, ge=0)
    """Keep at most this many individual problems (0 = all; the source evaluation reported 15)."""
    closure: dict[str, str] = Field(
        default_factory=lambda: {
            "document": "提供整改后的制度文件、台账或会议记录，经资料核查达到“基本落实”及以上",
            "online": "相关信息在门户网站或政务新媒体公开并持续更新，经网络检索核实",
            "site": "经实地复查（含暗访）核实整改到位",
            "casefile": "复查同类案卷，相关缺陷不再出现，无否决项",
            "public": "下一轮公众问卷相关题目得分不低于同类单位平均水平",
            "staff": "下一轮公职人员问卷相关题目得分不低于同类单位平均水平",
        }
    )
    """销号标准 (what closes a problem) per evidence source; a problem lists those of its sources."""


Decision = Literal["accept", "reject", "reword", "merge", "add"]


class ReviewEntry(Model):
    """One decision of the evaluators on a finding (keyed by kind, item and unit) or one added finding."""

    kind: Literal["common", "individual"]
    item: str
    unit: str = ""
    """The unit of an individual problem; empty for a common one."""
    decision: Decision
    problem: str = ""
    """reword/add: the 问题表述 to use instead of the template's."""
    suggestion: str = ""
    """reword/add: the 整改建议 to use instead of the template's."""
    into: str = ""
    """merge: the id of the finding this one is merged into (``common:9.1:`` or ``individual:9.2:M041``)."""
    units: list[str] = Field(default_factory=list)
    """add (common): the units concerned."""
    evidence: str = ""
    """add: the evidence (座谈/暗访 notes, document numbers) — no personal data."""
    source: str = ""
    """add: where it was found (座谈, 暗访, …)."""
    note: str = ""
    """Why the decision was taken (kept in the outputs)."""

    @model_validator(mode="after")
    def _complete(self) -> ReviewEntry:
        if self.decision == "merge" and not self.into:
            raise ValueError(
                "merge 需要 into：合并到的问题编号 (merge needs `into`: the id of the target finding)"
            )
        if self.decision == "reword" and not (self.problem or self.suggestion):
            raise ValueError(
                "reword 需要 problem 或 suggestion (reword needs a new problem or suggestion text)"
            )
        if self.decision == "add" and not (self.problem and self.evidence):
            raise ValueError("add 需要 problem 和 evidence (an added finding needs its wording and evidence)")
        if self.kind == "individual" and not self.unit:
            raise ValueError("个性问题需要 unit (an individual problem needs its unit)")
        return self

    @property
    def key(self) -> str:
        return finding_id(self.kind, self.item, self.unit)


class FindingsReview(Model):
    """findings_review.yaml: the evaluators' decisions; survives re-runs (entries are keyed, not positional)."""

    version: str = ""
    """Free label of the review round (e.g. 2023-中期评估-初审)."""
    entries: list[ReviewEntry] = Field(default_factory=list)


def finding_id(kind: str, item: str, unit: str = "") -> str:
    """The stable key of a finding: ``kind:item:unit`` (unit empty for a common problem)."""
    return f"{kind}:{item}:{unit if kind == 'individual' else ''}"
