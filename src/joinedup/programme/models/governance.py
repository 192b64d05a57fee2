"""The partnership, its partners, its boards and groups, commitments and decisions."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from joinedup.programme.models.base import Record, choice, required_text
from joinedup.programme.vocab import (
    DECISION_STATUSES,
    GROUP_KINDS,
    MEMBER_ROLES,
    ORGANISATION_KINDS,
    PARTNER_RESPONSES,
)


class Partnership(Record):
    """The partnership itself (one per store): name, population, how it reports."""

    __tablename__ = "partnership"
    noun = "partnership"

    name: Mapped[str] = mapped_column(String(200), unique=True)
    short_name: Mapped[str | None] = mapped_column(String(40))
    population: Mapped[int | None] = mapped_column(Integer)
    description: Mapped[str | None] = mapped_column(Text)
    reporting: Mapped[str | None] = mapped_column(Text)
    established_on: Mapped[date | None] = mapped_column(Date)

    @validates("name")
    def _name(self, _key: str, value: str) -> str:
        return required_text(value, "partnership name")


class Organisation(Record):
    """A partner (or assessed provider) and what it keeps sovereign."""

    __tablename__ = "organisation"
    noun = "organisation"

    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    is_partner: Mapped[bool] = mapped_column(Boolean, default=True)
    governing_body: Mapped[str | None] = mapped_column(String(200))
    sovereign: Mapped[str | None] = mapped_column(Text)

    @validates("kind")
    def _kind(self, _key: str, value: str) -> str | None:
        return choice(value, ORGANISATION_KINDS, "organisation kind")

    @validates("code", "name")
    def _text(self, key: str, value: str) -> str:
        return required_text(value, f"organisation {key}")


class Group(Record):
    """A board or group: board, operational group, clinical reference group, forum."""

    __tablename__ = "partnership_group"
    noun = "group"

    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    purpose: Mapped[str | None] = mapped_column(Text)
    meets: Mapped[str | None] = mapped_column(String(200))
    reports_to_id: Mapped[int | None] = mapped_column(ForeignKey("partnership_group.id"))

    reports_to: Mapped[Group | None] = relationship(remote_side="Group.id")
    members: Mapped[list[GroupMember]] = relationship(
        back_populates="group", cascade="all, delete-orphan", order_by="GroupMember.id"
    )

    @validates("kind")
    def _kind(self, _key: str, value: str) -> str | None:
        return choice(value, GROUP_KINDS, "group kind")

    @validates("name")
    def _name(self, _key: str, value: str) -> str:
        return required_text(value, "group name")


class GroupMember(Record):
    """A person's seat on a group, with their role and organisation."""

    __tablename__ = "group_member"
    noun = "group member"

    group_id: Mapped[int] = mapped_column(ForeignKey("partnership_group.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    job_title: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(40))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))

    group: Mapped[Group] = relationship(back_populates="members")
    organisation: Mapped[Organisation | None] = relationship()

    @validates("role")
    def _role(self, _key: str, value: str) -> str | None:
        return choice(value, MEMBER_ROLES, "member role")


class Commitment(Record):
    """A commitment the partners sign up to (for example "Our Commitment")."""

    __tablename__ = "commitment"
    noun = "commitment"

    title: Mapped[str] = mapped_column(String(200), unique=True)
    text: Mapped[str | None] = mapped_column(Text)
    agreed_on: Mapped[date | None] = mapped_column(Date)
    signoff_due: Mapped[date | None] = mapped_column(Date)

    signoffs: Mapped[list[CommitmentSignoff]] = relationship(
        back_populates="commitment", cascade="all, delete-orphan", order_by="CommitmentSignoff.id"
    )


class CommitmentSignoff(Record):
    """One partner's sign-off of a commitment: who signed, for which body, when."""

    __tablename__ = "commitment_signoff"
    __table_args__ = (UniqueConstraint("commitment_id", "organisation_id"),)
    noun = "sign-off"

    commitment_id: Mapped[int] = mapped_column(ForeignKey("commitment.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    signed_by: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(String(200))
    signed_on: Mapped[date] = mapped_column(Date)

    commitment: Mapped[Commitment] = relationship(back_populates="signoffs")
    organisation: Mapped[Organisation] = relationship()


class Decision(Record):
    """A decision taken at a meeting, its action owner and, where it touches a
    partner's statutory duties, each partner's response through its own governance."""

    __tablename__ = "decision"
    noun = "decision"

    meeting: Mapped[str] = mapped_column(String(200))
    meeting_on: Mapped[date] = mapped_column(Date)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("partnership_group.id"))
    title: Mapped[str] = mapped_column(String(200))
    decision: Mapped[str | None] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(String(200))
    due: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="open")
    needs_partner_governance: Mapped[bool] = mapped_column(Boolean, default=False)
    workstream_id: Mapped[int | None] = mapped_column(ForeignKey("workstream.id"))

    group: Mapped[Group | None] = relationship()
    responses: Mapped[list[DecisionResponse]] = relationship(
        back_populates="decision", cascade="all, delete-orphan", order_by="DecisionResponse.id"
    )

    @validates("status")
    def _status(self, _key: str, value: str) -> str | None:
        return choice(value, DECISION_STATUSES, "decision status")

    @validates("title", "meeting")
    def _text(self, key: str, value: str) -> str:
        return required_text(value, f"decision {key}")


class DecisionResponse(Record):
    """A partner's response to a decision referred through its governance."""

    __tablename__ = "decision_response"
    __table_args__ = (UniqueConstraint("decision_id", "organisation_id"),)
    noun = "partner response"

    decision_id: Mapped[int] = mapped_column(ForeignKey("decision.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    response: Mapped[str] = mapped_column(String(30), default="pending")
    body: Mapped[str | None] = mapped_column(String(200))
    responded_on: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text)

    decision: Mapped[Decision] = relationship(back_populates="responses")
    organisation: Mapped[Organisation] = relationship()

    @validates("response")
    def _response(self, _key: str, value: str) -> str | None:
        return choice(value, PARTNER_RESPONSES, "partner response")
