"""The innovation register names the programme whose evaluation an entry rests on.

A nullable column, ``innovation.evaluated_programme``: the programme's name as the
warehouse gives it (``programme_enrolment`` or ``programme_rollout``), so that the web
app and the board pack can link the entry to that programme's published evaluation.
Existing entries name none.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``innovation.evaluated_programme``."""
    with op.batch_alter_table("innovation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("evaluated_programme", sa.String(length=100), nullable=True))


def downgrade() -> None:
    """Drop ``innovation.evaluated_programme`` (and the links it held)."""
    with op.batch_alter_table("innovation", schema=None) as batch_op:
        batch_op.drop_column("evaluated_programme")
