"""A hand-made baseline (no warehouse) for arithmetic tests."""

from __future__ import annotations

from datetime import date

import pandas as pd

from joinedup.scenarios.baseline import Baseline, CohortProfile, FinancialYear


def hand_baseline(
    rows: dict[str, tuple[float, float, float]],
    people: float = 1000.0,
    cohort: dict[str, tuple[float, float, float]] | None = None,
    cohort_people: float = 100.0,
    name: str = "iv",
) -> Baseline:
    """One cell (65-74, F) with ``rows``: setting -> (count, bed_days, cost)."""
    dims = {
        "age_band": "65-74",
        "sex": "F",
        "segment": "complex",
        "risk_tier": "low",
        "footprint_code": "X",
    }
    pop = pd.DataFrame([{**dims, "people": people}])
    act = pd.DataFrame(
        [
            {**dims, "setting": s, "count": c, "bed_days": b, "cost": k}
            for s, (c, b, k) in rows.items()
        ]
    )
    cohorts = {}
    if cohort is not None:
        cp = pd.DataFrame([{"age_band": "65-74", "sex": "F", "people": cohort_people}])
        ca = pd.DataFrame(
            [
                {
                    "age_band": "65-74",
                    "sex": "F",
                    "setting": s,
                    "count": c,
                    "bed_days": b,
                    "cost": k,
                }
                for s, (c, b, k) in cohort.items()
            ]
        )
        cohorts[name] = CohortProfile(cp, ca)
    return Baseline(FinancialYear(date(2025, 4, 1)), pop, act, source="hand", cohorts=cohorts)
