"""The work programme and its governance store.

Workstreams (clinical lead, managerial buddy, executive lead), deliverables,
milestones with RAG ratings, links to measures, criteria scoring of candidate work
areas, the innovation register, service standards and provider assessments, risks,
decisions referred to partners' governance and partners' sign-off of commitments, on
SQLAlchemy 2 (SQLite by default, PostgreSQL for several users) with optimistic
locking and a change log. Start with :func:`open_store` and :mod:`.service`.
"""

from joinedup.programme.errors import (
    ConflictError,
    InvalidValueError,
    NotFoundError,
    ProgrammeError,
    StoreURLError,
    TrackerError,
)
from joinedup.programme.store import Store, default_store_url, open_store

__all__ = [
    "ConflictError",
    "InvalidValueError",
    "NotFoundError",
    "ProgrammeError",
    "Store",
    "StoreURLError",
    "TrackerError",
    "default_store_url",
    "open_store",
]
