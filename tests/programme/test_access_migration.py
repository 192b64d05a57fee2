"""The access tables (users, sessions, tokens, audit log) are under the programme store's
migrations, and a database whose tables the web app made itself (before migration 0003)
upgrades keeping its users and audit rows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import MetaData, inspect, text

pytestmark = pytest.mark.integration

ACCESS_TABLES = {"web_user", "web_session", "web_api_token", "identifiable_access_log"}

# How the web app made its tables before they were migrated: its own metadata,
# create_all, and the audit log's triggers, outside Alembic.
OLD_TRIGGERS = {
    "sqlite": [
        "CREATE TRIGGER IF NOT EXISTS identifiable_access_log_no_update BEFORE UPDATE ON "
        "identifiable_access_log BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
        "CREATE TRIGGER IF NOT EXISTS identifiable_access_log_no_delete BEFORE DELETE ON "
        "identifiable_access_log BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION identifiable_access_log_append_only() RETURNS trigger AS "
        "$$ BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$ LANGUAGE plpgsql",
        "CREATE TRIGGER identifiable_access_log_append_only BEFORE UPDATE OR DELETE ON "
        "identifiable_access_log FOR EACH ROW EXECUTE FUNCTION "
        "identifiable_access_log_append_only()",
    ],
}


def _old_web_tables(engine) -> None:
    """Create the access tables as the web app did before migration 0003."""
    from joinedup.access.tables import metadata

    copy = MetaData()
    for table in metadata.tables.values():
        table.to_metadata(copy)
    copy.create_all(engine)
    with engine.begin() as con:
        for statement in OLD_TRIGGERS[engine.dialect.name]:
            con.exec_driver_sql(statement)
        con.execute(
            text(
                "INSERT INTO web_user (username, password_hash, role, org_code, failed_logins,"
                " created_at) VALUES ('alice', 'x', 'admin', 'QWE', 0, :at)"
            ),
            {"at": datetime.now(UTC)},
        )
        con.execute(
            text(
                "INSERT INTO identifiable_access_log (at, username, role, org_code, person_id,"
                " page, reason) VALUES (:at, 'bob', 'clinician', 'Z1', 'p1', '/x', 'care')"
            ),
            {"at": datetime.now(UTC)},
        )


@pytest.mark.parametrize("before", ["0002", None])
def test_an_old_database_upgrades_keeping_users_and_audit(store_url: str, before) -> None:
    """``before``: the programme store was at 0002 when the web app added its tables,
    or (None) the web app made its tables in an empty database first."""
    from joinedup.access.accounts import list_users, make_accounts_engine
    from joinedup.programme.store import current_revision, head_revision, make_engine, migrate

    old = make_engine(store_url)
    if before:
        migrate(old, before)
    _old_web_tables(old)
    assert current_revision(old) == before
    old.dispose()

    engine = make_accounts_engine(store_url)
    assert current_revision(engine) == head_revision() == "0004"
    assert set(inspect(engine).get_table_names()) >= ACCESS_TABLES
    assert [u.username for u in list_users(engine)] == ["alice"]
    with engine.connect() as con:
        assert con.execute(text("SELECT count(*) FROM identifiable_access_log")).scalar() == 1
    with pytest.raises(Exception, match="append-only"), engine.begin() as con:
        con.execute(text("DELETE FROM identifiable_access_log"))
    engine.dispose()


def test_a_new_database_gets_the_access_tables_from_the_migrations(store_url: str) -> None:
    from joinedup.access.accounts import add_user, list_users, make_accounts_engine
    from joinedup.access.audit import record_access, search_audit
    from joinedup.programme.store import current_revision, head_revision

    engine = make_accounts_engine(store_url)
    assert current_revision(engine) == head_revision()
    user = add_user(engine, "carol", "clinician", "Z10001", "a long enough password")
    record_access(engine, user, ["p1", "p2"], "Z10001", "/casefinding", "direct care")
    assert [u.username for u in list_users(engine)] == ["carol"]
    assert {r["person_id"] for r in search_audit(engine, username="carol")} == {"p1", "p2"}
    for statement in ("UPDATE identifiable_access_log SET reason = 'x'",
                      "DELETE FROM identifiable_access_log"):  # fmt: skip
        with pytest.raises(Exception, match="append-only"), engine.begin() as con:
            con.execute(text(statement))
    engine.dispose()
