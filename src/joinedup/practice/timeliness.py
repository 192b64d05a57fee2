"""How fresh each source is: the latest date it holds, and whether it is late.

Partners send extracts on different cycles (A&E and admissions weekly or daily,
outpatients and community monthly, social care quarterly). A view built on several
sources is only as current as the oldest of them, so every practice view states the
latest date per source and warns when one lags the newest source by more than its
expected cycle. Lateness is judged against the newest data held, not today's date,
so an archive or the synthetic demo (which ends in the past) is not all "late".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from joinedup.warehouse import Warehouse


@dataclass(frozen=True)
class Source:
    """A source of activity: where its dates live and how often it should arrive."""

    name: str
    label: str
    table: str
    column: str
    cycle_days: int  # a source more than this far behind the newest is late


SOURCES: tuple[Source, ...] = (
    Source("ae", "A&E attendances (ECDS)", "ae_attendance", "arrived_at", 7),
    Source("apc_admissions", "Admissions (APC)", "apc_spell", "admitted_on", 7),
    Source("apc_discharges", "Discharges (APC)", "apc_spell", "discharged_on", 7),
    Source("op", "Outpatient appointments", "op_appointment", "date", 35),
    Source("gp", "GP appointments", "gp_appointment", "date", 7),
    Source("community", "Community contacts", "community_contact", "date", 35),
    Source("social_care", "Social care packages", "social_care_service", "started_on", 100),
    Source("deaths", "Deaths", "person", "date_of_death", 35),
)


def source_dates(wh: Warehouse, sources: tuple[Source, ...] = SOURCES) -> pd.DataFrame:
    """One row per source: ``source``, ``label``, ``latest`` (date or NaT when the source
    is empty), ``days_behind`` the newest source, ``cycle_days`` and ``late`` (bool;
    an empty source is late). ``attrs["newest"]`` is the newest date of any source.
    """
    rows = []
    for s in sources:
        t = wh.table(s.table)
        col = t[s.column]
        latest = t.aggregate(latest=col.max()).execute()["latest"].iloc[0]
        rows.append(
            {
                "source": s.name,
                "label": s.label,
                "latest": None if pd.isna(latest) else pd.Timestamp(latest).date(),
                "cycle_days": s.cycle_days,
            }
        )
    frame = pd.DataFrame(rows)
    held = [d for d in frame["latest"] if d is not None]
    newest = max(held) if held else None
    behind = [None if d is None or newest is None else (newest - d).days for d in frame["latest"]]
    frame["days_behind"] = pd.Series(behind, dtype=object)  # whole days, None if no data
    frame["late"] = [
        d is None or (behind is not None and behind > cycle)
        for d, behind, cycle in zip(
            frame["latest"], frame["days_behind"], frame["cycle_days"], strict=True
        )
    ]
    frame.attrs["newest"] = newest
    return frame


def warnings_for(frame: pd.DataFrame, names: tuple[str, ...] | None = None) -> list[str]:
    """Plain-English warnings for the late sources of :func:`source_dates` (all sources,
    or only ``names``)."""
    out = []
    for r in frame.itertuples():
        if names is not None and r.source not in names:
            continue
        if r.latest is None:
            out.append(f"{r.label}: no data held.")
        elif r.late:
            out.append(
                f"{r.label}: latest data {r.latest:%d %b %Y}, {r.days_behind} days behind "
                f"the newest source (expected within {r.cycle_days} days)."
            )
    return out


def newest_date(frame: pd.DataFrame, names: tuple[str, ...]) -> date | None:
    """The newest date held by any of the sources ``names``."""
    held = [d for s, d in zip(frame["source"], frame["latest"], strict=True) if s in names and d]
    return max(held) if held else None
