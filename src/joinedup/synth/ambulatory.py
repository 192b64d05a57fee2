"""Outpatient appointments, GP appointments and community health service contacts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from joinedup.synth.config import SynthConfig
from joinedup.synth.geography import ACUTE_TRUSTS
from joinedup.synth.population import People
from joinedup.synth.rates import (
    age_banded_events,
    last_year_exposure,
    risk_index,
    scaled_band_rates,
)
from joinedup.synth.timeline import FLAT, PLANNED, Season, choose, dates, ids, labels

OP_RATE, OP_FIRST_SHARE = 2.2, 0.32
OP_BY_BAND = np.array([1.2, 0.9, 1.5, 2.5, 3.8, 4.5, 4.2])
OP_ATTENDANCE = ("5", "6", "3", "7")
OP_SPECIALTY = (("130", 12), ("110", 12), ("320", 8), ("100", 8), ("301", 6), ("330", 6),
                ("120", 6), ("502", 5), ("370", 6), ("340", 5), ("302", 4), ("410", 4),
                ("400", 4), ("101", 5), ("361", 3), ("420", 6))  # fmt: skip
OP_COST = {True: 220.0, False: 130.0}

GP_RATE = 5.5
GP_BY_BAND = np.array([6.0, 2.8, 4.2, 5.5, 7.5, 9.5, 11.0])
GP_MODES = ("face_to_face", "telephone", "video", "home_visit", "online")
GP_MODE_SHARE = (65, 27, 1, 1, 6)
GP_ROLES = ("gp", "nurse", "other_direct_care")
GP_ROLE_SHARE = (45, 25, 30)

COMMUNITY_BY_BAND = np.array([0.3, 0.15, 0.2, 0.5, 1.5, 4.0, 10.0])
COMMUNITY_OLDER = (("district_nursing", 50), ("community_matron", 10), ("intermediate_care", 10),
                   ("therapy", 15), ("specialist_nursing", 15))  # fmt: skip
COMMUNITY_YOUNGER = (("therapy", 40), ("specialist_nursing", 30), ("community_mental_health", 30))
COMMUNITY_COST = {"district_nursing": 55.0, "community_matron": 70.0, "intermediate_care": 60.0,
                  "therapy": 60.0, "specialist_nursing": 65.0, "community_mental_health": 90.0,
                  "palliative_care": 75.0}  # fmt: skip


def _window(people: People, window: tuple[int, int]):
    a, b = people.exposure(*window)
    return a, b, last_year_exposure(a, b, window[1]), people.age_at(a)


def outpatients(config: SynthConfig, people: People, condition_count: np.ndarray,
                window: tuple[int, int], local_trust: np.ndarray,
                person_ids: pa.Array) -> pa.Table:  # fmt: skip
    """The op_appointment table: first and follow-up appointments, some not attended."""
    rng = config.rng("outpatients")
    a, b, years, age = _window(people, window)
    index = risk_index(people, condition_count, 0.4, 0.15, 0.0)
    band_rate = scaled_band_rates(OP_BY_BAND, index, age, years, OP_RATE)
    who, days = age_banded_events(rng, Season(*window, PLANNED), people, a, b, band_rate, index)
    n = len(who)
    first = rng.random(n) < OP_FIRST_SHARE
    # Younger people and those in deprived areas miss more appointments.
    p_dna = 0.07 * np.exp(0.08 * (5.5 - people.decile[who]) + np.where(age[who] < 30, 0.3, -0.1))
    dna = rng.random(n) < p_dna
    attended = np.where(dna, np.where(rng.random(n) < 0.9, "3", "7"),
                        np.where(rng.random(n) < 0.97, "5", "6"))  # fmt: skip
    specialty = np.array([s[0] for s in OP_SPECIALTY])[choose(rng, n, [s[1] for s in OP_SPECIALTY])]
    specialty = np.where(age[who] < 16, "420", specialty)
    trust = np.where(rng.random(n) < 0.12, 1 - local_trust[who], local_trust[who])
    medium = np.array(["face_to_face", "telephone", "video"])[choose(rng, n, (82, 15, 3))]
    cost = np.where(dna, 0.0, np.where(first, OP_COST[True], OP_COST[False]))
    return pa.table(
        {
            "appointment_id": ids("OP", n, 11),
            "person_id": person_ids.take(pa.array(who)),
            "provider_code": np.array(ACUTE_TRUSTS)[trust],
            "date": dates(days),
            "specialty": specialty,
            "first_attendance": first,
            "attended": attended,
            "medium": medium,
            "cost": cost,
        }
    )


def gp_appointments(config: SynthConfig, people: People, condition_count: np.ndarray,
                    window: tuple[int, int], practice_codes: list[str],
                    person_ids: pa.Array) -> pa.Table:  # fmt: skip
    """The gp_appointment table: women of working age and people with conditions go more."""
    rng = config.rng("gp")
    a, b, years, age = _window(people, window)
    sex_factor = np.where(~people.male & (age >= 18) & (age < 65), 1.35, 1.0)
    index = risk_index(people, condition_count, 0.5, 0.12, 0.03) * sex_factor
    band_rate = scaled_band_rates(GP_BY_BAND, index, age, years, GP_RATE)
    who, days = age_banded_events(rng, Season(*window, FLAT), people, a, b, band_rate, index)
    n = len(who)
    mode = choose(rng, n, GP_MODE_SHARE)
    mode = np.where((age[who] >= 80) & (rng.random(n) < 0.08), GP_MODES.index("home_visit"), mode)
    return pa.table(
        {
            "person_id": person_ids.take(pa.array(who)),
            "practice_code": labels(practice_codes, people.practice[who]),
            "date": dates(days),
            "mode": labels(GP_MODES, mode),
            "staff_role": labels(GP_ROLES, choose(rng, n, GP_ROLE_SHARE)),
        }
    )


def community_contacts(config: SynthConfig, people: People, condition_count: np.ndarray,
                       has_smi: np.ndarray, window: tuple[int, int],
                       footprint_codes: list[str], person_ids: pa.Array) -> pa.Table:  # fmt: skip
    """The community_contact table, concentrated in frail older people, plus palliative care."""
    rng = config.rng("community")
    a, b, years, age = _window(people, window)
    index = risk_index(people, condition_count, 1.2, 0.2, 0.03)
    index *= np.where(has_smi & (age < 65), 4.0, 1.0)
    index = index / np.average(index, weights=years + 1e-9)
    who, days = age_banded_events(rng, Season(*window, FLAT), people, a, b, COMMUNITY_BY_BAND,
                                  index)  # fmt: skip
    n = len(who)
    older = age[who] >= 65
    svc_old = np.array([s[0] for s in COMMUNITY_OLDER])[
        choose(rng, n, [s[1] for s in COMMUNITY_OLDER])
    ]
    svc_young = np.array([s[0] for s in COMMUNITY_YOUNGER])[
        choose(rng, n, [s[1] for s in COMMUNITY_YOUNGER])]  # fmt: skip
    service = np.where(older, svc_old, svc_young)
    # Palliative care in the last three months of life for most who die.
    dying = np.flatnonzero((people.death <= window[1]) & (rng.random(len(people)) < 0.6))
    n_pall = rng.poisson(5, len(dying))
    p_who = np.repeat(dying, n_pall)
    lo = np.maximum(people.death[p_who] - 90, a[p_who])
    p_day = lo + np.floor(rng.random(len(p_who)) * np.maximum(b[p_who] - lo, 0))
    ok = p_day < b[p_who]
    who = np.concatenate([who, p_who[ok]])
    days = np.concatenate([days, p_day[ok]]).astype(np.int64)
    service = np.concatenate([service, np.full(ok.sum(), "palliative_care")])
    return pa.table(
        {
            "person_id": person_ids.take(pa.array(who)),
            "provider_code": np.full(len(who), "XCA"),
            "date": dates(days),
            "service": service,
            "team": np.array(footprint_codes)[people.footprint[who]],
            "cost": pd.Series(service).map(COMMUNITY_COST).to_numpy(float),
        }
    )
