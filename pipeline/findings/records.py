"""Findings as records people read: affected units with their scores, evidence, severity, wording from
``suggestions.yaml``, and the evaluators' review (``findings_review.yaml``) applied."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pandas as pd

from pipeline.config import Config
from pipeline.config.findings import FindingsReview, ReviewEntry, finding_id
from pipeline.findings.evidence import SOURCE_NAMES
from pipeline.findings.states import States
from pipeline.findings.structure import Structure

COLUMNS = [
    "id", "kind", "item", "unit", "aspect", "path", "member", "member_name", "member_type", "score", "ci_low",
    "ci_high", "n", "posterior", "evidence", "sources", "veto", "rule", "n_affected", "n_applicable", "share",
    "gap", "severity", "rank", "problem", "suggestion", "basis", "responsible", "closure", "status", "note",
]  # fmt: skip
KIND_NAMES = {"common": "共性问题", "individual": "个性问题"}


def cell_scores(checkpoints: pd.DataFrame, scores: pd.DataFrame | None, st: Structure) -> pd.DataFrame:
    """``unit, item, score, ci_low, ci_high, n`` per cell: the 07_score item score when that table exists, else
    the mean checkpoint score of the item's points (no interval: checkpoint ratings carry no sampling error)."""
    if scores is not None and len(scores):
        s = scores[scores["level"] == "item"]
        return s.rename(columns={"id": "item"})[["unit", "item", "score", "ci_low", "ci_high", "n"]]
    if checkpoints is None or not len(checkpoints):
        return pd.DataFrame(columns=["unit", "item", "score", "ci_low", "ci_high", "n"])
    cp = checkpoints.assign(item=checkpoints["point"].map(st.point_item)).dropna(subset=["item", "score"])
    out = cp.groupby(["unit", "item"], as_index=False).agg(score=("score", "mean"), n=("score", "size"))
    out["ci_low"], out["ci_high"] = np.nan, np.nan
    return out[["unit", "item", "score", "ci_low", "ci_high", "n"]]


def build_records(
    found: pd.DataFrame, states: States, st: Structure, config: Config, scores: pd.DataFrame
) -> pd.DataFrame:
    """One row per finding × affected unit (:data:`COLUMNS`), ranked: veto-level first, then share × gap."""
    ev = states.evidence
    score_of = scores.set_index(["unit", "item"]) if len(scores) else None
    templates = config.suggestions.templates if config.suggestions else {}
    rows = []
    for fid, g in found.groupby("id", sort=False):
        first = g.iloc[0]
        item = first["item"]
        pass_line = float(np.mean([st.point_pass[p] for p in st.item_points[item]]))
        members = []
        for unit, post in zip(g["member"], g["posterior"], strict=True):
            cell = ev[(ev["unit"] == unit) & (ev["item"] == item)]
            telling = cell[_telling(cell)]
            sc = (
                score_of.loc[(unit, item)]
                if score_of is not None and (unit, item) in score_of.index
                else None
            )
            members.append(
                {"member": unit, "posterior": post,
                 "evidence": "；".join(telling["detail"]) or "；".join(cell["detail"]),
                 "sources": ",".join(sorted({s.split(":")[0] for s in telling["stream"]})),
                 "veto": bool(((cell["stream"] == "veto") & (cell["k"] > 0)).any()),
                 "score": float(sc["score"]) if sc is not None else np.nan,
                 "ci_low": float(sc["ci_low"]) if sc is not None else np.nan,
                 "ci_high": float(sc["ci_high"]) if sc is not None else np.nan,
                 "n": float(sc["n"]) if sc is not None else np.nan}
            )  # fmt: skip
        known = [m["score"] for m in members if np.isfinite(m["score"])]
        mean_score = float(np.mean(known)) if known else np.nan
        gap = max(pass_line - mean_score, 0.0) if np.isfinite(mean_score) else 0.0
        share = float(first["share"])
        names = "、".join(
            st.units[m["member"]].name if m["member"] in st.units else m["member"] for m in members
        )
        t = templates.get(item)
        sources = sorted({s for m in members for s in m["sources"].split(",") if s})
        fill = defaultdict(
            str, units=names, score=f"{mean_score:.1f}" if np.isfinite(mean_score) else "—",
            share=f"{share:.0%}", evidence="、".join(SOURCE_NAMES.get(s, s) for s in sources),
        )  # fmt: skip
        closure = "；".join(config.findings.closure[s] for s in sources if s in config.findings.closure)
        common = {
            "id": fid, "kind": first["kind"], "item": item, "unit": first["unit"], "aspect": st.item_aspect[item],
            "path": st.path(item), "rule": first["rule"], "n_affected": len(members),
            "n_applicable": int(first["n_applicable"]), "share": share, "gap": gap,
            "severity": (1.0 if any(m["veto"] for m in members) else 0.0, share * max(gap, 1.0)),
            "problem": t.problem.format_map(fill) if t else "", "suggestion": t.suggestion.format_map(fill) if t else "",
            "basis": t.basis if t else "", "responsible": t.responsible if t else "", "closure": closure,
            "status": "machine", "note": "",
        }  # fmt: skip
        for m in members:
            u = st.units.get(m["member"])
            rows.append(
                {
                    **common,
                    **m,
                    "member_name": u.name if u else m["member"],
                    "member_type": u.type if u else "",
                }
            )
    out = pd.DataFrame(rows, columns=[c for c in COLUMNS if c != "rank"] + ["rank"])
    return rank(out)[COLUMNS]


def rank(records: pd.DataFrame) -> pd.DataFrame:
    """``rank`` 1, 2, … per finding within its kind: veto-level first, then share affected × gap, then id."""
    if not len(records):
        return records.assign(severity=pd.Series(dtype=float), rank=pd.Series(dtype="int64"))
    sev = records.drop_duplicates("id")[["id", "kind", "severity"]].copy()
    sev["veto"] = [s[0] if isinstance(s, tuple) else 0.0 for s in sev["severity"]]
    sev["size"] = [s[1] if isinstance(s, tuple) else float(s) for s in sev["severity"]]
    sev["order"] = sev["kind"].map({"common": 0, "individual": 1})
    sev = sev.sort_values(
        ["order", "veto", "size", "id"], ascending=[True, False, False, True], kind="stable"
    )
    sev["rank"] = sev.groupby("kind").cumcount() + 1
    sev["severity_value"] = sev["veto"] * 1000 + sev["size"]
    out = records.drop(columns=[c for c in ("rank",) if c in records.columns]).merge(
        sev[["id", "rank", "severity_value"]], on="id", how="left"
    )
    out["severity"] = out.pop("severity_value")
    out["order"] = out["kind"].map({"common": 0, "individual": 1})
    out = out.sort_values(["order", "rank", "member"], kind="stable").drop(columns="order")
    return out.reset_index(drop=True)


def apply_review(
    records: pd.DataFrame, review: FindingsReview, st: Structure
) -> tuple[pd.DataFrame, list[dict[str, str]]]:
    """The records after the evaluators' decisions, and one warning per review entry that matches no finding
    (never dropped silently: the finding it named may have gone, or its key may be mistyped)."""
    warnings: list[dict[str, str]] = []
    out = records.copy()
    ids = set(out["id"])
    for entry in review.entries:
        key = entry.key
        if entry.decision == "add":
            out = pd.concat([out, _added(entry, st)], ignore_index=True)
            continue
        if key not in ids:
            warnings.append(_unmatched(entry, key))
            continue
        mask = out["id"] == key
        if entry.note:
            out.loc[mask, "note"] = entry.note
        if entry.decision == "accept":
            out.loc[mask, "status"] = "accepted"
        elif entry.decision == "reject":
            out = out[~mask]
        elif entry.decision == "reword":
            if entry.problem:
                out.loc[mask, "problem"] = entry.problem
            if entry.suggestion:
                out.loc[mask, "suggestion"] = entry.suggestion
            out.loc[mask, "status"] = "reworded"
        elif entry.decision == "merge":
            if entry.into not in ids:
                warnings.append(_unmatched(entry, entry.into, target=True))
                continue
            target = out[out["id"] == entry.into].iloc[0]
            moved = out[mask].copy()
            for col in ("id", "kind", "item", "unit", "aspect", "path", "problem", "suggestion", "basis",
                        "responsible", "closure"):  # fmt: skip
                moved[col] = target[col]
            moved["status"] = "merged"
            out = pd.concat([out[~mask], moved], ignore_index=True)
            out = out.drop_duplicates(["id", "member"], keep="first")
    if len(out):
        counts = out.groupby("id")["member"].transform("size")
        out["n_affected"] = counts
    return rank(out)[COLUMNS], warnings


def _unmatched(entry: ReviewEntry, key: str, *, target: bool = False) -> dict[str, str]:
    what = "合并目标" if target else "复核条目"
    return {
        "code": "review_unmatched", "file": "findings_review.yaml", "key": key, "decision": entry.decision,
        "message": f"{what} {key}（{entry.decision}）不再对应任何问题，已保留在复核文件中但本次未生效 "
        f"(review entry matches no finding this run; kept, not applied)",
    }  # fmt: skip


def _added(entry: ReviewEntry, st: Structure) -> pd.DataFrame:
    members = entry.units if entry.kind == "common" else [entry.unit]
    n_app = len(st.applicable_units(entry.item)) if entry.item in st.item_name else 0
    rows = []
    for unit in members:
        u = st.units.get(unit)
        rows.append(
            {"id": finding_id(entry.kind, entry.item, entry.unit), "kind": entry.kind, "item": entry.item,
             "unit": entry.unit if entry.kind == "individual" else "",
             "aspect": st.item_aspect.get(entry.item, ""),
             "path": st.path(entry.item) if entry.item in st.item_name else entry.item, "member": unit,
             "member_name": u.name if u else unit, "member_type": u.type if u else "", "score": np.nan,
             "ci_low": np.nan, "ci_high": np.nan, "n": np.nan, "posterior": np.nan,
             "evidence": f"{entry.source}：{entry.evidence}" if entry.source else entry.evidence,
             "sources": entry.source, "veto": False, "rule": "review", "n_affected": len(members),
             "n_applicable": n_app, "share": len(members) / n_app if n_app else 0.0, "gap": 0.0,
             "severity": (0.0, 0.0), "problem": entry.problem, "suggestion": entry.suggestion,
             "basis": "", "responsible": "", "closure": "", "status": "added", "note": entry.note}
        )  # fmt: skip
    return pd.DataFrame(rows)


def _telling(cell: pd.DataFrame) -> pd.Series:
    """The evidence rows that point to a problem: failed ratings or a veto, defects above the city's rate per
    file, a survey gap below the peers."""
    counts = cell["kind"] == "count"
    above = cell["k"] > cell["p0"].fillna(0) * cell["m"]
    return (counts & above) | (~counts & (cell["k"] > 0)) | (cell["z"] < 0)
