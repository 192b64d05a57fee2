"""From "where" to "what we will do": an opportunity as a candidate work area for
criteria scoring (joinedup.programme) and as a scenario intervention
(joinedup.scenarios), pre-filled so nothing is retyped."""

from __future__ import annotations

from datetime import date
from typing import Any

from joinedup.opportunity.api import Opportunity
from joinedup.opportunity.method import OpportunityError

# Scenario setting a measure's counted events belong to: (source, flag in the
# numerator or None) -> setting (joinedup.scenarios.settings.SETTINGS).
_SETTINGS: tuple[tuple[str, str | None, str], ...] = (
    ("apc_spell", "readmitted_30d", "emergency_admission"),
    ("apc_discharge", "readmitted_30d", "emergency_admission"),
    ("apc_spell", "emergency", "emergency_admission"),
    ("ae_attendance", None, "ae_type1"),
    ("gp_appointment", None, "gp_appointment"),
    ("community_contact", None, "community_contact"),
)


def _describe(opp: Opportunity) -> str:
    d, t = opp.measure, opp.total
    gap = opp.units[opp.units["avoidable"] > 0]
    return (
        f"Opportunity from `joinedup opportunity --measure {d.id} --by {opp.by} "
        f"--benchmark {opp.benchmark}{' --deprivation' if opp.deprivation else ''}` "
        f"({opp.window}). Baseline: {t['observed']:,.0f} events ({d.title}). "
        f"Size: {t['avoidable']:,.0f} avoidable a year (range {t['avoidable_lower']:,.0f} to "
        f"{t['avoidable_upper']:,.0f}), {t['bed_days']:,.0f} bed days, £{t['cost']:,.0f}; "
        f"{t['most_deprived_share']:.0%} of the gap in the most deprived fifth. "
        f"Scope: {len(gap)} {opp.by}s with a gap: {', '.join(gap['unit'].head(10))}"
        f"{' ...' if len(gap) > 10 else ''}."
    )


def to_work_area(opp: Opportunity, proposed_by: str = "opportunity analysis") -> dict[str, Any]:
    """Fields of a programme Proposal (candidate work area) pre-filled from ``opp``:
    baseline, size and scope in the description, the measure's topic as care pathway."""
    d = opp.measure
    return {
        "title": f"Reduce the gap: {d.title}"
        if d.direction == "decrease"
        else f"Close the gap: {d.title}",
        "description": _describe(opp),
        "care_pathway": (d.topics[0].replace("_", " ") if d.topics else None),
        "proposed_by": proposed_by,
        "submitted_on": date.today(),
        "status": "candidate",
    }


def add_work_area(session: Any, opp: Opportunity, **kwargs: Any) -> Any:
    """Create the candidate work area in the programme store (returns the Proposal)."""
    from joinedup.programme import service
    from joinedup.programme.models.criteria import Proposal

    return service.create(session, Proposal, **to_work_area(opp, **kwargs))


def _setting(opp: Opportunity) -> str:
    num = opp.measure.numerator_count
    for source, flag, setting in _SETTINGS:
        if num.source == source and (flag is None or num.where.get(flag) is True):
            return setting
    raise OpportunityError(
        f"measure {opp.measure.id!r} has no scenario setting to act on "
        f"(supported: emergency admissions, A&E, GP and community activity)"
    )


def to_intervention(opp: Opportunity, name: str | None = None) -> dict[str, Any]:
    """A scenario intervention (joinedup.scenarios format) that closes the gap.

    Cohort: the footprints holding units with a gap, the measure's age and condition
    criteria. Effect: relative change in the setting's activity equal to the gap over
    the activity of those footprints: central from the avoidable events, the range
    from their interval. Uptake is the whole cohort; costs are left for the analyst.
    The dict is validated against the scenarios model when it is installed.
    """
    if opp.by == "provider":
        raise OpportunityError("a scenario cohort is a population: use --by practice or footprint")
    d, units = opp.measure, opp.units
    if d.direction != "decrease":
        raise OpportunityError(
            f"measure {d.id!r} is better higher: model it as a shift, not a reduction"
        )
    setting = _setting(opp)
    gap = units[units["avoidable"] > 0]
    if gap.empty:
        raise OpportunityError(f"no unit has a gap on {d.id}: nothing to close")
    footprints = sorted({f for ps in gap["practices"] for f in _footprints(opp, ps)})
    in_scope = units[
        units["practices"].map(lambda ps: bool(_footprints(opp, ps) & set(footprints)))
    ]
    activity = float(in_scope["observed"].sum())
    share = {
        k: float(gap[k].sum()) / activity
        for k in ("avoidable", "avoidable_lower", "avoidable_upper")
    }
    cohort: dict[str, Any] = {"footprints": footprints}
    age = d.numerator_count.where.get("age")
    if isinstance(age, dict) and "ge" in age:
        cohort["age_min"] = int(age["ge"])
    if d.numerator_count.condition:
        cohort["conditions"] = list(d.numerator_count.condition)
    data = {
        "kind": "intervention",
        "name": name or f"close_gap_{d.id}",
        "title": f"Bring {opp.by}s to the {opp.benchmark.replace('_', ' ')}: {d.title}",
        "description": _describe(opp),
        "source": "joinedup opportunity analysis",
        "cohort": cohort,
        "uptake": {"share": [1.0]},
        "effects": [
            {
                "setting": setting,
                "change": {
                    "low": -round(min(share["avoidable_upper"], 1.0), 4),
                    "central": -round(min(share["avoidable"], 1.0), 4),
                    "high": -round(min(share["avoidable_lower"], 1.0), 4),
                },
            }
        ],
    }
    try:
        from joinedup.scenarios.model import Intervention
    except ImportError:  # scenarios not installed: the documented dict alone
        return data
    checked = Intervention.model_validate(data)
    return {
        "kind": "intervention",
        **checked.model_dump(mode="json", by_alias=True, exclude_defaults=True),
    }


def _footprints(opp: Opportunity, practices: list[str]) -> set[str]:
    return {opp.footprint_of.get(p, "unknown") for p in practices}
