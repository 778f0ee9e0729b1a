"""Weighted district gaps to a reference district, without and with demographic controls (``adjusted.parquet``).

For each outcome: ``svyglm(dv ~ C(district))`` and ``svyglm(dv ~ C(district) + C(gender) + C(age_group) +
C(education))`` on the public raking design, both on the respondents with every control answered, so the two
differ only by the adjustment; ``gap_change`` is the part of a gap that is the district's demographic mix.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from pipeline import stats
from pipeline.compare.columns import ADJUSTED_COLUMNS
from pipeline.config import Config
from pipeline.frames import public_design, unit_lookup
from pipeline.schemas import empty_table
from pipeline.stats.small_groups import MIN_N, SMALL_N


def _district_terms(coef: pd.DataFrame) -> pd.DataFrame:
    rows = coef[coef["term"].str.startswith("C(district)[T.")].copy()
    rows["district"] = rows["term"].str.slice(len("C(district)[T."), -1)
    return rows.set_index("district")


def _unadjusted_terms(design: stats.SurveyDesign, col: str, used: np.ndarray, confidence_level: float = 0.95):
    """The coefficients of ``svyglm(col ~ C(district))`` without a second model fit.

    In a one-factor model the coefficient of district g is ``ȳ_g − ȳ_ref`` and its linearization variance is
    that of the domain-mean contrast, ``V_gg + V_rr − 2 V_gr``; df as ``svyglm``: degf of the rows used − k + 1.
    """
    res = design.domain_means_vcov(col, "district")
    means, vcov = res.means, res.vcov
    labels = [str(x) for x in means.index]
    ref = means.index[0]
    df = float(design.subset_degf(used) + 1 - len(labels))
    rows = []
    for label, key in zip(labels[1:], means.index[1:], strict=True):
        diff = float(means[key] - means[ref])
        se = math.sqrt(max(vcov.loc[key, key] + vcov.loc[ref, ref] - 2 * vcov.loc[key, ref], 0.0))
        t = diff / se if se > 0 else math.nan
        q = stats.t_quantile(confidence_level, df)
        rows.append({"district": label, "estimate": diff, "se": se, "t": t, "p": stats.t_pvalue(t, df),
                     "ci_low": diff - q * se, "ci_high": diff + q * se, "df": df})  # fmt: skip
    return pd.DataFrame(rows).set_index("district")


def adjusted_district_effects(
    frame: pd.DataFrame,
    dvs: list[str],
    config: Config,
    *,
    controls: tuple[str, ...] | None = None,
    small_n: int = SMALL_N,
    min_n: int = MIN_N,
) -> pd.DataFrame:
    """Weighted district gaps to the reference district, without and with demographic controls.

    For each ``dv``: ``svyglm(dv ~ C(district))`` and ``svyglm(dv ~ C(district) + C(gender) + C(age_group) +
    C(education))`` (the public raking design; the adjusted model through :meth:`SurveyDesign.regress_patterns`,
    the model matrix given once per combination of levels), both on the respondents with every control
    answered, so the two differ only by the adjustment. The reference district is the first
    district level (``units.yaml`` order) with data (column ``reference``). ``gap_change = adjusted_diff −
    unadjusted_diff`` is the part of a gap that is the district's demographic mix. A district with effective
    n < ``min_n`` is suppressed (NaN estimates; its respondents stay in the model); below ``small_n`` flagged.
    Holm within a family = one ``dv`` over the non-reference districts.
    """
    plan = config.plan("public")
    if controls is None:
        controls = plan.adjusted.controls if plan.adjusted is not None else ()
    if not dvs or not controls:
        return empty_table("compare", "adjusted")
    names = unit_lookup(config).names
    rule = stats.SmallGroupRule(flag_below=small_n, suppress_below=min_n)
    complete = frame[list(controls)].notna().all(axis=1).to_numpy()
    calibration = plan.weight_variables
    # only the columns the models use
    slim = frame[list(dict.fromkeys(["weight", "district", *controls, *calibration]))]
    cc = {}
    for dv in dvs:
        y = frame[dv].to_numpy(dtype=float, na_value=np.nan)
        cc[f"{dv}__cc"] = np.where(complete, y, np.nan)
    pattern, x, terms = stats.treatment_patterns(slim, ["district", *controls])
    design = public_design(slim.assign(**cc), config)
    w_all = design.weights
    # district codes (the design has checked that no district is missing) and each district's rows in their
    # original order (a stable sort), for the n and Kish n_eff of every outcome without a mask per district
    district_codes, uniques = pd.factorize(frame["district"])
    district_labels = np.array([str(v) for v in uniques], dtype=object)
    code_of = {label: i for i, label in enumerate(district_labels)}
    by_district = np.argsort(district_codes, kind="stable")
    bounds = np.searchsorted(district_codes[by_district], np.arange(len(district_labels) + 1))
    order = [str(c) for c in frame["district"].cat.categories] if hasattr(frame["district"], "cat") else []
    rows = []
    for dv in dvs:
        col = f"{dv}__cc"
        used = ~np.isnan(cc[col])
        unadj = _unadjusted_terms(design, col, used)
        adj = _district_terms(design.regress_patterns(col, pattern, x, terms))
        present = set(district_labels[np.bincount(district_codes[used], minlength=len(district_labels)) > 0])
        reference = next((c for c in order if c in present), sorted(present)[0])
        used_by_district = used[by_district]
        for district in adj.index:
            code = code_of.get(district)
            part = slice(bounds[code], bounds[code + 1]) if code is not None else slice(0, 0)
            w = w_all[
                by_district[part][used_by_district[part]]
            ]  # weights of the district's rows used, in order
            n = len(w)
            n_eff = stats.kish_n_eff(w)
            flag, reason = rule.flag(n_eff)
            row = dict.fromkeys(ADJUSTED_COLUMNS, math.nan)
            row.update(instrument="public", family=f"public: {dv} ~ district | adjusted (weighted)", dv=dv,
                       district=district, district_name=names.get(district), reference=reference,
                       reference_name=names.get(reference), controls=" + ".join(controls), n=n, n_eff=n_eff,
                       weighted=True, flag=flag, reason=reason)  # fmt: skip
            if flag != "suppressed":
                u, a = unadj.loc[district], adj.loc[district]
                row.update(unadjusted_diff=u["estimate"], unadjusted_se=u["se"], unadjusted_ci_low=u["ci_low"],
                           unadjusted_ci_high=u["ci_high"], unadjusted_p=u["p"], adjusted_diff=a["estimate"],
                           se=a["se"], ci_low=a["ci_low"], ci_high=a["ci_high"], statistic=a["t"], df=a["df"],
                           p=a["p"], gap_change=a["estimate"] - u["estimate"])  # fmt: skip
            rows.append(row)
    table = pd.DataFrame(rows, columns=ADJUSTED_COLUMNS)
    for _, idx in table.groupby("family", sort=False).groups.items():
        table.loc[idx, "p_holm"] = stats.holm(table.loc[idx, "p"].to_numpy(dtype=float))
    table["n"] = table["n"].astype("Int64")
    return table
