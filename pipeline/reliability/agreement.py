"""Agreement between the reviewers of double-scored case files: the ``agreement`` and ``third_review`` tables.

ICC of the scores (six Shrout–Fleiss forms), Cohen's κ per veto and defect flag, weighted κ on the grades,
percent agreement, Fleiss' κ when more than two reviewers scored a file; and the files whose two scores differ
beyond the tolerance of ``casefile.yaml`` (or whose grades or vetoes disagree), which need a third review.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pipeline import stats
from pipeline.config.models import CasefileStandard
from pipeline.errors import DataError
from pipeline.reliability.columns import AGREEMENT_COLUMNS, THIRD_REVIEW_COLUMNS


# ============================================================================================ agreement
def _arow(measure: str, statistic: str, estimate: float = np.nan, **values: Any) -> dict[str, Any]:
    row = {c: np.nan for c in AGREEMENT_COLUMNS}
    row.update(
        {"measure": measure, "statistic": statistic, "estimate": estimate, "ci_method": "", "note": ""}
    )
    row.update(values)
    return row


def _slotted(reviews: pd.DataFrame) -> pd.DataFrame:
    """Reviews of files scored by two or more reviewers, with ``slot`` = 1, 2, ... in table order.

    Double scoring pairs different reviewers on different files, so the raters of the agreement statistics
    are the first and second review of a file (slots), not named persons.
    """
    r = reviews.reset_index(drop=True).copy()
    r["slot"] = r.groupby("case_id", sort=False).cumcount() + 1
    r["n_reviewers"] = r.groupby("case_id", sort=False)["case_id"].transform("size")
    return r[r["n_reviewers"] >= 2]


def _kappa_rows(measure: str, a: pd.Series, b: pd.Series, categories: list, weights_list) -> list[dict]:
    rows = []
    ok = a.notna().to_numpy() & b.notna().to_numpy()
    pa = float((a.to_numpy()[ok] == b.to_numpy()[ok]).mean()) if ok.any() else np.nan
    rows.append(
        _arow(measure, "percent_agreement", pa, n_files=int(ok.sum()), n_raters=2, n_dropped=int((~ok).sum()))
    )
    for weights in weights_list:
        name = "kappa" if weights is None else f"kappa_{weights}"
        try:
            k = stats.cohen_kappa(a, b, weights=weights, categories=categories)
        except DataError as err:
            values = pd.unique(pd.concat([a[ok], b[ok]]))
            reason = (
                f"两位评查员的结果均为同一类别（{values[0]}），kappa无定义"
                if len(values) == 1
                else f"kappa无法计算：{err}"
            )
            rows.append(
                _arow(
                    measure, name, n_files=int(ok.sum()), n_raters=2, n_dropped=int((~ok).sum()), note=reason
                )
            )
            continue
        rows.append(
            _arow(
                measure,
                name,
                k.kappa,
                se=k.se,
                ci_low=k.ci_low,
                ci_high=k.ci_high,
                ci_method="asymptotic (Fleiss-Cohen-Everitt 1969)",
                n_files=k.n,
                n_raters=2,
                n_dropped=k.n_dropped,
            )
        )
    return rows


def _flag_columns(reviews: pd.DataFrame, standard: CasefileStandard) -> dict[str, pd.Series]:
    """0/1 flags per review: ``any_veto``, each veto code, each defect code (count > 0)."""
    vetoes = [v.code for v in standard.vetoes]
    defects = [d.code for c in standard.categories for d in c.defects]
    for col in vetoes + defects:
        if col not in reviews.columns:
            raise DataError(f"casefile_reviews: column {col} not found")
    num = reviews[vetoes + defects].apply(pd.to_numeric, errors="coerce")
    flags = {"any_veto": num[vetoes].gt(0).any(axis=1).astype(int)}
    for col in vetoes + defects:
        flags[col] = num[col].gt(0).astype(int).where(num[col].notna())
    return flags


def reviewer_agreement(reviews: pd.DataFrame, standard: CasefileStandard) -> pd.DataFrame:
    """Agreement of the reviewers of double-scored case files, as one tidy table (:data:`AGREEMENT_COLUMNS`).

    The double-scored subset is every ``case_id`` with two or more rows in 02_clean ``casefile_reviews``.
    Raters are the first and second review of each file (slots 1 and 2, in table order).

    * ``score``: the six Shrout–Fleiss ICCs (``statistic`` ICC1 … ICC3k, F-based intervals, ``pvalue`` of the
      F test) on slots 1–2 (files lacking a score are dropped), and ``share_within_tolerance`` (files whose
      two scores differ by at most ``double_scoring_tolerance``).
    * ``grade``: ``percent_agreement``, ``kappa``, ``kappa_linear``, ``kappa_quadratic`` on the grade bands in
      the order of casefile.yaml.
    * ``any_veto``, each veto code and each defect code (count > 0): ``percent_agreement`` and ``kappa``;
      a flag constant in both raters gives NaN with the reason in ``note``.
    * Files with more than two reviewers: ``fleiss_kappa`` (with ``se`` under H0, ``pvalue``) per measure, by
      number of reviewers (``n_raters``).

    An empty double-scored subset gives a single row ``measure = "double_scoring"``, ``statistic = "n_files"``,
    estimate 0, saying so in ``note``.
    """
    for col in ("case_id", "score", "grade"):
        if col not in reviews.columns:
            raise DataError(f"casefile_reviews: column {col} not found")
    tol = standard.double_scoring_tolerance
    r = _slotted(reviews)
    n_files = int(r["case_id"].nunique())
    if n_files == 0:
        return pd.DataFrame(
            [
                _arow(
                    "double_scoring",
                    "n_files",
                    0.0,
                    n_files=0,
                    note="没有双评（两名及以上评查员）的案卷，无法计算评分一致性",
                )
            ],
            columns=AGREEMENT_COLUMNS,
        )
    rows = [_arow("double_scoring", "n_files", float(n_files), n_files=n_files)]
    pair = r[r["slot"] <= 2]
    score = pair.assign(score=pd.to_numeric(pair["score"], errors="coerce").astype(float))
    try:
        res = stats.icc(score, targets="case_id", raters="slot", ratings="score", incomplete="drop")
    except DataError as err:
        rows.append(_arow("score", "ICC2", n_files=n_files, n_raters=2, note=f"ICC无法计算：{err}"))
    else:
        for _, t in res.table.iterrows():
            rows.append(
                _arow(
                    "score",
                    t["type"],
                    float(t["icc"]),
                    ci_low=float(t["ci_low"]),
                    ci_high=float(t["ci_high"]),
                    ci_method="F",
                    pvalue=float(t["pvalue"]),
                    n_files=res.n_targets,
                    n_raters=res.n_raters,
                    n_dropped=res.n_dropped,
                    note=t["description"],
                )
            )
    wide = score.pivot(index="case_id", columns="slot", values="score").dropna()
    diff = (wide[1] - wide[2]).abs()
    rows.append(
        _arow(
            "score",
            "share_within_tolerance",
            float((diff <= tol).mean()) if len(diff) else np.nan,
            n_files=len(diff),
            n_raters=2,
            note=f"两评分差不超过{tol:g}分的案卷比例",
        )
    )

    grades = [g.grade for g in standard.grades]
    a_rows = pair[pair["slot"] == 1].set_index("case_id")
    b_rows = pair[pair["slot"] == 2].set_index("case_id").reindex(a_rows.index)
    ga = a_rows["grade"].astype(object).where(a_rows["grade"].notna(), np.nan)
    gb = b_rows["grade"].astype(object).where(b_rows["grade"].notna(), np.nan)
    rows += _kappa_rows("grade", ga, gb, grades, [None, "linear", "quadratic"])
    fa, fb = _flag_columns(a_rows, standard), _flag_columns(b_rows, standard)
    for measure in fa:
        rows += _kappa_rows(measure, fa[measure], fb[measure], [0, 1], [None])

    multi = r[r["n_reviewers"] > 2]
    if not multi.empty:
        flags = _flag_columns(multi, standard)
        measures = {"grade": (multi["grade"], grades), **{m: (v, [0, 1]) for m, v in flags.items()}}
        for m_raters, group in multi.groupby("n_reviewers"):
            for measure, (values, cats) in measures.items():
                v = values.loc[group.index]
                table = pd.crosstab(group["case_id"], pd.Categorical(v, categories=cats)).reindex(
                    columns=cats, fill_value=0
                )
                table = table[table.sum(axis=1) == m_raters]
                try:
                    fk = stats.fleiss_kappa(table)
                except DataError as err:
                    rows.append(
                        _arow(
                            measure,
                            "fleiss_kappa",
                            n_files=len(table),
                            n_raters=int(m_raters),
                            note=f"Fleiss kappa无定义：{err}",
                        )
                    )
                    continue
                rows.append(
                    _arow(
                        measure,
                        "fleiss_kappa",
                        fk.kappa,
                        se=fk.se0,
                        pvalue=fk.pvalue,
                        ci_method="se under H0 (Fleiss, Nee & Landis 1979)",
                        n_files=fk.n_subjects,
                        n_raters=fk.n_raters,
                    )
                )
    return pd.DataFrame(rows, columns=AGREEMENT_COLUMNS)


def third_review(reviews: pd.DataFrame, standard: CasefileStandard) -> pd.DataFrame:
    """Double-scored files (exactly two reviewers) that need a third review under casefile.yaml.

    The rule of the standard's tolerance is the score one: the two totals differ by more than ``double_scoring_tolerance``
    (``score_beyond_tolerance``). casefile.yaml (and 02_clean ``casefiles.needs_third_review``) also sends a file
    to a third reviewer when the grades differ (``grades_differ``) or a veto is disputed (``veto_disputed``:
    one reviewer records a veto code the other does not); such files are listed too, each with its reasons,
    so that ``third_review[third_review.score_beyond_tolerance]`` is the strict score-only list.

    Returns one row per file (:data:`THIRD_REVIEW_COLUMNS`), largest score difference first, with the Chinese
    ``reason`` naming every rule met.
    """
    tol = standard.double_scoring_tolerance
    r = _slotted(reviews)
    r = r[r["n_reviewers"] == 2].assign(
        score=lambda f: pd.to_numeric(f["score"], errors="coerce").astype(float)
    )
    if r.empty:
        return pd.DataFrame(columns=THIRD_REVIEW_COLUMNS)
    first = r[r["slot"] == 1].set_index("case_id")
    second = r[r["slot"] == 2].set_index("case_id").reindex(first.index)
    out = pd.DataFrame(
        {
            "case_id": first.index,
            "unit": first["unit"].to_numpy() if "unit" in first else "",
            "case_type": first["case_type"].to_numpy() if "case_type" in first else "",
            "n_reviewers": 2,
            "score_1": first["score"].to_numpy(),
            "score_2": second["score"].to_numpy(),
        }
    )
    out["score_diff"] = (out["score_1"] - out["score_2"]).abs()
    out["tolerance"] = float(tol)
    out["grade_1"] = first["grade"].astype(object).where(first["grade"].notna(), None).to_numpy()
    out["grade_2"] = second["grade"].astype(object).where(second["grade"].notna(), None).to_numpy()
    out["score_beyond_tolerance"] = (out["score_diff"] > tol).to_numpy()
    out["grades_differ"] = (out["grade_1"] != out["grade_2"]).to_numpy()
    vetoes = [v.code for v in standard.vetoes if v.code in first.columns]
    disputed = []
    for case in first.index:
        a = pd.to_numeric(first.loc[case, vetoes], errors="coerce").fillna(0).gt(0)
        b = pd.to_numeric(second.loc[case, vetoes], errors="coerce").fillna(0).gt(0)
        disputed.append([c for c in vetoes if a[c] != b[c]])
    out["veto_disputed"] = [bool(d) for d in disputed]
    reasons = []
    for k in range(len(out)):
        row = out.iloc[k]
        parts = []
        if row["score_beyond_tolerance"]:
            parts.append(
                f"两名评查员评分相差{row['score_diff']:g}分（{row['score_1']:g} 对 {row['score_2']:g}），"
                f"超过允许的{tol:g}分"
            )
        if row["grades_differ"]:
            parts.append(f"等级不一致（{row['grade_1']} 对 {row['grade_2']}）")
        if disputed[k]:
            parts.append(f"否决项有争议（{'、'.join(disputed[k])}）")
        reasons.append("；".join(parts) + "，需第三人复评或合议" if parts else "")
    out["reason"] = reasons
    keep = out["score_beyond_tolerance"] | out["grades_differ"] | out["veto_disputed"]
    out = out[keep].sort_values("score_diff", ascending=False, kind="stable")
    return out.reset_index(drop=True)[THIRD_REVIEW_COLUMNS]
