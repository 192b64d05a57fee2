"""Invariants of the generator, for any size, span and seed; determinism; the CLI."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from joinedup.cli import app
from joinedup.schema import TABLES
from joinedup.schema.conformance import table_problems
from joinedup.synth import SynthConfig, build, generate
from joinedup.synth.admissions import KIND_EMERGENCY, KIND_FINAL, Spells, tidy, unfinished


def _frames(config: SynthConfig) -> dict[str, pd.DataFrame]:
    tables, _, _ = generate(config)
    for name, definition in TABLES.items():
        assert not table_problems(definition, tables[name]), table_problems(
            definition, tables[name]
        )
    return {name: t.to_pandas() for name, t in tables.items()}


@pytest.mark.unit
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    people=st.integers(min_value=300, max_value=3_000),
    years=st.integers(min_value=1, max_value=4),
    seed=st.integers(min_value=0, max_value=2**31),
    effect=st.sampled_from([0.5, 0.8, 1.0, 1.3]),
    area=st.sampled_from([0.5, 0.85, 1.0, 1.4]),
)
def test_generator_invariants(people, years, seed, effect, area):
    config = SynthConfig(
        people=people, years=years, seed=seed, programme_effect=effect, area_effect=area
    )
    f = _frames(config)
    person = f["person"].set_index("person_id")
    death = pd.to_datetime(person["date_of_death"])
    left = pd.to_datetime(person["registered_to"])

    # Every person is registered with a practice that belongs to a footprint.
    practice = f["practice"].set_index("practice_code")
    assert person["practice_code"].isin(practice.index).all()
    assert practice["footprint_code"].isin(f["footprint"]["footprint_code"]).all()
    assert person["lsoa_code"].isin(f["lsoa"]["lsoa_code"]).all()

    spells = f["apc_spell"]
    adm, dis = pd.to_datetime(spells["admitted_on"]), pd.to_datetime(spells["discharged_on"])
    finished = dis.notna()
    assert (dis[finished] >= adm[finished]).all(), "discharge before admission"
    # Unfinished spells (still in hospital when the data end) have no discharge date and
    # destination 98, and only they; every discharge is on or before the last day.
    window_end = pd.Timestamp(config.end)
    assert ((spells["discharge_destination"] == "98") == ~finished).all()
    assert (dis[finished] <= window_end).all()
    # An unfinished spell is its person's last, and they are alive and registered at the end.
    open_who = spells.loc[~finished, "person_id"]
    assert death.loc[open_who].isna().all() and left.loc[open_who].isna().all()
    assert not open_who.duplicated().any()
    # A person's spells never overlap (an unfinished spell runs to the end).
    s = spells.assign(adm=adm, dis=dis.fillna(window_end)).sort_values(["person_id", "adm"])
    prev = s.groupby("person_id")["dis"].shift()
    assert not (s["adm"] < prev).any(), "overlapping spells"
    # Only people who die in hospital have a spell ending in death, on the day they die.
    died = s[s["discharge_destination"] == "79"]
    assert (died["dis"].to_numpy() == death.loc[died["person_id"]].to_numpy()).all()
    in_hospital = person["place_of_death"] == "hospital"
    assert set(died["person_id"]) == set(person.index[in_hospital & death.notna()])

    ae = f["ae_attendance"]
    assert (ae["departed_at"] >= ae["arrived_at"]).all()
    events = {
        "apc_spell": dis.fillna(adm),
        "ae_attendance": pd.to_datetime(ae["arrived_at"].dt.date),
        "op_appointment": pd.to_datetime(f["op_appointment"]["date"]),
        "gp_appointment": pd.to_datetime(f["gp_appointment"]["date"]),
        "community_contact": pd.to_datetime(f["community_contact"]["date"]),
        "condition": pd.to_datetime(f["condition"]["recorded_on"]),
        "social_care_service": pd.to_datetime(f["social_care_service"]["started_on"]),
        "programme_enrolment": pd.to_datetime(f["programme_enrolment"]["enrolled_on"]),
        "feedback_response": pd.to_datetime(f["feedback_response"]["responded_on"]),
    }
    for name, when in events.items():
        known = f[name]["person_id"].notna()  # feedback may be anonymous
        who, when = f[name]["person_id"][known], when[known]
        assert who.isin(person.index).all(), f"{name}: unknown person"
        d = death.loc[who].to_numpy()
        after_death = (when.to_numpy() > d) & ~pd.isna(d)
        assert not after_death.any(), f"{name}: {after_death.sum()} events after death"
        if name not in ("condition", "social_care_service"):
            gone = left.loc[who].to_numpy()
            after_leaving = (when.to_numpy() >= gone) & ~pd.isna(gone)
            assert not after_leaving.any(), f"{name}: events after leaving the list"
    sc = f["social_care_service"].dropna(subset=["ended_on"])
    assert (pd.to_datetime(sc["ended_on"]) >= pd.to_datetime(sc["started_on"])).all()
    # Every spell's diagnoses start at position 1 with the primary diagnosis.
    first = f["apc_diagnosis"].query("position == 1").set_index("spell_id")["icd10"]
    assert (first.loc[spells["spell_id"]].to_numpy() == spells["primary_diagnosis"]).all()


def _digest(folder) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted((folder / "parquet").glob("*.parquet"))}  # fmt: skip


@pytest.mark.integration
def test_same_seed_same_files_other_seed_other_files(tmp_path):
    a = build(SynthConfig(people=2_000, years=2, seed=7), tmp_path / "a")
    b = build(SynthConfig(people=2_000, years=2, seed=7), tmp_path / "b")
    c = build(SynthConfig(people=2_000, years=2, seed=8), tmp_path / "c")
    assert _digest(a.out) == _digest(b.out)
    assert a.truth_path.read_text() == b.truth_path.read_text()
    assert _digest(a.out)["person.parquet"] != _digest(c.out)["person.parquet"]


@pytest.mark.unit
def test_internals_are_what_the_tables_were_made_from():
    """``generate(internals=...)`` hands studies what the tables do not show: every
    person's day case finding looked at them (the enrolled were enrolled that day)."""
    got: dict = {}
    tables, _, _ = generate(SynthConfig(people=5_000, years=3, seed=4), internals=got)
    enrolment = got["enrolment"]
    assert len(enrolment["candidate"]) == len(got["people"]) == tables["person"].num_rows
    assert np.array_equal(enrolment["candidate"][enrolment["who"]], enrolment["enrolled"])
    assert len(enrolment["who"]) == tables["programme_enrolment"].num_rows
    assert len(got["spells"]) == tables["apc_spell"].num_rows
    assert len(got["condition_count"]) == len(got["practice_effect"]) == len(got["people"])
    # ids are the tables' person_id, in the people's order: the enrolled are who enrolled
    ids = got["ids"]
    assert ids.equals(tables["person"].column("person_id").combine_chunks())
    enrolled = ids.take(pa.array(enrolment["who"])).to_pylist()
    assert sorted(enrolled) == sorted(tables["programme_enrolment"].column("person_id").to_pylist())


@pytest.mark.unit
def test_a_harmful_programme_adds_admissions_at_the_planted_rate_and_pushes_none_out():
    """A ratio above 1 is realised as planted (the enrolled people's emergency admissions
    while enrolled, other than the one in which they die), and every spell the economy
    has without the effect is still there with it."""
    from joinedup.synth.admissions import EMERGENCY_KINDS

    got: dict[float, dict] = {1.0: {}, 1.5: {}}
    for ratio, internals in got.items():
        config = SynthConfig(people=60_000, years=3, seed=7, programme_effect=ratio)
        generate(config, internals=internals)

    def while_enrolled(internals: dict) -> int:
        e, sp = internals["enrolment"], internals["spells"]
        lo = np.full(len(internals["people"]), np.iinfo(np.int64).max)
        hi = np.full(len(internals["people"]), -1)
        lo[e["who"]], hi[e["who"]] = e["enrolled"], e["left"]
        on = (sp.admitted >= lo[sp.who]) & (sp.admitted < hi[sp.who])
        return int((on & np.isin(sp.kind, EMERGENCY_KINDS) & (sp.kind != KIND_FINAL)).sum())

    base, more = while_enrolled(got[1.0]), while_enrolled(got[1.5])
    assert base > 250
    # binomial noise on the added half: SD about sqrt(0.25 / base), about 0.03 here
    assert abs(more / base - 1.5) < 0.1, (base, more)

    def spells(internals: dict) -> set:
        sp = internals["spells"]
        return set(zip(sp.who.tolist(), sp.admitted.tolist(), sp.kind.tolist(), strict=True))

    assert spells(got[1.0]) <= spells(got[1.5])


@pytest.mark.unit
def test_programme_effect_changes_admissions_of_the_enrolled_only():
    base, _, _ = generate(SynthConfig(people=20_000, years=3, seed=3, programme_effect=1.0))
    half, _, _ = generate(SynthConfig(people=20_000, years=3, seed=3, programme_effect=0.5))
    counts = [t["apc_spell"].num_rows for t in (base, half)]
    assert counts[1] < counts[0]
    # The same people are enrolled, and nobody else's admissions changed.
    assert base["programme_enrolment"].equals(half["programme_enrolment"])
    enrolled = set(base["programme_enrolment"]["person_id"].to_pylist())

    def others(t):
        s = t["apc_spell"].to_pandas()
        return np.sort(s[~s["person_id"].isin(enrolled)]["admitted_on"].astype(str).to_numpy())

    assert np.array_equal(others(base), others(half))


@pytest.mark.integration
def test_synth_command_writes_warehouse_truth_and_prints_the_comparison(tmp_path):
    result = CliRunner().invoke(
        app, ["synth", "--people", "1500", "--years", "1", "--seed", "5", "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "warehouse.duckdb").exists()
    assert (tmp_path / "truth.json").exists()
    assert "England" in result.output
    assert len(list((tmp_path / "parquet").glob("*.parquet"))) == len(TABLES)


@pytest.mark.unit
def test_stays_running_past_the_window_end_are_unfinished_not_clipped():
    end = 100
    # Person 0 is alive and registered at the end (exposure runs to end + 1); person 1
    # left the list on day 80; person 2 died in hospital on day 90 (final spell).
    spell_end = np.array([end + 1, 80, 85])
    spells = Spells(
        who=np.array([0, 0, 1, 2, 2]),
        admitted=np.array([10, 95, 70, 40, 85]),
        discharged=np.array([12, 130, 95, 50, 90]),
        kind=np.array([KIND_EMERGENCY] * 4 + [KIND_FINAL], np.int8),
    )
    kept = spells.select(tidy(spells, spell_end, end))
    by_admission = dict(zip(kept.admitted.tolist(), kept.discharged.tolist(), strict=True))
    # Person 0's second stay keeps its discharge (day 130): unfinished at the end.
    # Person 1's stay ends on the last day registered (79); person 2's final on death.
    assert by_admission == {10: 12, 95: 130, 70: 79, 40: 50, 85: 90}
    assert kept.admitted[unfinished(kept, end)].tolist() == [95]


@pytest.mark.unit
def test_the_programme_can_start_later_in_the_data_leaving_history_before_it():
    """By default telephone care management starts in the second financial year; with
    ``programme_launch_years`` it starts later, nobody is enrolled before that day, and
    truth.json says when it started."""
    from datetime import date

    assert SynthConfig(years=3).programme_launch == date(2024, 4, 1)  # the default
    assert SynthConfig(years=1).programme_launch == date(2025, 6, 30)  # 90 days in
    config = SynthConfig(people=4_000, years=5, seed=3, programme_launch_years=3)
    assert config.start == date(2021, 4, 1) and config.programme_launch == date(2024, 4, 1)
    tables, truth, _ = generate(config)
    enrolled = tables["programme_enrolment"].column("enrolled_on").to_pylist()
    assert enrolled and min(enrolled) >= date(2024, 4, 1)
    assert truth["programmes"]["telephone_care_management"]["launched_on"] == "2024-04-01"
    assert truth["settings"]["programme_launch_years"] == 3
    with pytest.raises(ValueError, match="programme_launch_years must be from 1 to 2"):
        SynthConfig(years=3, programme_launch_years=3)


@pytest.mark.unit
def test_synth_refuses_a_programme_launch_after_the_data():
    result = CliRunner().invoke(
        app,
        ["synth", "-n", "200", "--years", "2", "--programme-launch-years", "2", "-o", "x"],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code != 0
    assert "programme_launch_years must be from 1 to 1" in result.output


@pytest.mark.integration
def test_build_hands_over_the_internals_of_the_economy_it_writes(tmp_path):
    """``build(internals=...)`` fills the dict as ``generate`` does, for the economy it
    wrote: its ids are the warehouse's people (benchmarks/evaluation_trace.py relies on
    this to study a built economy without generating it twice)."""
    import duckdb

    got: dict = {}
    built = build(SynthConfig(people=1_500, years=2, seed=6), tmp_path, internals=got)
    with duckdb.connect(str(built.warehouse_path), read_only=True) as con:
        ids = {r[0] for r in con.execute("SELECT person_id FROM person").fetchall()}
    assert set(got["ids"].to_pylist()) == ids
    assert len(got["enrolment"]["candidate"]) == len(got["people"]) == len(ids)
