"""The evidence of each unit × second-level item, one row per evidence stream (pure functions over tables).

Streams (``stream``) and what a row holds:

- a checkpoint source (``document``, ``online``, ``site``): ``m`` ratings of the item's points by that source,
  ``k`` of them failed (``findings.yaml: bad_ratings``, by default 部分落实/未落实); ``p0`` is left empty: the
  unit's own baseline failure rate is estimated by :mod:`pipeline.findings.states`.
- a case-file category (``casefile:C``) feeding a point of the item (``kind`` ``count``): ``m`` files of the
  unit, ``k`` the defects of the category found in them; ``p0`` = the city's defects of the category per file.
- ``veto`` (the points of ``casefile.yaml: veto_feeds``): ``m`` files, ``k`` with a veto, ``p0`` the city rate.
- a questionnaire (``public``, ``staff``): ``z`` = the mean over the item's feeding questions of the unit's
  gap to its peers divided by its standard error (05_compare ``unit_vs_peers``), with the smallest
  BH-adjusted p and the largest effect in ``detail``.

``detail`` is the evidence in words (already masked notes), ``points`` the observation points behind the row.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.config import Config
from pipeline.config.findings import FindingsRules
from pipeline.findings.structure import Structure

COLUMNS = ["unit", "item", "stream", "kind", "m", "k", "p0", "z", "points", "detail", "n"]
SOURCE_NAMES = {
    "document": "资料核查", "online": "网络检索", "site": "实地（暗）访", "casefile": "案卷评查",
    "public": "公众问卷", "staff": "公职人员问卷", "veto": "案卷否决项",
}  # fmt: skip


def cell_evidence(
    checkpoints: pd.DataFrame,
    casefiles: pd.DataFrame,
    unit_vs_peers: pd.DataFrame,
    config: Config,
    rules: FindingsRules,
    st: Structure,
) -> pd.DataFrame:
    """Every evidence row (columns :data:`COLUMNS`) for the unit × item cells that apply."""
    parts = [
        checkpoint_evidence(checkpoints, rules, st),
        casefile_evidence(casefiles, config, st),
        survey_evidence(unit_vs_peers, config, rules, st),
    ]
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=_dtype(c)) for c in COLUMNS})
    frame = pd.concat(parts, ignore_index=True)
    keep = [
        item in st.applicable.get(unit, ()) for unit, item in zip(frame["unit"], frame["item"], strict=True)
    ]
    frame = frame[np.asarray(keep, dtype=bool)]
    return frame.sort_values(["unit", "item", "stream"], kind="stable").reset_index(drop=True)[COLUMNS]


def _dtype(column: str) -> str:
    return {"m": "float64", "k": "float64", "p0": "float64", "z": "float64", "n": "float64"}.get(
        column, "object"
    )


def checkpoint_ratings(checkpoints: pd.DataFrame, rules: FindingsRules, st: Structure) -> pd.DataFrame:
    """One row per checkpoint rating of an applicable cell: ``unit, item, point, stream, bad`` (0/1) — what the
    item-wide tests of :mod:`pipeline.findings.states` count, point by point."""
    if checkpoints is None or not len(checkpoints):
        return pd.DataFrame(columns=["unit", "item", "point", "stream", "bad", "level"])
    cp = checkpoints[checkpoints["point"].isin(st.point_item.keys()) & checkpoints["rating"].notna()]
    out = pd.DataFrame(
        {"unit": cp["unit"].astype(str), "item": cp["point"].map(st.point_item), "point": cp["point"],
         "stream": cp["source"].astype(str),
         "bad": cp["rating"].astype(str).str.strip().isin(rules.bad_ratings).astype(float),
         "level": _levels(cp, rules.bad_ratings)}
    )  # fmt: skip
    keep = [i in st.applicable.get(u, ()) for u, i in zip(out["unit"], out["item"], strict=True)]
    return out[np.asarray(keep, dtype=bool)].reset_index(drop=True)


def _levels(cp: pd.DataFrame, bad_ratings: list[str]) -> np.ndarray:
    """Each rating's rank on the rating scale (0 = the lowest score) by its score; without scores, two levels:
    failed (0) and passed (1)."""
    if "score" in cp.columns and cp["score"].notna().all():
        return cp["score"].rank(method="dense").to_numpy(dtype=int) - 1
    return (~cp["rating"].astype(str).str.strip().isin(bad_ratings)).to_numpy(dtype=int)


def checkpoint_evidence(checkpoints: pd.DataFrame, rules: FindingsRules, st: Structure) -> pd.DataFrame:
    if checkpoints is None or not len(checkpoints):
        return pd.DataFrame(columns=COLUMNS)
    cp = checkpoints[checkpoints["point"].isin(st.point_item.keys())].copy()
    cp = cp[cp["rating"].notna()]
    cp["item"] = cp["point"].map(st.point_item)
    cp["bad"] = cp["rating"].astype(str).str.strip().isin(rules.bad_ratings)
    cp = cp.sort_values(["unit", "item", "source", "point"], kind="stable")
    label = cp["source"].map(SOURCE_NAMES).fillna(cp["source"]).astype(str)
    note = cp["note"].fillna("").astype(str).str.strip() if "note" in cp.columns else ""
    cp["text"] = cp["point"] + " " + cp["rating"].astype(str)
    cp["bad_text"] = np.where(
        cp["bad"],
        cp["point"] + " “" + cp["rating"].astype(str) + "”" + np.where(note != "", "（" + note + "）", ""),
        "",
    )
    cp["label"] = label
    keys = ["unit", "item", "source"]
    g = cp.groupby(keys, sort=True, observed=True)
    agg = g.agg(m=("bad", "size"), k=("bad", "sum"), label=("label", "first"))
    # the rows are sorted by the group keys, then by point: each group is one contiguous run
    starts = np.flatnonzero(np.r_[True, np.diff(g.ngroup().to_numpy()) != 0])
    agg["points"] = _joined(cp["point"], starts, ",")
    agg["rated"] = _joined(cp["text"], starts, "、")
    agg["notes"] = _joined(cp["bad_text"], starts, "；")
    agg = agg.reset_index()
    agg["detail"] = (
        agg["label"] + "：" + agg["k"].astype(int).astype(str) + "/" + agg["m"].astype(str)
        + " 个要点未落实或部分落实（" + np.where(agg["notes"] != "", agg["notes"], agg["rated"]) + "）"
    )  # fmt: skip
    return pd.DataFrame(
        {"unit": agg["unit"], "item": agg["item"], "stream": agg["source"], "kind": "binomial",
         "m": agg["m"].astype(float), "k": agg["k"].astype(float), "p0": np.nan, "z": np.nan,
         "points": agg["points"], "detail": agg["detail"], "n": agg["m"].astype(float)}
    )[COLUMNS]  # fmt: skip


def _joined(values: pd.Series, starts: np.ndarray, sep: str) -> list[str]:
    """The non-empty texts of each contiguous run of rows (runs beginning at ``starts``) joined by ``sep``."""
    texts = values.astype(str).tolist()
    ends = [*starts[1:].tolist(), len(texts)]
    return [sep.join(t for t in texts[a:b] if t) for a, b in zip(starts.tolist(), ends, strict=True)]


def casefile_evidence(casefiles: pd.DataFrame, config: Config, st: Structure) -> pd.DataFrame:
    """One row per unit × case-file category (× item it feeds), and per unit × veto item.

    A category row counts its defects (``kind`` ``count``): ``m`` files, ``k`` the defects of the category found
    in them (the codes' counts summed; a double-scored file's averaged count may be a half), ``p0`` the city's
    defects per file. Why counts rather than files with a defect: a frequent category is found in most files
    of every unit (C in 95 %), so whether a file has one says little, while a unit whose defects triple shows it
    in the count. The veto row stays files with a veto (``binomial``)."""
    standard = config.casefile
    if standard is None or casefiles is None or not len(casefiles):
        return pd.DataFrame(columns=COLUMNS)
    units = casefiles["unit"].astype(str)
    rows = []
    for cat in standard.categories:
        codes = [d.code for d in cat.defects if d.code in casefiles.columns]
        if not codes or not cat.feeds:
            continue
        count = casefiles[codes].fillna(0).clip(lower=0).sum(axis=1)
        per_file = float(count.mean())
        label = f"{cat.name}类缺陷"
        per_unit = pd.DataFrame({"unit": units, "count": count, "has": count > 0}).groupby("unit", sort=True)
        for unit, g in per_unit:
            m, k, files = len(g), float(g["count"].sum()), int(g["has"].sum())
            detail = (
                f"案卷评查：{files}/{m} 卷存在{label}，共 {_number(k)} 处（每卷 {k / m:.1f} 处，全市每卷 "
                f"{per_file:.1f} 处）"
            )
            rows += _feeding_rows(unit, f"casefile:{cat.id}", "count", m, k, per_file, detail, cat.feeds, st)
    if standard.veto_feeds and "veto" in casefiles.columns:
        veto = casefiles["veto"].fillna(False).astype(bool)
        p0 = float(veto.mean())
        for unit, g in pd.DataFrame({"unit": units, "veto": veto}).groupby("unit", sort=True):
            m, k = len(g), float(g["veto"].sum())
            detail = f"案卷评查：{int(k)}/{m} 卷存在否决项（{k / m:.0%}，全市 {p0:.0%}）"
            rows += _feeding_rows(unit, "veto", "binomial", m, k, p0, detail, standard.veto_feeds, st)
    return pd.DataFrame(rows, columns=COLUMNS)


def _feeding_rows(unit, stream, kind, m, k, p0, detail, feeds, st: Structure) -> list[dict]:
    """One evidence row per item the stream feeds (its fed points in ``points``)."""
    items: dict[str, list[str]] = {}
    for p in feeds:
        if p in st.point_item:
            items.setdefault(st.point_item[p], []).append(p)
    return [
        {"unit": unit, "item": item, "stream": stream, "kind": kind, "m": float(m), "k": k, "p0": p0,
         "z": np.nan, "points": ",".join(pts), "detail": detail, "n": float(m)}
        for item, pts in items.items()
    ]  # fmt: skip


def _number(x: float) -> str:
    return f"{x:g}" if x != int(x) else str(int(x))


def survey_evidence(
    unit_vs_peers: pd.DataFrame, config: Config, rules: FindingsRules, st: Structure
) -> pd.DataFrame:
    if unit_vs_peers is None or not len(unit_vs_peers):
        return pd.DataFrame(columns=COLUMNS)
    dv_points: dict[tuple[str, str], list[str]] = {}
    for instrument in config.instruments:
        for it in config.codebook(instrument).items:
            for p in it.feeds:
                if p in st.point_item:
                    dv_points.setdefault((instrument, f"{it.id}_score"), []).append(p)
    u = unit_vs_peers
    u = u[(u["flag"].fillna("") != "suppressed") & u["se"].gt(0) & u["estimate"].notna()]
    keys = list(zip(u["instrument"], u["dv"], strict=True))
    u = u[[k in dv_points for k in keys]]
    if not len(u):
        return pd.DataFrame(columns=COLUMNS)
    long = []
    for row in u.itertuples(index=False):
        for p in dv_points[(row.instrument, row.dv)]:
            long.append((row.unit, st.point_item[p], row.instrument, p, row))
    rows = []
    frame = pd.DataFrame(long, columns=["unit", "item", "instrument", "point", "row"])
    for (unit, item, instrument), g in frame.groupby(["unit", "item", "instrument"], sort=True):
        recs = {r.dv: r for r in g["row"]}.values()
        z = float(np.mean([r.estimate / r.se for r in recs]))
        worst = min(recs, key=lambda r: r.estimate / r.se)
        significant = (
            worst.p_bh < rules.survey_alpha and worst.estimate < 0 and abs(worst.effect) >= rules.min_effect
        )
        detail = (
            f"{SOURCE_NAMES.get(instrument, instrument)}：{worst.dv.removesuffix('_score')} 本单位 "
            f"{worst.mean_unit:.1f} 分，同类其余单位 {worst.mean_rest:.1f} 分，差 {worst.estimate:.1f} "
            f"[{worst.ci_low:.1f}, {worst.ci_high:.1f}]，n={int(worst.n_a)}，{worst.test} "
            f"p(BH)={worst.p_bh:.3g}，{worst.effect_name}={worst.effect:.2f}"
            + ("（显著低于同类）" if significant else "")
        )
        rows.append(
            {"unit": unit, "item": item, "stream": instrument, "kind": "normal", "m": np.nan, "k": np.nan,
             "p0": np.nan, "z": z, "points": ",".join(sorted(set(g["point"]))), "detail": detail,
             "n": float(worst.n_a)}
        )  # fmt: skip
    return pd.DataFrame(rows, columns=COLUMNS)
