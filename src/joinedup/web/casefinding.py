"""Who sees which case-finding list, and with what: the one place NHS numbers appear.

- A practice clinician sees the list of their own practice (their organisation code)
  with NHS numbers from the restricted re-identification store; every record shown
  is written to the audit log (who, whose record, when, which page, why).
- An analyst sees any practice's list pseudonymised (person ids, no NHS numbers).
- Anyone else may not see a list at all (the role matrix refuses them first).

The list itself is :meth:`joinedup.web.data.DataService.casefinding`: the risk model's
top tier for the practice, or an interim ranking where no model has been trained
(``source`` and ``method`` in the answer say which).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
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
        for k, v in r.items():  # numpy numbers -> Python, missing -> None (JSON-safe)
            if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
                r[k] = None
            elif hasattr(v, "item"):
                r[k] = v.item()
    data = app_state.data
    return {
        "practice_code": practice_code,
        "identifiable": identifiable,
        "source": "interim" if data.risk_model() is None else "risk_model",
        "method": data.casefinding_method(),
        "patients": rows,
    }
