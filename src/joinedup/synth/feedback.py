"""What people say: Friends and Family Test answers, comments, PROMs and activation.

Feedback follows the care people received: a long wait in A&E, a long stay or repeated
emergency admissions make a positive answer less likely; older people answer more
positively, as national FFT data show. Hip and knee replacements carry EQ-5D scores
before and six months after; people in telephone care management report their patient
activation (PAM) at enrolment and six months later, with a planted improvement. About
two in five FFT answers are anonymous (no person_id), as the FFT allows.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from joinedup.synth.config import SynthConfig
from joinedup.synth.population import People
from joinedup.synth.timeline import dates, ids, labels

# Planted: mean change in PAM score six months after enrolment, and EQ-5D gain after a
# hip or knee replacement (both recorded in truth.json).
PAM_CHANGE = 4.0
EQ5D_GAIN = 0.30
ANONYMOUS_SHARE = 0.4
COMMENT_SHARE = 0.3
# Setting -> (share of contacts that answer the FFT, log-odds of a positive answer).
# Calibrated to national FFT percentages positive (about 80% A&E, 94% inpatient, 93%
# outpatient, 91% GP, 95% community).
FFT = {"ae": (0.12, 1.9), "inpatient": (0.20, 3.2), "outpatient": (0.06, 3.0),
       "gp": (0.015, 2.7), "community": (0.03, 3.3)}  # fmt: skip
POSITIVE_COMMENTS = (
    "Staff were kind and caring throughout",
    "Seen quickly and everything was explained clearly",
    "The nurse listened to me and took time to explain",
    "Friendly reception staff and a clean waiting area",
    "Thank you to Sister Jones on ward 7 for looking after my mum",
    "Easy to book an appointment and the doctor was helpful",
)
NEGATIVE_COMMENTS = (
    "Waited over five hours to be seen",
    "Nobody explained what was happening or what the tests were for",
    "Could not get an appointment for two weeks",
    "Parking was impossible and very expensive",
    "Discharge was delayed all day waiting for medicines",
    "Staff seemed rushed and did not listen",
    "The waiting room was dirty and crowded",
    "My husband John was left on a trolley in the corridor overnight",
)


def _index(person_ids: pa.Array, all_ids: pa.Array) -> np.ndarray:
    return pc.index_in(person_ids, value_set=all_ids).to_numpy(zero_copy_only=False)


def _answers(rng, logit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """FFT answer codes (index into '1'..'6') and whether each is positive."""
    n = len(logit)
    positive = rng.random(n) < 1 / (1 + np.exp(-logit))
    good = np.where(rng.random(n) < 0.62, 0, 1)  # very good, good
    bad = np.array([2, 3, 4])[np.searchsorted([0.45, 0.75], rng.random(n))]
    code = np.where(positive, good, bad)
    code = np.where(rng.random(n) < 0.02, 5, code)  # don't know
    return code, positive & (code < 2)


def _comments(rng, positive: np.ndarray) -> pa.Array:
    n = len(positive)
    has = rng.random(n) < COMMENT_SHARE
    options = (*POSITIVE_COMMENTS, *NEGATIVE_COMMENTS)
    good = rng.integers(0, len(POSITIVE_COMMENTS), n)
    bad = len(POSITIVE_COMMENTS) + rng.integers(0, len(NEGATIVE_COMMENTS), n)
    pick = np.where(positive, good, bad)
    return pc.if_else(pa.array(has), labels(options, pick), pa.scalar(None, pa.string()))


def feedback_table(
    config: SynthConfig,
    people: People,
    all_ids: pa.Array,
    tables: dict[str, pa.Table],
    emergency_count: np.ndarray,
    condition_count: np.ndarray,
    enrolment: dict,
    window: tuple[int, int],
    practice_codes: list[str],
) -> pa.Table:
    """The feedback_response table."""
    rng = config.rng("feedback")
    start, end = window
    a, b = people.exposure(start, end)
    age = people.age_at(a)
    tilt = 0.3 * (age >= 65) - 0.03 * (5.5 - people.decile) - 0.5 * (emergency_count >= 3)
    parts: list[dict] = []

    def fft(setting: str, table: pa.Table, day: np.ndarray, provider: pa.Array,
            penalty: np.ndarray) -> None:  # fmt: skip
        share, base = FFT[setting]
        pick = np.flatnonzero(rng.random(table.num_rows) < share)
        who = _index(table["person_id"].take(pick), all_ids)
        when = np.minimum(day[pick] + rng.integers(0, 15, len(pick)), b[who] - 1)
        logit = base + tilt[who] + penalty[pick] + rng.normal(0, 0.5, len(pick))
        code, positive = _answers(rng, logit)
        parts.append({"who": who, "instrument": "fft", "setting": setting, "day": when,
                      "provider": provider.take(pick), "answer": labels("123456", code),
                      "score": None, "timing": None, "comment": _comments(rng, positive),
                      "anonymous": rng.random(len(pick)) < ANONYMOUS_SHARE})  # fmt: skip

    ae = tables["ae_attendance"]
    arrived = pc.cast(ae["arrived_at"], pa.int64()).to_numpy() // 86_400_000_000
    minutes = (pc.cast(ae["departed_at"], pa.int64()).to_numpy()
               - pc.cast(ae["arrived_at"], pa.int64()).to_numpy()) / 60e6  # fmt: skip
    fft("ae", ae, arrived, ae["provider_code"], np.where(minutes > 240, -1.2, 0.0))
    spells = tables["apc_spell"]
    # Discharged alive: not died (79), not still in hospital (98, no discharge date).
    alive = pc.invert(pc.is_in(spells["discharge_destination"], pa.array(["79", "98"])))
    discharged = spells.filter(alive)
    d_day = _days(discharged["discharged_on"])
    los = d_day - _days(discharged["admitted_on"])
    fft("inpatient", discharged, d_day, discharged["provider_code"], np.where(los > 14, -0.4, 0.0))
    op = tables["op_appointment"].filter(pc.is_in(tables["op_appointment"]["attended"],
                                                  pa.array(["5", "6"])))  # fmt: skip
    fft("outpatient", op, _days(op["date"]), op["provider_code"], np.zeros(op.num_rows))
    gp = tables["gp_appointment"]
    fft("gp", gp, _days(gp["date"]), gp["practice_code"], np.zeros(gp.num_rows))
    cc = tables["community_contact"]
    fft("community", cc, _days(cc["date"]), cc["provider_code"], np.zeros(cc.num_rows))

    # EQ-5D before and six months after hip and knee replacements.
    joints = spells.filter(pc.is_in(spells["primary_procedure"], pa.array(["W371", "W401"])))
    who = _index(joints["person_id"], all_ids)
    admitted = _days(joints["admitted_on"])
    before = rng.normal(0.35, 0.22, len(who)).clip(-0.594, 1.0)
    after = (before + rng.normal(EQ5D_GAIN, 0.2, len(who))).clip(-0.594, 1.0)
    pre_day = np.maximum(admitted - rng.integers(7, 43, len(who)), a[who])
    post_day = admitted + 182
    for timing, score, day, keep in (("pre", before, pre_day, rng.random(len(who)) < 0.7),
                                     ("post", after, post_day, (rng.random(len(who)) < 0.6)
                                      & (post_day < b[who]))):  # fmt: skip
        parts.append(_scores(keep, who, "eq5d", "inpatient", day, joints["provider_code"],
                             score, timing))  # fmt: skip

    # Patient activation at enrolment in telephone care management and six months on.
    e_who, e_day = enrolment["who"], enrolment["enrolled"]
    stay_to = np.minimum(enrolment["left"], b[e_who])
    pam0 = rng.normal(52, 12, len(e_who)).clip(0, 100)
    pam1 = (pam0 + rng.normal(PAM_CHANGE, 8, len(e_who))).clip(0, 100)
    provider = pa.array(["XCA"] * len(e_who), pa.string())
    first = rng.random(len(e_who)) < 0.8
    second = first & (rng.random(len(e_who)) < 0.6) & (e_day + 182 < stay_to)
    parts.append(_scores(first, e_who, "pam", "telephone_care", e_day, provider, pam0, "pre"))
    parts.append(_scores(second, e_who, "pam", "telephone_care", e_day + 182, provider, pam1,
                         "post"))  # fmt: skip
    # Confidence in managing a long-term condition, asked of a sample of people with one
    # each year (a GP Patient Survey question): lower with more conditions and frailty,
    # higher once enrolled in telephone care management.
    asked = np.flatnonzero((condition_count > 0) & (b > a))
    n_asked = rng.binomial(np.maximum((b[asked] - a[asked]) // 365, 1), 0.05)
    who = np.repeat(asked, n_asked)
    day = a[who] + np.floor(rng.random(len(who)) * (b[who] - a[who])).astype(np.int64)
    enrolled_on = np.full(len(people), np.iinfo(np.int64).max)
    enrolled_on[e_who] = e_day
    logit = (1.2 - 0.25 * condition_count[who] - 0.3 * np.log(people.frailty[who])
             + 0.8 * (day >= enrolled_on[who]) + rng.normal(0, 0.8, len(who)))  # fmt: skip
    answer = np.select([logit > 1.5, logit > 0, logit > -1.2], [0, 1, 2], 3)
    parts.append({"who": who, "instrument": "ltc_confidence", "setting": "gp", "day": day,
                  "provider": labels(practice_codes, people.practice[who]),
                  "answer": labels("1234", answer), "score": None, "timing": None,
                  "comment": None, "anonymous": np.zeros(len(who), bool)})  # fmt: skip
    return _table(parts, all_ids)


def _days(column) -> np.ndarray:
    return pc.cast(pc.cast(column, pa.date32()), pa.int32()).to_numpy(zero_copy_only=False)


def _scores(keep, who, instrument, setting, day, provider, score, timing) -> dict:
    rows = np.flatnonzero(keep)
    return {"who": who[rows], "instrument": instrument, "setting": setting, "day": day[rows],
            "provider": provider.take(rows), "answer": None, "score": np.round(score[rows], 3),
            "timing": timing, "comment": None, "anonymous": np.zeros(len(rows), bool)}  # fmt: skip


def _table(parts: list[dict], all_ids: pa.Array) -> pa.Table:
    columns: dict[str, list] = {k: [] for k in ("person_id", "instrument", "setting",
                                                 "provider_code", "responded_on", "answer_code",
                                                 "score", "timing", "comment")}  # fmt: skip
    for p in parts:
        n = len(p["who"])
        ids_ = all_ids.take(pa.array(p["who"]))
        columns["person_id"].append(pc.if_else(pa.array(p["anonymous"]),
                                               pa.scalar(None, pa.string()), ids_))  # fmt: skip
        columns["instrument"].append(pa.array([p["instrument"]] * n, pa.string()))
        columns["setting"].append(pa.array([p["setting"]] * n, pa.string()))
        columns["provider_code"].append(p["provider"].cast(pa.string()))
        columns["responded_on"].append(dates(p["day"]))
        columns["answer_code"].append(p["answer"] if p["answer"] is not None
                                      else pa.nulls(n, pa.string()))  # fmt: skip
        columns["score"].append(pa.array(p["score"], pa.float64()) if p["score"] is not None
                                else pa.nulls(n, pa.float64()))  # fmt: skip
        columns["timing"].append(pa.array([p["timing"]] * n, pa.string()))
        columns["comment"].append(p["comment"] if p["comment"] is not None
                                  else pa.nulls(n, pa.string()))  # fmt: skip
    data = {k: pa.concat_arrays([c.combine_chunks() if isinstance(c, pa.ChunkedArray) else c
                                 for c in v]) for k, v in columns.items()}  # fmt: skip
    order = pc.sort_indices(pa.table(data), [("responded_on", "ascending")])
    table = pa.table(data).take(order)
    return pa.table({"response_id": ids("FB", table.num_rows, 10), **{
        n: table[n] for n in table.column_names}})  # fmt: skip
