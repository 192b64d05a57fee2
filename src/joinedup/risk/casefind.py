"""Case-finding lists: the people in the top tier, per practice or footprint, with reasons.

A list is the Kaiser level 3 (case management) people of one practice or footprint,
ranked by their risk of an emergency admission in the next 12 months, each with the
factors that raised their risk most, in words. The tier is cut on the whole registered
population, so a practice's list holds its share of the partnership's highest-risk
people (and may be empty). Filters narrow it: not already enrolled in a programme, not
living in a care home, age bands, a long-term condition.

Rows carry only the pseudonymised ``person_id``: showing NHS numbers and names is the
job of the access layer, which checks the user's role and writes the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from joinedup.derived.persons import AGE_BANDS
from joinedup.risk.explain import reasons
from joinedup.risk.features import CONDITIONS
from joinedup.risk.model import RiskModel
from joinedup.risk.segments import PyramidThresholds, segment_people
from joinedup.warehouse import Warehouse

LIST_COLUMNS = (
    "list_rank",
    "person_id",
    "risk_percent",
    "population_rank",
    "age_band",
    "sex",
    "practice_code",
    "footprint_code",
    "segment_name",
    "ltc_count",
    "emergency_admissions",
    "reasons",
)


@dataclass(frozen=True)
class ListFilters:
    """Which people a case-finding list keeps."""

    practice: str | None = None
    footprint: str | None = None
    exclude_enrolled: bool = True
    exclude_care_home: bool = False
    age_bands: tuple[str, ...] = ()
    conditions: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if (self.practice is None) == (self.footprint is None):
            raise ValueError("give exactly one of a practice code or a footprint code")
        known = [b[0] for b in AGE_BANDS]
        for b in self.age_bands:
            if b not in known:
                raise ValueError(f"age band {b!r}: expected one of {', '.join(known)}")
        for c in self.conditions:
            if c not in CONDITIONS:
                raise ValueError(f"condition {c!r}: expected one of {', '.join(CONDITIONS)}")


def enrolled_on(wh: Warehouse, when: date) -> set[str]:
    """``person_id`` of everyone enrolled in any programme on ``when``."""
    e = wh.table("programme_enrolment")
    active = e.filter((e.enrolled_on <= when) & (e.left_on.isnull() | (e.left_on > when)))
    return set(active.person_id.to_pyarrow().to_pylist())


def case_finding_list(
    wh: Warehouse,
    model: RiskModel,
    scored: pd.DataFrame,
    filters: ListFilters,
    thresholds: PyramidThresholds | None = None,
    limit: int | None = None,
    top_reasons: int = 3,
) -> pd.DataFrame:
    """The ranked list for ``filters`` from ``scored`` (``model.score_people`` output).

    Raises ValueError if the practice or footprint is not in the data.
    """
    where, code = (
        ("practice_code", filters.practice)
        if filters.practice
        else ("footprint_code", filters.footprint)
    )
    if code not in set(scored[where].dropna()):
        known = sorted(scored[where].dropna().unique())
        sample = ", ".join(known[:8]) + (", ..." if len(known) > 8 else "")
        raise ValueError(f"{where.removesuffix('_code')} {code!r} not found; known: {sample}")
    people = segment_people(scored, thresholds)
    keep = (people["tier"] == 3) & (people[where] == code)
    if filters.exclude_enrolled:
        as_of = pd.Timestamp(scored["index_date"].iloc[0]).date()
        keep &= ~people["person_id"].isin(enrolled_on(wh, as_of))
    if filters.exclude_care_home:
        keep &= people["care_home"] == 0
    if filters.age_bands:
        keep &= people["age_band"].isin(filters.age_bands)
    for c in filters.conditions:
        keep &= people[f"ltc_{c}"] == 1
    chosen = people[keep].sort_values("risk", ascending=False, kind="stable")
    if limit is not None:
        chosen = chosen.head(limit)
    chosen = chosen.reset_index(drop=True)
    words = reasons(model, chosen, top=top_reasons)
    out = chosen.assign(
        list_rank=range(1, len(chosen) + 1),
        risk_percent=(100 * chosen["risk"]).round(1),
        population_rank=chosen["rank"],
        reasons=["; ".join(w) for w in words],
    )
    return out[list(LIST_COLUMNS)]
