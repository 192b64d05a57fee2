"""Frequent attenders: a practice's patients with repeated A&E attendances or emergency
admissions, with their pattern month by month.

The thresholds follow the NHS High Intensity Use programme's working definition (five
or more A&E attendances in a year) and a common local one for admissions (three or
more emergency admissions in a year); both can be changed. A patient qualifies on
either count, over the window ending on the newest A&E or admitted-care date held.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from joinedup.practice.feed import check_practice, feed_window, registered_people
from joinedup.warehouse import Warehouse

ATTENDER_COLUMNS = [
    "person_id",
    "age",
    "sex",
    "ae_attendances",
    "emergency_admissions",
    "bed_days",
    "last_event",
    "months",
    "pattern",
]


def _month_starts(start: date, end: date) -> list[pd.Timestamp]:
    first = pd.Timestamp(start).to_period("M")
    last = pd.Timestamp(end).to_period("M")
    return [p.to_timestamp() for p in pd.period_range(first, last, freq="M")]


def frequent_attenders(
    wh: Warehouse,
    practice_code: str,
    days: int = 365,
    end: date | None = None,
    min_ae: int = 5,
    min_admissions: int = 3,
) -> pd.DataFrame:
    """Patients registered with the practice at the end of the window who had at least
    ``min_ae`` A&E attendances or ``min_admissions`` emergency admissions in the
    ``days`` days ending ``end``; most activity first, columns :data:`ATTENDER_COLUMNS`.

    ``months`` is a list of the first day of each month of the window and ``pattern``
    the events (attendances plus admissions) in each of those months.
    """
    if min_ae < 1 or min_admissions < 1:
        raise ValueError("the thresholds must be at least 1")
    name = check_practice(wh, practice_code)
    start, end = feed_window(wh, days, end)
    people = registered_people(wh, practice_code)
    p = people.filter(
        (people.registered_from.isnull() | (people.registered_from <= end))
        & (people.registered_to.isnull() | (people.registered_to > end))
    )
    ae = wh.table("ae_attendance").semi_join(p, "person_id")
    day = ae.arrived_at.date()
    ae = ae.filter((day >= start) & (day <= end)).select("person_id", date=day)
    apc = wh.table("apc_spell").semi_join(p, "person_id")
    apc = apc.filter(
        apc.admission_method.startswith("2") & (apc.admitted_on >= start) & (apc.admitted_on <= end)
    ).select("person_id", "admitted_on", "discharged_on")
    ae_df = ae.execute()
    apc_df = apc.execute()
    ae_df["date"] = pd.to_datetime(ae_df["date"])
    apc_df["date"] = pd.to_datetime(apc_df["admitted_on"])
    # Bed days inside the window; a stay still open at the end counts to the end.
    stop = pd.to_datetime(apc_df["discharged_on"]).fillna(pd.Timestamp(end))
    apc_df["bed_days"] = (stop.clip(upper=pd.Timestamp(end)) - apc_df["date"]).dt.days
    counts = pd.DataFrame(
        {
            "ae_attendances": ae_df.groupby("person_id").size(),
            "emergency_admissions": apc_df.groupby("person_id").size(),
            "bed_days": apc_df.groupby("person_id")["bed_days"].sum(),
        }
    ).fillna(0)
    counts = counts.astype("int64")
    chosen = counts[
        (counts["ae_attendances"] >= min_ae) | (counts["emergency_admissions"] >= min_admissions)
    ]
    months = _month_starts(start, end)
    if chosen.empty:
        out = pd.DataFrame(columns=ATTENDER_COLUMNS)
    else:
        ids = list(chosen.index)
        events = pd.concat([ae_df[["person_id", "date"]], apc_df[["person_id", "date"]]])
        events = events[events["person_id"].isin(ids)]
        events["month"] = events["date"].dt.to_period("M").dt.to_timestamp()
        grid = events.groupby(["person_id", "month"]).size().unstack(fill_value=0)
        grid = grid.reindex(index=ids, columns=months, fill_value=0)
        last = events.groupby("person_id")["date"].max()
        who = p.filter(p.person_id.isin(ids)).select("person_id", "year_of_birth", "sex")
        who = who.execute().set_index("person_id")
        out = chosen.assign(
            age=end.year - who["year_of_birth"].reindex(chosen.index),
            sex=who["sex"].reindex(chosen.index),
            last_event=[d.date() for d in last.reindex(chosen.index)],
            months=[[m.date() for m in months]] * len(chosen),
            pattern=[list(map(int, grid.loc[i])) for i in chosen.index],
        )
        out = out.rename_axis("person_id").reset_index()
        out = out.sort_values(
            ["emergency_admissions", "ae_attendances", "bed_days", "person_id"],
            ascending=[False, False, False, True],
            kind="stable",
        )[ATTENDER_COLUMNS].reset_index(drop=True)
    out.attrs.update(
        practice_code=practice_code,
        practice_name=name,
        start=start,
        end=end,
        min_ae=min_ae,
        min_admissions=min_admissions,
        months=[m.date() for m in months],
    )
    return out


def pattern_text(pattern: list[int]) -> str:
    """A month-by-month pattern as a compact text sparkline (for the terminal)."""
    bars = " ▁▂▃▄▅▆▇█"
    top = max(pattern) if pattern else 0
    if top == 0:
        return "·" * len(pattern)
    return "".join("·" if v == 0 else bars[max(1, round(8 * v / top))] for v in pattern)
