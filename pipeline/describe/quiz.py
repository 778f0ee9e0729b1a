"""The knowledge quiz (``quiz:`` of a questionnaire): percent correct per question and the score distribution.

``kind = "item"`` rows: the weighted percent of respondents choosing the key (``<item>_correct`` of 02_clean:
1 for the key, 0 for another option or no answer, as ``quiz_score`` counts them), with a ``svyciprop``
interval, overall, per unit type and per unit (groups in category order; a group below the small-cell rule
is suppressed). ``kind = "score"`` rows: the weighted distribution of ``quiz_score``
(0–100 in steps of 100 / number of questions) over the respondents who answered at least one question.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.describe.common import Described, domains, group_flags, shares, slots_of, sums_of
from pipeline.schemas import column_names

QUIZ_BYS = ("unit_type", "unit")
"""Domains of the per-question rows besides the whole sample, where the frame has the column (a unit below the
small-cell rule is suppressed)."""


def _columns(p: dict, g: int, level: int) -> dict:
    return {"n": int(p["n"][g, level]), "percent": 100 * p["estimate"][g, level], "se": 100 * p["se"][g, level],
            "ci_low": 100 * p["ci_low"][g, level], "ci_high": 100 * p["ci_high"][g, level],
            "n_valid": int(p["n_valid"][g]), "n_eff": p["n_eff"][g]}  # fmt: skip


def quiz_table(described: Described) -> pd.DataFrame:
    """``quiz.parquet`` rows of one questionnaire (none without a quiz)."""
    d = described
    quiz = d.codebook.questionnaire.quiz
    if not quiz or "quiz_score" not in d.frame.columns:
        return pd.DataFrame(columns=column_names("describe", "quiz"))
    rows = []
    bys = [None, *(b for b in QUIZ_BYS if b in d.frame.columns)]
    for by in bys:
        dom = domains(d, by)
        for q in quiz:
            col = f"{q.item}_correct"
            if col not in d.frame.columns:
                continue
            item = d.codebook.item(q.item)
            key = ("quiz", col)
            if ("slots", key) not in d.cache:
                d.cache[("slots", key)] = slots_of(d.frame[col].astype("Float64"), [0, 1])
            p = shares(d, dom, sums_of(d, dom, d.cache[("slots", key)], key=key))
            for g, label in enumerate(dom.labels):
                rows.append({"kind": "item", "item": q.item, "question": item.text, "key": q.key,
                             "key_label": item.text_by_code.get(q.key, ""), "by": dom.by, "group": label,
                             "score": np.nan, **_columns(p, g, 1)})  # fmt: skip
    score = d.frame["quiz_score"].astype(float)
    steps = [100.0 * i / len(quiz) for i in range(len(quiz) + 1)]
    dom = domains(d, None)
    p = shares(d, dom, sums_of(d, dom, slots_of(score.round(9), [round(s, 9) for s in steps])))
    for j, step in enumerate(steps):
        rows.append({"kind": "score", "item": "quiz_score", "question": "知识测试得分", "key": -1, "key_label": "",
                     "by": "", "group": "", "score": float(round(step, 9)), **_columns(p, 0, j)})  # fmt: skip
    out = group_flags(pd.DataFrame(rows), d.rule)
    out.loc[out["flag"].eq("suppressed") & out["by"].ne(""), "n"] = np.nan
    out["instrument"], out["weighted"] = d.instrument, d.weighted
    out["n"] = out["n"].astype("Int64")
    return out[column_names("describe", "quiz")]
