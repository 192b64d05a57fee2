"""Synthetic control for one unit of a place-based programme, with placebo-in-space
inference (Abadie, Diamond and Hainmueller 2010; Abadie 2021).

When one area starts a programme and the question is about that area alone, the
comparison is a weighted blend of areas that never started (the *donors*): weights that
are non-negative and sum to one, chosen so that the blend's monthly admission rate
follows the area's own as closely as possible (least squares) before the start. The
series are de-meaned first (each less its own mean before the start; Ferman and Pinto
2021), so the blend tracks the area's movements rather than its level: a practice whose
rate is lower than every donor's (common: the donors are few) cannot be matched in
level by a blend of them. After
the start the blend is what the area would have had without the programme; the effect
is the area's admissions over those at the blend's rate (a rate ratio).

**Inference by placebos in space.** The same method is applied to each donor in turn, as
if it had started on the same date, with the other donors as its pool. The area's ratio
of root mean squared prediction error after the start to before it is ranked among the
donors' ratios: the p-value is (1 + the number of donors whose ratio is at least the
area's) / (1 + the number of donors). With few donors the smallest possible p-value is
large (eight donors: 1/9 = 0.11); it is reported as it is.

It assumes the blend would have gone on tracking the area had the programme not
started (which a close fit over a long pre-period makes more credible, and a short or
poor one less), and that the donors were untouched by the programme.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.optimize import minimize

MIN_PRE_MONTHS = 6


def weights(treated: np.ndarray, donors: np.ndarray) -> np.ndarray:
    """Non-negative weights summing to 1 that minimise the squared distance between
    ``treated`` (length T) and ``donors @ w`` (``donors`` T x J)."""
    j = donors.shape[1]
    if j == 1:
        return np.ones(1)
    # Scaled so the solver's tolerances mean the same whatever the units of the rates.
    scale = float(np.abs(treated).max()) or 1.0
    treated, donors = treated / scale, donors / scale

    def loss(w: np.ndarray) -> float:
        r = treated - donors @ w
        return float(r @ r)

    def grad(w: np.ndarray) -> np.ndarray:
        return -2.0 * donors.T @ (treated - donors @ w)

    fit = minimize(
        loss,
        np.full(j, 1.0 / j),
        jac=grad,
        method="SLSQP",
        bounds=[(0.0, 1.0)] * j,
        constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1.0, "jac": lambda w: np.ones(j)}],
        options={"ftol": 1e-12, "maxiter": 500},
    )
    w = np.clip(fit.x, 0.0, None)
    return w / w.sum()


def _fit(rates: pd.DataFrame, unit: str, donors: list[str], start: pd.Timestamp) -> dict:
    pre = rates.index < start
    y = rates[unit].to_numpy()
    x = rates[donors].to_numpy()
    # De-meaned: each series less its own pre-start mean, so a unit whose level lies
    # outside the donors' (a practice with fewer admissions than any other) can still
    # be tracked; the blend follows its month-to-month movement (Ferman and Pinto 2021).
    y_mean, x_mean = y[pre].mean(), x[pre].mean(axis=0)
    w = weights(y[pre] - y_mean, x[pre] - x_mean)
    synth = y_mean + (x - x_mean) @ w
    gap = y - synth
    pre_rmspe = float(np.sqrt(np.mean(gap[pre] ** 2)))
    post_rmspe = float(np.sqrt(np.mean(gap[~pre] ** 2)))
    return {"weights": w, "synthetic": synth, "pre_rmspe": pre_rmspe, "post_rmspe": post_rmspe}


def synthetic_control(panel: pd.DataFrame, units: pd.DataFrame, unit: str | None = None) -> dict:
    """The synthetic control of ``unit`` (default: every unit that starts on the first
    start date, pooled into one area: one practice's monthly rate is noisy) from the
    never-started units of ``panel`` (the area panel of
    :func:`joinedup.risk.place.area_panel`: ``unit``, ``month``, ``admissions``,
    ``person_years``; ``units`` the rollout's ``unit`` and ``started_on``). Returns a
    JSON-ready dict; ValueError when there are too few donors or pre-start months."""
    months = sorted(panel.month.unique())
    start_of = dict(zip(units.unit, pd.to_datetime(units.started_on), strict=True))
    present = set(panel.unit)
    last = pd.Timestamp(months[-1])
    donors = sorted(u for u in present if u not in start_of or start_of[u] > last)
    pooled: list[str] = []
    if unit is None:
        started = [(s, u) for u, s in start_of.items() if u in present and s <= last]
        if not started:
            raise ValueError("no unit starts within the data")
        first = min(s for s, _ in started)
        pooled = sorted(u for s, u in started if s == first)
        unit = f"the {len(pooled)} units starting {first.date().isoformat()}"
        merged = (
            panel[panel.unit.isin(pooled)]
            .groupby("month", as_index=False)[["admissions", "person_years"]]
            .sum()
        )
        panel = pd.concat([panel, merged.assign(unit=unit)], ignore_index=True)
        start_of[unit] = first
        present.add(unit)
    if unit not in present:
        raise ValueError(f"unit {unit!r} has no registered people in the data")
    if unit not in start_of:
        raise ValueError(f"unit {unit!r} is not in the programme's rollout")
    start = pd.Timestamp(start_of[unit]).to_period("M").to_timestamp()
    pre_months = sum(1 for m in months if m < start)
    if pre_months < MIN_PRE_MONTHS or start > last:
        raise ValueError(
            f"unit {unit!r}: {pre_months} months before its start; at least "
            f"{MIN_PRE_MONTHS} are needed, and a month after it"
        )
    if len(donors) < 2:
        raise ValueError(f"{len(donors)} never-started units: a synthetic control needs 2+")
    wide = panel.pivot_table(index="month", columns="unit", values=["admissions", "person_years"],
                             aggfunc="sum", fill_value=0.0)  # fmt: skip
    py = wide["person_years"][[unit, *donors]]
    adm = wide["admissions"][[unit, *donors]]
    rates = (adm / py.where(py > 0)).fillna(0.0) * 1000.0
    main = _fit(rates, unit, donors, start)
    post = rates.index >= start
    exposure = py[unit].to_numpy()
    expected = float((main["synthetic"][post] / 1000.0 * exposure[post]).sum())
    observed = float(adm[unit].to_numpy()[post].sum())
    ratio = main["post_rmspe"] / main["pre_rmspe"] if main["pre_rmspe"] > 0 else math.inf
    placebos = []
    for d in donors:
        others = [o for o in donors if o != d]
        f = _fit(rates, d, others, start)
        placebos.append(
            {
                "unit": d,
                "pre_rmspe": round(f["pre_rmspe"], 4),
                "rmspe_ratio": round(f["post_rmspe"] / f["pre_rmspe"], 4)
                if f["pre_rmspe"] > 0
                else None,
            }
        )
    ratios = [p["rmspe_ratio"] for p in placebos if p["rmspe_ratio"] is not None]
    p_value = (1 + sum(r >= ratio for r in ratios)) / (1 + len(ratios))
    order = np.argsort(-main["weights"])
    return {
        "unit": unit,
        "pooled_units": pooled,
        "started_on": pd.Timestamp(start_of[unit]).date().isoformat(),
        "rate_ratio": round(observed / expected, 6) if expected > 0 else None,
        "admissions": int(observed),
        "expected_without_programme": round(expected, 1),
        "pre_months": pre_months,
        "post_months": int(post.sum()),
        "pre_rmspe": round(main["pre_rmspe"], 4),
        "post_rmspe": round(main["post_rmspe"], 4),
        "rmspe_ratio": round(ratio, 4),
        "p_value": round(p_value, 4),
        "smallest_possible_p_value": round(1 / (1 + len(ratios)), 4),
        "donors": [
            {"unit": donors[i], "weight": round(float(main["weights"][i]), 4)}
            for i in order
            if main["weights"][i] >= 0.001
        ],
        "placebos": placebos,
        "series": [
            {
                "month": pd.Timestamp(m).date().isoformat(),
                "actual": round(float(rates[unit].iloc[i]), 3),
                "synthetic": round(float(main["synthetic"][i]), 3),
            }
            for i, m in enumerate(rates.index)
        ],
        "units": "emergency admissions per 1,000 person-years, by month",
        "method": "synthetic control (Abadie, Diamond and Hainmueller 2010), de-meaned "
        "(Ferman and Pinto 2021): weights non-negative and summing to one fitted to the "
        "monthly rate before the start, each series less its pre-start mean; "
        "p-value from placebos in space (each never-started unit in turn), ranked on the "
        "ratio of post- to pre-start RMSPE",
    }
