"""Criteria scoring: candidate work areas (proposals) scored by assessors against
weighted criteria."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Boolean, Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from joinedup.programme.errors import InvalidValueError
from joinedup.programme.models.base import Record, choice, in_range, required_text
from joinedup.programme.vocab import PROPOSAL_STATUSES

#: Scores run from 0 (does not meet the criterion at all) to 5 (meets it fully).
SCORE_MIN, SCORE_MAX = 0, 5


class Criterion(Record):
    """One criterion for choosing work, with its weight."""

    __tablename__ = "criterion"
    noun = "criterion"

    code: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    @validates("weight")
    def _weight(self, _key: str, value: float) -> float:
        try:
            weight = float(value)
        except (TypeError, ValueError):
            raise InvalidValueError(f"criterion weight {value!r} is not a number") from None
        if weight < 0:
            raise InvalidValueError(f"criterion weight {value!r} must not be negative")
        return weight

    @validates("code", "title")
    def _text(self, key: str, value: str) -> str:
        return required_text(value, f"criterion {key}")


class Proposal(Record):
    """A candidate work area put forward for the programme."""

    __tablename__ = "proposal"
    noun = "proposal"

    title: Mapped[str] = mapped_column(String(300), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    care_pathway: Mapped[str | None] = mapped_column(String(200))
    proposed_by: Mapped[str | None] = mapped_column(String(200))
    submitted_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="candidate")
    workstream_id: Mapped[int | None] = mapped_column(ForeignKey("workstream.id"))

    scores: Mapped[list[Score]] = relationship(
        back_populates="proposal", cascade="all, delete-orphan", order_by="Score.id"
    )

    @validates("status")
    def _status(self, _key: str, value: str) -> str | None:
        return choice(value, PROPOSAL_STATUSES, "proposal status")

    @validates("title")
    def _title(self, _key: str, value: str) -> str:
        return required_text(value, "proposal title")


class Score(Record):
    """One assessor's score of one proposal against one criterion (0 to 5)."""

    __tablename__ = "score"
    __table_args__ = (UniqueConstraint("proposal_id", "criterion_id", "assessor"),)
    noun = "score"

    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposal.id"), index=True)
    criterion_id: Mapped[int] = mapped_column(ForeignKey("criterion.id"))
    assessor: Mapped[str] = mapped_column(String(200))
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    scored_on: Mapped[date | None] = mapped_column(Date)

    proposal: Mapped[Proposal] = relationship(back_populates="scores")
    criterion: Mapped[Criterion] = relationship()

    @validates("score")
    def _score(self, _key: str, value: int) -> int | None:
        return in_range(value, SCORE_MIN, SCORE_MAX, "score")

    @validates("assessor")
    def _assessor(self, _key: str, value: str) -> str:
        return required_text(value, "assessor")
