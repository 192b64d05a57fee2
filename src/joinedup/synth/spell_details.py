"""What each spell records: methods, sources, destinations, diagnoses, procedures, cost."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from joinedup.synth import diagnoses as dx
from joinedup.synth.admissions import (
    EMERGENCY_KINDS,
    KIND_DAYCASE,
    KIND_ELECTIVE,
    KIND_FINAL,
    KIND_MATERNITY,
    Spells,
    unfinished,
)
from joinedup.synth.conditions import NAMES
from joinedup.synth.config import SynthConfig
from joinedup.synth.geography import ACUTE_TRUSTS, AE_SITES
from joinedup.synth.population import People
from joinedup.synth.timeline import choose, dates, ids

EMERGENCY_METHODS = ("21", "22", "23", "24", "2A", "2B", "2D")
EMERGENCY_METHOD_SHARE = (0.70, 0.12, 0.01, 0.05, 0.02, 0.03, 0.07)
# How often a condition is the reason for an emergency admission of someone who has it.
EXACERBATION_WEIGHT = {"copd": 3, "heart_failure": 3, "asthma": 2, "chd": 2, "cancer": 2,
                       "epilepsy": 2, "serious_mental_illness": 2, "diabetes": 1,
                       "atrial_fibrillation": 1, "dementia": 1, "stroke_tia": 1, "ckd": 1,
                       "depression": 0.4, "hypertension": 0.2, "learning_disability": 0.5,
                       "osteoporosis": 0.5}  # fmt: skip
CONDITION_SPECIALTY = {"copd": "340", "asthma": "340", "heart_failure": "320", "chd": "320",
                       "atrial_fibrillation": "320", "diabetes": "302", "ckd": "361",
                       "cancer": "370", "stroke_tia": "328", "dementia": "430",
                       "serious_mental_illness": "710", "depression": "710", "epilepsy": "400",
                       "learning_disability": "300", "osteoporosis": "110",
                       "hypertension": "300"}  # fmt: skip
TARIFF = {"emergency": 3400, "excess_bed_day": 380, "elective": 4200, "daycase": 1000,
          "maternity": 2500}  # fmt: skip
TRIM_POINT = 14


def provider_of(config: SynthConfig, part: str, trust: np.ndarray) -> np.ndarray:
    """Each event's provider: mostly the local hospital, sometimes the other one."""
    rng = config.rng(part)
    elsewhere = rng.random(len(trust)) < 0.10
    return np.where(elsewhere, 1 - trust, trust)


def spell_tables(
    config: SynthConfig,
    people: People,
    spells: Spells,
    pick: np.ndarray,
    has: np.ndarray,
    care_home: np.ndarray,
    local_trust: np.ndarray,
    person_ids: pa.Array,
    window_end: int,
) -> tuple[pa.Table, pa.Table, dict[str, np.ndarray]]:
    """The apc_spell and apc_diagnosis tables; also the spells' method and provider.

    Spells still in progress on ``window_end`` are unfinished: no discharge date and
    discharge destination 98. Their cost is the tariff of the stay so far (to the last
    day of the window), as a provider accrues income for patients still in hospital.
    """
    rng = config.rng("spell-details")
    n = len(spells)
    who = spells.who
    age = people.age_on(who, spells.admitted)
    emergency = np.isin(spells.kind, EMERGENCY_KINDS)
    elective = np.isin(spells.kind, (KIND_ELECTIVE, KIND_DAYCASE))
    maternity = spells.kind == KIND_MATERNITY
    final = spells.kind == KIND_FINAL

    method = np.array(EMERGENCY_METHODS)[choose(rng, n, EMERGENCY_METHOD_SHARE)]
    method = np.where(elective, np.array(["11", "12", "13"])[choose(rng, n, (7, 2, 1))], method)
    method = np.where(maternity, "31", method).astype(object)
    classification = np.where(spells.kind == KIND_DAYCASE, "2", "1")
    resident = care_home[who]
    source = np.where(resident, np.where(rng.random(n) < 0.7, "85", "65"), "19")
    source = np.where(method == "2B", "51", source)
    destination = np.array(["19", "29", "51", "54", "88"])[choose(rng, n, (93, 2, 3, 1, 1))]
    destination = np.where(resident, np.where(source == "65", "65", "85"), destination)
    destination = np.where(final, "79", destination)
    in_progress = unfinished(spells, window_end)
    destination = np.where(in_progress, "98", destination)

    # Primary diagnosis and specialty.
    primary = np.empty(n, object)
    specialty = np.empty(n, object)
    procedure = np.full(n, None, object)
    group = np.select([age < 16, age < 65], ["child", "adult"], "older")
    for g, pool in dx.GENERAL_EMERGENCY.items():
        rows = np.flatnonzero(group == g)
        k = choose(rng, len(rows), [p[1] for p in pool])
        primary[rows] = np.array([p[0] for p in pool])[k]
        specialty[rows] = np.array([p[2] for p in pool])[k]
    # Condition-driven emergencies: pick one of the person's conditions by weight.
    weights = has[who] * np.array([EXACERBATION_WEIGHT[c] for c in NAMES])
    total = weights.sum(axis=1)
    driven = emergency & (rng.random(n) < np.minimum(0.6, 0.2 * total))
    cum = np.cumsum(weights, axis=1)
    j = (cum < (rng.random(n) * total)[:, None]).sum(axis=1).clip(0, len(NAMES) - 1)
    for c, name in enumerate(NAMES):
        rows = np.flatnonzero(driven & (j == c))
        options = dx.CONDITION_CODES[name][1]
        primary[rows] = np.array(options)[rng.integers(0, len(options), len(rows))]
        specialty[rows] = CONDITION_SPECIALTY[name]
    # Falls of older people: an injury as primary, its external cause as secondary.
    p_fall = np.where(age >= 75, 0.16, 0.10)
    fall = emergency & ~driven & (age >= 65) & (rng.random(n) < p_fall)
    k = choose(rng, n, [f[1] for f in dx.FALL_INJURIES])
    primary[fall] = np.array([f[0] for f in dx.FALL_INJURIES])[k][fall]
    specialty[fall] = np.where(age[fall] >= 75, "430", "110")
    # Planned care.
    child_pool = pick < 0
    pools = ((dx.ELECTIVE, elective & ~child_pool), (dx.ELECTIVE_CHILD, elective & child_pool))
    for pool, rows in pools:
        k = np.where(pick[rows] < 0, -1 - pick[rows], pick[rows])
        primary[rows] = np.array([p[0] for p in pool])[k]
        procedure[rows] = np.array([p[1] for p in pool])[k]
        specialty[rows] = np.array([p[2] for p in pool])[k]
    k = rng.integers(0, len(dx.MATERNITY), n)
    primary[maternity] = np.array([m[0] for m in dx.MATERNITY])[k][maternity]
    procedure[maternity] = np.array([m[1] for m in dx.MATERNITY], object)[k][maternity]
    specialty[maternity] = "501"

    trust = provider_of(config, "spell-provider", local_trust[who])
    provider = np.array(ACUTE_TRUSTS)[trust]
    site = np.array([AE_SITES[t][0] for t in ACUTE_TRUSTS])[trust]
    los = np.minimum(spells.discharged, window_end) - spells.admitted  # to date if unfinished
    cost = np.select(
        [emergency, spells.kind == KIND_ELECTIVE, spells.kind == KIND_DAYCASE, maternity],
        [TARIFF["emergency"] * np.where(los == 0, 0.45, 1.0)
         + TARIFF["excess_bed_day"] * np.maximum(los - TRIM_POINT, 0),
         TARIFF["elective"] + TARIFF["excess_bed_day"] * np.maximum(los - TRIM_POINT, 0),
         TARIFF["daycase"], TARIFF["maternity"]],
    )  # fmt: skip

    spell_id = ids("SP", n, 10)
    spell = pa.table(
        {
            "spell_id": spell_id,
            "person_id": person_ids.take(pa.array(who)),
            "provider_code": provider,
            "site_code": site,
            "admitted_on": dates(spells.admitted),
            "discharged_on": dates(
                np.where(in_progress, 0, spells.discharged), missing=in_progress
            ),
            "admission_method": method.astype(str),
            "patient_classification": classification,
            "admission_source": source,
            "discharge_destination": destination,
            "specialty": specialty.astype(str),
            "primary_diagnosis": primary.astype(str),
            "primary_procedure": pa.array(procedure, pa.string()),
            "cost": np.round(cost.astype(float), 2),
        }
    )
    diagnosis = _diagnoses(rng, people, spells, primary, fall, emergency, has, age, spell_id)
    return spell, diagnosis, {"method": method.astype(str), "provider": trust}


def _diagnoses(rng, people, spells, primary, fall, emergency, has, age, spell_id) -> pa.Table:
    """Primary plus secondary diagnoses: conditions, fall causes, frailty codes."""
    n = len(spells)
    rows_spell = [np.arange(n)]
    rows_code = [primary.astype(str)]
    rows_rank = [np.zeros(n)]
    p_coded = np.where(emergency, 0.85, 0.6)[:, None]
    coded = has[spells.who] & (rng.random((n, len(NAMES))) < p_coded)
    s, j = np.nonzero(coded)
    rows_spell.append(s)
    rows_code.append(np.array([dx.CONDITION_CODES[c][0] for c in NAMES])[j])
    rows_rank.append(1 + rng.random(len(s)))
    f = np.flatnonzero(fall)
    rows_spell.append(f)
    rows_code.append(np.array(dx.FALL_CAUSES)[rng.integers(0, len(dx.FALL_CAUSES), len(f))])
    rows_rank.append(np.full(len(f), 0.5))
    # Frailty codes for older people in hospital, more for the frailer.
    n_frail = np.where(age >= 65, rng.poisson(0.5 * people.frailty[spells.who]
                                              * np.where(age >= 80, 1.6, 1.0)), 0)  # fmt: skip
    n_frail = np.where(emergency, n_frail, n_frail // 3)
    fs = np.repeat(np.arange(n), n_frail)
    rows_spell.append(fs)
    rows_code.append(np.array([c[0] for c in dx.FRAILTY_CODES])[
        choose(rng, len(fs), [c[1] for c in dx.FRAILTY_CODES])])  # fmt: skip
    rows_rank.append(2 + rng.random(len(fs)))
    frame = pd.DataFrame({
        "spell": np.concatenate(rows_spell),
        "icd10": np.concatenate(rows_code),
        "rank": np.concatenate(rows_rank),
    })  # fmt: skip
    frame = frame.sort_values(["spell", "rank"], kind="stable")
    frame = frame.drop_duplicates(["spell", "icd10"], keep="first")
    frame["position"] = frame.groupby("spell").cumcount() + 1
    frame = frame[frame["position"] <= 20]
    return pa.table({
        "spell_id": spell_id.take(pa.array(frame["spell"].to_numpy())),
        "position": pa.array(frame["position"].to_numpy(), pa.int16()),
        "icd10": frame["icd10"].to_numpy().astype(str),
        "episode": pa.nulls(len(frame), pa.int16()),  # spells, not episodes
    })  # fmt: skip


def procedure_table(spell: pa.Table) -> pa.Table:
    """apc_procedure: each spell's main procedure at position 1 (spells, not episodes)."""
    done = spell.filter(pc.is_valid(spell["primary_procedure"]))
    return pa.table({
        "spell_id": done["spell_id"],
        "position": pa.array(np.ones(done.num_rows, np.int16)),
        "opcs4": done["primary_procedure"],
        "episode": pa.nulls(done.num_rows, pa.int16()),
    })  # fmt: skip
