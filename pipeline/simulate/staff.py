"""The staff questionnaire: public servants of every unit answer about their own unit.

Staff per unit ∝ headcount^0.6 (so small units still get a few). Demographics are tied to the unit (enforcement
units have more enforcement posts and certificate holders; judicial units more law graduates). Likert answers
load on the own unit's true quality (λ = 0.55; shifted by a planted problem's ``effect`` in SD, latent.py) with a social-desirability lift. Skip logic (``skip_logic`` of the
config) hides blocks: hidden items are −3 / ``(跳过)``; a few respondents violate it (answers present although
the block should be hidden). Quiz items: correct with probability logistic(knowledge + law background + cert −
difficulty), else a wrong option at random. Without units.yaml the staff form one group with no unit effect;
demographic options without known weights get a mildly uneven fixed distribution
(:func:`~pipeline.simulate.demographics.skewed_shares`).
"""

from __future__ import annotations

import numpy as np

from pipeline.config.loader import Config
from pipeline.simulate import choices
from pipeline.simulate.demographics import skewed_shares
from pipeline.simulate.latent import Latent
from pipeline.simulate.likert import likert_answers
from pipeline.simulate.online import OnlineRates, finalize_online
from pipeline.simulate.responses import SKIPPED, Responses, categorical

N_STAFF = 1300
HEADCOUNT_POWER = 0.6
SKIP_VIOLATION_RATE = 0.005
CATEGORY_NOISE = 0.05
RATES = OnlineRates(
    speeder=0.02,
    straight=0.015,
    duplicate=0.005,
    blank_rows=0.005,
    outside_gansu=0.01,
    seconds_per_item=6.0,
    channels=(0.8, 0.15, 0.05),
    malformed=0,
)
#: option-position weights of demographic variables (used when the option count matches).
POSITION_WEIGHTS: dict[str, list[float]] = {
    "rank": [0.01, 0.08, 0.33, 0.52, 0.06],
    "years_of_service": [0.12, 0.30, 0.30, 0.28],
    "education": [0.18, 0.62, 0.18, 0.02],
    "gender": [0.56, 0.44],
    "age_group": [0.22, 0.33, 0.28, 0.17],
}
#: post weights (position) in enforcement and other units.
POST_ENFORCEMENT = [0.25, 0.40, 0.08, 0.12, 0.15]
POST_OTHER = [0.50, 0.05, 0.08, 0.20, 0.17]
#: keywords of the unit-category options for each unit type, with their share.
CATEGORY_KEYWORDS: dict[str, list[tuple[str, float]]] = {
    "district": [("县区", 0.7), ("乡镇", 0.3)],
    "body": [("群团", 1.0)],
    "*": [("市直", 1.0)],
}


def _codes(item) -> np.ndarray:  # type: ignore[no-untyped-def]
    return np.array([o.code for o in item.options])


def _weights(var: str, item_id: str, k: int, seed: int) -> np.ndarray:
    w = POSITION_WEIGHTS.get(var)
    return np.array(w) if w is not None and len(w) == k else skewed_shares(item_id, k, seed)


def _skip_masks(resp: Responses) -> list[tuple[list[str], np.ndarray]]:
    """For each skip rule: the item ids of its block and who should see it."""
    out = []
    cb = resp.codebook
    for rule in cb.questionnaire.skip_logic:
        show = np.zeros(resp.n, dtype=bool)
        for cond in rule.show_if_any:
            show |= np.isin(resp.codes[cond.item], cond.in_)
        ids = [it.id for it in cb.block_items(rule)]
        out.append((ids, show))
    return out


def simulate_staff(
    config: Config, latent: Latent, rng: np.random.Generator, scale: float, *, seed: int = 0
) -> tuple[Responses, dict]:
    """The staff sample and its truth; ``seed`` fixes the shape of option distributions nothing else gives."""
    cb = config.codebook("staff")
    q = cb.questionnaire
    units = config.units.units if config.units is not None else []
    n = max(int(round(N_STAFF * scale)), 30)
    resp = Responses(cb, n)
    if units:
        w = np.array([max(u.headcount, 1) ** HEADCOUNT_POWER for u in units])
        sizes = rng.multinomial(n, w / w.sum())
        unit = np.repeat(np.arange(len(units)), sizes)
        enf = np.array([u.enforcement for u in units])[unit]
        utype = np.array([u.type for u in units], dtype=object)[unit]
    else:
        sizes, unit = np.array([n]), np.zeros(n, dtype=int)
        enf, utype = np.zeros(n, dtype=bool), np.full(n, "", dtype=object)
    variables = cb.variables

    if "unit" in variables and units:
        it = cb.item(variables["unit"])
        by_unit = {o.unit: o.code for o in it.options}
        resp.codes[it.id] = np.array([by_unit.get(u.code, -1) for u in units], dtype=np.int16)[unit]
    if "unit_category" in variables:
        it = cb.item(variables["unit_category"])
        k = len(it.options)
        probs = np.zeros((n, k))
        for t in set(utype):
            kw = CATEGORY_KEYWORDS.get(t, CATEGORY_KEYWORDS["*"])
            row = np.array([sum(s for word, s in kw if word in o.text) for o in it.options], dtype=float)
            if row.sum() == 0:
                row = np.ones(k)
            probs[utype == t] = row / row.sum()
        probs = (1 - CATEGORY_NOISE) * probs + CATEGORY_NOISE / k
        resp.codes[it.id] = _codes(it)[categorical(rng, probs)].astype(np.int16)
    post_idx = np.zeros(n, dtype=int)
    if "post" in variables:
        it = cb.item(variables["post"])
        k = len(it.options)
        pe = _weights("", it.id, k, seed) if len(POST_ENFORCEMENT) != k else np.array(POST_ENFORCEMENT)
        po = _weights("", it.id, k, seed) if len(POST_OTHER) != k else np.array(POST_OTHER)
        post_idx = categorical(rng, np.where(enf[:, None], pe, po))
        resp.codes[it.id] = _codes(it)[post_idx].astype(np.int16)
    cert = np.zeros(n, dtype=bool)
    if "cert" in variables:
        it = cb.item(variables["cert"])
        p = np.where(post_idx == 1, 0.9, np.where(enf, 0.35, 0.08))
        cert = rng.random(n) < p
        resp.codes[it.id] = _codes(it)[np.where(cert, 0, 1)].astype(np.int16)
    law = np.zeros(n, dtype=bool)
    if "law_background" in variables:
        it = cb.item(variables["law_background"])
        p = np.where(utype == "judicial", 0.7, np.where(post_idx == 2, 0.6, 0.2))
        law = rng.random(n) < p
        resp.codes[it.id] = _codes(it)[np.where(law, 0, 1)].astype(np.int16)
    for var, item_id in variables.items():
        it = cb.item(item_id)
        if item_id in resp.codes or it.type != "single":
            continue
        shares = _weights(var, item_id, len(it.options), seed)
        resp.codes[item_id] = _codes(it)[categorical(rng, shares, n)].astype(np.int16)

    unit_rows = np.array([latent.unit_index(u.code) for u in units], dtype=int)

    def perceived(feeds: tuple[str, ...]) -> np.ndarray:
        return latent.feeds_quality(feeds)[unit_rows][unit] if units else np.zeros(n)

    bias = 0.35 + 0.1 * law
    likert, ac_fail = likert_answers(
        cb,
        rng,
        n,
        perceived,
        loading=0.55,
        bias=bias,
        dk_mult=np.full(n, 0.5),
        ac_fail_rate=0.025,
    )
    resp.codes.update(likert)

    knowledge = rng.standard_normal(n)
    for qi in q.quiz:
        it = cb.item(qi.item)
        difficulty = rng.normal(0.0, 0.6)
        p = 1 / (1 + np.exp(-(0.6 + 0.9 * knowledge + 0.6 * law + 0.4 * cert - difficulty)))
        right = rng.random(n) < p
        wrong = np.array([c for c in _codes(it) if c != qi.key])
        resp.codes[qi.item] = np.where(right, qi.key, wrong[rng.integers(0, len(wrong), n)]).astype(np.int16)
    for it in cb.items:
        if it.type == "multiple":
            resp.multi[it.id], resp.other[it.id] = choices.multi_answers(it, rng, n)
        elif it.type == "ranking":
            resp.multi[it.id] = choices.rank_answers(it, rng, n)
        elif it.type in ("text", "number"):
            resp.texts[it.id], _ = choices.fill_in_answers(rng, n)
        elif it.id not in resp.codes:
            c = _codes(it)
            resp.codes[it.id] = c[categorical(rng, skewed_shares(it.id, len(c), seed), n)].astype(np.int16)

    # skip logic, and a few violations (answers kept although the block should be hidden)
    violators = np.zeros(n, dtype=bool)
    for ids, show in _skip_masks(resp):
        hidden = np.flatnonzero(~show)
        k = max(2, int(round(SKIP_VIOLATION_RATE * n))) if len(hidden) > 10 else 0
        keep = rng.choice(hidden, size=min(k, len(hidden)), replace=False) if k else np.array([], int)
        violators[keep] = True
        hide = np.setdiff1d(hidden, keep)
        for i in ids:
            if i in resp.codes:
                resp.codes[i][hide] = SKIPPED
            if i in resp.multi:
                resp.multi[i][hide] = SKIPPED
            if i in resp.texts:
                resp.texts[i][hide] = "(跳过)"
    resp.meta["_ac_fail"] = (
        ac_fail & (resp.codes[q.attention_check.item] != SKIPPED) if q.attention_check else ac_fail
    )
    resp.meta["_pii"] = np.zeros(n, dtype=object)
    resp.meta["_violator"] = violators
    final, truth = finalize_online(resp, rng, RATES, config.cleaning)
    truth["skip_violations"] = np.flatnonzero(final.meta["_violator"]).__add__(1).tolist()
    truth["skipped_records"] = {
        ids[0]: int((final.codes[ids[0]] == SKIPPED).sum()) for ids, _ in _skip_masks(final) if ids
    }
    if units:
        truth["unit_sizes"] = {u.code: int(s) for u, s in zip(units, sizes, strict=True)}
    return final, truth
