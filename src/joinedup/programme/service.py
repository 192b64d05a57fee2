"""The programme's Python API: the service functions the CLI (and the web app) call.

Every function takes an open session (``with store.session(user) as s: ...``) so
that several calls commit together and are logged as one user's changes. Bad input
raises :class:`~joinedup.programme.errors.InvalidValueError` or
:class:`~joinedup.programme.errors.NotFoundError` with a message naming the field;
an edit based on a stale read raises :class:`~joinedup.programme.errors.ConflictError`.
"""

from __future__ import annotations

import difflib
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import func, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from joinedup.programme.errors import ConflictError, InvalidValueError, NotFoundError
from joinedup.programme.models import (
    Commitment,
    CommitmentSignoff,
    Criterion,
    Decision,
    DecisionResponse,
    Milestone,
    Organisation,
    Proposal,
    ProviderAssessment,
    Record,
    Risk,
    Score,
    Standard,
    StandardsCatalogue,
    Workstream,
    WorkstreamMeasure,
)
from joinedup.programme.rag import milestone_rag_explained, workstream_rag
from joinedup.programme.scoring import Ranked, ScoreRow, rank_proposals
from joinedup.programme.vocab import MILESTONE_STATUSES, RAG_RATINGS, check_choice

R = TypeVar("R", bound=Record)

#: The partnership paper's seven criteria for choosing work (Working Together for
#: Health, 2008, section 3.2), each with weight 1 until the board agrees others.
DEFAULT_CRITERIA: list[tuple[str, str]] = [
    ("focus", "Area which needs significant focus by all partner organisations"),
    ("pathway", "An intractable problem which spans the whole pathway of care"),
    ("concern", "Partners and/or the public are concerned about the level and quality of services"),
    ("scale", "Is of a size and scope to warrant the level, time and input of the programme"),
    (
        "integration",
        "Supports vertical integration and lean system redesign (incl. social care, housing)",
    ),
    (
        "evidence",
        "Creates a local evidence base of effectiveness which can be used to develop other work",
    ),
    (
        "baseline",
        "Has a clearly defined baseline (or one can be created easily) to measure progress",
    ),
]


# --- generic helpers -----------------------------------------------------------------


def get(session: Session, model: type[R], ident: int) -> R:
    """The ``model`` row with id ``ident``, or NotFoundError naming it."""
    row = session.get(model, ident)
    if row is None:
        raise NotFoundError(f"there is no {model.noun} with id {ident}")
    return row


def find(session: Session, model: type[R], **where: Any) -> R:
    """The one ``model`` row matching ``where`` (e.g. code="STR"), or NotFoundError."""
    query = select(model).filter_by(**where)
    row = session.scalars(query).first()
    if row is None:
        wanted = ", ".join(f"{k} {v!r}" for k, v in where.items())
        raise NotFoundError(f"there is no {model.noun} with {wanted}")
    return row


def _fields(model: type[Record]) -> set[str]:
    return {c.key for c in inspect(model).column_attrs} - {"id", "version"}


def _assign(row: Record, values: dict[str, Any]) -> None:
    allowed = _fields(type(row))
    unknown = sorted(set(values) - allowed)
    if unknown:
        raise InvalidValueError(
            f"{row.noun} has no field {', '.join(unknown)}; "
            f"fields are: {', '.join(sorted(allowed))}"
        )
    for key, value in values.items():
        setattr(row, key, value)


def create(session: Session, model: type[R], **values: Any) -> R:
    """Add a new ``model`` row with ``values`` (validated) and return it, flushed."""
    row = model()
    _assign(row, values)
    session.add(row)
    _flush(session, row)
    return row


def check_version(row: Record, expected_version: int | None) -> None:
    """ConflictError if ``row`` has moved on from ``expected_version`` (None: no check)."""
    if expected_version is not None and row.version != expected_version:
        raise ConflictError(
            f"{row.noun} {row.id} ({row.label}) was changed by someone else: it is at version "
            f"{row.version}, not {expected_version}; reload it and apply your change again",
            entity=row.__tablename__,
            entity_id=row.id,
            expected_version=expected_version,
            current_version=row.version,
        )


def _flush(session: Session, row: Record) -> None:
    """Flush, turning a stale write into ConflictError and a broken uniqueness or
    reference rule into InvalidValueError (the session is rolled back either way)."""
    label = f"{row.noun} {row.label!r}"
    try:
        session.flush()
    except StaleDataError:
        session.rollback()
        raise ConflictError(
            f"{row.noun} {row.id} was changed by someone else while you were editing it; "
            "reload it and apply your change again",
            entity=row.__tablename__,
            entity_id=row.id,
        ) from None
    except IntegrityError as exc:
        session.rollback()
        detail = str(exc.orig).strip().splitlines()[0]
        raise InvalidValueError(
            f"{label} clashes with the store's rules (a duplicate, or a reference to a row "
            f"that does not exist): {detail}"
        ) from None


def update(
    session: Session,
    model: type[R],
    ident: int,
    expected_version: int | None = None,
    *,
    reason: str | None = None,
    **values: Any,
) -> R:
    """Change fields of one row, refusing a stale edit; returns the row at its new version.

    The version check is made twice: against the version the caller read
    (``expected_version``) and, by the database, against the version this session
    loaded, so a concurrent writer between the two is caught as well.
    """
    row = get(session, model, ident)
    check_version(row, expected_version)
    _assign(row, values)
    if reason:
        session.info["reason"] = reason
    try:
        _flush(session, row)
    finally:
        session.info.pop("reason", None)
    return row


def override_rag(
    session: Session,
    model: type[Milestone] | type[Workstream],
    ident: int,
    rating: str | None,
    reason: str | None,
    expected_version: int | None = None,
) -> Milestone | Workstream:
    """Override the derived RAG rating of a milestone or workstream (``rating`` None
    clears the override). An override needs a reason, which is kept in the change log."""
    rating = check_choice(rating, RAG_RATINGS, "RAG rating")
    if rating and not (reason or "").strip():
        raise InvalidValueError("a RAG override needs a reason (--reason)")
    return update(
        session,
        model,
        ident,
        expected_version,
        reason=reason,
        rag_override=rating,
        rag_override_reason=((reason or "").strip() or None) if rating else None,
    )


# --- workstreams and milestones -------------------------------------------------------


def update_milestone(
    session: Session,
    ident: int,
    expected_version: int | None = None,
    **values: Any,
) -> Milestone:
    """Update a milestone (status, forecast, due, notes, ...). Marking it complete
    records today's date as ``completed_on`` unless one is given."""
    if values.get("status") is not None:
        values["status"] = check_choice(values["status"], MILESTONE_STATUSES, "milestone status")
        if values["status"] == "complete" and not values.get("completed_on"):
            values["completed_on"] = date.today()
    return update(session, Milestone, ident, expected_version, **values)


def workstreams(session: Session) -> list[Workstream]:
    """All workstreams by priority, then code."""
    query = select(Workstream).order_by(
        Workstream.priority.is_(None), Workstream.priority, Workstream.code
    )
    return list(session.scalars(query))


def workstream_summary(session: Session, today: date | None = None) -> list[dict[str, Any]]:
    """One dict per workstream: leads, priority, phase, status, RAG and milestone counts."""
    today = today or date.today()
    out = []
    for ws in workstreams(session):
        ratings = Counter(milestone_rag_explained(m, today)[0] for m in ws.milestones)
        out.append(
            {
                "id": ws.id,
                "code": ws.code,
                "name": ws.name,
                "priority": ws.priority,
                "care_pathway": ws.care_pathway,
                "clinical_lead": ws.clinical_lead,
                "managerial_buddy": ws.managerial_buddy,
                "executive_lead": ws.executive_lead,
                "phase": ws.phase,
                "status": ws.status,
                "rag": workstream_rag(ws, today),
                "milestones": len(ws.milestones),
                "red": ratings["red"],
                "amber": ratings["amber"],
                "green": ratings["green"],
            }
        )
    return out


def milestone_rows(
    session: Session, today: date | None = None, workstream: str | None = None
) -> list[dict[str, Any]]:
    """Milestones (optionally of one workstream, by code or name) with their RAG and why."""
    today = today or date.today()
    query = select(Milestone).join(Workstream).order_by(Milestone.due, Milestone.id)
    if workstream:
        ws = _workstream(session, workstream)
        query = query.where(Milestone.workstream_id == ws.id)
    rows = []
    for m in session.scalars(query):
        rag, why = milestone_rag_explained(m, today)
        rows.append(
            {
                "id": m.id,
                "version": m.version,
                "workstream": m.workstream.code,
                "title": m.title,
                "owner": m.owner,
                "due": m.due,
                "forecast": m.forecast,
                "status": m.status,
                "rag": rag,
                "rag_reason": why,
            }
        )
    return rows


def _workstream(session: Session, key: str) -> Workstream:
    row = session.scalars(
        select(Workstream).where((Workstream.code == key) | (Workstream.name == key))
    ).first()
    if row is None:
        raise NotFoundError(f"there is no workstream with code or name {key!r}")
    return row


@dataclass(frozen=True)
class MeasureInfo:
    """What the programme needs to know of a measure of the library."""

    id: str
    title: str
    unit: str | None
    direction: str | None  # increase, decrease or neutral


def measure_catalogue() -> dict[str, MeasureInfo]:
    """The measure library's ids with title, unit and direction, read straight from its
    YAML files (built-in plus ``$JOINEDUP_MEASURES``): the full definitions are checked
    by ``joinedup.measures``; this only needs to know which ids exist."""
    import yaml

    from joinedup.measures.definition import builtin_paths
    from joinedup.settings import extra_measure_files

    paths = [*builtin_paths(), *extra_measure_files()]
    catalogue: dict[str, MeasureInfo] = {}
    for path in paths:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for item in data if isinstance(data, list) else [data]:
            if isinstance(item, dict) and item.get("id"):
                catalogue[str(item["id"])] = MeasureInfo(
                    id=str(item["id"]),
                    title=str(item.get("title") or item["id"]),
                    unit=item.get("unit"),
                    direction=item.get("direction"),
                )
    return catalogue


def link_measure(
    session: Session,
    workstream: str,
    measure_id: str,
    *,
    baseline: float | None = None,
    target: float | None = None,
    baseline_period: str | None = None,
    target_date: date | None = None,
    trajectory: list[dict[str, Any]] | None = None,
    library: dict[str, MeasureInfo] | None = None,
) -> WorkstreamMeasure:
    """Link a workstream (code or name) to a measure of the measure library, with its
    baseline, target and trajectory (``[{"period": "Q1", "value": 1.2}, ...]``). The
    title, unit and direction are taken from the library; an unknown measure id is
    refused with the nearest ids suggested. Linking again changes the values given."""
    if library is None:
        library = measure_catalogue()
    if measure_id not in library:
        near = difflib.get_close_matches(measure_id, list(library), n=3)
        hint = f"; did you mean {', '.join(near)}?" if near else ""
        raise InvalidValueError(f"measure {measure_id!r} is not in the measure library{hint}")
    for i, point in enumerate(trajectory or [], start=1):
        if not isinstance(point, dict) or set(point) != {"period", "value"}:
            raise InvalidValueError(
                f"trajectory point {i} must be {{'period': ..., 'value': ...}}, not {point!r}"
            )
    definition = library[measure_id]
    ws = _workstream(session, workstream)
    given = {
        "baseline": baseline,
        "baseline_period": baseline_period,
        "target": target,
        "target_date": target_date,
        "trajectory": trajectory,
    }
    existing = session.scalars(
        select(WorkstreamMeasure).filter_by(workstream_id=ws.id, measure_id=measure_id)
    ).first()
    if existing is not None:  # linked already: change only what was given
        changes = {k: v for k, v in given.items() if v is not None}
        return update(session, WorkstreamMeasure, existing.id, **changes)
    return create(
        session,
        WorkstreamMeasure,
        workstream_id=ws.id,
        measure_id=measure_id,
        description=definition.title,
        unit=definition.unit,
        direction={"increase": "higher", "decrease": "lower"}.get(definition.direction),
        **given,
    )


# --- criteria scoring -----------------------------------------------------------------


def ensure_default_criteria(session: Session) -> list[Criterion]:
    """Add the paper's seven criteria (weight 1) if the store has no criteria yet."""
    existing = list(session.scalars(select(Criterion).order_by(Criterion.position)))
    if existing:
        return existing
    made = [
        create(session, Criterion, code=code, title=title, weight=1.0, position=i + 1, active=True)
        for i, (code, title) in enumerate(DEFAULT_CRITERIA)
    ]
    return made


def record_score(
    session: Session,
    proposal: str,
    criterion: str,
    assessor: str,
    score: int,
    comment: str | None = None,
    scored_on: date | None = None,
) -> Score:
    """Record (or replace) one assessor's score of a proposal (by title) on a criterion
    (by code)."""
    prop = find(session, Proposal, title=proposal)
    crit = find(session, Criterion, code=criterion)
    row = session.scalars(
        select(Score).filter_by(proposal_id=prop.id, criterion_id=crit.id, assessor=assessor)
    ).first()
    if row is None:
        return create(
            session,
            Score,
            proposal_id=prop.id,
            criterion_id=crit.id,
            assessor=assessor,
            score=score,
            comment=comment,
            scored_on=scored_on,
        )
    return update(session, Score, row.id, score=score, comment=comment, scored_on=scored_on)


def criteria_ranking(session: Session) -> list[Ranked]:
    """Candidate work areas ranked by weighted criteria score (see ``scoring``)."""
    weights = {c.code: c.weight for c in session.scalars(select(Criterion).where(Criterion.active))}
    query = (
        select(Proposal.title, Criterion.code, Score.assessor, Score.score)
        .join(Score.proposal)
        .join(Score.criterion)
    )
    rows = [ScoreRow(p, c, a, s) for p, c, a, s in session.execute(query)]
    titles = list(session.scalars(select(Proposal.title)))
    return rank_proposals(rows, weights, titles)


# --- standards, risks, decisions -------------------------------------------------------


def standards_variation(session: Session) -> list[dict[str, Any]]:
    """For each catalogue and provider: standards met, partly met and not met on the
    latest assessment of each standard, and the share met (the variation across
    providers the partnership looks at)."""
    query = (
        select(ProviderAssessment)
        .join(Standard)
        .order_by(ProviderAssessment.assessed_on, ProviderAssessment.id)
    )
    latest: dict[tuple[int, int], ProviderAssessment] = {}
    for a in session.scalars(query):
        latest[(a.standard_id, a.organisation_id)] = a  # later dates overwrite earlier
    counts: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for a in latest.values():
        counts[(a.standard.catalogue.name, a.organisation.name)][a.rating] += 1
    out = []
    for (catalogue, provider), c in sorted(counts.items()):
        total = sum(c.values())
        out.append(
            {
                "catalogue": catalogue,
                "provider": provider,
                "met": c["met"],
                "partly_met": c["partly_met"],
                "not_met": c["not_met"],
                "assessed": total,
                "percent_met": round(100 * c["met"] / total, 1) if total else None,
            }
        )
    return out


def open_risks(session: Session) -> list[Risk]:
    """Open risks, highest score (likelihood x impact) first."""
    query = select(Risk).where(Risk.status == "open")
    return sorted(session.scalars(query), key=lambda r: (-r.score, r.id))


def decisions_awaiting_partners(session: Session) -> list[Decision]:
    """Decisions referred to partners' governance with at least one response pending."""
    query = select(Decision).where(Decision.needs_partner_governance).order_by(Decision.meeting_on)
    return [
        d
        for d in session.scalars(query)
        if not d.responses or any(r.response == "pending" for r in d.responses)
    ]


def record_partner_response(
    session: Session,
    decision_id: int,
    partner: str,
    response: str,
    body: str | None = None,
    responded_on: date | None = None,
    notes: str | None = None,
) -> DecisionResponse:
    """Record (or update) a partner's response to a decision; the decision is marked as
    needing partners' governance."""
    decision = get(session, Decision, decision_id)
    org = find(session, Organisation, code=partner)
    if not decision.needs_partner_governance:
        update(session, Decision, decision.id, needs_partner_governance=True)
    values = {"response": response, "body": body, "responded_on": responded_on, "notes": notes}
    existing = session.scalars(
        select(DecisionResponse).filter_by(decision_id=decision.id, organisation_id=org.id)
    ).first()
    if existing is None:
        return create(
            session, DecisionResponse, decision_id=decision.id, organisation_id=org.id, **values
        )
    return update(session, DecisionResponse, existing.id, **values)


def sign_commitment(
    session: Session,
    commitment: str,
    partner: str,
    signed_by: str,
    body: str,
    signed_on: date,
) -> CommitmentSignoff:
    """Record a partner's sign-off of a commitment (by title); signing twice is refused."""
    row = find(session, Commitment, title=commitment)
    org = find(session, Organisation, code=partner)
    if any(s.organisation_id == org.id for s in row.signoffs):
        raise InvalidValueError(f"{org.name} has already signed {commitment!r}")
    return create(
        session,
        CommitmentSignoff,
        commitment_id=row.id,
        organisation_id=org.id,
        signed_by=signed_by,
        body=body,
        signed_on=signed_on,
    )


def counts(session: Session) -> dict[str, int]:
    """Rows per main table (for `joinedup programme status`)."""
    models = [
        Organisation, Workstream, Milestone, Proposal, Criterion, StandardsCatalogue,
        ProviderAssessment, Risk, Decision,
    ]  # fmt: skip
    return {
        m.__tablename__: session.scalar(select(func.count()).select_from(m)) or 0 for m in models
    }
