"""An innovation register entry names the programme whose evaluation it rests on
(migration 0004, on SQLite and PostgreSQL): an older store upgrades keeping its
entries, the name is checked, changes are logged, and the demo names its two."""

from __future__ import annotations

import json

import pytest
from alembic import command
from sqlalchemy import inspect, text
from typer.testing import CliRunner

from joinedup.cli import app
from joinedup.programme import service
from joinedup.programme.audit import history
from joinedup.programme.errors import InvalidValueError
from joinedup.programme.models import Innovation
from joinedup.programme.store import (
    _alembic_config,
    current_revision,
    head_revision,
    make_engine,
    migrate,
    open_store,
)

pytestmark = pytest.mark.integration


def _columns(engine) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns("innovation")}


def test_an_old_register_upgrades_keeping_its_entries(store_url: str) -> None:
    engine = make_engine(store_url)
    migrate(engine, "0003")
    assert "evaluated_programme" not in _columns(engine)
    with engine.begin() as c:
        c.execute(text("INSERT INTO innovation (title, stage, version) "
                       "VALUES ('Integrated neighbourhood teams', 'pilot', 1)"))  # fmt: skip
    engine.dispose()
    store = open_store(store_url)  # upgrades to the newest revision
    try:
        assert current_revision(store.engine) == head_revision() == "0004"
        assert "evaluated_programme" in _columns(store.engine)
        with store.session("pm") as s:
            row = s.query(Innovation).one()
            assert row.title == "Integrated neighbourhood teams"
            assert row.evaluated_programme is None
            service.update(s, Innovation, row.id, 1,
                           evaluated_programme="integrated_neighbourhood_teams")  # fmt: skip
        with store.session() as s:
            row = s.query(Innovation).one()
            assert (row.evaluated_programme, row.version) == ("integrated_neighbourhood_teams", 2)
            changes = [h for h in history(s, "innovation", row.id) if h.action == "update"]
            assert [(h.field, h.old_value, h.new_value, h.changed_by) for h in changes] == [
                ("evaluated_programme", None, "integrated_neighbourhood_teams", "pm")
            ]
    finally:
        store.close()


def test_downgrading_drops_the_column_and_keeps_the_entry(store_url: str) -> None:
    store = open_store(store_url)
    with store.session() as s:
        service.create(s, Innovation, title="Telephone care management", stage="pilot",
                       evaluated_programme="telephone_care_management")  # fmt: skip
    store.close()
    engine = make_engine(store_url)
    with engine.begin() as connection:
        command.downgrade(_alembic_config(connection), "0003")
    assert current_revision(engine) == "0003"
    assert "evaluated_programme" not in _columns(engine)
    with engine.connect() as c:
        assert c.execute(text("SELECT title FROM innovation")).scalar() == (
            "Telephone care management"
        )
    engine.dispose()


def test_the_name_is_a_programme_name(store) -> None:
    with store.session() as s:
        row = service.create(
            s, Innovation, title="A", evaluated_programme="  telephone_care_management "
        )
        assert row.evaluated_programme == "telephone_care_management"
        assert (
            service.update(s, Innovation, row.id, evaluated_programme="").evaluated_programme
            is None
        )
        for bad in ("two words", "a/b", "x" * 101):
            with pytest.raises(InvalidValueError, match="evaluated programme"):
                service.update(s, Innovation, row.id, evaluated_programme=bad)


def test_the_demo_names_the_programmes_the_warehouse_evaluates(store) -> None:
    from joinedup.programme.demo import load_demo

    with store.session() as s:
        load_demo(s)
        named = {i.title: i.evaluated_programme for i in s.query(Innovation)}
    assert named["Telephone care management for high-risk patients"] == (
        "telephone_care_management"
    )
    assert named["Integrated neighbourhood teams in GP clusters"] == (
        "integrated_neighbourhood_teams"
    )
    assert sum(v is not None for v in named.values()) == 2


def test_the_command_line_sets_and_clears_it(store_url: str) -> None:
    runner = CliRunner()

    def run(*args: str, code: int = 0):
        result = runner.invoke(app, ["programme", *args, "--db", store_url])
        assert result.exit_code == code, result.output
        return result

    run("demo", "--today", "2026-11-23")
    entries = json.loads(run("export", "--format", "json").stdout)["innovations"]
    pain = next(i for i in entries if i["title"] == "Community pain management service")
    assert pain["evaluated_programme"] is None
    ident, version = str(pain["id"]), pain["version"]
    done = run("innovation", "update", ident, "--evaluates", "pain_service",
               "--expected-version", str(version))  # fmt: skip
    assert f"evaluated by pain_service (version {version + 1})" in " ".join(done.stdout.split())
    run("innovation", "update", ident, "--evaluates", "x y", code=1)
    run("innovation", "update", ident, "--evaluates", "none", "--expected-version",
        str(version), code=3)  # fmt: skip
    run("innovation", "update", ident, "--evaluates", "none")
    run("innovation", "update", ident, code=1)  # nothing to change
    entries = json.loads(run("export", "--format", "json").stdout)["innovations"]
    assert next(i for i in entries if i["id"] == pain["id"])["evaluated_programme"] is None
    listing = run("innovations").stdout
    assert "integrated_neighbourhood_teams" in listing
