"""The innovation register and the risk register."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from joinedup.programme.errors import InvalidValueError
from joinedup.programme.models.base import Record, choice, in_range, required_text
from joinedup.programme.models.governance import Organisation
from joinedup.programme.vocab import INNOVATION_STAGES, RISK_STATUSES

#: A programme name as the warehouse gives it (it goes into a web address).
PROGRAMME_NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}")


def programme_name(value: str | None) -> str | None:
    """A programme's name as the warehouse gives it (letters, digits, ``_``, ``-`` and
    ``.``; up to 100), stripped; an empty name is None."""
    text = (value or "").strip()
    if not text:
        return None
    if not PROGRAMME_NAME.fullmatch(text):
        raise InvalidValueError(
            f"evaluated programme {value!r}: expected a programme name as the warehouse "
            "gives it (letters, digits, _ - or .; up to 100), e.g. telephone_care_management"
        )
    return text


class Innovation(Record):
    """An entry in the "dynamic register of service innovation, improvement and review":
    its stage (idea, pilot, evaluated, scaled, decommissioned), owner, partners, cost,
    evidence, evaluation result, the programme whose published evaluation it rests on
    (``evaluated_programme``) and review dates."""

    __tablename__ = "innovation"
    noun = "innovation"

    title: Mapped[str] = mapped_column(String(300), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    stage: Mapped[str] = mapped_column(String(20), default="idea")
    owner: Mapped[str | None] = mapped_column(String(200))
    owner_organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    workstream_id: Mapped[int | None] = mapped_column(ForeignKey("workstream.id"))
    cost_pounds: Mapped[int | None] = mapped_column(Integer)
    cost_basis: Mapped[str | None] = mapped_column(String(200))
    evidence: Mapped[str | None] = mapped_column(Text)
    evaluation_result: Mapped[str | None] = mapped_column(Text)
    evaluation_ref: Mapped[str | None] = mapped_column(String(200))
    #: The programme (as the warehouse names it: ``programme_enrolment`` or
    #: ``programme_rollout``) whose published evaluation this entry rests on.
    evaluated_programme: Mapped[str | None] = mapped_column(String(100))
    started_on: Mapped[date | None] = mapped_column(Date)
    last_reviewed: Mapped[date | None] = mapped_column(Date)
    next_review: Mapped[date | None] = mapped_column(Date)

    owner_organisation: Mapped[Organisation | None] = relationship()
    partners: Mapped[list[InnovationPartner]] = relationship(
        back_populates="innovation", cascade="all, delete-orphan", order_by="InnovationPartner.id"
    )

    @validates("stage")
    def _stage(self, _key: str, value: str) -> str | None:
        return choice(value, INNOVATION_STAGES, "innovation stage")

    @validates("title")
    def _title(self, _key: str, value: str) -> str:
        return required_text(value, "innovation title")

    @validates("evaluated_programme")
    def _evaluated_programme(self, _key: str, value: str | None) -> str | None:
        return programme_name(value)


class InnovationPartner(Record):
    """A partner organisation involved in an innovation, and its part in it."""

    __tablename__ = "innovation_partner"
    __table_args__ = (UniqueConstraint("innovation_id", "organisation_id"),)
    noun = "innovation partner"

    innovation_id: Mapped[int] = mapped_column(ForeignKey("innovation.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    part: Mapped[str | None] = mapped_column(String(200))

    innovation: Mapped[Innovation] = relationship(back_populates="partners")
    organisation: Mapped[Organisation] = relationship()


class Risk(Record):
    """A risk to the programme: likelihood x impact (each 1 to 5), owner, mitigations."""

    __tablename__ = "risk"
    noun = "risk"

    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    workstream_id: Mapped[int | None] = mapped_column(ForeignKey("workstream.id"))
    owner: Mapped[str | None] = mapped_column(String(200))
    likelihood: Mapped[int] = mapped_column(Integer)
    impact: Mapped[int] = mapped_column(Integer)
    mitigations: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="open")
    raised_on: Mapped[date | None] = mapped_column(Date)
    review_on: Mapped[date | None] = mapped_column(Date)

    @validates("likelihood", "impact")
    def _scale(self, key: str, value: int) -> int | None:
        return in_range(value, 1, 5, f"risk {key}")

    @validates("status")
    def _status(self, _key: str, value: str) -> str | None:
        return choice(value, RISK_STATUSES, "risk status")

    @validates("title")
    def _title(self, _key: str, value: str) -> str:
        return required_text(value, "risk title")

    @property
    def score(self) -> int:
        """Likelihood x impact, 1 to 25."""
        return self.likelihood * self.impact
