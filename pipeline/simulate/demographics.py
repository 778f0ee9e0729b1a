"""Demographic answers of the public sample: population margins (population.yaml) tilted the way online samples are.

Shares come from the population.yaml margin of the same ``variable`` (keys = option texts) when present, else
from :data:`DEFAULT_SHARES` (docs/BACKGROUND.md §7), by option position, else from :func:`skewed_shares` (a mildly
uneven distribution, fixed for the item and the seed). The online 问卷星 sample is tilted by
:data:`ONLINE_TILT` (younger, more educated, more urban); the paper sample by :data:`PAPER_TILT` (older, rural).
Options are assumed ordered as in the questionnaire (age and education ascending; residence 城镇/农村/外地).
"""

from __future__ import annotations

import zlib

import numpy as np

from pipeline.config.codebook import CodebookItem
from pipeline.config.models import Population
from pipeline.simulate.responses import categorical

DEFAULT_SHARES: dict[str, list[float]] = {
    "gender": [0.51, 0.49],
    "age_group": [0.22, 0.21, 0.17, 0.20, 0.12, 0.08],
    "education": [0.45, 0.22, 0.13, 0.17, 0.03],
    "residence": [0.70, 0.22, 0.08],
    "years_in_city": [0.05, 0.10, 0.13, 0.22, 0.50],
    "occupation": [0.10, 0.24, 0.09, 0.10, 0.07, 0.08, 0.14, 0.10, 0.04, 0.04],
}
ONLINE_TILT: dict[str, list[float]] = {
    "gender": [0.92, 1.08],
    # strong enough that raking matters, mild enough that weights stay in the 0.3–3 range expected
    # for online samples (docs/BACKGROUND.md §7), so a cap of 5 x mean is feasible at a city's sample size
    "age_group": [1.5, 1.3, 1.05, 0.85, 0.6, 0.4],
    "education": [0.35, 0.8, 1.6, 2.3, 3.5],
}
PAPER_TILT: dict[str, list[float]] = {
    "gender": [1.0, 1.0],
    "age_group": [0.4, 0.6, 0.9, 1.3, 1.8, 2.0],
    "education": [1.8, 1.1, 0.6, 0.4, 0.2],
}
#: within an age group, how strongly education shifts (younger → more educated): log-odds per step of both.
AGE_EDU_SLOPE = -0.18
#: SD of the log option weights of :func:`skewed_shares`.
SKEW_SD = 0.5


def skewed_shares(key: str, k: int, seed: int) -> np.ndarray:
    """A mildly uneven distribution over ``k`` options, the same for the same ``key`` (item id) and ``seed``.

    Drawn from its own generator, so it uses none of the draws of the respondents' streams."""
    rng = np.random.default_rng([seed, zlib.crc32(key.encode("utf-8"))])
    w = np.exp(SKEW_SD * rng.standard_normal(k))
    return w / w.sum()


def population_shares(item: CodebookItem, population: Population | None, *, seed: int = 0) -> np.ndarray:
    """Population share of each option of ``item`` (population.yaml margin, else defaults, else skewed)."""
    n_opt = len(item.options)
    if population is not None:
        for m in population.margins:
            if m.variable == item.variable:
                v = np.array([m.targets.get(o.text, 0.0) for o in item.options], dtype=float)
                if v.sum() > 0:
                    return v / v.sum()
    d = DEFAULT_SHARES.get(item.variable or "")
    if d is not None and len(d) == n_opt:
        v = np.array(d)
        return v / v.sum()
    return skewed_shares(item.id, n_opt, seed)


def _tilt(variable: str, n_opt: int, tilts: dict[str, list[float]]) -> np.ndarray:
    t = tilts.get(variable)
    return np.array(t) if t is not None and len(t) == n_opt else np.ones(n_opt)


def is_rural(name: str) -> bool:
    return name.endswith("县")


def district_sizes(
    rng: np.random.Generator, n: int, shares: np.ndarray, names: list[str], min_each: int
) -> np.ndarray:
    """``min_each`` per district, the rest proportional to (urban-tilted) population shares, unequal by chance."""
    base = np.minimum(min_each, n // len(shares))
    tilt = np.array([0.75 if is_rural(x) else 1.15 for x in names])
    p = shares * tilt * rng.uniform(0.8, 1.25, len(shares))
    rest = n - base * len(shares)
    return base + rng.multinomial(rest, p / p.sum())


def draw_demographics(
    items: dict[str, CodebookItem],
    population: Population | None,
    rng: np.random.Generator,
    districts: np.ndarray,
    *,
    district_names: list[str],
    tilts: dict[str, list[float]],
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Codes per demographic variable (``items``: variable → codebook item), given each respondent's district index
    into ``district_names`` (no names: no district question, nobody counts as rural)."""
    n = len(districts)
    out: dict[str, np.ndarray] = {}
    codes = {v: np.array([o.code for o in it.options]) for v, it in items.items()}

    def draw(var: str, probs: np.ndarray) -> None:
        out[var] = codes[var][categorical(rng, probs, None if probs.ndim == 2 else n)]

    rural = (
        np.array([is_rural(district_names[d]) for d in districts]) if district_names else np.zeros(n, bool)
    )
    age_idx = np.zeros(n, dtype=int)
    if "gender" in items:
        draw(
            "gender",
            population_shares(items["gender"], population, seed=seed)
            * _tilt("gender", len(items["gender"].options), tilts),
        )
    if "age_group" in items:
        it = items["age_group"]
        p = population_shares(it, population, seed=seed) * _tilt("age_group", len(it.options), tilts)
        age_idx = categorical(rng, p, n)
        out["age_group"] = codes["age_group"][age_idx]
    if "education" in items:
        it = items["education"]
        k = len(it.options)
        p = population_shares(it, population, seed=seed) * _tilt("education", k, tilts)
        steps = (age_idx[:, None] - 2) * (np.arange(k)[None, :] - 1)
        probs = p[None, :] * np.exp(AGE_EDU_SLOPE * steps)
        probs[rural] *= np.linspace(1.6, 0.5, k)
        draw("education", probs)
    if "residence" in items:
        it = items["residence"]
        k = len(it.options)
        if k == 3:
            probs = np.where(rural[:, None], [0.35, 0.55, 0.10], [0.80, 0.06, 0.14])
        else:
            probs = np.tile(population_shares(it, population, seed=seed), (n, 1))
        draw("residence", probs)
    if "occupation" in items:
        it = items["occupation"]
        p = np.tile(population_shares(it, population, seed=seed), (n, 1))
        for j, o in enumerate(it.options):
            if "学生" in o.text:
                p[:, j] *= np.where(age_idx == 0, 5.0, 0.02)
            if "退休" in o.text:
                p[:, j] *= np.where(age_idx >= 4, 6.0, np.where(age_idx == 3, 0.6, 0.01))
            if "农民" in o.text:
                p[:, j] *= np.where(rural, 4.0, 0.3)
        draw("occupation", p)
    if "years_in_city" in items:
        it = items["years_in_city"]
        k = len(it.options)
        p = population_shares(it, population, seed=seed)
        probs = p[None, :] * np.exp(0.25 * (age_idx[:, None] - 2) * (np.arange(k)[None, :] - k / 2))
        draw("years_in_city", probs)
    for var, it in items.items():
        if var not in out and var != "district" and it.type == "single":
            draw(var, population_shares(it, population, seed=seed))
    return out
