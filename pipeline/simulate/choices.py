"""Answers to multiple-choice, ranking and fill-in questions, and the data-quality problems injected into an
export."""

from __future__ import annotations

import numpy as np

from pipeline.config.codebook import Codebook, CodebookItem
from pipeline.simulate import texts
from pipeline.simulate.responses import BLANK, SKIPPED, Responses, is_latent, ladder

#: share of fill-in answers that are non-empty, and of those the share carrying a phone / ID-card number.
TEXT_FILLED = 0.35
TEXT_PHONE = 0.05
TEXT_ID = 0.015


def multi_answers(item: CodebookItem, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """0/1 choices (n × options) and the "other" free text.

    With ``max_choices``: 1..max options by Gumbel top-k on fixed option weights; otherwise independent choices
    with decreasing probabilities, the exclusive option (无) when nothing else is chosen.
    """
    opts = item.options
    k = len(opts)
    w = np.array([0.04 if o.other else 1.0 / (1 + 0.35 * j) for j, o in enumerate(opts)])
    excl = np.array([o.exclusive for o in opts])
    if item.max_choices:
        m = rng.integers(1, item.max_choices + 1, n)
        keys = np.log(np.where(excl, 1e-9, w))[None, :] + rng.gumbel(size=(n, k))
        rank = np.argsort(np.argsort(-keys, axis=1), axis=1)
        sel = (rank < m[:, None]).astype(np.int8)
    else:
        p = np.where(excl | np.array([o.other for o in opts]), 0.0, 0.45 * w)
        p = np.where([o.other for o in opts], 0.02, p)
        sel = (rng.random((n, k)) < p[None, :]).astype(np.int8)
        if excl.any():
            none = sel.sum(axis=1) == 0
            sel[none, int(np.argmax(excl))] = 1
    other = np.full(n, "", dtype=object)
    for j, o in enumerate(opts):
        if o.other:
            chosen = sel[:, j] == 1
            pool = np.array(texts.OTHER_TEXTS, dtype=object)
            fill = pool[rng.integers(0, len(pool), n)]
            other = np.where(chosen & (rng.random(n) < 0.8), fill, other)
    return sel, other


def rank_answers(item: CodebookItem, rng: np.random.Generator, n: int) -> np.ndarray:
    """Ranks (n × options; 1 = first, 0 = not ranked): the top ``max_choices`` (or all) options, ordered by Gumbel
    keys on fixed option weights (earlier options more often ahead; an "other" option rarely ranked)."""
    opts = item.options
    k = len(opts)
    w = np.array([0.04 if o.other else 1.0 / (1 + 0.35 * j) for j, o in enumerate(opts)])
    keys = np.log(w)[None, :] + rng.gumbel(size=(n, k))
    rank = np.argsort(np.argsort(-keys, axis=1), axis=1) + 1
    top = min(item.max_choices or k, k)
    return np.where(rank <= top, rank, 0).astype(np.int8)


def fill_in_answers(rng: np.random.Generator, n: int) -> tuple[np.ndarray, list[tuple[int, str]]]:
    """Free-text suggestions; a few contain a mobile or ID-card number. Returns texts and (row, kind) of PII."""
    pool = np.array(texts.SUGGESTIONS, dtype=object)
    filled = rng.random(n) < TEXT_FILLED
    out = np.where(filled, pool[rng.integers(0, len(pool), n)], "").astype(object)
    pii: list[tuple[int, str]] = []
    u = rng.random(n)
    for r in np.flatnonzero(filled & (u < TEXT_PHONE + TEXT_ID)):
        if u[r] < TEXT_PHONE:
            out[r] = f"{out[r]}，我的电话{texts.phone(rng)}"
            pii.append((int(r), "phone"))
        else:
            out[r] = f"{out[r]}。本人身份证号{texts.id_card(rng)}，请核实"
            pii.append((int(r), "id_card"))
    return out, pii


def matrix_likert_ids(cb: Codebook) -> list[str]:
    """Ids of matrix rows on an ordered scale, any length (the grid a straight-liner runs through)."""
    return [it.id for it in cb.items if it.type == "matrix" and is_latent(it)]


#: a straight-liner's answer, counted from the best option down (0 = best), and how often each is chosen.
STRAIGHT_FROM_TOP = np.array([2, 1, 0])
STRAIGHT_P = [0.2, 0.4, 0.4]


def straight_line(resp: Responses, rows: np.ndarray, rng: np.random.Generator, ids: list[str]) -> None:
    """Give ``rows`` the same answer position on every Likert matrix row (ignoring reverse wording): the best,
    second-best or third-best option (on five points 5, 4 or 3)."""
    top = rng.choice(STRAIGHT_FROM_TOP, size=len(rows), p=STRAIGHT_P)
    for i in ids:
        steps = ladder(resp.codebook.item(i))
        code = steps[np.maximum(len(steps) - 1 - top, 0)]
        col = resp.codes[i]
        col[rows] = np.where(col[rows] == SKIPPED, SKIPPED, code)


def random_answers(resp: Responses, rows: np.ndarray, rng: np.random.Generator, ids: list[str]) -> None:
    """Answer the grid at random (uniform over each row's substantive options)."""
    for i in ids:
        steps = ladder(resp.codebook.item(i))
        col = resp.codes[i]
        col[rows] = np.where(col[rows] == SKIPPED, SKIPPED, steps[rng.integers(0, len(steps), len(rows))])


def blank_cells(
    resp: Responses, rng: np.random.Generator, ids: list[str], share_rows: float
) -> list[tuple[int, str]]:
    """Leave 1–3 Likert cells empty in ``share_rows`` of the records; return (row, item)."""
    rows = np.flatnonzero(rng.random(resp.n) < share_rows)
    out: list[tuple[int, str]] = []
    if not ids:
        return out
    for r in rows:
        for i in rng.choice(ids, size=min(int(rng.integers(1, 4)), len(ids)), replace=False):
            if resp.codes[i][r] >= 0:
                resp.codes[i][r] = BLANK
                out.append((int(r), str(i)))
    return out


def malformed_cells(resp: Responses, rng: np.random.Generator, ids: list[str], count: int) -> list[dict]:
    """A few cells as people break them: option text with a typo or stray spaces, a duration ``abc``.

    Applied only when writing text mode (``overrides``). Returns what was done, by row.
    """
    cb = resp.codebook
    out: list[dict] = []
    kinds = ["typo", "spaces", "duration"]
    rows = rng.choice(resp.n, size=min(count, resp.n), replace=False)
    for k, r in enumerate(rows):
        kind = kinds[k % len(kinds)] if ids else "duration"
        if kind == "duration":
            resp.overrides[(int(r), "所用时间")] = "abc"
            out.append({"row": int(r), "column": "所用时间", "kind": kind, "value": "abc"})
            continue
        i = str(rng.choice(ids))
        code = int(resp.codes[i][r])
        if code not in cb.item(i).text_by_code:
            continue
        text = cb.item(i).text_by_code[code]
        value = (text[:-1] + "竟") if kind == "typo" else f" {text}  "
        resp.overrides[(int(r), i)] = value
        out.append({"row": int(r), "column": i, "kind": kind, "value": value})
    return out
