"""The knowledge quiz (``quiz:`` of a questionnaire): percent correct per question and the score distribution.

``kind = "item"`` rows: the weighted percent of respondents choosing the key (``<item>_correct`` of 02_clean:
1 for the key, 0 for another option or no answer, as ``quiz_score`` counts them), with a ``svyciprop``
interval, overall and per unit type. ``kind = "score"`` rows: the weighted distribution of ``quiz_score``
(0–100 in steps of 100 / number of questions) over the respondents who answered at least one question.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline import stats
from pipeline.describe.common import Described, by_series, group_flags
from pipeline.schemas import column_names

QUIZ_BYS = ("unit_type",)


def quiz_table(described: Described) -> pd.DataFrame:
    """``quiz.parquet`` rows of one questionnaire (none without a quiz)."""
    d = described
    quiz = d.codebook.questionnaire.quiz
    if not quiz or "quiz_score" not in d.frame.columns:
        return pd.DataFrame(columns=column_names("describe", "quiz"))
    parts = []
    bys = [None, *(b for b in QUIZ_BYS if b in d.frame.columns)]
    for by in bys:
        labels = by_series(d.frame, by)
        for q in quiz:
            col = f"{q.item}_correct"
            if col not in d.frame.columns:
                continue
            item = d.codebook.item(q.item)
            p = stats.category_proportions(d.design, d.frame[col].astype("Float64"), [0, 1], by=labels,
                                           method=d.method, confidence_level=d.confidence_level)  # fmt: skip
            p = p[p["level"] == 1]
            parts.append(pd.DataFrame({"kind": "item", "item": q.item, "question": item.text, "key": q.key,
                                       "key_label": item.text_by_code.get(q.key, ""), "by": by or "",
                                       "group": p[labels.name].astype(str).to_numpy(), "score": np.nan,
                                       "n": p["n"].to_numpy(), "percent": 100 * p["estimate"].to_numpy(),
                                       "se": 100 * p["se"].to_numpy(), "ci_low": 100 * p["ci_low"].to_numpy(),
                                       "ci_high": 100 * p["ci_high"].to_numpy(), "n_valid": p["n_valid"].to_numpy(),
                                       "n_eff": p["n_eff"].to_numpy()}))  # fmt: skip
    score = d.frame["quiz_score"].astype(float)
    steps = [100.0 * i / len(quiz) for i in range(len(quiz) + 1)]
    labels = by_series(d.frame, None)
    p = stats.category_proportions(d.design, score.round(9), [round(s, 9) for s in steps], by=labels,
                                   method=d.method, confidence_level=d.confidence_level)  # fmt: skip
    parts.append(pd.DataFrame({"kind": "score", "item": "quiz_score", "question": "知识测试得分", "key": -1,
                               "key_label": "", "by": "", "group": "", "score": p["level"].to_numpy(),
                               "n": p["n"].to_numpy(), "percent": 100 * p["estimate"].to_numpy(),
                               "se": 100 * p["se"].to_numpy(), "ci_low": 100 * p["ci_low"].to_numpy(),
                               "ci_high": 100 * p["ci_high"].to_numpy(), "n_valid": p["n_valid"].to_numpy(),
                               "n_eff": p["n_eff"].to_numpy()}))  # fmt: skip
    out = group_flags(pd.concat(parts, ignore_index=True), d.rule)
    out["instrument"], out["weighted"] = d.instrument, d.weighted
    return out[column_names("describe", "quiz")]
