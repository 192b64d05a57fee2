"""Long-term conditions: prevalence by age, sex and deprivation, clustered in people.

Each condition's log-odds rises with age along its own curve, with deprivation and sex,
with the person's frailty and with shared latent factors (cardiometabolic, respiratory,
mental health), so that conditions cluster as multimorbidity does rather than falling
as independent coin flips. The intercept of each condition is solved so that recorded
prevalence matches QOF among the ages QOF counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from joinedup.schema.codes import CONDITION, CONDITION_SNOMED
from joinedup.synth.config import SynthConfig
from joinedup.synth.population import People
from joinedup.synth.timeline import DAYS_PER_YEAR, dates, day

AGE_KNOTS = np.array([0, 20, 40, 60, 75, 90])


@dataclass(frozen=True)
class ConditionModel:
    """How one condition's chance depends on a person."""

    prevalence: float  # prevalence to solve for (QOF, or above it where deaths thin the register)
    min_age: int  # QOF register age (prevalence denominator)
    age_logit: tuple[float, ...]  # log-odds at AGE_KNOTS (shape; the level is solved)
    deprivation: float = 0.0  # log-odds per decile more deprived than the middle
    male: float = 0.0  # log-odds for men
    cardiometabolic: float = 0.0
    respiratory: float = 0.0
    mental: float = 0.0


MODELS: dict[str, ConditionModel] = {
    "hypertension": ConditionModel(0.140, 0, (-8, -5, -2.5, -0.5, 0.6, 1.0), 0.05, 0.1, 0.8),
    "depression": ConditionModel(
        0.132, 18, (-9, -1.6, -1.4, -1.5, -1.8, -2.0), 0.08, -0.6, mental=1.0
    ),
    "diabetes": ConditionModel(0.075, 17, (-7, -4.5, -3.2, -1.9, -1.3, -1.5), 0.10, 0.3, 0.9),
    "asthma": ConditionModel(0.065, 6, (-3.0, -2.4, -2.6, -2.6, -2.6, -2.8), 0.04, respiratory=0.6),
    "ckd": ConditionModel(0.040, 18, (-10, -8, -6, -3.5, -1.8, -0.6), 0.04, -0.1, 0.8),
    "cancer": ConditionModel(0.035, 0, (-7, -6, -4.5, -3, -2.2, -2.0)),
    "chd": ConditionModel(0.030, 0, (-12, -9, -6, -3.5, -2.2, -1.6), 0.08, 0.5, 0.8),
    "atrial_fibrillation": ConditionModel(
        0.021, 0, (-14, -10, -7.5, -4.3, -2.6, -1.6), 0.0, 0.4, 0.4
    ),
    "copd": ConditionModel(0.019, 0, (-14, -11, -7, -3.9, -2.9, -2.9), 0.15, 0.3, respiratory=1.0),
    "stroke_tia": ConditionModel(0.018, 0, (-12, -10, -7, -4.4, -3.0, -2.2), 0.05, 0.2, 0.5),
    "heart_failure": ConditionModel(0.010, 0, (-14, -11, -8, -5.3, -3.6, -2.4), 0.06, 0.3, 0.6),
    "serious_mental_illness": ConditionModel(
        0.010, 0, (-9, -4.7, -4.3, -4.4, -4.6, -4.8), 0.15, mental=0.8
    ),
    "dementia": ConditionModel(0.0095, 0, (-20, -18, -14, -7.5, -4.3, -1.7), 0.03, -0.1),
    "learning_disability": ConditionModel(0.006, 0, (-5.1,) * 6, 0.05, 0.3),
    "osteoporosis": ConditionModel(0.009, 50, (-15, -12, -8, -4.5, -2.8, -2.0), 0.0, -1.5),
    "epilepsy": ConditionModel(0.008, 18, (-4.9,) * 6, 0.05),
}
NAMES = tuple(MODELS)
assert set(NAMES) <= set(CONDITION)
INCIDENT_SHARE = 0.10  # conditions first recorded during the window


def _solve_shift(base: np.ndarray, eligible: np.ndarray, target: float) -> float:
    """The intercept that makes mean(sigmoid(base + shift)) over eligible people = target.

    Newton's method on a monotone function: a handful of passes over the data.
    """
    x = base[eligible]
    shift = float(np.log(target / (1 - target)) - np.median(x))
    for _ in range(30):
        p = 1 / (1 + np.exp(-(x + shift)))
        gap = p.mean() - target
        if abs(gap) < 1e-7 * target:
            break
        shift -= float(np.clip(gap / max((p * (1 - p)).mean(), 1e-12), -5, 5))
    return shift


def build_conditions(config: SynthConfig, people: People) -> np.ndarray:
    """A boolean matrix (people x conditions, columns in NAMES order)."""
    rng = config.rng("conditions")
    end = day(config.end)
    n = len(people)
    age = people.age_at(np.minimum(people.registered_to, end)).astype(float)
    dep = 5.5 - people.decile.astype(float)  # deciles more deprived than the middle
    log_frailty = np.log(people.frailty)
    latent = {k: rng.standard_normal(n) for k in ("cardiometabolic", "respiratory", "mental")}
    has = np.zeros((n, len(NAMES)), bool)
    for j, name in enumerate(NAMES):
        m = MODELS[name]
        base = (np.interp(age, AGE_KNOTS, m.age_logit) + m.deprivation * dep
                + m.male * people.male + 0.5 * log_frailty
                + m.cardiometabolic * latent["cardiometabolic"]
                + m.respiratory * latent["respiratory"] + m.mental * latent["mental"])  # fmt: skip
        eligible = age >= m.min_age
        shift = _solve_shift(base, eligible, m.prevalence)
        p = 1 / (1 + np.exp(-(base + shift)))
        has[:, j] = (rng.random(n) < p) & (age >= min(m.min_age, 1))
    return has


def condition_table(
    config: SynthConfig, people: People, has: np.ndarray, person_ids: pa.Array
) -> pa.Table:
    """The `condition` table: one row per person and condition, with the date recorded."""
    rng = config.rng("condition-dates")
    start, end = day(config.start), day(config.end)
    who, j = np.nonzero(has)
    onset_floor = np.maximum(people.dob[who] + 365, people.dob[who])
    earliest = np.maximum(onset_floor, start - round(15 * DAYS_PER_YEAR))
    before = earliest + rng.random(len(who)) * np.maximum(start - earliest, 1)
    latest = np.minimum.reduce([people.registered_to[who], people.death[who],
                                np.full(len(who), end)])  # fmt: skip
    first_day = np.maximum(people.registered_from[who], np.maximum(start, onset_floor))
    during = first_day + rng.random(len(who)) * np.maximum(latest - first_day, 0)
    incident = (rng.random(len(who)) < INCIDENT_SHARE) & (latest > first_day)
    recorded = np.where(incident | (earliest >= start), during, before).astype(np.int32)
    recorded = np.maximum(recorded, people.dob[who])
    names = np.array(NAMES)[j]
    return pa.table(
        {
            "person_id": person_ids.take(pa.array(who)),
            "condition": names,
            "code_system": np.full(len(who), "snomed"),
            "code": np.array([CONDITION_SNOMED[c] for c in NAMES])[j],
            "recorded_on": dates(recorded),
        }
    )
