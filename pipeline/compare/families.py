"""Group comparisons, one family per outcome × grouping (``comparisons.parquet``), and the family table.

The public survey is compared design-based (raking weights, :class:`~pipeline.stats.SurveyDesign`: domain
means, Wald F, pairwise contrasts, Rao–Scott χ²) and, as a robustness check in families of their own,
unweighted; the staff survey and the case files unweighted (Welch ANOVA, Kruskal–Wallis, Games–Howell, χ²/Fisher;
Welch t and Mann–Whitney for a family of exactly two groups). ``p_holm`` is Holm within a family, as
:func:`pipeline.stats.compare_groups` defines it.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from pipeline import stats
from pipeline.compare.columns import COMPARISON_COLUMNS, FAMILY_COLUMNS
from pipeline.compare.outcomes import design_suffix, group_outcomes, groupings
from pipeline.config import Config
from pipeline.frames import unit_lookup
from pipeline.schemas import empty_table
from pipeline.stats.comparisons import RESULT_COLUMNS
from pipeline.stats.small_groups import MIN_N, SMALL_N


def _two_group_rows(
    frame: pd.DataFrame, dv: str, by: str, min_n: int, small_n: int, codes_of: dict | None = None
) -> list[dict]:
    """Welch's t and Mann–Whitney rows for a family with exactly two groups of n ≥ ``min_n``.

    ``codes_of``: a dict that keeps each grouping column's codes for the next outcome (factorized once).
    """
    values = frame[dv].to_numpy(dtype=float, na_value=np.nan)
    codes_of = {} if codes_of is None else codes_of
    if by not in codes_of:
        codes_of[by] = pd.factorize(frame[by])
    codes, labels = codes_of[by]
    keep = (codes >= 0) & ~np.isnan(values)
    counts = np.bincount(codes[keep], minlength=len(labels))
    kept = sorted(labels[counts >= min_n])
    if len(kept) != 2:
        return []
    a, b = kept
    code_of = {label: i for i, label in enumerate(labels)}
    x = values[keep & (codes == code_of[a])]
    y = values[keep & (codes == code_of[b])]
    if np.ptp(np.concatenate([x, y])) == 0:
        return []
    flag, reason = stats.SmallGroupRule(flag_below=small_n, suppress_below=min_n).flag(min(len(x), len(y)))
    base = dict.fromkeys(RESULT_COLUMNS, math.nan)
    base.update(family=f"{dv} ~ {by}", dv=dv, by=by, contrast=f"{a} vs {b}", group_a=a, group_b=b, level=None,
                n=len(x) + len(y), n_a=len(x), n_b=len(y), weighted=False, flag=flag, reason=reason)  # fmt: skip
    rows = []  # alternative tests of the family's one hypothesis: p_holm = p, as the omnibus rows
    wt = stats.welch_ttest(x, y)
    rows.append({**base, "test": "welch_t", "estimate": wt.difference, "se": wt.se, "ci_low": wt.ci_low,
                 "ci_high": wt.ci_high, "statistic": wt.statistic, "df1": wt.df, "p": wt.pvalue, "p_holm": wt.pvalue,
                 "effect_name": "hedges_g", "effect": wt.effect.estimate, "effect_ci_low": wt.effect.ci_low,
                 "effect_ci_high": wt.effect.ci_high})  # fmt: skip
    mw = stats.mann_whitney(x, y)
    rows.append({**base, "test": "mann_whitney", "statistic": mw.statistic, "p": mw.pvalue, "p_holm": mw.pvalue,
                 "effect_name": "rank_biserial", "effect": mw.effect.estimate})  # fmt: skip
    return rows


def _standardize(table: pd.DataFrame, sd: dict[str, float], rows: pd.Series) -> None:
    """Weighted contrasts: effect = difference / weighted SD of the dv (SD taken as known for the CI)."""
    if not rows.any():
        return
    s = table.loc[rows, "dv"].map(sd).astype(float)
    table.loc[rows, "effect_name"] = "standardized_difference"
    # columns of suppressed rows only (all None) are not numeric until something is written into them
    for source, target in (
        ("estimate", "effect"),
        ("ci_low", "effect_ci_low"),
        ("ci_high", "effect_ci_high"),
    ):
        table.loc[rows, target] = pd.to_numeric(table.loc[rows, source], errors="coerce").astype(float) / s


def _family_block(
    frame: pd.DataFrame,
    instrument: str,
    continuous: list[str],
    categorical: list[str],
    groupings: list[str],
    *,
    design: stats.SurveyDesign | None,
    small_n: int,
    min_n: int,
    suffix: str = " (weighted)",
) -> pd.DataFrame:
    """One instrument's families; a design-based family's name ends in ``suffix`` (:func:`design_suffix`)."""
    opts = dict(small_n=small_n, min_n=min_n)
    parts = []
    if continuous:
        parts.append(stats.compare_groups(frame, dv=continuous, by=groupings, design=design, kind="continuous",
                                          **opts))  # fmt: skip
    if categorical:
        parts.append(stats.compare_groups(frame, dv=categorical, by=groupings, design=design, kind="categorical",
                                          **opts))  # fmt: skip
    if design is None and continuous:
        codes_of: dict = {}
        extra = [
            r
            for dv in continuous
            for by in groupings
            for r in _two_group_rows(frame, dv, by, min_n, small_n, codes_of)
        ]
        if extra:
            parts.append(pd.DataFrame(extra, columns=RESULT_COLUMNS))
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame(columns=["instrument", *RESULT_COLUMNS])
    table = pd.concat(parts, ignore_index=True)
    if design is not None:
        sd = {dv: stats.weighted_sd(design.frame[dv], design.weights) for dv in continuous}
        _standardize(table, sd, table["test"] == "svy_contrast")
    suffix = suffix if design is not None else ""
    table["family"] = instrument + ": " + table["family"] + suffix
    table.insert(0, "instrument", instrument)
    return table


def _name_groups(table: pd.DataFrame, names: dict[str, str], unit_bys: set[str]) -> pd.DataFrame:
    is_unit = table["by"].isin(unit_bys)
    for side in ("a", "b"):
        labels = table[f"group_{side}"].map(lambda v: names.get(str(v)) if v is not None else None)
        table[f"group_{side}_name"] = labels.where(is_unit, None)
    return table


def group_comparisons(
    public: pd.DataFrame,
    design: stats.SurveyDesign,
    staff: pd.DataFrame,
    casefiles: pd.DataFrame,
    config: Config,
    *,
    small_n: int = SMALL_N,
    min_n: int = MIN_N,
) -> pd.DataFrame:
    """All group-comparison families of the run (``comparisons.parquet`` before run-level BH)."""
    opts = dict(small_n=small_n, min_n=min_n)
    blocks = [
        _weighted_block(public, design, config, **opts),
        *_unweighted_blocks(public, staff, casefiles, config, **opts),
    ]
    return _comparison_table(blocks, config)


def _weighted_block(public: pd.DataFrame, design: stats.SurveyDesign, config: Config, **opts) -> pd.DataFrame:
    """The design-based families of the public survey."""
    pub_cont, pub_cat = group_outcomes(public, config, "public")
    return _family_block(
        public, "public", pub_cont, pub_cat, list(groupings(config, "public")), design=design,
        suffix=design_suffix(config), **opts,
    )  # fmt: skip


def _unweighted_blocks(
    public: pd.DataFrame, staff: pd.DataFrame, casefiles: pd.DataFrame, config: Config, **opts
) -> list[pd.DataFrame]:
    """The unweighted families: public survey (robustness check), staff survey, case files."""
    blocks = []
    for instrument, frame in (("public", public), ("staff", staff), ("casefile", casefiles)):
        if len(frame) and config.plan(instrument).available:
            cont, cat = group_outcomes(frame, config, instrument)
            groups = list(groupings(config, instrument))
            blocks.append(_family_block(frame, instrument, cont, cat, groups, design=None, **opts))
    return blocks


def _comparison_table(blocks: list[pd.DataFrame], config: Config) -> pd.DataFrame:
    """The blocks as one table with unit names and text labels, columns :data:`COMPARISON_COLUMNS`."""
    blocks = [b for b in blocks if len(b)]
    if not blocks:
        return empty_table("compare", "comparisons")
    table = pd.concat(blocks, ignore_index=True)
    table = _name_groups(table, unit_lookup(config).names, {"district"})
    return labels_as_text(table[COMPARISON_COLUMNS])


def labels_as_text(table: pd.DataFrame) -> pd.DataFrame:
    """Group and level labels as text (they mix codes, option texts and 0/1 levels across families)."""
    table = table.copy()
    for col in ("group_a", "group_b", "level"):
        values = table[col]
        table[col] = values.map(lambda v: None if v is None or (isinstance(v, float) and math.isnan(v)) else (
            str(int(v)) if isinstance(v, (bool, np.bool_, np.integer)) or (isinstance(v, float) and v.is_integer())
            else str(v)))  # fmt: skip
    return table


def _holm_over(tests: set[str], table: str) -> str:
    if table == "unit_vs_peers":
        return "every unit of the instrument (one test per unit)"
    if table == "adjusted":
        return "every non-reference district (adjusted coefficient)"
    if "svy_contrast" in tests:
        return "pairwise design-based contrasts; svy_wald_f/rao_scott rows keep p"
    if tests & {"chi2", "fisher"} and "proportion" in tests:
        return "pairwise chi2/Fisher rows; the omnibus row keeps p"
    return "none needed: omnibus rows keep p; Games–Howell p is already simultaneous over pairs"


def family_table(comparisons: pd.DataFrame, peers: pd.DataFrame, adjusted: pd.DataFrame) -> pd.DataFrame:
    """One row per family of the three result tables: what it compares and what Holm was taken over."""
    rows = []
    for name, table in (("comparisons", comparisons), ("unit_vs_peers", peers), ("adjusted", adjusted)):
        if table.empty:
            continue
        by_col = "by" if "by" in table.columns else None
        for family, sub in table.groupby("family", sort=False):
            tests = set(sub["test"]) if "test" in sub.columns else {"svy_regression"}
            by = sub[by_col].iloc[0] if by_col else "district"
            if name == "comparisons":
                groups = set(sub["group_a"].dropna().astype(str)) | set(sub["group_b"].dropna().astype(str))
                groups.discard("rest")
                n_groups = len(groups)
                kind = "categorical" if tests & {"proportion", "svy_proportion"} else "continuous"
            elif name == "unit_vs_peers":
                n_groups, kind = int(sub["unit"].nunique()), "continuous"
            else:
                n_groups, kind = int(sub["district"].nunique()) + 1, "continuous"
            weighted = bool(sub["weighted"].iloc[0])
            rows.append(
                {
                    "family": family,
                    "table": name,
                    "instrument": sub["instrument"].iloc[0],
                    "dv": sub["dv"].iloc[0],
                    "by": by,
                    "weighted": weighted,
                    "kind": kind,
                    "tests": ",".join(sorted(tests)),
                    "n_rows": len(sub),
                    "n_tests": int(sub["p"].notna().sum()),
                    "n_groups": n_groups,
                    "holm_over": _holm_over(tests, name),
                    "description": f"{sub['dv'].iloc[0]} 按 {by} 比较（{'加权' if weighted else '未加权'}）",
                }
            )
    return pd.DataFrame(rows, columns=FAMILY_COLUMNS)
