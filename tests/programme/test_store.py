"""The programme store on SQLite and on a real PostgreSQL server: migrations, optimistic
locking, concurrent writers, the change log and validation."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from joinedup.access import tables as access_tables
from joinedup.programme import service
from joinedup.programme.audit import history
from joinedup.programme.errors import ConflictError, InvalidValueError, NotFoundError
from joinedup.programme.models import Base, Milestone, Partnership, Score, Workstream
from joinedup.programme.store import (
    current_revision,
    head_revision,
    make_engine,
    migrate,
    open_store,
)

pytestmark = pytest.mark.integration


def _milestone(store) -> int:
    with store.session("setup") as s:
        ws = service.create(s, Workstream, code="STR", name="Stroke", priority=1)
        m = service.create(
            s, Milestone, workstream_id=ws.id, title="Go live", due=date(2027, 3, 31)
        )
        return m.id


def test_migrates_up_from_empty_and_matches_the_models(store_url: str) -> None:
    engine = make_engine(store_url)
    assert current_revision(engine) is None
    migrate(engine)
    assert current_revision(engine) == head_revision()
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) | set(access_tables.metadata.tables) <= tables
    # The migrations build exactly the schema the models (and the access tables) describe.
    with engine.connect() as connection:
        diff = compare_metadata(
            MigrationContext.configure(connection), [Base.metadata, access_tables.metadata]
        )
    assert diff == []
    engine.dispose()


def test_upgrades_an_old_database_keeping_its_data(store_url: str) -> None:
    engine = make_engine(store_url)
    migrate(engine, "0001")
    assert "criterion" not in inspect(engine).get_table_names()
    with engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO workstream (code, name, status, version) "
                "VALUES ('DIA', 'Diabetes', 'active', 1)"
            )
        )
    engine.dispose()
    store = open_store(store_url)  # upgrades to the newest revision
    try:
        assert current_revision(store.engine) == head_revision()
        with store.session() as s:
            assert [w.name for w in service.workstreams(s)] == ["Diabetes"]
            assert len(service.ensure_default_criteria(s)) == 7
    finally:
        store.close()


def test_stale_edit_is_refused_with_a_conflict(store) -> None:
    mid = _milestone(store)
    first, second = store.sessions(), store.sessions()
    try:
        a, b = first.get(Milestone, mid), second.get(Milestone, mid)
        assert a.version == b.version == 1
        a.status = "in_progress"
        first.commit()
        b.status = "at_risk"
        with pytest.raises(ConflictError, match="changed by someone else"):
            service._flush(second, b)
    finally:
        first.close()
        second.close()
    # The expected-version check of the API refuses an edit based on version 1 too.
    with (
        pytest.raises(ConflictError, match="at version 2, not 1") as caught,
        store.session("bob") as s,
    ):
        service.update_milestone(s, mid, 1, status="complete")
    assert (caught.value.expected_version, caught.value.current_version) == (1, 2)
    with store.session() as s:
        assert s.get(Milestone, mid).status == "in_progress"


def test_many_concurrent_writers_lose_no_update(store) -> None:
    with store.session("setup") as s:
        pid = service.create(s, Partnership, name="P", population=0).id
    writers, increments = 8, 5
    conflicts: list[int] = []
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            done = 0
            while done < increments:
                try:
                    with store.session(f"writer{n}") as s:
                        p = s.get(Partnership, pid)
                        service.update(s, Partnership, pid, p.version, population=p.population + 1)
                    done += 1
                except ConflictError:
                    conflicts.append(n)  # someone else got there first: read again and retry
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with store.session() as s:
        p = s.get(Partnership, pid)
        assert p.population == writers * increments
        assert p.version == 1 + writers * increments
        log = [h for h in history(s, "partnership", pid) if h.field == "population"]
    # One log entry per successful increment, each from the value the writer read.
    assert len(log) == writers * increments
    assert sorted(int(h.new_value) for h in log) == list(range(1, writers * increments + 1))
    assert all(int(h.new_value) == int(h.old_value) + 1 for h in log)


def test_change_log_records_who_what_when_old_and_new(store) -> None:
    mid = _milestone(store)
    with store.session("alice") as s:
        service.update_milestone(s, mid, 1, status="at risk", forecast=date(2027, 4, 30))
    with store.session("bob") as s:
        service.override_rag(s, Milestone, mid, "red", "Supplier has withdrawn", 2)
    with store.session() as s:
        log = history(s, "milestone", mid)
        assert [(h.action, h.field, h.old_value, h.new_value, h.changed_by, h.row_version)
                for h in log] == [
            ("create", None, None, "Go live", "setup", 1),
            ("update", "forecast", None, "2027-04-30", "alice", 2),
            ("update", "status", "not_started", "at_risk", "alice", 2),
            ("update", "rag_override", None, "red", "bob", 3),
            ("update", "rag_override_reason", None, "Supplier has withdrawn", "bob", 3),
        ]  # fmt: skip
        assert log[-1].reason == "Supplier has withdrawn"
        assert all(h.changed_at is not None for h in log)
    # The database itself refuses to rewrite history.
    with pytest.raises(DBAPIError), store.engine.begin() as c:
        c.execute(text("UPDATE change_log SET changed_by = 'mallory'"))
    with pytest.raises(DBAPIError), store.engine.begin() as c:
        c.execute(text("DELETE FROM change_log"))


def test_a_failed_change_leaves_no_history(store) -> None:
    mid = _milestone(store)
    with pytest.raises(ConflictError), store.session("carol") as s:
        service.update_milestone(s, mid, 7, status="complete")
    with store.session() as s:
        assert [h.changed_by for h in history(s, "milestone", mid)] == ["setup"]


def test_validation_says_what_was_wrong(store) -> None:
    mid = _milestone(store)
    with (
        pytest.raises(
            InvalidValueError, match="milestone status 'done' is not one of: not_started"
        ),
        store.session() as s,
    ):
        service.update_milestone(s, mid, status="done")
    with pytest.raises(InvalidValueError, match="score 9 is outside 0 to 5"):
        Score(score=9)
    with (
        pytest.raises(InvalidValueError, match="workstream has no field colour"),
        store.session() as s,
    ):
        service.create(s, Workstream, code="X", name="X", colour="blue")
    with pytest.raises(InvalidValueError, match="needs a reason"), store.session() as s:
        service.override_rag(s, Milestone, mid, "green", "  ")
    with pytest.raises(NotFoundError, match="no milestone with id 999"), store.session() as s:
        service.update_milestone(s, 999, status="complete")


def test_measure_links_come_from_the_measure_library(store) -> None:
    _milestone(store)
    with (
        pytest.raises(InvalidValueError, match="did you mean stroke_emergency_admissions"),
        store.session() as s,
    ):
        service.link_measure(s, "STR", "stroke_admissions")
    with pytest.raises(InvalidValueError, match="trajectory point 2"), store.session() as s:
        service.link_measure(
            s, "STR", "stroke_emergency_admissions",
            trajectory=[{"period": "Q1", "value": 1}, {"period": "Q2"}],
        )  # fmt: skip
    with store.session() as s:
        link = service.link_measure(
            s, "Stroke", "ae_within_4_hours", baseline=0.71, target=0.78,
            trajectory=[{"period": "Q1", "value": 0.73}],
        )  # fmt: skip
        assert (link.direction, link.unit) == ("higher", "percent")
    with store.session() as s:  # linking again changes what is given, keeps the rest
        again = service.link_measure(s, "STR", "ae_within_4_hours", target=0.8)
        assert (again.id, again.baseline, again.target, again.version) == (link.id, 0.71, 0.8, 2)
    with (
        pytest.raises(InvalidValueError, match="clashes with the store's rules"),
        store.session() as s,
    ):
        service.create(s, Workstream, code="STR", name="Another stroke")
    with store.session() as s:
        (stored,) = s.get(Workstream, link.workstream_id).measures
        assert stored.trajectory == [{"period": "Q1", "value": 0.73}]
