"""The work programme as the app shows it, read from the programme store.

The programme store (``joinedup.programme``) is its own capability; this module only
calls its service functions. If the store cannot be opened (not installed, not yet
migrated, unreachable) the pages say so instead of failing.
"""

from __future__ import annotations

import threading
from datetime import date
from typing import Any

_stores: dict[str, Any] = {}
_lock = threading.Lock()


class ProgrammeUnavailable(RuntimeError):
    """The programme store could not be opened."""


def store(url: str) -> Any:
    """The (cached) open programme store at ``url``."""
    with _lock:
        if url not in _stores:
            try:
                from joinedup.programme.store import open_store

                _stores[url] = open_store(url)
            except Exception as exc:
                raise ProgrammeUnavailable(
                    f"the programme store at {url} is not available: {exc}"
                ) from exc
        return _stores[url]


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def programme_summary(url: str, today: date | None = None) -> dict[str, Any]:
    """Workstreams (RAG), milestones, open risks, decisions awaiting partners and
    innovations; ``available`` False (with ``reason``) when the store cannot be read."""
    try:
        st = store(url)
        from sqlalchemy import select

        from joinedup.programme import service
        from joinedup.programme.models import Innovation

        with st.session() as s:
            ws = service.workstream_summary(s, today)
            ms = [{k: _iso(v) for k, v in m.items()} for m in service.milestone_rows(s, today)]
            risks = [
                {
                    "id": r.id,
                    "title": r.title,
                    "owner": r.owner,
                    "likelihood": r.likelihood,
                    "impact": r.impact,
                    "score": r.likelihood * r.impact,
                    "status": r.status,
                }
                for r in service.open_risks(s)
            ]
            decisions = [
                {
                    "id": d.id,
                    "title": d.title,
                    "meeting": d.meeting,
                    "meeting_on": _iso(d.meeting_on),
                    "owner": d.owner,
                    "due": _iso(d.due),
                    "status": d.status,
                }
                for d in service.decisions_awaiting_partners(s)
            ]
            innovations = [
                {
                    "id": i.id,
                    "title": i.title,
                    "stage": i.stage,
                    "owner": i.owner,
                    "cost_pounds": i.cost_pounds,
                    "last_reviewed": _iso(i.last_reviewed),
                }
                for i in s.scalars(select(Innovation).order_by(Innovation.title))
            ]
            standards = service.standards_variation(s)
    except ProgrammeUnavailable as exc:
        return {"available": False, "reason": str(exc)}
    return {
        "available": True,
        "workstreams": ws,
        "milestones": ms,
        "risks": risks,
        "decisions": decisions,
        "innovations": innovations,
        "standards": standards,
    }


def milestone_statuses() -> dict[str, str]:
    """Allowed milestone statuses and their meaning."""
    from joinedup.programme.vocab import MILESTONE_STATUSES

    return MILESTONE_STATUSES


def edit_milestone(
    url: str,
    user: str,
    ident: int,
    version: int,
    status: str,
    forecast: date | None,
    notes: str | None,
) -> None:
    """Change a milestone's status, forecast and notes as ``user`` (kept in the change
    log); raises the store's errors (stale version, bad status) for the page to show."""
    from joinedup.programme import service

    values: dict[str, Any] = {"status": status, "forecast": forecast}
    if notes:
        values["notes"] = notes
    with store(url).session(user=user) as s:
        service.update_milestone(s, ident, version, **values)
