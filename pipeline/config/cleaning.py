"""Model of ``questionnaires/cleaning.yaml``: which response records the clean stage excludes and why.

The rules run in the fixed order of :data:`RULE_ORDER`; a record is excluded under the **first** rule with action
``exclude`` that catches it, and every rule it fails is written into its ``detail``. Rules whose action is ``flag``
never exclude: they add a ``flag_<rule>`` column (True/False) to the kept records. Every field has a documented
default, so an empty ``cleaning.yaml`` means "the defaults of docs/BACKGROUND.md §1c".
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator

from pipeline.config.models import Model


def _off_unquoted(value: Any) -> Any:
    """YAML reads an unquoted ``off`` (and ``no``/``false``) as False: that means the rule is off."""
    return "off" if value is False else value


Action = Annotated[Literal["exclude", "flag", "off"], BeforeValidator(_off_unquoted)]

#: The fixed order in which rules are applied (machine codes, as written to ``exclusions.rule``).
RULE_ORDER: tuple[str, ...] = (
    "duplicate",
    "ip_burst",
    "speeder",
    "straightline",
    "attention",
    "invalid_code",
    "missing",
    "outside_province",
    "no_district",
    "unknown_unit",
    "skip_logic",
)


class DuplicateRule(Model):
    """Same respondent pseudonym, or same ``ip_key`` with identical answers within a time window: keep the first."""

    action: Action = "exclude"
    by_respondent: bool = True
    by_ip: bool = True
    window_minutes: float = Field(default=10, gt=0)
    """Two submissions from one IP with identical answers are duplicates if at most this far apart."""


class IpBurstRule(Model):
    """Many submissions from one IP in a short time (docs/BACKGROUND.md §1c: ≥3 per IP in 10 min) — flag only by default."""

    action: Action = "flag"
    min_submissions: int = Field(default=3, ge=2)
    window_minutes: float = Field(default=10, gt=0)


class SpeederRule(Model):
    """Completion time (``duration_s``) below a threshold; records without a duration (paper) never count."""

    action: Action = "exclude"
    method: Literal["median_fraction", "knee"] = "median_fraction"
    """``median_fraction``: threshold = max(min_seconds, median_fraction × median duration).
    ``knee``: threshold = max(min_seconds, the knee of the cumulative-count curve of the fastest
    ``knee_quantile`` of durations, as reportgen's ``clean_ftime``); falls back to ``median_fraction`` if the
    curve has no knee inside that range."""
    min_seconds: float = Field(default=60, ge=0)
    median_fraction: float = Field(default=1 / 3, ge=0, le=1)
    knee_quantile: float = Field(default=0.25, gt=0, lt=1)


class StraightlineRule(Model):
    """Identical raw code on many Likert matrix rows, reverse-worded rows included (the attention check excluded)."""

    action: Action = "exclude"
    min_items: int = Field(default=10, ge=2)
    """At least this many answered (substantive) matrix rows must carry the modal code."""
    min_share: float = Field(default=1.0, gt=0, le=1)
    """Share of answered matrix rows with the modal code (1.0 = all answered rows identical)."""
    require_reverse: bool = True
    """Only count it when a reverse-worded row is among the identical rows (a true contradiction)."""


class AttentionRule(Model):
    action: Action = "exclude"
    unanswered_fails: bool = False
    """Whether an unanswered check counts as failed (a skipped/not-shown check never does)."""


class InvalidCodeRule(Model):
    """Codes outside the codebook (e.g. ingest's sentinel for unmatched text), 0/1 option columns holding other
    values, or more choices than ``max_choices``."""

    action: Action = "exclude"


class MissingRule(Model):
    action: Action = "exclude"
    max_missing_share: float = Field(default=0.3, ge=0, le=1)
    """Exclude when more than this share of required substantive items (shown to the respondent) is
    unanswered. 不了解/说不清 counts as answered; demographics, the attention check and fill-ins do not count."""


class LocationRule(Model):
    province: str = "甘肃"
    """``ip_province`` must start with this; "未知" or empty (paper, no IP) is never outside."""
    outside_province: Action = "flag"
    no_district: Action = "exclude"
    unknown_unit: Action = "exclude"


class SkipLogicRule(Model):
    action: Action = "exclude"
    """Staff SD block answered although not shown, or unanswered although shown."""


def _check_or_off(value: Any) -> Any:
    """Unquoted ``off``/``no``/``false`` → ``off``; ``on``/``yes``/``true`` → ``check``."""
    return "off" if value is False else "check" if value is True else value


Check = Annotated[Literal["check", "off"], BeforeValidator(_check_or_off)]

BREAKER_RULES: tuple[str, ...] = ("speeder", "straightline", "attention", "missing")
"""The quality rules whose share of excluded records the circuit breaker watches."""


class CircuitBreaker(Model):
    """Stop the run instead of cleaning data that looks wrong (pipeline/clean/breaker.py).

    The clean stage fails (exit 2, earlier outputs untouched) when a watched rule would exclude more than
    ``max_excluded_share`` of a file's records (files of at least ``min_file_records``), when a 问卷星 export lacks
    所用时间, 提交答卷时间 or 来自IP or holds nothing usable in one of them (paper sheets have none by design), or
    when a file yields no record. Each check is switched off on its own: ``<check>: off``."""

    max_excluded_share: float = Field(default=0.3, gt=0, le=1)
    """Largest share of one file's records a watched rule may exclude."""
    min_file_records: int = Field(default=50, ge=1)
    """Files with fewer records are not checked for shares (a few speeders in a small file are no signal)."""
    speeder: Check = "check"
    straightline: Check = "check"
    attention: Check = "check"
    missing: Check = "check"
    meta_columns: Check = "check"
    """所用时间, 提交答卷时间, 来自IP present and usable in every 问卷星 export."""
    empty_file: Check = "check"
    """Every survey file yields at least one record."""


class CleaningRules(Model):
    """cleaning.yaml: exclusion rules of the clean stage."""

    duplicate: DuplicateRule = DuplicateRule()
    ip_burst: IpBurstRule = IpBurstRule()
    speeder: SpeederRule = SpeederRule()
    straightline: StraightlineRule = StraightlineRule()
    attention: AttentionRule = AttentionRule()
    invalid_code: InvalidCodeRule = InvalidCodeRule()
    missing: MissingRule = MissingRule()
    location: LocationRule = LocationRule()
    skip_logic: SkipLogicRule = SkipLogicRule()
    circuit_breaker: CircuitBreaker = CircuitBreaker()

    @model_validator(mode="before")
    @classmethod
    def _moved_keys(cls, data: Any) -> Any:
        if isinstance(data, dict) and "indicators" in data:
            raise ValueError(
                "indicators (满意/基本满意阈值) 已移到问卷选项集的 scoring.satisfied / scoring.basic_satisfied "
                "(the thresholds moved to each response set's scoring)"
            )
        return data

    def action(self, rule: str) -> Action:
        """The action (exclude / flag / off) of a rule code of :data:`RULE_ORDER` or ``ip_burst``."""
        if rule in ("outside_province", "no_district", "unknown_unit"):
            return getattr(self.location, rule)
        return getattr(self, rule).action
