"""Hand-made worlds for testing the evaluation's verdict: a small synthetic economy whose
emergency admissions and programme enrolment are replaced by ones whose truth is known
exactly.

Everything else (people, registrations, deaths, conditions, planned care, A&E, GP and
community activity) is the synthetic economy's, so the evaluation runs unchanged on it.
The emergency admissions are a Poisson process per person at a rate of
``base(age) * frailty * trend(t)``: frailty is gamma distributed and never recorded (as in
real case finding, people are chosen partly for need the data do not show). Enrolment
picks people as case finding does, on frailty and on their emergency admissions in the
12 months before the enrolment date (so regression to the mean is there to be mistaken
for an effect), and the programme multiplies the admissions of the enrolled from their
enrolment date by ``effect``.

``trend`` is 1 for everyone unless ``trend_per_year`` is set: then a fifth of the people
are *changing* (their rate is multiplied by ``exp(trend_per_year * years since the start
of the data)``) and case finding strongly prefers them: a cohort selected on a rising
(or falling) trend, which no matching on the last 12 months can see and which the placebo
test must catch.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

PROGRAMME = "case_management"
EMERGENCY = ("21", "22", "23", "24", "25", "2A", "2B", "2C", "2D", "28")


def rewrite(
    source: Path,
    target: Path,
    *,
    effect: float,
    enrolled: int,
    seed: int,
    trend_per_year: float = 0.0,
) -> dict:
    """Copy the warehouse ``source`` to ``target`` with new emergency admissions and a
    new programme (``PROGRAMME``); returns the truth (``effect``, how many enrolled)."""
    shutil.copy(source, target)
    rng = np.random.default_rng(seed)
    con = duckdb.connect(str(target))
    start, end = con.sql("SELECT min(admitted_on), max(admitted_on) FROM apc_spell").fetchone()
    start, end = pd.Timestamp(start), pd.Timestamp(end) + pd.Timedelta(days=1)
    people = con.sql(
        "SELECT person_id, year_of_birth, registered_from, registered_to, date_of_death "
        "FROM person ORDER BY person_id"
    ).df()
    n = len(people)
    t0 = (start - pd.Timestamp("1970-01-01")).days
    t1 = (end - pd.Timestamp("1970-01-01")).days

    def days(col: pd.Series, default: int) -> np.ndarray:
        d = (pd.to_datetime(col) - pd.Timestamp("1970-01-01")).dt.days
        return d.fillna(default).to_numpy(np.int64)

    a = np.maximum(days(people.registered_from, t0), t0)
    ends = [days(people.registered_to, t1), days(people.date_of_death, t1), np.full(n, t1)]
    b = np.minimum.reduce(ends)
    age = start.year - people.year_of_birth.to_numpy()
    frailty = rng.gamma(1.0, 1.0, n)
    base = np.where(age < 18, 0.05, 0.2 * np.exp(0.035 * np.clip(age - 40, 0, None)))
    changing = rng.random(n) < (0.2 if trend_per_year else 0.0)
    k = np.where(changing, trend_per_year, 0.0)
    # Poisson events by thinning at the highest rate in the window.
    peak = base * frailty * np.exp(np.maximum(k, 0) * (t1 - t0) / 365.25)
    expected = peak * np.maximum(b - a, 0) / 365.25
    count = rng.poisson(expected)
    who = np.repeat(np.arange(n), count)
    day = a[who] + np.floor(rng.random(len(who)) * (b[who] - a[who])).astype(np.int64)
    rate = base[who] * frailty[who] * np.exp(k[who] * (day - t0) / 365.25)
    keep = rng.random(len(who)) * peak[who] < rate
    who, day = who[keep], day[keep]

    # Case finding: a candidate date for everyone in the last two years, the eligible
    # (40 or over, registered and alive on it) scored on frailty and recent admissions.
    candidate = t0 + 365 + np.floor(rng.random(n) * (t1 - 90 - t0 - 365)).astype(np.int64)
    eligible = (age >= 40) & (a <= candidate - 365) & (candidate < b)
    recent = (day >= candidate[who] - 365) & (day < candidate[who])
    prior = np.bincount(who[recent], minlength=n)
    score = frailty * (1 + 1.5 * prior) * np.where(changing, 20.0, 1.0)
    key = np.where(eligible, np.log(score) + rng.gumbel(size=n), -np.inf)
    chosen = np.sort(np.argpartition(-key, enrolled)[:enrolled])
    on = np.full(n, np.iinfo(np.int64).max)
    on[chosen] = candidate[chosen]
    # The programme's effect from the enrolment date.
    after = day >= on[who]
    kept = ~after | (rng.random(len(who)) < effect) if effect <= 1 else np.ones(len(who), bool)
    who, day = who[kept], day[kept]

    los = np.where(rng.random(len(who)) < 0.3, 0, 1 + rng.geometric(0.2, len(who)))
    spells = pd.DataFrame(
        {
            "spell_id": [f"HM{i:09d}" for i in range(len(who))],
            "person_id": people.person_id.to_numpy()[who],
            "admitted_on": pd.to_datetime(day, unit="D").date,
            "discharged_on": pd.to_datetime(np.minimum(day + los, t1 - 1), unit="D").date,
            "cost": 1500.0 + 350.0 * los,
        }
    )
    enrol = pd.DataFrame(
        {
            "person_id": people.person_id.to_numpy()[chosen],
            "enrolled_on": pd.to_datetime(candidate[chosen], unit="D").date,
        }
    )
    methods = ", ".join(f"'{m}'" for m in EMERGENCY)
    con.execute(f"DELETE FROM apc_spell WHERE admission_method IN ({methods})")
    con.register("new_spells", spells)
    con.execute(
        """INSERT INTO apc_spell (spell_id, person_id, provider_code, admitted_on,
        discharged_on, admission_method, patient_classification, specialty,
        primary_diagnosis, cost, batch_id)
        SELECT spell_id, person_id, 'RXX', admitted_on, discharged_on, '21', '1', '300',
        'R69', cost, 'HANDMADE' FROM new_spells"""
    )
    con.execute("DELETE FROM programme_enrolment")
    con.register("new_enrol", enrol)
    con.execute(
        f"""INSERT INTO programme_enrolment (person_id, programme, enrolled_on, left_on,
        batch_id) SELECT person_id, '{PROGRAMME}', enrolled_on, NULL, 'HANDMADE'
        FROM new_enrol"""
    )
    con.close()
    return {
        "effect": effect,
        "enrolled": enrolled,
        "changing_enrolled": int(changing[chosen].sum()),
        "trend_per_year": trend_per_year,
    }
