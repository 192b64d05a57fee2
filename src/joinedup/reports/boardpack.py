"""The quarterly board pack: one set of content rendered as HTML, PDF and Excel.

A quarter is a calendar quarter: ``2026Q3`` is July to September 2026. Measures are
shown up to the end of the quarter (or the end of the data, if earlier), with their
SPC charts and icons; the programme sections come from the programme store when it is
available. Every figure comes from :class:`joinedup.published.Figures`, the figures the
web pages, the API and the command line show, so the pack and the dashboard never
disagree; the workbook's "Measure data" sheet holds every measure by every grouping
for its newest period and financial year. Status is always written in words (not
colour alone) so the pack reads printed in black and white. No web framework is
imported: ``joinedup report board`` writes the pack from the command line.
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from joinedup.measures.definition import MeasureError
from joinedup.measures.labels import (
    ASSURANCE_TEXT,
    UNIT_LABELS,
    VARIATION_TEXT,
    fmt_value,
    is_missing,
)
from joinedup.published.figures import Figures

QUARTER = re.compile(r"^(\d{4})Q([1-4])$")
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


class QuarterError(ValueError):
    """A quarter that is not written YYYYQn."""


def quarter_bounds(quarter: str) -> tuple[date, date]:
    """First and last day of a calendar quarter written like ``2026Q3``."""
    m = QUARTER.match(quarter.strip().upper())
    if not m:
        raise QuarterError(
            f"quarter {quarter!r}: expected YEARQn, e.g. 2026Q3 (July to September 2026)"
        )
    year, q = int(m.group(1)), int(m.group(2))
    first = date(year, 3 * q - 2, 1)
    last = date(year + (q == 4), (3 * q) % 12 + 1, 1).toordinal() - 1
    return first, date.fromordinal(last)


def current_quarter(today: date | None = None) -> str:
    """The calendar quarter of ``today``, e.g. ``2026Q4``."""
    today = today or date.today()
    return f"{today.year}Q{(today.month - 1) // 3 + 1}"


def latest_quarter(figures: Figures) -> str:
    """The newest quarter the data reach into (the quarter of the end of the data)."""
    return current_quarter(figures.census_day())


def latest_complete_quarter(figures: Figures) -> str:
    """The newest quarter the data cover to its last day (the quarter of the end of the
    data if it ends on the quarter's last day, else the quarter before)."""
    end = figures.census_day()
    quarter = current_quarter(end)
    first, last = quarter_bounds(quarter)
    return quarter if end >= last else current_quarter(first - timedelta(days=1))


@dataclass
class BoardPack:
    """Everything the pack shows, ready for any of the three renderings."""

    quarter: str
    first: date
    last: date
    generated: str
    population: dict[str, Any]
    measures: list[dict[str, Any]] = field(default_factory=list)
    programme: dict[str, Any] = field(default_factory=dict)
    milestones_due: list[dict[str, Any]] = field(default_factory=list)
    milestones_overdue: list[dict[str, Any]] = field(default_factory=list)
    innovation_changes: list[dict[str, Any]] = field(default_factory=list)
    feedback: dict[str, Any] = field(default_factory=dict)
    scenario_summary: str = ""
    scenarios: list[dict[str, Any]] = field(default_factory=list)
    measure_data: pd.DataFrame = field(default_factory=pd.DataFrame)
    evaluations: list[dict[str, Any]] = field(default_factory=list)
    #: Programme -> its charts as data URIs: "tests" (the falsification forest plot)
    #: and, for a place-based programme, "event_study" (None where there is nothing
    #: to draw).
    evaluation_charts: dict[str, dict[str, str | None]] = field(default_factory=dict)


def _measure_section(figures: Figures, measure_id: str, last: date) -> dict[str, Any] | None:
    """One headline measure up to ``last``: its latest value, SPC icons and chart of its
    series to then, and its inequality by deprivation in words."""
    from joinedup.charts.spc import spc_chart
    from joinedup.measures.results import spc_of

    if measure_id not in figures.library:
        return None
    d = figures.definition(measure_id)
    series = figures.measure(measure_id, "partnership")
    series = series[series["period_start"] <= last]
    observed = series.dropna(subset=["value"])
    out: dict[str, Any] = {
        "id": d.id,
        "title": d.title,
        "unit": d.unit,
        "unit_label": UNIT_LABELS[d.unit],
        "direction": d.direction,
        "target": d.target,
        "rows": series.tail(12).to_dict("records"),
        "latest": None,
        "value": None,
        "period": None,
        "has_responses": "responses" in series.columns,
        "responses": None,
        "response_rate": None,
        "variation": None,
        "assurance": None,
        "chart": None,
        "inequality": _inequality(figures, d, last),
    }
    if not observed.empty:
        out["value"] = _number(observed["value"].iloc[-1])
        out["latest"] = fmt_value(out["value"], d.unit)
        out["period"] = str(observed["period"].iloc[-1])
        if "responses" in observed.columns:  # a feedback measure: its answers and rate
            out["responses"] = _number(observed["responses"].iloc[-1])
            out["response_rate"] = _number(observed["response_rate"].iloc[-1])
    if len(observed) >= 2:
        import warnings

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # trial-limit advice is for `measures spc`
                frame = spc_of(series, d)
        except MeasureError:
            frame = None
        if frame is not None:
            out["variation"] = frame.attrs.get("variation_icon")
            out["assurance"] = frame.attrs.get("assurance_icon")
            svg = spc_chart(frame, d.title, UNIT_LABELS[d.unit])
            out["chart"] = "data:image/svg+xml;base64," + base64.b64encode(svg).decode()
    return out


def _inequality(figures: Figures, d: Any, last: date) -> dict[str, Any] | None:
    """The Core20 gap and SII of the latest financial year started by ``last``, with a
    sentence for the board (None for a measure not grouped by IMD quintile)."""
    if "imd_quintile" not in d.groupings:
        return None
    yearly = figures.inequality(d.id)
    yearly = yearly[yearly["period_start"] <= last]
    if yearly.empty:
        return None
    r = yearly.iloc[-1]
    parts = []
    if not is_missing(r["core20_gap"]):
        parts.append(
            f"{fmt_value(r['core20_value'], d.unit)} in the most deprived 20% (IMD quintile 1) "
            f"against {fmt_value(r['rest_value'], d.unit)} in the rest, a gap of "
            f"{fmt_value(r['core20_gap'], d.unit)}"
            + (
                f" (95% interval {fmt_value(r['core20_gap_lower'], d.unit)} to "
                f"{fmt_value(r['core20_gap_upper'], d.unit)})"
                if not is_missing(r["core20_gap_lower"])
                else ""
            )
        )
    if not is_missing(r["sii"]):
        parts.append(f"slope index of inequality {fmt_value(r['sii'], d.unit)}")
    text = "; ".join(parts) if parts else "no figures"
    if r["note"]:
        text += f" ({r['note']})"
    return {"period": r["period"], "text": text, "row": r.to_dict()}


def _number(value: Any) -> float | None:
    """A float, or None for a missing (suppressed or undefined) figure."""
    return None if is_missing(value) else float(value)


def responses_text(responses: float | None, rate: float | None) -> str:
    """'1,234 responses, 12.3% response rate' ('*' for a suppressed figure)."""
    if responses is None:
        return "* responses"
    text = f"{responses:,.0f} response{'' if responses == 1 else 's'}"
    return text + (f", {rate:.1f}% response rate" if rate is not None else "")


def _in(day: Any, first: date, last: date) -> bool:
    if not day:
        return False
    d = date.fromisoformat(day) if isinstance(day, str) else day
    return first <= d <= last


def build(
    figures: Figures, programme_url: str, quarter: str, measure_ids: Sequence[str]
) -> BoardPack:
    """Gather the pack for ``quarter`` from the published figures and the programme
    store."""
    from joinedup.programme.summary import programme_summary

    first, last = quarter_bounds(quarter)
    pack = BoardPack(
        quarter=quarter.upper(),
        first=first,
        last=last,
        generated=datetime.now().strftime("%d %B %Y %H:%M"),
        population=figures.population(),
    )
    sections = figures.figure(
        f"board-pack-measures:{pack.quarter}:{','.join(measure_ids)}",
        lambda: [s for s in (_measure_section(figures, m, last) for m in measure_ids) if s],
    )
    pack.measures = sections
    plan = figures.plan_scenario()
    pack.scenario_summary, pack.scenarios = plan["text"], plan["rows"]
    pack.feedback = figures.feedback(first, last)
    pack.measure_data = figures.measure_data()
    pack.evaluations = evaluations(figures)
    pack.evaluation_charts = figures.figure(
        "board-pack-evaluation-charts", evaluation_charts, pack.evaluations
    )
    prog = programme_summary(programme_url, today=last)
    pack.programme = prog
    if prog.get("available"):
        open_ms = [m for m in prog["milestones"] if m["status"] not in ("complete", "cancelled")]
        pack.milestones_due = [m for m in open_ms if _in(m["due"], first, last)]
        pack.milestones_overdue = [
            m for m in open_ms if m["due"] and date.fromisoformat(m["due"]) < first
        ]
        pack.innovation_changes = [
            i for i in prog["innovations"] if _in(i["last_reviewed"], first, last)
        ]
    return pack


def evaluations(figures: Figures) -> list[dict[str, Any]]:
    """Each programme's published evaluation (:meth:`Figures.evaluation`), or, for one
    that cannot be evaluated, ``{"programme": name, "kind": ..., "reason": why}``."""
    return [evaluation_or_reason(figures, name) for name in figures.programmes()]


def evaluation_or_reason(figures: Figures, name: str) -> dict[str, Any]:
    """The published evaluation of the programme ``name`` (a place-based one has
    ``kind`` "place"), or ``{"programme": name, "kind": "place" or "person", "reason":
    why}`` when it cannot be evaluated."""
    try:
        return figures.evaluation(name)
    except ValueError as exc:
        kind = "place" if name in figures.place_programmes() else "person"
        return {"programme": name, "kind": kind, "reason": str(exc)}


def evaluation_charts(docs: list[dict[str, Any]]) -> dict[str, dict[str, str | None]]:
    """Each evaluated programme's falsification forest plot ("tests") and event study
    ("event_study", place-based only) as SVG data URIs, None where nothing is drawn."""
    from joinedup.charts.evaluation import event_study_svg, falsification_svg

    out: dict[str, dict[str, str | None]] = {}
    for e in docs:
        if e.get("reason"):
            continue
        charts: dict[str, str | None] = {}
        for name, draw in (("tests", falsification_svg), ("event_study", event_study_svg)):
            try:
                svg = draw(e).encode("utf-8")
            except ValueError:  # withheld, or no event study (person-level)
                charts[name] = None
                continue
            charts[name] = "data:image/svg+xml;base64," + base64.b64encode(svg).decode()
        out[e["programme"]] = charts
    return out


def _evaluation_row(e: dict[str, Any]) -> dict[str, Any]:
    """One programme's evaluation as flat cells (the published document is not
    changed): a person-level one has its negative controls and balance, a place-based
    one (no negative controls, no matching) its units and pre-trend test instead."""
    row = dict(e)
    row["kind"] = e.get("kind") or "person"
    placebo = e.get("placebo") or {}
    second = e.get("placebo_never_enrolled") or {}
    for key in ("rate_ratio", "lower", "upper"):
        row[f"placebo_{key}"] = placebo.get(key)
        row[f"placebo_never_enrolled_{key}"] = second.get(key)
    controls = e.get("negative_controls") or []
    row["negative_controls_failed"] = (
        ", ".join(c["label"] for c in controls if c.get("failed")) or "none" if controls else None
    )
    row["max_abs_smd_after"] = (e.get("balance") or {}).get("max_abs_smd_after")
    pre_trend = e.get("pre_trend") or {}
    row["pre_trend_p_value"] = pre_trend.get("p_value")
    row["pre_trend_failed"] = pre_trend.get("failed")
    detectable = e.get("minimum_detectable") or {}
    row["minimum_detectable_lower"] = detectable.get("lower_rate_ratio")
    row["minimum_detectable_higher"] = detectable.get("higher_rate_ratio")
    return row


def _context(pack: BoardPack) -> dict[str, Any]:
    from joinedup.risk.evaluate import RTM_WARNING

    period = f"{MONTHS[pack.first.month - 1]} to {MONTHS[pack.last.month - 1]} {pack.last.year}"
    return {
        "pack": pack,
        "evaluated": {e["programme"]: e for e in pack.evaluations},
        "period": period,
        "fmt_value": fmt_value,
        "responses_text": responses_text,
        "variation_text": VARIATION_TEXT,
        "assurance_text": ASSURANCE_TEXT,
        "rtm_warning": RTM_WARNING,
    }


def to_html(pack: BoardPack) -> str:
    """The pack as one self-contained HTML page (charts inlined, print styles)."""
    from pathlib import Path

    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=select_autoescape(["html"]),
    )
    return env.get_template("board_pack.html").render(**_context(pack))


def to_pdf(pack: BoardPack) -> bytes:
    """The pack as PDF (WeasyPrint; A4, black-and-white friendly)."""
    from weasyprint import HTML

    return HTML(string=to_html(pack)).write_pdf()


def to_xlsx(pack: BoardPack) -> bytes:
    """The pack as an Excel workbook: one sheet per section."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "Summary"
    ws.append([f"Partnership board pack {pack.quarter}", f"{pack.first} to {pack.last}"])
    ws.append(["Generated", pack.generated])
    ws.append(
        ["Registered population", pack.population["people"], "as of", pack.population["as_of"]]
    )
    ws.append([])
    ws.append(
        [
            "Measure",
            "Latest period",
            "Latest value",
            "Unit",
            "Variation",
            "Assurance",
            "Responses",
            "Response rate %",
        ]
    )
    for m in pack.measures:
        ws.append(
            [
                m["title"],
                m["period"],
                m["value"],
                m["unit_label"],
                m["variation"],
                m["assurance"],
                m.get("responses"),
                m.get("response_rate"),
            ]
        )
    for row in (1, 5):
        for cell in ws[row]:
            cell.font = Font(bold=True)

    ms = wb.create_sheet("Measures")
    ms.append(
        [
            "Measure",
            "Period",
            "Numerator",
            "Denominator",
            "Value",
            "Lower 95%",
            "Upper 95%",
            "Responses",
            "Eligible",
            "Response rate %",
            "Suppressed",
        ]
    )
    for m in pack.measures:
        for r in m["rows"]:
            ms.append(
                [
                    m["id"],
                    str(r["period"]),
                    *[
                        _cell(r.get(k))
                        for k in (
                            "numerator",
                            "denominator",
                            "value",
                            "lower",
                            "upper",
                            "responses",
                            "eligible",
                            "response_rate",
                        )
                    ],
                    bool(r.get("suppressed")),
                ]
            )
    inequalities = [
        {"measure": m["id"], **{k: _cell(v) for k, v in m["inequality"]["row"].items()}}
        for m in pack.measures
        if m["inequality"]
    ]
    if inequalities:
        _sheet(
            wb,
            "Inequalities",
            inequalities,
            [
                "measure",
                "period",
                "core20_value",
                "rest_value",
                "core20_gap",
                "core20_gap_lower",
                "core20_gap_upper",
                "core20_ratio",
                "sii",
                "sii_lower",
                "sii_upper",
                "rii",
                "note",
            ],
        )
    if pack.feedback.get("settings"):
        _sheet(
            wb,
            "What people told us",
            pack.feedback["settings"],
            [
                "setting",
                "responses",
                "percent_positive",
                "eligible",
                "eligible_label",
                "response_rate",
            ],
        )
    prog = pack.programme
    if prog.get("available"):
        _sheet(
            wb,
            "Workstreams",
            prog["workstreams"],
            ["code", "name", "rag", "status", "phase", "red", "amber", "green"],
        )
        _sheet(
            wb,
            "Milestones due",
            pack.milestones_due,
            ["workstream", "title", "owner", "due", "forecast", "status", "rag"],
        )
        _sheet(
            wb,
            "Milestones overdue",
            pack.milestones_overdue,
            ["workstream", "title", "owner", "due", "forecast", "status", "rag"],
        )
        _sheet(
            wb,
            "Decisions needed",
            prog["decisions"],
            ["title", "meeting", "meeting_on", "owner", "due", "status"],
        )
        _sheet(
            wb,
            "Risks",
            prog["risks"],
            ["title", "owner", "likelihood", "impact", "score", "status"],
        )
        _sheet(
            wb,
            "Innovation changes",
            pack.innovation_changes,
            ["title", "stage", "owner", "cost_pounds", "last_reviewed", "evaluated_programme"],
        )
    else:
        wb.create_sheet("Programme").append(
            ["Programme store not available", prog.get("reason", "")]
        )
    _sheet(
        wb,
        "Evaluations",
        [_evaluation_row(e) for e in pack.evaluations],
        ["programme", "kind", "outcome_label", "enrolled", "matched_enrolled",
         "comparison_people", "units_started", "units_never_started", "rate_ratio", "lower",
         "upper", "naive_rate_ratio", "naive_lower", "naive_upper", "verdict",
         "verdict_sentence", "placebo_rate_ratio", "placebo_lower", "placebo_upper",
         "placebo_never_enrolled_rate_ratio", "placebo_never_enrolled_lower",
         "placebo_never_enrolled_upper", "negative_controls_failed", "max_abs_smd_after",
         "pre_trend_p_value", "pre_trend_failed", "e_value", "e_value_interval",
         "minimum_detectable_lower", "minimum_detectable_higher", "reason"],
    )  # fmt: skip
    _measure_data(wb, pack.measure_data)
    sc = wb.create_sheet("Scenarios")
    sc.append([pack.scenario_summary])
    if pack.scenarios:
        columns = list(pack.scenarios[0])
        sc.append(columns)
        for r in pack.scenarios:
            sc.append([r[c] for c in columns])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


#: The renderings of the pack, by file extension.
WRITERS = {"html": lambda pack: to_html(pack).encode(), "pdf": to_pdf, "xlsx": to_xlsx}


def pack_path(folder: Path, quarter: str, fmt: str) -> Path:
    """Where the pack for ``quarter`` in format ``fmt`` is written in ``folder``."""
    return Path(folder) / f"board-pack-{quarter.upper()}.{fmt}"


def write(pack: BoardPack, folder: Path, fmt: str) -> Path:
    """Write the pack in format ``fmt`` (html, pdf or xlsx) into ``folder``."""
    Path(folder).mkdir(parents=True, exist_ok=True)
    target = pack_path(folder, pack.quarter, fmt)
    target.write_bytes(WRITERS[fmt](pack))
    return target


#: Columns of the "Measure data" sheet, as the API and `joinedup measures compute` name them.
MEASURE_DATA_COLUMNS = [
    "measure_id", "grouping", "group", "period_kind", "period", "period_start", "period_end",
    "numerator", "denominator", "value", "lower", "upper", "unit", "suppressed",
]  # fmt: skip


def _measure_data(wb: Any, frame: pd.DataFrame) -> None:
    """Every measure by every grouping, newest period and newest financial year."""
    from openpyxl.styles import Font

    ws = wb.create_sheet("Measure data")
    ws.append(MEASURE_DATA_COLUMNS)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    if frame.empty:
        return
    numbers = ("numerator", "denominator", "value", "lower", "upper")
    for r in frame[MEASURE_DATA_COLUMNS].itertuples(index=False):
        row = r._asdict()
        for k in numbers:
            row[k] = _number(row[k])
        row["group"] = str(row["group"])
        row["period_start"], row["period_end"] = str(row["period_start"]), str(row["period_end"])
        row["suppressed"] = bool(row["suppressed"])
        ws.append([row[c] for c in MEASURE_DATA_COLUMNS])


def _cell(value: Any) -> Any:
    try:
        import pandas as pd

        return None if value is None or pd.isna(value) else float(value)
    except (TypeError, ValueError):
        return value


def _sheet(wb: Any, title: str, rows: list[dict[str, Any]], columns: list[str]) -> None:
    from openpyxl.styles import Font

    ws = wb.create_sheet(title)
    ws.append(columns)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for r in rows:
        ws.append([str(r.get(c)) if isinstance(r.get(c), date) else r.get(c) for c in columns])
