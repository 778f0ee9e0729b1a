"""From problem states to findings: which cells are problems, and which problems are common or individual.

:func:`findings_from` is pure and cheap (no model fitting): the recovery benchmark and the notebook call it
with another ``fdr`` to see how the findings move.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.config.findings import FindingsRules, finding_id
from pipeline.findings.states import States
from pipeline.findings.structure import Structure

COLUMNS = ["id", "kind", "item", "unit", "member", "posterior", "rule", "n_applicable", "n_affected",
           "share", "districts"]  # fmt: skip


def selected_cells(cells: pd.DataFrame, *, fdr: float, min_posterior: float) -> pd.DataFrame:
    """The cells reported as problem states: by decreasing posterior, as many as keep the mean local fdr of
    those taken at most ``fdr`` (Bayesian FDR control), each with posterior ≥ ``min_posterior``."""
    order = cells.sort_values(["lfdr", "unit", "item"], kind="stable")
    running = order["lfdr"].expanding().mean().to_numpy()
    n = int(np.max(np.nonzero(running <= fdr)[0]) + 1) if (running <= fdr).any() else 0
    taken = order.iloc[:n]
    return taken[taken["posterior"] >= min_posterior]


def findings_from(
    states: States, st: Structure, rules: FindingsRules | None = None, *, fdr: float | None = None
) -> pd.DataFrame:
    """One row per finding × affected unit (columns :data:`COLUMNS`), common problems first.

    A selected cell (:func:`selected_cells`) is a problem state. An item whose problem states cover
    ``common_share`` of its applicable units, or ``common_districts`` districts, or whose item-level mixture test
    reaches ``common_llr``, or whose city-wide excess is
    significant in ``city_sources`` evidence streams (with at least ``city_min_units`` affected units), is one
    common problem; every other problem state is an individual problem of its unit. ``fdr`` overrides
    ``rules.fdr``.

    A common problem lists every unit of the item at ``min_posterior`` (of the cell model, or of the item
    mixture at the item's share) and every unit whose mixture posterior exceeds the item's share — a likelihood
    ratio above 1, its evidence favouring the problem state. Why: once the item is known to carry a common
    problem, the question per unit is no longer whether it stands out among all cells but which way its own
    evidence points; a share estimated low (a common problem shown weakly in each unit) would otherwise leave
    half the affected units unlisted. The looser list does not make an item common: the rules above count the
    units at ``min_posterior`` only.
    """
    rules = rules or FindingsRules()
    fdr = rules.fdr if fdr is None else fdr
    cells = states.cells
    chosen = selected_cells(cells, fdr=fdr, min_posterior=rules.min_posterior)
    tests = states.items
    city = tests[(tests["p_bh"] < rules.city_alpha) & (tests["n_corroborating"] >= rules.city_sources)]
    n_sig = pd.Series(1, index=city["item"].tolist(), dtype=int)
    mixture = set(tests.loc[tests["llr"] >= rules.common_llr, "item"])
    # units counted toward a city/mixture common problem: the cell model's posterior, or the item mixture's at
    # the item's share; the units listed once it is common: those too, and those the evidence points to
    member_posterior = cells["posterior"]
    raised = pd.Series(False, index=cells.index)
    if "common_posterior" in cells.columns:
        common_posterior = cells["common_posterior"].fillna(0)
        member_posterior = np.maximum(member_posterior, common_posterior)
        if "share" in tests.columns:
            raised = common_posterior > cells["item"].map(tests.set_index("item")["share"]).fillna(1.0)
    likely = cells[member_posterior >= rules.min_posterior]
    listed = cells[(member_posterior >= rules.min_posterior) | raised]
    rows = []
    for item in sorted(set(chosen["item"]) | set(n_sig.index) | mixture, key=_item_key):
        sel = chosen[chosen["item"] == item]
        n_app = len(st.applicable_units(item))
        districts = sum(st.is_district(u) for u in sel["unit"])
        share = len(sel) / n_app if n_app else 0.0
        members = likely[likely["item"] == item]
        rule = ""
        if share >= rules.common_share:
            rule = "share"
        elif districts >= rules.common_districts:
            rule = "districts"
        elif item in mixture and len(members) >= rules.city_min_units:
            rule = "mixture"
        elif item in n_sig.index and len(members) >= rules.city_min_units:
            rule = "city"
        if rule:
            members = listed[listed["item"] == item]
            members = pd.concat([members, sel]).drop_duplicates(["unit"]).sort_values("unit")
            n_dist = sum(st.is_district(u) for u in members["unit"])
            for unit, post in zip(members["unit"], members["posterior"], strict=True):
                rows.append((finding_id("common", item), "common", item, "", unit, post, rule, n_app,
                             len(members), len(members) / n_app if n_app else 0.0, n_dist))  # fmt: skip
            continue
        own = sel[sel["posterior"] >= rules.individual_posterior]
        for unit, post in zip(own["unit"], own["posterior"], strict=True):
            rows.append((finding_id("individual", item, unit), "individual", item, unit, unit, post, "state",
                         n_app, 1, 1 / n_app if n_app else 0.0, int(st.is_district(unit))))  # fmt: skip
    if rules.veto_always_individual:
        rows.extend(_veto_rows(states, st, {(r[2], r[4]) for r in rows}))
    out = pd.DataFrame(rows, columns=COLUMNS)
    out["order"] = out["kind"].map({"common": 0, "individual": 1})
    return (
        out.sort_values(["order", "id", "member"], kind="stable").drop(columns="order").reset_index(drop=True)
    )


def _veto_rows(states: States, st: Structure, have: set[tuple[str, str]]) -> list[tuple]:
    ev = states.evidence
    vetoed = ev[(ev["stream"] == "veto") & (ev["k"] > 0)]
    post = states.cells.set_index(["unit", "item"])["posterior"]
    rows = []
    for unit, item in sorted(set(zip(vetoed["unit"], vetoed["item"], strict=True))):
        if (item, unit) in have:
            continue
        n_app = len(st.applicable_units(item))
        rows.append((finding_id("individual", item, unit), "individual", item, unit, unit,
                     float(post.get((unit, item), np.nan)), "veto", n_app, 1, 1 / n_app if n_app else 0.0,
                     int(st.is_district(unit))))  # fmt: skip
    return rows


def _item_key(item: str) -> tuple[int, ...]:
    return tuple(int(x) if x.isdigit() else 0 for x in item.split("."))
