"""People: age, sex, ethnicity, where they live, registration, frailty and death.

The registered population at the start looks like England's (ONS mid-2022 age and sex
structure); births, people moving in and people moving away keep it turning over as
practice lists do. A latent frailty (gamma distributed, mean 1) drives each person's
conditions, use of services and chance of death, so that a few people account for much
of the activity, as they do in reality.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from joinedup.synth.config import SynthConfig
from joinedup.synth.geography import Geography
from joinedup.synth.timeline import DAYS_PER_YEAR, day

NO_END = np.iinfo(np.int32).max  # "no date": still registered, still alive

# ONS mid-2022 England population by five-year band, thousands (0-4 ... 90+).
BAND_POPULATION = np.array([3200, 3450, 3550, 3350, 3500, 3800, 3950, 3850, 3700, 3450,
                            3850, 3900, 3400, 2950, 2900, 2250, 1450, 900, 550], float)  # fmt: skip
# Share female in each band: women outnumber men from late middle age.
BAND_FEMALE = np.array([0.487] * 10 + [0.505, 0.508, 0.512, 0.52, 0.525, 0.54, 0.565,
                                        0.61, 0.68])  # fmt: skip

# NHS ethnic category shares (2021 Census, England; 'Z' not stated as GP records show).
ETHNIC_CODES = np.array([*"ABCDEFGHJKLMNPRS", "Z"])
ETHNIC_SHARE = np.array([0.715, 0.009, 0.062, 0.009, 0.005, 0.008, 0.008, 0.033, 0.027,
                         0.011, 0.017, 0.011, 0.025, 0.005, 0.007, 0.022, 0.026])  # fmt: skip

FRAILTY_SHAPE = 0.9
CRUDE_DEATH_RATE = 0.0100  # per person per year, ONS 2022
BIRTH_RATE = 0.0105
MOVE_IN_RATE = 0.035


@dataclass
class People:
    """Person-level arrays, one element per person ever registered in the window."""

    dob: np.ndarray  # day number of birth
    male: np.ndarray  # bool
    ethnicity: np.ndarray  # NHS ethnic category code
    lsoa: np.ndarray
    practice: np.ndarray
    footprint: np.ndarray
    decile: np.ndarray
    registered_from: np.ndarray
    registered_to: np.ndarray  # NO_END while registered
    frailty: np.ndarray
    death: np.ndarray = field(default=None)  # NO_END if alive at the end
    place_of_death: np.ndarray = field(default=None)

    def __len__(self) -> int:
        return len(self.dob)

    def age_at(self, when: int | np.ndarray) -> np.ndarray:
        """Age in whole years at a day (or per-person days)."""
        return np.floor((when - self.dob) / DAYS_PER_YEAR).astype(np.int16)

    def age_on(self, who: np.ndarray, when: np.ndarray) -> np.ndarray:
        """Age in whole years of person ``who[i]`` on day ``when[i]``."""
        return np.floor((when - self.dob[who]) / DAYS_PER_YEAR).astype(np.int16)

    def exposure(self, start: int, end: int) -> tuple[np.ndarray, np.ndarray]:
        """Each person's window of observation [a, b): registered, alive, in the window."""
        a = np.maximum(self.registered_from, start)
        b = np.minimum.reduce([self.registered_to, self.death, np.full(len(self), end + 1)])
        return a, np.maximum(a, b)


def _ages(rng: np.random.Generator, n: int, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ages (fractional years) and sex drawn from five-year bands."""
    band = rng.choice(len(weights), n, p=weights / weights.sum())
    width = np.where(band == 18, 15.0, 5.0)  # 90+ runs to 105, thinning
    offset = np.where(band == 18, rng.exponential(4.0, n).clip(0, 14.9), rng.random(n) * width)
    age = band * 5 + offset
    male = rng.random(n) >= BAND_FEMALE[band]
    return age, male


def _ethnicity(rng: np.random.Generator, age: np.ndarray, fp_diversity: np.ndarray):
    """Ethnic category: younger people and some towns are more diverse, as in England."""
    minority_boost = np.where(age < 40, 1.3, np.where(age >= 65, 0.45, 0.9)) * fp_diversity
    p_white_british = 1 - (1 - ETHNIC_SHARE[0]) * minority_boost
    is_wb = rng.random(len(age)) < np.clip(p_white_british, 0.2, 0.97)
    others = ETHNIC_SHARE[1:] / ETHNIC_SHARE[1:].sum()
    codes = ETHNIC_CODES[1:][rng.choice(len(others), len(age), p=others)]
    return np.where(is_wb, "A", codes)


def _place(rng: np.random.Generator, geo: Geography, n: int):
    """Small area, footprint and practice of each person (a practice in their footprint)."""
    lsoa = rng.choice(len(geo.lsoa_codes), n, p=geo.lsoa_weight / geo.lsoa_weight.sum())
    footprint = geo.lsoa_footprint[lsoa]
    # Choose a practice within the footprint by list-size weight, vectorised by footprint.
    practice = np.empty(n, np.int32)
    for f in range(len(geo.footprint_codes)):
        rows = np.flatnonzero(footprint == f)
        options = np.flatnonzero(geo.practice_footprint == f)
        practice[rows] = rng.choice(options, len(rows), p=geo.practice_weight[options])
    return lsoa, footprint, practice


def build_people(config: SynthConfig, geo: Geography) -> People:
    """The starting registered population plus births and people moving in."""
    rng = config.rng("population")
    start, end = day(config.start), day(config.end)
    span = end - start + 1
    n0 = config.people
    n_birth = rng.poisson(BIRTH_RATE * n0 * config.years)
    n_move = rng.poisson(MOVE_IN_RATE * n0 * config.years)

    age0, male0 = _ages(rng, n0, BAND_POPULATION)
    # Movers are mostly young adults.
    mover_weights = BAND_POPULATION * np.where((np.arange(19) >= 4) & (np.arange(19) < 8), 3, 1)
    age_m, male_m = _ages(rng, n_move, mover_weights)
    birth_day = start + rng.integers(0, span, n_birth)
    move_day = start + rng.integers(0, span, n_move)

    dob = np.concatenate([
        start - np.round(age0 * DAYS_PER_YEAR),
        birth_day,
        move_day - np.round(age_m * DAYS_PER_YEAR),
    ]).astype(np.int32)  # fmt: skip
    male = np.concatenate([male0, rng.random(n_birth) < 0.512, male_m])
    reg_from = np.concatenate([
        start - np.round(rng.random(n0) * np.minimum(age0, 25) * DAYS_PER_YEAR) - 1,
        np.minimum(birth_day + rng.integers(0, 43, n_birth), end),
        move_day,
    ]).astype(np.int32)  # fmt: skip
    reg_from = np.maximum(reg_from, dob)
    n = len(dob)
    age_start = (np.maximum(reg_from, start) - dob) / DAYS_PER_YEAR

    lsoa, footprint, practice = _place(rng, geo, n)
    diversity = np.exp(rng.normal(0, 0.5, len(geo.footprint_codes)))[footprint]
    ethnicity = _ethnicity(rng, age_start, diversity)

    # People move away at rates that depend on age (young adults most).
    move_rate = np.where((age_start >= 18) & (age_start < 35), 0.08,
                         np.where(age_start >= 65, 0.015, 0.03))  # fmt: skip
    leave = np.maximum(reg_from, start) + rng.exponential(1 / move_rate) * DAYS_PER_YEAR
    reg_to = np.where(leave <= end, leave, NO_END).astype(np.int32)

    frailty = rng.gamma(FRAILTY_SHAPE, 1 / FRAILTY_SHAPE, n)
    return People(
        dob=dob,
        male=male,
        ethnicity=ethnicity,
        lsoa=lsoa,
        practice=practice,
        footprint=footprint,
        decile=geo.lsoa_decile[lsoa],
        registered_from=reg_from,
        registered_to=reg_to,
        frailty=frailty,
        death=np.full(n, NO_END, np.int32),
    )


def gompertz_hazard(age: np.ndarray) -> np.ndarray:
    """Annual mortality by age before frailty and conditions (England life table shape)."""
    return np.where(age < 1, 0.004, np.exp(-10.3 + 0.093 * np.asarray(age, float)))


def draw_deaths(
    config: SynthConfig, people: People, condition_count: np.ndarray, dementia: np.ndarray
) -> None:
    """Date of death for those who die while registered in the window.

    The hazard rises with age (Gompertz), frailty and the number of long-term conditions,
    and is scaled so that the crude death rate is England's (about 10 per 1,000).
    """
    rng = config.rng("deaths")
    start, end = day(config.start), day(config.end)
    a = np.maximum(people.registered_from, start)
    age = people.age_at(a)
    relative = gompertz_hazard(age) * people.frailty**0.5 * (1 + 0.12 * condition_count)
    relative *= np.where(dementia, 1.8, 1.0)
    b = np.minimum(people.registered_to, end + 1)
    draw = rng.exponential(size=len(people)) * DAYS_PER_YEAR
    # Scale the hazard so the crude death rate of the latest year is England's: deaths
    # in the year over those registered and alive at its midpoint.
    first, mid = end - 364, end - 182
    registered_mid = (people.registered_from <= mid) & (people.registered_to > mid)
    lo, hi = 0.0, 50.0
    for _ in range(50):
        k = (lo + hi) / 2
        when = a + draw / np.minimum(relative * k, 3.0)
        dies = when < b
        deaths = (dies & (when >= first) & (when <= end)).sum()
        alive_mid = (registered_mid & (when > mid)).sum()
        lo, hi = (k, hi) if deaths / max(alive_mid, 1) < CRUDE_DEATH_RATE else (lo, k)
    when = a + draw / np.minimum(relative * lo, 3.0)
    people.death = np.where(when < b, np.floor(when), NO_END).astype(np.int32)
