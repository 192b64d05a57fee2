"""People with the attributes analyses group by, and the registered population.

People's details come from the GP register (:func:`persons`, the ``person`` table)
or, in a partnership that holds activity data only (hospital, A&E, outpatients: no GP
registration list), from what activity records said of them (:func:`activity_persons`,
the ``person_fact`` table). :func:`has_register` says which a warehouse holds.
"""

from __future__ import annotations

from datetime import date

import ibis

from joinedup.schema import TABLES
from joinedup.schema.codes import ETHNIC_GROUP
from joinedup.warehouse import Warehouse
from joinedup.warehouse.base import stored_schema

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


#: The ``details_from`` of :func:`activity_persons` (and the ``person_details`` of
#: measure results computed from them): details as activity records gave them.
DETAILS_FROM_ACTIVITY = "activity"
#: Fields of ``person_fact`` taken for each person (most recent known value first).
FACT_FIELDS = ("year_of_birth", "sex", "ethnicity", "lsoa_code", "practice_code")
#: Codes saying a detail is not known: a known value, however old, comes before them.
NOT_KNOWN: dict[str, tuple[str, ...]] = {"sex": ("U",), "ethnicity": ("Z", "99")}


def _grouped_attributes(imd_decile: ibis.Value, ethnicity: ibis.Value) -> dict[str, ibis.Value]:
    """The attributes derived from IMD decile and ethnic category, as analyses group by."""
    return {
        "imd_quintile": ((imd_decile + 1) // 2).cast("int16"),
        "ethnic_group": ethnicity.substitute(ETHNIC_GROUP, else_="Unknown"),
        "partnership": ibis.literal("all"),
    }


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
        **_grouped_attributes(p.imd_decile, p.ethnicity),
    )


def has_register(wh: Warehouse) -> bool:
    """Whether the warehouse holds a GP registration list (any row in ``person``).

    Without one (a partnership with activity data only) people's details come from
    activity records (:func:`activity_persons`), and there is no registered population
    to be a denominator.
    """
    p = wh.table("person")
    return bool(p.select("person_id").limit(1).count().execute())


def _facts(wh: Warehouse) -> ibis.Table:
    """The ``person_fact`` table (empty if the warehouse predates it)."""
    if wh.has_table("person_fact"):
        return wh.table("person_fact")
    return ibis.memtable(stored_schema(TABLES["person_fact"]).empty_table())


def _latest(facts: ibis.Table, field: str) -> ibis.Table:
    """Each person's most recent value of ``field`` in ``facts``: ``person_id``, ``field``.

    Empty values are skipped, and a known value comes before a "not known" code
    (:data:`NOT_KNOWN`) however old. Records of the same day are taken in the order of
    their source table, then of the value, so the choice is the same every run.
    """
    value = facts[field]
    known = value.notnull()
    if value.type().is_string():
        known &= value.strip() != ""
    t = facts.filter(known)
    value = t[field]
    unknown = value.isin(NOT_KNOWN[field]) if field in NOT_KNOWN else ibis.literal(False)
    order = [unknown, t.recorded_on.desc(), t.source_table, value]
    ranked = t.select(
        "person_id",
        field,
        _rank=ibis.row_number().over(group_by=t.person_id, order_by=order),
    )
    return ranked.filter(ranked._rank == 0).drop("_rank")


def activity_persons(wh: Warehouse) -> ibis.Table:
    """Every person seen in activity (``person_fact``) with the details activity records
    gave, in the columns of :func:`persons`: where there is no GP register.

    For each field the most recent known value is taken, field by field (one record may
    give the sex and an older one the ethnicity): year of birth (calendar year of
    ``recorded_on`` minus the age then: the later of the two years it can be, so that
    age as :func:`with_age` counts it, calendar year minus year of birth, is the age
    recorded on that date's year), sex, ethnicity, LSOA and from it the IMD decile (the
    ``lsoa`` table), and practice with its cluster and footprint (the ``practice``
    table). Nobody is registered: ``registered_from``, ``registered_to``,
    ``date_of_death`` and ``place_of_death`` are empty. ``lsoa_code`` is kept, and
    ``details_from`` is :data:`DETAILS_FROM_ACTIVITY` on every row: these details come
    from activity, not a register.
    """
    f = _facts(wh)
    f = f.mutate(year_of_birth=(f.recorded_on.year() - f.age).cast("int16"))
    people = f.select("person_id").distinct()
    for field in FACT_FIELDS:
        latest = _latest(f, field)
        people = people.left_join(latest, people.person_id == latest.person_id).drop(
            "person_id_right"
        )
    lsoa = wh.table("lsoa").select("lsoa_code", "imd_decile")
    pr = wh.table("practice").select("practice_code", "cluster_code", "footprint_code")
    joined = people.left_join(lsoa, people.lsoa_code == lsoa.lsoa_code).left_join(
        pr, people.practice_code == pr.practice_code
    )
    return joined.select(
        people.person_id,
        people.year_of_birth,
        people.sex,
        people.ethnicity,
        lsoa.imd_decile,
        people.practice_code,
        pr.cluster_code,
        pr.footprint_code,
        registered_from=ibis.null("date"),
        registered_to=ibis.null("date"),
        date_of_death=ibis.null("date"),
        place_of_death=ibis.null("string"),
        **_grouped_attributes(lsoa.imd_decile, people.ethnicity),
        lsoa_code=people.lsoa_code,
        details_from=ibis.literal(DETAILS_FROM_ACTIVITY),
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
