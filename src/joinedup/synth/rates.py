"""Per-person activity rates: a risk index, calibrated to published rates by age band."""

from __future__ import annotations

import numpy as np

from joinedup.synth.population import People

# The age bands of the published emergency admission rates.
BAND_EDGES = np.array([0, 5, 18, 45, 65, 75, 85])
BAND_NAMES = ("0-4", "5-17", "18-44", "45-64", "65-74", "75-84", "85+")


def band_of(age: np.ndarray) -> np.ndarray:
    """Index into BAND_NAMES of each age."""
    return np.searchsorted(BAND_EDGES, age, side="right") - 1


def risk_index(
    people: People,
    condition_count: np.ndarray,
    frailty_power: float,
    per_condition: float,
    per_decile: float,
) -> np.ndarray:
    """Relative propensity to use a service: frailty, multimorbidity and deprivation."""
    deprivation = 5.5 - people.decile.astype(float)
    return (
        people.frailty**frailty_power
        * (1 + per_condition * condition_count)
        * np.exp(per_decile * deprivation)
    )


def calibrate_by_band(
    index: np.ndarray, band: np.ndarray, targets: np.ndarray, years: np.ndarray
) -> np.ndarray:
    """Rates per year whose exposure-weighted mean in each band equals that band's target."""
    rate = np.zeros(len(index))
    for b, target in enumerate(targets):
        rows = band == b
        if rows.any():
            mean = np.average(index[rows], weights=years[rows] + 1e-9)
            rate[rows] = target * index[rows] / mean
    return rate


def calibrate_total(index: np.ndarray, target: float, years: np.ndarray) -> np.ndarray:
    """Scale an index so that events per person-year across everyone equal ``target``."""
    return index * target * years.sum() / max((index * years).sum(), 1e-9)


def last_year_exposure(a: np.ndarray, b: np.ndarray, end: int) -> np.ndarray:
    """Years each person is observed in the latest financial year (the calibration year)."""
    first = end - 364
    return np.maximum(np.minimum(b, end + 1) - np.maximum(a, first), 0) / 365.0


def band_means(index: np.ndarray, band: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Weighted mean of the index in each age band (1 where a band is empty)."""
    total = np.bincount(band, weights=index * weight, minlength=len(BAND_NAMES))
    w = np.bincount(band, weights=weight, minlength=len(BAND_NAMES))
    return np.where(w > 0, total / np.maximum(w, 1e-12), 1.0)


def age_banded_events(rng, season, people: People, a, b, band_rate, index):
    """Poisson events at ``band_rate[age band on the day] * index`` for each person.

    A person's age band can change in the window, so events are drawn at the higher of
    the rates of their first and last band and kept with probability (rate on the day /
    that maximum): thinning, which gives exactly the age-varying rate.
    """
    from joinedup.synth.timeline import poisson_events

    r_a = band_rate[band_of(people.age_at(a))] * index
    r_b = band_rate[band_of(people.age_at(np.maximum(b - 1, a)))] * index
    r_max = np.maximum(r_a, r_b)
    who, days = poisson_events(rng, season, r_max, a, b)
    r_day = band_rate[band_of(people.age_on(who, days))] * index[who]
    keep = rng.random(len(who)) * r_max[who] < r_day
    return who[keep], days[keep]


def scaled_band_rates(
    band_rate: np.ndarray, index: np.ndarray, age: np.ndarray, weight: np.ndarray, target: float
) -> np.ndarray:
    """Band rates scaled so that events per person-year across everyone equal ``target``."""
    expected = (band_rate[band_of(age)] * index * weight).sum()
    return band_rate * target * weight.sum() / max(expected, 1e-12)
