"""People with the attributes analyses group by, and the registered population."""

from __future__ import annotations

from datetime import date

import ibis

from joinedup.schema.codes import ETHNIC_GROUP
from joinedup.warehouse import Warehouse

# Age bands used for breakdowns (as in the England reference figures).
AGE_BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("0-4", 0, 4),
    ("5-17", 5, 17),
    ("18-44", 18, 44),
    ("45-64", 45, 64),
    ("65-74", 65, 74),
    ("75-84", 75, 84),
    ("85+", 85, None),
)

# European Standard Population 2013: five-year bands to 90+, weights summing to 100,000.
ESP2013_BANDS: tuple[tuple[str, int, int | None, int], ...] = (
    ("0-4", 0, 4, 5000),
    ("5-9", 5, 9, 5500),
    ("10-14", 10, 14, 5500),
    ("15-19", 15, 19, 5500),
    ("20-24", 20, 24, 6000),
    ("25-29", 25, 29, 6000),
    ("30-34", 30, 34, 6500),
    ("35-39", 35, 39, 7000),
    ("40-44", 40, 44, 7000),
    ("45-49", 45, 49, 7000),
    ("50-54", 50, 54, 7000),
    ("55-59", 55, 59, 6500),
    ("60-64", 60, 64, 6000),
    ("65-69", 65, 69, 5500),
    ("70-74", 70, 74, 5000),
    ("75-79", 75, 79, 4000),
    ("80-84", 80, 84, 2500),
    ("85-89", 85, 89, 1500),
    ("90+", 90, None, 1000),
)


def band(age: ibis.Value, bands: tuple) -> ibis.Value:
    """The label of the band ``age`` falls in (bands are (label, low, high, ...))."""
    cases = [(age <= b[2], b[0]) if b[2] is not None else (age >= b[1], b[0]) for b in bands]
    return ibis.cases(*cases, else_=None)


def persons(wh: Warehouse) -> ibis.Table:
    """Every person with practice, cluster, footprint, IMD quintile and ethnic group."""
    p = wh.table("person")
    pr = wh.table("practice")
    joined = p.left_join(pr, p.practice_code == pr.practice_code)
    return joined.select(
        p.person_id,
        p.year_of_birth,
        p.sex,
        p.ethnicity,
        p.imd_decile,
        p.practice_code,
        pr.cluster_code,
        pr.footprint_code,
        p.registered_from,
        p.registered_to,
        p.date_of_death,
        p.place_of_death,
        imd_quintile=((p.imd_decile + 1) // 2).cast("int16"),
        ethnic_group=p.ethnicity.substitute(ETHNIC_GROUP, else_="Unknown"),
        partnership=ibis.literal("all"),
    )


def with_age(t: ibis.Table, on: ibis.Value) -> ibis.Table:
    """Add ``age`` at the date ``on`` (whole years from year of birth), its bands."""
    age = (on.year() - t.year_of_birth).cast("int16")
    return t.mutate(age=age).mutate(
        age_band=band(ibis._.age, AGE_BANDS), esp_band=band(ibis._.age, ESP2013_BANDS)
    )


def is_registered(p: ibis.Table, day: date | ibis.Value) -> ibis.BooleanValue:
    """Whether each person of ``p`` (rows with ``registered_from``, ``registered_to`` and
    ``date_of_death``) was registered with a practice and alive on ``day``: the one
    rule for "the registered population on a day" (a date, or a date column).

    Registered from ``registered_from`` (inclusive) until ``registered_to`` and alive
    until ``date_of_death`` (both exclusive: someone who left or died that day is no
    longer counted).
    """
    return (
        (p.registered_from <= day)
        & (p.registered_to.isnull() | (p.registered_to > day))
        & (p.date_of_death.isnull() | (p.date_of_death > day))
    )


def registered_population(wh: Warehouse, periods: ibis.Table) -> ibis.Table:
    """One row per person registered and alive at the midpoint of each period.

    ``periods`` has ``period_start`` and ``period_mid`` (dates). Age is taken at the
    midpoint, as mid-year population estimates do.
    """
    p = persons(wh)
    crossed = p.cross_join(periods)
    alive = is_registered(crossed, crossed.period_mid)
    return with_age(crossed.filter(alive), crossed.period_mid)
