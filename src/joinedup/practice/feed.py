"""A practice's activity feed: its registered patients' A&E attendances, emergency
admissions and discharges over a window, with the flags that matter to a GP.

The partnership asked for "real time data for General Practitioners to review on
Accident and Emergency attendances and Emergency Admissions". One row per event:

- ``ae_attendance``: an A&E attendance (any department type), dated on arrival;
- ``emergency_admission``: a spell whose admission method is emergency (2x), dated on
  admission;
- ``discharge``: the end of an ordinary or mother-and-baby spell (day cases and
  regular day or night attenders are left out), dated on discharge.

Flags are worked out from the warehouse, not from the window alone: the number of A&E
attendances in the 90 days up to and including the attendance (``third attendance in
90 days`` means three or more), whether an emergency admission came within 30 days of
an earlier discharge (from any hospital, any admission method), the long-term
conditions recorded by the event date, a residential or nursing care package open on
the event date, a programme enrolment open on the event date, the date of death, and
(when the caller passes it) whether the person is on the practice's case-finding list.

A patient belongs to the practice if they were registered with it on the event date.
Rows carry only the pseudonymised ``person_id``.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from joinedup.derived.events import READMISSION_WINDOW_DAYS as READMISSION_DAYS
from joinedup.practice.timeliness import newest_date, source_dates
from joinedup.schema.codes import AE_DISPOSAL, DISCHARGE_DESTINATION
from joinedup.warehouse import Warehouse

FEED_EVENTS = ("ae_attendance", "emergency_admission", "discharge")
EVENT_LABELS = {
    "ae_attendance": "A&E attendance",
    "emergency_admission": "Emergency admission",
    "discharge": "Discharge",
}
#: Sources the feed is built from (see :mod:`joinedup.practice.timeliness`).
FEED_SOURCES = ("ae", "apc_admissions", "apc_discharges")
#: Spells that are stays in a bed: ordinary admissions and mothers and babies.
ORDINARY_CLASSIFICATIONS = ("1", "5")
CARE_HOME_SERVICES = ("residential_care", "nursing_care")
REPEAT_AE_DAYS, REPEAT_AE_COUNT = 90, 3
#: Look back this far for flags (the repeat-attendance and readmission windows).
LOOKBACK_DAYS = max(REPEAT_AE_DAYS, READMISSION_DAYS) + 1

FEED_COLUMNS = [
    "person_id",
    "event",
    "date",
    "provider_code",
    "site_code",
    "age",
    "sex",
    "detail",
    "diagnosis",
    "diagnosis_chapter",
    "length_of_stay",
    "discharge_destination",
    "still_in_hospital",
    "ae_attendances_90d",
    "third_attendance_in_90_days",
    "readmission_within_30_days",
    "on_casefinding_list",
    "programme",
    "long_term_conditions",
    "care_home_resident",
    "died_on",
    "reasons",
]


class PracticeNotFound(LookupError):
    """The practice code is not in the warehouse."""


def check_practice(wh: Warehouse, practice_code: str) -> str:
    """The practice's name; :class:`PracticeNotFound` naming some known codes if absent."""
    pr = wh.table("practice")
    found = pr.filter(pr.practice_code == practice_code).select("name").execute()
    if found.empty:
        known = sorted(pr.select("practice_code").execute()["practice_code"])
        sample = ", ".join(known[:8]) + (", ..." if len(known) > 8 else "")
        raise PracticeNotFound(f"practice {practice_code!r} not found; known: {sample}")
    return str(found["name"].iloc[0])


def feed_window(wh: Warehouse, days: int = 7, end: date | None = None) -> tuple[date, date]:
    """The (first, last) day of a ``days``-day window ending on ``end`` (default: the
    newest A&E or admitted-care date held)."""
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    if end is None:
        end = newest_date(source_dates(wh), FEED_SOURCES)
        if end is None:
            raise ValueError("the warehouse holds no A&E attendances or hospital spells yet")
    return end - timedelta(days=days - 1), end


def registered_people(wh: Warehouse, practice_code: str):
    """Ibis table of everyone ever registered with the practice (one row per person)."""
    p = wh.table("person")
    return p.filter(p.practice_code == practice_code).select(
        "person_id", "year_of_birth", "sex", "registered_from", "registered_to", "date_of_death"
    )


def _registered_on(events: pd.DataFrame, people: pd.DataFrame) -> pd.DataFrame:
    """Events joined to the person, kept where the person was registered on the date."""
    out = events.merge(people, on="person_id", how="inner")
    start, stop = out["registered_from"], out["registered_to"]
    keep = (start.isna() | (start <= out["date"])) & (stop.isna() | (stop > out["date"]))
    return out[keep].reset_index(drop=True)


def _chapter(code: object) -> str | None:
    from joinedup.ingest.icd10 import chapter_name

    return chapter_name(str(code)) if isinstance(code, str) and code else None


def _load(wh: Warehouse, practice_code: str, start: date, end: date) -> dict[str, pd.DataFrame]:
    """The practice's people and their activity from ``start - LOOKBACK_DAYS`` to ``end``."""
    people = registered_people(wh, practice_code)
    since = start - timedelta(days=LOOKBACK_DAYS)
    ae = wh.table("ae_attendance").semi_join(people, "person_id")
    ae_day = ae.arrived_at.date()
    ae = ae.filter((ae_day >= since) & (ae_day <= end)).select(
        "person_id",
        "provider_code",
        "site_code",
        "arrival_mode",
        "disposal",
        "department_type",
        date=ae_day,
    )
    apc = wh.table("apc_spell").semi_join(people, "person_id")
    apc = apc.filter(
        (apc.admitted_on <= end) & (apc.discharged_on.isnull() | (apc.discharged_on >= since))
    ).select(
        "spell_id",
        "person_id",
        "provider_code",
        "site_code",
        "admitted_on",
        "discharged_on",
        "admission_method",
        "patient_classification",
        "discharge_destination",
        "primary_diagnosis",
    )
    cond = wh.table("condition").semi_join(people, "person_id")
    cond = cond.filter(cond.recorded_on <= end).select("person_id", "condition", "recorded_on")
    care = wh.table("social_care_service").semi_join(people, "person_id")
    care = care.filter(
        care.service_type.isin(CARE_HOME_SERVICES)
        & (care.started_on <= end)
        & (care.ended_on.isnull() | (care.ended_on >= start))
    ).select("person_id", "started_on", "ended_on")
    enrol = wh.table("programme_enrolment").semi_join(people, "person_id")
    enrol = enrol.filter(
        (enrol.enrolled_on <= end) & (enrol.left_on.isnull() | (enrol.left_on >= start))
    ).select("person_id", "programme", "enrolled_on", "left_on")
    return {
        "people": people.execute(),
        "ae": ae.execute(),
        "apc": apc.execute(),
        "condition": cond.execute(),
        "care": care.execute(),
        "enrolment": enrol.execute(),
    }


def _dates(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """Date columns as pandas timestamps (NaT for missing), so they compare cleanly."""
    for c in columns:
        frame[c] = pd.to_datetime(frame[c]).dt.normalize()
    return frame


def _open_on(intervals: pd.DataFrame, start: str, stop: str, rows: pd.DataFrame, value: str):
    """For each row (person_id, date) the ``value`` of an interval open on the date
    (first by start date), or None."""
    if intervals.empty or rows.empty:
        return [None] * len(rows)
    m = rows[["person_id", "date"]].reset_index().merge(intervals, on="person_id")
    ok = (m[start] <= m["date"]) & (m[stop].isna() | (m[stop] > m["date"]))
    m = m[ok].sort_values([start, value]).drop_duplicates("index")
    found = dict(zip(m["index"], m[value], strict=True))
    return [found.get(i) for i in rows.index]


def _conditions_by(cond: pd.DataFrame, rows: pd.DataFrame) -> list[str]:
    """Long-term conditions recorded on or before each row's date, sorted, '; '-joined."""
    if cond.empty or rows.empty:
        return [""] * len(rows)
    m = rows[["person_id", "date"]].reset_index().merge(cond, on="person_id")
    m = m[m["recorded_on"] <= m["date"]]
    words = m.groupby("index")["condition"].agg(lambda s: "; ".join(sorted(set(s))))
    return [words.get(i, "") for i in rows.index]


def _ae_counts(ae: pd.DataFrame) -> pd.Series:
    """For each attendance, the person's attendances in the 90 days up to and including it."""
    if ae.empty:
        return pd.Series([], dtype="int64")
    days = ae["date"].to_numpy()
    out = np.zeros(len(ae), dtype=np.int64)
    for _pid, idx in ae.groupby("person_id").indices.items():
        order = np.argsort(days[idx], kind="stable")
        d = days[idx][order]
        lo = np.searchsorted(d, d - np.timedelta64(REPEAT_AE_DAYS - 1, "D"), side="left")
        hi = np.searchsorted(d, d, side="right")
        out[np.asarray(idx)[order]] = hi - lo
    return pd.Series(out, index=ae.index)


def _readmissions(apc: pd.DataFrame) -> pd.Series:
    """Per spell: an emergency admission 0-29 days after an earlier discharge (the
    measure library's readmission window)."""
    if apc.empty:
        return pd.Series([], dtype=bool)
    emergency = apc["admission_method"].astype(str).str.startswith("2")
    earlier = apc[["person_id", "spell_id", "discharged_on"]].dropna(subset=["discharged_on"])
    m = (
        apc[["person_id", "spell_id", "admitted_on"]]
        .reset_index()
        .merge(earlier, on="person_id", suffixes=("", "_prev"))
    )
    gap = (m["admitted_on"] - m["discharged_on"]).dt.days
    hit = m[(m["spell_id"] != m["spell_id_prev"]) & (gap >= 0) & (gap < READMISSION_DAYS)]
    flagged = set(hit["index"])
    return pd.Series([i in flagged for i in apc.index], index=apc.index) & emergency


def _reasons(r: pd.Series) -> str:
    """Why a GP might act on this row, in words."""
    out = []
    if r["event"] == "ae_attendance" and r["third_attendance_in_90_days"]:
        out.append(f"{r['ae_attendances_90d']} A&E attendances in 90 days")
    if r["readmission_within_30_days"]:
        out.append("emergency readmission within 30 days of a discharge")
    alive_home = r["event"] == "discharge" and r["discharge_destination"] not in ("79", "98")
    if alive_home and (r["long_term_conditions"] or r["care_home_resident"]):
        out.append("discharged: check follow-up")
    if r["on_casefinding_list"]:
        out.append("on the case-finding list")
    if isinstance(r["programme"], str):
        out.append(f"enrolled: {r['programme'].replace('_', ' ')}")
    if r["care_home_resident"]:
        out.append("lives in a care home")
    if pd.notna(r["died_on"]):
        out.append(f"died {r['died_on']:%d %b %Y}")
    return "; ".join(out)


def activity_feed(
    wh: Warehouse,
    practice_code: str,
    days: int = 7,
    end: date | None = None,
    casefinding_ids: set[str] | None = None,
    events: tuple[str, ...] = FEED_EVENTS,
) -> pd.DataFrame:
    """The practice's feed over the ``days`` days ending ``end`` (default: the newest
    A&E or admitted-care date held), newest first, columns :data:`FEED_COLUMNS`.

    ``casefinding_ids`` are the person_ids on the practice's case-finding list (the
    caller's list, from the risk model); without it the flag is False throughout.
    ``attrs`` holds ``practice_code``, ``practice_name``, ``start`` and ``end``.
    Raises :class:`PracticeNotFound` or ValueError (bad ``days`` or ``events``).
    """
    unknown = set(events) - set(FEED_EVENTS)
    if unknown:
        raise ValueError(f"unknown feed events {sorted(unknown)}; expected {FEED_EVENTS}")
    name = check_practice(wh, practice_code)
    start, end = feed_window(wh, days, end)
    raw = _load(wh, practice_code, start, end)
    first, last = pd.Timestamp(start), pd.Timestamp(end)
    people = _dates(raw["people"], "registered_from", "registered_to", "date_of_death")
    ae = _dates(raw["ae"], "date")
    apc = _dates(raw["apc"], "admitted_on", "discharged_on")
    cond = _dates(raw["condition"], "recorded_on")
    care = _dates(raw["care"], "started_on", "ended_on")
    enrol = _dates(raw["enrolment"], "enrolled_on", "left_on")

    ae["ae_attendances_90d"] = _ae_counts(ae)
    apc["readmission_within_30_days"] = _readmissions(apc)
    apc["diagnosis_chapter"] = [_chapter(c) for c in apc["primary_diagnosis"]]

    parts = []
    if "ae_attendance" in events:
        a = ae[(ae["date"] >= first) & (ae["date"] <= last)]
        disposal = a["disposal"].map(AE_DISPOSAL)
        ambulance = np.where(a["arrival_mode"].astype(str) == "1", "arrived by ambulance; ", "")
        parts.append(
            a.assign(
                event="ae_attendance",
                detail=[
                    (
                        f"{amb}type {t} department"
                        if pd.notna(t)
                        else f"{amb}department type not known"
                    )
                    + (f"; {d}" if isinstance(d, str) else "")
                    for amb, t, d in zip(ambulance, a["department_type"], disposal, strict=True)
                ],
            )
        )
    stays = apc.rename(columns={"primary_diagnosis": "diagnosis"})
    if "emergency_admission" in events:
        e = stays[
            stays["admission_method"].astype(str).str.startswith("2")
            & (stays["admitted_on"] >= first)
            & (stays["admitted_on"] <= last)
        ]
        parts.append(
            e.assign(
                event="emergency_admission",
                date=e["admitted_on"],
                detail="emergency admission",
                still_in_hospital=e["discharged_on"].isna() | (e["discharged_on"] > last),
            )
        )
    if "discharge" in events:
        d = stays[
            stays["patient_classification"].astype(str).isin(ORDINARY_CLASSIFICATIONS)
            & stays["discharged_on"].notna()
        ]
        d = d[(d["discharged_on"] >= first) & (d["discharged_on"] <= last)]
        los = (d["discharged_on"] - d["admitted_on"]).dt.days
        parts.append(
            d.assign(
                event="discharge",
                date=d["discharged_on"],
                length_of_stay=los,
                detail=[
                    ("emergency" if str(m).startswith("2") else "planned")
                    + " stay; "
                    + DISCHARGE_DESTINATION.get(str(dest), "destination not recorded")
                    for m, dest in zip(
                        d["admission_method"], d["discharge_destination"], strict=True
                    )
                ],
                still_in_hospital=False,
            )
        )
    rows = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    for c in FEED_COLUMNS:
        if c not in rows:
            rows[c] = None
    if rows.empty:
        out = pd.DataFrame(columns=FEED_COLUMNS)
    else:
        rows = _registered_on(rows.drop(columns=["sex"]), people)
        rows["age"] = [r.year - y for r, y in zip(rows["date"], rows["year_of_birth"], strict=True)]
        rows["ae_attendances_90d"] = rows["ae_attendances_90d"].fillna(0).astype(int)
        rows["third_attendance_in_90_days"] = (rows["event"] == "ae_attendance") & (
            rows["ae_attendances_90d"] >= REPEAT_AE_COUNT
        )
        rows["readmission_within_30_days"] = rows["readmission_within_30_days"].fillna(False)
        rows["readmission_within_30_days"] = rows["readmission_within_30_days"].astype(bool)
        rows["still_in_hospital"] = rows["still_in_hospital"].fillna(False).astype(bool)
        ids = casefinding_ids or set()
        rows["on_casefinding_list"] = rows["person_id"].isin(ids)
        rows["programme"] = _open_on(enrol, "enrolled_on", "left_on", rows, "programme")
        rows["long_term_conditions"] = _conditions_by(cond, rows)
        rows["care_home_resident"] = [
            v is not None for v in _open_on(care, "started_on", "ended_on", rows, "started_on")
        ]
        rows["died_on"] = rows["date_of_death"]
        not_discharge = rows["event"] != "discharge"
        rows.loc[not_discharge, ["discharge_destination", "length_of_stay"]] = None
        order = {e: i for i, e in enumerate(FEED_EVENTS)}
        rows = rows.assign(_o=rows["event"].map(order)).sort_values(
            ["date", "_o", "person_id"], ascending=[False, True, True], kind="stable"
        )
        rows["reasons"] = [_reasons(r) for _, r in rows.iterrows()]
        out = rows[FEED_COLUMNS].reset_index(drop=True)
        out["date"] = out["date"].dt.date
        out["died_on"] = [None if pd.isna(d) else d.date() for d in out["died_on"]]
        out["length_of_stay"] = out["length_of_stay"].astype("Int64")
    out.attrs.update(practice_code=practice_code, practice_name=name, start=start, end=end)
    return out


def feed_summary(feed: pd.DataFrame) -> pd.DataFrame:
    """Counts of a feed by event (rows for every event, zero where none): what a cluster
    or footprint lead sees in place of the rows (suppress before it leaves)."""
    counts = feed.groupby("event").size() if len(feed) else pd.Series(dtype="int64")
    return pd.DataFrame(
        {
            "event": list(FEED_EVENTS),
            "label": [EVENT_LABELS[e] for e in FEED_EVENTS],
            "count": [int(counts.get(e, 0)) for e in FEED_EVENTS],
        }
    )


def activity_counts(wh: Warehouse, days: int = 7, end: date | None = None) -> pd.DataFrame:
    """Every practice's feed counted in one pass: one row per practice with columns
    ``practice_code`` and one count per :data:`FEED_EVENTS` (same definitions as
    :func:`activity_feed`: patients registered with the practice on the event date).
    ``attrs`` holds ``start`` and ``end``. Suppress before it leaves."""
    import ibis

    start, end = feed_window(wh, days, end)
    p = wh.table("person").select("person_id", "practice_code", "registered_from", "registered_to")
    ae = wh.table("ae_attendance")
    ae = ae.select("person_id", date=ae.arrived_at.date(), event=ibis.literal("ae_attendance"))
    apc = wh.table("apc_spell")
    em = apc.filter(apc.admission_method.startswith("2")).select(
        "person_id", date=apc.admitted_on, event=ibis.literal("emergency_admission")
    )
    dis = apc.filter(
        apc.patient_classification.isin(ORDINARY_CLASSIFICATIONS) & apc.discharged_on.notnull()
    ).select("person_id", date=apc.discharged_on, event=ibis.literal("discharge"))
    parts = [t.mutate(date=t.date.cast("date")) for t in (ae, em, dis)]
    ev = ibis.union(*(t.select("person_id", "date", "event") for t in parts))
    ev = ev.filter((ev.date >= start) & (ev.date <= end))
    j = ev.inner_join(p, "person_id")
    j = j.filter(
        (j.registered_from.isnull() | (j.registered_from <= j.date))
        & (j.registered_to.isnull() | (j.registered_to > j.date))
    )
    counts = j.group_by(["practice_code", "event"]).aggregate(n=ibis._.count()).execute()
    practices = wh.table("practice").select("practice_code").execute()["practice_code"]
    wide = counts.pivot_table(index="practice_code", columns="event", values="n", aggfunc="sum")
    wide = wide.reindex(index=sorted(practices), columns=list(FEED_EVENTS)).fillna(0)
    out = wide.astype("int64").rename_axis(index="practice_code", columns=None).reset_index()
    out.attrs.update(start=start, end=end)
    return out
