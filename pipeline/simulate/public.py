"""The public questionnaire: an online 问卷星 sample (with its data-quality problems) and a small paper sample.

Online respondents answer about their district (perceived quality = 0.75·district + 0.25·municipal departments'
mean; the quality includes a planted problem's ``effect`` in SD, latent.py); without a district question (``options_from: districts``) about the city as a whole (the mean over all
units, the same for everyone: no district effect). Injected problems, by record (identified by 序号 after sorting by submission time): speeders (~3%, half
random, half straight answers), straight-liners (~2%), failed attention checks (~3%), duplicates (~1%, same IP
and answers 1–10 minutes later), blank cells (~1% of records), malformed cells (text export only), phone/ID numbers
in free text, ~5% IPs outside 甘肃.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from pipeline.config.codebook import Codebook, CodebookItem
from pipeline.config.loader import Config
from pipeline.simulate import choices, texts
from pipeline.simulate.demographics import (
    ONLINE_TILT,
    PAPER_TILT,
    district_sizes,
    draw_demographics,
    population_shares,
    skewed_shares,
)
from pipeline.simulate.latent import Latent
from pipeline.simulate.likert import likert_answers
from pipeline.simulate.online import OnlineRates, finalize_online
from pipeline.simulate.responses import Responses, categorical

N_ONLINE = 2850
N_PAPER = 150
MAX_PAPER = 2000  # a paper-entry sheet stays a hand-typed workbook whatever the scale
MIN_PER_DISTRICT = 200
SPEEDER_RATE = 0.03
STRAIGHT_RATE = 0.02
DUPLICATE_RATE = 0.01
AC_FAIL_RATE = 0.03
BLANK_ROWS = 0.01
OUTSIDE_GANSU = 0.05
SECONDS_PER_ITEM = 7.0
PAPER_BLANK_ROWS = 0.06
CITY_WEIGHT = 0.25


def district_item(cb: Codebook) -> CodebookItem | None:
    """The district question (``variable: district``, options standing for units), if the questionnaire has one."""
    for it in cb.items:
        if it.variable == "district" and it.type == "single" and any(o.unit for o in it.options):
            return it
    return None


@dataclass
class PublicSample:
    online: Responses
    paper: Responses
    paper_ids: np.ndarray
    paper_clerks: np.ndarray
    truth: dict = field(default_factory=dict)


def _respondents(
    config: Config,
    latent: Latent,
    rng: np.random.Generator,
    sizes: np.ndarray,
    tilts: dict[str, list[float]],
    seed: int,
) -> tuple[Responses, np.ndarray]:
    cb = config.codebook("public")
    n = int(sizes.sum())
    resp = Responses(cb, n)
    d_item = district_item(cb)
    district = np.repeat(np.arange(len(sizes)), sizes)
    if d_item is not None:
        d_codes = np.array([o.code for o in d_item.options])
        resp.codes[d_item.id] = d_codes[district].astype(np.int16)
    demo_items = {
        it.variable: it
        for it in cb.items
        if it.variable and it.variable != "district" and it.type == "single"
    }
    names = [o.text for o in d_item.options] if d_item is not None else []
    demo = draw_demographics(
        demo_items, config.population, rng, district, district_names=names, tilts=tilts, seed=seed
    )
    for var, codes in demo.items():
        resp.codes[demo_items[var].id] = codes.astype(np.int16)
    age = demo.get("age_group")
    age_idx = (age - age.min()) if age is not None else np.zeros(n)
    edu = demo.get("education")
    edu_idx = (edu - edu.min()) if edu is not None else np.zeros(n)
    bias = 0.07 * (age_idx - 2) - 0.04 * (edu_idx - 2)
    dk_mult = 1.0 + 0.25 * np.maximum(2 - edu_idx, 0)
    perceived = _perceived(config, latent, d_item, district)

    likert, ac_fail = likert_answers(
        cb, rng, n, perceived, loading=0.45, bias=bias, dk_mult=dk_mult, ac_fail_rate=AC_FAIL_RATE
    )
    resp.codes.update(likert)
    pii: list[tuple[int, str, str]] = []
    for it in cb.items:
        if it.type == "multiple":
            resp.multi[it.id], resp.other[it.id] = choices.multi_answers(it, rng, n)
        elif it.type == "ranking":
            resp.multi[it.id] = choices.rank_answers(it, rng, n)
        elif it.type in ("text", "number"):
            resp.texts[it.id], found = choices.fill_in_answers(rng, n)
            pii += [(r, it.id, kind) for r, kind in found]
        elif it.id not in resp.codes:
            opts = np.array([o.code for o in it.options])
            shares = skewed_shares(it.id, len(opts), seed)
            resp.codes[it.id] = opts[categorical(rng, shares, n)].astype(np.int16)
    resp.meta["_ac_fail"] = ac_fail
    resp.meta["_pii"] = np.zeros(n, dtype=object)
    for r, item, kind in pii:
        resp.meta["_pii"][r] = f"{item}:{kind}"
    return resp, district


def _perceived(
    config: Config, latent: Latent, d_item: CodebookItem | None, district: np.ndarray
) -> Callable[[tuple[str, ...]], np.ndarray]:
    """Each respondent's perceived quality of what an item feeds: the own district's, partly the city's."""
    n = len(district)
    if d_item is None or config.units is None:

        def city_wide(feeds: tuple[str, ...]) -> np.ndarray:
            q = latent.feeds_quality(feeds)
            return np.full(n, q.mean() if len(q) else 0.0)

        return city_wide
    is_dept = np.array([u.type != config.units.district_type for u in config.units.units])
    d_rows = np.array([latent.unit_index(o.unit) for o in d_item.options if o.unit])

    def perceived(feeds: tuple[str, ...]) -> np.ndarray:
        q = latent.feeds_quality(feeds)
        city = q[is_dept].mean() if is_dept.any() else 0.0
        return ((1 - CITY_WEIGHT) * q[d_rows] + CITY_WEIGHT * city)[district]

    return perceived


def simulate_public(
    config: Config, latent: Latent, rng: np.random.Generator, scale: float, *, seed: int = 0
) -> PublicSample:
    """The online and paper samples; ``seed`` fixes the shape of option distributions the configuration does
    not give (:func:`~pipeline.simulate.demographics.skewed_shares`)."""
    cb = config.codebook("public")
    d_item = district_item(cb)
    n_online = max(int(round(N_ONLINE * scale)), 20)
    if d_item is not None:
        shares = population_shares(d_item, config.population, seed=seed)
        names = [o.text for o in d_item.options]
        sizes = district_sizes(rng, n_online, shares, names, int(round(MIN_PER_DISTRICT * scale)))
    else:
        shares, names, sizes = np.ones(1), [], np.array([n_online])
    online, _ = _respondents(config, latent, rng, sizes, ONLINE_TILT, seed)
    rates = OnlineRates(
        speeder=SPEEDER_RATE,
        straight=STRAIGHT_RATE,
        duplicate=DUPLICATE_RATE,
        blank_rows=BLANK_ROWS,
        outside_gansu=OUTSIDE_GANSU,
        seconds_per_item=SECONDS_PER_ITEM,
        channels=(0.6, 0.25, 0.15),
        malformed=6,
    )
    final, truth = finalize_online(online, rng, rates, config.cleaning)
    if d_item is not None:
        truth["district_sizes"] = {names[k]: int(s) for k, s in enumerate(sizes)}
    likert_grid = choices.matrix_likert_ids(cb)

    # --- paper sample: older, rural, entered by clerks; ~5% of all public responses
    n_paper = min(max(int(round(N_PAPER * scale)), 5), MAX_PAPER)
    if d_item is not None:
        p_share = shares * np.array([2.0 if x.endswith("县") else 0.6 for x in names])
        p_sizes = rng.multinomial(n_paper, p_share / p_share.sum())
    else:
        p_sizes = np.array([n_paper])
    paper, p_district = _respondents(config, latent, rng, p_sizes, PAPER_TILT, seed)
    paper_blanks = choices.blank_cells(paper, rng, likert_grid, PAPER_BLANK_ROWS)
    perm = rng.permutation(paper.n)
    paper = paper.take(perm)
    paper_ids = np.array(
        [f"ZZ{int(p_district[perm[k]]) + 1:02d}-{k + 1:04d}" for k in range(paper.n)], dtype=object
    )
    clerks = np.array(texts.names(rng, 3), dtype=object)[rng.integers(0, 3, paper.n)]
    inv = np.empty(paper.n, dtype=int)
    inv[perm] = np.arange(paper.n)
    truth["paper"] = {
        "n": paper.n,
        "blank_cells": [{"问卷编号": str(paper_ids[inv[r]]), "item": i} for r, i in paper_blanks],
    }
    return PublicSample(final, paper, paper_ids, clerks, truth)
