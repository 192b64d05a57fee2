"""Population segmentation: Bridges to Health segments and the Kaiser Permanente pyramid.

**Bridges to Health** (Lynn et al., Milbank Quarterly 2007) puts each person in the one
segment that best describes their needs. Operational rules on the warehouse data, as at
the as-of date, applied in this order (the first that fits wins):

====  =======================================  ========================================
 no.  segment                                  rule (activity in the last 12 months)
====  =======================================  ========================================
 6    Short period of decline before dying     cancer register and an emergency admission
 8    Long period of decline before dying      dementia, or living in a care home, or a
      (frailty)                                Hospital Frailty Risk Score of 15+ (high),
                                               or aged 85+ with long-term social care
 7    Limited reserve, serious exacerbations   heart failure, COPD or CKD and an
      (organ failure)                          emergency admission
 5    Stable but serious disability            learning disability, or long-term social
                                               care
 2    Maternal and infant health               aged under 1, or a maternity admission
 4    Chronic conditions, normal function      any long-term condition register
 3    Acutely ill, likely to recover           an emergency admission or A&E attendance
 1    Healthy                                  everyone else
====  =======================================  ========================================

The order puts the segments with the greatest need first, so a person who is frail and
has heart failure is in segment 8, not 7 or 4.

**Kaiser Permanente pyramid**: level 3 (case management) is the highest-risk share of
the registered population by the emergency admission risk model (default 2%), or
everyone above a risk threshold; level 2 (disease and care management) is everyone else
with at least ``min_conditions`` long-term conditions (default 1); level 1 (supported
self-care) is the rest.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

BRIDGES_SEGMENTS: dict[int, str] = {
    1: "Healthy",
    2: "Maternal and infant health",
    3: "Acutely ill, likely to recover",
    4: "Chronic conditions, normal function",
    5: "Stable but serious disability",
    6: "Short period of decline before dying",
    7: "Limited reserve and serious exacerbations",
    8: "Long period of decline before dying (frailty)",
}
KAISER_TIERS: dict[int, str] = {
    3: "Level 3: case management",
    2: "Level 2: disease and care management",
    1: "Level 1: supported self-care",
}
HFRS_HIGH = 15  # Gilbert et al. 2018: high risk band
FRAIL_AGE = 85
MEASURES = ("emergency_admissions", "emergency_bed_days", "ae_attendances", "cost")


@dataclass(frozen=True)
class PyramidThresholds:
    """Where the Kaiser tiers are cut (configurable)."""

    case_management_share: float = 0.02
    case_management_min_risk: float | None = None
    min_conditions: int = 1

    def __post_init__(self) -> None:
        if not 0 < self.case_management_share < 1:
            raise ValueError(
                f"case_management_share must be between 0 and 1, got {self.case_management_share}"
            )
        if self.case_management_min_risk is not None and not (
            0 < self.case_management_min_risk < 1
        ):
            raise ValueError(
                "case_management_min_risk must be a probability between 0 and 1, "
                f"got {self.case_management_min_risk}"
            )


def bridges_segment(t: ir.Table) -> ir.IntegerValue:
    """The Bridges to Health segment number of each row of a features table (Ibis)."""
    emergency = t.emergency_admissions > 0
    return ibis.cases(
        ((t.ltc_cancer == 1) & emergency, 6),
        (
            (t.ltc_dementia == 1)
            | (t.care_home == 1)
            | (t.hfrs >= HFRS_HIGH)
            | ((t.age >= FRAIL_AGE) & (t.social_care == 1)),
            8,
        ),
        (((t.ltc_heart_failure == 1) | (t.ltc_copd == 1) | (t.ltc_ckd == 1)) & emergency, 7),
        ((t.ltc_learning_disability == 1) | (t.social_care == 1), 5),
        ((t.age < 1) | (t.maternity_admissions > 0), 2),
        (t.ltc_count > 0, 4),
        (emergency | (t.ae_attendances > 0), 3),
        else_=1,
    ).cast("int8")


def with_segments(t: ir.Table) -> ir.Table:
    """``t`` with ``segment`` (number) and ``segment_name`` added."""
    seg = bridges_segment(t)
    return t.mutate(segment=seg).mutate(
        segment_name=ibis._.segment.cast("int64").substitute(BRIDGES_SEGMENTS, else_="")
    )


def kaiser_tier(frame: pd.DataFrame, thresholds: PyramidThresholds) -> np.ndarray:
    """Kaiser level (3, 2 or 1) of each person from ``risk`` and ``ltc_count``."""
    risk = frame["risk"].to_numpy(float)
    if thresholds.case_management_min_risk is not None:
        top = risk >= thresholds.case_management_min_risk
    else:
        k = max(1, round(thresholds.case_management_share * len(frame)))
        top = np.zeros(len(frame), bool)
        top[np.argsort(-risk, kind="stable")[:k]] = True
    ltc = frame["ltc_count"].to_numpy() >= thresholds.min_conditions
    return np.where(top, 3, np.where(ltc, 2, 1)).astype(np.int8)


def segment_people(
    scored: pd.DataFrame, thresholds: PyramidThresholds | None = None
) -> pd.DataFrame:
    """Segment and tier of each person in ``scored`` (the output of
    ``model.score_people``: features as at the scoring date with ``risk``)."""
    thresholds = thresholds or PyramidThresholds()
    t = with_segments(ibis.memtable(scored)).to_pyarrow().to_pandas()
    t["tier"] = kaiser_tier(t, thresholds)
    t["tier_name"] = t["tier"].map(KAISER_TIERS)
    return t


#: The area code of the partnership's own rows in :func:`segment_summary` by area.
PARTNERSHIP = "ALL"
#: Where :func:`segment_summary` reads each kind of area.
AREAS = {"footprint": "footprint_code", "practice": "practice_code"}


def labels_of(kind: str) -> dict[int, str]:
    """Segment number -> name (``kind`` "segment") or tier -> name ("tier")."""
    if kind == "segment":
        return BRIDGES_SEGMENTS
    if kind == "tier":
        return KAISER_TIERS
    raise ValueError(f"kind must be 'segment' or 'tier', got {kind!r}")


def segment_summary(people: pd.DataFrame, by: str | None = None, kind: str = "segment"):
    """People, activity and cost in the last 12 months per segment (or Kaiser tier): the
    one segment table every interface shows.

    ``people`` has one row per person (``segment_people``). ``by`` None gives one row
    per segment for the whole partnership; "footprint" or "practice" gives every area x
    segment cell (zeros included) with the partnership's own rows as area
    :data:`PARTNERSHIP`, in a column named after the area (``footprint_code`` or
    ``practice_code``; by practice, each practice's ``footprint_code`` too). Counts of
    1-7 people, and everything derived from them, are suppressed, with secondary
    suppression protecting each area's total, each segment's partnership figure and,
    by practice, each footprint's figure in each segment. Returns a
    SuppressionResult.
    """
    from joinedup.measures.suppression import suppress

    labels = labels_of(kind)
    if by is not None and by not in AREAS:
        raise ValueError(f"by must be footprint, practice or None, got {by!r}")
    sums = {"people": ("person_id", "size"), **{m: (m, "sum") for m in MEASURES}}
    whole = people.groupby(kind).agg(**sums).reindex(list(labels), fill_value=0)
    if by is None:
        out = whole.rename_axis(kind).reset_index()
        keys, totals = [kind], [[]]
    else:
        area = AREAS[by]
        frame = people.assign(**{area: people[area].fillna("").astype(str)})
        codes = sorted(frame[area].unique())
        parts = frame.groupby([area, kind]).agg(**sums)
        whole.index = pd.MultiIndex.from_product([[PARTNERSHIP], whole.index])
        grid = pd.MultiIndex.from_product([[*codes, PARTNERSHIP], list(labels)])
        out = pd.concat([parts, whole]).reindex(grid, fill_value=0)
        out = out.rename_axis([area, kind]).reset_index()
        keys, totals = [area, kind], [[area], [kind]]
        if by == "practice":
            # The footprints' figures are published too: protect each footprint's
            # practices in each segment, so no hidden practice cell is one unknown
            # beside its footprint's total.
            parent = frame.drop_duplicates(area).set_index(area)["footprint_code"]
            out["footprint_code"] = out[area].map(parent).fillna(PARTNERSHIP).astype(str)
            totals.append(["footprint_code", kind])
    out.insert(len(keys), f"{kind}_name", out[kind].map(labels))
    n = out["people"].astype(float).where(out["people"] > 0)
    rates = []
    for m in MEASURES:
        name = f"{m}_per_{'head' if m == 'cost' else '1000'}"
        out[name] = (1 if m == "cost" else 1000) * out[m] / n
        rates.append(name)
    for col in ("people", "cost"):
        total = out.groupby(keys[:-1])[col].transform("sum") if by else out[col].sum()
        total = pd.Series(total, index=out.index).astype(float)
        out[f"share_of_{col}"] = out[col] / total.where(total > 0)
    derived = {"people": ["share_of_people", *rates, *MEASURES, "share_of_cost"]}
    return suppress(out, ["people"], derived=derived, total_groups=totals)
