"""`joinedup evaluate`: a programme against a matched comparison group."""

from __future__ import annotations

import json
from contextlib import nullcontext
from pathlib import Path

import typer
from rich.table import Table as RichTable

from joinedup.cli.common import WarehouseOption, console, fail, show, warehouse_path


def evaluate(
    programme: str = typer.Option(..., "--programme", "-p", help="Programme name."),
    warehouse: Path = WarehouseOption,
    output_format: str = typer.Option("table", "--format", "-f", help="table | json"),
    k: int = typer.Option(5, "--k", min=1, help="Comparison people per enrolled person."),
    bootstrap: int = typer.Option(
        1000,
        "--bootstrap",
        min=100,
        help="Bootstrap replicates (person-level programmes; a place-based programme's "
        "interval is the jackknife's).",
    ),
    seed: int = typer.Option(20260401, "--seed", help="Seed for index dates and bootstrap."),
    outcome: str = typer.Option(
        "emergency_admissions",
        "--outcome",
        help="Outcome reported at the top level and judged by the verdict: "
        "emergency_admissions, emergency_bed_days, ae_attendances, cost, op_attendances, "
        "gp_appointments, deaths (deaths: a matched comparison after the index date, no "
        "baseline).",
    ),
    eligibility: Path = typer.Option(
        None,
        "--eligibility",
        help="YAML definition of the programme's eligibility (min_age, max_age, "
        "conditions_any, min_conditions, min_emergency_admissions); by default it is read "
        "from who was enrolled.",
    ),
    comparisons: str = typer.Option(
        "not_yet_enrolled",
        "--comparisons",
        help="Who may be a comparison person: not_yet_enrolled (risk sets: anybody not yet "
        "enrolled on their index date, followed until their own enrolment, with a second "
        "placebo test against people never enrolled; the default) or never_enrolled (people "
        "never enrolled only: this selects on the future and leaned towards benefit on the "
        "synthetic economies; docs/evaluation.md).",
    ),
) -> None:
    """Matched difference-in-differences of a programme, beside the naive before/after
    (the published figure: the same numbers the board pack shows, small numbers
    suppressed), with its falsification tests, E-value and verdict.

    A place-based programme (one with a rollout in programme_rollout, such as
    integrated_neighbourhood_teams) is evaluated at area level instead: a staggered
    difference-in-differences (imputation estimator) of emergency admissions of people
    aged 65 and over, its event study, placebo and pre-trend test, and a synthetic
    control for the first unit to start (--k and --outcome do not apply)."""
    from joinedup.published import Figures
    from joinedup.risk.evaluate import COMPARISONS, RTM_WARNING

    if output_format not in ("table", "json"):
        raise fail(f"--format {output_format!r}: expected table or json")
    if comparisons not in COMPARISONS:
        raise fail(f"--comparisons {comparisons!r}: expected one of {', '.join(COMPARISONS)}")
    rules = None
    if eligibility is not None:
        from joinedup.risk.eligibility import load

        try:
            rules = load(eligibility, programme)
        except ValueError as exc:
            raise fail(str(exc)) from None
    try:
        figures = Figures(warehouse_path(warehouse))
    except FileNotFoundError as exc:
        raise fail(str(exc)) from None
    quiet = output_format == "json"
    status = nullcontext() if quiet else console.status(f"evaluating {programme}")
    with figures, status:
        try:
            result = figures.evaluation(
                programme, k=k, bootstrap=bootstrap, seed=seed, outcome=outcome,
                eligibility=rules, comparisons=comparisons,
            )  # fmt: skip
        except ValueError as exc:
            raise fail(str(exc)) from None
    if output_format == "json":
        typer.echo(json.dumps(result, indent=2))
        return
    if result.get("kind") == "place":
        _place(result)
        return
    console.print(
        f"[bold]{programme}[/]: {_count(result['enrolled'])} enrolled, "
        f"{_count(result['eligible_enrolled'])} with a full year before enrolment, "
        f"{_count(result['matched_enrolled'])} matched to "
        f"{_count(result['comparison_people'])} comparison people (k={result['k']}) from a "
        f"pool of {_count(result['comparison_pool'])} (* 1 to 7, suppressed)"
    )
    table = RichTable(
        "outcome",
        "matched DiD rate ratio (95% CI)",
        "12-month-pre DiD",
        "naive before/after",
        "enrolled pre -> post",
        "comparison pre -> post",
        title="Rates per person-year. Pre -> post columns: pre = the baseline before the 12 "
        "months preceding the index date (the primary figure's); the 12-month-pre and naive "
        "figures use those 12 months.",
    )
    for o in result["outcomes"].values():
        table.add_row(
            o["label"],
            _ci(o["rate_ratio"], o["lower"], o["upper"]),
            _ci(o["pre12_rate_ratio"], o["pre12_lower"], o["pre12_upper"]),
            _ci(o["naive_rate_ratio"], o["naive_lower"], o["naive_upper"]),
            _arrow(o["enrolled_pre"], o["enrolled_post"]),
            _arrow(o["comparison_pre"], o["comparison_post"]),
        )
    show(table)
    bal = RichTable("covariate", "SMD before", "SMD after", title="Balance")
    for row in result["balance"]["covariates"]:
        bal.add_row(row["covariate"], f"{row['smd_before']:+.3f}", f"{row['smd_after']:+.3f}")
    show(bal)
    _falsification_table(result)
    console.print(f"[yellow]warning:[/] {RTM_WARNING}")
    for note in result["notes"]:
        console.print(f"note: {note}")


def _falsification_table(result: dict) -> None:
    """The falsification tests, the E-value and the verdict in words."""
    if result.get("verdict") is None:
        return
    checks = RichTable(
        "test",
        "rate ratio (95% CI)",
        "interval tested",
        "enrolled events",
        "result",
        title="Falsification tests (each should find no effect: a rate ratio of 1)",
    )
    rows = result.get("falsification_tests") or []
    for c in rows:
        if c is None:
            continue
        if not c["computed"]:
            checks.add_row(c["label"], "not computed", "", "", "no events")
            continue
        events = "*" if c["events"] is None else f"{c['events']:,.0f}"
        checks.add_row(
            c["label"],
            f"{c['rate_ratio']:.2f} ({c['lower']:.2f} to {c['upper']:.2f})",
            f"{c['test_lower']:.2f} to {c['test_upper']:.2f} ({c['level']:.1%})",
            events,
            "[red]failed[/]" if c["failed"] else "passed",
        )
    show(checks)
    bal = result["balance"]
    state = "balanced" if bal["balanced"] else "NOT balanced: " + ", ".join(bal["over_limit"])
    console.print(
        f"balance after matching: largest |SMD| {bal['max_abs_smd_after']:.3f} "
        f"(limit {bal['limit']}): {state}"
    )
    if result.get("e_value") is not None:
        console.print(
            f"E-value: {result['e_value']:.2f} for the estimate, "
            f"{result['e_value_interval']:.2f} for the interval's limit nearer to 1"
        )
    _detectable(result)
    console.print(f"[bold]verdict:[/] {result['verdict_sentence']}")
    for caveat in result.get("caveats", []):
        console.print(f"caveat: {caveat}")


def _place(result: dict) -> None:
    """An area-level evaluation as tables."""

    def rr(v: dict) -> str:
        if v.get("rate_ratio") is None:
            return "*"
        return f"{v['rate_ratio']:.2f} ({v['lower']:.2f} to {v['upper']:.2f})"

    console.print(
        f"[bold]{result['programme']}[/]: place-based, by {result['level']}; "
        f"{result['units_started']} units started, {result['units_never_started']} never "
        f"started ({result['first_month']} to {result['last_month']}); outcome: "
        f"{result['outcome_label']}"
    )
    console.print(f"rate ratio {rr(result)}: {_count(result['admissions_treated'])} admissions "
                  f"where {result['expected_without_programme']} were expected")  # fmt: skip
    study = RichTable("months since start", "rate ratio (95% CI)", title="Event study")
    for step in result["event_study"]:
        study.add_row(step["months"], rr(step))
    show(study)
    p, pt = result["placebo"], result["pre_trend"]
    if p:
        state = "[red]failed[/]" if p["failed"] else "passed"
        console.print(f"placebo in time (starts 12 months earlier): {rr(p)}: {state}")
    if pt and pt.get("p_value") is not None:
        state = "[red]failed[/]" if pt["failed"] else "passed"
        console.print(
            f"pre-trend test: chi-squared {pt['chi2']:.2f} on {pt['df']} df, "
            f"p = {pt['p_value']:.3f}: {state}"
        )
    sc = result.get("synthetic_control")
    if sc:
        console.print(
            f"synthetic control of {sc['unit']} (started {sc['started_on']}): rate ratio "
            f"{sc['rate_ratio']:.2f}; placebo-in-space p = {sc['p_value']:.2f} (smallest "
            f"possible {sc['smallest_possible_p_value']:.2f})"
        )
    if result.get("e_value") is not None:
        console.print(
            f"E-value: {result['e_value']:.2f} for the estimate, "
            f"{result['e_value_interval']:.2f} for the interval's limit nearer to 1"
        )
    _detectable(result)
    if result.get("verdict_sentence"):
        console.print(f"[bold]verdict:[/] {result['verdict_sentence']}")
    for caveat in result.get("caveats", []):
        console.print(f"caveat: {caveat}")
    for note in result["notes"]:
        console.print(f"note: {note}")


def _detectable(result: dict) -> None:
    """The minimum detectable effect, as the domain computed it."""
    d = result.get("minimum_detectable") or {}
    if d.get("lower_rate_ratio") is not None:
        console.print(
            f"minimum detectable effect ({d['power']:.0%} power): a rate ratio of "
            f"{d['lower_rate_ratio']:.2f} or below, or {d['higher_rate_ratio']:.2f} or above"
        )


def _ci(rr: float | None, lo: float | None, hi: float | None) -> str:
    """'0.80 (0.70 to 0.91)', or '-' when not estimated (deaths have no baseline)."""
    if rr is None:
        return "-"
    if lo is None or hi is None:
        return f"{rr:.2f}"
    return f"{rr:.2f} ({lo:.2f} to {hi:.2f})"


def _arrow(before: float | None, after: float | None) -> str:
    b = "-" if before is None else f"{before:,.2f}"
    a = "-" if after is None else f"{after:,.2f}"
    return f"{b} -> {a}"


def _count(n: int | None) -> str:
    return "*" if n is None else f"{n:,}"


def register(app: typer.Typer) -> None:
    """Add the `evaluate` command to the main app."""
    app.command("evaluate")(evaluate)
