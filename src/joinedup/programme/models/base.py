"""The declarative base: naming conventions, a version per row, and validation helpers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from sqlalchemy import Integer, MetaData
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

from joinedup.programme.errors import InvalidValueError
from joinedup.programme.vocab import check_choice

# Named constraints, so that migrations (and SQLite's batch mode) can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base of every programme table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Record(Base):
    """A row that users edit: an integer id and a version for optimistic locking.

    SQLAlchemy adds ``AND version = <version read>`` to every UPDATE and DELETE and
    bumps the version, so an edit made from a stale read changes no row and fails
    instead of silently overwriting someone else's change.
    """

    __abstract__ = True

    #: Singular noun used in messages ("milestone 12 ...").
    noun: ClassVar[str] = "record"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.version}

    @property
    def label(self) -> str:
        """A short human name of the row for messages and the change log."""
        for attr in ("code", "title", "name"):
            value = getattr(self, attr, None)
            if value:
                return str(value)
        return f"{self.noun} {self.id}"


def choice(value: str | None, choices: Mapping[str, str], what: str) -> str | None:
    """Validator body: ``value`` normalised if it is one of ``choices``."""
    return check_choice(value, choices, what)


def in_range(value: int | None, low: int, high: int, what: str) -> int | None:
    """Validator body: ``value`` as an int within ``low..high`` (None passes)."""
    if value is None:
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidValueError(f"{what} {value!r} is not a whole number") from None
    if number != value and not isinstance(value, str):
        raise InvalidValueError(f"{what} {value!r} is not a whole number")
    if not low <= number <= high:
        raise InvalidValueError(f"{what} {value!r} is outside {low} to {high}")
    return number


def required_text(value: str | None, what: str) -> str:
    """Validator body: ``value`` stripped, refusing an empty string."""
    text = (value or "").strip() if isinstance(value, str) or value is None else str(value)
    if not text:
        raise InvalidValueError(f"{what} must not be empty")
    return text
