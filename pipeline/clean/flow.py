"""The response flow table (raw → valid) of one instrument, from a :class:`~pipeline.clean.rules.Screening`.

Columns: ``instrument, step, rule, reason, action, n_before, n_excluded, n_flagged, n_after`` — step 0 is
``raw`` (all records), then one row per rule of :data:`~pipeline.config.cleaning.RULE_ORDER` that is not
``off``, in order, and a last row ``valid``. ``n_excluded`` counts the records excluded under that rule (its
first catching rule); ``n_flagged`` the kept-or-not records a ``flag`` rule marks. The docs/DATA_CONTRACT.md
columns come first; ``reason``, ``action`` and ``n_flagged`` are additions.
"""

from __future__ import annotations

import pandas as pd

from pipeline.clean.rules import REASONS, Screening


def flow_table(screening: Screening, instrument: str) -> pd.DataFrame:
    n = len(screening.excluded_by)
    rows = [
        dict(
            step=0, rule="raw", reason="原始记录", action="", n_before=n, n_excluded=0, n_flagged=0, n_after=n
        )
    ]
    left = n
    for res in screening.results:
        action = screening.actions[res.rule]
        n_ex = int((screening.excluded_by == res.rule).sum()) if action == "exclude" else 0
        n_flag = int(res.hit.sum()) if action == "flag" else 0
        rows.append(
            dict(
                step=len(rows),
                rule=res.rule,
                reason=REASONS[res.rule],
                action=action,
                n_before=left,
                n_excluded=n_ex,
                n_flagged=n_flag,
                n_after=left - n_ex,
            )
        )
        left -= n_ex
    rows.append(
        dict(
            step=len(rows),
            rule="valid",
            reason="有效样本",
            action="",
            n_before=left,
            n_excluded=0,
            n_flagged=0,
            n_after=left,
        )
    )
    out = pd.DataFrame(rows)
    out.insert(0, "instrument", instrument)
    return out
