"""The identifiable-access audit log: who saw which person's record, when, where, why.

One row per record shown, written by the routes that show identifiable data (case
finding, a practice's feed and frequent attenders) through :func:`record_access`; the
information governance lead searches it (:func:`search_audit`). The table is
append-only: the database refuses UPDATE and DELETE (triggers made by the programme
store's migration ``0003_access``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, or_, select

from joinedup.access.accounts import User, aware, now
from joinedup.access.tables import audit_log


def record_access(
    engine: Engine,
    user: User,
    person_ids: list[str],
    practice_code: str | None,
    page: str,
    reason: str,
) -> None:
    """Append one audit row per identifiable record read (who, whose, when, where, why)."""
    if not person_ids:
        return
    at = now()
    rows = [
        {
            "at": at,
            "username": user.username,
            "role": user.role,
            "org_code": user.org_code,
            "person_id": pid,
            "practice_code": practice_code,
            "page": page,
            "reason": reason,
        }
        for pid in person_ids
    ]
    with engine.begin() as con:
        con.execute(insert(audit_log), rows)


AUDIT_COLUMNS = [
    "id",
    "at",
    "username",
    "role",
    "org_code",
    "person_id",
    "practice_code",
    "page",
    "reason",
]


def search_audit(
    engine: Engine,
    q: str | None = None,
    username: str | None = None,
    person_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 500,
) -> list[dict[str, Any]]:
    """Audit rows, newest first, filtered by user, person, time and free text."""
    stmt = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if username:
        stmt = stmt.where(audit_log.c.username == username)
    if person_id:
        stmt = stmt.where(audit_log.c.person_id == person_id)
    if since:
        stmt = stmt.where(audit_log.c.at >= since)
    if until:
        stmt = stmt.where(audit_log.c.at <= until)
    if q:
        like = f"%{q}%"
        stmt = stmt.where(
            or_(
                audit_log.c.username.like(like),
                audit_log.c.person_id.like(like),
                audit_log.c.page.like(like),
                audit_log.c.reason.like(like),
                audit_log.c.practice_code.like(like),
            )
        )
    with engine.connect() as con:
        out = []
        for r in con.execute(stmt):
            row = dict(r._mapping)
            row["at"] = aware(row["at"]).isoformat()
            out.append(row)
        return out
