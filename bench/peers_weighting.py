"""Speed of our raking and design-based domain means against peers (weightipy, pandas, R survey).

Run: ``.venv/bin/python -m bench.peers_weighting`` (or ``run()`` from Python). Each record:
``{"task", "n", "ours_s", "peer", "peer_s", "ratio"}`` with ``ratio = peer_s / ours_s`` (best of 3,
``time.perf_counter``). The R comparison runs only when ``Rscript`` is on the PATH.

Fairness of the raking comparison: weightipy 0.4 stops when the weights stop changing (``convcrit`` on the
change in the sum of absolute weight changes), not on the margins. We run weightipy first with a strict
``convcrit`` (1e-10) and 1000 iterations, measure the maximum relative margin error it reached, and run ours
with ``tol`` equal to that achieved error, so both deliver the same margin accuracy. Against R ``rake()`` the
tolerance is the error R reached, and both sides get pre-coded columns (R factors, pandas Categoricals); ours on
string columns is reported too. Domain means: R ``svyby`` factorizes its character ``by`` column on each call,
so ours builds a fresh design (and factorizes) inside each timed repetition.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import tempfile

import numpy as np
import pandas as pd

from bench.timing import best_of as _best_of
from pipeline import stats

DISTRICTS = [f"d{i:02d}" for i in range(1, 9)]
AGES = ["18-29", "30-39", "40-49", "50-59", "60-69", "70+"]


def simulate(n_rows: int, seed: int) -> tuple[pd.DataFrame, dict]:
    """A skewed sample (district, gender, age_group, scale_a) and population shares to rake it to."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "district": rng.choice(DISTRICTS, n_rows, p=np.r_[20, 16, 14, 12, 11, 10, 9, 8] / 100),
            "gender": rng.choice(["F", "M"], n_rows, p=[0.4, 0.6]),
            "age_group": rng.choice(AGES, n_rows, p=[0.3, 0.25, 0.2, 0.1, 0.1, 0.05]),
        }
    )
    frame["scale_a"] = rng.normal(65, 12, n_rows)
    shares = {
        "district": dict(zip(DISTRICTS, np.r_[12.5] * np.ones(8) / 100, strict=True)),
        "gender": {"F": 0.51, "M": 0.49},
        "age_group": dict(zip(AGES, [0.18, 0.19, 0.18, 0.17, 0.15, 0.13], strict=True)),
    }
    return frame, shares


def _max_rel_error(frame: pd.DataFrame, weights: np.ndarray, shares: dict) -> float:
    total = weights.sum()
    err = 0.0
    for col, spec in shares.items():
        got = pd.Series(weights).groupby(frame[col].to_numpy()).sum()
        for cat, s in spec.items():
            err = max(err, abs(got[cat] / total - s) / s)
    return err


def _weightipy_rake(frame: pd.DataFrame, shares: dict) -> np.ndarray:
    import weightipy as wp

    scheme = wp.scheme_from_dict(
        {c: {k: 100 * v for k, v in d.items()} for c, d in shares.items()},
        rim_params={"convcrit": 1e-10, "max_iterations": 1000},
    )
    with contextlib.redirect_stdout(io.StringIO()):
        return wp.weight(frame[list(shares)], scheme).to_numpy()


def _r_svyby(frame: pd.DataFrame, weights: np.ndarray) -> float | None:
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "d.csv")
        frame.assign(w=weights)[["district", "gender", "age_group", "scale_a", "w"]].to_csv(path, index=False)
        script = (
            "suppressPackageStartupMessages(library(survey)); d <- read.csv(commandArgs(TRUE)[1]);"
            "des <- svydesign(ids=~1, weights=~w, data=d);"
            "t <- c(); for (i in 1:3) { t0 <- proc.time()[['elapsed']];"
            "b <- svyby(~scale_a, ~district, des, svymean); t <- c(t, proc.time()[['elapsed']] - t0) };"
            "cat(min(t))"
        )
        out = subprocess.run(["Rscript", "-e", script, path], capture_output=True, text=True, check=True)
        return float(out.stdout.strip().splitlines()[-1])


def _r_rake(frame: pd.DataFrame, shares: dict) -> tuple[float, float] | None:
    """(best of 3 seconds of R ``survey::rake`` to the same margins, its max relative margin error)."""
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "d.csv")
        frame[list(shares)].to_csv(data, index=False)
        pops = []
        for col, spec in shares.items():
            pop = os.path.join(tmp, f"{col}.csv")
            pd.DataFrame({col: list(spec), "Freq": [v * len(frame) for v in spec.values()]}).to_csv(
                pop, index=False
            )
            pops.append(pop)
        script = (
            "suppressPackageStartupMessages(library(survey)); a <- commandArgs(TRUE);"
            "d <- read.csv(a[1], stringsAsFactors=TRUE); des <- svydesign(ids=~1, weights=~1, data=d);"
            "cols <- c('district','gender','age_group'); pops <- lapply(a[2:4], read.csv);"
            "f <- lapply(cols, function(x) as.formula(paste0('~', x))); t <- c();"
            "for (i in 1:3) { t0 <- proc.time()[['elapsed']];"
            "r <- rake(des, f, pops, control=list(maxit=1000, epsilon=1e-10, verbose=FALSE));"
            "t <- c(t, proc.time()[['elapsed']] - t0) }; w <- weights(r); e <- 0;"
            "for (j in 1:3) { got <- tapply(w, d[[cols[j]]], sum); p <- pops[[j]];"
            "e <- max(e, max(abs(got[as.character(p[[1]])] - p$Freq) / p$Freq)) };"
            "cat(min(t), e)"
        )
        out = subprocess.run(
            ["Rscript", "-e", script, data, *pops], capture_output=True, text=True, check=True
        )
        seconds, error = out.stdout.strip().splitlines()[-1].split()
        return float(seconds), float(error)


def run(n_rows: int = 1_000_000, seed: int = 0) -> list[dict]:
    """Time our raking and domain means against peers; returns one record per comparison."""
    frame, shares = simulate(n_rows, seed)
    records = []

    peer_s, wp_weights = _best_of(lambda: _weightipy_rake(frame, shares))
    achieved = _max_rel_error(frame, np.asarray(wp_weights), shares)
    tol = max(achieved, 1e-12)
    ours_s, r = _best_of(lambda: stats.rake(frame, shares, tol=tol, max_iter=1000))
    records.append(
        {
            "task": f"rake 3 margins (max rel margin error {tol:.1e})",
            "n": n_rows,
            "ours_s": ours_s,
            "peer": "weightipy 0.4",
            "peer_s": peer_s,
            "ratio": peer_s / ours_s,
        }
    )

    cat_frame = frame.astype({c: "category" for c in shares})
    r_rake = _r_rake(frame, shares)
    if r_rake is not None:
        # R reads the raking columns as factors (read.csv(stringsAsFactors = TRUE)), so both sides get
        # pre-coded columns: pandas Categorical for ours. The string-column figure is reported beside it.
        r_s, r_error = r_rake
        r_tol = max(r_error, 1e-12)
        for label, data in (("factor/categorical columns", cat_frame), ("ours on string columns", frame)):
            ours_r_s, _ = _best_of(lambda data=data: stats.rake(data, shares, tol=r_tol, max_iter=1000))
            records.append(
                {
                    "task": f"rake 3 margins vs R, {label} (max rel margin error {r_tol:.1e})",
                    "n": n_rows,
                    "ours_s": ours_r_s,
                    "peer": "R survey::rake",
                    "peer_s": r_s,
                    "ratio": r_s / ours_r_s,
                }
            )

    peer_s, _ = _best_of(lambda: _weightipy_rake(cat_frame, shares))
    ours_s, _ = _best_of(lambda: stats.rake(cat_frame, shares, tol=tol, max_iter=1000))
    records.append(
        {
            "task": f"rake 3 margins, categorical columns (max rel margin error {tol:.1e})",
            "n": n_rows,
            "ours_s": ours_s,
            "peer": "weightipy 0.4",
            "peer_s": peer_s,
            "ratio": peer_s / ours_s,
        }
    )

    if hasattr(stats, "SurveyDesign"):
        w = r.weights
        # a fresh design per repetition: the grouping column is factorized inside the timing, as svyby
        # turns its character column into a factor on every call
        ours_s, _ = _best_of(lambda: stats.SurveyDesign(frame, weights=w).mean("scale_a", by="district"))
        peer_s2, _ = _best_of(lambda: frame.groupby("district")["scale_a"].mean())
        records.append(
            {
                "task": "by-district weighted mean + linearization SE (no calibration)",
                "n": n_rows,
                "ours_s": ours_s,
                "peer": "pandas groupby mean (no SE)",
                "peer_s": peer_s2,
                "ratio": peer_s2 / ours_s,
            }
        )
        # calibration set-up (indicators, cells) is part of building the design, as R's calibrate() is
        design_cal = stats.SurveyDesign(frame, weights=w, calibrated_on=list(shares))
        ours_cal_s, _ = _best_of(lambda: design_cal.mean("scale_a", by="district"))
        records.append(
            {
                "task": "by-district mean + SE, raked design (calibration residuals)",
                "n": n_rows,
                "ours_s": ours_cal_s,
                "peer": "pandas groupby mean (no SE)",
                "peer_s": peer_s2,
                "ratio": peer_s2 / ours_cal_s,
            }
        )
        r_s = _r_svyby(frame, w.to_numpy())
        if r_s is not None:
            records.append(
                {
                    "task": "by-district weighted mean + linearization SE (no calibration)",
                    "n": n_rows,
                    "ours_s": ours_s,
                    "peer": "R survey::svyby(svymean)",
                    "peer_s": r_s,
                    "ratio": r_s / ours_s,
                }
            )
    return records


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
