"""The work programme in summary, as the web app and the board pack show it.

Workstreams with their RAG, milestones, open risks, decisions awaiting partners,
innovations and standards, read through the service functions from an open store kept
per URL. If the store cannot be opened (not yet migrated, unreachable) the summary
says so (``available`` False with a ``reason``) instead of failing. A summary is kept
until the store's change log moves on, so pages read it once per change, not once
per request.
"""

from __future__ import annotations

import threading
from datetime import date
from typing import Any

_stores: dict[str, Any] = {}
_summaries: dict[tuple[str, date, int | None], dict[str, Any]] = {}
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
    """Workstreams (RAG as on ``today``), milestones, open risks, decisions awaiting
    partners, innovations and standards; ``available`` False (with ``reason``) when the
    store cannot be read. Kept until the store's change log moves on (or the day
    changes): do not change the dict returned."""
    from sqlalchemy import func, select

    from joinedup.programme.models import ChangeLog

    day = today or date.today()
    try:
        st = store(url)
        with st.session() as s:
            version = s.scalar(select(func.max(ChangeLog.id)))
    except ProgrammeUnavailable as exc:
        return {"available": False, "reason": str(exc)}
    key = (url, day, version)
    with _lock:
        if key in _summaries:
            return _summaries[key]
    found = _summary(st, day)
    with _lock:
        for old in [k for k in _summaries if k[0] == url]:
            del _summaries[old]
        _summaries[key] = found
    return found


def _summary(st: Any, today: date) -> dict[str, Any]:
    """The summary of the open store ``st``, read now."""
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
                "evaluated_programme": i.evaluated_programme,
                "version": i.version,
            }
            for i in s.scalars(select(Innovation).order_by(Innovation.title))
        ]
        standards = service.standards_variation(s)
    return {
        "available": True,
        "workstreams": ws,
        "milestones": ms,
        "risks": risks,
        "decisions": decisions,
        "innovations": innovations,
        "standards": standards,
    }
