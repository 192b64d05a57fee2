"""`joinedup programme`: the work programme and its governance store.

Every command takes ``--db URL`` (``sqlite:///PATH`` or ``postgresql://...``; default
a SQLite file beside the warehouse, or ``$JOINEDUP_PROGRAMME_DB``). Exit codes: 0 done,
1 bad input or not found, 3 a conflicting edit (someone else changed the row first).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import typer
from rich.table import Table as RichTable

from joinedup.cli.common import console, err_console, fail, show

group = typer.Typer(
    help="The work programme: workstreams, milestones and RAG, criteria scoring, "
    "innovations, standards, risks, decisions and sign-offs.",
    no_args_is_help=True,
)
milestone_group = typer.Typer(help="Change one milestone.", no_args_is_help=True)
group.add_typer(milestone_group, name="milestone")
innovation_group = typer.Typer(
    help="Change one entry of the innovation register.", no_args_is_help=True
)
group.add_typer(innovation_group, name="innovation")

DbOption = typer.Option(
    None,
    "--db",
    help="Store URL: sqlite:///PATH or postgresql://... (default: $JOINEDUP_PROGRAMME_DB or "
    "programme.sqlite beside the warehouse).",
)
UserOption = typer.Option(
    None,
    "--user",
    help="Who is making the change, for the change log (default: $JOINEDUP_USER or the "
    "login name).",
)
TodayOption = typer.Option(
    None, "--today", help="Rate RAG as on this date (YYYY-MM-DD; default today)."
)

CONFLICT_EXIT = 3
RAG_STYLE = {"red": "bold red", "amber": "bold yellow", "green": "green", None: "dim"}


def _date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise fail(f"{option} {value!r} is not a date (expected YYYY-MM-DD)") from None


def _user(user: str | None) -> str:
    from joinedup.settings import change_user

    user = user or change_user()
    if user:
        return user
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"


@contextmanager
def _session(db: str | None, user: str | None = None) -> Iterator[Any]:
    """An open session on the store, turning the store's errors into clean exits."""
    from sqlalchemy.exc import OperationalError

    from joinedup.programme.errors import ConflictError, ProgrammeError
    from joinedup.programme.store import open_store

    store = None
    try:
        store = open_store(db)
        with store.session(_user(user)) as session:
            yield session
    except ConflictError as exc:
        raise fail(f"conflict: {exc}", CONFLICT_EXIT) from None
    except ProgrammeError as exc:
        raise fail(str(exc)) from None
    except OperationalError as exc:
        raise fail(f"could not use the programme store: {str(exc.orig).strip()}") from None
    finally:
        if store is not None:
            store.close()


def _rag(value: str | None) -> str:
    return f"[{RAG_STYLE[value]}]{value or '-'}[/]"


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


@group.command("init")
def init(db: str = DbOption) -> None:
    """Create the store (or upgrade it to the newest schema) and show its revision."""
    from sqlalchemy.exc import OperationalError

    from joinedup.programme.errors import ProgrammeError
    from joinedup.programme.store import (
        current_revision,
        default_store_url,
        make_engine,
        migrate,
        normalise_url,
    )

    url = db or default_store_url()
    try:
        normalise_url(url)
        engine = make_engine(url)
        before = current_revision(engine)
        migrate(engine)
        after = current_revision(engine)
        engine.dispose()
    except ProgrammeError as exc:
        raise fail(str(exc)) from None
    except OperationalError as exc:
        raise fail(f"could not use the programme store: {str(exc.orig).strip()}") from None
    if before == after:
        console.print(f"programme store {url} is up to date (revision {after})")
    else:
        console.print(f"programme store {url}: migrated {before or 'empty'} -> {after}")


group.command("migrate", help="Upgrade the store to the newest schema (same as init).")(init)


@group.command("status")
def status(db: str = DbOption) -> None:
    """Rows per table and the schema revision."""
    from joinedup.programme import service
    from joinedup.programme.store import head_revision

    with _session(db) as session:
        out = RichTable("table", "rows", title=f"programme store (revision {head_revision()})")
        for name, n in service.counts(session).items():
            out.add_row(name, f"{n:,}")
    show(out)


@group.command("demo")
def demo(db: str = DbOption, today: str = TodayOption) -> None:
    """Load the demo partnership (eight workstreams, criteria, proposals, innovations,
    standards, risks, decisions and sign-offs) into an empty store."""
    from joinedup.programme.demo import load_demo

    with _session(db, "demo") as session:
        partnership = load_demo(session, _date(today, "--today"))
        name = partnership.name
    console.print(f"loaded the demo partnership: {name}")


@group.command("workstreams")
def workstreams(
    db: str = DbOption, today: str = TodayOption, as_json: bool = typer.Option(False, "--json")
) -> None:
    """Workstreams with their leads, phase and RAG rating."""
    from joinedup.programme import service

    with _session(db) as session:
        rows = service.workstream_summary(session, _date(today, "--today"))
    if as_json:
        _print_json(rows)
        return
    out = RichTable(
        "code", "workstream", "priority", "clinical lead", "managerial buddy", "executive lead",
        "phase", "RAG", "R/A/G",
    )  # fmt: skip
    for r in rows:
        out.add_row(
            r["code"], r["name"], str(r["priority"] or "-"), r["clinical_lead"] or "-",
            r["managerial_buddy"] or "-", r["executive_lead"] or "-", r["phase"] or "-",
            _rag(r["rag"]), f"{r['red']}/{r['amber']}/{r['green']}",
        )  # fmt: skip
    show(out)


@group.command("milestones")
def milestones(
    db: str = DbOption,
    workstream: str = typer.Option(None, "--workstream", "-s", help="Code or name."),
    today: str = TodayOption,
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Milestones with their due dates, status, RAG rating and the rule that gave it."""
    from joinedup.programme import service

    with _session(db) as session:
        rows = service.milestone_rows(session, _date(today, "--today"), workstream)
    if as_json:
        _print_json(rows)
        return
    out = RichTable("id", "v", "stream", "milestone", "owner", "due", "status", "RAG", "why")
    for r in rows:
        out.add_row(
            str(r["id"]), str(r["version"]), r["workstream"], r["title"], r["owner"] or "-",
            r["due"].isoformat(), r["status"], _rag(r["rag"]), r["rag_reason"],
        )  # fmt: skip
    show(out)


@milestone_group.command("update")
def milestone_update(
    milestone_id: int = typer.Argument(..., metavar="ID"),
    status: str = typer.Option(None, "--status", help="not_started, in_progress, at_risk, ..."),
    forecast: str = typer.Option(None, "--forecast", help="Forecast date (YYYY-MM-DD)."),
    due: str = typer.Option(None, "--due", help="New due date (YYYY-MM-DD)."),
    notes: str = typer.Option(None, "--notes"),
    expected_version: int = typer.Option(
        None, "--expected-version", help="The version you read; refuse if it has moved on."
    ),
    db: str = DbOption,
    user: str = UserOption,
) -> None:
    """Update a milestone; exits 3 if it changed since the version you read."""
    from joinedup.programme import service

    values: dict[str, Any] = {
        k: v
        for k, v in {
            "status": status,
            "forecast": _date(forecast, "--forecast"),
            "due": _date(due, "--due"),
            "notes": notes,
        }.items()
        if v is not None
    }
    if not values:
        raise fail("nothing to change: give --status, --forecast, --due or --notes")
    with _session(db, user) as session:
        m = service.update_milestone(session, milestone_id, expected_version, **values)
        version, state = m.version, m.status
    console.print(f"milestone {milestone_id} is now {state} (version {version})")


@milestone_group.command("override")
def milestone_override(
    milestone_id: int = typer.Argument(..., metavar="ID"),
    rag: str = typer.Option(..., "--rag", help="red, amber, green, or 'none' to clear."),
    reason: str = typer.Option(None, "--reason", help="Why (required for an override)."),
    expected_version: int = typer.Option(None, "--expected-version"),
    db: str = DbOption,
    user: str = UserOption,
) -> None:
    """Override a milestone's derived RAG rating, with a reason."""
    from joinedup.programme import service
    from joinedup.programme.models import Milestone

    rating = None if rag.strip().lower() == "none" else rag
    with _session(db, user) as session:
        m = service.override_rag(session, Milestone, milestone_id, rating, reason, expected_version)
        version = m.version
    console.print(
        f"milestone {milestone_id}: RAG override {rating or 'cleared'} (version {version})"
    )


@group.command("link-measure")
def link_measure(
    workstream: str = typer.Argument(..., help="Workstream code or name."),
    measure_id: str = typer.Argument(..., help="Measure id of the measure library."),
    baseline: float = typer.Option(None, "--baseline"),
    target: float = typer.Option(None, "--target"),
    baseline_period: str = typer.Option(None, "--baseline-period", help="e.g. 2025/26"),
    target_date: str = typer.Option(None, "--target-date", help="YYYY-MM-DD"),
    trajectory: str = typer.Option(
        None, "--trajectory", help='JSON list, e.g. \'[{"period": "Q1", "value": 2.3}]\''
    ),
    db: str = DbOption,
    user: str = UserOption,
) -> None:
    """Link a workstream to a measure with its baseline, target and trajectory."""
    from joinedup.programme import service

    points = None
    if trajectory:
        try:
            points = json.loads(trajectory)
        except json.JSONDecodeError as exc:
            raise fail(f"--trajectory is not JSON: {exc}") from None
    with _session(db, user) as session:
        service.link_measure(
            session, workstream, measure_id, baseline=baseline, target=target,
            baseline_period=baseline_period, target_date=_date(target_date, "--target-date"),
            trajectory=points,
        )  # fmt: skip
    console.print(f"{workstream} now tracks {measure_id}")


@group.command("innovations")
def innovations(
    db: str = DbOption,
    stage: str = typer.Option(None, "--stage", help="idea, pilot, evaluated, scaled, ..."),
    today: str = TodayOption,
) -> None:
    """The innovation register: stage, owner, partners, cost, result, the programme
    whose evaluation it rests on and review dates (reviews that are due are
    highlighted)."""
    from sqlalchemy import select

    from joinedup.programme.models import Innovation
    from joinedup.programme.vocab import INNOVATION_STAGES, check_choice

    day = _date(today, "--today") or date.today()
    with _session(db) as session:
        query = select(Innovation).order_by(Innovation.id)
        if stage:
            query = query.where(Innovation.stage == check_choice(stage, INNOVATION_STAGES, "stage"))
        out = RichTable("id", "innovation", "stage", "owner", "partners", "cost £", "result",
                        "evaluates", "next review")  # fmt: skip
        for i in session.scalars(query):
            due = i.next_review is not None and i.next_review <= day
            review = i.next_review.isoformat() if i.next_review else "-"
            out.add_row(
                str(i.id), i.title, i.stage, i.owner or "-",
                ", ".join(p.organisation.code for p in i.partners),
                f"{i.cost_pounds:,}" if i.cost_pounds is not None else "-",
                i.evaluation_result or "-", i.evaluated_programme or "-",
                f"[bold red]{review}[/]" if due else review,
            )  # fmt: skip
    show(out)


@innovation_group.command("update")
def innovation_update(
    innovation_id: int = typer.Argument(..., metavar="ID"),
    evaluates: str = typer.Option(
        None,
        "--evaluates",
        help="The programme whose published evaluation the entry rests on, as the warehouse "
        "names it (e.g. telephone_care_management); 'none' to clear. The web app and the "
        "board pack link the entry to /evaluation/PROGRAMME.",
    ),
    stage: str = typer.Option(None, "--stage", help="idea, pilot, evaluated, scaled, ..."),
    result: str = typer.Option(None, "--result", help="The evaluation result in words."),
    expected_version: int = typer.Option(
        None, "--expected-version", help="The version you read; refuse if it has moved on."
    ),
    db: str = DbOption,
    user: str = UserOption,
) -> None:
    """Update an innovation register entry; exits 3 if it changed since the version you
    read."""
    from joinedup.programme import service
    from joinedup.programme.models import Innovation

    values: dict[str, Any] = {
        k: v for k, v in {"stage": stage, "evaluation_result": result}.items() if v is not None
    }
    if evaluates is not None:
        values["evaluated_programme"] = None if evaluates.strip().lower() == "none" else evaluates
    if not values:
        raise fail("nothing to change: give --evaluates, --stage or --result")
    with _session(db, user) as session:
        row = service.update(session, Innovation, innovation_id, expected_version, **values)
        version, title, programme = row.version, row.title, row.evaluated_programme
    evaluated = f"evaluated by {programme}" if programme else "names no evaluated programme"
    console.print(f"innovation {innovation_id} ({title}) {evaluated} (version {version})")


@group.command("ranking")
def ranking(db: str = DbOption, as_json: bool = typer.Option(False, "--json")) -> None:
    """Candidate work areas ranked by the weighted criteria, with the assessors' spread."""
    from dataclasses import asdict

    from joinedup.programme import service

    with _session(db) as session:
        rows = service.criteria_ranking(session)
    if as_json:
        _print_json([asdict(r) for r in rows])
        return
    out = RichTable("rank", "proposal", "score (0-5)", "%", "assessors", "spread", "coverage")
    for r in rows:
        out.add_row(
            str(r.rank), r.proposal, f"{r.weighted_score:.2f}", f"{r.percent:.0f}",
            str(r.assessors), f"{r.spread:.2f}", f"{r.coverage:.0%}",
        )  # fmt: skip
    show(out)


@group.command("score")
def score(
    proposal: str = typer.Argument(..., help="Proposal title."),
    criterion: str = typer.Argument(..., help="Criterion code (see `export`)."),
    value: int = typer.Argument(..., metavar="SCORE", help="0 (not at all) to 5 (fully)."),
    assessor: str = typer.Option(..., "--assessor"),
    comment: str = typer.Option(None, "--comment"),
    db: str = DbOption,
    user: str = UserOption,
) -> None:
    """Record one assessor's score of a proposal against a criterion."""
    from joinedup.programme import service

    with _session(db, user) as session:
        service.record_score(session, proposal, criterion, assessor, value, comment, date.today())
    console.print(f"{assessor} scored {proposal!r} {value} on {criterion}")


@group.command("standards")
def standards(db: str = DbOption) -> None:
    """Each provider's compliance with each standards catalogue (latest assessments)."""
    from joinedup.programme import service

    with _session(db) as session:
        rows = service.standards_variation(session)
    out = RichTable("catalogue", "provider", "met", "partly", "not met", "% met")
    for r in rows:
        out.add_row(
            r["catalogue"], r["provider"], str(r["met"]), str(r["partly_met"]),
            str(r["not_met"]), f"{r['percent_met']:.0f}",
        )  # fmt: skip
    show(out)


@group.command("risks")
def risks(db: str = DbOption) -> None:
    """Open risks, highest likelihood x impact first."""
    from joinedup.programme import service

    with _session(db) as session:
        out = RichTable("id", "risk", "owner", "L", "I", "score", "mitigations")
        for r in service.open_risks(session):
            out.add_row(
                str(r.id), r.title, r.owner or "-", str(r.likelihood), str(r.impact),
                str(r.score), r.mitigations or "-",
            )  # fmt: skip
    show(out)


@group.command("decisions")
def decisions(db: str = DbOption, as_json: bool = typer.Option(False, "--json")) -> None:
    """Decisions waiting on a partner's own governance, with each partner's response."""
    from joinedup.programme import service

    with _session(db) as session:
        rows = [
            {
                "id": d.id,
                "meeting": d.meeting,
                "meeting_on": d.meeting_on.isoformat(),
                "title": d.title,
                "owner": d.owner,
                "due": d.due.isoformat() if d.due else None,
                "responses": {r.organisation.code: r.response for r in d.responses},
            }
            for d in service.decisions_awaiting_partners(session)
        ]
    if as_json:
        _print_json(rows)
        return
    out = RichTable("id", "meeting", "decision", "owner", "due", "partners")
    for d in rows:
        responses = ", ".join(f"{k}: {v}" for k, v in d["responses"].items())
        out.add_row(
            str(d["id"]), f"{d['meeting']} {d['meeting_on']}", d["title"], d["owner"] or "-",
            d["due"] or "-", responses or "none recorded",
        )  # fmt: skip
    show(out)


@group.command("respond")
def respond(
    decision_id: int = typer.Argument(..., metavar="DECISION_ID"),
    partner: str = typer.Option(..., "--partner", help="Organisation code, e.g. NBC."),
    response: str = typer.Option(
        ..., "--response", help="pending, agreed, agreed_with_conditions, declined, not_required"
    ),
    body: str = typer.Option(None, "--body", help="The partner's body that decided."),
    on: str = typer.Option(None, "--on", help="Date of the response (YYYY-MM-DD; default today)."),
    notes: str = typer.Option(None, "--notes"),
    db: str = DbOption,
    user: str = UserOption,
) -> None:
    """Record a partner's response to a decision referred through its own governance."""
    from joinedup.programme import service

    with _session(db, user) as session:
        row = service.record_partner_response(
            session, decision_id, partner, response, body, _date(on, "--on") or date.today(), notes
        )
        text = f"decision {decision_id}: {partner} {row.response}"
    console.print(text)


@group.command("sign")
def sign(
    commitment: str = typer.Argument(..., help="Commitment title, e.g. 'Our Commitment'."),
    partner: str = typer.Option(..., "--partner", help="Organisation code."),
    signed_by: str = typer.Option(..., "--by", help="Who signed."),
    body: str = typer.Option(..., "--body", help="The partner's body that agreed it."),
    on: str = typer.Option(None, "--on", help="Date signed (YYYY-MM-DD; default today)."),
    db: str = DbOption,
    user: str = UserOption,
) -> None:
    """Record a partner's sign-off of a commitment."""
    from joinedup.programme import service

    with _session(db, user) as session:
        service.sign_commitment(
            session, commitment, partner, signed_by, body, _date(on, "--on") or date.today()
        )
    console.print(f"{partner} signed {commitment!r}")


@group.command("signoffs")
def signoffs(db: str = DbOption) -> None:
    """Each commitment's sign-off by the partners: who, which body, when, and who is
    still to sign."""
    from sqlalchemy import select

    from joinedup.programme.models import Commitment, Organisation

    with _session(db) as session:
        partners = list(
            session.scalars(
                select(Organisation).where(Organisation.is_partner).order_by(Organisation.code)
            )
        )
        for c in session.scalars(select(Commitment).order_by(Commitment.id)):
            out = RichTable("partner", "signed by", "body", "on", title=c.title)
            signed = {s.organisation_id: s for s in c.signoffs}
            for org in partners:
                s = signed.get(org.id)
                if s is None:
                    out.add_row(org.name, "[bold yellow]not yet signed[/]", "-", "-")
                else:
                    out.add_row(org.name, s.signed_by, s.body, s.signed_on.isoformat())
            show(out)


@group.command("history")
def history(
    entity: str = typer.Option(None, "--entity", help="Table, e.g. milestone."),
    entity_id: int = typer.Option(None, "--id"),
    limit: int = typer.Option(50, "--limit"),
    db: str = DbOption,
) -> None:
    """The change log: who changed what, when, old -> new (newest last)."""
    from joinedup.programme.audit import history as change_log

    with _session(db) as session:
        rows = change_log(session, entity, entity_id)[-limit:]
        out = RichTable("when", "who", "what", "field", "old", "new", "reason")
        for h in rows:
            out.add_row(
                h.changed_at.strftime("%Y-%m-%d %H:%M"), h.changed_by,
                f"{h.action} {h.entity} {h.entity_id} v{h.row_version}", h.field or "-",
                h.old_value or "-", h.new_value or "-", h.reason or "",
            )  # fmt: skip
    show(out)


@group.command("export")
def export(
    fmt: str = typer.Option("json", "--format", help="json (to stdout or --out) or excel."),
    out: Path = typer.Option(None, "--out", "-o", help="File to write (required for excel)."),
    db: str = DbOption,
    today: str = TodayOption,
) -> None:
    """Export everything: workstreams with milestones, criteria, proposals, innovations,
    standards, risks, decisions and sign-offs."""
    from joinedup.programme.exchange import export_all, export_excel

    fmt = fmt.lower()
    if fmt not in ("json", "excel", "xlsx"):
        raise fail(f"--format {fmt!r} is not one of: json, excel")
    if fmt != "json" and out is None:
        raise fail("--out FILE.xlsx is required for --format excel")
    with _session(db) as session:
        if fmt == "json":
            data = export_all(session, _date(today, "--today"))
        else:
            export_excel(session, out, _date(today, "--today"))
    if fmt == "json":
        if out is None:
            _print_json(data)
        else:
            out.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
            console.print(f"wrote {out}")
    else:
        console.print(f"wrote {out}")


@group.command("import-tracker")
def import_tracker(
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help="Tracker .xlsx"),
    db: str = DbOption,
    user: str = UserOption,
) -> None:
    """Import a workstream tracker workbook (sheets Workstreams and Milestones)."""
    from joinedup.programme.errors import TrackerError
    from joinedup.programme.exchange import import_tracker as run_import

    with _session(db, user) as session:
        try:
            counts = run_import(session, path)
        except TrackerError as exc:
            for problem in exc.problems:
                err_console.print(f"  {problem}", highlight=False, soft_wrap=True)
            n = len(exc.problems)
            raise fail(
                f"nothing imported: {n} problem{'s' if n != 1 else ''} listed above"
            ) from None
    summary = ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in counts.items())
    console.print(summary, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add the `programme` command group to the main app."""
    app.add_typer(group, name="programme")
