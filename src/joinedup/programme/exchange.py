"""Export the whole programme to JSON or Excel, and import a workstream tracker from Excel.

The tracker workbook has two sheets, with headers in the first row (case, spaces and
underscores do not matter; other columns are ignored):

- ``Workstreams``: code, name (both required), care pathway, priority (1-5),
  executive lead, clinical lead, managerial buddy, problem, focus, desired outcome,
  objectives, phase, status;
- ``Milestones``: workstream (code or name, required), title (required), due (a date,
  required), owner, forecast, status, notes, rag override (red, amber or green) and
  rag override reason (required with an override).

Rows are matched on workstream code and on (workstream, milestone title): existing
rows are updated, new ones added. Every problem is collected (sheet, Excel row,
column, what was expected) and nothing is written unless the whole workbook is good.
``export_excel`` writes those two sheets in the same layout, so an exported workbook
can be edited and imported again.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from joinedup.programme import service
from joinedup.programme.errors import InvalidValueError, TrackerError
from joinedup.programme.models import (
    Commitment,
    Criterion,
    Decision,
    Group,
    Innovation,
    Milestone,
    Organisation,
    Partnership,
    Proposal,
    Record,
    Risk,
    StandardsCatalogue,
    Workstream,
)
from joinedup.programme.rag import milestone_rag_explained, workstream_rag

WORKSTREAM_COLUMNS = [
    "code",
    "name",
    "care_pathway",
    "priority",
    "executive_lead",
    "clinical_lead",
    "managerial_buddy",
    "problem",
    "focus",
    "desired_outcome",
    "objectives",
    "phase",
    "status",
]
MILESTONE_COLUMNS = [
    "workstream", "title", "due", "owner", "forecast", "status", "notes",
    "rag_override", "rag_override_reason",
]  # fmt: skip


def _value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


def _row(obj: Record, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        c.key: _value(getattr(obj, c.key))
        for c in inspect(obj).mapper.column_attrs
        if c.key not in skip
    }


def _all(session: Session, model: type[Record]) -> list[Any]:
    return list(session.scalars(select(model).order_by(model.id)))


def export_all(session: Session, today: date | None = None) -> dict[str, Any]:
    """Everything in the store as plain JSON-ready data (dates as ISO strings)."""
    today = today or date.today()
    orgs = {o.id: o.code for o in _all(session, Organisation)}
    workstreams = []
    for ws in service.workstreams(session):
        item = _row(ws)
        item["rag"] = workstream_rag(ws, today)
        item["milestones"] = []
        for m in ws.milestones:
            rag, why = milestone_rag_explained(m, today)
            item["milestones"].append({**_row(m), "rag": rag, "rag_reason": why})
        item["deliverables"] = [_row(d) for d in ws.deliverables]
        item["measures"] = [_row(link) for link in ws.measures]
        workstreams.append(item)
    ranking = {r.proposal: r for r in service.criteria_ranking(session)}
    proposals = []
    for p in _all(session, Proposal):
        r = ranking.get(p.title)
        proposals.append(
            {
                **_row(p),
                "rank": r.rank if r else None,
                "weighted_score": r.weighted_score if r else None,
                "spread": r.spread if r else None,
                "assessor_scores": r.assessor_scores if r else {},
                "scores": [
                    {"criterion": s.criterion.code, "assessor": s.assessor, "score": s.score}
                    for s in p.scores
                ],
            }
        )
    return {
        "exported_at": datetime.now().astimezone().isoformat(timespec="seconds"),
        "partnership": [_row(p) for p in _all(session, Partnership)],
        "organisations": [_row(o) for o in _all(session, Organisation)],
        "groups": [
            {
                **_row(g),
                "members": [
                    {**_row(m), "organisation": orgs.get(m.organisation_id)} for m in g.members
                ],
            }
            for g in _all(session, Group)
        ],
        "workstreams": workstreams,
        "criteria": [
            _row(c) for c in session.scalars(select(Criterion).order_by(Criterion.position))
        ],
        "proposals": proposals,
        "innovations": [
            {**_row(i), "partners": [orgs[p.organisation_id] for p in i.partners]}
            for i in _all(session, Innovation)
        ],
        "standards": [
            {
                **_row(c),
                "standards": [
                    {
                        **_row(s),
                        "assessments": [
                            {**_row(a), "provider": orgs[a.organisation_id]} for a in s.assessments
                        ],
                    }
                    for s in c.standards
                ],
            }
            for c in _all(session, StandardsCatalogue)
        ],
        "standards_variation": service.standards_variation(session),
        "risks": [{**_row(r), "score": r.score} for r in _all(session, Risk)],
        "decisions": [
            {
                **_row(d),
                "responses": [{**_row(r), "partner": orgs[r.organisation_id]} for r in d.responses],
            }
            for d in _all(session, Decision)
        ],
        "commitments": [
            {
                **_row(c),
                "signoffs": [{**_row(s), "partner": orgs[s.organisation_id]} for s in c.signoffs],
            }
            for c in _all(session, Commitment)
        ],
    }


def _sheet(book: Workbook, title: str, header: list[str], rows: list[list[Any]]) -> None:
    sheet = book.create_sheet(title)
    sheet.append(header)
    for row in rows:
        sheet.append([_cell(v) for v in row])
    for i, name in enumerate(header, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = max(12, min(60, len(name) + 4))
    sheet.freeze_panes = "A2"


def _cell(value: Any) -> Any:
    if isinstance(value, dict | list):
        return str(value)
    return value


def export_excel(session: Session, path: Path, today: date | None = None) -> Path:
    """Write the programme to an Excel workbook: the tracker sheets (Workstreams,
    Milestones) and one sheet per register."""
    today = today or date.today()
    data = export_all(session, today)
    book = Workbook()
    book.remove(book.active)
    _sheet(
        book,
        "Workstreams",
        [*WORKSTREAM_COLUMNS, "rag"],
        [[ws[c] for c in WORKSTREAM_COLUMNS] + [ws["rag"]] for ws in data["workstreams"]],
    )
    milestones = []
    for ws in data["workstreams"]:
        for m in ws["milestones"]:
            milestones.append(
                [
                    ws["code"],
                    m["title"],
                    date.fromisoformat(m["due"]),
                    m["owner"],
                    date.fromisoformat(m["forecast"]) if m["forecast"] else None,
                    m["status"],
                    m["notes"],
                    m["rag_override"],
                    m["rag_override_reason"],
                    m["rag"],
                    m["rag_reason"],
                    m["id"],
                    m["version"],
                ]
            )
    _sheet(
        book, "Milestones", [*MILESTONE_COLUMNS, "rag", "rag_reason", "id", "version"], milestones
    )
    measures = [
        [ws["code"], m["measure_id"], m["direction"], m["baseline"], m["target"], m["trajectory"]]
        for ws in data["workstreams"]
        for m in ws["measures"]
    ]
    _sheet(
        book,
        "Measures",
        ["workstream", "measure_id", "direction", "baseline", "target", "trajectory"],
        measures,
    )
    ranking = service.criteria_ranking(session)
    _sheet(
        book,
        "Criteria ranking",
        ["rank", "proposal", "weighted_score", "percent", "assessors", "spread", "coverage"],
        [
            [r.rank, r.proposal, r.weighted_score, r.percent, r.assessors, r.spread, r.coverage]
            for r in ranking
        ],
    )
    _sheet(
        book,
        "Criteria",
        ["position", "code", "title", "weight", "active"],
        [
            [c["position"], c["code"], c["title"], c["weight"], c["active"]]
            for c in data["criteria"]
        ],
    )
    _sheet(
        book,
        "Innovations",
        [
            "title",
            "stage",
            "owner",
            "partners",
            "cost_pounds",
            "evidence",
            "evaluation_result",
            "evaluated_programme",
            "last_reviewed",
            "next_review",
        ],
        [
            [
                i["title"],
                i["stage"],
                i["owner"],
                ", ".join(i["partners"]),
                i["cost_pounds"],
                i["evidence"],
                i["evaluation_result"],
                i["evaluated_programme"],
                i["last_reviewed"],
                i["next_review"],
            ]
            for i in data["innovations"]
        ],
    )
    _sheet(
        book,
        "Standards",
        ["catalogue", "code", "standard", "provider", "rating", "assessed_on", "assessor"],
        [
            [
                c["name"],
                s["code"],
                s["text"],
                a["provider"],
                a["rating"],
                a["assessed_on"],
                a["assessor"],
            ]
            for c in data["standards"]
            for s in c["standards"]
            for a in s["assessments"]
        ],
    )
    _sheet(
        book,
        "Risks",
        ["id", "title", "owner", "likelihood", "impact", "score", "mitigations", "status"],
        [
            [
                r["id"],
                r["title"],
                r["owner"],
                r["likelihood"],
                r["impact"],
                r["score"],
                r["mitigations"],
                r["status"],
            ]
            for r in data["risks"]
        ],
    )
    _sheet(
        book,
        "Decisions",
        [
            "id",
            "meeting",
            "meeting_on",
            "title",
            "owner",
            "due",
            "status",
            "needs_partner_governance",
            "responses",
        ],
        [
            [
                d["id"],
                d["meeting"],
                d["meeting_on"],
                d["title"],
                d["owner"],
                d["due"],
                d["status"],
                d["needs_partner_governance"],
                "; ".join(f"{r['partner']}: {r['response']}" for r in d["responses"]),
            ]
            for d in data["decisions"]
        ],
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


# --- tracker import -----------------------------------------------------------------------


def _key(header: Any) -> str:
    return str(header or "").strip().lower().replace(" ", "_").replace("-", "_")


def _read(book: Any, name: str, columns: list[str], problems: list[str]) -> list[dict]:
    """Rows of one sheet as dicts keyed by our column names (with the Excel row number)."""
    sheets = {_key(s): s for s in book.sheetnames}
    if _key(name) not in sheets:
        problems.append(
            f"sheet {name!r} is missing (the workbook has: {', '.join(book.sheetnames)})"
        )
        return []
    sheet = book[sheets[_key(name)]]
    rows = sheet.iter_rows(values_only=True)
    header = [_key(h) for h in next(rows, ())]
    out = []
    for number, values in enumerate(rows, start=2):
        if all(v is None or str(v).strip() == "" for v in values):
            continue
        row = {h: v for h, v in zip(header, values, strict=False) if h in columns}
        row["_row"] = number
        out.append(row)
    return out


def _as_date(value: Any, where: str, problems: list[str], required: bool) -> date | None:
    if value is None or str(value).strip() == "":
        if required:
            problems.append(f"{where}: a date is required")
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        problems.append(f"{where}: {value!r} is not a date (expected YYYY-MM-DD or an Excel date)")
        return None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _differs(row: Record, values: dict[str, Any]) -> bool:
    """Whether importing ``values`` would change ``row`` (validators normalise on the
    way in, so compare on a normalised copy)."""
    probe = type(row)()
    for key, value in values.items():
        setattr(probe, key, value)
    return any(getattr(probe, k) != getattr(row, k) for k in values)


def import_tracker(session: Session, path: Path) -> dict[str, int]:
    """Import a workstream tracker workbook (see the module docstring); returns counts of
    workstreams and milestones added and updated. Raises TrackerError listing every
    problem, and then changes nothing."""
    problems: list[str] = []
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several kinds for a bad file
        raise TrackerError([f"{path}: not an Excel workbook ({exc})"]) from None
    ws_rows = _read(book, "Workstreams", WORKSTREAM_COLUMNS, problems)
    ms_rows = _read(book, "Milestones", MILESTONE_COLUMNS, problems)
    counts = {
        "workstreams_added": 0,
        "workstreams_updated": 0,
        "milestones_added": 0,
        "milestones_updated": 0,
    }  # rows matched but identical count as neither
    # The caller's session rolls back on the TrackerError: all or nothing.
    by_key: dict[str, Workstream] = {w.code: w for w in service.workstreams(session)}
    by_key.update({w.name: w for w in list(by_key.values())})
    for row in ws_rows:
        where = f"{path.name}, sheet Workstreams, row {row['_row']}"
        values = {c: _text(row.get(c)) for c in WORKSTREAM_COLUMNS if c in row}
        if not values.get("code") or not values.get("name"):
            problems.append(f"{where}: columns code and name are required")
            continue
        if values.get("priority") is not None:
            try:
                values["priority"] = int(float(values["priority"]))
            except ValueError:
                problems.append(f"{where}, column priority: {values['priority']!r} is not 1-5")
                continue
        values = {k: v for k, v in values.items() if v is not None}
        try:
            existing = by_key.get(values["code"])
            if existing is None:
                ws = service.create(session, Workstream, **values)
                counts["workstreams_added"] += 1
            else:
                if _differs(existing, values):
                    counts["workstreams_updated"] += 1
                ws = service.update(session, Workstream, existing.id, **values)
            by_key[ws.code] = by_key[ws.name] = ws
        except InvalidValueError as exc:
            problems.append(f"{where}: {exc}")
    for row in ms_rows:
        where = f"{path.name}, sheet Milestones, row {row['_row']}"
        key, title = _text(row.get("workstream")), _text(row.get("title"))
        if not key or not title:
            problems.append(f"{where}: columns workstream and title are required")
            continue
        ws = by_key.get(key)
        if ws is None:
            problems.append(f"{where}, column workstream: no workstream with code or name {key!r}")
            continue
        values: dict[str, Any] = {
            "title": title,
            "due": _as_date(row.get("due"), f"{where}, column due", problems, True),
            "forecast": _as_date(row.get("forecast"), f"{where}, column forecast", problems, False),
            "owner": _text(row.get("owner")),
            "notes": _text(row.get("notes")),
        }
        if _text(row.get("status")):
            values["status"] = _text(row.get("status"))
        if "rag_override" in row:
            values["rag_override"] = _text(row.get("rag_override"))
            values["rag_override_reason"] = _text(row.get("rag_override_reason"))
            if values["rag_override"] and not values["rag_override_reason"]:
                problems.append(f"{where}, column rag override reason: an override needs a reason")
                continue
        if values["due"] is None:
            continue
        existing = session.scalars(
            select(Milestone).filter_by(workstream_id=ws.id, title=title)
        ).first()
        try:
            if existing is None:
                service.create(session, Milestone, workstream_id=ws.id, **values)
                counts["milestones_added"] += 1
            else:
                if _differs(existing, values):
                    counts["milestones_updated"] += 1
                service.update(session, Milestone, existing.id, **values)
        except InvalidValueError as exc:
            problems.append(f"{where}: {exc}")
    if problems:
        session.rollback()
        raise TrackerError(problems)
    return counts
