"""A&E attendances: those that lead to admission, and the rest, by department type."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from joinedup.synth.config import SynthConfig
from joinedup.synth.geography import ACUTE_TRUSTS, AE_SITES
from joinedup.synth.population import People
from joinedup.synth.rates import (
    age_banded_events,
    last_year_exposure,
    risk_index,
    scaled_band_rates,
)
from joinedup.synth.timeline import UNPLANNED, Season, choose, ids

AE_RATE = 0.450  # attendances per person-year, all department types
TYPE1_SHARE = 0.63
AE_BY_BAND = np.array([450, 300, 380, 300, 320, 420, 650]) / 1000
NON_ADMITTED_DISPOSAL = ("02", "03", "04", "05", "06", "07", "11", "12", "13", "14")
NON_ADMITTED_SHARE = (30, 45, 2, 3, 5, 2, 3, 6, 2, 2)
# Arrival hour: quiet overnight, busiest from late morning to evening.
HOUR_WEIGHT = (2, 1.5, 1, 1, 1, 1, 1.5, 2.5, 4, 6, 7, 7, 7, 6.5, 6.5, 6.5, 6.5, 6.5, 6.5, 6,
               5.5, 5, 4, 3)  # fmt: skip
COST = {1: 270.0, 2: 270.0, 3: 90.0, 4: 90.0}


def attendances(
    config: SynthConfig,
    people: People,
    condition_count: np.ndarray,
    practice_effect: np.ndarray,
    window: tuple[int, int],
    admitted: dict[str, np.ndarray],
    local_trust: np.ndarray,
    person_ids: pa.Array,
) -> pa.Table:
    """The ae_attendance table.

    ``admitted`` holds the emergency spells admitted through A&E (person, day, provider);
    each gets a type 1 attendance that day with disposal "admitted". The other
    attendances are drawn per person so that all types together reach England's rate and
    type 1 its share.
    """
    rng = config.rng("ae")
    start, end = window
    a, b = people.exposure(start, end)
    weight = last_year_exposure(a, b, end)
    age = people.age_at(a)
    n_admitted = len(admitted["who"])
    admitted_last_year = int((admitted["day"] > end - 365).sum())
    other_rate = max(AE_RATE - admitted_last_year / max(weight.sum(), 1e-9), 0.05)
    index = risk_index(people, condition_count, 0.5, 0.10, 0.06) * np.sqrt(practice_effect)
    band_rate = scaled_band_rates(AE_BY_BAND, index, age, weight, other_rate)
    season = Season(start, end, UNPLANNED)
    who, days = age_banded_events(rng, season, people, a, b, band_rate, index)
    others_last_year = max(int((days > end - 365).sum()), 1)
    type1_other = (TYPE1_SHARE * AE_RATE * weight.sum() - admitted_last_year) / others_last_year
    p1 = float(np.clip(type1_other, 0.05, 0.95))
    rest = 1 - p1  # the others: mostly urgent treatment centres (type 3)
    dept = np.array([1, 2, 3, 4])[choose(rng, len(who), (p1, 0.05 * rest, 0.85 * rest, 0.1 * rest))]

    all_who = np.concatenate([admitted["who"], who])
    all_day = np.concatenate([admitted["day"], days]).astype(np.int64)
    all_dept = np.concatenate([np.ones(n_admitted, int), dept])
    trust = np.concatenate([admitted["provider"], local_trust[who]])
    is_admitted = np.arange(len(all_who)) < n_admitted
    n = len(all_who)

    hour = choose(rng, n, HOUR_WEIGHT)
    arrived = (all_day * 86_400 + hour * 3_600 + rng.integers(0, 3_600, n)).astype(np.int64)
    median = np.where(is_admitted, 330, np.where(all_dept <= 2, 200, 85))
    minutes = np.clip(np.round(rng.lognormal(np.log(median), 0.55)), 5, 24 * 60)
    departed = arrived + minutes.astype(np.int64) * 60
    ambulance = rng.random(n) < np.where(is_admitted, 0.55, np.where(all_dept <= 2, 0.18, 0.02))
    disposal = np.array(NON_ADMITTED_DISPOSAL)[choose(rng, n, NON_ADMITTED_SHARE)]
    disposal = np.where(is_admitted, "01", disposal)
    site = np.where(all_dept <= 2, np.array([AE_SITES[t][0] for t in ACUTE_TRUSTS])[trust],
                    np.array([AE_SITES[t][1] for t in ACUTE_TRUSTS])[trust])  # fmt: skip
    order = np.lexsort((all_who, arrived))
    return pa.table(
        {
            "attendance_id": ids("AE", n, 10),
            "person_id": person_ids.take(pa.array(all_who[order])),
            "provider_code": np.array(ACUTE_TRUSTS)[trust][order],
            "site_code": site[order],
            "arrived_at": pa.array(arrived[order] * 1_000_000, pa.timestamp("us")),
            "departed_at": pa.array(departed[order] * 1_000_000, pa.timestamp("us")),
            "department_type": pa.array(all_dept[order], pa.int16()),
            "arrival_mode": np.where(ambulance, "1", "2")[order],
            "disposal": disposal[order],
            "cost": np.array([COST[d] for d in (1, 2, 3, 4)])[all_dept[order] - 1],
        }
    )
