"""Who sees which case-finding list, and with what.

- A practice clinician sees the list of their own practice (their organisation code)
  with NHS numbers (:func:`joinedup.access.identify.nhs_numbers`: every record shown
  is written to the audit log: who, whose record, when, which page, why).
- An analyst sees any practice's list pseudonymised (person ids, no NHS numbers).
- Anyone else may not see a list at all (the role matrix refuses them first).

The list itself is :meth:`joinedup.published.Figures.casefinding`: the risk model's
top tier for the practice, or an interim ranking where no model has been trained
(``source`` and ``method`` in the answer say which).
"""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException

from joinedup.access.accounts import User
from joinedup.access.identify import may_identify, nhs_numbers
from joinedup.access.roles import CASEFINDING, IDENTIFIABLE
from joinedup.web.render import records

DEFAULT_REASON = "direct care: case-finding review"


def casefinding_list(
    app_state: Any, user: User, practice_code: str, page: str, reason: str | None
) -> dict[str, Any]:
    """The list ``user`` may see for ``practice_code``; 403 if they may not see it."""
    if user.role not in CASEFINDING:
        raise HTTPException(403, f"Your role ({user.role}) may not see case-finding lists.")
    if user.role in IDENTIFIABLE and not may_identify(user, practice_code):
        raise HTTPException(403, "Clinicians see the case-finding list of their own practice only.")
    figures = app_state.figures
    rows = records(figures.casefinding(practice_code))
    identifiable = may_identify(user, practice_code)
    if identifiable:
        numbers = nhs_numbers(
            app_state.accounts,
            app_state.settings.reidentification,
            user,
            [r["person_id"] for r in rows],
            practice_code,
            page,
            reason or DEFAULT_REASON,
        )
        for r in rows:
            r["nhs_number"] = numbers.get(r["person_id"])
    return {
        "practice_code": practice_code,
        "identifiable": identifiable,
        "source": "interim" if figures.risk_model() is None else "risk_model",
        "method": figures.casefinding_method(),
        "patients": rows,
    }
