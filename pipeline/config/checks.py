"""Cross-file checks of the configuration and a one-screen summary of it.

``cross_check(config)`` returns (problems, warnings): **every** problem that involves more than one key or more than one file, each as
``file.yaml: key.path: message`` (e.g. ``public.yaml: scales[0].items[3]: unknown item 'P37'``); the per-file checks
(types, required keys, ranges) are done by the models in :mod:`pipeline.config.models`. ``load_config`` raises
:class:`~pipeline.errors.ConfigError` with these problems; ``fazhi-eval validate`` prints them.

``summary(config)`` is what ``fazhi-eval validate`` prints when the configuration is valid.

Rules, by file
--------------
public.yaml / staff.yaml
    unique item ids and question numbers; response sets exist; scale ids unique and their items exist; every
    ``feeds`` names an observation point whose ``sources`` include the instrument; a ``scoring`` scores every
    substantive option and only those, its 满意 codes are options; a scale's items are all scored, with one score
    range and favourable end (different numbers of points: a warning); a Likert item on a set without scoring is
    warned about; attention check, skip logic and quiz name existing items, questions and option codes;
    ``options_from`` needs units.yaml and resolves to at least one unit.
analysis.yaml
    every declaration resolves (:mod:`pipeline.config.plan`): problems (an unscored item as a continuous outcome,
    weighting on a variable without margins) refuse the configuration; skips (not asked) and demographic questions
    left out of the groupings are warnings.
indicators.yaml
    unique aspect, item and point ids; weights sum to 1 per parent; every aspect's block exists; every point has a
    source with a ``source_weights`` entry; points sourced ``public``/``staff`` are fed by at least one item of that
    questionnaire, points sourced ``casefile`` by a case-file category (or ``veto_feeds``); ``applies_to`` names a
    unit type, ``enforcement`` or ``all``; the optional ``expected_counts`` hold.
casefile.yaml
    unique veto and defect codes; category ``max_points`` sum to ``total_points``; grade bands strictly descending
    down to 0; ``veto_grade`` is a grade; ``excluded_by`` codes exist; ``feeds`` name ``casefile`` points.
units.yaml
    unique codes and names; types are declared unit types; parents exist.
population.yaml
    margin variables are demographic variables of public.yaml; keys are option texts (interactions: ``×``-joined
    combinations); every substantive option has a target; margin totals agree with each other and ``total``;
    ``rake_on`` names given margins.
suggestions.yaml
    keys are second-level items; every item has a template; placeholders are known.
"""

from __future__ import annotations

import math
import string
from collections import Counter
from collections.abc import Iterable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from pipeline.clean.items import scored_items
from pipeline.config.codebook import ItemScoring, resolve_options
from pipeline.config.loader import format_loc
from pipeline.config.models import SOURCES, Option, Question, Questionnaire, Scoring

if TYPE_CHECKING:
    from pipeline.config.loader import Config

#: Weights of one parent must sum to 1 within this absolute tolerance.
WEIGHT_TOLERANCE = 1e-9
#: Population margin totals must agree within this relative tolerance.
MARGIN_TOLERANCE = 1e-6
#: Separator of the option texts in the keys of an interaction margin (``城关区×男``).
INTERACTION_SEP = "×"
#: Placeholders a suggestion template may use.
PLACEHOLDERS = frozenset({"units", "evidence", "score", "share"})
#: ``applies_to`` values besides the unit types of units.yaml.
APPLIES_TO_SPECIAL = ("all", "enforcement")
SURVEY_SOURCES = ("public", "staff")

SOURCE_LABELS = {
    "document": "资料核查",
    "casefile": "案卷评查",
    "public": "公众问卷",
    "staff": "公职人员问卷",
    "site": "实地走访",
    "online": "网络检索",
}


#: file name → its model, so that a location names the question number and item id found there.
_DOCUMENTS: ContextVar[dict[str, Any] | None] = ContextVar("documents", default=None)


def _at(file: str, *loc: object) -> str:
    return format_loc(file, list(loc), (_DOCUMENTS.get() or {}).get(file))


def _duplicates(
    file: str, entries: Iterable[tuple[str, tuple[object, ...]]], what: str, problems: list[str]
) -> None:
    """Report every repeat of a value, naming where the first one is."""
    first: dict[str, tuple[object, ...]] = {}
    for value, loc in entries:
        if value in first:
            problems.append(
                f"{_at(file, *loc)}: duplicate {what} '{value}' (first at {_at(file, *first[value])})"
            )
        else:
            first[value] = loc


def _weights(
    file: str, weights: list[float], loc: tuple[object, ...], what: str, problems: list[str]
) -> None:
    total = math.fsum(weights)
    if abs(total - 1.0) > WEIGHT_TOLERANCE:
        problems.append(f"{_at(file, *loc)}: {what} weights sum to {total!r}, not 1")


# --------------------------------------------------------------------------------------------------
# questionnaires


def _item_locations(q: Questionnaire) -> dict[str, tuple[object, ...]]:
    """Item id → key path of its definition (first definition if duplicated)."""
    out: dict[str, tuple[object, ...]] = {}
    for i, question in enumerate(q.questions):
        if question.type == "matrix":
            for j, row in enumerate(question.rows):
                out.setdefault(row.id, ("questions", i, "rows", j, "id"))
        elif question.id is not None:
            out.setdefault(question.id, ("questions", i, "id"))
    return out


def _options(question: Question, q: Questionnaire, config: Config) -> list[Option]:
    if question.response_set and question.response_set not in q.response_sets:
        return []
    return resolve_options(question, q, config.units)


def _check_scoring(file: str, scoring: Scoring, options: list[Option], loc: tuple[object, ...]) -> list[str]:
    """A scoring gives every substantive option (and only those) a score; its 满意 codes are options."""
    problems: list[str] = []
    substantive = [o.code for o in options if not o.missing]
    missing = {o.code for o in options if o.missing}
    if len(substantive) < 2:
        problems.append(f"{_at(file, *loc)}: 计分至少需要两个实质选项 (needs two substantive options)")
        return problems
    if scoring.scores is not None:
        for code in substantive:
            if code not in scoring.scores:
                problems.append(
                    f"{_at(file, *loc, 'scores')}: 选项 {code} 没有分数 (option {code} has no score)"
                )
        for code in scoring.scores:
            if code in missing:
                problems.append(
                    f"{_at(file, *loc, 'scores')}: 选项 {code} 是“不了解”类选项，不计分 (a 'missing' option "
                    "is not scored: remove it)"
                )
            elif code not in substantive:
                problems.append(f"{_at(file, *loc, 'scores')}: 没有代码为 {code} 的选项 (no option {code})")
    for key in ("satisfied", "basic_satisfied"):
        for code in getattr(scoring, key) or []:
            if code not in substantive:
                problems.append(
                    f"{_at(file, *loc, key)}: {code} 不是实质选项代码 (not a substantive option code; "
                    f"codes: {', '.join(map(str, substantive))})"
                )
    if scoring.satisfied is not None and scoring.basic_satisfied is not None:
        extra = set(scoring.satisfied) - set(scoring.basic_satisfied)
        if extra:
            problems.append(
                f"{_at(file, *loc, 'basic_satisfied')}: 应包含 satisfied 的全部代码 (must include every satisfied "
                f"code), 缺 {sorted(extra)}"
            )
    return problems


def _check_scales(file: str, q: Questionnaire, config: Config, warnings: list[str]) -> list[str]:
    """A scale's items are all scored, on scorings with the same score range and favourable end (SAT5 and
    AGR5, both 1–5 → 0–100, mix); a scale mixing 4- and 5-point items is warned about, not refused."""
    cb = config.codebook(q.instrument)
    scored = {it.id for it in scored_items(cb)}
    problems: list[str] = []
    for i, scale in enumerate(q.scales):
        signatures: dict[tuple[tuple[float, float], str], list[str]] = {}
        points: dict[int, list[str]] = {}
        for k, item_id in enumerate(scale.items):
            if item_id not in cb:
                continue
            item = cb.item(item_id)
            if item_id not in scored:
                why = (
                    "人口学题"
                    if item.variable
                    else "注意力/知识题"
                    if item.scoring is not None
                    else f"选项{'集 ' + item.response_set if item.response_set else ''}没有 scoring"
                )
                problems.append(
                    f"{_at(file, 'scales', i, 'items', k)}: 量表 {scale.id} 的题目 {item_id} 不计分 ({why}) "
                    f"(a scale's items must be scored)"
                )
                continue
            sc: ItemScoring = item.scoring  # type: ignore[assignment]
            signatures.setdefault((sc.score_range, sc.best), []).append(item_id)
            points.setdefault(sc.points, []).append(item_id)
        if len(signatures) > 1:
            kinds = "; ".join(
                f"{', '.join(ids)}: {lo:g}–{hi:g} 分, {'高' if best == 'high' else '低'}代码为好"
                for ((lo, hi), best), ids in signatures.items()
            )
            problems.append(
                f"{_at(file, 'scales', i)}: 量表 {scale.id} 混合了不同的计分 (mixes scorings with different score "
                f"ranges or directions): {kinds}"
            )
        elif len(points) > 1:
            kinds = "; ".join(f"{n} 点: {', '.join(ids)}" for n, ids in sorted(points.items()))
            warnings.append(
                f"{_at(file, 'scales', i)}: 量表 {scale.id} 混合了不同点数的选项 (mixes response sets with different "
                f"numbers of points): {kinds}"
            )
    return problems


def _check_questionnaire(
    config: Config, q: Questionnaire, points: dict[str, list[str]] | None, warnings: list[str]
) -> list[str]:
    file = f"{q.instrument}.yaml"
    problems: list[str] = []

    ids: list[tuple[str, tuple[object, ...]]] = []
    for i, question in enumerate(q.questions):
        if question.type == "matrix":
            ids += [(row.id, ("questions", i, "rows", j, "id")) for j, row in enumerate(question.rows)]
        elif question.id is not None:
            ids.append((question.id, ("questions", i, "id")))
    _duplicates(file, ids, "item id", problems)
    _duplicates(
        file,
        [(str(qu.number), ("questions", i, "number")) for i, qu in enumerate(q.questions)],
        "question number",
        problems,
    )
    _duplicates(file, [(s.id, ("scales", i, "id")) for i, s in enumerate(q.scales)], "scale id", problems)
    for name, rs in q.response_sets.items():
        _duplicates(
            file,
            [(str(o.code), ("response_sets", name, "options", k, "code")) for k, o in enumerate(rs.options)],
            "option code",
            problems,
        )

    items = _item_locations(q)
    by_item: dict[str, tuple[int, Question]] = {}
    by_number: dict[int, Question] = {}
    for i, question in enumerate(q.questions):
        by_number.setdefault(question.number, question)
        for item_id in question.item_ids():
            by_item.setdefault(item_id, (i, question))

    # response sets and options_from
    for i, question in enumerate(q.questions):
        if question.response_set and question.response_set not in q.response_sets:
            known = ", ".join(q.response_sets) or "none defined"
            problems.append(
                f"{_at(file, 'questions', i, 'response_set')}: 未定义的选项集 (unknown response set) "
                f"'{question.response_set}' (已定义 known: {known})"
            )
        if question.options_from and config.units is None:
            problems.append(
                f"{_at(file, 'questions', i, 'options_from')}: options_from 需要 units.yaml 列出单位 "
                "(needs units.yaml; or list the options here)"
            )
        elif question.options_from == "districts" and not any(
            u.type == config.units.district_type
            for u in config.units.units  # type: ignore[union-attr]
        ):
            problems.append(
                f"{_at(file, 'questions', i, 'options_from')}: units.yaml has no unit of type "
                f"'{config.units.district_type}' to make the district options from"
            )

    # scales
    scale_items: set[str] = set()
    for i, scale in enumerate(q.scales):
        for k, item_id in enumerate(scale.items):
            scale_items.add(item_id)
            if item_id not in items:
                problems.append(f"{_at(file, 'scales', i, 'items', k)}: 没有题目 (unknown item) '{item_id}'")
        _duplicates(
            file,
            [(it, ("scales", i, "items", k)) for k, it in enumerate(scale.items)],
            "scale item",
            problems,
        )

    # feeds
    for i, question in enumerate(q.questions if points is not None else ()):
        feeds: list[tuple[list[str], tuple[object, ...]]] = [(question.feeds, ("questions", i, "feeds"))]
        feeds += [(row.feeds, ("questions", i, "rows", j, "feeds")) for j, row in enumerate(question.rows)]
        for lst, loc in feeds:
            for k, point in enumerate(lst):
                if point not in points:
                    problems.append(f"{_at(file, *loc, k)}: unknown observation point '{point}'")
                elif q.instrument not in points[point]:
                    problems.append(
                        f"{_at(file, *loc, k)}: observation point '{point}' does not list source "
                        f"'{q.instrument}' in indicators.yaml (sources: {', '.join(points[point])})"
                    )

    # scorings: every substantive option scored, thresholds among the options; scales of like items
    for name, rs in q.response_sets.items():
        if rs.scoring is not None:
            problems += _check_scoring(file, rs.scoring, rs.options, ("response_sets", name, "scoring"))
    for i, question in enumerate(q.questions):
        if question.scoring is not None:
            problems += _check_scoring(file, question.scoring, question.options, ("questions", i, "scoring"))
    if not problems:
        problems += _check_scales(file, q, config, warnings)
        warned_sets: set[str] = set()
        for question in q.questions:
            rs = q.response_sets.get(question.response_set or "")
            if rs is None or rs.scoring is not None or question.response_set in warned_sets:
                continue
            if question.type in ("matrix", "single") and not question.variable:
                warned_sets.add(question.response_set)  # type: ignore[arg-type]
                warnings.append(
                    f"{_at(file, 'response_sets', question.response_set)}: 选项集没有 scoring，"
                    f"用它的题目 (如 {question.item_ids()[0]}) 不计分、不进满意率 (no scoring: its items are "
                    "not scored)"
                )

    def option_codes(item_id: str) -> list[int] | None:
        i, question = by_item[item_id]
        return [o.code for o in _options(question, q, config)]

    def check_code(item_id: str, code: int, loc: tuple[object, ...]) -> None:
        codes = option_codes(item_id)
        if codes is not None and code not in codes:
            problems.append(
                f"{_at(file, *loc)}: {code} is not an option code of '{item_id}' "
                f"(codes: {', '.join(map(str, codes))})"
            )

    # attention check
    if q.attention_check is not None:
        ac = q.attention_check
        if ac.item not in items:
            problems.append(f"{_at(file, 'attention_check', 'item')}: unknown item '{ac.item}'")
        else:
            check_code(ac.item, ac.pass_code, ("attention_check", "pass_code"))

    # skip logic
    for r, rule in enumerate(q.skip_logic):
        for k, number in enumerate(rule.questions):
            if number not in by_number:
                problems.append(
                    f"{_at(file, 'skip_logic', r, 'questions', k)}: 没有第{number}题 (no question {number})"
                )
        for k, item_id in enumerate(rule.items):
            if item_id not in by_item:
                problems.append(
                    f"{_at(file, 'skip_logic', r, 'items', k)}: 没有题目 (unknown item) '{item_id}'"
                )
        block = set(rule.questions) | {by_item[i][1].number for i in rule.items if i in by_item}
        for c, cond in enumerate(rule.show_if_any):
            if cond.item not in items:
                problems.append(
                    f"{_at(file, 'skip_logic', r, 'show_if_any', c, 'item')}: unknown item '{cond.item}'"
                )
                continue
            if by_item[cond.item][1].number in block:
                problems.append(
                    f"{_at(file, 'skip_logic', r, 'show_if_any', c, 'item')}: item '{cond.item}' is inside "
                    "the block it controls"
                )
            for k, code in enumerate(cond.in_):
                check_code(cond.item, code, ("skip_logic", r, "show_if_any", c, "in", k))

    # quiz
    _duplicates(file, [(qi.item, ("quiz", k, "item")) for k, qi in enumerate(q.quiz)], "quiz item", problems)
    for k, qi in enumerate(q.quiz):
        if qi.item not in items:
            problems.append(f"{_at(file, 'quiz', k, 'item')}: unknown item '{qi.item}'")
        else:
            check_code(qi.item, qi.key, ("quiz", k, "key"))
    return problems


# --------------------------------------------------------------------------------------------------
# indicators.yaml


def _check_indicators(config: Config) -> list[str]:
    file = "indicators.yaml"
    ind = config.indicators
    problems: list[str] = []
    _duplicates(
        file, [(a.id, ("aspects", i, "id")) for i, a in enumerate(ind.aspects)], "aspect id", problems
    )
    _duplicates(
        file,
        [
            (it.id, ("aspects", i, "items", j, "id"))
            for i, a in enumerate(ind.aspects)
            for j, it in enumerate(a.items)
        ],
        "item id",
        problems,
    )
    _duplicates(
        file,
        [
            (p.id, ("aspects", i, "items", j, "points", k, "id"))
            for i, a in enumerate(ind.aspects)
            for j, it in enumerate(a.items)
            for k, p in enumerate(it.points)
        ],
        "observation point id",
        problems,
    )

    _weights(file, [a.weight for a in ind.aspects], ("aspects",), "aspect", problems)
    allowed = None if config.units is None else set(config.units.unit_types) | set(APPLIES_TO_SPECIAL)
    for i, a in enumerate(ind.aspects):
        if ind.blocks and a.block not in ind.blocks:
            problems.append(
                f"{_at(file, 'aspects', i, 'block')}: unknown block '{a.block}' (blocks: {', '.join(ind.blocks)})"
            )
        _weights(
            file, [it.weight for it in a.items], ("aspects", i, "items"), f"aspect {a.id}: item", problems
        )
        for j, it in enumerate(a.items):
            _weights(
                file,
                [p.weight for p in it.points],
                ("aspects", i, "items", j, "points"),
                f"item {it.id}: observation point",
                problems,
            )
            for k, p in enumerate(it.points):
                loc = ("aspects", i, "items", j, "points", k)
                if not p.sources:
                    problems.append(f"{_at(file, *loc, 'sources')}: observation point '{p.id}' has no source")
                _duplicates(
                    file, [(s, (*loc, "sources", m)) for m, s in enumerate(p.sources)], "source", problems
                )
                for m, s in enumerate(p.sources):
                    if s not in ind.source_weights:
                        problems.append(
                            f"{_at(file, *loc, 'sources', m)}: source '{s}' has no source_weights entry"
                        )
                if p.public_scope is not None and "public" not in p.sources:
                    problems.append(
                        f"{_at(file, *loc, 'public_scope')}: 要点 '{p.id}' 没有 public 来源，public_scope 无从适用 "
                        "(public_scope is set but the point has no public source)"
                    )
                for m, target in enumerate(p.applies_to):
                    if allowed is not None and target not in allowed:
                        problems.append(
                            f"{_at(file, *loc, 'applies_to', m)}: '{target}' is neither a unit type of units.yaml "
                            f"({', '.join(config.units.unit_types)}) nor one of {', '.join(APPLIES_TO_SPECIAL)}"  # type: ignore[union-attr]
                        )

    # every survey / case-file source is actually fed
    # (only the sources configured here: a public-only team's indicator system is checked on the public survey)
    fed: dict[str, set[str]] = {}
    for q in (config.public, config.staff):
        if q is None:
            continue
        fed[q.instrument] = set()
        for question in q.questions:
            fed[q.instrument].update(question.feeds)
            for row in question.rows:
                fed[q.instrument].update(row.feeds)
    if config.casefile is not None:
        fed["casefile"] = set(config.casefile.veto_feeds)
        for cat in config.casefile.categories:
            fed["casefile"].update(cat.feeds)
    for i, a in enumerate(ind.aspects):
        for j, it in enumerate(a.items):
            for k, p in enumerate(it.points):
                for m, s in enumerate(p.sources):
                    if s in fed and p.id not in fed[s]:
                        feeder = (
                            f"{s}.yaml item"
                            if s in SURVEY_SOURCES
                            else "casefile.yaml category (or veto_feeds)"
                        )
                        problems.append(
                            f"{_at(file, 'aspects', i, 'items', j, 'points', k, 'sources', m)}: source '{s}' "
                            f"but no {feeder} feeds observation point '{p.id}'"
                        )

    if ind.expected_counts is not None:
        n_aspects = len(ind.aspects)
        n_items = sum(len(a.items) for a in ind.aspects)
        want = ind.expected_counts
        if (n_aspects, n_items) != (want.aspects, want.items):
            problems.append(
                f"{file}: aspects: expected {want.aspects} aspects and {want.items} items in the shipped system, "
                f"found {n_aspects} aspects and {n_items} items"
            )
    return problems


# --------------------------------------------------------------------------------------------------
# casefile.yaml


def _check_casefile(config: Config, points: dict[str, list[str]]) -> list[str]:
    file = "casefile.yaml"
    cf = config.casefile
    problems: list[str] = []
    codes = [(v.code, ("vetoes", i, "code")) for i, v in enumerate(cf.vetoes)]
    codes += [
        (d.code, ("categories", i, "defects", j, "code"))
        for i, c in enumerate(cf.categories)
        for j, d in enumerate(c.defects)
    ]
    _duplicates(file, codes, "veto/defect code", problems)
    _duplicates(
        file, [(c.id, ("categories", i, "id")) for i, c in enumerate(cf.categories)], "category id", problems
    )
    _duplicates(file, [(g.grade, ("grades", i, "grade")) for i, g in enumerate(cf.grades)], "grade", problems)

    total = math.fsum(c.max_points for c in cf.categories)
    if abs(total - cf.total_points) > WEIGHT_TOLERANCE:
        problems.append(
            f"{file}: categories: max_points sum to {total:g}, not total_points {cf.total_points:g}"
        )
    for i in range(1, len(cf.grades)):
        if cf.grades[i].min_score >= cf.grades[i - 1].min_score:
            problems.append(
                f"{_at(file, 'grades', i, 'min_score')}: grade bands must be in strictly descending order "
                f"({cf.grades[i].min_score:g} after {cf.grades[i - 1].min_score:g})"
            )
    if cf.grades and cf.grades[-1].min_score != 0:
        problems.append(
            f"{_at(file, 'grades', len(cf.grades) - 1, 'min_score')}: the lowest band must start at 0 so that "
            "every score gets a grade"
        )
    if cf.veto_grade not in {g.grade for g in cf.grades}:
        problems.append(f"{file}: veto_grade: '{cf.veto_grade}' is not one of the grades")
    known = {c for c, _ in codes}
    for i, g in enumerate(cf.grades):
        for k, code in enumerate(g.excluded_by):
            if code not in known:
                problems.append(f"{_at(file, 'grades', i, 'excluded_by', k)}: unknown defect code '{code}'")
    feeds = [
        (p, ("categories", i, "feeds", k)) for i, c in enumerate(cf.categories) for k, p in enumerate(c.feeds)
    ]
    feeds += [(p, ("veto_feeds", k)) for k, p in enumerate(cf.veto_feeds)]
    for point, loc in feeds:
        if point not in points:
            problems.append(f"{_at(file, *loc)}: unknown observation point '{point}'")
        elif "casefile" not in points[point]:
            problems.append(
                f"{_at(file, *loc)}: observation point '{point}' does not list source 'casefile' in indicators.yaml "
                f"(sources: {', '.join(points[point])})"
            )
    return problems


# --------------------------------------------------------------------------------------------------
# units.yaml


def _check_units(config: Config) -> list[str]:
    file = "units.yaml"
    u = config.units
    problems: list[str] = []
    _duplicates(file, [(x.code, ("units", i, "code")) for i, x in enumerate(u.units)], "unit code", problems)
    _duplicates(file, [(x.name, ("units", i, "name")) for i, x in enumerate(u.units)], "unit name", problems)
    if u.district_type not in u.unit_types:
        problems.append(f"{file}: district_type: '{u.district_type}' is not one of unit_types")
    codes = {x.code for x in u.units}
    for i, x in enumerate(u.units):
        if x.type not in u.unit_types:
            problems.append(
                f"{_at(file, 'units', i, 'type')}: unknown unit type '{x.type}' (unit_types: {', '.join(u.unit_types)})"
            )
        if x.parent is not None and x.parent not in codes:
            problems.append(f"{_at(file, 'units', i, 'parent')}: unknown unit '{x.parent}'")
        elif x.parent == x.code:
            problems.append(f"{_at(file, 'units', i, 'parent')}: a unit cannot be its own parent")
    return problems


# --------------------------------------------------------------------------------------------------
# population.yaml


def _margin_key(variable: str | list[str]) -> tuple[str, ...]:
    return (variable,) if isinstance(variable, str) else tuple(variable)


def _show(key: tuple[str, ...]) -> str:
    return key[0] if len(key) == 1 else "[" + ", ".join(key) + "]"


def _check_population(config: Config) -> list[str]:
    file = "population.yaml"
    pop = config.population
    public = config.public
    problems: list[str] = []
    demographic: dict[str, tuple[Question, list[str]]] = {}
    for question in public.questions:
        if question.variable:
            texts = [o.text for o in _options(question, public, config) if not o.missing]
            demographic.setdefault(question.variable, (question, texts))

    keys = [_margin_key(m.variable) for m in pop.margins]
    _duplicates(
        file,
        [(_show(k), ("margins", i, "variable")) for i, k in enumerate(keys)],
        "margin variable",
        problems,
    )
    totals: list[tuple[int, float]] = []
    for i, (margin, key) in enumerate(zip(pop.margins, keys, strict=True)):
        unknown = [v for v in key if v not in demographic]
        for v in unknown:
            problems.append(
                f"{_at(file, 'margins', i, 'variable')}: '{v}' is not a demographic variable of public.yaml "
                f"(variables: {', '.join(demographic) or 'none'})"
            )
        if unknown:
            continue
        options = [demographic[v][1] for v in key]
        for target in margin.targets:
            parts = target.split(INTERACTION_SEP) if len(key) > 1 else [target]
            if len(parts) != len(key):
                problems.append(
                    f"{_at(file, 'margins', i, 'targets', target)}: an interaction key joins {len(key)} option "
                    f"texts with '{INTERACTION_SEP}'"
                )
                continue
            for v, part, opts in zip(key, parts, options, strict=True):
                if part not in opts:
                    qid = demographic[v][0].id
                    problems.append(
                        f"{_at(file, 'margins', i, 'targets', target)}: '{part}' is not an option of public.yaml "
                        f"question {qid} ({v}: {', '.join(opts)})"
                    )
        for combo in _combinations(options):
            name = INTERACTION_SEP.join(combo)
            if name not in margin.targets:
                problems.append(f"{_at(file, 'margins', i, 'targets')}: no target for '{name}'")
        totals.append((i, math.fsum(margin.targets.values())))

    for i, t in totals:
        if not math.isclose(t, pop.total, rel_tol=MARGIN_TOLERANCE):
            problems.append(
                f"{_at(file, 'margins', i, 'targets')}: targets sum to {t:,.10g}, not total {pop.total:,.10g}"
            )
    given = set(keys)
    for k, r in enumerate(pop.rake_on):
        if _margin_key(r) not in given:
            problems.append(f"{_at(file, 'rake_on', k)}: no margin for '{_show(_margin_key(r))}'")
    return problems


def _combinations(options: list[list[str]]) -> list[tuple[str, ...]]:
    combos: list[tuple[str, ...]] = [()]
    for opts in options:
        combos = [(*c, o) for c in combos for o in opts]
    return combos


# --------------------------------------------------------------------------------------------------
# suggestions.yaml


def _check_suggestions(config: Config) -> list[str]:
    file = "suggestions.yaml"
    problems: list[str] = []
    items = [it.id for a in config.indicators.aspects for it in a.items]
    item_set = set(items)
    templates = config.suggestions.templates
    for key, tpl in templates.items():
        if key not in item_set:
            problems.append(f"{_at(file, 'templates', key)}: unknown indicator item '{key}'")
        for field in ("problem", "suggestion"):
            text = getattr(tpl, field)
            try:
                names = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
            except ValueError as exc:
                problems.append(f"{_at(file, 'templates', key, field)}: bad placeholder syntax ({exc})")
                continue
            for name in sorted(names - PLACEHOLDERS):
                problems.append(
                    f"{_at(file, 'templates', key, field)}: unknown placeholder '{{{name}}}' "
                    f"(allowed: {', '.join('{' + p + '}' for p in sorted(PLACEHOLDERS))})"
                )
    for item in items:
        if item not in templates:
            problems.append(f"{file}: templates: no template for indicator item '{item}'")
    return problems


# --------------------------------------------------------------------------------------------------


def cross_check(config: Config) -> tuple[list[str], list[str]]:
    """Every cross-file problem of a configuration whose files are each valid, and what to warn about.

    Parameters
    ----------
    config : Config
        A configuration whose files passed their model validation (see :func:`pipeline.config.load_config`);
        any file but one questionnaire may be absent (None).

    Returns
    -------
    (problems, warnings) : tuple of list of str
        Problems in file order (public, staff, casefile, indicators, units, population, suggestions, analysis),
        each ``file.yaml: path: message``; empty when the configuration is consistent. Warnings: what is valid
        but probably unintended, and every declared analysis that will be skipped (and why). Nothing is raised:
        the caller decides (``load_config`` raises :class:`~pipeline.errors.ConfigError`).
    """
    token = _DOCUMENTS.set(
        {
            f"{name}.yaml": getattr(config, name)
            for name in ("public", "staff", "casefile", "indicators", "units", "population", "suggestions")
        }
        | {"analysis.yaml": config.analysis}
    )
    try:
        return _cross_check(config)
    finally:
        _DOCUMENTS.reset(token)


def _cross_check(config: Config) -> tuple[list[str], list[str]]:
    ind = config.indicators
    points = (
        None
        if ind is None
        else {p.id: list(p.sources) for a in ind.aspects for it in a.items for p in it.points}
    )
    problems: list[str] = []
    warnings: list[str] = []
    for q in (config.public, config.staff):
        if q is None:
            continue
        problems += _check_questionnaire(config, q, points, warnings)
        if ind is None and any(
            question.feeds or any(r.feeds for r in question.rows) for question in q.questions
        ):
            warnings.append(
                f"{q.instrument}.yaml: feeds 未检查：没有 indicators.yaml (feeds not checked: no indicator system)"
            )
    if config.casefile is not None:
        problems += _check_casefile(config, points or {}) if points is not None else []
    if ind is not None:
        problems += _check_indicators(config)
    if config.units is not None:
        problems += _check_units(config)
    if config.population is not None:
        if config.public is not None:
            problems += _check_population(config)
        else:
            warnings.append(
                "population.yaml: 没有 public.yaml，人口边际不会用到 (unused without public.yaml)"
            )
    if config.suggestions is not None:
        if ind is not None:
            problems += _check_suggestions(config)
        else:
            problems.append(
                "suggestions.yaml: 整改建议模板需要 indicators.yaml (templates need the indicator system)"
            )
    if not problems:
        for plan in config.plans.values():
            problems += list(plan.problems)
            warnings += [f"analysis.yaml: 跳过 {skip.line()}" for skip in plan.skipped]
        warnings += _unused_variables(config)
    return problems, warnings


def cb_variables(config: Config, instrument: str) -> set[str]:
    return set(config.codebook(instrument).variables)


def _unused_variables(config: Config) -> list[str]:
    """A demographic question that analysis.yaml's declared groupings leave out is cleaned but never compared:
    say so."""
    out = []
    for instrument in config.instruments:
        declared = config.analysis.section(instrument).groupings
        if declared is None:
            continue
        used = set(config.plan(instrument).groupings) | set(config.plan(instrument).weight_variables)
        declared_off = config.analysis.section(instrument).not_compared
        unknown = [v for v in declared_off if v not in cb_variables(config, instrument)]
        if unknown:
            out.append(
                f"analysis.yaml: {instrument}.not_compared: 问卷中没有这些 variable (no such variable): "
                f"{', '.join(unknown)}"
            )
        used |= set(declared_off)
        cb = config.codebook(instrument)
        left = [
            f"{item.id} ({item.variable})"
            for item in cb.items
            if item.variable
            and item.type == "single"
            and item.variable not in used
            and item.variable != "unit"
        ]
        if left:
            out.append(
                f"analysis.yaml: {instrument}.groupings: 这些人口学题不参与分组比较 (not compared; add their variable "
                f"to groupings, or to not_compared if that is intended): {', '.join(left)}"
            )
    return out


def summary(config: Config) -> str:
    """One screen describing a valid configuration (what ``fazhi-eval validate`` prints): what is configured,
    what each analysis stage will do (:mod:`pipeline.config.plan`), what it skips and every warning."""
    lines = [f"配置有效 (configuration valid): {config.directory}  [sha256 {config.digest[:12]}]"]
    ind = config.indicators
    if ind is not None:
        items = [it for a in ind.aspects for it in a.items]
        points = [p for it in items for p in it.points]
        by_source = Counter(s for p in points for s in p.sources)
        lines += [
            f"指标体系 indicators: {len(ind.aspects)} 方面 aspects · {len(items)} 项目 items · "
            f"{len(points)} 评估要点 observation points",
            "  要点来源 points by source: "
            + " · ".join(f"{SOURCE_LABELS[s]} {s} {by_source[s]}" for s in SOURCES if by_source[s]),
        ]
        if ind.blocks:
            block_w = {b: math.fsum(a.weight for a in ind.aspects if a.block == b) for b in ind.blocks}
            lines.append(
                "  板块 blocks: "
                + " · ".join(
                    f"{name} ({sum(a.block == b for a in ind.aspects)} 方面, {block_w[b]:.0%})"
                    for b, name in ind.blocks.items()
                )
            )
    lines.append("问卷 questionnaires:")
    for instrument in config.instruments:
        q = config.questionnaire(instrument)
        cb = config.codebook(instrument)
        n_feed = sum(bool(it.feeds) for it in cb.items)
        n_scored = len(scored_items(cb))
        extra = []
        if q.attention_check:  # type: ignore[union-attr]
            extra.append(f"注意力题 attention check {q.attention_check.item}")  # type: ignore[union-attr]
        if q.quiz:  # type: ignore[union-attr]
            extra.append(f"知识题 quiz {len(q.quiz)}")  # type: ignore[union-attr]
        if q.skip_logic:  # type: ignore[union-attr]
            extra.append(f"跳题 skip rules {len(q.skip_logic)}")  # type: ignore[union-attr]
        lines.append(
            f"  {instrument:<6} {q.title}: {len(q.questions)} 题 questions · {len(cb.items)} 项 items "  # type: ignore[union-attr]
            f"(计分 scored {n_scored}; 供给评估要点 feed points {n_feed}) · {len(q.scales)} 量表 scales "  # type: ignore[union-attr]
            f"({' '.join(s.id for s in q.scales)})" + ("" if not extra else " · " + " · ".join(extra))  # type: ignore[union-attr]
        )
    units = config.units
    if units is not None:
        by_type = Counter(u.type for u in units.units)
        lines.append(
            f"单位 units: {len(units.units)} — "
            + " · ".join(f"{label} {t} {by_type[t]}" for t, label in units.unit_types.items() if by_type[t])
            + f" · 有执法权 enforcement {sum(u.enforcement for u in units.units)}"
        )
    cf = config.casefile
    if cf is not None:
        n_defects = sum(len(c.defects) for c in cf.categories)
        lines.append(
            f"案卷评查 casefile: {len(cf.vetoes)} 否决项 vetoes · {len(cf.categories)} 类 categories · "
            f"{n_defects} 扣分项 defect codes · 满分 {cf.total_points:g} · 等级 "
            + " / ".join(f"{g.grade}≥{g.min_score:g}" for g in cf.grades)
        )
    pop = config.population
    if pop is not None:
        lines.append(
            f"人口边际 population: {pop.universe} {pop.total:,.0f} · 边际 margins "
            + " ".join(f"{_show(_margin_key(m.variable))}({len(m.targets)})" for m in pop.margins)
            + f" · rake_on {' '.join(_show(_margin_key(r)) for r in pop.rake_on)}"
            + (f" · 权重上限 cap {pop.weight_cap:g}" if pop.weight_cap else "")
        )
    if config.suggestions is not None:
        lines.append(f"整改建议模板 suggestions: {len(config.suggestions.templates)}")
    absent = [name for name in ("staff", "casefile", "indicators", "units", "population", "suggestions")
              if getattr(config, name) is None]  # fmt: skip
    if absent:
        lines.append("未配置 (not configured): " + ", ".join(f"{n}.yaml" for n in absent))
    lines.append("分析计划 analysis plan (analysis.yaml):")
    lines += [f"  {line}" for line in plan_lines(config)]
    if config.warnings:
        lines.append(f"提醒 warnings ({len(config.warnings)}):")
        lines += [f"  - {w}" for w in config.warnings]
    return "\n".join(lines)


WEIGHTING_LABELS = {"none": "不加权 (等权)", "cells": "单元格加权", "raking": "raking 加权"}


def plan_lines(config: Config) -> list[str]:
    """What each instrument's analysis will do, one line each (for ``validate``)."""
    cells = config.analysis.small_cells
    lines = []
    for instrument in ("public", "staff", "casefile"):
        plan = config.plan(instrument)
        if not plan.available:
            lines.append(f"{instrument}: 未配置，跳过 (not configured)")
            continue
        weighting = WEIGHTING_LABELS[plan.weighting] + (
            f" ({' '.join('×'.join(k) if isinstance(k, tuple) else k for k in plan.weight_on)})"
            if plan.weight_on
            else ""
        )
        parts = [
            f"{instrument}: 加权 {weighting}" if instrument != "casefile" else f"{instrument}:",
            f"分组 {', '.join(plan.groupings) or '无'}",
            f"连续结果 {', '.join(plan.scored) or '无'}",
            f"分类结果 {', '.join(plan.categorical) or '无'}",
            f"单位对比 {len(plan.peer_outcomes)} 项" if plan.unit_vs_peers else "单位对比 无",
        ]
        if plan.adjusted is not None:
            parts.append(f"调整后差距 按 {plan.adjusted.by} 控制 {', '.join(plan.adjusted.controls)}")
        lines.append(" · ".join(parts))
    lines.append(
        f"小样本规则 small cells: n < {cells.suppress_below} 不报告, n < {cells.mark_below} 标注 "
        "(加权估计按 Kish 有效样本量)"
    )
    return lines
