"""The words the programme store accepts: statuses, kinds, ratings and stages.

Each list maps the stored code to its meaning. The models validate against these
lists, the tracker import names them in its errors and the docs quote them.
"""

from __future__ import annotations

from collections.abc import Mapping

from joinedup.programme.errors import InvalidValueError
from joinedup.schema.codes import ORGANISATION_KIND

#: Kinds of partner organisation: the canonical schema's kinds plus the partnership's own.
ORGANISATION_KINDS: dict[str, str] = {
    **{k: v for k, v in ORGANISATION_KIND.items() if k != "acute_site"},
    "gp_cluster": "GP cluster or primary care network (practices in one footprint)",
    "gp_federation": "GP federation or GP representatives",
    "nhs_england": "NHS England region or area team",
    "voluntary": "Voluntary, community or social enterprise organisation",
    "healthwatch": "Local Healthwatch",
    "other": "Other partner",
}

GROUP_KINDS: dict[str, str] = {
    "board": "Partnership board (sets and signs off the work programme)",
    "operational_group": "Operational clinician / management group (delivers the programme)",
    "clinical_reference_group": "Clinical reference group (clinical assurance)",
    "patient_public_forum": "Patient and public advisory forum",
    "working_group": "Workstream or clinical working group",
    "sponsor_group": "Sponsor group of chief executives",
}

MEMBER_ROLES: dict[str, str] = {
    "chair": "Chair",
    "vice_chair": "Vice chair",
    "member": "Member",
    "clinical_lead": "Clinical lead",
    "managerial_buddy": "Managerial buddy of a clinical lead",
    "executive_lead": "Executive / senior responsible lead",
    "secretariat": "Secretariat",
    "in_attendance": "In attendance",
    "public_representative": "Patient or public representative",
}

WORKSTREAM_STATUSES: dict[str, str] = {
    "proposed": "Proposed, not yet agreed by the board",
    "active": "Agreed and being delivered",
    "paused": "Paused by the board",
    "closed": "Closed (delivered, or stopped)",
}

DELIVERABLE_STATUSES: dict[str, str] = {
    "not_started": "Not started",
    "in_progress": "In progress",
    "delivered": "Delivered",
    "cancelled": "Cancelled",
}

MILESTONE_STATUSES: dict[str, str] = {
    "not_started": "Not started",
    "in_progress": "In progress, on track",
    "at_risk": "In progress, at risk of missing the due date",
    "blocked": "Blocked: cannot progress without a decision or help",
    "complete": "Complete",
    "cancelled": "Cancelled (no longer needed)",
}

RAG_RATINGS: dict[str, str] = {
    "red": "Red: overdue, blocked or forecast well past the due date",
    "amber": "Amber: at risk, forecast to slip, or due soon and not started",
    "green": "Green: on track or complete",
}

PROPOSAL_STATUSES: dict[str, str] = {
    "candidate": "Candidate work area, being scored",
    "accepted": "Accepted into the work programme",
    "deferred": "Deferred to a later phase",
    "rejected": "Not taken forward",
}

INNOVATION_STAGES: dict[str, str] = {
    "idea": "Idea: proposed, not yet tried",
    "pilot": "Pilot: being tested at small scale",
    "evaluated": "Evaluated: the pilot has an evaluation result",
    "scaled": "Scaled: rolled out across the partnership",
    "decommissioned": "Decommissioned: stopped",
}

STANDARD_RATINGS: dict[str, str] = {
    "met": "Met",
    "partly_met": "Partly met",
    "not_met": "Not met",
}

RISK_STATUSES: dict[str, str] = {
    "open": "Open",
    "closed": "Closed",
}

DECISION_STATUSES: dict[str, str] = {
    "open": "Agreed, action not yet complete",
    "in_progress": "Action in progress",
    "done": "Action complete",
    "superseded": "Superseded by a later decision",
}

PARTNER_RESPONSES: dict[str, str] = {
    "pending": "Awaiting the partner's governance",
    "agreed": "Agreed through the partner's governance",
    "agreed_with_conditions": "Agreed with conditions",
    "declined": "Declined",
    "not_required": "Not required for this partner",
}

MEASURE_DIRECTIONS: dict[str, str] = {
    "lower": "Lower is better",
    "higher": "Higher is better",
}


def check_choice(value: str | None, choices: Mapping[str, str], what: str) -> str | None:
    """``value`` normalised (lower case, spaces and hyphens as underscores) if it is one
    of ``choices``; ``None`` passes through. Raises :class:`InvalidValueError` naming
    the field and the accepted values otherwise."""
    if value is None:
        return None
    code = str(value).strip().lower().replace(" ", "_").replace("-", "_")
    if code in choices:
        return code
    raise InvalidValueError(f"{what} {value!r} is not one of: {', '.join(choices)}")
