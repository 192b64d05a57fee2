"""The change log listener is on every store's sessions, whatever their address.

SQLAlchemy's ``event.contains`` keys on ``id()``; a sessionmaker made where a freed one
was (Python reuses the address at once) was taken for it, so the listener was skipped
and that store's changes went unlogged (seen as a flaky concurrency test: every update
landed, no change log row).
"""

from __future__ import annotations

import pytest
from sqlalchemy import event
from sqlalchemy.orm import sessionmaker

from joinedup.programme.audit import install_audit

from .conftest import skip_or_fail

pytestmark = pytest.mark.unit


def _listening(sessions: sessionmaker) -> bool:
    return len(sessions.class_().dispatch.after_flush) > 0


def test_a_sessionmaker_at_a_freed_ones_address_gets_the_listener() -> None:
    """The defect as it happened: CPython reuses a freed sessionmaker's address."""
    for _ in range(20):
        first = sessionmaker()
        install_audit(first)
        address = id(first)
        del first
        made = [sessionmaker() for _ in range(50)]
        reused = [s for s in made if id(s) == address]
        if reused:
            break
    else:
        skip_or_fail("the interpreter never reused a freed sessionmaker's address in 20 tries")
    install_audit(reused[0])
    assert _listening(reused[0])


def test_listener_installed_even_where_sqlalchemy_thinks_it_is_there(monkeypatch) -> None:
    """The same defect without relying on the interpreter: SQLAlchemy's registry, keyed
    on id(), answers that the listener is already there for a sessionmaker that has none."""
    monkeypatch.setattr(event, "contains", lambda *args, **kwargs: True)
    sessions = sessionmaker()
    install_audit(sessions)
    assert _listening(sessions)


def test_installing_twice_listens_once() -> None:
    sessions = sessionmaker()
    install_audit(sessions)
    install_audit(sessions)
    assert len(sessions.class_().dispatch.after_flush) == 1
