"""Admitted patient care: emergency, elective, day case and maternity spells.

Emergency admissions are drawn per person at a rate calibrated to England's rates by
age band (after allowing for the admissions of the last months of life and for
readmissions, which are drawn separately), so that the three add up to the published
rates; readmissions after ordinary elective stays are drawn too. People who die in
hospital have a final spell ending on the day they die. A person's spells never overlap
and nothing happens after death or deregistration. Stays still in progress when the
window ends are unfinished spells: no discharge date, and discharge destination 98, as
in HES.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from joinedup.synth.config import SynthConfig
from joinedup.synth.population import NO_END, People
from joinedup.synth.rates import (
    age_banded_events,
    band_means,
    band_of,
    last_year_exposure,
    risk_index,
)
from joinedup.synth.timeline import PLANNED, UNPLANNED, Season, poisson_events

# Emergency admissions per person-year by age band (0-4 ... 85+), HES 2023-24.
EMERGENCY_BY_BAND = np.array([110, 35, 60, 85, 165, 300, 540]) / 1000
# Allowance for admissions later dropped because they would overlap another spell of the
# same person (frequent in older people with long stays), measured on built economies.
OVERLAP_ALLOWANCE = np.array([1.0, 1.0, 1.0, 1.02, 1.06, 1.10, 1.18])
ELECTIVE_BY_BAND = np.array([40, 35, 70, 170, 310, 390, 280]) / 1000
ELECTIVE_RATE = 0.150
EOL_EXTRA_ADMISSIONS = 0.9  # mean emergency admissions in the last six months of life

KIND_EMERGENCY, KIND_READMISSION, KIND_END_OF_LIFE, KIND_FINAL = 0, 1, 2, 3
KIND_ELECTIVE, KIND_DAYCASE, KIND_MATERNITY = 4, 5, 6
EMERGENCY_KINDS = (KIND_EMERGENCY, KIND_READMISSION, KIND_END_OF_LIFE, KIND_FINAL)


@dataclass
class Spells:
    """Spells as parallel arrays (person index, admission and discharge day, kind)."""

    who: np.ndarray
    admitted: np.ndarray
    discharged: np.ndarray
    kind: np.ndarray

    @classmethod
    def of(cls, who, admitted, discharged, kind: int) -> Spells:
        """Spells of one kind."""
        return cls(np.asarray(who, np.int64), np.asarray(admitted, np.int64),
                   np.asarray(discharged, np.int64), np.full(len(who), kind, np.int8))  # fmt: skip

    @classmethod
    def concat(cls, parts: list[Spells]) -> Spells:
        """All the parts together."""
        return cls(*(np.concatenate([getattr(p, f) for p in parts])
                     for f in ("who", "admitted", "discharged", "kind")))  # fmt: skip

    def select(self, rows: np.ndarray) -> Spells:
        """The spells at ``rows`` (a mask or indices)."""
        return Spells(self.who[rows], self.admitted[rows], self.discharged[rows], self.kind[rows])

    def __len__(self) -> int:
        return len(self.who)


def emergency_los(rng: np.random.Generator, age: np.ndarray) -> np.ndarray:
    """Length of stay of emergency spells: a third same-day, long tails for older people."""
    zero = rng.random(len(age)) < np.select([age < 18, age < 65, age < 85], [0.55, 0.40, 0.27],
                                            0.20)  # fmt: skip
    mean = np.select([age < 18, age < 65, age < 85], [3.0, 7.0, 12.5], 15.0)
    stay = 1 + np.floor(rng.lognormal(np.log(mean - 0.5) - 0.45, 0.95))
    return np.where(zero, 0, np.minimum(stay, 365)).astype(np.int64)


def readmission_probability(age: np.ndarray, frailty: np.ndarray) -> np.ndarray:
    """Chance that an emergency spell is followed by a related emergency readmission."""
    return np.clip(0.10 * frailty**0.5 * np.where(age >= 75, 1.4, 1.0), 0, 0.5)


def final_spells(
    config: SynthConfig, people: People, died_in_hospital: np.ndarray, window_start: int
) -> Spells:
    """The last spell of each person who dies in hospital: it ends on the day of death."""
    rng = config.rng("final-spells")
    who = np.flatnonzero(died_in_hospital)
    start = np.maximum(people.registered_from[who], window_start)
    stay = 1 + np.floor(rng.lognormal(np.log(8) - 0.4, 0.9, len(who))).astype(np.int64)
    stay = np.where(rng.random(len(who)) < 0.12, 0, stay)
    admitted = np.maximum(people.death[who] - stay, start)
    return Spells.of(who, admitted, people.death[who], KIND_FINAL)


def emergency_spells(
    config: SynthConfig,
    people: People,
    condition_count: np.ndarray,
    practice_effect: np.ndarray,
    window: tuple[int, int],
    spell_end: np.ndarray,
    final: Spells,
) -> Spells:
    """Emergency admissions (first admissions, readmissions, last months of life)."""
    rng = config.rng("emergency")
    start, end = window
    a, b = people.exposure(start, end)
    age = people.age_at(a)
    band = band_of(age)
    frailty = people.frailty

    # Admissions in the last six months of life, drawn for those who die in the window.
    dying = np.flatnonzero(people.death <= end)
    n_eol = rng.poisson(EOL_EXTRA_ADMISSIONS, len(dying))
    eol_who = np.repeat(dying, n_eol)
    lo = np.maximum(people.death[eol_who] - 180, a[eol_who])
    eol_day = lo + np.floor(rng.random(len(eol_who)) * np.maximum(spell_end[eol_who] - lo, 0))
    keep = eol_day < spell_end[eol_who]
    eol_who, eol_day = eol_who[keep], eol_day[keep].astype(np.int64)

    # What is left of each band's published rate for everyone's ordinary admissions,
    # calibrated on the latest year (the year the reference figures describe).
    weight = last_year_exposure(a, b, end)
    recent_eol = np.concatenate(
        [eol_who[eol_day > end - 365], final.who[final.admitted > end - 365]]
    )
    recent_day = np.concatenate(
        [eol_day[eol_day > end - 365], final.admitted[final.admitted > end - 365]]
    )
    eol_count = np.bincount(band_of(people.age_on(recent_eol, recent_day)), minlength=7)
    band_years = np.bincount(band, weights=weight, minlength=7)
    remaining = np.maximum(EMERGENCY_BY_BAND - eol_count / np.maximum(band_years, 1e-9),
                           0.4 * EMERGENCY_BY_BAND)  # fmt: skip
    index = risk_index(people, condition_count, 1.0, 0.25, 0.05) * practice_effect
    p_readmit = readmission_probability(age, frailty)
    season = Season(start, end, UNPLANNED)
    band_rate = remaining * OVERLAP_ALLOWANCE / band_means(index, band, weight)
    who, days = age_banded_events(rng, season, people, a, spell_end, band_rate,
                                  index / (1 + p_readmit))  # fmt: skip
    base = Spells.of(who, days, days + emergency_los(rng, age[who]), KIND_EMERGENCY)

    readmit = rng.random(len(base)) < p_readmit[base.who]
    r_who = base.who[readmit]
    # Readmitted 1 to 29 days after discharge: within 30 days as the national indicator counts.
    r_day = base.discharged[readmit] + 1 + np.minimum(np.floor(rng.exponential(9, len(r_who))), 28)
    ok = r_day < spell_end[r_who]
    r_who, r_day = r_who[ok], r_day[ok].astype(np.int64)
    readmissions = Spells.of(r_who, r_day, r_day + emergency_los(rng, age[r_who]),
                             KIND_READMISSION)  # fmt: skip
    eol = Spells.of(eol_who, eol_day, eol_day + emergency_los(rng, age[eol_who]),
                    KIND_END_OF_LIFE)  # fmt: skip
    return Spells.concat([base, readmissions, eol])


def elective_readmissions(
    config: SynthConfig, people: People, planned: Spells, spell_end: np.ndarray
) -> Spells:
    """Emergency readmissions after ordinary elective stays (complications, infections).

    About one ordinary elective stay in twenty is followed by an emergency readmission
    within 30 days, more for frail and older people (NHS Digital's readmission
    compendium reports 30-day emergency readmission after elective hip replacement of
    about 5-7%).
    """
    rng = config.rng("elective-readmission")
    age = people.age_on(planned.who, planned.admitted)
    p = 0.045 * people.frailty[planned.who] ** 0.5 * np.where(age >= 75, 1.4, 1.0)
    hit = (planned.kind == KIND_ELECTIVE) & (rng.random(len(planned)) < np.clip(p, 0, 0.3))
    who = planned.who[hit]
    day = planned.discharged[hit] + 1 + np.minimum(np.floor(rng.exponential(7, len(who))), 28)
    ok = day < spell_end[who]
    who, day = who[ok], day[ok].astype(np.int64)
    return Spells.of(who, day, day + emergency_los(rng, people.age_on(who, day)), KIND_READMISSION)


def planned_spells(
    config: SynthConfig,
    people: People,
    condition_count: np.ndarray,
    window: tuple[int, int],
    spell_end: np.ndarray,
) -> tuple[Spells, np.ndarray]:
    """Elective and day case spells, and maternity spells; returns the procedure pick."""
    rng = config.rng("planned")
    start, end = window
    a, b = people.exposure(start, end)
    age = people.age_at(a)
    index = risk_index(people, condition_count, 0.3, 0.15, 0.0)
    weight = last_year_exposure(a, b, end)
    scale = ELECTIVE_RATE * weight.sum() / (ELECTIVE_BY_BAND[band_of(age)] * index * weight).sum()
    who, days = age_banded_events(rng, Season(start, end, PLANNED), people, a, spell_end,
                                  ELECTIVE_BY_BAND * scale, index)  # fmt: skip
    from joinedup.synth.diagnoses import ELECTIVE, ELECTIVE_CHILD

    adult = ELECTIVE
    pick_adult = rng.choice(len(adult), len(who), p=_weights(adult, 4))
    pick_child = rng.choice(len(ELECTIVE_CHILD), len(who), p=_weights(ELECTIVE_CHILD, 4))
    child = age[who] < 16
    pick = np.where(child, -1 - pick_child, pick_adult)  # negative: the children's list
    daycase_share = np.where(child, np.array([e[3] for e in ELECTIVE_CHILD])[pick_child],
                             np.array([e[3] for e in adult])[pick_adult])  # fmt: skip
    daycase = rng.random(len(who)) < daycase_share
    stay = np.where(rng.random(len(who)) < 0.15, 0, 1 + rng.geometric(0.35, len(who)))
    discharged = days + np.where(daycase, 0, stay)
    planned = Spells(who.astype(np.int64), days.astype(np.int64), discharged.astype(np.int64),
                     np.where(daycase, KIND_DAYCASE, KIND_ELECTIVE).astype(np.int8))  # fmt: skip

    # Maternity: women of child-bearing age.
    women = (~people.male) & (age >= 16) & (age < 45)
    m_rate = np.where(women, 0.055 * np.exp(-(((age - 31) / 7.0) ** 2)) * 1.6, 0.0)
    m_who, m_day = poisson_events(rng, Season(start, end, {}), m_rate, a, spell_end)
    m_stay = np.where(rng.random(len(m_who)) < 0.25, 0, rng.integers(1, 4, len(m_who)))
    maternity = Spells.of(m_who, m_day, m_day + m_stay, KIND_MATERNITY)
    spells = Spells.concat([planned, maternity])
    return spells, np.concatenate([pick, np.zeros(len(maternity), int)])


def _weights(pool: tuple, position: int) -> np.ndarray:
    w = np.array([row[position] for row in pool], float)
    return w / w.sum()


def tidy(spells: Spells, spell_end: np.ndarray, window_end: int) -> np.ndarray:
    """Rows to keep so that a person's spells never overlap; ends stays at death or leaving.

    Spells are ordered by person and admission; a spell admitted before the previous
    spell's discharge is dropped. Discharges never pass the last day the person is
    alive and registered (final spells end on the day of death by construction). A
    stay of someone alive and registered at the end of the window keeps its discharge
    day even when that lies after ``window_end``: the spell is unfinished when the data
    end (see :func:`unfinished`), as real extracts carry such spells.
    """
    last_day = np.where(spell_end > window_end, NO_END, spell_end - 1)
    not_final = spells.kind != KIND_FINAL
    spells.discharged[not_final] = np.minimum(
        spells.discharged[not_final], np.maximum(last_day[spells.who[not_final]],
                                                 spells.admitted[not_final])
    )  # fmt: skip
    order = np.lexsort((spells.kind == KIND_FINAL, spells.admitted, spells.who))
    frame = pd.DataFrame({"who": spells.who[order], "dis": spells.discharged[order]})
    previous = frame.groupby("who")["dis"].cummax().groupby(frame["who"]).shift()
    overlaps = spells.admitted[order] < previous.to_numpy(dtype=float, na_value=-np.inf)
    return order[~overlaps]


def unfinished(spells: Spells, window_end: int) -> np.ndarray:
    """Spells still in progress on the last day of the window (no discharge in the data)."""
    return spells.discharged > window_end


# Day numbers are below this, so (person, day) pairs sort as one integer.
_DAY_SPAN = 1 << 20
# Rounds of redrawing a day that fell inside a stay (what is left after them is dropped).
_REDRAWS = 20


def scale_rate(
    spells: Spells,
    affected: np.ndarray,
    ratio: float,
    rng: np.random.Generator,
    until: np.ndarray,
    since: np.ndarray,
    coins: np.ndarray | None = None,
    others: Spells | None = None,
) -> Spells:
    """The spells with the rate of the ``affected`` ones multiplied by ``ratio``: how a
    programme's true effect is planted.

    A ratio of 1 or less thins them: each affected spell is kept with probability
    ``ratio``, decided by its own uniform number in ``coins`` when given (one per spell),
    else by draws from ``rng`` in the spells' order. A ratio above 1 thickens them:
    each affected spell brings ``ratio - 1`` extra emergency admissions on average (the
    whole part always, the fraction with that probability), each on a day drawn at random
    from its person's window, their day in ``since`` to that in ``until``, on which they
    are not in hospital, with the spell's length of stay cut short before the person's
    next admission. So every extra admission survives :func:`tidy` and none pushes out one
    the economy already had (``others``: the person's other stays, planned and final, to
    keep clear of as well), and the economy realises ``ratio``.
    """
    if ratio <= 1:
        u = rng.random(len(spells)) if coins is None else coins
        return spells.select(~(affected & (u >= ratio)))
    whole, part = divmod(ratio - 1, 1)
    copies = np.repeat(np.flatnonzero(affected), int(whole) + 1)
    keep = rng.random(len(copies)) < np.where(
        np.arange(len(copies)) % (int(whole) + 1) < int(whole), 1.0, part
    )
    copies = copies[keep]
    who = spells.who[copies]
    lo = since[who]
    span = np.maximum(until[who] - lo, 1)
    # Each person's spells in order, to find the stay (if any) a day falls in and the
    # next admission after it.
    stays = spells if others is None else Spells.concat([spells, others])
    order = np.lexsort((stays.admitted, stays.who))
    s_who, s_adm, s_dis = stays.who[order], stays.admitted[order], stays.discharged[order]

    def around(day: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Whether ``day`` is inside a stay of its person; the person's next admission."""
        i = np.searchsorted(s_who * _DAY_SPAN + s_adm, who * _DAY_SPAN + day, side="right")
        prev = np.maximum(i - 1, 0)
        # in hospital that day, or admitted that day (a day case too)
        inside = (i > 0) & (s_who[prev] == who) & ((s_dis[prev] > day) | (s_adm[prev] == day))
        nxt = np.minimum(i, len(s_who) - 1)
        has_next = (i < len(s_who)) & (s_who[nxt] == who)
        return inside, np.where(has_next, s_adm[nxt], NO_END)

    def draw(rows: np.ndarray) -> np.ndarray:
        return lo[rows] + np.floor(rng.random(len(rows)) * span[rows]).astype(np.int64)

    day = draw(np.arange(len(copies)))
    for _ in range(_REDRAWS):  # rejection: redraw days that fall inside a stay
        inside, next_admission = around(day)
        if not inside.any():
            break
        day[inside] = draw(np.flatnonzero(inside))
    else:
        inside, next_admission = around(day)
    stay = spells.discharged[copies] - spells.admitted[copies]
    discharged = np.minimum(day + stay, np.maximum(next_admission, day))
    extra = Spells.of(who, day, discharged, KIND_EMERGENCY)
    return Spells.concat([spells, extra.select(~inside & (day < until[who]))])
