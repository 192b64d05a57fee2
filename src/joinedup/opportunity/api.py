"""The Python API: opportunity for one measure, and the table across the library.

>>> from joinedup.opportunity import opportunity, opportunity_table
>>> result = opportunity(wh, "emergency_admissions", by="practice")   # doctest: +SKIP
>>> result.units.head(); result.total                                  # doctest: +SKIP
>>> table = opportunity_table(wh, by="practice")                       # doctest: +SKIP
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from joinedup.measures.definition import POPULATION, MeasureDefinition, load_library
from joinedup.measures.stats import isr
from joinedup.opportunity import method
from joinedup.opportunity.counts import (
    UNIT_GROUPINGS,
    WINDOW_MONTHS,
    EventBasis,
    Inputs,
    event_basis,
    population_profile,
    practice_map,
    strata_counts,
    window,
)
from joinedup.opportunity.method import BENCHMARKS, OpportunityError
from joinedup.opportunity.peers import similar_peers
from joinedup.warehouse import Warehouse

#: Columns of the per-unit result, in order (the Contract's first, then the rest).
UNIT_COLUMNS = [
    "unit",
    "observed",
    "expected",
    "avoidable",
    "avoidable_lower",
    "avoidable_upper",
    "bed_days",
    "cost",
    "denominator",
    "ratio",
    "ratio_lower",
    "ratio_upper",
    "benchmark_ratio",
    "benchmark_expected",
    "most_deprived_share",
    "avoidable_most_deprived",
    "practices",
    "peers",
]
TOTAL_FIELDS = ["observed", "expected", "avoidable", "avoidable_lower", "avoidable_upper",
                "bed_days", "cost", "avoidable_most_deprived"]  # fmt: skip


@dataclass
class Opportunity:
    """The opportunity of one measure: per unit, against the chosen benchmark."""

    measure: MeasureDefinition
    by: str
    benchmark: str
    deprivation: bool
    window: str
    basis: EventBasis
    units: pd.DataFrame
    peers: dict[str, list[str]] | None = None
    footprint_of: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def total(self) -> dict[str, float]:
        """Sums over units (the interval limits are sums of unit limits, see docs)."""
        out = {k: float(self.units[k].sum()) for k in TOTAL_FIELDS}
        out["most_deprived_share"] = (
            out["avoidable_most_deprived"] / out["avoidable"] if out["avoidable"] > 0 else 0.0
        )
        return out

    def records(self) -> list[dict[str, Any]]:
        """The per-unit rows as plain dicts (JSON-ready)."""
        return [_plain(r) for r in self.units.to_dict(orient="records")]

    def practices_behind(self, unit: str) -> list[str]:
        """The practices that make up ``unit`` (a practice is its own)."""
        row = self.units[self.units["unit"] == unit]
        if row.empty:
            raise OpportunityError(f"no unit {unit!r} in the {self.measure.id} opportunity")
        return list(row.iloc[0]["practices"])


def _plain(record: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in record.items():
        if isinstance(v, np.generic):
            v = v.item()
        if isinstance(v, float) and not np.isfinite(v):
            v = None
        out[k] = v
    return out


def _library() -> dict[str, MeasureDefinition]:
    return load_library()


def _check_measure(d: MeasureDefinition, by: str) -> None:
    if by not in UNIT_GROUPINGS:
        raise OpportunityError(f"--by must be one of {', '.join(UNIT_GROUPINGS)}, not {by!r}")
    if not is_event_count(d):
        raise OpportunityError(
            f"measure {d.id!r} is not an event count with a direction of improvement "
            "(opportunity needs a rate or proportion of counted events, lower or higher "
            "better); see `joinedup measures list`"
        )
    if by not in d.groupings:
        raise OpportunityError(
            f"measure {d.id!r} cannot be broken down by {by}; it allows: {', '.join(d.groupings)}"
        )


def is_event_count(d: MeasureDefinition) -> bool:
    """True for rates and proportions that count events and say which way is better."""
    return (
        d.kind in ("rate", "proportion")
        and d.direction in ("decrease", "increase")
        and not d.numerator_count.value
        and d.denominator is not None
        and not d.denominator.value
    )


def _signature(d: MeasureDefinition) -> str:
    return json.dumps(
        [d.numerator_count.model_dump(), d.denominator.model_dump()], sort_keys=True, default=str
    )


def event_count_measures(by: str = "practice") -> list[MeasureDefinition]:
    """Built-in measures opportunity applies to, one per distinct numerator/denominator
    (a directly standardised twin of a crude rate counts the same events)."""
    seen: set[str] = set()
    out = []
    for d in _library().values():
        if is_event_count(d) and by in d.groupings and _signature(d) not in seen:
            seen.add(_signature(d))
            out.append(d)
    return out


def members_of(wh: Warehouse, by: str) -> dict[str, list[str]]:
    """The practices that make up each unit of ``by`` (none for providers)."""
    if by == "provider":
        return {}
    m = practice_map(wh)
    col = {"practice": "practice_code", "cluster": "cluster_code", "footprint": "footprint_code"}
    return {str(k): sorted(g["practice_code"]) for k, g in m.groupby(col[by])}


def opportunity(
    wh: Warehouse,
    measure: str | MeasureDefinition,
    by: str = "practice",
    benchmark: str = "best_quartile",
    *,
    target: float | None = None,
    deprivation: bool = False,
    confidence: float = 0.95,
    months: int = WINDOW_MONTHS,
    inputs: Inputs | None = None,
) -> Opportunity:
    """Opportunity for one measure: each unit against a fair benchmark.

    ``by``: practice, cluster, footprint or provider. ``benchmark``: ``best_quartile``
    (of units' standardised ratios), ``peers`` (mean of the best five of the ten most
    similar units by population) or ``target`` (``target`` in the measure's unit, else
    the measure's own target, applied as an age-sex standardised rate). ``deprivation``
    adds IMD quintile to the age-sex strata. Counts cover the latest ``months`` complete
    months (less the measure's follow-up). Pass ``inputs`` to share work between calls.
    """
    d = _library().get(measure, measure) if isinstance(measure, str) else measure
    if isinstance(d, str):
        known = ", ".join(m.id for m in event_count_measures(by))
        raise OpportunityError(f"unknown measure {d!r}; opportunity measures are: {known}")
    _check_measure(d, by)
    if benchmark not in BENCHMARKS:
        raise OpportunityError(
            f"benchmark must be one of {', '.join(BENCHMARKS)}, not {benchmark!r}"
        )
    if benchmark == "peers" and by == "provider":
        raise OpportunityError("peers are matched by registered population: not for providers")
    periods = window(wh, d.follow_up_days, months)
    if inputs is not None and inputs.periods == periods:
        return _opportunity(wh, d, by, benchmark, target, deprivation, confidence, inputs)
    own = Inputs(wh, periods)
    try:
        return _opportunity(wh, d, by, benchmark, target, deprivation, confidence, own)
    finally:
        own.release()


def _opportunity(
    wh: Warehouse,
    d: MeasureDefinition,
    by: str,
    benchmark: str,
    target: float | None,
    deprivation: bool,
    confidence: float,
    inputs: Inputs,
) -> Opportunity:
    adjust = method.AGE_SEX_DEPRIVATION if deprivation else method.AGE_SEX
    strata = strata_counts(inputs, d, by)
    strata = strata[strata["unit"] != "unknown"]
    notes = []
    if d.kind == "proportion" and d.denominator.source != POPULATION:
        notes.append("expected counts standardise the denominator's events by age and sex")
    units = method.standardise(strata, adjust)
    units = units[units["denominator"] > 0].reset_index(drop=True)
    peers = None
    if benchmark == "best_quartile":
        ratio: float | pd.Series = method.best_quartile_ratio(units, d.direction)
    elif benchmark == "peers":
        profile = population_profile(inputs, by)
        profile = profile[profile["unit"].isin(units["unit"])].reset_index(drop=True)
        peers = similar_peers(profile)
        ratio = method.peer_ratios(units, peers, d.direction)
    else:
        goal = target if target is not None else d.target
        if goal is None:
            raise OpportunityError(
                f"measure {d.id!r} has no target: give one (--target, in {d.unit})"
            )
        crude = units["observed"].sum() / units["denominator"].sum() * (d.multiplier or 1)
        if crude <= 0:
            raise OpportunityError(f"measure {d.id!r} counts no events in {inputs.label}")
        ratio = float(goal) / crude
        notes.append(f"target {goal} {d.unit} against a partnership rate of {crude:.4g}")
    units = method.gaps(units, ratio, d.direction, confidence)
    share = method.deprived_share(strata, adjust, ratio, d.direction)
    units["most_deprived_share"] = units["unit"].map(share).fillna(0.0)
    units["avoidable_most_deprived"] = units["avoidable"] * units["most_deprived_share"]
    est = isr(units["observed"], units["expected"].where(units["expected"] > 0, np.nan), 1.0,
              confidence)  # fmt: skip
    units["ratio_lower"], units["ratio_upper"] = est.lower, est.upper
    basis = event_basis(inputs, d)
    units["bed_days"] = units["avoidable"] * basis.bed_days
    units["cost"] = units["avoidable"] * basis.cost
    members = members_of(wh, by)
    units["practices"] = [members.get(u, []) for u in units["unit"]]
    units["peers"] = [peers.get(u, []) if peers else [] for u in units["unit"]]
    units = units.sort_values(["avoidable", "unit"], ascending=[False, True])
    units = units[UNIT_COLUMNS].reset_index(drop=True)
    pm = practice_map(wh)
    footprint_of = dict(zip(pm["practice_code"], pm["footprint_code"], strict=True))
    return Opportunity(
        d, by, benchmark, deprivation, inputs.label, basis, units, peers, footprint_of, notes
    )


TABLE_COLUMNS = [
    "rank",
    "measure_id",
    "title",
    "better",
    "observed",
    "avoidable",
    "avoidable_lower",
    "avoidable_upper",
    "bed_days",
    "cost",
    "most_deprived_share",
    "units_with_gap",
    "top_units",
    "practices",
    "basis",
]


def opportunities(
    wh: Warehouse,
    by: str = "practice",
    benchmark: str = "best_quartile",
    *,
    measures: list[str] | None = None,
    deprivation: bool = False,
    months: int = WINDOW_MONTHS,
) -> dict[str, Opportunity]:
    """The opportunity of each measure (default: every built-in event-count measure),
    by measure id, counted together (measures over the same months share their
    counts). With the ``target`` benchmark, measures without a target are left out, and
    of the built-in measures those with nothing to compare (no expected events)."""
    defs = event_count_measures(by)
    if measures:
        lib = _library()
        unknown = [m for m in measures if m not in lib]
        if unknown:
            raise OpportunityError(f"unknown measure {unknown[0]!r}")
        defs = [lib[m] for m in measures]
    shared: dict[tuple, Inputs] = {}
    out: dict[str, Opportunity] = {}
    try:
        for d in defs:
            periods = window(wh, d.follow_up_days, months)
            key = tuple(p.start for p in periods)
            inputs = shared.setdefault(key, Inputs(wh, periods))
            target = None if benchmark != "target" else d.target
            if benchmark == "target" and target is None:
                continue
            try:
                out[d.id] = opportunity(
                    wh, d, by, benchmark, target=target, deprivation=deprivation, inputs=inputs
                )
            except OpportunityError:
                if measures:  # asked for by name: say why there is none
                    raise
                continue  # nothing to compare (no events anywhere): no row for it
    finally:
        for inputs in shared.values():
            inputs.release()
    return out


def ranked(results: dict[str, Opportunity], members: dict[str, list[str]]) -> pd.DataFrame:
    """One row per measure of ``results`` (:func:`opportunities`), ranked by bed days,
    then money, then avoidable events (the health gain). ``practices`` lists the
    practices behind the gap (those with any, largest gap first; ``members``: each
    unit's practices); ``top_units`` the five units with the largest gaps."""
    rows = []
    for r in results.values():
        d = r.measure
        gap = r.units[r.units["avoidable"] > 0]
        practices: list[str] = []
        for u in gap["unit"]:
            practices += [p for p in members.get(u, [u]) if p not in practices]
        total = r.total
        rows.append(
            {
                "measure_id": d.id,
                "title": d.title,
                "better": "lower" if d.direction == "decrease" else "higher",
                "observed": total["observed"],
                "avoidable": total["avoidable"],
                "avoidable_lower": total["avoidable_lower"],
                "avoidable_upper": total["avoidable_upper"],
                "bed_days": total["bed_days"],
                "cost": total["cost"],
                "most_deprived_share": total["most_deprived_share"],
                "units_with_gap": len(gap),
                "top_units": list(gap["unit"].head(5)),
                "practices": practices,
                "basis": r.basis.basis,
            }
        )
    table = pd.DataFrame(rows, columns=TABLE_COLUMNS[1:])
    table = table.sort_values(
        ["bed_days", "cost", "avoidable", "measure_id"], ascending=[False, False, False, True]
    ).reset_index(drop=True)
    table.insert(0, "rank", range(1, len(table) + 1))
    return table


def opportunity_table(
    wh: Warehouse,
    by: str = "practice",
    benchmark: str = "best_quartile",
    *,
    measures: list[str] | None = None,
    deprivation: bool = False,
    months: int = WINDOW_MONTHS,
) -> pd.DataFrame:
    """The opportunity of every built-in event-count measure (or ``measures``), one row
    each, ranked (:func:`ranked` of :func:`opportunities`)."""
    results = opportunities(
        wh, by, benchmark, measures=measures, deprivation=deprivation, months=months
    )
    return ranked(results, members_of(wh, by))


def practices_behind(
    wh: Warehouse,
    measure: str,
    unit: str,
    by: str = "footprint",
    benchmark: str = "best_quartile",
    **kwargs: Any,
) -> pd.DataFrame:
    """Drill down from a cluster or footprint row to its practices' opportunity rows
    (each practice against the practice-level benchmark)."""
    members = members_of(wh, by)
    if unit not in members:
        raise OpportunityError(f"no {by} {unit!r}; known: {', '.join(sorted(members))}")
    practice = opportunity(wh, measure, "practice", benchmark, **kwargs)
    rows = practice.units[practice.units["unit"].isin(members[unit])]
    return rows.reset_index(drop=True)
