"""Derived views over the canonical tables, shared by every capability.

People with their attributes (age, footprint, cluster, deprivation quintile, ethnic
group), from the GP register or, without one, from activity records, and events with
the flags analyses ask about (emergency, readmitted within 30 days, ambulatory care
sensitive, in the last 90 days of life...). Each is an Ibis expression, so it runs
unchanged on every warehouse backend.
"""

from joinedup.derived.events import EVENT_SOURCES, event_source, source_fields
from joinedup.derived.persons import (
    AGE_BANDS,
    DETAILS_FROM_ACTIVITY,
    ESP2013_BANDS,
    activity_persons,
    has_register,
    persons,
    registered_population,
)

__all__ = [
    "AGE_BANDS",
    "DETAILS_FROM_ACTIVITY",
    "ESP2013_BANDS",
    "EVENT_SOURCES",
    "activity_persons",
    "event_source",
    "has_register",
    "persons",
    "registered_population",
    "source_fields",
]
