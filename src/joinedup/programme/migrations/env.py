"""Alembic environment of the programme store.

Run programmatically by :func:`joinedup.programme.store.migrate`, which passes an
open connection in ``config.attributes["connection"]``; no alembic.ini is needed.
"""

from __future__ import annotations

from alembic import context

from joinedup.access.tables import metadata as access_metadata
from joinedup.programme.models import Base

config = context.config
# The programme's tables and the access tables (users, sessions, tokens, audit log).
target_metadata = [Base.metadata, access_metadata]


def run_migrations_online() -> None:
    """Migrate over the connection the store handed us."""
    connection = config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things in place: batch mode copies the table.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("the programme store's migrations run online only (joinedup programme init)")
run_migrations_online()
