"""Service standards catalogues and the assessment of each provider against them."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from joinedup.programme.models.base import Record, choice, required_text
from joinedup.programme.models.governance import Organisation
from joinedup.programme.vocab import STANDARD_RATINGS


class StandardsCatalogue(Record):
    """The agreed standards for one service (for example "Stroke: hyperacute care")."""

    __tablename__ = "standards_catalogue"
    noun = "standards catalogue"

    name: Mapped[str] = mapped_column(String(200), unique=True)
    service: Mapped[str] = mapped_column(String(200))
    source: Mapped[str | None] = mapped_column(Text)
    agreed_on: Mapped[date | None] = mapped_column(Date)

    standards: Mapped[list[Standard]] = relationship(
        back_populates="catalogue", cascade="all, delete-orphan", order_by="Standard.id"
    )

    @validates("name", "service")
    def _text(self, key: str, value: str) -> str:
        return required_text(value, f"standards catalogue {key}")


class Standard(Record):
    """One standard in a catalogue."""

    __tablename__ = "standard"
    __table_args__ = (UniqueConstraint("catalogue_id", "code"),)
    noun = "standard"

    catalogue_id: Mapped[int] = mapped_column(ForeignKey("standards_catalogue.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)

    catalogue: Mapped[StandardsCatalogue] = relationship(back_populates="standards")
    assessments: Mapped[list[ProviderAssessment]] = relationship(
        back_populates="standard", cascade="all, delete-orphan", order_by="ProviderAssessment.id"
    )

    @validates("code", "text")
    def _text(self, key: str, value: str) -> str:
        return required_text(value, f"standard {key}")


class ProviderAssessment(Record):
    """A provider assessed against a standard: met, partly met or not met, with the
    evidence, the date and the assessor."""

    __tablename__ = "provider_assessment"
    __table_args__ = (UniqueConstraint("standard_id", "organisation_id", "assessed_on"),)
    noun = "assessment"

    standard_id: Mapped[int] = mapped_column(ForeignKey("standard.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    rating: Mapped[str] = mapped_column(String(20))
    evidence: Mapped[str | None] = mapped_column(Text)
    assessed_on: Mapped[date] = mapped_column(Date)
    assessor: Mapped[str] = mapped_column(String(200))

    standard: Mapped[Standard] = relationship(back_populates="assessments")
    organisation: Mapped[Organisation] = relationship()

    @validates("rating")
    def _rating(self, _key: str, value: str) -> str | None:
        return choice(value, STANDARD_RATINGS, "assessment rating")

    @validates("assessor")
    def _assessor(self, _key: str, value: str) -> str:
        return required_text(value, "assessor")
