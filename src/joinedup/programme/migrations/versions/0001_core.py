"""Core of the programme store: the partnership, partners, boards and groups, workstreams,
deliverables, milestones, measure links, decisions, commitments and the change log.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _protect_change_log() -> None:
    """Make the change log append-only: the database refuses UPDATE and DELETE on it."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION change_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'the change log is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER change_log_append_only BEFORE UPDATE OR DELETE ON change_log "
            "FOR EACH ROW EXECUTE FUNCTION change_log_append_only()"
        )
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER change_log_no_{action.lower()} BEFORE {action} ON change_log "
                "BEGIN SELECT RAISE(ABORT, 'the change log is append-only'); END"
            )


def upgrade() -> None:
    """Create the core tables."""
    op.create_table(
        "change_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("field", sa.String(length=60), nullable=True),
        sa.Column("old_value", sa.Text(), nullable=True),
        sa.Column("new_value", sa.Text(), nullable=True),
        sa.Column("row_version", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("changed_by", sa.String(length=200), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_log")),
    )
    with op.batch_alter_table("change_log", schema=None) as batch_op:
        batch_op.create_index("ix_change_log_entity", ["entity", "entity_id"], unique=False)
    op.create_table(
        "commitment",
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("agreed_on", sa.Date(), nullable=True),
        sa.Column("signoff_due", sa.Date(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commitment")),
        sa.UniqueConstraint("title", name=op.f("uq_commitment_title")),
    )
    op.create_table(
        "organisation",
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("is_partner", sa.Boolean(), nullable=False),
        sa.Column("governing_body", sa.String(length=200), nullable=True),
        sa.Column("sovereign", sa.Text(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisation")),
        sa.UniqueConstraint("code", name=op.f("uq_organisation_code")),
    )
    op.create_table(
        "partnership",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("short_name", sa.String(length=40), nullable=True),
        sa.Column("population", sa.Integer(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("reporting", sa.Text(), nullable=True),
        sa.Column("established_on", sa.Date(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partnership")),
        sa.UniqueConstraint("name", name=op.f("uq_partnership_name")),
    )
    op.create_table(
        "partnership_group",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=True),
        sa.Column("meets", sa.String(length=200), nullable=True),
        sa.Column("reports_to_id", sa.Integer(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["reports_to_id"],
            ["partnership_group.id"],
            name=op.f("fk_partnership_group_reports_to_id_partnership_group"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partnership_group")),
        sa.UniqueConstraint("name", name=op.f("uq_partnership_group_name")),
    )
    op.create_table(
        "commitment_signoff",
        sa.Column("commitment_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("signed_by", sa.String(length=200), nullable=False),
        sa.Column("body", sa.String(length=200), nullable=False),
        sa.Column("signed_on", sa.Date(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["commitment_id"],
            ["commitment.id"],
            name=op.f("fk_commitment_signoff_commitment_id_commitment"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_commitment_signoff_organisation_id_organisation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commitment_signoff")),
        sa.UniqueConstraint(
            "commitment_id",
            "organisation_id",
            name=op.f("uq_commitment_signoff_commitment_id_organisation_id"),
        ),
    )
    with op.batch_alter_table("commitment_signoff", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_commitment_signoff_commitment_id"), ["commitment_id"], unique=False
        )
    op.create_table(
        "group_member",
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("job_title", sa.String(length=200), nullable=True),
        sa.Column("role", sa.String(length=40), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["partnership_group.id"],
            name=op.f("fk_group_member_group_id_partnership_group"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_group_member_organisation_id_organisation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_member")),
    )
    with op.batch_alter_table("group_member", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_group_member_group_id"), ["group_id"], unique=False)
    op.create_table(
        "workstream",
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("care_pathway", sa.String(length=200), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("executive_lead", sa.String(length=200), nullable=True),
        sa.Column("clinical_lead", sa.String(length=200), nullable=True),
        sa.Column("managerial_buddy", sa.String(length=200), nullable=True),
        sa.Column("problem", sa.Text(), nullable=True),
        sa.Column("focus", sa.Text(), nullable=True),
        sa.Column("desired_outcome", sa.Text(), nullable=True),
        sa.Column("objectives", sa.Text(), nullable=True),
        sa.Column("phase", sa.String(length=200), nullable=True),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("rag_override", sa.String(length=10), nullable=True),
        sa.Column("rag_override_reason", sa.Text(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["partnership_group.id"],
            name=op.f("fk_workstream_group_id_partnership_group"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workstream")),
        sa.UniqueConstraint("code", name=op.f("uq_workstream_code")),
        sa.UniqueConstraint("name", name=op.f("uq_workstream_name")),
    )
    op.create_table(
        "decision",
        sa.Column("meeting", sa.String(length=200), nullable=False),
        sa.Column("meeting_on", sa.Date(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("decision", sa.Text(), nullable=True),
        sa.Column("owner", sa.String(length=200), nullable=True),
        sa.Column("due", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("needs_partner_governance", sa.Boolean(), nullable=False),
        sa.Column("workstream_id", sa.Integer(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["partnership_group.id"],
            name=op.f("fk_decision_group_id_partnership_group"),
        ),
        sa.ForeignKeyConstraint(
            ["workstream_id"], ["workstream.id"], name=op.f("fk_decision_workstream_id_workstream")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision")),
    )
    op.create_table(
        "deliverable",
        sa.Column("workstream_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("owner", sa.String(length=200), nullable=True),
        sa.Column("due", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workstream_id"],
            ["workstream.id"],
            name=op.f("fk_deliverable_workstream_id_workstream"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliverable")),
        sa.UniqueConstraint(
            "workstream_id", "title", name=op.f("uq_deliverable_workstream_id_title")
        ),
    )
    with op.batch_alter_table("deliverable", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_deliverable_workstream_id"), ["workstream_id"], unique=False
        )
    op.create_table(
        "workstream_measure",
        sa.Column("workstream_id", sa.Integer(), nullable=False),
        sa.Column("measure_id", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("unit", sa.String(length=60), nullable=True),
        sa.Column("direction", sa.String(length=10), nullable=True),
        sa.Column("baseline", sa.Float(), nullable=True),
        sa.Column("baseline_period", sa.String(length=40), nullable=True),
        sa.Column("target", sa.Float(), nullable=True),
        sa.Column("target_date", sa.Date(), nullable=True),
        sa.Column("trajectory", sa.JSON(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workstream_id"],
            ["workstream.id"],
            name=op.f("fk_workstream_measure_workstream_id_workstream"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workstream_measure")),
        sa.UniqueConstraint(
            "workstream_id",
            "measure_id",
            name=op.f("uq_workstream_measure_workstream_id_measure_id"),
        ),
    )
    with op.batch_alter_table("workstream_measure", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_workstream_measure_workstream_id"), ["workstream_id"], unique=False
        )
    op.create_table(
        "decision_response",
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("response", sa.String(length=30), nullable=False),
        sa.Column("body", sa.String(length=200), nullable=True),
        sa.Column("responded_on", sa.Date(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["decision_id"], ["decision.id"], name=op.f("fk_decision_response_decision_id_decision")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_decision_response_organisation_id_organisation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision_response")),
        sa.UniqueConstraint(
            "decision_id",
            "organisation_id",
            name=op.f("uq_decision_response_decision_id_organisation_id"),
        ),
    )
    with op.batch_alter_table("decision_response", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_decision_response_decision_id"), ["decision_id"], unique=False
        )
    op.create_table(
        "milestone",
        sa.Column("workstream_id", sa.Integer(), nullable=False),
        sa.Column("deliverable_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=True),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("forecast", sa.Date(), nullable=True),
        sa.Column("completed_on", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("rag_override", sa.String(length=10), nullable=True),
        sa.Column("rag_override_reason", sa.Text(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["deliverable_id"],
            ["deliverable.id"],
            name=op.f("fk_milestone_deliverable_id_deliverable"),
        ),
        sa.ForeignKeyConstraint(
            ["workstream_id"], ["workstream.id"], name=op.f("fk_milestone_workstream_id_workstream")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_milestone")),
        sa.UniqueConstraint(
            "workstream_id", "title", name=op.f("uq_milestone_workstream_id_title")
        ),
    )
    with op.batch_alter_table("milestone", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_milestone_workstream_id"), ["workstream_id"], unique=False
        )
    _protect_change_log()


def downgrade() -> None:
    """Drop the core tables."""
    with op.batch_alter_table("milestone", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_milestone_workstream_id"))
    op.drop_table("milestone")
    with op.batch_alter_table("decision_response", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_decision_response_decision_id"))
    op.drop_table("decision_response")
    with op.batch_alter_table("workstream_measure", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_workstream_measure_workstream_id"))
    op.drop_table("workstream_measure")
    with op.batch_alter_table("deliverable", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deliverable_workstream_id"))
    op.drop_table("deliverable")
    op.drop_table("decision")
    op.drop_table("workstream")
    with op.batch_alter_table("group_member", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_group_member_group_id"))
    op.drop_table("group_member")
    with op.batch_alter_table("commitment_signoff", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_commitment_signoff_commitment_id"))
    op.drop_table("commitment_signoff")
    op.drop_table("partnership_group")
    op.drop_table("partnership")
    op.drop_table("organisation")
    op.drop_table("commitment")
    with op.batch_alter_table("change_log", schema=None) as batch_op:
        batch_op.drop_index("ix_change_log_entity")
    op.drop_table("change_log")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS change_log_append_only()")
