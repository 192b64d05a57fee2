"""The change log: every insert, update and delete of an editable row, field by field.

A listener on the store's sessions runs after each flush and writes one ``change_log``
row per changed field (old -> new), plus one row for each creation and deletion, on
the same connection and in the same transaction as the change: the change and its
history commit or roll back together. ``session.info["user"]`` names who made the
change and ``session.info["reason"]`` (optional) why.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import event, insert, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.programme.models import ChangeLog, Record

_SKIPPED = {"id", "version"}


def _text(value: Any) -> str | None:
    """A stored value as text for the log."""
    if value is None:
        return None
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, default=str)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _columns(obj: Record) -> list[str]:
    return [c.key for c in inspect(obj).mapper.column_attrs if c.key not in _SKIPPED]


def _rows(session: Session) -> list[dict[str, Any]]:
    user = str(session.info.get("user") or "system")
    reason = session.info.get("reason")
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = []

    def add(obj: Record, action: str, field: str | None, old: Any, new: Any) -> None:
        rows.append(
            {
                "entity": obj.__tablename__,
                "entity_id": obj.id,
                "action": action,
                "field": field,
                "old_value": _text(old),
                "new_value": _text(new),
                "row_version": obj.version,
                "reason": reason,
                "changed_by": user,
                "changed_at": now,
            }
        )

    for obj in session.new:
        if isinstance(obj, Record):
            add(obj, "create", None, None, obj.label)
    for obj in session.dirty:
        if not isinstance(obj, Record) or not session.is_modified(obj):
            continue
        state = inspect(obj)
        for key in _columns(obj):
            history = state.attrs[key].history
            if not history.has_changes():
                continue
            old = history.deleted[0] if history.deleted else None
            new = history.added[0] if history.added else None
            if _text(old) != _text(new):
                add(obj, "update", key, old, new)
    for obj in session.deleted:
        if isinstance(obj, Record):
            add(obj, "delete", None, obj.label, None)
    return rows


def _after_flush(session: Session, _context: Any) -> None:
    rows = _rows(session)
    if rows:
        session.connection().execute(insert(ChangeLog.__table__), rows)


def install_audit(sessions: sessionmaker[Session]) -> None:
    """Record every change made through ``sessions`` in the change log.

    Installed once per ``sessions``, marked on the object itself: SQLAlchemy's
    ``event.contains`` keys on ``id()``, and a sessionmaker made at the address of one
    already freed (whose Session class lives on until the garbage collector runs) was
    taken for it and left without the listener: a store whose changes went unlogged.
    """
    if getattr(sessions, "_joinedup_audited", False):
        return
    event.listen(sessions, "after_flush", _after_flush)
    sessions._joinedup_audited = True


def history(session: Session, entity: str | None = None, entity_id: int | None = None):
    """Change-log rows, oldest first, optionally for one table and row."""
    query = select(ChangeLog).order_by(ChangeLog.id)
    if entity is not None:
        query = query.where(ChangeLog.entity == entity)
    if entity_id is not None:
        query = query.where(ChangeLog.entity_id == entity_id)
    return list(session.scalars(query))
