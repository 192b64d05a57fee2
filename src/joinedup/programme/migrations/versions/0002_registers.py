"""Registers: criteria scoring of proposals, the innovation register, the risk register
and service standards with provider assessments.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the registers tables."""
    op.create_table(
        "criterion",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_criterion")),
        sa.UniqueConstraint("code", name=op.f("uq_criterion_code")),
    )
    op.create_table(
        "standards_catalogue",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("service", sa.String(length=200), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("agreed_on", sa.Date(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_standards_catalogue")),
        sa.UniqueConstraint("name", name=op.f("uq_standards_catalogue_name")),
    )
    op.create_table(
        "standard",
        sa.Column("catalogue_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["catalogue_id"],
            ["standards_catalogue.id"],
            name=op.f("fk_standard_catalogue_id_standards_catalogue"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_standard")),
        sa.UniqueConstraint("catalogue_id", "code", name=op.f("uq_standard_catalogue_id_code")),
    )
    with op.batch_alter_table("standard", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_standard_catalogue_id"), ["catalogue_id"], unique=False
        )
    op.create_table(
        "innovation",
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=True),
        sa.Column("owner_organisation_id", sa.Integer(), nullable=True),
        sa.Column("workstream_id", sa.Integer(), nullable=True),
        sa.Column("cost_pounds", sa.Integer(), nullable=True),
        sa.Column("cost_basis", sa.String(length=200), nullable=True),
        sa.Column("evidence", sa.Text(), nullable=True),
        sa.Column("evaluation_result", sa.Text(), nullable=True),
        sa.Column("evaluation_ref", sa.String(length=200), nullable=True),
        sa.Column("started_on", sa.Date(), nullable=True),
        sa.Column("last_reviewed", sa.Date(), nullable=True),
        sa.Column("next_review", sa.Date(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_organisation_id"],
            ["organisation.id"],
            name=op.f("fk_innovation_owner_organisation_id_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["workstream_id"],
            ["workstream.id"],
            name=op.f("fk_innovation_workstream_id_workstream"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_innovation")),
        sa.UniqueConstraint("title", name=op.f("uq_innovation_title")),
    )
    op.create_table(
        "proposal",
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("care_pathway", sa.String(length=200), nullable=True),
        sa.Column("proposed_by", sa.String(length=200), nullable=True),
        sa.Column("submitted_on", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("workstream_id", sa.Integer(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workstream_id"], ["workstream.id"], name=op.f("fk_proposal_workstream_id_workstream")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proposal")),
        sa.UniqueConstraint("title", name=op.f("uq_proposal_title")),
    )
    op.create_table(
        "provider_assessment",
        sa.Column("standard_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("rating", sa.String(length=20), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=True),
        sa.Column("assessed_on", sa.Date(), nullable=False),
        sa.Column("assessor", sa.String(length=200), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_provider_assessment_organisation_id_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["standard_id"],
            ["standard.id"],
            name=op.f("fk_provider_assessment_standard_id_standard"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_assessment")),
        sa.UniqueConstraint(
            "standard_id",
            "organisation_id",
            "assessed_on",
            name=op.f("uq_provider_assessment_standard_id_organisation_id_assessed_on"),
        ),
    )
    with op.batch_alter_table("provider_assessment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_provider_assessment_standard_id"), ["standard_id"], unique=False
        )
    op.create_table(
        "risk",
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("workstream_id", sa.Integer(), nullable=True),
        sa.Column("owner", sa.String(length=200), nullable=True),
        sa.Column("likelihood", sa.Integer(), nullable=False),
        sa.Column("impact", sa.Integer(), nullable=False),
        sa.Column("mitigations", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("raised_on", sa.Date(), nullable=True),
        sa.Column("review_on", sa.Date(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workstream_id"], ["workstream.id"], name=op.f("fk_risk_workstream_id_workstream")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk")),
    )
    op.create_table(
        "innovation_partner",
        sa.Column("innovation_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("part", sa.String(length=200), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["innovation_id"],
            ["innovation.id"],
            name=op.f("fk_innovation_partner_innovation_id_innovation"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_innovation_partner_organisation_id_organisation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_innovation_partner")),
        sa.UniqueConstraint(
            "innovation_id",
            "organisation_id",
            name=op.f("uq_innovation_partner_innovation_id_organisation_id"),
        ),
    )
    with op.batch_alter_table("innovation_partner", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_innovation_partner_innovation_id"), ["innovation_id"], unique=False
        )
    op.create_table(
        "score",
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("criterion_id", sa.Integer(), nullable=False),
        sa.Column("assessor", sa.String(length=200), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("scored_on", sa.Date(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["criterion_id"], ["criterion.id"], name=op.f("fk_score_criterion_id_criterion")
        ),
        sa.ForeignKeyConstraint(
            ["proposal_id"], ["proposal.id"], name=op.f("fk_score_proposal_id_proposal")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_score")),
        sa.UniqueConstraint(
            "proposal_id",
            "criterion_id",
            "assessor",
            name=op.f("uq_score_proposal_id_criterion_id_assessor"),
        ),
    )
    with op.batch_alter_table("score", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_score_proposal_id"), ["proposal_id"], unique=False)


def downgrade() -> None:
    """Drop the registers tables."""
    with op.batch_alter_table("score", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_score_proposal_id"))
    op.drop_table("score")
    with op.batch_alter_table("innovation_partner", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_innovation_partner_innovation_id"))
    op.drop_table("innovation_partner")
    op.drop_table("risk")
    with op.batch_alter_table("provider_assessment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_provider_assessment_standard_id"))
    op.drop_table("provider_assessment")
    op.drop_table("proposal")
    op.drop_table("innovation")
    with op.batch_alter_table("standard", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_standard_catalogue_id"))
    op.drop_table("standard")
    op.drop_table("standards_catalogue")
    op.drop_table("criterion")
