"""The one door to NHS numbers: who may see whose, and the audit row of every read.

A practice's own clinicians may see the NHS numbers of that practice's patients
(case-finding lists, the activity feed, frequent attenders); nobody else may, and
every record shown is written to the audit log first (who, whose record, when, which
page, why). Everyone else allowed a person-level view sees pseudonymised
``person_id`` values only, and those reads are audited too (:func:`record_view`).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from joinedup.access.accounts import User
from joinedup.access.audit import record_access
from joinedup.access.roles import IDENTIFIABLE


class NotAllowed(PermissionError):
    """The caller's role (or organisation) may not see what was asked for."""


def may_identify(user: User, practice_code: str) -> bool:
    """Whether ``user`` may see NHS numbers of ``practice_code``'s patients."""
    return user.role in IDENTIFIABLE and practice_code == user.practice_code


def nhs_numbers(
    engine: Engine,
    reidentification: Path,
    user: User,
    person_ids: list[str],
    practice_code: str,
    page: str,
    reason: str,
) -> dict[str, str]:
    """The NHS numbers of ``person_ids`` from the restricted re-identification store,
    for a caller allowed them (:func:`may_identify`; :class:`NotAllowed` otherwise).
    The read is audited, one row per person, before anything is returned."""
    if not may_identify(user, practice_code):
        raise NotAllowed(
            "NHS numbers are shown only to a practice's own clinicians, for its own patients."
        )
    from joinedup.ingest.pseudonymise import ReidentificationStore

    ids = list(dict.fromkeys(person_ids))
    record_access(engine, user, ids, practice_code, page, reason[:500])
    return ReidentificationStore(Path(reidentification)).lookup(ids)


def record_view(
    engine: Engine, user: User, person_ids: list[str], practice_code: str, page: str, reason: str
) -> None:
    """Audit a pseudonymised person-level view (one row per person shown)."""
    record_access(engine, user, list(dict.fromkeys(person_ids)), practice_code, page, reason[:500])
