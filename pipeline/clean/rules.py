"""Exclusion rules: each a pure function ``(frame, codebook, rules) -> RuleResult`` over one 01_ingest table.

A :class:`RuleResult` holds ``hit`` (bool Series: the records the rule catches) and ``detail`` (str Series, ``""``
where not hit, else what was found, e.g. ``"用时 41 秒 < 阈值 60 秒"``). :func:`screen` runs every rule in the fixed
order of :data:`pipeline.config.cleaning.RULE_ORDER` and assigns each record to the **first** rule with action
``exclude`` that catches it, while keeping every rule it fails in its ``detail``. Rules with action ``flag`` add a
``flag_<rule>`` column instead.

Rules (defaults in questionnaires/cleaning.yaml):

``duplicate``
    Same ``respondent`` pseudonym within one survey (:func:`respondent_scope`: a 问卷星 survey id, or all paper
    entries), or same ``ip_key`` with identical answers (every answer column) submitted
    within ``window_minutes`` of the previous such submission. Records are ordered by ``submitted_at`` (missing
    last), then ``source_file``, ``source_row``; the first is kept.
``ip_burst``
    ≥ ``min_submissions`` submissions from one ``ip_key`` within ``window_minutes`` (answers may differ); flag only.
``speeder``
    ``duration_s`` < max(``min_seconds``, ``median_fraction`` × median of the instrument's durations), or with
    ``method: knee`` the knee of reportgen's ``clean_ftime`` (:func:`knee_seconds`). Missing durations never hit.
``straightline``
    On the Likert matrix rows (attention check excluded) the modal substantive code covers ≥ ``min_items`` rows
    and ≥ ``min_share`` of the answered rows, with a reverse-worded row among them (``require_reverse``).
``attention``
    The attention-check item answered with a code other than its ``pass_code``.
``invalid_code``
    A code not in the codebook (any ingest sentinel for unmatched text included), a 0/1 option column holding
    something else, more choices than ``max_choices``, an ``exclusive`` option chosen with another, or ranks of a
    ranking item that are not 1..k distinct and consecutive.
``missing``
    Share of required substantive items left unanswered > ``max_missing_share`` (items of a skip block count only
    where the block was shown; 不了解 counts as answered).
``outside_province`` / ``no_district`` / ``unknown_unit``
    Public: ``ip_province`` known and not starting with ``province``; district item not validly answered.
    Staff: unit item not validly answered.
``skip_logic``
    A skip block answered although its condition says it was not shown, or shown but left wholly unanswered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.clean.items import (
    CODED_TYPES,
    INVALID,
    OPTION_COLUMN_TYPES,
    SKIPPED,
    answer_columns,
    answered,
    block_items,
    codes,
    likert_matrix_items,
    option_columns,
    shown,
)
from pipeline.config.cleaning import RULE_ORDER, CleaningRules
from pipeline.config.codebook import Codebook
from pipeline.config.models import Option
from pipeline.ingest.codebook_match import max_rank

#: Chinese reason per rule code, written to ``exclusions.reason``.
REASONS: dict[str, str] = {
    "duplicate": "重复提交",
    "ip_burst": "同一IP短时间内多次提交",
    "speeder": "作答时间过短",
    "straightline": "直线作答(含反向题选项相同)",
    "attention": "注意力检验题未通过",
    "invalid_code": "存在无效选项代码",
    "missing": "未作答题目过多",
    "outside_province": "IP属地不在本省",
    "no_district": "未填写所在县区",
    "unknown_unit": "所在单位缺失或无法识别",
    "skip_logic": "跳题逻辑不一致",
}


@dataclass(frozen=True)
class RuleResult:
    """What one rule found: ``hit`` (bool per record) and ``detail`` (str per record, ``""`` where not hit)."""

    rule: str
    hit: pd.Series
    detail: pd.Series


_STR = pd.StringDtype(na_value=np.nan)
"""What ``.astype(str)`` gives: Arrow-backed strings."""


def _texts_at(rows: np.ndarray, texts, index: pd.Index) -> pd.Series:
    """A ``str`` column over ``index``: ``texts[k]`` (a list or an Arrow string array) at position ``rows[k]``, or
    the one text ``texts`` at every position in ``rows``; ``""`` elsewhere. Built by Arrow's take from the texts
    given: no Python object per record."""
    take = np.zeros(len(index), dtype=np.int64)
    if isinstance(texts, str):
        values = pa.array(["", texts], type=pa.large_string())
        take[rows] = 1
    else:
        texts = texts if isinstance(texts, pa.Array) else pa.array(texts, type=pa.large_string())
        values = pa.concat_arrays([pa.array([""], type=pa.large_string()), texts.cast(pa.large_string())])
        take[rows] = np.arange(1, len(rows) + 1)
    return pd.Series(pd.array(values.take(pa.array(take)), dtype=_STR), index=index)


def _mask(hit: pd.Series, index: pd.Index) -> np.ndarray:
    """``hit`` as a bool array aligned to ``index`` (labels it lacks and missing values are False)."""
    if not hit.index.equals(index):
        hit = hit.reindex(index, fill_value=False)
    return hit.fillna(False).to_numpy(dtype=bool)


def _text(v: object) -> str:
    """A detail value as text: missing (None, NA, NaN) → ``""``."""
    if isinstance(v, str):
        return v
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return ""
    return str(v)


def _result(rule: str, frame: pd.DataFrame, hit: pd.Series, detail: pd.Series | str) -> RuleResult:
    """A :class:`RuleResult` over ``frame``'s index; only the hit rows of ``detail`` are looked at, so it may be
    given for those rows only."""
    mask = _mask(hit, frame.index)
    rows = np.flatnonzero(mask)
    if isinstance(detail, str):
        texts: list[str] | str = detail
    else:
        picked = (
            detail.reindex(frame.index[rows]) if not detail.index.equals(frame.index) else detail.iloc[rows]
        )
        texts = [_text(v) for v in picked.tolist()]
    return RuleResult(rule, pd.Series(mask, index=frame.index), _texts_at(rows, texts, frame.index))


def _none(rule: str, frame: pd.DataFrame) -> RuleResult:
    return _result(rule, frame, pd.Series(False, index=frame.index), "")


def _join(parts: dict[object, list[str]], index: pd.Index, sep: str = "；") -> pd.Series:
    """Per record label of ``parts``, its texts joined by ``sep``; ``""`` for the other records (a ``str``
    column)."""
    rows = index.get_indexer(list(parts))
    texts = [sep.join(v) for v, r in zip(parts.values(), rows.tolist(), strict=True) if r >= 0]
    return _texts_at(rows[rows >= 0], texts, index)


def _hit_and_detail(
    parts: dict[int, list[str]], index: pd.Index, sep: str = "；"
) -> tuple[pd.Series, pd.Series]:
    """(hit, detail) of a rule that collected texts per record *position*."""
    rows = np.fromiter(parts, dtype=np.int64, count=len(parts))
    hit = np.zeros(len(index), dtype=bool)
    hit[rows] = True
    return pd.Series(hit, index=index), _texts_at(rows, [sep.join(v) for v in parts.values()], index)


def submission_order(frame: pd.DataFrame) -> pd.Index:
    """Index of ``frame`` in submission order: ``submitted_at`` (missing last), ``source_file``, ``source_row``."""
    return frame.index[_submission_positions(frame)]


def _submission_positions(frame: pd.DataFrame) -> np.ndarray:
    """Positions of :func:`submission_order`: one stable ``np.lexsort`` of integer keys that sort like the three
    columns (missing values last), as ``DataFrame.sort_values`` on them does."""
    return np.lexsort([_sort_key(frame[c]) for c in ("source_row", "source_file", "submitted_at")])


def _sort_key(col: pd.Series) -> np.ndarray:
    """Integers that sort like ``col``'s values, missing values last."""
    if pd.api.types.is_datetime64_dtype(col.dtype):  # naive timestamps: their nanoseconds, NaT last
        t = col.to_numpy(dtype="datetime64[ns]").view(np.int64).copy()
        t[t == np.iinfo(np.int64).min] = np.iinfo(np.int64).max
        return t
    if col.dtype == np.int64:
        return col.to_numpy()
    codes, _ = pd.factorize(col, sort=True, use_na_sentinel=True)
    codes = codes.astype(np.int64)
    codes[codes < 0] = codes.max(initial=-1) + 1
    return codes


_VID = r"^(\d+)_"


def respondent_scope(frame: pd.DataFrame) -> pd.Series:
    """Within what a ``respondent`` pseudonym is unique: the 问卷星 survey id (the leading digits of an export's
    file name, shared by its 按文本/按序号 twins) for online records; one scope ``paper`` for all paper entries (a
    paper id is unique across the project, so the same form entered twice in two sheets is caught); else the
    file. 问卷星's 序号 restarts at 1 in every survey, so pseudonyms from two surveys must not be compared.

    The string work runs once per distinct (file, mode), not once per record."""
    group, table = _scope_table(frame)
    return pd.Series(table[group], index=frame.index).astype(str)


def _scope_table(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(group per record, scope text per group) of :func:`respondent_scope`; groups are distinct (file, mode)."""
    cols = ["source_file"] + (["mode"] if "mode" in frame.columns else [])
    group, first = _row_groups([frame[c] for c in cols])
    distinct = frame[cols].iloc[first]
    files = distinct["source_file"].astype("string")
    vid = files.str.extract(_VID, expand=False)
    scope = ("wjx:" + vid).fillna("file:" + files)
    if "mode" in distinct.columns:
        scope = scope.mask(distinct["mode"].astype("string") == "paper", "paper")
    return group, scope.astype(str).to_numpy(dtype=object)


def _scope_codes(frame: pd.DataFrame) -> np.ndarray:
    """An integer per record standing for its :func:`respondent_scope` (equal integers, equal scopes)."""
    group, table = _scope_table(frame)
    return pd.factorize(table)[0].astype(np.int64)[group]


def _row_groups(columns: list[pd.Series]) -> tuple[np.ndarray, np.ndarray]:
    """Group id per row of the given columns taken together (missing is a value of its own), ids numbered in
    order of first appearance, and the position of each group's first row."""
    key = np.zeros(len(columns[0]), dtype=np.int64)
    for col in columns:
        c, u = pd.factorize(col, use_na_sentinel=False)
        key = key * (len(u) + 1) + c
    return _groups_of(key)


def _groups_of(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_row_groups` of one integer key: ids are numbered in order of first appearance, so a row starts a
    group exactly when its id exceeds every id before it (no sort needed)."""
    group = pd.factorize(key)[0]
    seen = np.maximum.accumulate(group)
    starts = np.empty(len(group), dtype=bool)
    starts[:1] = True
    starts[1:] = group[1:] > seen[:-1]
    return group, np.flatnonzero(starts)


def _nonempty_codes(col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(factorised codes, whether the value is a non-empty text) per record; missing → code −1, not valid."""
    codes, uniques = pd.factorize(col, use_na_sentinel=True)
    try:
        lengths = pc.utf8_length(pa.array(uniques.array, type=pa.large_string())).to_numpy()
    except (
        pa.ArrowException,
        TypeError,
        ValueError,
    ):  # not all texts: as ``astype("string")`` would read them
        lengths = np.array([len(str(u)) for u in uniques], dtype=np.int64)
    return codes, np.append(lengths > 0, False)[codes]


_NA_CODE = np.iinfo(np.int64).min


def answer_signature(frame: pd.DataFrame, codebook: Codebook) -> pd.Series:
    """A 64-bit hash per record of every answer column (equal hashes = identical answers).

    Integer code columns are hashed as their int64 codes (missing → a sentinel no code takes), other columns
    (fill-in text, numbers) as their factorised codes; column hashes are combined as in
    ``pandas.util.hash_pandas_object``. No string conversion of the answers. Hashes are comparable only within
    one call (factorised codes depend on the rows given)."""
    cols = answer_columns(codebook)
    h = np.zeros(len(frame), dtype=np.uint64)
    mult = np.uint64(1000003)
    for k, c in enumerate(cols):
        s = frame[c]
        if pd.api.types.is_integer_dtype(s.dtype):
            v = s.to_numpy(dtype=np.int64, na_value=_NA_CODE)
        else:
            v = pd.factorize(s, use_na_sentinel=True)[0].astype(np.int64)
        h = (h ^ pd.util.hash_array(v, categorize=False)) * mult
        mult += np.uint64(82520 + 2 * (len(cols) - k))
    return pd.Series(h, index=frame.index)


# --------------------------------------------------------------------------------------------------------------
# the rules


def duplicate(frame: pd.DataFrame, codebook: Codebook, rules: CleaningRules) -> RuleResult:
    cfg = rules.duplicate
    order = _submission_positions(frame)
    record_ids = frame["record_id"]
    parts: dict[int, list[str]] = {}  # by record position
    if cfg.by_respondent:
        resp, valid = _nonempty_codes(frame["respondent"])
        key = _scope_codes(frame) * (int(resp.max(initial=-1)) + 2) + (resp + 1)
        group, first = _groups_of(key[order])
        dup = np.flatnonzero(valid[order] & (np.arange(len(order)) != first[group]))
        kept = record_ids.iloc[order[first[group[dup]]]].tolist()
        for i, r in zip(order[dup].tolist(), kept, strict=True):
            parts.setdefault(i, []).append(f"同一答卷人，保留 {r}")
    if cfg.by_ip and "ip_key" in frame.columns:
        cur, prev, gap = _same_ip_same_answers(frame, codebook, order, cfg.window_minutes)
        prev_ids = record_ids.iloc[prev].tolist()
        for i, p, g in zip(cur.tolist(), prev_ids, gap.tolist(), strict=True):
            parts.setdefault(i, []).append(f"同一IP答案完全相同，距 {p} {g / 1e9:.0f} 秒")
    hit, detail = _hit_and_detail(parts, frame.index)
    return RuleResult("duplicate", hit, detail)


def _same_ip_same_answers(
    frame: pd.DataFrame, codebook: Codebook, order: np.ndarray, window_minutes: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(positions, positions of the previous such submission, gaps in ns) of the records whose IP and answers
    equal those of the previous submission (in ``order``) with that IP and those answers, at most
    ``window_minutes`` before it; in submission order.

    Only records with another submission from their IP within the window can be either side of such a pair, so
    answers are compared among those alone (usually a small share); the previous submission found among them
    is the one among all records whenever it lies within the window."""
    ip, valid = _nonempty_codes(frame["ip_key"])
    t = pd.to_datetime(frame["submitted_at"]).to_numpy(dtype="datetime64[ns]").view(np.int64)
    window = pd.Timedelta(minutes=window_minutes).value
    # a missing time sorts last and gives no gap: such records neither are nor precede a repeat
    rows = np.flatnonzero(valid & (t != np.iinfo(np.int64).min))
    by_ip = rows[np.lexsort((t[rows], ip[rows]))]
    close = (ip[by_ip[1:]] == ip[by_ip[:-1]]) & (t[by_ip[1:]] - t[by_ip[:-1]] <= window)
    near = np.zeros(len(frame), dtype=bool)
    near[by_ip[1:][close]] = True
    near[by_ip[:-1][close]] = True
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    cand = np.flatnonzero(near)
    cand = cand[np.argsort(rank[cand], kind="stable")]  # in submission order
    if len(cand) < 2:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    sig = answer_signature(frame[answer_columns(codebook)].iloc[cand], codebook).to_numpy()
    group, _ = _row_groups([pd.Series(ip[cand]), pd.Series(sig)])
    by_group = np.argsort(group, kind="stable")  # submission order kept within each (IP, answers) group
    same = group[by_group[1:]] == group[by_group[:-1]]
    cur, prev = by_group[1:][same], by_group[:-1][same]
    gap = t[cand[cur]] - t[cand[prev]]
    ok = gap <= window
    cur, prev, gap = cur[ok], prev[ok], gap[ok]
    sort = np.argsort(cur, kind="stable")
    return cand[cur[sort]], cand[prev[sort]], gap[sort]


def ip_burst(frame: pd.DataFrame, codebook: Codebook, rules: CleaningRules) -> RuleResult:
    """Records inside a window of ``window_minutes`` (starting at one of them) holding at least
    ``min_submissions`` submissions from the same IP.

    Vectorised over all IPs at once: records sorted by (IP, time) get a key ``ip_code · 2^32 + seconds``, so one
    ``searchsorted`` finds every window's end; a record is covered when the latest qualifying window start
    before it (same IP) reaches past it — window ends never decrease within an IP, so that start covers it if
    any does.
    """
    cfg = rules.ip_burst
    if "ip_key" not in frame.columns:
        return _none("ip_burst", frame)
    ip, valid = _nonempty_codes(frame["ip_key"])
    ok = valid & frame["submitted_at"].notna().to_numpy()
    if not ok.any():
        return _none("ip_burst", frame)
    t = pd.to_datetime(frame["submitted_at"][ok]).to_numpy(dtype="datetime64[s]").astype(np.int64)
    group = ip[ok].astype(np.int64)
    t = t - t.min()
    order = np.lexsort((t, group))
    key = (group[order] << 32) + t[order]
    end = np.searchsorted(key, key + int(cfg.window_minutes * 60), side="right")
    position = np.arange(len(key))
    count = end - position
    start = np.where(count >= cfg.min_submissions, position, -1)
    latest = np.maximum.accumulate(start)
    covered = (latest >= 0) & (end[np.maximum(latest, 0)] > position)
    covered &= group[order][np.maximum(latest, 0)] == group[order]
    rows = np.flatnonzero(ok)[order][covered]
    hit = np.zeros(len(frame), dtype=bool)
    hit[rows] = True
    n_in_window = count[latest[covered]]
    texts = [f"同一IP {cfg.window_minutes:g} 分钟内提交 {n} 份" for n in n_in_window]
    return RuleResult("ip_burst", pd.Series(hit, index=frame.index), _texts_at(rows, texts, frame.index))


def knee_seconds(durations: pd.Series, quantile: float = 0.25) -> float | None:
    """The knee of the cumulative-count curve of the fastest ``quantile`` of completion times (reportgen).

    Following reportgen's ``clean_ftime``: over whole seconds t from the minimum duration to the ``quantile``
    quantile, fit a quartic polynomial to N(t) = #{durations ≤ t}, and return the zero of its third derivative
    (where the curvature N'' is extremal: the end of the sparse fast tail). Returns None when fewer than 5
    distinct seconds are available or the zero lies outside that range (then callers fall back to the
    median rule). Hand-written: reportgen is unmaintained and not installable on current pandas.

    Reference: gasongjian/reportgen, ``reportgen/questionnaire/questionnaire.py::clean_ftime``.
    """
    d = pd.to_numeric(durations, errors="coerce").dropna().to_numpy(dtype=float)
    if d.size == 0:
        return None
    t_min, t_cut = int(np.floor(d.min())), int(np.floor(np.quantile(d, quantile)))
    if t_cut - t_min < 5:
        return None
    x = np.arange(t_min, t_cut, dtype=float)
    y = np.searchsorted(np.sort(d), x, side="right").astype(float)
    centre, spread = x.mean(), x.std()  # fit on a standardised axis: better conditioned than raw seconds
    coef = np.polyfit((x - centre) / spread, y, 4)
    if coef[0] == 0:
        return None
    root = -coef[1] / (4 * coef[0]) * spread + centre  # N''' = 24a·z + 6b = 0
    if not t_min < root < t_cut:
        return None
    return float(root)


def speeder_threshold(durations: pd.Series, rules: CleaningRules) -> tuple[float, str]:
    """The speeder threshold in seconds, and how it was found (for the detail text)."""
    cfg = rules.speeder
    d = pd.to_numeric(durations, errors="coerce").dropna()
    if d.empty:
        return cfg.min_seconds, "最低时长"
    by_median = cfg.median_fraction * float(d.median())
    if cfg.method == "knee":
        knee = knee_seconds(d, cfg.knee_quantile)
        if knee is not None:
            return (max(cfg.min_seconds, knee), "拐点" if knee > cfg.min_seconds else "最低时长")
    if by_median > cfg.min_seconds:
        return by_median, "中位数比例"
    return cfg.min_seconds, "最低时长"


def speeder(frame: pd.DataFrame, codebook: Codebook, rules: CleaningRules) -> RuleResult:
    d = pd.to_numeric(frame["duration_s"], errors="coerce").astype(float)
    threshold, how = speeder_threshold(d, rules)
    hit = d.notna() & (d < threshold)
    detail = d[hit].map(lambda s: f"用时 {s:.0f} 秒 < 阈值 {threshold:.0f} 秒({how})")
    return _result("speeder", frame, hit, detail)


def straightline(frame: pd.DataFrame, codebook: Codebook, rules: CleaningRules) -> RuleResult:
    cfg = rules.straightline
    items = likert_matrix_items(codebook)
    if len(items) < cfg.min_items:
        return _none("straightline", frame)
    values = sorted({c for it in items for c in it.substantive_codes})
    reverse_codes = []  # substantive codes of the reverse-worded rows (no n × items matrix is built)
    n_answered = np.zeros(len(frame), dtype=np.int16)  # counts of at most a few dozen rows: small ints
    counts = [np.zeros(len(frame), dtype=np.int16) for _ in values]
    for it in items:
        c = codes(frame, it.id).to_numpy()
        c = np.where(np.isin(c, list(it.substantive_codes)), c, np.nan)
        if it.reverse:
            reverse_codes.append(c)
        n_answered += ~np.isnan(c)
        for count, v in zip(counts, values, strict=True):
            count += c == v
    stacked = np.stack(counts, axis=1)
    modal_pos = stacked.argmax(axis=1)  # first of equal counts, as DataFrame.idxmax
    n_modal = stacked.max(axis=1)
    modal = np.asarray(values, dtype=float)[modal_pos]
    rev_same = np.zeros(len(frame), dtype=bool)
    for c in reverse_codes:
        rev_same |= c == modal
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(n_answered > 0, n_modal / np.maximum(n_answered, 1), np.nan)
    hit = (n_modal >= cfg.min_items) & (share >= cfg.min_share - 1e-12)
    if cfg.require_reverse:
        hit &= rev_same
    rows = np.flatnonzero(hit)
    detail = pd.Series(
        [
            f"{k}/{n} 个矩阵题均选 {values[v]}(含反向题)"
            for k, n, v in zip(
                n_modal[rows].tolist(), n_answered[rows].tolist(), modal_pos[rows].tolist(), strict=True
            )
        ],
        index=frame.index[rows],
        dtype=object,
    )
    return _result("straightline", frame, pd.Series(hit, index=frame.index), detail)


def attention(frame: pd.DataFrame, codebook: Codebook, rules: CleaningRules) -> RuleResult:
    check = codebook.questionnaire.attention_check
    if check is None:
        return _none("attention", frame)
    c = codes(frame, check.item)
    fail = c.notna() & (c != SKIPPED) & (c != check.pass_code)
    if rules.attention.unanswered_fails:
        fail |= c.isna()
    detail = c[fail].map(
        lambda v: f"{check.item} 选 {'未答' if pd.isna(v) else int(v)}，应选 {check.pass_code}"
    )
    return _result("attention", frame, fail, detail)


def _exclusive_codes(options: tuple[Option, ...]) -> list[int]:
    return [o.code for o in options if o.exclusive]


def invalid_code(frame: pd.DataFrame, codebook: Codebook, rules: CleaningRules) -> RuleResult:
    parts: dict[object, list[str]] = {}
    index = frame.index
    for it in codebook.items:
        if it.type in CODED_TYPES:
            c = codes(frame, it.id).to_numpy()
            answered_code = ~np.isnan(c)
            bad = answered_code & (c != SKIPPED) & ~np.isin(c, list(it.valid_codes))
            if not pd.api.types.is_numeric_dtype(frame[it.id].dtype):
                bad |= frame[it.id].notna().to_numpy() & ~answered_code  # not numeric at all
            for r in np.flatnonzero(bad).tolist():
                i = index[r]
                v = frame.at[i, it.id]
                parts.setdefault(i, []).append(f"{it.id}={v}" + ("(无法匹配选项)" if c[r] == INVALID else ""))
        elif it.type == "multiple":
            cols = option_columns(it)
            block = np.column_stack([codes(frame, col).to_numpy() for col in cols])
            missing = np.isnan(block)
            bad = ~missing & ~np.isin(block, [0, 1, SKIPPED])
            not_numeric = [
                k for k, col in enumerate(cols) if not pd.api.types.is_numeric_dtype(frame[col].dtype)
            ]
            for k in not_numeric:
                bad[:, k] |= frame[cols[k]].notna().to_numpy() & missing[:, k]
            for r in np.flatnonzero(bad.any(axis=1)).tolist():
                parts.setdefault(index[r], []).append(f"{it.id} 选项列不是 0/1")
            n_chosen = (block == 1).sum(axis=1)
            if it.max_choices is not None:
                for r in np.flatnonzero(n_chosen > it.max_choices).tolist():
                    parts.setdefault(index[r], []).append(
                        f"{it.id} 选了 {n_chosen[r]} 项(最多 {it.max_choices})"
                    )
            for code in _exclusive_codes(it.options):
                clash = (block[:, cols.index(f"{it.id}_{code}")] == 1) & (n_chosen > 1)
                for r in np.flatnonzero(clash).tolist():
                    parts.setdefault(index[r], []).append(f"{it.id} 互斥选项 {code} 与其他选项同选")
        elif it.type == "ranking":
            for r, reason in _invalid_ranks(frame, it):
                parts.setdefault(index[r], []).append(reason)
    hit = pd.Series(frame.index.isin(list(parts)), index=frame.index)
    return _result("invalid_code", frame, hit, _join(parts, frame.index, sep="，"))


def _invalid_ranks(frame: pd.DataFrame, item) -> list[tuple[int, str]]:
    """(row position, reason) of each record whose ranks of ``item`` are not 1..m distinct (m ≤ k, the item's
    :func:`~pipeline.ingest.codebook_match.max_rank`): a rank outside 1..k (ingest's −9 included), one rank given
    twice, or a gap (1, 3 without 2)."""
    top = max_rank(item)
    block = np.column_stack([codes(frame, col).to_numpy() for col in option_columns(item)])
    present = ~np.isnan(block) & (block != SKIPPED)
    out_of_range = (present & ((block < 1) | (block > top) | (block != np.round(block)))).any(axis=1)
    n_present = present.sum(axis=1)
    ranks = np.where(present & ~out_of_range[:, None], block, np.inf)
    ranks.sort(axis=1)
    expected = np.arange(1, block.shape[1] + 1, dtype=float)
    not_consecutive = ((ranks != expected) & np.isfinite(ranks)).any(axis=1)
    distinct = np.array([len(set(row[np.isfinite(row)])) for row in ranks]) == n_present
    found = []
    for r in np.flatnonzero(out_of_range).tolist():
        found.append(
            (
                r,
                f"{item.id} 名次不在 1–{top} 之内"
                + ("(无法匹配选项)" if (block[r] == INVALID).any() else ""),
            )
        )
    for r in np.flatnonzero(~out_of_range & ~distinct).tolist():
        found.append((r, f"{item.id} 名次重复"))
    for r in np.flatnonzero(~out_of_range & distinct & not_consecutive).tolist():
        found.append((r, f"{item.id} 名次不连续"))
    return sorted(found)


def required_substantive_items(codebook: Codebook) -> list:
    """Items counted by the ``missing`` rule: required, coded or multiple choice, not demographic, not the
    attention check."""
    check = codebook.questionnaire.attention_check
    skip = {check.item} if check else set()
    return [
        it
        for it in codebook.items
        if it.required
        and it.type in (*CODED_TYPES, *OPTION_COLUMN_TYPES)
        and it.variable is None
        and it.id not in skip
    ]


def missing(frame: pd.DataFrame, codebook: Codebook, rules: CleaningRules) -> RuleResult:
    items = required_substantive_items(codebook)
    if not items:
        return _none("missing", frame)
    applies: dict[str, np.ndarray | None] = {it.id: None for it in items}  # None: asked of everyone
    for rule in codebook.questionnaire.skip_logic:
        was_shown = shown(frame, rule).fillna(False).to_numpy(dtype=bool)
        for it in block_items(codebook, rule):
            if it.id in applies:
                before = applies[it.id]
                applies[it.id] = was_shown if before is None else before & was_shown
    n_required = np.zeros(len(frame), dtype=np.int64)
    n_missing = np.zeros(len(frame), dtype=np.int64)
    for it in items:
        asked = applies[it.id]
        unanswered = ~answered(frame, it).to_numpy(dtype=bool)
        n_required += 1 if asked is None else asked
        n_missing += unanswered if asked is None else asked & unanswered
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(n_required > 0, n_missing / np.maximum(n_required, 1), np.nan)
    hit = share > rules.missing.max_missing_share
    rows = np.flatnonzero(hit)
    texts = [
        f"{k}/{n} 道实质题未答"
        for k, n in zip(n_missing[rows].tolist(), n_required[rows].tolist(), strict=True)
    ]
    return RuleResult("missing", pd.Series(hit, index=frame.index), _texts_at(rows, texts, frame.index))


def outside_province(frame: pd.DataFrame, codebook: Codebook, rules: CleaningRules) -> RuleResult:
    if codebook.instrument != "public" or "ip_province" not in frame.columns:
        return _none("outside_province", frame)
    prov = frame["ip_province"].astype("string").str.strip()
    known = prov.notna() & (prov != "") & (prov != "未知")
    hit = known & ~prov.str.startswith(rules.location.province).fillna(False)
    return _result("outside_province", frame, hit, "IP属地 " + prov.fillna(""))


def _invalid_answer(frame: pd.DataFrame, codebook: Codebook, variable: str) -> tuple[pd.Series, str] | None:
    try:
        it = codebook.by_variable(variable)
    except KeyError:
        return None
    c = codes(frame, it.id)
    return ~c.isin(list(it.valid_codes)), it.id


def no_district(frame: pd.DataFrame, codebook: Codebook, rules: CleaningRules) -> RuleResult:
    found = _invalid_answer(frame, codebook, "district") if codebook.instrument == "public" else None
    if found is None:
        return _none("no_district", frame)
    hit, item_id = found
    return _result("no_district", frame, hit, f"{item_id} 未答或无效")


def unknown_unit(frame: pd.DataFrame, codebook: Codebook, rules: CleaningRules) -> RuleResult:
    found = _invalid_answer(frame, codebook, "unit") if codebook.instrument == "staff" else None
    if found is None:
        return _none("unknown_unit", frame)
    hit, item_id = found
    return _result("unknown_unit", frame, hit, f"{item_id} 未答或不在 units.yaml 中")


def skip_logic(frame: pd.DataFrame, codebook: Codebook, rules: CleaningRules) -> RuleResult:
    parts: dict[object, list[str]] = {}
    for rule in codebook.questionnaire.skip_logic:
        items = block_items(codebook, rule)
        if not items:
            continue
        was_shown = shown(frame, rule)
        any_answered = pd.concat([answered(frame, it) for it in items], axis=1).any(axis=1)
        qs = ",".join(str(n) for n in codebook.block_numbers(rule))
        for i in frame.index[(was_shown == False).fillna(False) & any_answered]:  # noqa: E712
            parts.setdefault(i, []).append(f"第{qs}题未显示却作答")
        for i in frame.index[(was_shown == True).fillna(False) & ~any_answered]:  # noqa: E712
            parts.setdefault(i, []).append(f"第{qs}题应显示却未作答")
    hit = pd.Series(frame.index.isin(list(parts)), index=frame.index)
    return _result("skip_logic", frame, hit, _join(parts, frame.index))


RULES: dict[str, Callable[[pd.DataFrame, Codebook, CleaningRules], RuleResult]] = {
    "duplicate": duplicate,
    "ip_burst": ip_burst,
    "speeder": speeder,
    "straightline": straightline,
    "attention": attention,
    "invalid_code": invalid_code,
    "missing": missing,
    "outside_province": outside_province,
    "no_district": no_district,
    "unknown_unit": unknown_unit,
    "skip_logic": skip_logic,
}


# --------------------------------------------------------------------------------------------------------------
# all rules together


@dataclass(frozen=True)
class Screening:
    """The outcome of every rule on one table.

    ``excluded_by``: rule code of the first ``exclude`` rule that caught the record, ``<NA>`` if kept;
    ``detail``: every rule the record failed, ``rule: detail`` joined by `` | ``;
    ``flags``: one bool column ``flag_<rule>`` per rule with action ``flag``;
    ``results``: each rule's own result, in order.
    """

    excluded_by: pd.Series
    detail: pd.Series
    flags: pd.DataFrame
    results: tuple[RuleResult, ...]
    actions: dict[str, str]

    @property
    def kept(self) -> pd.Series:
        return self.excluded_by.isna()


def screen(frame: pd.DataFrame, codebook: Codebook, rules: CleaningRules) -> Screening:
    """Run every rule of :data:`RULE_ORDER` on ``frame`` (one 01_ingest table) and combine the results."""
    return screening_from(frame, rule_results(frame, codebook, rules, active_rules(rules)), rules)


def active_rules(rules: CleaningRules) -> list[str]:
    """The rules of :data:`RULE_ORDER` whose action is not ``off``, in order."""
    return [r for r in RULE_ORDER if rules.action(r) != "off"]


def rule_results(
    frame: pd.DataFrame, codebook: Codebook, rules: CleaningRules, names: list[str]
) -> dict[str, RuleResult]:
    """The result of each named rule on ``frame`` (the rules are independent: any subset, in any process)."""
    return {name: RULES[name](frame, codebook, rules) for name in names}


def screening_from(frame: pd.DataFrame, results: dict[str, RuleResult], rules: CleaningRules) -> Screening:
    """:func:`screen` from the results of every active rule (:func:`rule_results`)."""
    actions = {r: rules.action(r) for r in RULE_ORDER}
    results = tuple(results[r] for r in active_rules(rules))  # type: ignore[assignment]
    first = np.full(len(frame), -1, dtype=np.int64)  # which of ``excluding`` caught the record first
    excluding: list[str] = []
    flags = {}
    for res in results:
        if actions[res.rule] == "exclude":
            first[(first < 0) & res.hit.to_numpy(dtype=bool)] = len(excluding)
            excluding.append(res.rule)
        else:
            flags[f"flag_{res.rule}"] = res.hit
    names = pa.array([*excluding, None], type=pa.large_string())
    by = names.take(pa.array(np.where(first < 0, len(excluding), first)))
    excluded_by = pd.Series(pd.array(by, dtype="string"), index=frame.index)
    detail = _screen_detail(results, frame.index)
    return Screening(excluded_by, detail, pd.DataFrame(flags, index=frame.index), results, actions)


def _screen_detail(results: tuple[RuleResult, ...], index: pd.Index) -> pd.Series:
    """Per record every rule that caught it as ``rule: detail``, in rule order, joined by `` | ``; ``""`` for a
    record no rule caught. Joined by Arrow over the caught records only."""
    masks = [res.hit.to_numpy(dtype=bool) for res in results]
    rows = np.flatnonzero(np.logical_or.reduce(masks)) if masks else np.zeros(0, dtype=np.int64)
    take = pa.array(rows)
    labelled = []
    for res, mask in zip(results, masks, strict=True):
        caught = mask[rows]
        if not caught.any():
            continue
        text = pa.array(res.detail.array, type=pa.large_string()).take(take)
        empty = pa.scalar("", pa.large_string())
        text = pc.binary_join_element_wise(pa.scalar(f"{res.rule}: ", pa.large_string()), text, empty)
        labelled.append(pc.if_else(pa.array(caught), text, pa.scalar(None, pa.large_string())))
    if not labelled:
        return _texts_at(rows, [], index)
    separator = pa.scalar(" | ", pa.large_string())
    return _texts_at(rows, pc.binary_join_element_wise(*labelled, separator, null_handling="skip"), index)


def exclusions_table(frame: pd.DataFrame, screening: Screening, instrument: str) -> pd.DataFrame:
    """One row per excluded record (columns of docs/DATA_CONTRACT.md ``02_clean/exclusions``)."""
    out = screening.excluded_by.isna()
    ex = frame.loc[~out, ["record_id", "source_file", "source_sheet", "source_row"]].copy()
    ex.insert(0, "instrument", instrument)
    ex["rule"] = screening.excluded_by[~out].astype(str)
    ex["reason"] = ex["rule"].map(REASONS)
    ex["detail"] = screening.detail[~out]
    return ex.reset_index(drop=True)
