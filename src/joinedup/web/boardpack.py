"""The quarterly board pack: one set of content rendered as HTML, PDF and Excel.

A quarter is a calendar quarter: ``2026Q3`` is July to September 2026. Measures are
shown up to the end of the quarter (or the end of the data, if earlier), with their
SPC charts and icons; the programme sections come from the programme store when it is
available. Every figure is suppressed as on the pages. Status is always written in
words (not colour alone) so the pack reads printed in black and white.
"""

from __future__ import annotations

import base64
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from joinedup.web.charts import UNIT_LABELS, fmt_value
from joinedup.web.data import DataService

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
    scenario_summary: str = (
        "Scenario results appear here once the scenarios capability is wired in."
    )


def _measure_section(data: DataService, measure_id: str, last: date) -> dict[str, Any] | None:
    from joinedup.measures.charts import spc_chart
    from joinedup.measures.spc import xmr

    if measure_id not in data.library:
        return None
    d = data.definition(measure_id)
    series = data.measure_table(measure_id, "partnership")
    series = series[series["period_start"] <= last]
    observed = series.dropna(subset=["value"])
    out: dict[str, Any] = {
        "id": d.id,
        "title": d.title,
        "unit": d.unit,
        "unit_label": UNIT_LABELS.get(d.unit, d.unit),
        "direction": d.direction,
        "target": d.target,
        "rows": series.tail(12).to_dict("records"),
        "latest": None,
        "period": None,
        "has_responses": "responses" in series.columns,
        "responses": None,
        "response_rate": None,
        "variation": None,
        "assurance": None,
        "chart": None,
        "inequality": _inequality(data, d, last),
    }
    if not observed.empty:
        out["latest"] = fmt_value(float(observed["value"].iloc[-1]), d.unit)
        out["period"] = str(observed["period"].iloc[-1])
        if "responses" in observed.columns:  # a feedback measure: its answers and rate
            out["responses"] = _number(observed["responses"].iloc[-1])
            out["response_rate"] = _number(observed["response_rate"].iloc[-1])
    if len(observed) >= 2:
        frame = xmr(
            series["value"].astype(float).to_numpy(),
            improvement=d.direction,
            target=d.target if d.direction != "neutral" else None,
            x=list(series["period"]),
        )
        out["variation"] = frame.attrs.get("variation_icon")
        out["assurance"] = frame.attrs.get("assurance_icon")
        svg = spc_chart(frame, d.title, UNIT_LABELS.get(d.unit, d.unit))
        out["chart"] = "data:image/svg+xml;base64," + base64.b64encode(svg).decode()
    return out


def _inequality(data: DataService, d: Any, last: date) -> dict[str, Any] | None:
    """The Core20 gap and SII of the latest financial year started by ``last``, with a
    sentence for the board (None for a measure not grouped by IMD quintile)."""
    if "imd_quintile" not in d.groupings:
        return None
    yearly = data.measure_inequality(d.id)
    yearly = yearly[yearly["period_start"] <= last]
    if yearly.empty:
        return None
    r = yearly.iloc[-1]
    parts = []
    if r["core20_gap"] == r["core20_gap"]:  # not NaN
        parts.append(
            f"{fmt_value(r['core20_value'], d.unit)} in the most deprived 20% (IMD quintile 1) "
            f"against {fmt_value(r['rest_value'], d.unit)} in the rest, a gap of "
            f"{fmt_value(r['core20_gap'], d.unit)}"
            + (
                f" (95% interval {fmt_value(r['core20_gap_lower'], d.unit)} to "
                f"{fmt_value(r['core20_gap_upper'], d.unit)})"
                if r["core20_gap_lower"] == r["core20_gap_lower"]
                else ""
            )
        )
    if r["sii"] == r["sii"]:
        parts.append(f"slope index of inequality {fmt_value(r['sii'], d.unit)}")
    text = "; ".join(parts) if parts else "no figures"
    if r["note"]:
        text += f" ({r['note']})"
    return {"period": r["period"], "text": text, "row": r.to_dict()}


def _number(value: Any) -> float | None:
    """A float, or None for a missing (suppressed or undefined) figure."""
    import pandas as pd

    return None if value is None or pd.isna(value) else float(value)


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


def build(data: DataService, programme_url: str, quarter: str, measure_ids: list[str]) -> BoardPack:
    """Gather the pack for ``quarter`` from the warehouse and the programme store."""
    from joinedup.web.programme import programme_summary

    first, last = quarter_bounds(quarter)
    pack = BoardPack(
        quarter=quarter.upper(),
        first=first,
        last=last,
        generated=datetime.now().strftime("%d %B %Y %H:%M"),
        population=data.population(),
    )
    # The warehouse is read-only while the app runs: the measure sections of a quarter
    # (SPC charts included) are drawn once.
    key = f"board-pack-measures:{quarter}:{','.join(measure_ids)}"
    if key not in data._memo:
        sections = [_measure_section(data, mid, last) for mid in measure_ids]
        data._memo[key] = [s for s in sections if s]
    pack.measures = data._memo[key]
    if "board-pack-scenarios" not in data._memo:
        data._memo["board-pack-scenarios"] = _scenarios(data)
    pack.scenario_summary, pack.scenarios = data._memo["board-pack-scenarios"]
    from joinedup.feedback.board import quarter_feedback

    with data._lock:  # one DuckDB connection per app: queries are serialised
        pack.feedback = quarter_feedback(data.wh, first, last)
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


#: The scenario the pack summarises (the partnership's plan), and how many draws.
PACK_SCENARIO = "partnership_plan"
PACK_RUNS = 200


def _scenarios(data: DataService) -> tuple[str, list[dict[str, Any]]]:
    """A summary line and the comparison row of the partnership plan scenario."""
    try:
        from joinedup.scenarios.api import comparison_table, run_scenarios
        from joinedup.scenarios.model import library_names
    except ImportError:
        return BoardPack.scenario_summary, []
    if PACK_SCENARIO not in library_names():
        return f"The scenario library has no {PACK_SCENARIO!r} scenario.", []
    table = comparison_table(
        run_scenarios([PACK_SCENARIO], data.warehouse_path, runs=PACK_RUNS, seed=42)
    )
    row = table.iloc[0]
    text = (
        f"The partnership plan scenario ({PACK_RUNS} Monte Carlo runs): acute bed days in "
        f"{row['final_year']} {row['bed_days_p50']:,.0f} against {row['baseline_bed_days']:,.0f} "
        f"without it; net present value {_money(row['npv_p50'])} (80% range "
        f"{_money(row['npv_p10'])} to {_money(row['npv_p90'])}). Run and compare scenarios on "
        "the Scenarios page."
    )
    return text, table.astype(object).where(table.notna(), None).to_dict("records")


def _money(value: float) -> str:
    return f"-£{-value:,.0f}" if value < 0 else f"£{value:,.0f}"


def _context(pack: BoardPack) -> dict[str, Any]:
    from joinedup.web.pages import ASSURANCE_TEXT, VARIATION_TEXT

    period = f"{MONTHS[pack.first.month - 1]} to {MONTHS[pack.last.month - 1]} {pack.last.year}"
    return {
        "pack": pack,
        "period": period,
        "fmt_value": fmt_value,
        "responses_text": responses_text,
        "variation_text": VARIATION_TEXT,
        "assurance_text": ASSURANCE_TEXT,
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
                m["latest"],
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
            ["title", "stage", "owner", "cost_pounds", "last_reviewed"],
        )
    else:
        wb.create_sheet("Programme").append(
            ["Programme store not available", prog.get("reason", "")]
        )
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
