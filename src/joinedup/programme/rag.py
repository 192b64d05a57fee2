"""RAG (red, amber, green) ratings of milestones and workstreams, by documented rules.

A milestone's rating, on a given day, is the first rule that applies:

1. an override set by a person (with a reason, kept in the change log) wins;
2. complete -> green; cancelled -> no rating (left out of the workstream's rating);
3. blocked -> red;
4. overdue (the day is after the due date and it is not complete) -> red;
5. forecast more than ``SLIP_RED_DAYS`` (30) days after the due date -> red;
6. forecast after the due date (by 1 to 30 days) -> amber;
7. status at risk -> amber;
8. not started and due within ``START_WARNING_DAYS`` (30) days (due date included) -> amber;
9. otherwise green.

A workstream's rating is its override if set, else the worst rating of its
milestones (red over amber over green); no rated milestones -> no rating.
"""

from __future__ import annotations

from datetime import date, timedelta

from joinedup.programme.models import Milestone, Workstream

SLIP_RED_DAYS = 30
START_WARNING_DAYS = 30

_ORDER = {"green": 0, "amber": 1, "red": 2}


def derived_milestone_rag(milestone: Milestone, today: date) -> tuple[str | None, str]:
    """The rating rules 2-9 give (ignoring any override) and the rule's wording."""
    status, due, forecast = milestone.status, milestone.due, milestone.forecast
    if status == "complete":
        return "green", "complete"
    if status == "cancelled":
        return None, "cancelled"
    if status == "blocked":
        return "red", "blocked"
    if today > due:
        return "red", f"overdue by {(today - due).days} days"
    if forecast is not None and forecast > due + timedelta(days=SLIP_RED_DAYS):
        return "red", f"forecast {(forecast - due).days} days late"
    if forecast is not None and forecast > due:
        return "amber", f"forecast {(forecast - due).days} days late"
    if status == "at_risk":
        return "amber", "at risk"
    if status == "not_started" and (due - today).days <= START_WARNING_DAYS:
        return "amber", f"not started, due in {(due - today).days} days"
    return "green", "on track"


def milestone_rag(milestone: Milestone, today: date | None = None) -> str | None:
    """The milestone's rating on ``today`` (default: the current date)."""
    return milestone_rag_explained(milestone, today)[0]


def milestone_rag_explained(
    milestone: Milestone, today: date | None = None
) -> tuple[str | None, str]:
    """The milestone's rating and why (the rule, or the override and its reason)."""
    if milestone.rag_override:
        return milestone.rag_override, f"override: {milestone.rag_override_reason}"
    return derived_milestone_rag(milestone, today or date.today())


def worst(ratings: list[str | None]) -> str | None:
    """The worst of several ratings (None ignored; None when nothing is rated)."""
    rated = [r for r in ratings if r is not None]
    return max(rated, key=_ORDER.__getitem__) if rated else None


def workstream_rag(workstream: Workstream, today: date | None = None) -> str | None:
    """The workstream's rating: its override, else the worst of its milestones."""
    if workstream.rag_override:
        return workstream.rag_override
    return worst([milestone_rag(m, today) for m in workstream.milestones])
