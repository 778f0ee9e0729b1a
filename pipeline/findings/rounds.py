"""``fazhi-eval compare-rounds``: two evaluation rounds side by side (e.g. the mid-term evaluation and the
re-check a year later) — problems resolved, persisting and new by their stable key (kind, item, unit), score
changes per unit × aspect with their uncertainty, and the rectification status the office filled in."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from pipeline import paths
from pipeline.errors import DataError, Location
from pipeline.findings.report import FILL_COLUMNS, LIST_SHEET, STATUS_OPTIONS
from pipeline.safe_cells import QUOTE, TRIGGERS

Z95 = 1.959963984540054


def read_findings(out: Path) -> pd.DataFrame:
    path = paths.stage_dir(Path(out), "findings") / "findings.parquet"
    if not path.exists():
        raise DataError(
            "该输出目录没有问题发现结果，请先运行 fazhi-eval findings (no 08_findings/findings.parquet: run the "
            "findings stage first)",
            Location(file=str(path)),
        )
    return pd.read_parquet(path)


def problem_changes(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """One row per problem × unit of either round: ``id, kind, item, member, member_name, path, change``
    (已解决 resolved | 持续存在 persisting | 新发现 new), the scores of both rounds."""
    cols = ["id", "kind", "item", "member", "member_name", "path", "score"]
    a, b = old[cols].rename(columns={"score": "score_old"}), new[cols].rename(columns={"score": "score_new"})
    both = a.merge(b, on=["id", "kind", "item", "member"], how="outer", suffixes=("", "_n"), indicator=True)
    for c in ("member_name", "path"):
        both[c] = both[c].fillna(both.pop(f"{c}_n"))
    both = both.drop(columns=[c for c in both.columns if c.endswith("_n")])
    both["change"] = both.pop("_merge").map(
        {"left_only": "已解决", "both": "持续存在", "right_only": "新发现"}
    )
    both["change"] = both["change"].astype(str)
    return both.sort_values(["change", "id", "member"], kind="stable").reset_index(drop=True)


def score_changes(old_out: Path, new_out: Path) -> pd.DataFrame:
    """Aspect scores per unit in both rounds (07_score), the change and its 95 % interval (independent samples:
    se = √(se_old² + se_new²); a score without sampling error counts as se 0). Empty when a round has none."""
    tables = []
    for out in (old_out, new_out):
        if "score" not in paths.STAGE_FOLDERS or not paths.table_path(Path(out), "score", "scores").exists():
            return pd.DataFrame(columns=["unit", "id", "name", "score_old", "score_new", "change", "ci_low",
                                         "ci_high"])  # fmt: skip
        s = pd.read_parquet(paths.table_path(Path(out), "score", "scores"))
        tables.append(s[s["level"] == "aspect"][["unit", "id", "name", "score", "se"]])
    m = tables[0].merge(tables[1], on=["unit", "id"], suffixes=("_old", "_new"))
    se = np.sqrt(m["se_old"].fillna(0) ** 2 + m["se_new"].fillna(0) ** 2)
    out = m.rename(columns={"name_old": "name"})[["unit", "id", "name", "score_old", "score_new"]].copy()
    out["change"] = out["score_new"] - out["score_old"]
    out["ci_low"], out["ci_high"] = out["change"] - Z95 * se, out["change"] + Z95 * se
    return out


def read_status(path: Path) -> pd.DataFrame:
    """A ``problem_list.xlsx`` the office filled in: one row per problem × unit with ``问题编号, 单位代码, 整改状态``
    (blank → 未填写), hand-added rows and blank cells accepted; the leading ``'`` the writer put before a text
    that a spreadsheet would run is taken off again."""
    path = Path(path)
    try:
        frame = pd.read_excel(path, sheet_name=LIST_SHEET, dtype=object, engine="openpyxl")
    except FileNotFoundError as exc:
        raise DataError("找不到整改清单文件 (status file not found)", Location(file=str(path))) from exc
    except ValueError as exc:
        raise DataError(
            f"整改清单中没有工作表“{LIST_SHEET}” (no sheet {LIST_SHEET}: {exc})", Location(file=str(path))
        ) from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in ("问题编号", "单位代码", "整改状态") if c not in frame.columns]
    if missing:
        raise DataError(
            f"整改清单缺少列 {'、'.join(missing)} (missing columns)",
            Location(file=str(path), sheet=LIST_SHEET),
        )
    frame = frame.map(_undo_quote)
    frame = frame.dropna(how="all")
    frame["整改状态"] = frame["整改状态"].map(
        lambda v: str(v).strip() if isinstance(v, str) and v.strip() else "未填写"
    )
    unknown = frame[~frame["整改状态"].isin(STATUS_OPTIONS + ("未填写",))]
    if len(unknown):
        rows = ", ".join(str(i + 2) for i in unknown.index[:10])
        raise DataError(
            f"整改状态只能是 {'/'.join(STATUS_OPTIONS)}，第 {rows} 行不是 (unknown status)",
            Location(file=str(path), sheet=LIST_SHEET, column="整改状态"),
        )
    keep = [
        "问题编号",
        "单位代码",
        *[c for c in ("单位", "问题类型", "指标") if c in frame.columns],
        *FILL_COLUMNS,
    ]
    return frame[[c for c in keep if c in frame.columns]].reset_index(drop=True)


def _undo_quote(value: object) -> object:
    if isinstance(value, str) and value.startswith(QUOTE) and value[1:2] in TRIGGERS:
        return value[1:]
    return value


def status_by_unit(status: pd.DataFrame) -> pd.DataFrame:
    """Counts of each rectification status per unit (one column per status)."""
    table = status.pivot_table(
        index="单位代码", columns="整改状态", values="问题编号", aggfunc="count", fill_value=0
    )
    for s in (*STATUS_OPTIONS, "未填写"):
        if s not in table.columns:
            table[s] = 0
    table = table[[*STATUS_OPTIONS, "未填写"]]
    table["合计"] = table.sum(axis=1)
    return table.reset_index()
