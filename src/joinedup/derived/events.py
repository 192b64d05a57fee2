"""Event sources: each canonical activity table with person attributes and derived flags.

Every source has ``person_id``, ``event_date`` (a date), the person's attributes at the
event (age, age_band, esp_band, sex, imd_quintile, ethnic_group, practice_code,
cluster_code, footprint_code, partnership) and flags of its own. Measures filter and
count these; adding a flag here makes it available to every measure definition.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import ibis

from joinedup.derived import codelists
from joinedup.derived.persons import persons, with_age
from joinedup.schema import codes
from joinedup.warehouse import Warehouse

# Bed days beyond this length of stay are "excess" (a single trim point for all spells,
# a simplification of the HRG-specific trim points of the national tariff).
EXCESS_BED_DAY_TRIM_POINT = 14
READMISSION_WINDOW_DAYS = 30
# Discharge-dated measures start in the first month beginning more than this many days
# after the earliest admission held (see apc_discharges): 31 to 61 days of admissions
# before their first discharge, so that only stays of over a month could be missing.
DISCHARGE_LOOK_BACK_DAYS = 30


def _starts_with_any(value: ibis.Value, prefixes: tuple[str, ...]) -> ibis.Value:
    """``value`` starts with one of ``prefixes`` (missing where ``value`` is missing).

    One set lookup per prefix length (a code list has two or three), not one
    comparison per prefix: the chronic ACSC list alone has 80.
    """
    out = ibis.literal(False)
    for length in sorted({len(p) for p in prefixes}):
        out = out | value.substr(0, length).isin([p for p in prefixes if len(p) == length])
    return out


def _flagged_spells(wh: Warehouse) -> ibis.Table:
    """Hospital spells with admission type, length of stay, readmission and case-mix flags.

    Unfinished spells (no discharge date; discharge destination 98) have no length of
    stay: ``los_days`` and the flags built on it are null, and they are never readmitted.
    """
    s = wh.table("apc_spell")
    d = wh.table("apc_diagnosis")

    def coded(prefixes: tuple[str, ...], name: str) -> ibis.Table:
        hit = d.filter(_starts_with_any(d.icd10, prefixes))
        return hit.select("spell_id").distinct().mutate(**{name: ibis.literal(True)})

    s = s.left_join(coded(codelists.CANCER, "cancer_coded"), "spell_id").drop("spell_id_right")
    s = s.left_join(coded(codelists.FALL_EXTERNAL_CAUSE, "fall_cause"), "spell_id").drop(
        "spell_id_right"
    )
    emergency = s.admission_method.isin(codes.EMERGENCY_METHODS)
    elective = s.admission_method.isin(codes.ELECTIVE_METHODS)
    cancer = s.cancer_coded.fill_null(False) | _starts_with_any(
        s.primary_diagnosis, codelists.CANCER
    ).fill_null(False)
    obstetric = s.specialty.isin(codelists.OBSTETRIC_SPECIALTIES).fill_null(False)
    los = s.discharged_on.delta(s.admitted_on, unit="day")
    # The next emergency admission of the same person after this one (ties by spell id)
    # that the national indicator counts as a readmission: not for cancer, not obstetric.
    readmission = emergency & ~cancer & ~obstetric
    # The window sorts just the columns it needs (sorting whole spells is several times
    # slower), and is joined back by spell.
    w = s.select("spell_id", "person_id", "admitted_on", counts=readmission)
    later = ibis.window(group_by=w.person_id, order_by=[w.admitted_on, w.spell_id], rows=(1, None))
    first_later = ibis.cases((w.counts, w.admitted_on), else_=None).min().over(later)
    w = w.select("spell_id", next_emergency=first_later)
    s = s.left_join(w, "spell_id").drop("spell_id_right")
    next_emergency = s.next_emergency
    spells = s.mutate(
        emergency=emergency,
        elective=elective & (s.patient_classification == "1"),
        daycase=elective & (s.patient_classification == "2"),
        maternity=s.admission_method.isin(codes.MATERNITY_METHODS),
        ordinary=s.patient_classification == "1",
        finished=s.discharged_on.notnull(),
        cancer=cancer,
        obstetric=obstetric,
        los_days=los,
        zero_los=los == 0,
        stay_21_plus=los >= 21,
        excess_bed_days=ibis.greatest(los - EXCESS_BED_DAY_TRIM_POINT, 0),
        died_in_hospital=s.discharge_destination == "79",
        # Within 30 days: 0 to 29 days after the day of discharge (NHS Digital I02040).
        readmitted_30d=(
            next_emergency.notnull()
            & (next_emergency >= s.discharged_on)
            & (next_emergency.delta(s.discharged_on, unit="day") < READMISSION_WINDOW_DAYS)
            & (s.discharge_destination != "79")
        ).fill_null(False),
        chronic_acsc=_starts_with_any(s.primary_diagnosis, codelists.CHRONIC_ACSC).fill_null(False),
        hip_fracture=_starts_with_any(s.primary_diagnosis, codelists.HIP_FRACTURE).fill_null(False),
        fall=(
            s.fall_cause.fill_null(False)
            & _starts_with_any(s.primary_diagnosis, codelists.INJURY_PRIMARY)
        ).fill_null(False),
    )
    return spells.drop("cancer_coded", "fall_cause", "next_emergency")


def _last_90_days_of_life(spells: ibis.Table) -> ibis.Table:
    """Spells (with the person's date of death) flagged if admitted within 90 days of it."""
    return spells.mutate(
        last_90_days_of_life=(
            spells.date_of_death.notnull()
            & (spells.date_of_death.delta(spells.admitted_on, unit="day") <= 90)
        ).fill_null(False)
    )


def apc_spells(wh: Warehouse) -> ibis.Table:
    """Hospital spells dated by admission, finished or not, with their flags."""
    s = _flagged_spells(wh)
    return s.mutate(event_date=s.admitted_on)


def apc_discharges(wh: Warehouse) -> ibis.Table:
    """Finished hospital spells dated by discharge, with the flags of ``apc_spell``.

    Length of stay is known only for finished spells, and every spell discharged in a
    period has finished by the period's end, so measures of length of stay count these:
    their latest period is as complete as any other. Spells still in hospital when the
    data end (no discharge date) are left out.

    Discharges before the first calendar month that starts more than
    ``DISCHARGE_LOOK_BACK_DAYS`` days after the earliest admission held are left out
    too. Data that start with admissions (the synthetic economy; an extract by
    admission date) hold none of the stays that began before they start, so their
    first weeks of discharges would be only the short stays. Where the data hold
    admissions long before the period analysed, as an extract by discharge date does,
    nothing is left out.
    """
    s = _flagged_spells(wh)
    # Over a projection of the table, not the table: Ibis would otherwise take the
    # table's column for that of the flagged spells derived from it, and compute them
    # (window and all) a second time for the minimum.
    first = wh.table("apc_spell").select("admitted_on").admitted_on.min()
    later = first + ibis.interval(days=DISCHARGE_LOOK_BACK_DAYS)
    cutoff = later.truncate("M") + ibis.interval(months=1)  # the month after ``later``'s
    s = s.filter(s.discharged_on.notnull() & (s.discharged_on >= cutoff))
    return s.mutate(event_date=s.discharged_on)


def ae_attendances(wh: Warehouse) -> ibis.Table:
    """A&E attendances with type 1, ambulance arrival, admission and duration flags."""
    a = wh.table("ae_attendance")
    minutes = a.departed_at.delta(a.arrived_at, unit="minute")
    return a.mutate(
        event_date=a.arrived_at.date(),
        type1=(a.department_type == 1).fill_null(False),
        ambulance=(a.arrival_mode == "1").fill_null(False),
        admitted=a.disposal.isin(codes.AE_ADMITTED).fill_null(False),
        minutes_in_department=minutes,
        over_4_hours=(minutes > 240).fill_null(False),
    )


def op_appointments(wh: Warehouse) -> ibis.Table:
    """Outpatient appointments: first or follow-up, seen, did not attend."""
    o = wh.table("op_appointment")
    return o.mutate(
        event_date=o.date,
        first=o.first_attendance,
        followup=~o.first_attendance,
        seen=o.attended.isin(codes.OP_SEEN),
        dna=o.attended.isin(codes.OP_DNA),
        seen_or_dna=o.attended.isin((*codes.OP_SEEN, *codes.OP_DNA)),
    )


def gp_appointments(wh: Warehouse) -> ibis.Table:
    """Appointments in general practice."""
    g = wh.table("gp_appointment").rename(appointment_practice="practice_code")
    return g.mutate(event_date=g.date, face_to_face=g["mode"] == "face_to_face")


def community_contacts(wh: Warehouse) -> ibis.Table:
    """Community health service contacts."""
    c = wh.table("community_contact")
    return c.mutate(event_date=c.date)


def social_care_starts(wh: Warehouse) -> ibis.Table:
    """Social care packages, dated by their start."""
    s = wh.table("social_care_service")
    return s.mutate(
        event_date=s.started_on,
        long_term=s.service_type.isin(codes.SOCIAL_CARE_LONG_TERM),
        residential_or_nursing=s.service_type.isin(("residential_care", "nursing_care")),
    )


def deaths(wh: Warehouse) -> ibis.Table:
    """Deaths, with the place of death."""
    p = wh.table("person")
    d = p.filter(p.date_of_death.notnull()).select(
        "person_id", event_date=p.date_of_death, place=p.place_of_death
    )
    return d.mutate(
        usual_residence=d.place.isin(("home", "care_home")).fill_null(False),
        in_hospital=(d.place == "hospital").fill_null(False),
    )


def enrolments(wh: Warehouse) -> ibis.Table:
    """Programme enrolments, dated by enrolment."""
    e = wh.table("programme_enrolment")
    return e.mutate(event_date=e.enrolled_on)


def feedback(wh: Warehouse) -> ibis.Table:
    """What people report, dated by response; anonymous answers keep their place.

    Person attributes are joined where the answer is linked to a person (they are null
    for anonymous answers, which still count by provider, setting and partnership):
    see ``ANONYMOUS_SOURCES``.
    """
    f = wh.table("feedback_response")
    fft = f.instrument == "fft"
    answered = fft & (f.answer_code != "6")  # "don't know" counts in FFT's denominator
    return f.mutate(
        event_date=f.responded_on,
        fft=fft,
        fft_positive=fft & f.answer_code.isin(codes.FFT_POSITIVE),
        fft_negative=fft & f.answer_code.isin(codes.FFT_NEGATIVE),
        fft_answered=answered,
        confident=(f.instrument == "ltc_confidence") & f.answer_code.isin(("1", "2")),
        has_comment=f.comment.notnull(),
    ).drop("comment")


EVENT_SOURCES: dict[str, Callable[[Warehouse], ibis.Table]] = {
    "apc_spell": apc_spells,
    "apc_discharge": apc_discharges,
    "ae_attendance": ae_attendances,
    "op_appointment": op_appointments,
    "gp_appointment": gp_appointments,
    "community_contact": community_contacts,
    "social_care_start": social_care_starts,
    "death": deaths,
    "programme_enrolment": enrolments,
    "feedback": feedback,
}


#: Sources whose events need not be linked to a person: they keep every event (a left
#: join), with the person's attributes missing where there is none.
ANONYMOUS_SOURCES = frozenset({"feedback"})
#: Sources read from the GP register (the ``person`` table), with what they count: none
#: without a register (activity data only, see :func:`joinedup.derived.has_register`).
REGISTER_SOURCES: dict[str, str] = {"death": "deaths, which the GP register records"}
#: Fields built on what only the GP register holds (the date of death).
REGISTER_FIELDS: dict[str, str] = {"last_90_days_of_life": "dates of death from the GP register"}
#: Flags that need the person's attributes, added after they are joined.
PERSON_FLAGS: dict[str, Callable[[ibis.Table], ibis.Table]] = {
    "apc_spell": _last_90_days_of_life,
    "apc_discharge": _last_90_days_of_life,
}
#: Person fields that are not attributes of an event.
NOT_EVENT_FIELDS = ("registered_from", "registered_to", "place_of_death", "partnership")


def event_source(
    wh: Warehouse, name: str, people: ibis.Table | None = None, *, unlinked: bool = False
) -> ibis.Table:
    """The event source ``name`` over warehouse ``wh``: its events with the person's
    attributes (joined by ``person_id``), age at the event and its bands.

    ``people``: the person table to join (default :func:`persons` without
    ``NOT_EVENT_FIELDS``); it may carry more columns, which the events then carry too.
    Events of a person not in it are left out, except in ``ANONYMOUS_SOURCES`` and with
    ``unlinked`` (people's details from activity records, which may not cover everyone
    seen: see :func:`joinedup.derived.persons.activity_persons`), where they are kept
    with the person's attributes missing.
    """
    try:
        builder = EVENT_SOURCES[name]
    except KeyError:
        known = ", ".join(EVENT_SOURCES)
        raise KeyError(f"unknown event source {name!r}; expected one of: {known}") from None
    events = builder(wh)
    p = persons(wh).drop(*NOT_EVENT_FIELDS) if people is None else people
    if name in ANONYMOUS_SOURCES or unlinked:
        joined = events.left_join(p, events.person_id == p.person_id).drop("person_id_right")
    else:
        joined = events.inner_join(p, "person_id")
    joined = with_age(joined.mutate(partnership=ibis.literal("all")), joined.event_date)
    flags = PERSON_FLAGS.get(name)
    return flags(joined) if flags else joined


class _SchemaOnly:
    """Stands in for a warehouse: unbound tables with the stored schemas, no data."""

    def table(self, name: str) -> ibis.Table:
        from joinedup.schema import TABLES
        from joinedup.warehouse.base import stored_schema

        return ibis.table(ibis.Schema.from_pyarrow(stored_schema(TABLES[name])), name=name)


@cache
def source_fields(name: str) -> tuple[str, ...]:
    """Field names of an event source (read from the schema, no data needed)."""
    return tuple(event_source(_SchemaOnly(), name).columns)  # type: ignore[arg-type]
