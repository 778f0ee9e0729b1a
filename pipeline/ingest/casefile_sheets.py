"""Case-file review workbooks (案卷评查表): one row per case file × reviewer, scores recomputed from the standard.

Layout (``fazhi-eval template casefile`` writes it; hand-made variants are accepted): title rows, then a header
row (a two-row header with merged category cells above the codes also works) holding

- ``案卷编号`` (case id), ``被评查单位`` (unit name or code), ``案卷类型`` (one of ``case_types``), ``评查人``;
- one column per veto code (``V01`` …) and per defect code (``A1`` … ``F5``), recognised by the code at the start
  of the header (``V01 执法主体不适格…`` or ``V01``); vetoes hold 0/1 (``√``/``是`` = 1), defects a count ≥ 0
  (blank = 0, ``√`` = 1);
- optionally ``评查得分`` (the typed score) and ``评查等级``.

Other columns (``备注`` remarks, the veto/defect texts) are not read, so nothing typed there reaches the output;
the one free-text column kept, ``案卷编号``, is masked (:func:`pipeline.ingest.masking.mask_text`).

The score is recomputed (:func:`recompute_scores`) and compared with the typed one: ``score_mismatch`` when they
differ by more than :data:`SCORE_TOLERANCE`.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from pipeline.config.models import CasefileStandard, Units
from pipeline.errors import DataError
from pipeline.ingest.excel import Sheet, find_header_row, frame_below
from pipeline.ingest.privacy import mask_series, pseudonym_series
from pipeline.ingest.text import as_text, normalize, numeric

SCORE_TOLERANCE = 0.5
ALIASES: dict[str, tuple[str, ...]] = {
    "case_id": ("案卷编号", "案件编号", "案卷号", "卷号", "案号"),
    "unit": ("被评查单位", "执法单位", "单位", "单位名称", "被评查单位代码"),
    "case_type": ("案卷类型", "案件类型", "类型"),
    "reviewer": ("评查人", "评查员", "评查人员"),
    "typed_score": ("评查得分", "得分", "总分", "分数"),
    "typed_grade": ("评查等级", "等级"),
}
REQUIRED = ("case_id", "unit", "case_type", "reviewer")
NOT_READ = ("序号", "备注", "说明", "评查意见", "评查日期")
"""Columns a review sheet may carry that are not read, without a warning."""
_CODE = re.compile(r"^([A-Z]\d{1,2})(?![0-9])")
_TRUE = {"1", "√", "✓", "✔", "是", "有", "y", "yes", "true", "x", "×"}
_FALSE = {"0", "否", "无", "n", "no", "false", "-", "—"}


def _role(header: str) -> str | None:
    n = normalize(header)
    for role, names in ALIASES.items():
        if n in names:
            return role
    return None


def header_code(header: str, codes: set[str]) -> str | None:
    m = _CODE.match(normalize(header).upper())
    return m.group(1) if m and m.group(1) in codes else None


def _is_header(standard: CasefileStandard):
    codes = {v.code for v in standard.vetoes} | {d.code for c in standard.categories for d in c.defects}

    def check(cells: list[str]) -> bool:
        return (
            any(_role(c) == "case_id" for c in cells)
            and sum(header_code(c, codes) is not None for c in cells) >= 3
        )

    return check


def looks_like_casefile(sheet: Sheet, standard: CasefileStandard) -> bool:
    return find_header_row(sheet, _is_header(standard)) is not None


def unit_lookup(units: Units) -> dict[str, str]:
    """Normalised unit name or code → unit code."""
    table = {normalize(u.name): u.code for u in units.units}
    table.update({normalize(u.code): u.code for u in units.units})
    return table


def map_units(col: pd.Series, units: Units, sheet: Sheet, column: str) -> pd.Series:
    """Unit names/codes → unit codes; DataError naming the first unknown cell."""
    table = unit_lookup(units)
    text = as_text(col)
    codes = text.map(lambda s: table.get(normalize(s)), na_action="ignore")
    bad = codes.isna()
    if bad.any():
        r = int(bad[bad].index[0])
        shown = [u.name for u in units.units[:8]]
        raise DataError(
            f"未知单位 (unknown unit) '{text[r] or ''}': expected a unit name or code from units.yaml, e.g. {shown}",
            sheet.location(row=r, column=column),
        )
    return codes.astype(str)


def _flags(col: pd.Series, sheet: Sheet, column: str, *, counts: bool) -> pd.Series:
    text = as_text(col).map(lambda s: normalize(s).lower(), na_action="ignore")
    num = pd.to_numeric(text, errors="coerce")
    out = num.copy()
    out[text.isna()] = 0
    out[text.isin(_TRUE) & num.isna()] = 1
    out[text.isin(_FALSE) & num.isna()] = 0
    ok = out.notna() & (out >= 0) & (out == np.floor(out)) & ((out <= 1) if not counts else True)
    if not ok.all():
        r = int(ok[~ok].index[0])
        what = "0 或 1 (0/1, √ = 1)" if not counts else "非负整数处数 (a count ≥ 0)"
        raise DataError(
            f"无效的值 (invalid value) '{col[r]}': expected {what}", sheet.location(row=r, column=column)
        )
    return out.astype(int)


def recompute_scores(frame: pd.DataFrame, standard: CasefileStandard) -> pd.DataFrame:
    """``score`` and ``grade`` from veto (0/1) and defect (count) columns named by code.

    Per defect: ``deduction × count`` (``per: occurrence``) or ``deduction`` once if count > 0 (``per: case``);
    each category's deductions are capped at its ``max_points``; score = max(total_points − Σ capped, 0).
    Grade: the first band (highest first) whose ``min_score`` the score reaches and none of whose ``excluded_by``
    defects occur (else the next band; the last band if none); any veto forces ``veto_grade`` (score kept).
    """
    n = len(frame)
    total_deduction = np.zeros(n)
    for cat in standard.categories:
        d = np.zeros(n)
        for df in cat.defects:
            count = frame[df.code].to_numpy(dtype=float)
            d += df.deduction * (count if df.per == "occurrence" else (count > 0))
        total_deduction += np.minimum(d, cat.max_points)
    score = np.maximum(standard.total_points - total_deduction, 0.0)
    grade = np.full(n, standard.grades[-1].grade, dtype=object)
    assigned = np.zeros(n, dtype=bool)
    for band in standard.grades:
        barred = np.zeros(n, dtype=bool)
        for code in band.excluded_by:
            if code in frame:
                barred |= frame[code].to_numpy(dtype=float) > 0
        take = ~assigned & (score >= band.min_score) & ~barred
        grade[take] = band.grade
        assigned |= take
    veto = np.zeros(n, dtype=bool)
    for v in standard.vetoes:
        veto |= frame[v.code].to_numpy(dtype=float) > 0
    grade[veto] = standard.veto_grade
    return pd.DataFrame({"score": score, "grade": grade}, index=frame.index)


def _check_unused(sheet: Sheet, hr: int, unused: list[str], known: list[str]) -> None:
    """A column headed like a code of the standard that the standard does not know (``C11 卷宗装订不规范``) is an
    error: its deductions would never count. Other unread columns are a warning (``unknown_column``)."""
    for col in unused:
        m = _CODE.match(normalize(col).upper())
        if m:
            raise DataError(
                f"评查表有评查标准中没有的代码列 (column of a code the standard does not know) '{col}': "
                f"代码 {m.group(1)} 不在 casefile.yaml 中，其扣分不会计入 (its deductions would not count); "
                f"请在 casefile.yaml 中加入该代码，或改正列名 (add the code to casefile.yaml or correct the "
                f"header); known codes: {known}",
                sheet.location(row=hr + 1, column=col),
            )
        if normalize(col) not in NOT_READ:
            sheet.warnings.append(
                {
                    "code": "unknown_column",
                    "column": col,
                    "message": f"列 '{col}' 无法识别，未读入 (column not recognised, not read)",
                }
            )


def read_casefile_sheet(
    sheet: Sheet, standard: CasefileStandard, units: Units, key: bytes
) -> pd.DataFrame | None:
    """The reviews of one sheet (contract columns except record_id/source_file), or None if not a review sheet."""
    hr = find_header_row(sheet, _is_header(standard))
    if hr is None:
        return None
    frame = frame_below(sheet, hr)
    veto_codes = [v.code for v in standard.vetoes]
    defect_codes = [d.code for c in standard.categories for d in c.defects]
    codes = set(veto_codes) | set(defect_codes)
    by_role: dict[str, str] = {}
    by_code: dict[str, str] = {}
    for col in frame.columns:
        role = _role(col)
        if role and role not in by_role:
            by_role[role] = col
        code = header_code(col, codes)
        if code and code in by_code:
            # two columns for one code (a re-check typed beside the first): which counts is not ours to guess
            raise DataError(
                f"代码 {code} 有两列 (two columns for code {code}): '{by_code[code]}' 和 '{col}'；请合并为一列 "
                "(merge them into one column)",
                sheet.location(row=hr + 1, column=col),
            )
        if code:
            by_code[code] = col
    missing = [ALIASES[r][0] for r in REQUIRED if r not in by_role]
    missing += [c for c in veto_codes + defect_codes if c not in by_code]
    if missing:
        raise DataError(
            f"案卷评查表缺少列 (missing column(s)): {missing}; expected the headers of `fazhi-eval template casefile`",
            sheet.location(row=hr + 1),
        )
    unused = [c for c in frame.columns if _role(c) is None and header_code(c, codes) is None]
    _check_unused(sheet, hr, unused, veto_codes + defect_codes)
    frame = frame[frame[by_role["case_id"]].notna()]
    out = pd.DataFrame(index=frame.index)
    out["case_id"] = mask_series(as_text(frame[by_role["case_id"]])).astype(str)  # a typed phone/ID masked
    out["unit"] = map_units(frame[by_role["unit"]], units, sheet, by_role["unit"])
    types = as_text(frame[by_role["case_type"]])
    allowed = {normalize(t): t for t in standard.case_types}
    mapped = types.map(lambda s: allowed.get(normalize(s)), na_action="ignore")
    if mapped.isna().any():
        r = int(mapped[mapped.isna()].index[0])
        raise DataError(
            f"未知案卷类型 (unknown case type) '{types[r]}': expected one of {standard.case_types}",
            sheet.location(row=r, column=by_role["case_type"]),
        )
    out["case_type"] = mapped.astype(str)
    out["reviewer"] = pseudonym_series(as_text(frame[by_role["reviewer"]]), key)
    for code in veto_codes:
        out[code] = _flags(frame[by_code[code]], sheet, by_code[code], counts=False)
    for code in defect_codes:
        out[code] = _flags(frame[by_code[code]], sheet, by_code[code], counts=True)
    if "typed_score" in by_role:
        typed = numeric(frame[by_role["typed_score"]])
        bad = frame[by_role["typed_score"]].notna() & typed.isna()
        if bad.any():
            r = int(bad[bad].index[0])
            raise DataError(
                f"评查得分不是数字 (score is not a number) '{frame.at[r, by_role['typed_score']]}'",
                sheet.location(row=r, column=by_role["typed_score"]),
            )
        out["typed_score"] = typed.astype(float)
    else:
        out["typed_score"] = np.nan
    out = out.join(recompute_scores(out, standard))
    out["score_mismatch"] = (out["typed_score"] - out["score"]).abs().gt(SCORE_TOLERANCE)
    return out
