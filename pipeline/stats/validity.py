"""Construct validity of questionnaire scales: KMO, Bartlett's sphericity test, EFA and CFA.

Checked against R (``tests/reference/psych/make_reference.R``): ``psych::KMO``, ``psych::cortest.bartlett``,
``psych::fa(fm = "minres", rotate = "oblimin" / "varimax")`` and ``lavaan::cfa`` + ``fitMeasures``.

Libraries used: factor_analyzer for the rotations (``Rotator``); semopy for CFA estimation. KMO and
Bartlett's statistic are computed from the correlation matrix, as psych does (see :func:`kmo`). The minres
extraction is shared with :func:`pipeline.stats.reliability.omega_total` (see ``_minres`` there for why it is
hand-written). All functions use Pearson correlations of the listwise-complete rows and no weights (psych and
lavaan fit unweighted here as well). Each accepts the items as a DataFrame or as
:class:`~pipeline.stats.PreparedItems` (:func:`~pipeline.stats.prepare_items` once,
then one correlation matrix serves KMO, Bartlett, EFA and the CFA's data).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.errors import DataError
from pipeline.stats._items import PreparedItems, as_prepared, cov2cor
from pipeline.stats.reliability import _minres

_ROTATIONS = ("oblimin", "varimax", "none")


def _complete(items: pd.DataFrame | PreparedItems, min_items: int = 2) -> tuple[PreparedItems, np.ndarray]:
    """Listwise-complete, unweighted items and their correlation matrix."""
    p = as_prepared(items, min_items=min_items)
    if p.w is not None:
        raise DataError("construct validity is unweighted: prepare the items without weights")
    return p, p.corr_unweighted


# --------------------------------------------------------------------------------------------- KMO
@dataclass(frozen=True)
class KMOResult:
    """Kaiser-Meyer-Olkin measure of sampling adequacy.

    Attributes
    ----------
    overall : float
        :math:`\\sum_{i\\ne j} r_{ij}^2 / (\\sum_{i\\ne j} r_{ij}^2 + \\sum_{i\\ne j} q_{ij}^2)`, q = partial (anti-
        image) correlations.
    per_item : pandas.Series
        The same sums restricted to each item's column (MSA_i).
    n, n_dropped : int
    """

    overall: float
    per_item: pd.Series
    n: int
    n_dropped: int


def kmo(items: pd.DataFrame | PreparedItems) -> KMOResult:
    r"""Kaiser-Meyer-Olkin sampling adequacy, overall and per item, as ``psych::KMO``.

    With the correlation matrix :math:`R` and the partial (anti-image) correlations
    :math:`q_{ij} = -(R^{-1})_{ij} / \sqrt{(R^{-1})_{ii} (R^{-1})_{jj}}`,
    :math:`\mathrm{KMO} = \sum_{i\ne j} r_{ij}^2 / (\sum_{i\ne j} r_{ij}^2 + \sum_{i\ne j} q_{ij}^2)`, and
    :math:`\mathrm{MSA}_j` the same sums over column j. Hand-written from :math:`R` (as psych's ``KMO``):
    factor_analyzer's ``calculate_kmo`` takes only the raw rows and standardizes all of them twice, while
    here one correlation matrix serves KMO, Bartlett and EFA. Same formula as both.

    Parameters
    ----------
    items : pandas.DataFrame or PreparedItems
        Respondents x items, numeric. Rows with any missing item are dropped (listwise); unweighted.

    Raises
    ------
    DataError
        Non-numeric or constant item (named); fewer than 2 items or 3 complete rows; singular correlation
        matrix (e.g. an item that is the sum of others).

    References
    ----------
    Kaiser (1970) Psychometrika 35:401; Kaiser & Rice (1974) Educ Psychol Meas 34:111.

    Examples
    --------
    >>> import pandas as pd
    >>> x = pd.DataFrame({"a": [1, 2, 3, 4, 5, 3, 2], "b": [2, 2, 3, 5, 4, 3, 3], "c": [1, 1, 4, 3, 5, 2, 2]})
    >>> round(kmo(x).overall, 6)  # psych::KMO(x)$MSA
    0.636955
    """
    p, r = _complete(items)
    _check_invertible(r, p.items)
    partial = -cov2cor(np.linalg.inv(r))
    off = ~np.eye(r.shape[0], dtype=bool)
    r2 = np.where(off, r**2, 0.0)
    q2 = np.where(off, partial**2, 0.0)
    per_item = r2.sum(axis=0) / (r2.sum(axis=0) + q2.sum(axis=0))
    overall = r2.sum() / (r2.sum() + q2.sum())
    return KMOResult(
        overall=float(overall),
        per_item=pd.Series(per_item, index=list(p.items), name="msa"),
        n=p.x.shape[0],
        n_dropped=p.n_dropped,
    )


def _check_invertible(r: np.ndarray, names: Sequence[str]) -> None:
    val, vec = np.linalg.eigh(r)
    if val[0] < 1e-10:
        worst = names[int(np.argmax(np.abs(vec[:, 0])))]
        raise DataError(
            f"correlation matrix is singular (item {worst} is a linear combination of other items); "
            "remove redundant items such as totals"
        )


# --------------------------------------------------------------------------------------------- Bartlett
@dataclass(frozen=True)
class BartlettResult:
    """Bartlett's test that the correlation matrix is an identity matrix.

    Attributes
    ----------
    statistic : float
        :math:`-\\ln|R| \\,(n - 1 - (2k + 5)/6)`.
    df : float
        :math:`k(k-1)/2`.
    pvalue : float
    n, k, n_dropped : int
    """

    statistic: float
    df: float
    pvalue: float
    n: int
    k: int
    n_dropped: int


def bartlett_sphericity(items: pd.DataFrame | PreparedItems) -> BartlettResult:
    r"""Bartlett's sphericity test, as ``psych::cortest.bartlett(cor(x), n = nrow(x))``.

    :math:`\chi^2 = -\ln|R| \,(n - 1 - (2k + 5)/6)` on :math:`k(k-1)/2` degrees of freedom, from the
    correlation matrix (see :func:`kmo` for why not factor_analyzer's ``calculate_bartlett_sphericity``,
    which has the same formula).

    Parameters
    ----------
    items : pandas.DataFrame or PreparedItems
        Respondents x items; listwise deletion; unweighted.

    Raises
    ------
    DataError
        As :func:`kmo`.

    References
    ----------
    Bartlett (1951) Br J Stat Psychol 4:1.

    Examples
    --------
    >>> import pandas as pd
    >>> x = pd.DataFrame({"a": [1, 2, 3, 4, 5, 3, 2], "b": [2, 2, 3, 5, 4, 3, 3], "c": [1, 1, 4, 3, 5, 2, 2]})
    >>> round(bartlett_sphericity(x).statistic, 6)  # psych::cortest.bartlett(cor(x), n = 7)$chisq
    10.762055
    """
    p, r = _complete(items)
    _check_invertible(r, p.items)
    from scipy import stats as sps  # here: importing scipy.stats costs ~0.5 s, and only this test needs it

    n, k = p.x.shape
    df = k * (k - 1) / 2
    stat = -np.log(np.linalg.det(r)) * (n - 1 - (2 * k + 5) / 6)
    return BartlettResult(
        statistic=float(stat),
        df=df,
        pvalue=float(sps.chi2.sf(stat, df)),
        n=p.x.shape[0],
        k=k,
        n_dropped=p.n_dropped,
    )


# --------------------------------------------------------------------------------------------- EFA
@dataclass(frozen=True)
class EFAResult:
    """Exploratory factor analysis (minres extraction, optional rotation).

    Attributes
    ----------
    loadings : pandas.DataFrame
        Items x factors (``F1`` ... ``Fm``) pattern loadings, factors ordered by variance accounted for and
        signed so each column sums positive (as psych).
    phi : pandas.DataFrame or None
        Factor correlations (oblique rotation only).
    communalities, uniquenesses : pandas.Series
    variance : pandas.DataFrame
        Per factor: ``ss_loadings`` (with Phi for oblique rotations, as psych) and ``proportion`` of the total
        variance k.
    rotation : str
    n, n_dropped : int
    """

    loadings: pd.DataFrame
    phi: pd.DataFrame | None
    communalities: pd.Series
    uniquenesses: pd.Series
    variance: pd.DataFrame
    rotation: str
    n: int
    n_dropped: int


def efa(items: pd.DataFrame | PreparedItems, n_factors: int, rotation: str = "oblimin") -> EFAResult:
    r"""Exploratory factor analysis as ``psych::fa(x, nfactors, fm = "minres", rotate = rotation)``.

    Minres (unweighted least squares) extraction from the Pearson correlation matrix, then rotation:
    ``"oblimin"`` (direct quartimin, gamma = 0, no Kaiser normalisation: GPArotation's default, used by psych),
    ``"varimax"`` (Kaiser-normalised, as ``stats::varimax`` used by psych) or ``"none"``. Rotations are
    factor_analyzer's ``Rotator``. Loadings agree with psych to ~1e-5: psych's optimiser stops early.

    Parameters
    ----------
    items : pandas.DataFrame or PreparedItems
        Respondents x items; listwise deletion; unweighted.
    n_factors : int
        Number of factors, at least 1 and fewer than the number of items.
    rotation : {"oblimin", "varimax", "none"}

    Raises
    ------
    DataError
        As :func:`kmo`; bad ``n_factors`` or ``rotation``.

    References
    ----------
    Harman & Jones (1966) Psychometrika 31:351 (minres). Jennrich (2002) Psychometrika 67:7 (oblimin by
    gradient projection). Revelle, psych::fa.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> f = rng.normal(size=(400, 2))
    >>> x = pd.DataFrame({f"q{j}": f[:, j // 3] + rng.normal(size=400) for j in range(6)})
    >>> res = efa(x, 2)
    >>> res.loadings.abs().idxmax(axis=1).tolist()
    ['F2', 'F2', 'F2', 'F1', 'F1', 'F1']
    """
    if rotation not in _ROTATIONS:
        raise DataError(f"rotation={rotation!r} is not one of {', '.join(_ROTATIONS)}")
    p, r = _complete(items, min_items=3)
    k = r.shape[0]
    if not isinstance(n_factors, (int, np.integer)) or not 1 <= n_factors < k:
        raise DataError(f"n_factors must be an integer from 1 to {k - 1} for {k} items, got {n_factors!r}")
    lam = _minres(r, int(n_factors))
    phi = None
    if n_factors > 1 and rotation != "none":
        from factor_analyzer.rotator import Rotator

        rot = Rotator(method=rotation, normalize=rotation == "varimax")
        lam = rot.fit_transform(lam)
        if rotation == "oblimin":
            phi = rot.phi_
    # psych: flip factors to positive column sums, order by variance accounted for
    signs = np.where(lam.sum(axis=0) < 0, -1.0, 1.0)
    lam = lam * signs
    if phi is not None:
        phi = phi * np.outer(signs, signs)
        ss = np.diag(phi @ lam.T @ lam)
    else:
        ss = np.sum(lam**2, axis=0)
    order = np.argsort(-ss, kind="stable")
    lam, ss = lam[:, order], ss[order]
    names = [f"F{j + 1}" for j in range(n_factors)]
    h2 = np.sum(lam**2, axis=1) if phi is None else np.diag(lam @ phi[np.ix_(order, order)] @ lam.T)
    items_ = list(p.items)
    return EFAResult(
        loadings=pd.DataFrame(lam, index=items_, columns=names),
        phi=None if phi is None else pd.DataFrame(phi[np.ix_(order, order)], index=names, columns=names),
        communalities=pd.Series(h2, index=items_, name="communality"),
        uniquenesses=pd.Series(1 - h2, index=items_, name="uniqueness"),
        variance=pd.DataFrame({"factor": names, "ss_loadings": ss, "proportion": ss / k}),
        rotation=rotation,
        n=p.x.shape[0],
        n_dropped=p.n_dropped,
    )


def misassigned_items(result: EFAResult, expected: Mapping[str, str]) -> pd.DataFrame:
    """Mark items that load highest on a factor belonging to a scale other than their own.

    Each factor is first labelled with the scale whose items have the largest summed absolute loading on it;
    an item is flagged when its highest absolute loading is on a factor labelled with another scale (or on a
    factor claimed by no scale).

    Parameters
    ----------
    result : EFAResult
    expected : mapping item -> scale
        The questionnaire's assignment, e.g. ``{"q1": "法治意识", "q2": "法治意识", "q7": "执法满意度"}``.

    Returns
    -------
    pandas.DataFrame
        One row per item: ``item, scale, primary_factor, primary_loading, factor_scale, misassigned,
        flag_code`` (``"loads_on_other_scale"`` or ``""``) and ``flag`` (Chinese reason or ``""``).

    Raises
    ------
    DataError
        An item of ``expected`` that is not in the EFA (or vice versa), naming it.
    """
    lam = result.loadings
    missing = [i for i in lam.index if i not in expected]
    extra = [i for i in expected if i not in lam.index]
    if missing or extra:
        which = missing[0] if missing else extra[0]
        raise DataError(f"item {which} is in {'the EFA' if missing else 'expected'} but not in the other")
    scale_of = pd.Series({i: expected[i] for i in lam.index})
    strength = lam.abs().groupby(scale_of).sum()  # scales x factors
    factor_scale = {f: strength[f].idxmax() for f in lam.columns}
    rows = []
    for item in lam.index:
        primary = lam.loc[item].abs().idxmax()
        owner = factor_scale[primary]
        bad = owner != scale_of[item]
        rows.append(
            {
                "item": item,
                "scale": scale_of[item],
                "primary_factor": primary,
                "primary_loading": float(lam.loc[item, primary]),
                "factor_scale": owner,
                "misassigned": bool(bad),
                "flag_code": "loads_on_other_scale" if bad else "",
                "flag": (
                    f"该题在{primary}上载荷最高（{lam.loc[item, primary]:.2f}），该因子对应量表“{owner}”，"
                    f"而非其所属量表“{scale_of[item]}”"
                )
                if bad
                else "",
            }
        )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------- CFA
@dataclass(frozen=True)
class CFAResult:
    """Confirmatory factor analysis (ML) fit and standardized loadings.

    Attributes
    ----------
    chi2, df, pvalue : float
        Likelihood-ratio test of the model vs. the saturated model (chi2 = N F_ML, lavaan's convention).
    cfi, tli : float
        Against the independence (baseline) model: Bentler's CFI in [0, 1] and the (unbounded) TLI, as
        ``lavaan::fitMeasures`` (formulas in :func:`cfa`).
    rmsea, rmsea_ci_low, rmsea_ci_high : float
        :math:`\\sqrt{\\max(\\chi^2 - df, 0) / (df\\,N)}` and its 90% interval by inverting the non-central
        chi-square (as lavaan).
    srmr : float
        Standardized root mean square residual (Bentler): residual covariances divided by observed SDs,
        root mean over the k(k+1)/2 non-duplicated elements.
    loadings : pandas.DataFrame
        ``scale, item, estimate`` (unstandardized, first item of each scale fixed to 1) and ``std_estimate``
        (fully standardized, equal to lavaan's ``std.all``).
    factor_correlations : pandas.DataFrame
    n, n_dropped : int
    converged : bool
    """

    chi2: float
    df: float
    pvalue: float
    cfi: float
    tli: float
    rmsea: float
    rmsea_ci_low: float
    rmsea_ci_high: float
    srmr: float
    loadings: pd.DataFrame
    factor_correlations: pd.DataFrame
    n: int
    n_dropped: int
    converged: bool


#: lavaan takes a CFI numerator and denominator within ``all.equal``'s tolerance of 0 as a perfect fit (CFI 1).
_CFI_ZERO = 1.5e-8


def _bentler_cfi(chi2: float, df: float, chi2_null: float, df_null: float) -> float:
    """Bentler's CFI, ``1 - max(chi2 - df, 0) / max(chi2_0 - df_0, chi2 - df, 0)``, in [0, 1] (lavaan's ``cfi``).

    The maxima keep the index in [0, 1]: a model whose chi-square is below its df fits as well as a model can
    (CFI 1), where the unbounded ``1 - (chi2 - df) / (chi2_0 - df_0)`` (semopy's) would exceed 1. Both
    non-centralities ~0 (``all.equal(., 0)`` in lavaan's ``lav_fit_cfi``) also give 1.
    """
    t1 = max(chi2 - df, 0.0)
    t2 = max(chi2 - df, chi2_null - df_null, 0.0)
    if t1 < _CFI_ZERO and t2 < _CFI_ZERO:
        return 1.0
    return 1.0 - t1 / t2


def _rmsea_ci(chi2: float, df: float, n: int, level: float = 0.90) -> tuple[float, float]:
    """Non-centrality interval for RMSEA (Browne & Cudeck 1993; lavaan's ``rmsea.ci.lower/upper``)."""
    from scipy import optimize
    from scipy import stats as sps

    lo_p, hi_p = 1 - (1 - level) / 2, (1 - level) / 2

    def bound(target: float) -> float:
        def f(lam: float) -> float:
            return sps.ncx2.cdf(chi2, df, lam) - target if lam > 0 else sps.chi2.cdf(chi2, df) - target

        if f(0.0) < 0:
            return 0.0
        hi = max(chi2, 1.0)
        while f(hi) > 0:
            hi *= 2
        return float(optimize.brentq(f, 0.0, hi, xtol=1e-12))

    return (
        float(np.sqrt(bound(lo_p) / (n * df))),
        float(np.sqrt(bound(hi_p) / (n * df))),
    )


def cfa(items: pd.DataFrame | PreparedItems, structure: Mapping[str, Sequence[str]]) -> CFAResult:
    r"""Confirmatory factor analysis by maximum likelihood (semopy), fit indices as ``lavaan::fitMeasures``.

    Each scale is a factor measured by its items (simple structure, correlated factors, item residuals
    uncorrelated). Estimation: semopy's Wishart ML objective with a tight SLSQP tolerance (semopy's default
    tolerance leaves chi-square ~5e-5 off the optimum). chi2, df, the baseline (independence) model's
    chi2_0 and df_0, and TLI come from semopy; RMSEA (with N, as lavaan's ML), its 90% CI and SRMR are computed
    from the fitted and observed covariance matrices (semopy gives no RMSEA interval or SRMR and uses N - 1 in
    RMSEA). Fit indices, as ``lavaan::fitMeasures``:

    * CFI (Bentler 1990) ``= 1 - max(chi2 - df, 0) / max(chi2_0 - df_0, chi2 - df, 0)``, in [0, 1]: 1 when the
      model's chi-square is below its df (semopy reports the unbounded ``1 - (chi2 - df)/(chi2_0 - df_0)``,
      which then exceeds 1);
    * TLI (Tucker & Lewis 1973) ``= 1 - (chi2 - df) df_0 / ((chi2_0 - df_0) df)``, not bounded (it may exceed
      1), as lavaan reports it.

    Parameters
    ----------
    items : pandas.DataFrame or PreparedItems
        Respondents x items (must contain every item named in ``structure``); listwise deletion; unweighted.
        Prepared items must be exactly the items of ``structure`` (in any order): listwise deletion depends on
        which items take part.
    structure : mapping scale -> list of items
        E.g. ``{"法治意识": ["q1", "q2", "q3"], "执法满意度": ["q7", "q8", "q9"]}``. Names may be Chinese.

    Raises
    ------
    DataError
        An item named in ``structure`` missing from ``items`` or used twice (named); a scale with fewer than
        two items; prepared items that are not those of ``structure``; the problems :func:`kmo` raises.

    References
    ----------
    Bentler (1990) Psychol Bull 107:238 (CFI); Tucker & Lewis (1973); Browne & Cudeck (1993) (RMSEA);
    Igolkina & Meshcheryakov (2020) Struct Equ Modeling 27:952 (semopy); Rosseel (2012) lavaan.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> f = rng.normal(size=(400, 2))
    >>> x = pd.DataFrame({f"q{j}": f[:, j // 3] + rng.normal(size=400) for j in range(6)})
    >>> res = cfa(x, {"A": ["q0", "q1", "q2"], "B": ["q3", "q4", "q5"]})
    >>> res.df, round(res.chi2, 4), res.cfi, round(res.tli, 4)
    (8.0, 5.5276, 1.0, 1.0082)

    R: ``lavaan::cfa("A =~ q0 + q1 + q2; B =~ q3 + q4 + q5", x, estimator = "ML", std.lv = TRUE)`` on these
    data (``tests/reference/lavaan/``): ``fitMeasures`` chisq 5.5276, df 8, cfi 1.000, tli 1.0082.
    """
    import semopy
    from threadpoolctl import threadpool_limits

    if not isinstance(structure, Mapping) or not structure:
        raise DataError("structure must be a non-empty mapping {scale: [items]}")
    prepared = isinstance(items, PreparedItems)
    available = set(items.items if prepared else items.columns)
    seen: dict[str, str] = {}
    for scale, its in structure.items():
        its = [its] if isinstance(its, str) else list(its)
        if len(its) < 2:
            raise DataError(f"scale {scale} has {len(its)} item(s); a CFA factor needs at least 2")
        for it in its:
            if it not in available:
                raise DataError(f"item column {it} of scale {scale} not found in items")
            if it in seen:
                raise DataError(f"item column {it} is assigned to both {seen[it]} and {scale}")
            seen[it] = scale
    cols = list(seen)
    if prepared:
        unused = [i for i in items.items if i not in seen]
        if unused:
            raise DataError(
                f"prepared item(s) {', '.join(unused)} not in the structure: prepare only the CFA's items "
                "(listwise deletion depends on which items take part)"
            )
        p, r = _complete(items)
        pos = [p.items.index(c) for c in cols]
        x = p.x if pos == list(range(len(cols))) else p.x[:, pos]
        r = r[np.ix_(pos, pos)]
    else:
        p, r = _complete(items[cols])
        x = p.x
    _check_invertible(r, cols)
    # semopy's model syntax needs identifiers: use neutral names, map back afterwards
    alias = {c: f"x{j}" for j, c in enumerate(cols)}
    scales = list(structure)
    falias = {s: f"F{j}" for j, s in enumerate(scales)}
    desc = "\n".join(f"{falias[s]} =~ " + " + ".join(alias[c] for c in cols if seen[c] == s) for s in scales)
    # The factor covariances are free by default either way; named here, they enter the parameter vector in
    # this order. Left to semopy, their order follows set iteration, i.e. PYTHONHASHSEED, and the optimiser's
    # end point moved by up to ~5e-8 (relative) from one run to the next.
    desc += "".join(f"\n{falias[a]} ~~ {falias[b]}" for a, b in itertools.combinations(scales, 2))
    data = pd.DataFrame(x, columns=[alias[c] for c in cols])
    model = semopy.Model(desc)
    # One BLAS thread: the optimiser multiplies k x k matrices thousands of times, where threads only add
    # hand-offs (on a busy 2-core machine one fit took 1-19 s with two threads, 0.2-0.5 s with one), and the
    # thread count no longer moves the last digits of the estimates.
    with threadpool_limits(limits=1, user_api="blas"):
        res = model.fit(data, obj="MLW", solver="SLSQP", options={"ftol": 1e-14, "maxiter": 10_000})
        st = semopy.calc_stats(model).T["Value"]
    n = p.n
    chi2, df = float(st["chi2"]), float(st["DoF"])
    rmsea = float(np.sqrt(max(chi2 - df, 0.0) / (df * n))) if df > 0 else float("nan")
    ci_low, ci_high = _rmsea_ci(chi2, df, n) if df > 0 else (float("nan"), float("nan"))
    obs = list(model.vars["observed"])
    order = [obs.index(alias[c]) for c in cols]
    sigma = model.calc_sigma()[0][np.ix_(order, order)]
    s_obs = model.mx_cov[np.ix_(order, order)]
    sd = np.sqrt(np.diag(s_obs))
    resid = (s_obs - sigma) / np.outer(sd, sd)
    srmr = float(np.sqrt(np.mean(resid[np.tril_indices(len(cols))] ** 2)))

    ins = model.inspect(std_est=True)
    back_item = {v: k for k, v in alias.items()}
    back_scale = {v: k for k, v in falias.items()}
    lo = ins[ins["op"] == "~"]
    lo = lo[lo["rval"].isin(back_scale)]
    loadings = pd.DataFrame(
        {
            "scale": lo["rval"].map(back_scale).to_numpy(),
            "item": lo["lval"].map(back_item).to_numpy(),
            "estimate": lo["Estimate"].astype(float).to_numpy(),
            "std_estimate": lo["Est. Std"].astype(float).to_numpy(),
        }
    )
    fc = ins[(ins["op"] == "~~") & ins["lval"].isin(back_scale) & ins["rval"].isin(back_scale)]
    corr = pd.DataFrame(np.eye(len(scales)), index=scales, columns=scales)
    for _, row in fc.iterrows():
        a, b = back_scale[row["lval"]], back_scale[row["rval"]]
        if a != b:
            corr.loc[a, b] = corr.loc[b, a] = float(row["Est. Std"])
    return CFAResult(
        chi2=chi2,
        df=df,
        pvalue=float(st["chi2 p-value"]),
        cfi=_bentler_cfi(chi2, df, float(st["chi2 Baseline"]), float(st["DoF Baseline"])),
        tli=float(st["TLI"]),
        rmsea=rmsea,
        rmsea_ci_low=ci_low,
        rmsea_ci_high=ci_high,
        srmr=srmr,
        loadings=loadings,
        factor_correlations=corr,
        n=n,
        n_dropped=p.n_dropped,
        converged=bool(res.success),
    )
