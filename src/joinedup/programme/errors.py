"""Errors of the programme store, each with a message a user can act on."""

from __future__ import annotations


class ProgrammeError(Exception):
    """Base class: something a user asked for could not be done (the message says why)."""


class NotFoundError(ProgrammeError, LookupError):
    """The record asked for does not exist."""


class InvalidValueError(ProgrammeError, ValueError):
    """A value is not one the store accepts (unknown status, score out of range, ...)."""


class ConflictError(ProgrammeError):
    """Someone else changed the record since it was read: reload and try again."""

    def __init__(
        self,
        message: str,
        *,
        entity: str | None = None,
        entity_id: int | None = None,
        expected_version: int | None = None,
        current_version: int | None = None,
    ) -> None:
        super().__init__(message)
        self.entity = entity
        self.entity_id = entity_id
        self.expected_version = expected_version
        self.current_version = current_version


class StoreURLError(ProgrammeError):
    """The database URL is not one the store can open."""


class TrackerError(ProgrammeError):
    """A workstream tracker workbook could not be imported; ``problems`` lists every one.

    Each problem names the sheet, the row (as Excel numbers it) and the column.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        first = self.problems[0] if self.problems else "the tracker could not be read"
        more = len(self.problems) - 1
        suffix = f" (and {more} more problem{'s' if more != 1 else ''})" if more > 0 else ""
        super().__init__(first + suffix)
