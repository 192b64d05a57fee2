"""Who sees which case-finding list, and with what: the one place NHS numbers appear.

- A practice clinician sees the list of their own practice (their organisation code)
  with NHS numbers from the restricted re-identification store; every record shown
  is written to the audit log (who, whose record, when, which page, why).
- An analyst sees any practice's list pseudonymised (person ids, no NHS numbers).
- Anyone else may not see a list at all (the role matrix refuses them first).
"""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException

from joinedup.web import accounts
from joinedup.web.accounts import User
from joinedup.web.roles import CASEFINDING, IDENTIFIABLE

DEFAULT_REASON = "direct care: case-finding review"


def casefinding_list(
    app_state: Any, user: User, practice_code: str, page: str, reason: str | None
) -> dict[str, Any]:
    """The list ``user`` may see for ``practice_code``; 403 if they may not see it."""
    if user.role not in CASEFINDING:
        raise HTTPException(403, f"Your role ({user.role}) may not see case-finding lists.")
    identifiable = user.role in IDENTIFIABLE
    if identifiable and practice_code != user.practice_code:
        raise HTTPException(403, "Clinicians see the case-finding list of their own practice only.")
    frame = app_state.data.casefinding(practice_code)
    rows = frame.to_dict("records")
    if identifiable:
        ids = [r["person_id"] for r in rows]
        numbers = app_state.data.nhs_numbers(ids)
        accounts.record_access(
            app_state.accounts, user, ids, practice_code, page, (reason or DEFAULT_REASON)[:500]
        )
        for r in rows:
            r["nhs_number"] = numbers.get(r["person_id"])
    for r in rows:
        r["age"] = int(r["age"])
        r["long_term_conditions"] = int(r["long_term_conditions"])
        r["emergency_admissions"] = int(r["emergency_admissions"])
    return {
        "practice_code": practice_code,
        "identifiable": identifiable,
        "method": (
            "Interim ranking: registered adults by emergency admissions in the last 12 "
            "months, then number of long-term conditions."
        ),
        "patients": rows,
    }
