"""``output/_run_report.json`` and the console summary at the end of a run: what an analyst checks first.

:func:`run_report` reads the manifest and two stage tables (``02_clean/flow``, ``04_reliability/reliability``)
and calls :func:`build_report`, which lays out:

- ``samples``: valid n per instrument (raw → valid, from the flow table);
- ``exclusions``: records excluded per instrument and rule (rules that excluded none left out);
- ``reliability``: Cronbach's α per instrument and scale, unweighted and weighted, with its n and, when it could
  not be estimated, the reason;
- ``skipped``: what a stage left out and why (``{stage, what, reason}``, from each stage summary's ``skipped``);
- ``warnings``: every warning of every stage summary (``{stage, code, file, message, …}``);
- ``stages``: which stages the output holds, whether reused, and their seconds.

Reused stages contribute too: their summary is the one recorded in the manifest when they ran. A stage table
that is absent (the stage has not run) leaves its part empty. :func:`format_summary` turns the report into the
Chinese console lines.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from pipeline.ingest.masking import mask_text

INSTRUMENT_LABELS = {"public": "公众", "staff": "公职人员"}
"""Short Chinese name of each survey instrument, for the console."""
SCALE_STATISTIC = "alpha"
"""The statistic of ``04_reliability/reliability`` reported per scale."""
MAX_EXCLUSION_RULES = 6
"""Rules shown per instrument on the console line (the largest); the JSON has all."""


def _label(instrument: str) -> str:
    return INSTRUMENT_LABELS.get(instrument, instrument)


def _number(value: Any) -> float | None:
    """A JSON number, or None for NaN/missing."""
    if value is None or pd.isna(value):
        return None
    return float(value)


def samples(flow: pd.DataFrame) -> list[dict[str, Any]]:
    """``{instrument, raw, valid}`` per instrument of the flow table, in its order."""
    out = []
    for instrument, rows in flow.groupby("instrument", sort=False):
        raw = rows.loc[rows["rule"] == "raw", "n_after"]
        valid = rows.loc[rows["rule"] == "valid", "n_after"]
        out.append(
            {
                "instrument": str(instrument),
                "raw": int(raw.iloc[0]) if len(raw) else 0,
                "valid": int(valid.iloc[0]) if len(valid) else 0,
            }
        )
    return out


def exclusions(flow: pd.DataFrame) -> list[dict[str, Any]]:
    """``{instrument, rule, reason, n}`` for every rule that excluded records, in the flow's order."""
    hit = flow[(flow["n_excluded"] > 0) & ~flow["rule"].isin(["raw", "valid"])]
    return [
        {
            "instrument": str(r.instrument),
            "rule": str(r.rule),
            "reason": str(r.reason),
            "n": int(r.n_excluded),
        }
        for r in hit.itertuples()
    ]


def scale_alphas(reliability: pd.DataFrame) -> list[dict[str, Any]]:
    """``{instrument, scale, scale_name, alpha, alpha_weighted, n, note}`` per scale, in the table's order (the
    estimate is the same on every ``ci_method`` row; ``note`` says why α is missing, else None)."""
    rows = reliability[reliability["statistic"] == SCALE_STATISTIC]
    out = []
    for (instrument, scale), group in rows.groupby(["instrument", "scale"], sort=False):
        plain, weighted = group[~group["weighted"]], group[group["weighted"]]
        first = (plain if len(plain) else group).iloc[0]
        note = first["note"] if "note" in group and isinstance(first["note"], str) and first["note"] else None
        out.append(
            {
                "instrument": str(instrument),
                "scale": str(scale),
                "scale_name": str(first["scale_name"]),
                "alpha": _number(plain["estimate"].iloc[0]) if len(plain) else None,
                "alpha_weighted": _number(weighted["estimate"].iloc[0]) if len(weighted) else None,
                "n": int(first["n"]),
                "note": note if _number(first["estimate"]) is None else None,
            }
        )
    return out


def _from_summaries(manifest: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """Each stage summary's ``key`` list, every entry tagged with its stage (stages in run order)."""
    out = []
    for name, recorded in manifest.get("stages", {}).items():
        for entry in (recorded.get("summary") or {}).get(key, []) or []:
            out.append({"stage": name, **entry})
    return out


def build_report(
    manifest: dict[str, Any],
    flow: pd.DataFrame | None = None,
    reliability: pd.DataFrame | None = None,
    *,
    failed: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The run report from the manifest and the two tables (None: that stage has not run). ``failed``:
    ``{stage, error}`` when the run stopped at a stage (the report then describes the output as it is)."""
    stages = [
        {
            "stage": name,
            "folder": recorded.get("folder"),
            "reused": bool(recorded.get("reused", False)),
            "seconds": recorded.get("seconds"),
            "finished": recorded.get("finished"),
        }
        for name, recorded in manifest.get("stages", {}).items()
    ]
    if failed:  # an error names the cell it stopped at, which may hold a phone number
        failed = {**failed, "error": mask_text(failed.get("error", ""))}
    return {
        "updated": manifest.get("updated"),
        "failed": failed,
        "stages": stages,
        "samples": samples(flow) if flow is not None else [],
        "exclusions": exclusions(flow) if flow is not None else [],
        "reliability": scale_alphas(reliability) if reliability is not None else [],
        "skipped": _from_summaries(manifest, "skipped"),
        "warnings": _from_summaries(manifest, "warnings"),
    }


FLOW_COLUMNS = ["instrument", "rule", "reason", "n_excluded", "n_after"]
RELIABILITY_COLUMNS = ["instrument", "scale", "scale_name", "statistic", "estimate", "weighted", "n", "note"]


def run_report(ctx, manifest: dict[str, Any], *, failed: dict[str, str] | None = None) -> dict[str, Any]:
    """:func:`build_report` of the manifest and the stage tables under ``ctx.out`` (those present; ``ctx`` a
    :class:`~pipeline.stages.base.StageContext`)."""
    recorded = manifest.get("stages", {})

    def table(stage: str, name: str, columns: list[str]) -> pd.DataFrame | None:
        if stage not in recorded or not ctx.has_table(stage, name):
            return None
        return ctx.read_table(stage, name, columns=columns)

    report = build_report(
        manifest,
        table("clean", "flow", FLOW_COLUMNS),
        table("reliability", "reliability", RELIABILITY_COLUMNS),
        failed=failed,
    )
    return with_configuration(report, ctx.config)


SKIP_WARNING = "analysis.yaml: 跳过 "


def with_configuration(report: dict[str, Any], config) -> dict[str, Any]:
    """The report with what the configuration itself skips (the analysis plan's skips: a declared grouping the
    questionnaire does not ask, …) and warns about (``fazhi-eval validate``'s warnings), first, under stage
    ``config``."""
    skipped = [
        {"stage": "config", "what": skip.what, "reason": skip.reason}
        for plan in getattr(config, "plans", {}).values()
        for skip in plan.skipped
    ]
    warnings = [
        {
            "stage": "config",
            "code": "config",
            "file": w.split(":", 1)[0],
            "message": w.split(":", 1)[-1].strip(),
        }
        for w in getattr(config, "warnings", ())
        if not w.startswith(SKIP_WARNING)  # the plan's skips, listed under skipped
    ]
    return {**report, "skipped": skipped + report["skipped"], "warnings": warnings + report["warnings"]}


def _alpha(value: float | None) -> str:
    return "—" if value is None or math.isnan(value) else f"{value:.2f}"


def warning_line(warning: dict[str, Any], *, stage: bool = False) -> str:
    """One warning as one line: ``[stage] file: message`` (stage and file when known)."""
    where = f"[{warning['stage']}] " if stage and warning.get("stage") else ""
    file = f"{warning['file']}: " if warning.get("file") else ""
    return f"{where}{file}{warning['message']}"


def skipped_line(skip: dict[str, Any], *, stage: bool = False) -> str:
    """One skip as one line: ``跳过 (skipped) [stage] what: reason``."""
    where = f"[{skip['stage']}] " if stage and skip.get("stage") else ""
    return f"跳过 (skipped) {where}{skip['what']}: {skip['reason']}"


def format_summary(report: dict[str, Any]) -> list[str]:
    """The console lines of a run report (Chinese, with the English in brackets once per line)."""
    lines = ["运行小结 (run summary; details in _run_report.json):"]
    if report["samples"]:
        parts = [f"{_label(s['instrument'])} {s['valid']:,} / {s['raw']:,}" for s in report["samples"]]
        lines.append("有效样本 (valid / raw): " + "; ".join(parts))
    by_instrument: dict[str, list[dict[str, Any]]] = {}
    for e in report["exclusions"]:
        by_instrument.setdefault(e["instrument"], []).append(e)
    if by_instrument:
        parts = []
        for instrument, rows in by_instrument.items():
            top = sorted(rows, key=lambda e: -e["n"])
            shown = ", ".join(f"{e['reason']} {e['n']:,}" for e in top[:MAX_EXCLUSION_RULES])
            parts.append(f"{_label(instrument)} {shown}" + (" …" if len(top) > MAX_EXCLUSION_RULES else ""))
        lines.append("剔除 (excluded): " + "; ".join(parts))
    alphas: dict[str, list[str]] = {}
    for a in report["reliability"]:
        alphas.setdefault(a["instrument"], []).append(f"{a['scale']} {_alpha(a['alpha'])}")
    if alphas:
        lines.append(
            "信度 α (Cronbach, 未加权 unweighted): "
            + "; ".join(f"{_label(i)} {' '.join(v)}" for i, v in alphas.items())
        )
    lines += [skipped_line(s, stage=True) for s in report["skipped"]]
    if report["warnings"]:
        lines.append(f"警告 (warnings): {len(report['warnings'])} 条")
        lines += ["  " + warning_line(w, stage=True) for w in report["warnings"]]
    return lines
