"""Treatment-coded model matrices as their distinct rows (the kernel behind :meth:`SurveyDesign.regress_patterns`).

:func:`treatment_patterns` replaces ``patsy.dmatrix("C(f1) + C(f2) + ...", frame)``: patsy builds each
``C(f)`` column row by row in Python (about 12 s per model at a million rows); a model of categorical regressors
has one distinct row per combination of levels, so the matrix is given once per combination and each
respondent gets the index of its row. Tested equal to patsy's treatment coding, term names included
(``tests/test_patterns_kernel.py``). Public as :func:`pipeline.stats.treatment_patterns`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from pipeline.errors import DataError, Location


class TreatmentPatterns(NamedTuple):
    """A treatment-coded model matrix as distinct rows, for :meth:`SurveyDesign.regress_patterns`.

    Attributes
    ----------
    pattern : ndarray of int, length n
        Row of ``x`` of each respondent; ``-1`` for a respondent with a missing factor value (dropped).
    x : ndarray, shape (patterns, p)
        The distinct rows: the intercept, then each factor's indicators of its non-reference levels.
    terms : list of str
        patsy's coefficient names: ``"Intercept"``, ``"C(f)[T.level]"``.
    """

    pattern: np.ndarray
    x: np.ndarray
    terms: list[str]


def treatment_patterns(frame: pd.DataFrame, factors: Sequence[str]) -> TreatmentPatterns:
    """The model matrix of ``1 + C(f1) + C(f2) + ...`` (treatment coding) as its distinct rows.

    Same matrix and term names as ``patsy.dmatrix("C(f1) + C(f2) + ...", frame)`` (and R's default
    ``contr.treatment``): the levels of a factor are its categories (all of them, in order) for a pandas
    Categorical, else its sorted distinct values; the first level is the reference. One pattern per
    combination of levels present; a row with a missing factor value gets pattern ``-1`` (dropped, as patsy's
    ``NA_action="drop"`` and R's ``na.omit`` drop it).

    Parameters
    ----------
    frame : DataFrame
        One row per respondent (not modified).
    factors : sequence of str
        Categorical regressors, in model order.

    Returns
    -------
    TreatmentPatterns
        ``(pattern, x, terms)``, to pass to :meth:`SurveyDesign.regress_patterns`.

    Raises
    ------
    DataError
        A factor column is not in ``frame`` (named).

    Examples
    --------
    >>> import pandas as pd
    >>> tp = treatment_patterns(pd.DataFrame({"g": ["b", "a", "b", None]}), ["g"])
    >>> tp.pattern.tolist(), tp.x.tolist(), tp.terms
    ([0, 1, 0, -1], [[1.0, 1.0], [1.0, 0.0]], ['Intercept', 'C(g)[T.b]'])

    R: ``model.matrix(~ g, data.frame(g = c("b", "a", "b", NA)))`` has the rows (1, 1), (1, 0), (1, 1).
    """
    for factor in factors:
        if factor not in frame.columns:
            raise DataError(
                f"treatment_patterns(): column '{factor}' is not in the data", Location(column=factor)
            )
    key = np.zeros(len(frame), dtype=np.int64)
    missing = np.zeros(len(frame), dtype=bool)
    sizes, terms = [], ["Intercept"]
    for factor in factors:
        values = frame[factor]
        if isinstance(values.dtype, pd.CategoricalDtype):
            levels = list(values.cat.categories)
            codes = values.cat.codes.to_numpy()
        else:
            levels = sorted(pd.unique(values.dropna()))
            codes = pd.Categorical(values, categories=levels).codes
        missing |= codes < 0
        key = key * len(levels) + codes
        sizes.append(len(levels))
        terms += [f"C({factor})[T.{level}]" for level in levels[1:]]
    pattern = np.full(len(frame), -1, dtype=np.intp)
    pattern[~missing], combos = pd.factorize(key[~missing])
    columns = [np.ones(len(combos))]
    for radix_index, size in enumerate(sizes):
        code = (combos // math.prod(sizes[radix_index + 1 :])) % size
        columns += [(code == j).astype(float) for j in range(1, size)]
    return TreatmentPatterns(pattern, np.column_stack(columns), terms)
