"""stats._linearization: the cell-level calibration regression equals the row-level weighted least squares."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from pipeline.stats._linearization import calibration_fit

SAME_FIT_ATOL = 1e-10  # one regression solved on cells instead of rows


def _indicators(margins: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Cell of each row (combination of the margins' codes) and each cell's indicator row (one column per
    category of each margin), as ``SurveyDesign`` builds them."""
    cell, cells = pd.factorize(pd.MultiIndex.from_arrays(margins))
    blocks = []
    for level, codes in enumerate(margins):
        of_cell = np.asarray(cells.get_level_values(level))
        blocks.append((of_cell[:, None] == np.arange(codes.max() + 1)[None, :]).astype(float))
    return cell.astype(np.intp), np.hstack(blocks)


@pytest.mark.filterwarnings("ignore:The design matrix is rank-deficient")  # the collinear blocks, on purpose
def test_calibration_fit_equals_statsmodels_wls_on_the_rows():
    rng = np.random.default_rng(7)
    n = 600
    margins = [rng.integers(0, 4, n), rng.integers(0, 2, n), rng.integers(0, 5, n)]
    cell, a = _indicators(margins)
    w0 = rng.uniform(0.3, 3.0, n)
    z = rng.normal(size=(n, 3)) * rng.uniform(0.5, 4.0, 3)
    n_cells = a.shape[0]
    cell_sums = np.column_stack(
        [np.bincount(cell, weights=w0 * z[:, j], minlength=n_cells) for j in range(3)]
    )
    fit = calibration_fit(cell_sums, a, np.sqrt(np.bincount(cell, weights=w0, minlength=n_cells)))
    for j in range(3):  # the indicator blocks are collinear: statsmodels solves with a pseudo-inverse
        rows = sm.WLS(z[:, j], a[cell], weights=w0).fit()
        np.testing.assert_allclose(fit[cell, j], rows.fittedvalues, rtol=0, atol=SAME_FIT_ATOL)
        np.testing.assert_allclose(z[:, j] - fit[cell, j], rows.resid, rtol=0, atol=SAME_FIT_ATOL)
