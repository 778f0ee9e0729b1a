"""The case-file defect counts of the problem-state model: per unit, the counts of every defect category read
together, so that a category raised against the unit's others shows a problem on the items it feeds.

Per unit u and category c, the defects over the unit's ``m_u`` files are Poisson with mean
``m_u·λ_c·f_u·ρ^r``: ``λ_c`` the category's rate per file, ``f_u`` ~ Gamma(κ, 1/κ) the unit's own level of
defects (units differ in quality, and a unit careless in one category tends to be careless in all), ``r`` = 1
when an item the category feeds has a problem in the unit, ``ρ`` the rate ratio of a problem state. With ``f_u``
integrated out the unit's counts are negative multinomial (:mod:`pipeline.stats.counts`). Per cell (unit × item)
the log-likelihood ratio is that of "every category the item feeds raised" against "raised only as far as the
other items it feeds have a problem" — each category's chance of being raised by another item, from the current
posteriors, taken as an expected rate multiplier ``1 + (ρ − 1)·P`` (a mean-field step, as for the veto).

Why counts rather than files with a defect: a frequent category is found in most files of every unit (C in
95 % of the simulated files), so whether a file has one says little, while a unit whose defects triple shows it
in the count.

Fitted inside the EM of :mod:`pipeline.findings.states` from the current posteriors: ``λ`` from the units
weighted by the chance a category is not raised, ``ρ`` by the chance it is. κ is fitted once, before the EM, by
maximum likelihood under the null (every unit at its categories' city rates), and no lower than
``1 / spread²`` (``findings.yaml: casefile_unit_spread``). Why not inside the EM: there "a few units with a
problem" and "units that differ" trade off, and the fit can drift to either end — a low κ explains the problem
away (κ ≈ 4 on planted samples), a κ of 1000 reads the units' ordinary spread as problems on the item every
category feeds (a common problem found in a run with nothing planted). Under the null the estimate is the
cautious one (problems inflate the spread, so κ comes out low), and the floor keeps it from explaining a
tripled rate away (the simulated units' spread is κ ≈ 15; null runs give 14–25).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.stats.counts import SHAPE_GRID, negative_multinomial_logpmf, negative_multinomial_shape

START_RATIO = 2.0
MAX_RATIO = 20.0


class DefectCounts:
    """The count rows of the evidence (``kind`` ``count``: ``m`` files, ``k`` defects, ``p0`` city rate per
    file) as units × categories, with the fitted ``rate`` (λ per category), ``ratio`` (ρ) and ``shape`` (κ)."""

    def __init__(self, evidence: pd.DataFrame, rows: np.ndarray, cell_of: np.ndarray, spread: float):
        self.rows = np.flatnonzero(rows)
        self.least_shape = 1 / spread**2 if spread > 0 else 0.0
        self.ratio, self.shape = START_RATIO, float(SHAPE_GRID[-1])
        if not len(self.rows):
            return
        sub = evidence.iloc[self.rows]
        unit = np.unique(sub["unit"].to_numpy(), return_inverse=True)[1]
        cats, cat = np.unique(sub["stream"].to_numpy(), return_inverse=True)
        self.k = np.zeros((int(unit.max()) + 1, len(cats)))
        self.k[unit, cat] = sub["k"].to_numpy(float)
        self.m = np.zeros(len(self.k))
        self.m[unit] = sub["m"].to_numpy(float)
        self.rate = np.full(len(cats), 1e-3)
        self.rate[cat] = np.maximum(sub["p0"].to_numpy(float), 1e-3)
        self.cells, pos = np.unique(cell_of[self.rows], return_inverse=True)
        self.cell_unit = np.zeros(len(self.cells), dtype=int)
        self.cell_unit[pos] = unit
        self.feeds = np.zeros((len(self.cells), len(cats)), dtype=bool)
        self.feeds[pos, cat] = True
        self.unit, self.cat, self.pos = unit, cat, pos
        self.first = np.zeros(len(self.rows), dtype=bool)
        self.first[np.unique(pos, return_index=True)[1]] = True
        self.shape = negative_multinomial_shape(
            self.k, self.m[:, None] * self.rate[None, :], least=self.least_shape
        )

    def _none_raised(self, post: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """log P(no item a category feeds has a problem) per unit × category, and the cells' log(1 − post)."""
        own = np.log1p(-np.clip(post[self.cells], 0.0, 1 - 1e-9))
        log_none = np.zeros_like(self.k)
        np.add.at(log_none, (self.unit, self.cat), own[self.pos])
        return log_none, own

    def llr(self, post: np.ndarray) -> np.ndarray:
        """Per count row, its cell's log-likelihood ratio on the first of the cell's rows (0 on the others)."""
        out = np.zeros(len(self.rows))
        if not len(self.rows):
            return out
        log_none, own = self._none_raised(post)
        raised = -np.expm1(log_none)[self.cell_unit]
        by_other = -np.expm1(log_none[self.cell_unit] - self.feeds * own[:, None])
        lift = self.ratio - 1
        base = (self.m[:, None] * self.rate[None, :])[self.cell_unit]
        k = self.k[self.cell_unit]
        with_problem = base * np.where(self.feeds, self.ratio, 1 + lift * raised)
        without = base * (1 + lift * np.where(self.feeds, by_other, raised))
        cell = negative_multinomial_logpmf(k, with_problem, self.shape) - negative_multinomial_logpmf(
            k, without, self.shape
        )
        out[self.first] = cell[self.pos[self.first]]
        return out

    def update(self, post: np.ndarray) -> None:
        """Refit ``rate`` and ``ratio`` from the current posteriors of the cells."""
        if not len(self.rows):
            return
        none = np.exp(self._none_raised(post)[0])
        files = self.m[:, None]
        rate = (none * self.k).sum(axis=0) / np.maximum((none * files).sum(axis=0), 1e-12)
        self.rate = np.maximum(np.where(rate > 0, rate, self.rate), 1e-3)
        mean = files * self.rate[None, :]
        if ((1 - none) * mean).sum() > 0:
            self.ratio = float(
                np.clip(((1 - none) * self.k).sum() / ((1 - none) * mean).sum(), 1.0, MAX_RATIO)
            )
