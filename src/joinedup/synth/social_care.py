"""Adult social care: long-term packages (home care, care homes...) and reablement."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from joinedup.synth.config import SynthConfig
from joinedup.synth.population import NO_END, People
from joinedup.synth.timeline import DAYS_PER_YEAR, dates, day

# Share of people aged 65+ with long-term support during a year (ASCOF / SALT).
TARGET_65PLUS_SHARE = 0.05
LONG_TERM_TYPES = ("home_care", "residential_care", "nursing_care", "direct_payment", "day_care")
TYPE_SHARE_65 = np.array([0.55, 0.20, 0.12, 0.08, 0.05])
TYPE_SHARE_18_64 = np.array([0.30, 0.12, 0.05, 0.38, 0.15])
WEEKLY_COST = {"home_care": (11 * 28, 0.5), "residential_care": (950, 0.12),
               "nursing_care": (1150, 0.12), "direct_payment": (330, 0.5),
               "day_care": (150, 0.3), "reablement": (420, 0.2)}  # fmt: skip


def long_term_packages(
    config: SynthConfig, people: People, has: np.ndarray, names: tuple[str, ...]
) -> dict[str, np.ndarray]:
    """One long-term package per person who needs one: who, type, start, end.

    Need rises steeply with age, frailty and dementia (and learning disability for
    working-age adults). The chance is scaled so that 5% of people aged 65 and over
    receive long-term support in the latest year.
    """
    rng = config.rng("social-care")
    start, end = day(config.start), day(config.end)
    a, b = people.exposure(start, end)
    age = people.age_at(a).astype(float)
    dementia = has[:, names.index("dementia")]
    ld = has[:, names.index("learning_disability")]
    need = np.where(age < 18, 0.0, np.exp(0.09 * (age - 65))) * people.frailty**0.7
    need *= np.where(dementia, 4.0, 1.0) * np.where(ld & (age < 65), 25.0, 1.0)
    u = rng.random(len(people))
    prior = rng.random(len(people)) < 0.55
    before = a - rng.exponential(2.0, len(people)) * DAYS_PER_YEAR
    during = a + rng.random(len(people)) * np.maximum(b - a, 0)
    begin = np.where(prior, before, during).astype(np.int64)
    begin = np.maximum(begin, people.dob + 18 * 365)
    stop = begin + rng.exponential(3.0, len(people)) * DAYS_PER_YEAR
    stop = np.minimum(stop, people.death.astype(np.int64))
    # The latest financial year: who is 65+ and registered at its midpoint.
    last_start, mid = end - 364, end - 182
    in_year = (begin <= end) & (stop >= last_start)
    older = (people.age_at(mid) >= 65) & (people.registered_from <= mid)
    older &= (people.registered_to > mid) & (people.death > mid)
    older_in_year = older & in_year
    # Scale the need so that the share of older people supported hits the target.
    lo, hi = 0.0, 1.0
    for _ in range(40):
        k = (lo + hi) / 2
        share = (u[older_in_year] < need[older_in_year] * k).sum() / max(older.sum(), 1)
        lo, hi = (k, hi) if share < TARGET_65PLUS_SHARE else (lo, k)
    gets = (u < need * lo) & (begin < b) & (stop >= begin) & (age >= 18)
    who = np.flatnonzero(gets)
    shares = np.where((age[who] >= 65)[:, None], TYPE_SHARE_65, TYPE_SHARE_18_64)
    cum = np.cumsum(shares, axis=1)
    kind = (rng.random(len(who))[:, None] > cum).sum(axis=1)
    kind = np.minimum(kind, len(LONG_TERM_TYPES) - 1)
    return {
        "who": who,
        "type": np.array(LONG_TERM_TYPES)[kind],
        "start": begin[who].astype(np.int32),
        "end": np.where(stop[who] > end, NO_END, stop[who]).astype(np.int32),
    }


def care_home_residents(packages: dict[str, np.ndarray], n: int) -> np.ndarray:
    """People living in a care home (a residential or nursing package)."""
    out = np.zeros(n, bool)
    in_home = np.isin(packages["type"], ("residential_care", "nursing_care"))
    out[packages["who"][in_home]] = True
    return out


def reablement(
    config: SynthConfig, who: np.ndarray, discharged: np.ndarray, age: np.ndarray,
    exposure_end: np.ndarray,
) -> dict[str, np.ndarray]:  # fmt: skip
    """Six weeks of reablement after some older people's emergency discharges."""
    rng = config.rng("reablement")
    pick = (age >= 75) & (rng.random(len(who)) < 0.08) & (discharged + 1 < exposure_end)
    begin = discharged[pick] + 1
    stop = np.minimum(begin + 42, exposure_end[pick] - 1)
    return {"who": who[pick], "type": np.full(pick.sum(), "reablement"),
            "start": begin.astype(np.int32), "end": stop.astype(np.int32)}  # fmt: skip


def social_care_table(
    config: SynthConfig, parts: list[dict[str, np.ndarray]], person_ids: pa.Array
) -> pa.Table:
    """The social_care_service table from all packages."""
    rng = config.rng("social-care-cost")
    end = day(config.end)
    who = np.concatenate([p["who"] for p in parts])
    kind = np.concatenate([p["type"] for p in parts])
    begin = np.concatenate([p["start"] for p in parts])
    stop = np.concatenate([p["end"] for p in parts])
    cost = np.zeros(len(who))
    for name, (mean, cv) in WEEKLY_COST.items():
        rows = kind == name
        cost[rows] = mean * rng.lognormal(-(cv**2) / 2, cv, rows.sum())
    return pa.table(
        {
            "person_id": person_ids.take(pa.array(who)),
            "service_type": kind,
            "started_on": dates(begin),
            "ended_on": dates(np.minimum(stop, end), missing=(stop == NO_END) | (stop > end)),
            "weekly_cost": np.round(cost, 2),
        }
    )
