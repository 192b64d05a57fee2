"""Case-finding lists: which of a practice's patients to review first, and why.

Person-level and pseudonymised (``person_id``): :class:`~joinedup.published.figures.Figures`
keeps them in memory only, and the interfaces show them only to the roles allowed them
(NHS numbers to a practice's own clinicians, every read audited).

With a trained risk model the list is the practice's patients among the partnership's
highest-risk 2% (``risk.casefind.case_finding_list``); without one, an interim ranking
that says it is not a prediction.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import ibis
import pandas as pd

from joinedup.derived.persons import AGE_BANDS, is_registered
from joinedup.published.base import Base
from joinedup.warehouse import Warehouse

#: How many people the interim case-finding list (no risk model) holds at most.
CASEFINDING_SIZE = 50
#: Columns of a case-finding list (``risk_percent``, ``population_rank`` and ``segment``
#: are empty on the interim list).
COLUMNS = (
    "list_rank",
    "person_id",
    "risk_percent",
    "population_rank",
    "age",
    "age_band",
    "sex",
    "segment",
    "long_term_conditions",
    "emergency_admissions",
    "reason",
)


def model_list(wh: Warehouse, model: Any, scored: pd.DataFrame, practice_code: str) -> pd.DataFrame:
    """The practice's patients in the population's top risk tier, highest risk first, with
    the factors that raised their risk most (``scored``: ``risk.model.score_people``)."""
    from joinedup.risk.casefind import ListFilters, case_finding_list

    if practice_code not in set(scored["practice_code"].dropna()):
        return pd.DataFrame(columns=list(COLUMNS))  # nobody registered
    listed = case_finding_list(wh, model, scored, ListFilters(practice=practice_code))
    age = scored.set_index("person_id")["age"]
    return pd.DataFrame(
        {
            "list_rank": listed["list_rank"].astype(int),
            "person_id": listed["person_id"],
            "risk_percent": listed["risk_percent"].astype(float),
            "population_rank": listed["population_rank"].astype(int),
            "age": listed["person_id"].map(age).astype(int),
            "age_band": listed["age_band"],
            "sex": listed["sex"],
            "segment": listed["segment_name"],
            "long_term_conditions": listed["ltc_count"].astype(int),
            "emergency_admissions": listed["emergency_admissions"].astype(int),
            "reason": listed["reasons"],
        }
    )[list(COLUMNS)]


def interim_list(wh: Warehouse, practice_code: str, day: date, size: int) -> pd.DataFrame:
    """Adults registered with the practice on ``day`` ranked by emergency admissions in
    the 12 months to ``day``, then long-term conditions: a transparent stand-in while no
    risk model is trained (at most ``size`` people)."""
    start = date(day.year - 1, day.month, min(day.day, 28))
    apc = wh.table("apc_spell")
    em = (
        apc.filter(
            (apc.admitted_on > start)
            & (apc.admitted_on <= day)
            & apc.admission_method.startswith("2")
        )
        .group_by("person_id")
        .aggregate(emergency_admissions=ibis._.count())
    )
    cond = wh.table("condition")
    ltc = (
        cond.filter(cond.recorded_on <= day)
        .group_by("person_id")
        .aggregate(long_term_conditions=cond.condition.nunique())
    )
    p = wh.table("person")
    p = p.filter(is_registered(p, day) & (p.practice_code == practice_code))
    p = p.mutate(age=(ibis.literal(day.year) - p.year_of_birth).cast("int64"))
    frame = (
        p.filter(p.age >= 18)
        .inner_join(em, "person_id")
        .left_join(ltc, "person_id")
        .select(
            "person_id",
            "age",
            "sex",
            "emergency_admissions",
            long_term_conditions=ibis._.long_term_conditions.fill_null(0),
        )
        .order_by(
            [ibis.desc("emergency_admissions"), ibis.desc("long_term_conditions"), "person_id"]
        )
        .limit(size)
        .to_pandas()
    )

    def band(age: int) -> str:
        return next(b for b, lo, hi in AGE_BANDS if age >= lo and (hi is None or age <= hi))

    return frame.assign(
        list_rank=range(1, len(frame) + 1),
        risk_percent=None,
        population_rank=None,
        age_band=[band(int(a)) for a in frame["age"]],
        segment=None,
        reason=[
            f"{int(e)} emergency admission{'s' if e != 1 else ''} in 12 months; "
            f"{int(c)} long-term condition{'s' if c != 1 else ''}"
            for e, c in zip(
                frame["emergency_admissions"], frame["long_term_conditions"], strict=True
            )
        ],
    )[list(COLUMNS)]


class CaseFindingFigures(Base):
    """Case-finding lists in :class:`~joinedup.published.figures.Figures`."""

    def casefinding_method(self) -> str:
        """How the case-finding lists are made, in words for the page and the API."""
        model = self.risk_model()
        if model is None:
            return (
                f"Interim ranking ({self.risk_model_problem}; train one with `joinedup risk "
                "train`): registered adults with an emergency admission in the last 12 "
                f"months, most admissions first, then most long-term conditions; at most "
                f"{CASEFINDING_SIZE} people. Not a risk prediction."
            )
        trained = model.meta.get("trained_as_of", "?")
        return (
            "Risk model: the practice's patients among the partnership's 2% at highest "
            "predicted risk of an emergency admission in the next 12 months (Kaiser level 3, "
            f"case management), by the model fitted on features as at {trained} and the year "
            "after; people already enrolled in a programme are left out. Highest risk first, "
            "each with the factors that raised their risk most."
        )

    def casefinding(self, practice_code: str) -> pd.DataFrame:
        """The practice's case-finding list, one row per person (columns
        :data:`COLUMNS`), in list order: the risk model's top tier for the
        practice, or the interim ranking without a model. Person-level and
        pseudonymised (``person_id``): the caller re-identifies only if allowed."""
        self.practice_name(practice_code)
        if self.risk_model() is None:
            return self.person_level(
                f"casefinding:{practice_code}",
                interim_list,
                practice_code,
                self.census_day(),
                CASEFINDING_SIZE,
            )
        scored = self.scored()
        return self.person_level(
            f"casefinding:{practice_code}", model_list, self.risk_model(), scored, practice_code
        )
