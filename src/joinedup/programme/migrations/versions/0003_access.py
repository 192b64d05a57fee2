"""Access: users, sessions, API tokens and the append-only identifiable-access audit log.

Before this revision the web app created these tables itself, outside the migrations.
A database it made already holds them: each table is created only where it is
missing, so upgrading such a database keeps its users, sessions and audit rows and
puts the tables under the migrations from here on. The audit log's triggers are
(re)made either way.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

AUDIT = "identifiable_access_log"


def _missing(name: str) -> bool:
    return not sa.inspect(op.get_bind()).has_table(name)


def _protect_audit_log() -> None:
    """The database refuses UPDATE and DELETE on the audit log."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE OR REPLACE FUNCTION {AUDIT}_append_only() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$ LANGUAGE plpgsql"
        )
        op.execute(f"DROP TRIGGER IF EXISTS {AUDIT}_append_only ON {AUDIT}")
        op.execute(
            f"CREATE TRIGGER {AUDIT}_append_only BEFORE UPDATE OR DELETE ON {AUDIT} "
            f"FOR EACH ROW EXECUTE FUNCTION {AUDIT}_append_only()"
        )
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER IF NOT EXISTS {AUDIT}_no_{action.lower()} BEFORE {action} "
                f"ON {AUDIT} BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
            )


def upgrade() -> None:
    """Create the access tables that are missing and protect the audit log."""
    if _missing("web_user"):
        op.create_table(
            "web_user",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("username", sa.String(length=64), nullable=False),
            sa.Column("password_hash", sa.Text(), nullable=False),
            sa.Column("role", sa.String(length=32), nullable=False),
            sa.Column("org_code", sa.String(length=16), nullable=False),
            sa.Column("failed_logins", sa.Integer(), nullable=False),
            sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("username"),
        )
    for name, extra in (
        ("web_session", [sa.Column("csrf_token", sa.String(length=64), nullable=False)]),
        ("web_api_token", []),
    ):
        if _missing(name):
            op.create_table(
                name,
                sa.Column("token_hash", sa.String(length=64), nullable=False),
                sa.Column("user_id", sa.Integer(), nullable=False),
                *extra,
                sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
                sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
                sa.ForeignKeyConstraint(["user_id"], ["web_user.id"], ondelete="CASCADE"),
                sa.PrimaryKeyConstraint("token_hash"),
            )
    if _missing(AUDIT):
        op.create_table(
            AUDIT,
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("username", sa.String(length=64), nullable=False),
            sa.Column("role", sa.String(length=32), nullable=False),
            sa.Column("org_code", sa.String(length=16), nullable=False),
            sa.Column("person_id", sa.String(length=64), nullable=False),
            sa.Column("practice_code", sa.String(length=16), nullable=True),
            sa.Column("page", sa.String(length=200), nullable=False),
            sa.Column("reason", sa.Text(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
    _protect_audit_log()


def downgrade() -> None:
    """Drop the access tables (and with them every user and audit row)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {AUDIT}_append_only ON {AUDIT}")
        op.execute(f"DROP FUNCTION IF EXISTS {AUDIT}_append_only()")
    for name in (AUDIT, "web_api_token", "web_session", "web_user"):
        op.drop_table(name)
