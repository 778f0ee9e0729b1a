"""The calibration step of the linearization variance, from cell sums (private kernel of :mod:`design`).

For a design calibrated (raked) on categorical variables, ``survey::svyrecvar`` replaces each influence value
``z_i`` by its residual from a weighted least-squares regression on the calibration indicators, with the base
weights (before raking) as regression weights::

    e_i = z_i - a_i' beta,    beta = argmin sum_i w0_i (z_i - a_i' beta)^2

(``qr.resid`` in R; Deville & Särndal 1992; Lumley 2010, sec. 7.3). The slower library equivalent is the
row-level regression ``statsmodels.api.WLS(z, A[cell], weights=w0).fit()``, whose fitted values are
``A[cell] @ beta``. Respondents of one calibration cell share their indicator row ``a_i``, so the regression
collapses to one row per cell: the cell's base-weighted sum of ``z`` over its base-weight total, weighted by
that total. :func:`calibration_fit` solves that n_cells-row problem, whatever the number of respondents; every
variance routine of :class:`~pipeline.stats.design.SurveyDesign` calls it with the cell sums it has (per
variable, domain, unit or coefficient). Tested equal to the statsmodels regression.
"""

from __future__ import annotations

import numpy as np


def calibration_fit(cell_sums: np.ndarray, indicators: np.ndarray, sqrt_w0_cell: np.ndarray) -> np.ndarray:
    """Fitted value per calibration cell of the base-weighted regression of ``z`` on the calibration indicators.

    Parameters
    ----------
    cell_sums : ndarray, shape (n_cells, k)
        ``sum_{i in cell} w0_i z_i`` for each of k influence columns.
    indicators : ndarray, shape (n_cells, p)
        The calibration indicator row ``a`` of each cell (one column per category of each margin; the
        blocks are collinear, the fitted values are unique all the same).
    sqrt_w0_cell : ndarray, shape (n_cells,)
        Square root of each cell's base-weight total ``sum_{i in cell} w0_i`` (all > 0).

    Returns
    -------
    ndarray, shape (n_cells, k)
        ``a_c' beta`` per cell: the calibration residual of respondent i is ``z_i - fit[cell_i]``. Equals the
        fitted values of ``statsmodels.api.WLS(z, A[cell], weights=w0)`` on the rows (tested to 1e-10).
    """
    beta, *_ = np.linalg.lstsq(
        indicators * sqrt_w0_cell[:, None], cell_sums / sqrt_w0_cell[:, None], rcond=None
    )
    return indicators @ beta
