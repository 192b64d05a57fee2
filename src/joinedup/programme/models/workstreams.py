"""Workstreams, their deliverables and milestones, and the measures they move."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import JSON, Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from joinedup.programme.models.base import Record, choice, in_range, required_text
from joinedup.programme.vocab import (
    DELIVERABLE_STATUSES,
    MEASURE_DIRECTIONS,
    MILESTONE_STATUSES,
    RAG_RATINGS,
    WORKSTREAM_STATUSES,
)


class Workstream(Record):
    """A workstream of the programme: led by a clinician with a managerial buddy and an
    executive lead; the problem it tackles, its focus and the outcome it is after."""

    __tablename__ = "workstream"
    noun = "workstream"

    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    care_pathway: Mapped[str | None] = mapped_column(String(200))
    priority: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="active")
    executive_lead: Mapped[str | None] = mapped_column(String(200))
    clinical_lead: Mapped[str | None] = mapped_column(String(200))
    managerial_buddy: Mapped[str | None] = mapped_column(String(200))
    problem: Mapped[str | None] = mapped_column(Text)
    focus: Mapped[str | None] = mapped_column(Text)
    desired_outcome: Mapped[str | None] = mapped_column(Text)
    objectives: Mapped[str | None] = mapped_column(Text)
    phase: Mapped[str | None] = mapped_column(String(200))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("partnership_group.id"))
    rag_override: Mapped[str | None] = mapped_column(String(10))
    rag_override_reason: Mapped[str | None] = mapped_column(Text)

    deliverables: Mapped[list[Deliverable]] = relationship(
        back_populates="workstream", cascade="all, delete-orphan", order_by="Deliverable.id"
    )
    milestones: Mapped[list[Milestone]] = relationship(
        back_populates="workstream",
        cascade="all, delete-orphan",
        order_by=lambda: [Milestone.due, Milestone.id],
    )
    measures: Mapped[list[WorkstreamMeasure]] = relationship(
        back_populates="workstream", cascade="all, delete-orphan", order_by="WorkstreamMeasure.id"
    )

    @validates("status")
    def _status(self, _key: str, value: str) -> str | None:
        return choice(value, WORKSTREAM_STATUSES, "workstream status")

    @validates("priority")
    def _priority(self, _key: str, value: int | None) -> int | None:
        return in_range(value, 1, 5, "workstream priority")

    @validates("rag_override")
    def _rag(self, _key: str, value: str | None) -> str | None:
        return choice(value, RAG_RATINGS, "RAG override")

    @validates("code", "name")
    def _text(self, key: str, value: str) -> str:
        return required_text(value, f"workstream {key}")


class Deliverable(Record):
    """Something a workstream has promised to deliver."""

    __tablename__ = "deliverable"
    __table_args__ = (UniqueConstraint("workstream_id", "title"),)
    noun = "deliverable"

    workstream_id: Mapped[int] = mapped_column(ForeignKey("workstream.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(String(200))
    due: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="not_started")

    workstream: Mapped[Workstream] = relationship(back_populates="deliverables")

    @validates("status")
    def _status(self, _key: str, value: str) -> str | None:
        return choice(value, DELIVERABLE_STATUSES, "deliverable status")

    @validates("title")
    def _title(self, _key: str, value: str) -> str:
        return required_text(value, "deliverable title")


class Milestone(Record):
    """A dated milestone with its status; its RAG rating is derived (see ``rag.py``)
    unless overridden with a reason."""

    __tablename__ = "milestone"
    __table_args__ = (UniqueConstraint("workstream_id", "title"),)
    noun = "milestone"

    workstream_id: Mapped[int] = mapped_column(ForeignKey("workstream.id"), index=True)
    deliverable_id: Mapped[int | None] = mapped_column(ForeignKey("deliverable.id"))
    title: Mapped[str] = mapped_column(String(300))
    owner: Mapped[str | None] = mapped_column(String(200))
    due: Mapped[date] = mapped_column(Date)
    forecast: Mapped[date | None] = mapped_column(Date)
    completed_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="not_started")
    notes: Mapped[str | None] = mapped_column(Text)
    rag_override: Mapped[str | None] = mapped_column(String(10))
    rag_override_reason: Mapped[str | None] = mapped_column(Text)

    workstream: Mapped[Workstream] = relationship(back_populates="milestones")
    deliverable: Mapped[Deliverable | None] = relationship()

    @validates("status")
    def _status(self, _key: str, value: str) -> str | None:
        return choice(value, MILESTONE_STATUSES, "milestone status")

    @validates("rag_override")
    def _rag(self, _key: str, value: str | None) -> str | None:
        return choice(value, RAG_RATINGS, "RAG override")

    @validates("title")
    def _title(self, _key: str, value: str) -> str:
        return required_text(value, "milestone title")


class WorkstreamMeasure(Record):
    """A measure of the measure library that a workstream is expected to move, with its
    baseline, target and trajectory (a list of ``{"period": ..., "value": ...}``)."""

    __tablename__ = "workstream_measure"
    __table_args__ = (UniqueConstraint("workstream_id", "measure_id"),)
    noun = "measure link"

    workstream_id: Mapped[int] = mapped_column(ForeignKey("workstream.id"), index=True)
    measure_id: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text)
    unit: Mapped[str | None] = mapped_column(String(60))
    direction: Mapped[str | None] = mapped_column(String(10))
    baseline: Mapped[float | None] = mapped_column(Float)
    baseline_period: Mapped[str | None] = mapped_column(String(40))
    target: Mapped[float | None] = mapped_column(Float)
    target_date: Mapped[date | None] = mapped_column(Date)
    trajectory: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)

    workstream: Mapped[Workstream] = relationship(back_populates="measures")

    @validates("direction")
    def _direction(self, _key: str, value: str | None) -> str | None:
        return choice(value, MEASURE_DIRECTIONS, "measure direction")

    @validates("measure_id")
    def _measure(self, _key: str, value: str) -> str:
        return required_text(value, "measure id")

    @property
    def label(self) -> str:
        """The measure id."""
        return self.measure_id
