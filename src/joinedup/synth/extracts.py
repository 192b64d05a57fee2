"""The synthetic economy as the extracts a partnership receives, and loading them.

:func:`write_extracts` writes a built economy (its warehouse and its restricted
re-identification store) as the files partners send, each in its national layout, so
the demo and end-to-end tests load data through the same door as real extracts
(:func:`load_extracts`: key bridges, ``joinedup ingest`` of the folder, then
``joinedup registers derive``):

============================  =========================  ==================================
file                          layout (mapping)           keyed by
============================  =========================  ==================================
``gp_register.csv``           ``gp_register``            NHS number
``gp_events.csv``             ``gp_events``              NHS number
``gp_condition_register.csv`` ``gp_condition_register``  NHS number (registers the QOF
                                                         rules cannot derive)
``hes_apc.txt``               ``hes_apc`` (episodes)     ``PSEUDO_HESID`` (scheme hesid)
``hes_op.txt``                ``hes_op``                 ``PSEUDO_HESID``
``ecds.csv``                  ``ecds``                   NHS number
``csds_care_contacts.csv``    ``csds_contacts``          CSDS ``Person_ID``
``mhsds_mhs201_contacts.csv`` ``mhsds_contacts``         MHSDS ``Person_ID``
``social_care_cld.csv``       ``social_care_cld``        NHS number
``fft.csv``                   ``fft``                    NHS number (blank: anonymous)
``<table>.csv / .parquet``    canonical headers          NHS number (tables with no
                                                         national layout)
============================  =========================  ==================================

Beside them: ``bridges/<scheme>.csv`` (NHS number and pseudonym pairs, as the data
service that issued the pseudonyms supplies them: load with ``joinedup keys bridge``
before the extracts) and ``<layout>_costed.yaml``: HES, CSDS and MHSDS carry no cost,
so each of those files has a ``COST`` column (the partnership's costing of each row,
not a national field) and a copy of the shipped mapping that also reads it, kept
beside the extracts where ingest finds it (docs/ingest.md, "The demo's extracts").

How the economy is written:

- **HES APC** is episode-level: about ``MULTI_EPISODE_SHARE`` of emergency spells (those
  of a day or more with two or more diagnoses) are split into two or three consultant
  episodes (``EPIORDER`` 1..n, ``EPISTART``/``EPIEND`` contiguous, later episodes under
  another main specialty). Every episode repeats the admission fields; the last holds
  the discharge (earlier ones: no ``DISDATE``, ``DISDEST`` 98). The spell's diagnoses
  are shared out in order (the first episode's ``DIAG_4_01`` is the spell's primary
  diagnosis; each code is written once, in order, numbered from 1 in its episode),
  three-character codes padded with X as HES writes them (``J81X``); the main procedure
  is on the first episode; the cost is split over the episodes in pence.
- **GP coded events**: each register entry of the economy is a diagnosis code of the
  condition's QOF diagnosis cluster on the day it was recorded (the economy's code when
  the cluster holds it), with later repeat codes, earlier episodes that were resolved
  before it, people whose diagnosis was later resolved (not on the register) and
  systolic blood pressure readings of people with hypertension (codes in no cluster:
  ignored by the rules). Registers the rules cannot derive (cancer, osteoporosis) come
  as a ready-made register extract instead. The extracts are taken on the last day of
  the economy's activity: an entry dated after the person left, died or that day is
  not in them.
- **People** get a date of birth in their year of birth (on or before their
  registration when they registered the year they were born) and pseudonyms that are
  keyed hashes of their NHS number, the keys derived from ``seed``.

What a national layout cannot carry (the parity test lists each): ECDS discharge
destinations (HES A&E disposals 02, 04-06 and 11-13 are discharges home: they come
back as 03), HES OP ``FIRSTATT`` (video appointments are telemedicine: telephone),
CLD service types (day care is a community service: home care), and spells of one
person admitted twice on one day to one provider, which HES cannot tell apart (no
spell id): ingest quarantines their episodes.

Everything is deterministic: the same warehouse, store and seed give the same bytes.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import yaml

#: Share of emergency spells written as two or three consultant episodes.
MULTI_EPISODE_SHARE = 0.18
#: Of those, the share with three episodes (when the spell has three or more codes).
THREE_EPISODE_SHARE = 0.25
#: Main specialties of a spell's later consultant episodes (treatment function codes):
#: general medicine, geriatric medicine, cardiology, respiratory, gastroenterology, surgery.
LATER_SPECIALTIES = ("300", "430", "320", "340", "301", "100")
#: Share of register entries with a later repeat of the diagnosis code.
REPEAT_SHARE = 0.25
#: Share of register entries (of registers that can be resolved) with an earlier
#: episode of the condition, diagnosed and resolved before the current one began.
EARLIER_EPISODE_SHARE = 0.05
#: Share of people not on a register whose diagnosis was later coded as resolved.
RESOLVED_SHARE = {"asthma": 0.03, "depression": 0.03, "hypertension": 0.005, "ckd": 0.004,
                  "diabetes": 0.002, "epilepsy": 0.002, "copd": 0.001,
                  "heart_failure": 0.001}  # fmt: skip
#: Diagnosis codes to use when the economy's code is not in the register's diagnosis
#: cluster (the economy records CKD as the general concept; QOF counts stages 3-5):
#: codes and weights.
DIAGNOSIS_CODES = {
    "ckd": (("700378005", "700379002", "433144002"), (0.6, 0.3, 0.1)),  # stage 3A, 3B, 3
}
#: Systolic blood pressure (SNOMED CT observable): recorded with a value, in no cluster.
SYSTOLIC_BP = "271649006"

# HES A&E disposal -> ECDS discharge destination (SNOMED CT), as ecds.yaml reads them
# back. ECDS records where the patient went; referrals and follow-up are other fields,
# so discharges with GP follow-up (02), to clinics (04-06), to another professional
# (11) and people who left (12, 13) are discharges home.
ECDS_DESTINATION = {
    "01": "306706006",  # discharge to ward
    "02": "306689006",  # discharge to home
    "03": "306689006",
    "04": "306689006",
    "05": "306689006",
    "06": "306689006",
    "07": "19712007",  # patient transfer, to another health care facility
    "10": "305398007",  # died (mortuary)
    "11": "306689006",
    "12": "306689006",
    "13": "306689006",
    "14": "1066341000000100",  # ambulatory emergency care (HES A&E has no such disposal)
}
# HES A&E arrival mode -> ECDS arrival mode (SNOMED CT).
ECDS_ARRIVAL = {"1": "1048031000000100", "2": "1048071000000103"}
# The economy's community services -> CSDS team types (TeamType) and their weights.
CSDS_TEAM_TYPES = {
    "district_nursing": (("12",), (1.0,)),
    "community_matron": (("19",), (1.0,)),
    "intermediate_care": (("51", "52", "53", "54"), (0.3, 0.1, 0.4, 0.2)),
    "therapy": (("23", "26"), (0.4, 0.6)),
    "specialist_nursing": (("04", "11", "30"), (0.3, 0.4, 0.3)),
    "palliative_care": (("14", "47"), (0.6, 0.4)),
}
# The economy's social care types as CLD writes them: Service_Type, Delivery_Mechanism.
CLD_SERVICE = {
    "home_care": ("Long Term Support: Community", "CASSR Commissioned Support"),
    "day_care": ("Long Term Support: Community", "CASSR Commissioned Support"),
    "direct_payment": ("Long Term Support: Community", "Direct Payment"),
    "residential_care": ("Long Term Support: Residential Care", ""),
    "nursing_care": ("Long Term Support: Nursing Care", ""),
    "reablement": ("Short Term Support: ST-Max", ""),
}
#: Pseudonym schemes: scheme -> (column in its extracts, characters).
SCHEMES = {"hesid": ("PSEUDO_HESID", 32), "csds_person_id": ("Person_ID", 20),
           "mhsds_person_id": ("Person_ID", 20)}  # fmt: skip
#: Shipped mappings whose files carry a COST column, and the local copy that reads it.
COSTED = ("hes_apc", "hes_op", "csds_contacts", "mhsds_contacts")
#: Tables with no national layout, written with canonical headers.
CANONICAL = ("organisation", "footprint", "lsoa", "practice", "gp_appointment",
             "programme_enrolment", "programme_rollout")  # fmt: skip

STEPS = ("people and pseudonyms", "GP register", "GP coded events", "HES APC episodes",
         "HES outpatients", "ECDS", "community contacts", "social care (CLD)",
         "feedback (FFT)", "canonical tables", "key bridges and mappings")  # fmt: skip


@dataclass
class Extracts:
    """What :func:`write_extracts` wrote."""

    folder: Path
    files: list[Path] = field(default_factory=list)  # the extracts, in load order
    rows: dict[str, int] = field(default_factory=dict)  # file name -> data rows
    bridges: dict[str, Path] = field(default_factory=dict)  # scheme -> bridge CSV
    mappings: list[Path] = field(default_factory=list)  # local mappings beside them


@dataclass
class ExtractLoad:
    """What :func:`load_extracts` loaded: bridges, the ingest reports, the registers."""

    bridges: dict[str, int]  # scheme -> pairs in the key bridge
    reports: list  # joinedup.ingest.pipeline.FileReport
    registers: object  # joinedup.derived.registers.RegisterLoad


def _rng(seed: int, part: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(part.encode())])


def pseudonyms(nhs_numbers: list[str], seed: int) -> dict[str, list[str]]:
    """Each NHS number's pseudonym in every scheme of SCHEMES: one keyed hash
    (HMAC-SHA512, key derived from ``seed``) per number, as upper-case hex, cut into a
    pseudonym per scheme (as long as the scheme's keys are): the same number and seed,
    the same pseudonyms; no pseudonym says anything of another or of the number."""
    key = hashlib.sha256(f"joinedup synthetic extracts, seed {seed}".encode()).digest()
    base = hmac.new(key, digestmod=hashlib.sha512)
    spans, at = [], 0
    for _, length in SCHEMES.values():
        spans.append((at, at + length))
        at += length
    out: dict[str, list[str]] = {scheme: [] for scheme in SCHEMES}
    lists = list(out.values())
    for n in nhs_numbers:
        h = base.copy()
        h.update(n.encode())
        text = h.hexdigest().upper()
        for target, (a, b) in zip(lists, spans, strict=True):
            target.append(text[a:b])
    return out


def _open(source) -> tuple[duckdb.DuckDBPyConnection, bool]:
    """A connection whose default tables are the economy's (and whether we opened it)."""
    if isinstance(source, duckdb.DuckDBPyConnection):
        return source, False
    path = Path(source)
    if not path.is_file():
        raise FileNotFoundError(f"no warehouse at {path}")
    con = duckdb.connect()
    con.execute(f"ATTACH '{_quoted(path)}' AS economy (READ_ONLY)")
    con.execute("USE economy")
    return con, True


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")


def _copy(
    con: duckdb.DuckDBPyConnection,
    query: str,
    path: Path,
    parameters: dict | None = None,
    *,
    delimiter: str = ",",
) -> int:
    """Write the rows of ``query`` to ``path`` (CSV with a header, or Parquet); returns
    how many. Nulls are written as empty fields."""
    if path.suffix == ".parquet":
        options = "FORMAT parquet, COMPRESSION zstd"
    else:
        options = f"FORMAT csv, HEADER, DELIMITER '{delimiter}'"
    result = con.execute(f"COPY ({query}) TO '{_quoted(path)}' ({options})", parameters)
    result = result.fetchone()
    return int(result[0]) if result else 0


def _days(values: pd.Series) -> np.ndarray:
    """Dates as day numbers (NaT -> a very negative number)."""
    return values.to_numpy(dtype="datetime64[D]").astype(np.int64)


def _text_dates(days: np.ndarray, missing: np.ndarray | None = None) -> np.ndarray:
    out = days.astype("datetime64[D]").astype(str).astype(object)
    if missing is not None:
        out[missing] = None
    return out


def _hes_age(days_old: np.ndarray) -> np.ndarray:
    """Age as HES writes it (STARTAGE, APPTAGE): whole years, or 7001-7007 in the first
    year (under a day, 1-6 days, 7-28 days, to 3, 6, 9 and 12 months)."""
    years = np.floor(np.maximum(days_old, 0) / 365.25).astype(np.int64)
    infant = 7001 + np.searchsorted([1, 7, 29, 91, 182, 273], np.maximum(days_old, 0), "right")
    return np.where(years >= 1, years, infant)


def write_extracts(
    source,
    reid_store: Path,
    folder: Path,
    *,
    seed: int = 42,
    show_progress: bool = False,
) -> Extracts:
    """Write the economy in ``source`` (a warehouse file, or a DuckDB connection whose
    tables are the canonical ones) as national-layout extracts in ``folder``.

    ``reid_store`` is the economy's re-identification store (the NHS numbers behind its
    person ids). ``seed`` sets the pseudonym keys and every draw (episodes, dates of
    birth, coded events). Files the folder already holds under the same names are
    replaced. Returns the files written (see the module docstring for what each holds).
    """
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from joinedup.ingest.pseudonymise import ReidentificationStore

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = Extracts(folder)
    con, own = _open(source)
    columns = (TextColumn("{task.description:<34}"), BarColumn(), TimeElapsedColumn())
    try:
        with Progress(*columns, disable=not show_progress, transient=False) as progress:
            task = progress.add_task("writing extracts", total=len(STEPS))

            def step(name: str, write: Callable[[], None]) -> None:
                progress.update(task, description=name)
                write()
                progress.advance(task)

            ctx: dict = {}

            def people() -> None:
                ctx["people"] = _people(con, ReidentificationStore(Path(reid_store)), seed)
                con.register("_p", ctx["people"])
                ctx["start"], ctx["end"] = _window(con)

            def register(rows: int, path: Path) -> None:
                out.files.append(path)
                out.rows[path.name] = rows

            step("people and pseudonyms", people)
            step("GP register", lambda: register(*_gp_register(con, folder)))
            step(
                "GP coded events",
                lambda: [register(*r) for r in _gp_events(con, ctx, seed, folder)],
            )
            step("HES APC episodes", lambda: register(*_hes_apc(con, ctx, seed, folder)))
            step("HES outpatients", lambda: register(*_hes_op(con, folder)))
            step("ECDS", lambda: register(*_ecds(con, folder)))
            step(
                "community contacts", lambda: [register(*r) for r in _community(con, seed, folder)]
            )
            step("social care (CLD)", lambda: register(*_cld(con, folder)))
            step("feedback (FFT)", lambda: [register(*r) for r in _feedback(con, folder)])
            step("canonical tables", lambda: [register(*r) for r in _canonical(con, folder)])

            def bridges_and_mappings() -> None:
                out.bridges = _bridges(con, folder / "bridges")
                out.mappings = [_costed_mapping(name, folder) for name in COSTED]
                _readme(folder, out)

            step("key bridges and mappings", bridges_and_mappings)
    finally:
        if own:
            con.close()
        else:
            con.unregister("_p")
    return out


def _people(con: duckdb.DuckDBPyConnection, store, seed: int) -> pa.Table:
    """Each person's NHS number, pseudonyms, date of birth and codes, in person_id order."""
    p = con.execute(
        "SELECT person_id, year_of_birth, sex, ethnicity, lsoa_code, practice_code, "
        "registered_from FROM person ORDER BY person_id"
    ).fetch_df()
    nhs = store.lookup(p.person_id.tolist())
    missing = [i for i in p.person_id if i not in nhs]
    if missing:
        raise ValueError(
            f"{store.path}: no NHS number for {len(missing):,} of {len(p):,} people "
            f"(first: {missing[0]}); give the economy's re-identification store"
        )
    numbers = [nhs[i] for i in p.person_id]
    rng = _rng(seed, "dates-of-birth")
    yob = p.year_of_birth.to_numpy(np.int64)
    jan1 = (yob - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)
    length = (yob + 1 - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(
        np.int64
    ) - jan1
    dob = jan1 + (rng.random(len(p)) * length).astype(np.int64)
    registered = _days(p.registered_from)
    dob = np.where(registered < jan1 + length, np.minimum(dob, registered), dob)
    data = {
        "person_id": pa.array(p.person_id, pa.string()),
        "nhs_number": pa.array(numbers, pa.string()),
        "dob": pa.array(dob.astype("datetime64[D]"), pa.date32()),
        "sex_code": pa.array(p.sex.map({"M": "1", "F": "2"}).fillna("9"), pa.string()),
        "ethnicity": pa.array(p.ethnicity, pa.string()),
        "lsoa_code": pa.array(p.lsoa_code, pa.string()),
        "practice_code": pa.array(p.practice_code, pa.string()),
    }
    for scheme, values in pseudonyms(numbers, seed).items():
        data[scheme] = pa.array(values, pa.string())
    return pa.table(data)


def _window(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """The first and last days of the economy's activity (day numbers): the extracts
    are taken on its last day."""
    start, end = con.execute(
        "SELECT least((SELECT min(date) FROM gp_appointment), "
        "(SELECT min(admitted_on) FROM apc_spell)), "
        "greatest((SELECT max(date) FROM gp_appointment), (SELECT max(admitted_on) FROM apc_spell))"
    ).fetchone()
    return (start - date(1970, 1, 1)).days, (end - date(1970, 1, 1)).days


def _gp_register(con: duckdb.DuckDBPyConnection, folder: Path) -> tuple[int, Path]:
    """The practices' registration list (gp_register), saved from a spreadsheet: UTF-8
    with a byte order mark, UK dates."""
    path = folder / "gp_register.csv"
    rows = _copy(
        con,
        """SELECT p.nhs_number AS NHS_NUMBER, strftime(p.dob, '%d/%m/%Y') AS DATE_OF_BIRTH,
                  p.sex_code AS SEX, r.ethnicity AS ETHNIC_CATEGORY, r.lsoa_code AS LSOA_CODE,
                  r.imd_decile AS IMD_DECILE, r.practice_code AS PRACTICE_CODE,
                  strftime(r.registered_from, '%d/%m/%Y') AS REGISTRATION_START,
                  strftime(r.registered_to, '%d/%m/%Y') AS REGISTRATION_END,
                  strftime(r.date_of_death, '%d/%m/%Y') AS DATE_OF_DEATH,
                  r.place_of_death AS PLACE_OF_DEATH
           FROM person r JOIN _p p USING (person_id)
           ORDER BY r.practice_code, p.nhs_number""",
        path,
    )
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    return rows, path


def _gp_events(con, ctx: dict, seed: int, folder: Path) -> list[tuple[int, Path]]:
    """GP coded events (gp_events) from which the QOF rules give back the economy's
    registers, and a register extract (gp_condition_register) of those they cannot."""
    from joinedup.derived.registers import load_rules
    from joinedup.schema.codes import CONDITION_SNOMED

    rules = load_rules()
    rng = _rng(seed, "gp-events")
    end = ctx["end"]
    people = con.execute(
        "SELECT p.person_id, p.nhs_number, p.practice_code, p.dob, r.registered_to, "
        "r.date_of_death FROM _p p JOIN person r USING (person_id) ORDER BY p.person_id"
    ).fetch_df()
    index = pd.Series(np.arange(len(people)), index=people.person_id)
    born = _days(people.dob)
    last = np.minimum.reduce([
        np.where(people.registered_to.isna(), end, _days(people.registered_to)),
        np.where(people.date_of_death.isna(), end, _days(people.date_of_death)),
        np.full(len(people), end),
    ])  # fmt: skip
    # a register entry is in the extract when it was recorded by the day the extract was
    # taken, while the person was registered and alive
    recorded = (
        "c.recorded_on <= least(coalesce(r.registered_to, $end), coalesce(r.date_of_death, "
        "$end), $end)"
    )
    end_date = np.datetime64(end, "D").item()
    cond = con.execute(
        "SELECT c.person_id, c.condition, c.code, c.recorded_on FROM condition c "
        f"JOIN person r USING (person_id) WHERE {recorded} "
        "ORDER BY c.condition, c.person_id, c.recorded_on",
        {"end": end_date},
    ).fetch_df()
    derivable = cond.condition.isin(list(rules.rules))
    # codes of any register's diagnosis clusters: a resolved code among them would put
    # someone on another register, so resolutions are coded with the others
    diagnosis_codes = set().union(
        *(rules.clusters[c].codes for rule in rules.rules.values() for c in rule.diagnosis)
    )
    events: list[pd.DataFrame] = []

    def add(who: np.ndarray, day: np.ndarray, code: np.ndarray, value=None) -> None:
        events.append(pd.DataFrame({
            "who": who, "day": day, "code": code,
            "value": np.full(len(who), None, object) if value is None else value,
        }))  # fmt: skip

    for condition, rule in rules.rules.items():
        rows = cond[derivable & (cond.condition == condition)]
        who = index[rows.person_id].to_numpy()
        day = _days(rows.recorded_on)
        cluster = sorted(set().union(*(rules.clusters[c].codes for c in rule.diagnosis)))
        code = _diagnosis_codes(rng, condition, rows.code.to_numpy(), cluster)
        add(who, day, code)
        # a later repeat of the diagnosis (a review, a letter coded again)
        again = (rng.random(len(who)) < REPEAT_SHARE) & (last[who] > day)
        add(who[again], _between(rng, day[again] + 1, last[who[again]]), code[again])
        if condition == "hypertension":
            _readings(rng, who, np.maximum(day, ctx["start"]), last[who], add)
        resolved = set().union(*(rules.clusters[c].codes for c in rule.resolved))
        resolved = sorted(resolved - diagnosis_codes)
        if not resolved:
            continue
        # an earlier episode, diagnosed and resolved before the current one began
        floor = born[who] + 366
        earlier = (rng.random(len(who)) < EARLIER_EPISODE_SHARE) & (day - floor >= 2)
        w, d = who[earlier], day[earlier]
        first = _between(rng, floor[earlier], d - 2)
        add(w, first, code[earlier])
        add(w, _between(rng, first + 1, d - 1), _pick(rng, resolved, len(w)))
        # people whose diagnosis was resolved: on no register
        share = RESOLVED_SHARE.get(condition, 0.0)
        others = np.setdiff1d(np.arange(len(people)), who)
        room = last[others] - (born[others] + 366) >= 2
        chosen = others[room & (rng.random(len(others)) < share)]
        start = _between(rng, born[chosen] + 366, last[chosen] - 1)
        usual = np.full(len(chosen), CONDITION_SNOMED.get(condition, ""), object)
        add(chosen, start, _diagnosis_codes(rng, condition, usual, cluster))
        add(chosen, _between(rng, start + 1, last[chosen]), _pick(rng, resolved, len(chosen)))
    every = pd.concat(events, ignore_index=True)
    frame = pd.DataFrame(
        {
            "NHS_NUMBER": people.nhs_number.to_numpy()[every.who],
            "PRACTICE": people.practice_code.to_numpy()[every.who],
            "DATE": _text_dates(every.day.to_numpy()),
            "CODE": every.code.to_numpy(),
            "VALUE1_CONDITION": every.value.to_numpy(),
        }
    ).sort_values(["PRACTICE", "NHS_NUMBER", "DATE", "CODE"], kind="stable")
    con.register("_events", pa.Table.from_pandas(frame, preserve_index=False))
    events_path = folder / "gp_events.csv"
    n_events = _copy(con, "SELECT * FROM _events", events_path)
    con.unregister("_events")
    # registers the rules cannot derive, as the practices' register extract
    con.register(
        "_registers",
        pa.table({"condition": list(rules.registers), "register": list(rules.registers.values())}),
    )
    register_path = folder / "gp_condition_register.csv"
    wanted = ", ".join(f"'{c}'" for c in rules.registers if c not in rules.rules) or "NULL"
    n_register = _copy(
        con,
        f"""SELECT p.nhs_number AS NHS_NUMBER, g.register AS REGISTER, c.code AS SNOMED_CODE,
                   strftime(c.recorded_on, '%Y-%m-%d') AS DATE_RECORDED
            FROM condition c JOIN _p p USING (person_id) JOIN _registers g USING (condition)
            JOIN person r USING (person_id)
            WHERE c.condition IN ({wanted}) AND {recorded}
            ORDER BY g.register, p.nhs_number""",
        register_path,
        {"end": end_date},
    )
    con.unregister("_registers")
    return [(n_events, events_path), (n_register, register_path)]


def _diagnosis_codes(rng, condition: str, economy: np.ndarray, cluster: list[str]) -> np.ndarray:
    """The code each register entry is recorded with: the economy's where the diagnosis
    cluster holds it, otherwise a cluster code (DIAGNOSIS_CODES, or the first)."""
    known = set(cluster)
    listed = zip(*DIAGNOSIS_CODES.get(condition, ((), ())), strict=True)
    usable = [(c, w) for c, w in listed if c in known] or [(cluster[0], 1.0)]
    codes = tuple(c for c, _ in usable)
    weights = np.array([w for _, w in usable], float)
    chosen = np.array(codes, object)[
        rng.choice(len(codes), len(economy), p=weights / weights.sum())
    ]
    return np.where(np.isin(economy, list(known)), economy, chosen).astype(object)


def _between(rng, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """A day drawn evenly from each [low, high] (high below low gives low)."""
    span = np.maximum(np.asarray(high) - np.asarray(low), 0) + 1
    return np.asarray(low) + (rng.random(len(span)) * span).astype(np.int64)


def _pick(rng, codes: list[str], n: int) -> np.ndarray:
    return np.array(codes, object)[rng.integers(0, len(codes), n)]


def _readings(rng, who, start, stop, add) -> None:
    """Systolic blood pressure readings of people with hypertension, about one a year
    from ``start`` (or diagnosis) to ``stop``."""
    years = np.maximum(stop - start, 0) / 365.25
    count = rng.poisson(years)
    w = np.repeat(who, count)
    lo, hi = np.repeat(start, count), np.repeat(stop, count)
    value = np.array([f"{v:.0f}" for v in rng.normal(138, 14, len(w))], object)
    add(w, _between(rng, lo, hi), np.full(len(w), SYSTOLIC_BP, object), value)


def _hes_apc(con, ctx: dict, seed: int, folder: Path) -> tuple[int, Path]:
    """HES admitted patient care, one row per consultant episode (hes_apc), pipe
    delimited as HES extracts come; a COST column for hes_apc_costed."""
    rng = _rng(seed, "hes-apc-episodes")
    s = con.execute(
        """SELECT s.spell_id, s.provider_code, s.site_code, s.admitted_on, s.discharged_on,
                  s.admission_method, s.patient_classification, s.admission_source,
                  s.discharge_destination, s.specialty, s.primary_procedure, s.cost,
                  p.hesid, p.dob, p.sex_code, p.ethnicity, p.lsoa_code, p.practice_code
           FROM apc_spell s JOIN _p p USING (person_id) ORDER BY s.spell_id"""
    ).fetch_df()
    d = con.execute(
        "SELECT spell_id, icd10 FROM apc_diagnosis ORDER BY spell_id, episode NULLS FIRST, position"
    ).fetch_df()
    n = len(s)
    spell_index = pd.Series(np.arange(n), index=s.spell_id)
    si = spell_index[d.spell_id].to_numpy()
    m = np.bincount(si, minlength=n)
    admitted = _days(s.admitted_on)
    finished = s.discharged_on.notna().to_numpy()
    los = np.where(finished, _days(s.discharged_on) - admitted, 0)
    emergency = s.admission_method.str.startswith("2").to_numpy()
    eligible = emergency & finished & (los >= 1) & (m >= 2)
    share = min(1.0, MULTI_EPISODE_SHARE * emergency.sum() / max(eligible.sum(), 1))
    draw = rng.random((n, 4))
    k = np.where(eligible & (draw[:, 0] < share),
                 np.where((m >= 3) & (draw[:, 1] < THREE_EPISODE_SHARE), 3, 2), 1)  # fmt: skip
    c1 = (draw[:, 2] * (los + 1)).astype(np.int64)
    c2 = (draw[:, 3] * (los + 1)).astype(np.int64)
    cuts = np.where(k[:, None] == 3, np.sort(np.c_[c1, c2], axis=1), np.c_[c1, c1])
    # episode rows
    e_spell = np.repeat(np.arange(n), k)
    first_row = np.cumsum(k) - k
    j = np.arange(len(e_spell)) - first_row[e_spell]
    kk = k[e_spell]
    bounds = np.c_[np.zeros(n, np.int64), cuts, los]  # 0, cut1, cut2, los
    start_off = np.where(j == 0, 0, bounds[e_spell, np.minimum(j, 2)])
    end_off = np.where(j == kk - 1, los[e_spell],
                       bounds[e_spell, np.minimum(j + 1, 2)])  # fmt: skip
    last = j == kk - 1
    epistart = admitted[e_spell] + start_off
    epiend = admitted[e_spell] + end_off
    open_end = last & ~finished[e_spell]
    # diagnoses shared out in order over the spell's episodes
    idx = np.arange(len(d)) - (np.cumsum(m) - m)[si]
    q, r = m[si] // k[si], m[si] % k[si]
    big = r * (q + 1)
    q1 = np.maximum(q, 1)
    ep = np.where(idx < big, idx // (q + 1), r + (idx - big) // q1)
    pos = np.where(idx < big, idx % (q + 1), (idx - big) % q1)
    code = d.icd10.to_numpy().astype(str)
    code = np.where(np.char.str_len(code) == 3, np.char.add(code, "X"), code)
    diag = np.full((len(e_spell), 20), None, object)
    keep = pos < 20
    diag[first_row[si][keep] + ep[keep], pos[keep]] = code[keep]
    # cost over the episodes, in pence (the first takes the remainder)
    pence = np.round(s.cost.to_numpy(float) * 100)
    part = np.floor(pence / k)
    cost = np.where(j == 0, pence[e_spell] - part[e_spell] * (kk - 1), part[e_spell]) / 100
    cost_text = np.array([f"{c:.2f}" for c in cost], object)
    cost_text[np.isnan(cost)] = None
    later = np.array(LATER_SPECIALTIES, object)
    pick = rng.integers(0, len(later), len(e_spell))
    first_spec = s.specialty.to_numpy(object)[e_spell]
    alt = later[pick]
    alt = np.where(alt == first_spec, later[(pick + 1) % len(later)], alt)
    procedure = s.primary_procedure.to_numpy(object)[e_spell]
    procedure = np.where((j == 0) & pd.notna(procedure), procedure, "-")
    ended = np.where(open_end, epistart, epiend)
    fyear = ended.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    fy_start = (fyear // 12) + 1970 - (fyear % 12 < 3)
    born = _days(s.dob)[e_spell]
    cols: dict[str, object] = {
        "FYEAR": np.array([f"{y % 100:02d}{(y + 1) % 100:02d}" for y in fy_start], object),
        "EPIKEY": np.array([f"{600000000000 + i:012d}" for i in range(len(e_spell))], object),
        "PSEUDO_HESID": s.hesid.to_numpy(object)[e_spell],
        "ADMIDATE": _text_dates(admitted[e_spell]),
        "ADMIMETH": s.admission_method.to_numpy(object)[e_spell],
        "ADMISORC": s.admission_source.to_numpy(object)[e_spell],
        "CLASSPAT": s.patient_classification.to_numpy(object)[e_spell],
    }
    for c in range(20):
        cols[f"DIAG_4_{c + 1:02d}"] = diag[:, c]
    cols.update({
        "DISDATE": _text_dates(epiend, ~(last & finished[e_spell])),
        "DISDEST": np.where(last, s.discharge_destination.to_numpy(object)[e_spell], "98"),
        "EPIEND": _text_dates(epiend, open_end),
        "EPIORDER": np.array([f"{x:02d}" for x in j + 1], object),
        "EPISTART": _text_dates(epistart),
        "EPISTAT": np.where(open_end, "1", "3").astype(object),
        "ETHNOS": s.ethnicity.to_numpy(object)[e_spell],
        "GPPRAC": s.practice_code.to_numpy(object)[e_spell],
        "LSOA11": s.lsoa_code.to_numpy(object)[e_spell],
        "MAINSPEF": np.where(j == 0, first_spec, alt),
        "OPERTN_4_01": procedure,
    })  # fmt: skip
    for c in range(2, 25):
        cols[f"OPERTN_4_{c:02d}"] = np.full(len(e_spell), None, object)
    cols.update({
        "PROCODE3": s.provider_code.to_numpy(object)[e_spell],
        "SEX": s.sex_code.to_numpy(object)[e_spell],
        "SITETRET": s.site_code.to_numpy(object)[e_spell],
        "STARTAGE": _hes_age(epistart - born).astype(str).astype(object),
        "COST": cost_text,
    })  # fmt: skip
    table = pa.table({k_: pa.array(v, pa.string()) for k_, v in cols.items()})
    path = folder / "hes_apc.txt"
    con.register("_apc", table)
    rows = _copy(con, "SELECT * FROM _apc", path, delimiter="|")
    con.unregister("_apc")
    return rows, path


_AGE_SQL = """CASE WHEN d - dob >= 365.25 THEN CAST(floor((d - dob) / 365.25) AS INTEGER)
    ELSE 7001 + (d - dob >= 1)::INT + (d - dob >= 7)::INT + (d - dob >= 29)::INT
         + (d - dob >= 91)::INT + (d - dob >= 182)::INT + (d - dob >= 273)::INT END"""


def _hes_op(con, folder: Path) -> tuple[int, Path]:
    """HES outpatient appointments (hes_op), pipe delimited; FIRSTATT says first or
    follow-up, face to face (1, 2) or telephone / telemedicine (3, 4)."""
    path = folder / "hes_op.txt"
    age = _AGE_SQL.replace("d - dob", "(o.date - p.dob)")
    rows = _copy(
        con,
        f"""SELECT o.appointment_id AS ATTENDKEY, p.hesid AS PSEUDO_HESID,
                   o.provider_code AS PROCODE3, strftime(o.date, '%Y-%m-%d') AS APPTDATE,
                   o.specialty AS TRETSPEF,
                   CASE WHEN o.medium IN ('telephone', 'video')
                        THEN CASE WHEN o.first_attendance THEN '3' ELSE '4' END
                        ELSE CASE WHEN o.first_attendance THEN '1' ELSE '2' END END AS FIRSTATT,
                   o.attended AS ATTENDED, CAST({age} AS VARCHAR) AS APPTAGE,
                   p.sex_code AS SEX, p.ethnicity AS ETHNOS, p.lsoa_code AS LSOA11,
                   p.practice_code AS GPPRAC, printf('%.2f', o.cost) AS COST
            FROM op_appointment o JOIN _p p USING (person_id)
            ORDER BY o.appointment_id""",
        path,
        delimiter="|",
    )
    return rows, path


def _code_table(con, name: str, codes: dict[str, str]) -> None:
    """Register canonical code -> the layout's code as table ``name`` (code, source)."""
    con.register(name, pa.table({"code": list(codes), "source": list(codes.values())}))


def _ecds(con, folder: Path) -> tuple[int, Path]:
    """Emergency Care Data Set attendances keyed by NHS number (ecds), SNOMED CT arrival
    modes and discharge destinations, date and time apart."""
    path = folder / "ecds.csv"
    _code_table(con, "_arrival", ECDS_ARRIVAL)
    _code_table(con, "_destination", ECDS_DESTINATION)
    rows = _copy(
        con,
        """SELECT a.attendance_id AS EC_IDENT, p.nhs_number AS NHS_NUMBER,
                  a.provider_code AS ORG_CODE_PROVIDER, a.site_code AS SITE_CODE_OF_TREATMENT,
                  strftime(a.arrived_at, '%Y-%m-%d') AS ARRIVAL_DATE,
                  strftime(a.arrived_at, '%H:%M:%S') AS ARRIVAL_TIME,
                  strftime(a.departed_at, '%Y-%m-%d') AS EC_DEPARTURE_DATE,
                  strftime(a.departed_at, '%H:%M:%S') AS EC_DEPARTURE_TIME,
                  lpad(CAST(a.department_type AS VARCHAR), 2, '0') AS EC_DEPARTMENT_TYPE,
                  m.source AS EC_ARRIVAL_MODE_SNOMED_CT,
                  d.source AS DISCHARGE_DESTINATION_SNOMED_CT,
                  printf('%.2f', a.cost) AS COST
           FROM ae_attendance a JOIN _p p USING (person_id)
           LEFT JOIN _arrival m ON m.code = a.arrival_mode
           LEFT JOIN _destination d ON d.code = a.disposal
           ORDER BY a.attendance_id""",
        path,
    )
    con.unregister("_arrival")
    con.unregister("_destination")
    return rows, path


def _community(con, seed: int, folder: Path) -> list[tuple[int, Path]]:
    """Community contacts: CSDS care contacts with the referral's team type
    (csds_contacts), and community mental health contacts from MHSDS (mhsds_contacts),
    each keyed by its data set's Person_ID, with a COST column."""
    rng = _rng(seed, "csds-team-types")
    contacts = con.execute(
        "SELECT c.service, c.provider_code, c.date, c.team, c.cost, p.csds_person_id, "
        "p.mhsds_person_id FROM community_contact c JOIN _p p USING (person_id) "
        "ORDER BY c.date, p.nhs_number, c.service, c.team"
    ).fetch_arrow_table()
    service = contacts["service"].to_numpy(zero_copy_only=False)
    team_type = np.full(len(service), None, object)
    for name, (codes, weights) in CSDS_TEAM_TYPES.items():
        rows = service == name
        w = np.array(weights) / sum(weights)
        team_type[rows] = np.array(codes, object)[rng.choice(len(codes), rows.sum(), p=w)]
    mental = service == "community_mental_health"
    con.register(
        "_contacts",
        contacts.append_column("team_type", pa.array(team_type, pa.string()))
        .append_column("mental", pa.array(mental))
        .append_column("_i", pa.array(np.arange(len(service)))),
    )
    out = []
    for name, query in (
        (
            "csds_care_contacts.csv",
            """SELECT csds_person_id AS Person_ID, provider_code AS OrgID_Provider,
                      'CC' || lpad(CAST(row_number() OVER (ORDER BY _i) AS VARCHAR), 10, '0')
                          AS CareContactID,
                      strftime(date, '%Y-%m-%d') AS Contact_Date, team AS TeamID_Local,
                      team_type AS TeamType, '5' AS AttendanceStatus,
                      printf('%.2f', cost) AS COST
               FROM _contacts WHERE NOT mental ORDER BY _i""",
        ),
        (
            "mhsds_mhs201_contacts.csv",
            """SELECT mhsds_person_id AS Person_ID, provider_code AS OrgIDProv,
                      'MH' || lpad(CAST(row_number() OVER (ORDER BY _i) AS VARCHAR), 10, '0')
                          AS UniqCareContID,
                      strftime(date, '%Y-%m-%d') AS CareContDate, team AS CareProfTeamLocalId,
                      '5' AS AttendOrDNACode, printf('%.2f', cost) AS COST
               FROM _contacts WHERE mental ORDER BY _i""",
        ),
    ):
        out.append((_copy(con, query, folder / name), folder / name))
    con.unregister("_contacts")
    return out


def _reverse(mapping: str, column: str, also: int | None = None) -> dict[str, str]:
    """Canonical code -> the layout's code, from a shipped mapping (first one wins)."""
    from joinedup.ingest.mapping import load_mapping

    m = load_mapping(mapping)
    target = m.target if also is None else m.also[also]
    out: dict[str, str] = {}
    for source, canonical in target.columns[column].codes.items():
        if canonical is not None:
            out.setdefault(canonical, source)
    return out


def _cld(con, folder: Path) -> tuple[int, Path]:
    """Adult social care client level data (social_care_cld): service events with the
    client's gender and ethnicity, UK dates and costs in pounds as a council's
    spreadsheet export writes them (Windows-1252)."""
    ethnicity = _reverse("social_care_cld", "ethnicity", also=0)
    rows = con.execute(
        """SELECT p.nhs_number, c.service_type, c.started_on, c.ended_on, c.weekly_cost,
                  p.sex_code, p.ethnicity
           FROM social_care_service c JOIN _p p USING (person_id)
           ORDER BY c.started_on, p.nhs_number, c.service_type"""
    ).fetchall()
    gender = {"1": "Male", "2": "Female"}
    path = folder / "social_care_cld.csv"
    with open(path, "w", newline="", encoding="cp1252") as f:
        w = csv.writer(f)
        w.writerow(["NHS_Number", "Event_Type", "Service_Type", "Delivery_Mechanism",
                    "Event_Start_Date", "Event_End_Date", "Weekly_Cost", "Gender",
                    "Ethnicity"])  # fmt: skip
        for nhs, service, start, end, cost, sex, eth in rows:
            w.writerow([
                nhs, "Service", *CLD_SERVICE[service], f"{start:%d/%m/%Y}",
                "" if end is None else f"{end:%d/%m/%Y}",
                "" if cost is None else f"£{cost:,.2f}", gender.get(sex, ""),
                ethnicity.get(eth, ""),
            ])  # fmt: skip
    return len(rows), path


def _feedback(con, folder: Path) -> list[tuple[int, Path]]:
    """Friends and Family Test answers (fft; anonymous ones without an NHS number) and
    the other instruments (PROMs, activation, confidence) with canonical headers."""
    _code_table(con, "_setting", _reverse("fft", "setting"))
    _code_table(con, "_rating", _reverse("fft", "answer_code"))
    fft = folder / "fft.csv"
    n_fft = _copy(
        con,
        """SELECT f.response_id AS Response_ID, p.nhs_number AS NHS_Number,
                  s.source AS Service, f.provider_code AS Organisation_Code,
                  strftime(f.responded_on, '%d/%m/%Y') AS Response_Date, r.source AS Rating,
                  f.comment AS Comment
           FROM feedback_response f LEFT JOIN _p p USING (person_id)
           LEFT JOIN _setting s ON s.code = f.setting
           LEFT JOIN _rating r ON r.code = f.answer_code
           WHERE f.instrument = 'fft' ORDER BY f.response_id""",
        fft,
    )
    con.unregister("_setting")
    con.unregister("_rating")
    other = folder / "feedback_response.csv"
    n_other = _copy(
        con,
        """SELECT f.response_id, p.nhs_number, f.instrument, f.setting, f.provider_code,
                  f.responded_on, f.answer_code, f.score, f.timing, f.comment
           FROM feedback_response f LEFT JOIN _p p USING (person_id)
           WHERE f.instrument <> 'fft' ORDER BY f.response_id""",
        other,
    )
    return [(n_fft, fft), (n_other, other)]


def _canonical(con, folder: Path) -> list[tuple[int, Path]]:
    """Tables with no national layout, with canonical headers (``nhs_number`` for the
    person): reference tables as CSV, GP appointments as Parquet."""
    from joinedup.schema import TABLES

    out = []
    for name in CANONICAL:
        table = TABLES[name]
        cols = [
            "p.nhs_number" if (c == "person_id" and table.person_level) else f"t.{c}"
            for c in table.column_names
        ]
        join = " JOIN _p p USING (person_id)" if table.person_level else ""
        order = ", ".join(cols)
        path = folder / (f"{name}.parquet" if name == "gp_appointment" else f"{name}.csv")
        rows = _copy(con, f"SELECT {', '.join(cols)} FROM {name} t{join} ORDER BY {order}", path)
        out.append((rows, path))
    return out


def _bridges(con, folder: Path) -> dict[str, Path]:
    """One CSV per pseudonym scheme: NHS number and pseudonym pairs."""
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for scheme, (column, _) in SCHEMES.items():
        path = folder / f"{scheme}.csv"
        query = f"SELECT nhs_number AS NHS_NUMBER, {scheme} AS {column} FROM _p ORDER BY 1"
        _copy(con, query, path)
        out[scheme] = path
    return out


def _costed_mapping(name: str, folder: Path) -> Path:
    """A copy of the shipped mapping ``name`` that also reads the file's COST column
    (summed over a spell's episodes), written beside the extracts."""
    from joinedup.ingest.mapping import shipped_mappings

    doc = yaml.safe_load(shipped_mappings()[name].read_text())
    doc["name"] = f"{name}_costed"
    doc["description"] = f"{doc['description']}; with COST, the partnership's cost of each row"
    doc["columns"]["cost"] = {"column": "COST", "optional": True}
    if "episodes" in doc:
        doc["episodes"]["total"] = ["cost"]
    path = folder / f"{name}_costed.yaml"
    header = (
        f"# The shipped mapping {name}, and COST: the partnership's own costing of each row\n"
        "# (not a national field; summed over a spell's episodes). Written by joinedup\n"
        "# synth --extracts; ingest finds it beside the extracts and prefers it to the\n"
        "# shipped mapping because it reads one more of the file's columns.\n"
    )
    path.write_text(header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
    return path


def _readme(folder: Path, out: Extracts) -> None:
    lines = [
        "# The synthetic economy's extracts",
        "",
        "Written by `joinedup synth --extracts`: the synthetic economy as the files partners",
        "send, in national layouts (docs/ingest.md, \"The demo's extracts\"). Load them with",
        "the economy's key:",
        "",
        "```bash",
        *[f"joinedup keys bridge {p.relative_to(folder)} --scheme {s} --key-file KEY"
          for s, p in out.bridges.items()],
        "joinedup ingest . --warehouse WAREHOUSE --key-file KEY",
        "joinedup registers derive --warehouse WAREHOUSE",
        "```",
        "",
        "| file | rows |",
        "|---|---|",
        *[f"| {p.name} | {out.rows[p.name]:,} |" for p in out.files],
        "",
    ]  # fmt: skip
    (folder / "README.md").write_text("\n".join(lines))


def load_extracts(
    folder: Path,
    warehouse: Path,
    *,
    key_file: Path,
    reid_store: Path | None = None,
    on_rows: Callable[[str, int], None] | None = None,
) -> ExtractLoad:
    """Load a folder :func:`write_extracts` wrote, as real extracts load: the key bridges
    (``joinedup keys bridge``), every file with the mapping its header calls for
    (``joinedup ingest FOLDER``), then the QOF registers from the coded events
    (``joinedup registers derive``). ``key_file`` must be the economy's key for person
    ids to match the economy's; the bridge is kept beside ``reid_store``."""
    from joinedup.derived.registers import load_registers
    from joinedup.ingest import ingest
    from joinedup.ingest.keys import bridge_beside
    from joinedup.ingest.pseudonymise import reid_store_path
    from joinedup.warehouse import open_warehouse

    folder = Path(folder)
    store = reid_store_path(Path(key_file), reid_store)
    # an ingest of the folder loads its bridges (bridges/<scheme>.csv) first
    reports = ingest(
        [folder], warehouse=warehouse, key_file=key_file, reid_store=store, on_rows=on_rows
    )
    bridges = bridge_beside(store).schemes()
    with open_warehouse(warehouse) as wh:
        registers = load_registers(wh)
    return ExtractLoad(bridges, reports, registers)
