"""Cross-file checks of the configuration and a one-screen summary of it.

``cross_check(config)`` returns **every** problem that involves more than one key or more than one file, each as
``file.yaml: key.path: message`` (e.g. ``public.yaml: scales[0].items[3]: unknown item 'P37'``); the per-file checks
(types, required keys, ranges) are done by the models in :mod:`pipeline.config.models`. ``load_config`` raises
:class:`~pipeline.errors.ConfigError` with these problems; ``fazhi-eval validate`` prints them.

``summary(config)`` is what ``fazhi-eval validate`` prints when the configuration is valid.

Rules, by file
--------------
public.yaml / staff.yaml
    unique item ids and question numbers; response sets exist; scale ids unique and their items exist; every
    ``feeds`` names an observation point whose ``sources`` include the instrument; every scored (Likert) option has
    a ``score_map`` entry; attention check, skip logic and quiz name existing items, questions and option codes;
    ``options_from`` resolves to at least one unit.
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
from typing import TYPE_CHECKING

from pipeline.config.codebook import resolve_options
from pipeline.config.loader import format_loc
from pipeline.config.models import SOURCES, Option, Question, Questionnaire

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


def _at(file: str, *loc: object) -> str:
    return format_loc(file, list(loc))


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


def _is_scored(question: Question, scale_items: set[str]) -> bool:
    """A Likert question: a matrix, a question on a response set, or one whose items enter a scale or feed a point."""
    if question.type not in ("single", "matrix"):
        return False
    if question.type == "matrix" or question.response_set:
        return True
    return bool(question.feeds) or any(i in scale_items for i in question.item_ids())


def _check_questionnaire(config: Config, q: Questionnaire, points: dict[str, list[str]]) -> list[str]:
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
                f"{_at(file, 'questions', i, 'response_set')}: unknown response set "
                f"'{question.response_set}' (known: {known})"
            )
        if question.options_from == "districts" and not any(
            u.type == config.units.district_type for u in config.units.units
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
                problems.append(f"{_at(file, 'scales', i, 'items', k)}: unknown item '{item_id}'")
        _duplicates(
            file,
            [(it, ("scales", i, "items", k)) for k, it in enumerate(scale.items)],
            "scale item",
            problems,
        )

    # feeds
    for i, question in enumerate(q.questions):
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

    # Likert options need a score
    reported_sets: set[str] = set()
    for i, question in enumerate(q.questions):
        if not _is_scored(question, scale_items):
            continue
        if question.response_set:
            if question.response_set in reported_sets or question.response_set not in q.response_sets:
                continue
            reported_sets.add(question.response_set)
            opts = q.response_sets[question.response_set].options
            base: tuple[object, ...] = ("response_sets", question.response_set, "options")
        else:
            opts = question.options
            base = ("questions", i, "options")
        for k, opt in enumerate(opts):
            if not opt.missing and opt.code not in q.score_map:
                problems.append(
                    f"{_at(file, *base, k, 'code')}: Likert option {opt.code} ('{opt.text}') has no score_map entry"
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
                problems.append(f"{_at(file, 'skip_logic', r, 'questions', k)}: no question number {number}")
        for c, cond in enumerate(rule.show_if_any):
            if cond.item not in items:
                problems.append(
                    f"{_at(file, 'skip_logic', r, 'show_if_any', c, 'item')}: unknown item '{cond.item}'"
                )
                continue
            if by_item[cond.item][1].number in rule.questions:
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
    allowed = set(config.units.unit_types) | set(APPLIES_TO_SPECIAL)
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
                for m, target in enumerate(p.applies_to):
                    if target not in allowed:
                        problems.append(
                            f"{_at(file, *loc, 'applies_to', m)}: '{target}' is neither a unit type of units.yaml "
                            f"({', '.join(config.units.unit_types)}) nor one of {', '.join(APPLIES_TO_SPECIAL)}"
                        )

    # every survey / case-file source is actually fed
    fed: dict[str, set[str]] = {s: set() for s in (*SURVEY_SOURCES, "casefile")}
    for q in (config.public, config.staff):
        for question in q.questions:
            fed[q.instrument].update(question.feeds)
            for row in question.rows:
                fed[q.instrument].update(row.feeds)
    for cat in config.casefile.categories:
        fed["casefile"].update(cat.feeds)
    fed["casefile"].update(config.casefile.veto_feeds)
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


def cross_check(config: Config) -> list[str]:
    """Every cross-file problem of a configuration whose files are each valid, as ``file.yaml: path: message``.

    Parameters
    ----------
    config : Config
        A configuration whose files passed their model validation (see :func:`pipeline.config.load_config`).

    Returns
    -------
    list of str
        Problems in file order (public, staff, casefile, indicators, units, population, suggestions); empty when
        the configuration is consistent. Nothing is raised: the caller decides (``load_config`` raises
        :class:`~pipeline.errors.ConfigError`).
    """
    points = {p.id: list(p.sources) for a in config.indicators.aspects for it in a.items for p in it.points}
    problems: list[str] = []
    problems += _check_questionnaire(config, config.public, points)
    problems += _check_questionnaire(config, config.staff, points)
    problems += _check_casefile(config, points)
    problems += _check_indicators(config)
    problems += _check_units(config)
    problems += _check_population(config)
    problems += _check_suggestions(config)
    return problems


def summary(config: Config) -> str:
    """One screen describing a valid configuration (what ``fazhi-eval validate`` prints)."""
    ind = config.indicators
    items = [it for a in ind.aspects for it in a.items]
    points = [p for it in items for p in it.points]
    by_source = Counter(s for p in points for s in p.sources)
    lines = [
        f"配置有效 (configuration valid): {config.directory}  [sha256 {config.digest[:12]}]",
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
    for q in (config.public, config.staff):
        cb = config.codebook(q.instrument)
        n_feed = sum(bool(it.feeds) for it in cb.items)
        extra = []
        if q.attention_check:
            extra.append(f"注意力题 attention check {q.attention_check.item}")
        if q.quiz:
            extra.append(f"知识题 quiz {len(q.quiz)}")
        if q.skip_logic:
            extra.append(f"跳题 skip rules {len(q.skip_logic)}")
        lines.append(
            f"  {q.instrument:<6} {q.title}: {len(q.questions)} 题 questions · {len(cb.items)} 项 items "
            f"(其中 {n_feed} 项供给评估要点 feed points) · {len(q.scales)} 量表 scales ({' '.join(s.id for s in q.scales)})"
            + ("" if not extra else " · " + " · ".join(extra))
        )
    units = config.units
    by_type = Counter(u.type for u in units.units)
    lines.append(
        f"单位 units: {len(units.units)} — "
        + " · ".join(f"{label} {t} {by_type[t]}" for t, label in units.unit_types.items() if by_type[t])
        + f" · 有执法权 enforcement {sum(u.enforcement for u in units.units)}"
    )
    cf = config.casefile
    n_defects = sum(len(c.defects) for c in cf.categories)
    lines.append(
        f"案卷评查 casefile: {len(cf.vetoes)} 否决项 vetoes · {len(cf.categories)} 类 categories · "
        f"{n_defects} 扣分项 defect codes · 满分 {cf.total_points:g} · 等级 "
        + " / ".join(f"{g.grade}≥{g.min_score:g}" for g in cf.grades)
    )
    pop = config.population
    lines.append(
        f"人口边际 population: {pop.universe} {pop.total:,.0f} · 边际 margins "
        + " ".join(f"{_show(_margin_key(m.variable))}({len(m.targets)})" for m in pop.margins)
        + f" · rake_on {' '.join(_show(_margin_key(r)) for r in pop.rake_on)}"
        + (f" · 权重上限 cap {pop.weight_cap:g}" if pop.weight_cap else "")
    )
    lines.append(f"整改建议模板 suggestions: {len(config.suggestions.templates)}")
    return "\n".join(lines)
