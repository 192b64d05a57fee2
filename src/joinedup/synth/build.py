"""Generate the whole synthetic economy and write Parquet files, truth.json and a warehouse."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from joinedup import __version__
from joinedup.ingest.pseudonymise import ReidentificationStore, person_ids, write_key
from joinedup.schema import TABLES
from joinedup.synth import (
    admissions,
    ambulatory,
    feedback,
    neighbourhood,
    programme,
    social_care,
    spell_details,
)
from joinedup.synth.conditions import NAMES, build_conditions, condition_table
from joinedup.synth.config import SynthConfig
from joinedup.synth.geography import build_geography
from joinedup.synth.population import NO_END, People, build_people, draw_deaths
from joinedup.synth.timeline import choose, dates, day
from joinedup.synth.urgent_care import attendances

PLACES = ("hospital", "home", "care_home", "hospice", "other")
# Where people die, for care home residents and for everyone else (ONS 2022 overall:
# hospital 44%, home 28%, care home 20%, hospice 5%, elsewhere 3%).
PLACE_SHARE_CARE_HOME = (0.30, 0.0, 0.67, 0.01, 0.02)
PLACE_SHARE_OTHERS = (0.45, 0.30, 0.15, 0.06, 0.04)

STEPS = ("places", "people", "conditions and deaths", "social care", "hospital spells",
         "telephone care management", "integrated neighbourhood teams", "spell details",
         "A&E", "outpatients", "GP appointments", "community contacts",
         "identifiers and tables", "feedback")  # fmt: skip


@dataclass
class BuildResult:
    """Where a build wrote its files, and how many rows each table got."""

    out: Path
    warehouse_path: Path
    truth_path: Path
    parquet_files: list[Path] = field(default_factory=list)
    row_counts: dict[str, int] = field(default_factory=dict)


#: The first three digits of the synthetic NHS numbers, in the order used: 999 is the
#: published test range (no real person holds one) with about 909,000 valid numbers;
#: larger economies go on to 998, 997, ..., not issued to patients today (England issues
#: 3xx, 4xx and 6xx-7xx numbers).
NHS_NUMBER_PREFIXES = tuple(range(999, 899, -1))


def test_range_nhs_numbers(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` valid NHS numbers, from the 999 test range first (see NHS_NUMBER_PREFIXES)."""
    need = int(n * 1.15) + 20
    blocks = need // 1_000_000 + 1
    if blocks > len(NHS_NUMBER_PREFIXES):
        raise ValueError(f"{n:,} people is more than the synthetic NHS number ranges hold")
    stems = np.concatenate(
        [p * 1_000_000 + np.arange(1_000_000, dtype=np.int64) for p in NHS_NUMBER_PREFIXES[:blocks]]
    )[:need]
    digits = (stems[:, None] // 10 ** np.arange(8, -1, -1)) % 10
    check = 11 - (digits * np.arange(10, 1, -1)).sum(axis=1) % 11
    check = np.where(check == 11, 0, check)
    valid = check != 10
    numbers = (stems * 10 + check)[valid][:n]
    return rng.permutation(numbers)


def synthetic_key(seed: int) -> bytes:
    """The pseudonymisation key of a synthetic economy, derived from its seed."""
    return hashlib.sha256(f"joinedup synthetic economy, seed {seed}".encode()).digest()


def practice_effects(config: SynthConfig, n_practices: int) -> tuple[np.ndarray, list[int]]:
    """Each practice's true emergency admission rate ratio, and the planted outliers."""
    rng = config.rng("practice-effects")
    effect = np.exp(rng.normal(0, config.practice_effect_sd, n_practices))
    outliers = sorted(rng.choice(n_practices, min(config.practice_outliers, n_practices),
                                 replace=False).tolist())  # fmt: skip
    effect[outliers] *= config.practice_outlier_ratio
    return effect / effect.mean(), outliers


def generate(
    config: SynthConfig,
    step: Callable[[str], None] = lambda _: None,
    internals: dict | None = None,
) -> tuple[dict[str, pa.Table], dict, np.ndarray]:
    """All canonical tables as Arrow tables, the truth, and the people's NHS numbers.

    ``internals``, when given, receives what the tables do not show, for studies of the
    evaluation designs (benchmarks/evaluation_trace.py): ``people``, ``condition_count``,
    ``practice_effect`` (per person), ``enrolment`` (with every person's ``candidate``
    day, when case finding looked at them), ``started`` (each practice's team's start
    day), the final ``spells`` and each person's pseudonymised ``ids`` (their
    ``person_id`` in the tables)."""
    start, end = day(config.start), day(config.end)
    window = (start, end)
    step("places")
    geo = build_geography(config)
    step("people")
    people = build_people(config, geo)
    n = len(people)
    step("conditions and deaths")
    has = build_conditions(config, people)
    count = has.sum(axis=1)
    draw_deaths(config, people, count, has[:, NAMES.index("dementia")])
    step("social care")
    packages = social_care.long_term_packages(config, people, has, NAMES)
    care_home = social_care.care_home_residents(packages, n)
    _place_of_death(config, people, care_home)

    step("hospital spells")
    _, b = people.exposure(start, end)
    died_in_hospital = (people.death <= end) & (people.place_of_death == "hospital")
    final = admissions.final_spells(config, people, died_in_hospital, start)
    spell_end = b.astype(np.int64).copy()
    spell_end[final.who] = final.admitted
    effect, outliers = practice_effects(config, len(geo.practice_codes))
    person_effect = effect[people.practice]
    emergency = admissions.emergency_spells(
        config, people, count, person_effect, window, spell_end, final
    )
    planned, pick = admissions.planned_spells(config, people, count, window, spell_end)
    emergency = admissions.Spells.concat(
        [emergency, admissions.elective_readmissions(config, people, planned, spell_end)]
    )
    step("telephone care management")
    enrolment = programme.enrol(config, people, has, emergency)
    others = admissions.Spells.concat([final, planned])
    emergency = programme.apply_effect(config, enrolment, emergency, n, spell_end, others)
    step("integrated neighbourhood teams")
    started = neighbourhood.rollout(config, geo)
    emergency = neighbourhood.apply_effect(config, started, emergency, people, spell_end, others)
    every = admissions.Spells.concat([emergency, final, planned])
    picks = np.concatenate([np.zeros(len(emergency) + len(final), int), pick])
    keep = admissions.tidy(every, spell_end, end)
    spells = every.select(keep)
    if internals is not None:
        internals.update(people=people, condition_count=count, practice_effect=person_effect,
                         enrolment=enrolment, started=started, spells=spells)  # fmt: skip

    step("spell details")
    nhs = test_range_nhs_numbers(config.rng("nhs-numbers"), n)
    ids = person_ids(nhs.astype(str), synthetic_key(config.seed))
    if internals is not None:
        internals["ids"] = ids
    local_trust = geo.footprint_trust[people.footprint].astype(np.int64)
    spell, diagnosis, extra = spell_details.spell_tables(
        config, people, spells, picks[keep], has, care_home, local_trust, ids, end
    )
    step("A&E")
    via_ae = extra["method"] == "21"
    admitted = {"who": spells.who[via_ae], "day": spells.admitted[via_ae],
                "provider": extra["provider"][via_ae]}  # fmt: skip
    ae = attendances(config, people, count, person_effect, window, admitted, local_trust, ids)
    step("outpatients")
    op = ambulatory.outpatients(config, people, count, window, local_trust, ids)
    step("GP appointments")
    gp = ambulatory.gp_appointments(config, people, count, window, geo.practice_codes, ids)
    step("community contacts")
    smi = has[:, NAMES.index("serious_mental_illness")]
    community = ambulatory.community_contacts(
        config, people, count, smi, window, geo.footprint_codes, ids
    )
    step("identifiers and tables")
    discharged_alive = (
        np.isin(spells.kind, admissions.EMERGENCY_KINDS)
        & (spells.kind != admissions.KIND_FINAL)
        & ~admissions.unfinished(spells, end)
    )
    alive_who, alive_day = spells.who[discharged_alive], spells.discharged[discharged_alive]
    reable = social_care.reablement(
        config, alive_who, alive_day, people.age_on(alive_who, alive_day), b[alive_who]
    )
    tables = {
        **geo.tables(),
        "person": _person_table(people, geo, ids, end),
        "condition": condition_table(config, people, has, ids),
        "gp_appointment": gp,
        "apc_spell": spell,
        "apc_diagnosis": diagnosis,
        "apc_procedure": spell_details.procedure_table(spell),
        "ae_attendance": ae,
        "op_appointment": op,
        "community_contact": community,
        "social_care_service": social_care.social_care_table(config, [packages, reable], ids),
        "programme_enrolment": programme.enrolment_table(enrolment, ids, end),
        "programme_rollout": neighbourhood.rollout_table(started, geo),
        # the generator has a GP register: no details taken from activity
        "person_fact": TABLES["person_fact"].arrow_schema().empty_table(),
        # conditions are generated as registers (condition), not as GP coded events
        "gp_event": TABLES["gp_event"].arrow_schema().empty_table(),
        # mental health spells and registered deaths come from their own national
        # extracts (MHSDS, deaths); the generator records deaths in person
        "mh_spell": TABLES["mh_spell"].arrow_schema().empty_table(),
        "death": TABLES["death"].arrow_schema().empty_table(),
    }
    step("feedback")
    emergency_count = np.bincount(
        spells.who[np.isin(spells.kind, admissions.EMERGENCY_KINDS)], minlength=n
    )
    tables["feedback_response"] = feedback.feedback_table(
        config, people, ids, tables, emergency_count, count, enrolment, window, geo.practice_codes
    )
    truth = {
        "generator": f"joinedup {__version__}",
        "settings": config.as_dict(),
        "programmes": {
            programme.PROGRAMME: {
                "emergency_admissions_rate_ratio": config.programme_effect,
                "applies": "emergency admissions while enrolled (not the admission in which "
                "the person dies)",
                "enrolled": len(enrolment["who"]),
                "launched_on": config.programme_launch.isoformat(),
                "selection": "people aged 40+ with a long-term condition, favouring high "
                "frailty and recent emergency admissions (regression to the mean)",
            },
            neighbourhood.PROGRAMME: neighbourhood.truth(config, started, geo),
        },
        "feedback": {
            "pam_change_6_months": feedback.PAM_CHANGE,
            "eq5d_gain_hip_knee": feedback.EQ5D_GAIN,
            "fft": "positive answers less likely after an A&E stay over 4 hours, a stay over "
            "14 days or 3+ emergency admissions; more likely at 65+",
        },
        "practice_effects": {
            "emergency_admissions_rate_ratio": {
                geo.practice_codes[i]: round(float(e), 4) for i, e in enumerate(effect)
            },
            "outliers": [geo.practice_codes[i] for i in outliers],
            "note": "A&E attendances use the square root of the same ratio.",
        },
    }
    return tables, truth, nhs


def _place_of_death(config: SynthConfig, people: People, care_home: np.ndarray) -> None:
    rng = config.rng("place-of-death")
    n = len(people)
    place = np.where(care_home, np.array(PLACES)[choose(rng, n, PLACE_SHARE_CARE_HOME)],
                     np.array(PLACES)[choose(rng, n, PLACE_SHARE_OTHERS)])  # fmt: skip
    people.place_of_death = np.where(people.death == NO_END, None, place)


def _person_table(people: People, geo, ids: pa.Array, end: int) -> pa.Table:
    dead = people.death != NO_END
    left = people.registered_to != NO_END
    return pa.table(
        {
            "person_id": ids,
            "year_of_birth": pa.array(
                people.dob.astype("datetime64[D]").astype("datetime64[Y]").astype(int) + 1970,
                pa.int16(),
            ),
            "sex": np.where(people.male, "M", "F"),
            "ethnicity": people.ethnicity,
            "lsoa_code": np.array(geo.lsoa_codes)[people.lsoa],
            "imd_decile": pa.array(people.decile, pa.int16()),
            "practice_code": np.array(geo.practice_codes)[people.practice],
            "registered_from": dates(people.registered_from),
            "registered_to": dates(np.where(left, people.registered_to, 0), missing=~left),
            "date_of_death": dates(np.where(dead, people.death, 0), missing=~dead),
            "place_of_death": pa.array(people.place_of_death, pa.string()),
        }
    )


def build(
    config: SynthConfig,
    out: Path,
    *,
    show_progress: bool = False,
    internals: dict | None = None,
) -> BuildResult:
    """Generate the economy and write Parquet files, truth.json, the key and the warehouse.

    Anything a previous build left in ``out`` (warehouse, Parquet files, identities) is
    replaced, so a build is always exactly what its settings produce. ``internals`` is
    passed to :func:`generate`.
    """
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from joinedup.warehouse.base import hash_file
    from joinedup.warehouse.duckdb import DuckDBWarehouse

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    columns = (TextColumn("{task.description:<34}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, disable=not show_progress, transient=False) as progress:
        task = progress.add_task("generating", total=len(STEPS) + len(TABLES))

        def step(name: str) -> None:
            progress.update(task, description=name, advance=0 if name == STEPS[0] else 1)

        tables, truth, nhs = generate(config, step, internals)
        progress.advance(task)
        parquet_dir = out / "parquet"
        shutil.rmtree(parquet_dir, ignore_errors=True)
        parquet_dir.mkdir()
        warehouse_path = out / "warehouse.duckdb"
        for stale in (
            warehouse_path,
            out / "warehouse.duckdb.wal",
            out / "reidentification.duckdb",
        ):
            stale.unlink(missing_ok=True)
        result = BuildResult(out, warehouse_path, out / "truth.json")
        with DuckDBWarehouse.open(warehouse_path) as wh:
            for name in TABLES:
                progress.update(task, description=f"writing {name}")
                path = parquet_dir / f"{name}.parquet"
                pq.write_table(tables[name], path, compression="zstd", row_group_size=1 << 20)
                wh.load(
                    name,
                    tables[name],
                    source=f"synth:{name}",
                    content_hash=hash_file(path),
                    person_key="nhs_number" if TABLES[name].person_level else None,
                )
                result.parquet_files.append(path)
                result.row_counts[name] = tables[name].num_rows
                progress.advance(task)
    write_key(out / "secrets" / "pseudonymisation.key", synthetic_key(config.seed))
    ReidentificationStore(out / "reidentification.duckdb").add(
        tables["person"]["person_id"].combine_chunks(), pa.array(nhs.astype(str))
    )
    result.truth_path.write_text(json.dumps(truth, indent=2) + "\n")
    return result
