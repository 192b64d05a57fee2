"""`joinedup practice`: a practice's activity feed, frequent attenders and profile.

The command line is for analysts with the warehouse: it shows pseudonymised person
ids, never NHS numbers (those reach a practice's own clinicians through the web app,
audited).
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table as RichTable

from joinedup.cli.common import WarehouseOption, console, err_console, fail, show, warehouse_path
from joinedup.cli.risk_model import ModelOption, model_dir, parse_date, write_frame
from joinedup.measures.labels import fmt_value

practice_app = typer.Typer(
    help="A practice's own view: this week's hospital activity, frequent attenders, profile.",
    no_args_is_help=True,
)

EndOption = typer.Option(
    None, "--end", help="Last day of the window, YYYY-MM-DD (default: newest data held)."
)
OutOption = typer.Option(None, "--out", "-o", help="Also write the table to FILE.csv or .xlsx.")


def _open(warehouse: Path):
    from joinedup.warehouse import open_warehouse

    path = warehouse_path(warehouse)
    try:
        return path, open_warehouse(path, read_only=True)
    except (FileNotFoundError, ValueError) as exc:
        raise fail(str(exc)) from None


def _check_out(out: Path | None) -> None:
    if out is not None and out.suffix.lower() not in (".csv", ".xlsx"):
        raise fail(f"--out {out}: expected a file name ending .csv or .xlsx")


def _casefinding_ids(wh, path: Path, model: Path | None, code: str, end) -> set[str] | None:
    """The practice's case-finding list from the risk model, or None without a model."""
    from joinedup.risk.casefind import ListFilters, case_finding_list
    from joinedup.risk.model import RiskModel, score_people

    folder = model_dir(model, path)
    if not folder.is_dir():
        return None
    try:
        fitted = RiskModel.load(folder)
    except (FileNotFoundError, ValueError):
        return None
    with console.status("scoring the population for the case-finding flag"):
        scored = score_people(wh, fitted, end)
        listed = case_finding_list(wh, fitted, scored, ListFilters(practice=code))
    return set(listed["person_id"])


def _timeliness(wh, names: tuple[str, ...] | None = None) -> None:
    from joinedup.practice.timeliness import source_dates, warnings_for

    for w in warnings_for(source_dates(wh), names):
        console.print(f"[yellow]late data:[/] {w}")


@practice_app.command("feed")
def feed(
    code: str = typer.Argument(..., help="Practice (ODS) code, e.g. Z10009."),
    days: int = typer.Option(7, "--days", "-d", min=1, max=366, help="Days of data."),
    end: str = EndOption,
    event: str = typer.Option(
        None, "--event", help="Only ae_attendance, emergency_admission or discharge."
    ),
    flagged: bool = typer.Option(False, "--flagged", help="Only rows with a reason to act."),
    warehouse: Path = WarehouseOption,
    model: Path = ModelOption,
    out: Path = OutOption,
) -> None:
    """A&E attendances, emergency admissions and discharges of the practice's patients."""
    from joinedup.practice.feed import FEED_EVENTS, FEED_SOURCES, PracticeNotFound, activity_feed

    _check_out(out)
    if event is not None and event not in FEED_EVENTS:
        raise fail(f"--event {event!r}: expected one of {', '.join(FEED_EVENTS)}")
    path, wh = _open(warehouse)
    when = parse_date(end, "--end")
    with wh:
        try:
            ids = _casefinding_ids(wh, path, model, code, when)
            rows = activity_feed(
                wh, code, days, when, casefinding_ids=ids,
                events=(event,) if event else FEED_EVENTS,
            )  # fmt: skip
        except (PracticeNotFound, ValueError) as exc:
            raise fail(str(exc)) from None
        _timeliness(wh, FEED_SOURCES)
    if flagged:
        rows = rows[rows["reasons"] != ""]
    a = rows.attrs
    t = RichTable(
        "date", "event", "person_id", "age", "provider", "diagnosis / details", "reasons to act",
        title=f"{a['practice_name']} ({code}): {a['start']} to {a['end']}, {len(rows)} events",
    )  # fmt: skip
    for r in rows.itertuples():
        dx = f"{r.diagnosis} ({r.diagnosis_chapter}); " if isinstance(r.diagnosis, str) else ""
        t.add_row(str(r.date), r.event, r.person_id, str(r.age), r.provider_code, dx + r.detail,
                  r.reasons)  # fmt: skip
    show(t)
    if ids is None:
        console.print(
            "no risk model found: the case-finding flag is off (train one: joinedup risk train)"
        )
    if out is not None:
        write_frame(rows, out)
        console.print(f"wrote {len(rows)} rows to {out}")


@practice_app.command("attenders")
def attenders(
    code: str = typer.Argument(..., help="Practice (ODS) code."),
    days: int = typer.Option(365, "--days", "-d", min=28, max=1096, help="Window in days."),
    min_ae: int = typer.Option(5, "--min-ae", min=1, help="A&E attendances that qualify."),
    min_admissions: int = typer.Option(
        3, "--min-admissions", min=1, help="Emergency admissions that qualify."
    ),
    end: str = EndOption,
    warehouse: Path = WarehouseOption,
    out: Path = OutOption,
) -> None:
    """Patients with repeated A&E attendances or emergency admissions, month by month."""
    from joinedup.practice.attenders import frequent_attenders, pattern_text
    from joinedup.practice.feed import PracticeNotFound

    _check_out(out)
    _path, wh = _open(warehouse)
    with wh:
        try:
            rows = frequent_attenders(
                wh, code, days, parse_date(end, "--end"), min_ae, min_admissions
            )
        except (PracticeNotFound, ValueError) as exc:
            raise fail(str(exc)) from None
    a = rows.attrs
    t = RichTable(
        "person_id", "age", "A&E", "admissions", "bed days", "last", "pattern",
        title=f"{a['practice_name']} ({code}): frequent attenders {a['start']} to {a['end']}",
    )  # fmt: skip
    for r in rows.itertuples():
        t.add_row(r.person_id, str(r.age), str(r.ae_attendances), str(r.emergency_admissions),
                  str(r.bed_days), str(r.last_event), pattern_text(r.pattern))  # fmt: skip
    show(t)
    if out is not None:
        write_frame(rows.assign(pattern=[" ".join(map(str, p)) for p in rows["pattern"]]).drop(
            columns="months"), out)  # fmt: skip
        console.print(f"wrote {len(rows)} rows to {out}")


@practice_app.command("profile")
def profile(
    code: str = typer.Argument(..., help="Practice (ODS) code."),
    end: str = EndOption,
    fmt: str = typer.Option(
        "table", "--format", "-f", help="table, or json (the web API's profile)."
    ),
    warehouse: Path = WarehouseOption,
) -> None:
    """List size, age structure, prevalence against expected and similar practices, as
    the web app shows them: counts from 1 to 7 are suppressed (*), with the cells that
    would reveal them."""
    from joinedup.practice.feed import PracticeNotFound, activity_counts
    from joinedup.practice.profile import practice_profile
    from joinedup.published import Figures, NotFound
    from joinedup.published.population import safe_pyramid
    from joinedup.published.practices import publish_profile

    if fmt not in ("table", "json"):
        raise fail(f"--format {fmt!r}: expected table or json")
    path = warehouse_path(warehouse)
    if not path.exists():
        raise fail(f"no warehouse at {path}: run `joinedup demo` first (or pass --warehouse FILE)")
    when = parse_date(end, "--end")
    with Figures(path) as figures, err_console.status("profiling the practice"):
        try:
            if when is None:  # the published profile, as on the web page
                p = figures.practice_profile(code)
            else:
                raw = practice_profile(figures.wh, code, when)
                p = publish_profile(
                    raw,
                    safe_pyramid(raw.pyramid),
                    activity_counts(figures.wh, 7, when),
                    [],
                )
        except (NotFound, PracticeNotFound, ValueError) as exc:
            raise fail(str(exc).strip("'\"")) from None
        if fmt == "json":
            typer.echo(json.dumps(p.as_dict(), indent=1))
            return
        _timeliness(figures.wh)
    size = "*" if p.list_size is None else f"{p.list_size:,}"
    console.print(
        f"[bold]{p.name} ({code})[/]: cluster {p.cluster_code}, footprint {p.footprint_code}; "
        f"{size} registered on {p.as_of}"
    )
    t = RichTable("age band", "people", "% of list", "% partnership", title="Age structure")
    for r in p.age_bands.itertuples():
        t.add_row(r.age_band, _n(r.people, "{:,.0f}"), _n(r.share_of_list, "{:.1%}"),
                  f"{r.partnership_share:.1%}")  # fmt: skip
    show(t)
    t = RichTable(
        "condition", "register", "prevalence", "expected", "O/E (95% CI)",
        title="Long-term conditions against expected",
    )  # fmt: skip
    for r in p.prevalence.itertuples():
        ratio = "*" if _missing(r.ratio) else f"{r.ratio:.2f} ({r.lower:.2f}-{r.upper:.2f})"
        flag = {"higher than expected": " high", "lower than expected": " low"}.get(r.flag, "")
        t.add_row(r.condition.replace("_", " "), _n(r.observed, "{:,.0f}"),
                  _n(r.prevalence, "{:.1f}%"), f"{r.expected:,.1f}", ratio + flag)  # fmt: skip
    show(t)
    t = RichTable("practice", "list", "65+", "IMD", title="Similar practices")
    for r in p.peers:
        t.add_row(f"{r['name'][:34]} ({r['practice_code']})", f"{r['list_size']:,}",
                  f"{100 * r['share_65_plus']:.1f}%", f"{r['mean_imd_decile']}")  # fmt: skip
    show(t)
    if p.measures:
        heading = f"Measures, {p.measures[0]['period']}"
        t = RichTable("measure", "here", "peers", "all", title=heading)
        for m in p.measures:
            t.add_row(m["title"][:40], fmt_value(m["practice"], m["unit"]),
                      fmt_value(m["peer_median"], m["unit"]),
                      fmt_value(m["partnership"], m["unit"]))  # fmt: skip
        show(t)
        console.print("rates per year; peers: median of the similar practices", highlight=False)


def _missing(value: object) -> bool:
    from joinedup.measures.labels import is_missing

    return is_missing(value)


def _n(value: object, fmt: str) -> str:
    return "*" if _missing(value) else fmt.format(value)


def register(app: typer.Typer) -> None:
    """Add the `practice` command group to the main app."""
    app.add_typer(practice_app, name="practice")
