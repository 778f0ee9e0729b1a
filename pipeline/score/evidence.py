"""Point scores per unit and source (``point_sources``): the evidence each observation point is scored from.

Every source gives a 0–100 score per unit × point with the number of respondents, files or ratings behind it:

* ``public`` — a respondent's point value is the mean of their answered item scores (0–100, 02_clean
  ``<item>_score``) over the public items that ``feeds`` the point; the score is its design-based weighted mean
  per district (03_weight raking weights, :func:`pipeline.frames.public_design`) or city-wide, from
  :func:`pipeline.stats.domain_mean_table` — the numbers of 06_describe and 05_compare — with SE and t interval;
* ``staff`` — the same over the staff items feeding the point, per unit (:func:`pipeline.frames.staff_design`:
  a unit's figures are its unweighted ones, with the headcount as finite population correction);
* ``casefile`` — per file, ``100 × (1 − Σ deductions / Σ maxima)`` over the case-file categories feeding the
  point (each category's deductions capped at its maximum, as the file score; two reviewers: their mean), the
  unit's score the mean over its files, SE and t interval with the unit's files as the sample; the veto point
  (``veto_feeds``) scores ``100 × (1 − veto rate)`` (a file with a veto 0, without 100) with a Korn–Graubard
  interval (a rate of 0 still has an interval);
* ``document``/``online``/``site`` — the checkpoint rating's score (``checkpoint_scores``; several ratings of a
  unit's point: their mean), no sampling error (SE and interval NaN); ``detail`` gives the ratings.

The city as a whole: the city-wide public and staff estimates, all files, and the mean of all units' ratings.
Survey cells carry the small-cell flag of ``analysis.yaml: small_cells`` on the Kish effective n; a flagged cell
keeps its score for the aggregate (the reason says so) and the interval shows how little it knows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline import frames, stats
from pipeline.config import Config
from pipeline.config.models import CHECKPOINT_SOURCES
from pipeline.schemas import column_names
from pipeline.score.system import CITY, UnitTable, public_target

CONFIDENCE_LEVEL = 0.95
SUPPRESSED_NOTE = "；仅计入汇总得分，不单独报告 (used in the aggregate only)"


def _feeding(config: Config, instrument: str, frame: pd.DataFrame) -> dict[str, list[str]]:
    """Point id → the ``<item>_score`` columns of ``instrument`` feeding it (scored items present in ``frame``)."""
    out: dict[str, list[str]] = {}
    if config.questionnaire(instrument) is None:
        return out
    for it in config.codebook(instrument).items:
        col = f"{it.id}_score"
        if it.scored and col in frame.columns:
            for p in it.feeds:
                out.setdefault(p, []).append(col)
    return out


def needed_columns(config: Config, instrument: str) -> list[str]:
    """The 02_clean columns of ``instrument`` the scores read: ids, the unit or district, what the design is
    calibrated on, the scale scores (for the frame's index) and the item scores feeding some point."""
    q = config.questionnaire(instrument)
    if q is None:
        return []
    cols = ["record_id", "district" if instrument == "public" else "unit"]
    if instrument == "public":
        cols += [
            v for key in config.plan("public").weight_on for v in ([key] if isinstance(key, str) else key)
        ]
    cols += [s.id for s in q.scales]
    cols += [f"{it.id}_score" for it in config.codebook(instrument).items if it.scored and it.feeds]
    return list(dict.fromkeys(cols))


def _survey_rows(
    design: stats.SurveyDesign, values: pd.Series, labels: pd.Series, rule: stats.SmallGroupRule
) -> pd.DataFrame:
    """Domain means of ``values`` by ``labels`` with the small-cell flag; a suppressed cell keeps its estimate."""
    keep = values.notna() & labels.notna()
    if not keep.any():
        return pd.DataFrame(columns=["group", "estimate", "se", "ci_low", "ci_high", "n", "n_eff"])
    t = stats.domain_mean_table(
        design, values, labels.where(keep), small_n=0, min_n=0, confidence_level=CONFIDENCE_LEVEL
    ).table
    flags = rule.flags(t["n_eff"])
    t["flag"] = flags["flag"].to_numpy()
    t["reason"] = [
        r + SUPPRESSED_NOTE if f == "suppressed" else r
        for f, r in zip(t["flag"], flags["reason"], strict=True)
    ]
    return t


def _point_values(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    """A respondent's point value: the mean of their answered item scores among ``columns`` (NaN if none)."""
    return frame[columns].astype(float).mean(axis=1)


def survey_sources(
    instrument: str,
    frame: pd.DataFrame,
    design: stats.SurveyDesign,
    config: Config,
    points: pd.DataFrame,
    units: UnitTable,
    rule: stats.SmallGroupRule,
) -> pd.DataFrame:
    """Rows of ``point_sources`` for ``public`` or ``staff`` (``frame``: the design's frame)."""
    feeding = _feeding(config, instrument, frame)
    rows = []
    # categorical labels: the design factorizes them by their codes (a million rows, two dozen points)
    city_labels = pd.Series(
        pd.Categorical.from_codes(np.zeros(len(frame), dtype=np.int8), [CITY]), index=frame.index
    )
    target = public_target(points, units) if instrument == "public" else None
    unit_col = "district" if instrument == "public" else "unit"
    own = frame[unit_col] if unit_col in frame.columns else pd.Series(None, index=frame.index, dtype=object)
    if not isinstance(own.dtype, pd.CategoricalDtype):
        own = own.astype(str).where(own.notna()).astype("category")
    own = own.cat.rename_categories([str(c) for c in own.cat.categories])
    for j, p in enumerate(points["point"]):
        if instrument not in points["sources"].iat[j] or p not in feeding:
            continue
        values = _point_values(frame, feeding[p]).rename(p)
        found = pd.concat(
            [_survey_rows(design, values, own, rule), _survey_rows(design, values, city_labels, rule)]
        )
        by_group = {str(r.group): r for r in found.itertuples(index=False)}
        items = "、".join(c.removesuffix("_score") for c in feeding[p])
        for i, unit in enumerate(units.codes):
            group = unit if instrument == "staff" else target[i, j]
            if instrument == "staff" and unit == CITY:
                group = CITY
            r = by_group.get(group) if group else None
            if r is None:
                continue
            scope = "全市" if group == CITY else ("本县区" if instrument == "public" else "本单位")
            rows.append({"unit": unit, "point": p, "source": instrument, "score": r.estimate, "se": r.se,
                         "ci_low": r.ci_low, "ci_high": r.ci_high, "n": int(r.n), "flag": r.flag,
                         "reason": r.reason, "detail": f"{scope}估计，题目 {items}"})  # fmt: skip
    return pd.DataFrame(rows)


def category_deductions(reviews: pd.DataFrame, config: Config) -> pd.DataFrame:
    """Per case file (``case_id``), each category's deduction capped at its maximum, averaged over the file's
    reviewers (the rule of :func:`pipeline.ingest.casefile_sheets.recompute_scores`, per category)."""
    standard = config.casefile
    out = pd.DataFrame({"case_id": reviews["case_id"].astype(str).to_numpy()})
    for cat in standard.categories:
        d = np.zeros(len(reviews))
        for df in cat.defects:
            count = pd.to_numeric(reviews[df.code], errors="coerce").fillna(0).to_numpy(dtype=float)
            d += df.deduction * (count if df.per == "occurrence" else (count > 0))
        out[cat.id] = np.minimum(d, cat.max_points)
    return out.groupby("case_id", sort=False).mean()


def casefile_sources(
    casefiles: pd.DataFrame, reviews: pd.DataFrame, config: Config, points: pd.DataFrame, units: UnitTable
) -> pd.DataFrame:
    """Rows of ``point_sources`` for ``casefile`` (02_clean ``casefiles`` and ``casefile_reviews``)."""
    standard = config.casefile
    if standard is None or casefiles.empty:
        return pd.DataFrame()
    files = casefiles[["case_id", "unit", "veto"]].copy()
    files["case_id"] = files["case_id"].astype(str)
    files["unit"] = files["unit"].astype(str)
    deductions = category_deductions(reviews, config).reindex(files["case_id"])
    feeds: dict[str, list] = {}
    for cat in standard.categories:
        for p in cat.feeds:
            feeds.setdefault(p, []).append(cat)
    known = set(units.codes)
    files = files[files["unit"].isin(known)].reset_index(drop=True)
    deductions = deductions.reindex(files["case_id"]).reset_index(drop=True)
    rows = []
    for p in points["point"]:
        if p in feeds:
            cats = feeds[p]
            lost = sum(deductions[c.id].to_numpy(dtype=float) for c in cats)
            values = 100 * (1 - lost / sum(c.max_points for c in cats))
            hits = {c.name: deductions[c.id].to_numpy(dtype=float) > 0 for c in cats}
            rows += _file_rows(files, values, p, "casefile_defect", hits)
        if p in standard.veto_feeds:
            values = np.where(files["veto"].astype(bool).to_numpy(), 0.0, 100.0)
            rows += _file_rows(files, values, p, "veto", {"有否决项": files["veto"].astype(bool).to_numpy()})
    return pd.DataFrame(rows)


def _file_rows(files: pd.DataFrame, values: np.ndarray, point: str, kind: str, hits: dict[str, np.ndarray]):
    """Per unit and city-wide: the mean of the files' ``values`` (for the veto point, 100 × the share of files
    without a veto) with its interval; ``detail`` the share of files with a deduction in each category feeding
    the point (with a veto)."""
    frame = pd.DataFrame({"unit": files["unit"].to_numpy(), "value": values})
    for k, (_, hit) in enumerate(hits.items()):
        frame[f"hit{k}"] = hit.astype(int)
    frame = frame[frame["value"].notna()].reset_index(drop=True)
    if frame.empty:
        return []
    est = _file_means(frame, kind)
    names = list(hits)
    rows = []
    for unit, part in [*frame.groupby("unit", sort=False), (CITY, frame)]:
        n = len(part)
        mean, se, lo, hi = est.get(unit, (float(part["value"].mean()), np.nan, np.nan, np.nan))
        shares = []
        for k, name in enumerate(names):
            h = int(part[f"hit{k}"].sum())
            label = name if kind == "veto" else f"{name}有扣分"
            shares.append(f"{label} {h}/{n} ({100 * h / n:.0f}%)")
        rows.append({"unit": unit, "point": point, "source": "casefile", "score": mean, "se": se, "ci_low": lo,
                     "ci_high": hi, "n": n, "flag": "", "reason": "", "detail": "案卷：" + "；".join(shares)})  # fmt: skip
    return rows


def _file_means(frame: pd.DataFrame, kind: str) -> dict[str, tuple[float, float, float, float]]:
    """Unit → (mean, se, ci_low, ci_high) of ``value`` over its files, and the same for :data:`CITY`.

    The files are a stratified sample, one stratum per unit (units with a single file pooled as the staff design
    pools single respondents, :func:`pipeline.frames.staff_design`); equal weights. A proportion (the veto
    point) gets a Korn–Graubard interval, so a unit without any veto still has one."""
    if len(frame) < 2:
        return {}
    unit = frame["unit"].astype(str)
    design_frame = frame.assign(stratum=frames._collapsed_strata(unit, {}))
    if design_frame["stratum"].value_counts().min() < 2:  # a lone file the pooling could not place
        return {}
    design = stats.SurveyDesign(design_frame, weights=np.ones(len(frame)), strata="stratum")
    out = {}
    for labels in (unit, pd.Series(CITY, index=frame.index)):
        if kind == "veto":
            ok = (frame["value"] > 0).astype(float)
            p = stats.category_proportions(design, ok, [0, 1], by=labels.rename("group"), method="beta",
                                           confidence_level=CONFIDENCE_LEVEL)  # fmt: skip
            for r in p[p["level"] == 1].itertuples(index=False):
                out[str(r.group)] = (100 * r.estimate, 100 * r.se, 100 * r.ci_low, 100 * r.ci_high)
        else:
            t = stats.domain_mean_table(design, frame["value"], labels, small_n=0, min_n=0,
                                        confidence_level=CONFIDENCE_LEVEL).table  # fmt: skip
            for r in t.itertuples(index=False):
                out[str(r.group)] = (r.estimate, r.se, r.ci_low, r.ci_high)
    return out


def checkpoint_sources(checkpoints: pd.DataFrame, points: pd.DataFrame, units: UnitTable) -> pd.DataFrame:
    """Rows of ``point_sources`` for the checkpoint sources (02_clean ``checkpoints``): the rating's score."""
    if checkpoints.empty:
        return pd.DataFrame()
    listed = {f"{p}|{s}" for p, srcs in zip(points["point"], points["sources"], strict=True) for s in srcs}
    c = checkpoints[["unit", "point", "source", "rating", "score"]].copy()
    for col in ("unit", "point", "source", "rating"):
        c[col] = c[col].astype(str)
    c = c[c["score"].notna() & c["unit"].isin(set(units.codes)) & c["source"].isin(CHECKPOINT_SOURCES)]
    c = c[(c["point"] + "|" + c["source"]).isin(listed)]
    if c.empty:
        return pd.DataFrame()
    keys = ["unit", "point", "source"]
    unit_rows = c.groupby(keys, sort=False).agg(score=("score", "mean"), n=("score", "size"),
                                                 detail=("rating", "first")).reset_index()  # fmt: skip
    several = unit_rows["n"] > 1  # a point rated more than once: every rating, in sheet order
    if several.any():
        joined = c.groupby(keys, sort=False)["rating"].agg("、".join)
        idx = pd.MultiIndex.from_frame(unit_rows.loc[several, keys])
        unit_rows.loc[several, "detail"] = joined.reindex(idx).to_numpy()
    counts = c.groupby(["point", "source", "rating"], sort=False).size().reset_index(name="k")
    counts["text"] = counts["rating"] + " " + counts["k"].astype(str)
    texts = counts.groupby(["point", "source"], sort=False)["text"].agg("、".join)
    city_rows = c.groupby(["point", "source"], sort=False).agg(score=("score", "mean"), n=("score", "size"))
    city_rows["detail"] = "各单位评价：" + texts.reindex(city_rows.index)
    city_rows = city_rows.reset_index().assign(unit=CITY)
    out = pd.concat([unit_rows, city_rows], ignore_index=True)
    out["se"] = out["ci_low"] = out["ci_high"] = np.nan
    out["flag"] = out["reason"] = ""
    return out


def point_sources_table(parts: list[pd.DataFrame], points: pd.DataFrame, units: UnitTable) -> pd.DataFrame:
    """The rows of every source in one table, ordered by unit (``units.yaml`` order, :data:`CITY` last), point
    (indicator order) and source, with the unit's type and the point's aspect and item."""
    columns = column_names("score", "point_sources")
    parts = [p for p in parts if len(p)]
    if not parts:
        from pipeline.schemas import empty_table

        return empty_table("score", "point_sources")
    out = pd.concat(parts, ignore_index=True)
    unit_pos = {u: i for i, u in enumerate(units.codes)}
    point_pos = {p: i for i, p in enumerate(points["point"])}
    source_pos = {s: i for i, s in enumerate(("public", "staff", "casefile", "document", "online", "site"))}
    out = out.assign(
        _u=out["unit"].map(unit_pos), _p=out["point"].map(point_pos), _s=out["source"].map(source_pos)
    )
    out = out.sort_values(["_u", "_p", "_s"], kind="stable").reset_index(drop=True)
    by_point = points.set_index("point")
    out["unit_type"] = out["unit"].map(dict(zip(units.codes, units.types, strict=True)))
    out["unit_name"] = out["unit"].map(dict(zip(units.codes, units.names, strict=True)))
    out["aspect"] = out["point"].map(by_point["aspect"])
    out["item"] = out["point"].map(by_point["item"])
    out["n"] = out["n"].astype("int64")
    for col in ("score", "se", "ci_low", "ci_high"):
        out[col] = out[col].astype(float)
    for col in ("score", "ci_low", "ci_high"):  # a mean of all-100 answers may come out a rounding above 100
        out[col] = out[col].clip(0, 100)
    for col in ("flag", "reason", "detail"):
        out[col] = out[col].fillna("").astype(str)
    return out[columns]
