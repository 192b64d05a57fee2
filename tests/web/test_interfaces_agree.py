"""One published figure everywhere: the JSON API, the web page's tables, the board pack
workbook and `joinedup measures compute` give the same value, interval and suppression
for every built-in measure by every grouping, in the newest period and the newest
financial year; the practice profile, the segments and the opportunities likewise.

The command line computes on its own (``--no-cache``: no figures store, no measure
cache), so agreement here means two independent computations agree, not one object
read twice. The economy is small (5,000 people), so many cells are suppressed and the
suppression has to agree too.
"""

from __future__ import annotations

import html
import io
import json
import math
import re

import pandas as pd
import pytest
from typer.testing import CliRunner

from joinedup.cli import app as cli
from joinedup.measures.definition import GROUPINGS, load_library

pytestmark = pytest.mark.integration

LIBRARY = load_library()
KINDS = ("own", "financial_year")
ROW = re.compile(
    r'<tr data-group="([^"]*)" data-period="([^"]*)" data-value="([^"]*)" '
    r'data-lower="([^"]*)" data-upper="([^"]*)" data-suppressed="(true|false)">'
)


def _number(value) -> float | None:
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value)


def _key(group) -> str:
    return str(group)


def _figures(rows) -> dict[tuple[str, str], tuple]:
    """(group, period) -> (value, lower, upper, suppressed) of published rows."""
    return {
        (_key(r["group"]), str(r["period"])): (
            _number(r["value"]),
            _number(r["lower"]),
            _number(r["upper"]),
            str(r["suppressed"]).lower() in ("true", "1"),
        )
        for r in rows
    }


def _latest(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["period_start"] == frame["period_start"].max()]


def _cli_csv(args: list[str]) -> pd.DataFrame:
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 0, r.output
    return pd.read_csv(io.StringIO(r.stdout), dtype={"group": str, "period": str})


@pytest.fixture(scope="module")
def cli_results(web_env) -> dict[str, pd.DataFrame]:
    """Every measure by every grouping it allows from the command line, computed afresh,
    for each measure's own period and for financial years."""
    warehouse = str(web_env.app.state.settings.warehouse)
    base = ["measures", "compute", "--by", "all", "--format", "csv", "--no-cache"]
    return {
        "own": _cli_csv([*base, "--warehouse", warehouse]),
        "financial_year": _cli_csv([*base, "--period", "financial_year", "--warehouse", warehouse]),
    }


@pytest.fixture(scope="module")
def workbook(clients) -> dict[tuple[str, str, str], list[dict]]:
    """The board pack workbook's "Measure data" rows by (measure, grouping, period kind)."""
    from openpyxl import load_workbook

    r = clients["board"].get("/board-pack/2026Q1.xlsx")
    assert r.status_code == 200
    rows = list(load_workbook(io.BytesIO(r.content))["Measure data"].values)
    header = rows[0]
    out: dict[tuple[str, str, str], list[dict]] = {}
    for values in rows[1:]:
        row = dict(zip(header, values, strict=True))
        out.setdefault((row["measure_id"], row["grouping"], row["period_kind"]), []).append(row)
    return out


CASES = [(m, g) for m, d in LIBRARY.items() for g in GROUPINGS if g in d.groupings]


@pytest.mark.parametrize(("measure", "by"), CASES, ids=[f"{m}-{g}" for m, g in CASES])
def test_every_interface_gives_the_same_figures(
    measure, by, clients, cli_results, workbook
) -> None:
    d = LIBRARY[measure]
    page = clients["analyst"].get(f"/measures/{measure}?by={by}")
    assert page.status_code == 200, page.text
    for kind in KINDS:
        period = d.period if kind == "own" else "financial_year"
        api = clients["analyst"].get(f"/api/measures/{measure}?by={by}&period={period}")
        assert api.status_code == 200, api.text
        api_rows = pd.DataFrame(api.json()["rows"])
        if api_rows.empty:
            continue
        latest = _latest(api_rows)
        expected = _figures(latest.to_dict("records"))
        assert set(latest["unit"]) == {d.unit}
        # The command line (computed afresh).
        mine = cli_results[kind]
        mine = mine[(mine["measure_id"] == measure) & (mine["grouping"] == by)]
        cli_latest = mine[mine["period"].isin(set(latest["period"]))]
        assert _figures(cli_latest.to_dict("records")) == expected, f"CLI {kind}"
        assert set(cli_latest["unit"]) == {d.unit}
        # The web page's table.
        label = "latest-period" if kind == "own" else "latest-financial-year"
        table = page.text.split(f'id="grouped-{label}"', 1)[1].split("</table>", 1)[0]
        rows = [
            dict(zip(("group", "period", "value", "lower", "upper", "suppressed"), m, strict=True))
            for m in ROW.findall(table)
        ]
        for r in rows:
            r["group"] = html.unescape(r["group"])
        assert _figures(rows) == expected, f"page {kind}"
        # The board pack workbook: Excel keeps 16 significant digits (openpyxl writes
        # "%.16g"), so its values agree to that precision, not to the last bit.
        book_kind = d.period if kind == "own" else "financial_year"
        book = _figures(workbook[(measure, by, book_kind)])
        assert book.keys() == expected.keys(), f"workbook {kind}"
        for key, (value, lower, upper, hidden) in expected.items():
            got = book[key]
            assert got[3] == hidden, (f"workbook {kind}", key)
            for a, b in zip(got[:3], (value, lower, upper), strict=True):
                assert (a is None and b is None) or math.isclose(a, b, rel_tol=1e-15), (
                    f"workbook {kind}",
                    key,
                )


def test_the_contract_form_of_the_command_agrees_with_the_api(web_env, clients) -> None:
    """`joinedup measures compute ID --by G --format csv` against `GET
    /api/measures/ID?by=G`, every period (not only the newest)."""
    warehouse = str(web_env.app.state.settings.warehouse)
    for measure, by in (("emergency_admissions", "practice"), ("ae_within_4_hours", "sex"),
                        ("emergency_admissions_dsr", "imd_quintile")):  # fmt: skip
        frame = _cli_csv(
            ["measures", "compute", measure, "--by", by, "--format", "csv", "--no-cache",
             "--warehouse", warehouse]
        )  # fmt: skip
        rows = clients["board"].get(f"/api/measures/{measure}?by={by}").json()["rows"]
        assert _figures(frame.to_dict("records")) == _figures(rows)
        assert len(frame) == len(rows) and set(frame["unit"]) == {r["unit"] for r in rows}


def test_rates_are_per_year_on_every_interface(web_env, clients) -> None:
    """The report that opened this work: the CLI said 103.55 per 1,000 per year, the page
    8.79 'per 1,000' for the same month. Now the page shows the CLI's figure."""
    rows = clients["analyst"].get("/api/measures/emergency_admissions").json()["rows"]
    last = rows[-1]
    days = (pd.Timestamp(last["period_end"]) - pd.Timestamp(last["period_start"])).days + 1
    per_year = 1000 * last["numerator"] / last["denominator"] * 365.25 / days
    assert last["value"] == pytest.approx(per_year, rel=1e-12)
    page = clients["analyst"].get("/measures/emergency_admissions").text
    from joinedup.measures.labels import fmt_value

    assert fmt_value(last["value"], "per_1000") in page
    assert "per 1,000 per year" in page


def test_practice_profile_agrees(web_env, clients) -> None:
    code = web_env.practice
    api = clients["analyst"].get(f"/api/practices/{code}/profile").json()
    r = CliRunner().invoke(
        cli,
        ["practice", "profile", code, "--format", "json", "--warehouse",
         str(web_env.app.state.settings.warehouse)],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    mine = json.loads(r.stdout)
    for key in ("list_size", "as_of", "age_bands", "prevalence", "peers", "measures"):
        assert mine[key] == api[key], key
    assert mine["this_week"]["counts"] == api["this_week"]["counts"]
    page = clients["analyst"].get(f"/practices/{code}").text
    bands = page.split('id="age-bands"', 1)[1].split("</table>", 1)[0]
    for band in api["age_bands"]:
        shown = "*" if band["people"] is None else f"{band['people']:,}"
        assert f'<td>{band["age_band"]}</td><td class="app-numeric">{shown}</td>' in bands


def test_segments_agree(web_env, clients, tmp_path) -> None:
    api = clients["analyst"].get("/api/population").json()
    out = tmp_path / "segments.csv"
    # No risk model in this economy: the segment table is the one that exists.
    from joinedup.published import Figures

    with Figures(web_env.app.state.settings.warehouse, cache=False) as fresh:
        frame = fresh.segments("segment")
    frame.to_csv(out, index=False)
    again = pd.read_csv(out, dtype={"footprint_code": str})
    by_api = {(r["footprint_code"], r["segment"]): r["people"] for r in api["segments"]}
    by_fresh = {
        (r.footprint_code, int(r.segment)): None if pd.isna(r.people) else int(r.people)
        for r in again.itertuples()
    }
    assert by_api == by_fresh


def test_opportunities_agree(web_env, clients) -> None:
    warehouse = str(web_env.app.state.settings.warehouse)
    r = CliRunner().invoke(
        cli,
        ["opportunity", "--measure", "emergency_admissions", "--by", "footprint", "--format",
         "json", "--warehouse", warehouse],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    mine = {u["unit"]: u for u in json.loads(r.stdout)}
    api = clients["analyst"].get("/api/opportunity/emergency_admissions?by=footprint").json()
    for u in api["units"]:
        for key in ("observed", "expected", "avoidable", "bed_days", "cost"):
            assert mine[u["unit"]][key] == u[key], (u["unit"], key)
    table = CliRunner().invoke(
        cli, ["opportunity", "--by", "footprint", "--format", "json", "--warehouse", warehouse]
    )
    assert table.exit_code == 0, table.output
    rows = {t["measure_id"]: t for t in json.loads(table.stdout)}
    for t in clients["analyst"].get("/api/opportunity?by=footprint").json():
        assert rows[t["measure_id"]]["avoidable"] == t["avoidable"]
        assert rows[t["measure_id"]]["rank"] == t["rank"]


def test_only_feedback_measures_carry_response_columns(web_env, clients) -> None:
    """Measures are computed together; a measure without a response base must not pick
    up the feedback measures' response columns on the way."""
    rows = clients["analyst"].get("/api/measures/emergency_admissions").json()["rows"]
    assert rows and "responses" not in rows[0]
    page = clients["analyst"].get("/measures/emergency_admissions").text
    assert "* responses" not in page and ">Responses<" not in page
    fft = clients["analyst"].get("/api/measures/fft_positive_ae").json()["rows"]
    assert "responses" in fft[0] and "response_rate" in fft[0]


@pytest.mark.parametrize(
    "programme", ["telephone_care_management", "integrated_neighbourhood_teams"]
)
def test_evaluations_agree(web_env, clients, programme) -> None:
    """`joinedup evaluate --format json` (its own Figures over the same warehouse), the
    API and the published figure give one document; the evaluation page and the board
    pack workbook show its verdict and estimate."""
    from openpyxl import load_workbook

    warehouse = str(web_env.app.state.settings.warehouse)
    r = CliRunner().invoke(
        cli, ["evaluate", "--programme", programme, "--format", "json", "--warehouse", warehouse]
    )
    assert r.exit_code == 0, r.output
    mine = json.loads(r.stdout)
    api = clients["analyst"].get(f"/api/evaluations/{programme}").json()
    published = json.loads(json.dumps(web_env.app.state.figures.evaluation(programme)))
    assert mine == api == published
    page = clients["analyst"].get("/evaluation").text
    row = page.split(f'data-programme="{programme}"', 1)[1].split(">", 1)[0]
    assert f'data-verdict="{api["verdict"]}" data-rate-ratio="{api["rate_ratio"]}"' in row
    book = clients["board"].get("/board-pack/2026Q1.xlsx")
    rows = list(load_workbook(io.BytesIO(book.content))["Evaluations"].values)
    sheet = {v[0]: dict(zip(rows[0], v, strict=True)) for v in rows[1:]}[programme]
    for key in ("verdict", "rate_ratio", "lower", "upper", "e_value"):
        assert sheet[key] == api[key], key
    assert sheet["minimum_detectable_lower"] == api["minimum_detectable"]["lower_rate_ratio"]
