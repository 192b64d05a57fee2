"""Telephone care management: who is enrolled, and its planted effect on admissions.

The service starts a year into the window (``SynthConfig.programme_launch_years`` sets
how many) and enrols people with long-term conditions, favouring those at high risk and,
as real case finding does, those admitted recently.
That last choice is deliberate: selecting people after a bad year means their
admissions would fall anyway (regression to the mean), which a naive before/after
comparison mistakes for an effect and a matched comparison does not. While a person is
enrolled each of their emergency admissions (other than the one in which they die)
happens with probability equal to the true rate ratio; a ratio above 1 adds admissions.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from joinedup.synth.admissions import EMERGENCY_KINDS, KIND_FINAL, Spells, scale_rate
from joinedup.synth.conditions import NAMES
from joinedup.synth.config import SynthConfig
from joinedup.synth.population import NO_END, People
from joinedup.synth.timeline import DAYS_PER_YEAR, dates, day

PROGRAMME = "telephone_care_management"
TARGET_CONDITIONS = ("copd", "heart_failure", "diabetes", "chd", "asthma", "ckd",
                     "atrial_fibrillation")  # fmt: skip


def enrol(config: SynthConfig, people: People, has: np.ndarray, spells: Spells) -> dict:
    """Choose who is enrolled and when; returns person index, enrolled and left days, and
    every person's ``candidate`` day (the one day case finding looks at them)."""
    rng = config.rng("programme")
    start, end = day(config.start), day(config.end)
    launch = day(config.programme_launch)
    a, b = people.exposure(start, end)
    candidate = launch + np.floor(rng.random(len(people)) * max(end - 90 - launch, 1))
    ltc = has[:, [NAMES.index(c) for c in TARGET_CONDITIONS]].sum(axis=1)
    eligible = (ltc > 0) & (people.age_at(candidate) >= 40) & (a <= candidate) & (candidate < b)
    # Emergency admissions in the year before the candidate date.
    emergency = np.isin(spells.kind, EMERGENCY_KINDS)
    w = spells.who[emergency]
    d = spells.admitted[emergency]
    recent = (d < candidate[w]) & (d >= candidate[w] - 365)
    prior = np.bincount(w[recent], minlength=len(people))
    score = people.frailty * (1 + ltc) * (1 + 1.5 * prior)
    # Weighted sampling without replacement (Gumbel top-k).
    key = np.where(eligible, np.log(score) + rng.gumbel(size=len(people)), -np.inf)
    k = min(round(config.programme_uptake * config.people), int(eligible.sum()))
    chosen = np.sort(np.argpartition(-key, k)[:k]) if k else np.array([], int)
    enrolled = candidate[chosen].astype(np.int64)
    leave = enrolled + np.floor(rng.exponential(1.5, len(chosen)) * DAYS_PER_YEAR)
    leave = np.minimum(leave, b[chosen])  # leaving the list or dying ends enrolment
    left = np.where(leave > end, NO_END, leave).astype(np.int64)
    return {"who": chosen, "enrolled": enrolled, "left": left, "candidate": candidate}


def apply_effect(
    config: SynthConfig,
    enrolment: dict,
    spells: Spells,
    n_people: int,
    spell_end: np.ndarray,
    others: Spells | None = None,
) -> Spells:
    """Emergency admissions while enrolled, thinned (or added to) by the true rate ratio;
    admissions added keep clear of the stays in ``spells`` and ``others``."""
    rng = config.rng("programme-effect")
    ratio = config.programme_effect
    on_from = np.full(n_people, NO_END, np.int64)
    on_to = np.full(n_people, NO_END, np.int64)
    on_from[enrolment["who"]] = enrolment["enrolled"]
    on_to[enrolment["who"]] = np.minimum(enrolment["left"], spell_end[enrolment["who"]])
    during = (spells.admitted >= on_from[spells.who]) & (spells.admitted < on_to[spells.who])
    affected = during & np.isin(spells.kind, EMERGENCY_KINDS) & (spells.kind != KIND_FINAL)
    # Admissions added by a ratio above 1 fall while the person is enrolled.
    return scale_rate(spells, affected, ratio, rng, on_to, on_from, others=others)


def enrolment_table(enrolment: dict, person_ids: pa.Array, end: int) -> pa.Table:
    """The programme_enrolment table."""
    left = enrolment["left"]
    return pa.table(
        {
            "person_id": person_ids.take(pa.array(enrolment["who"])),
            "programme": np.full(len(left), PROGRAMME),
            "enrolled_on": dates(enrolment["enrolled"]),
            "left_on": dates(np.minimum(left, end), missing=left == NO_END),
        }
    )
