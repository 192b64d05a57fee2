"""Episodes become spells: hand-made HES APC episode sets with the spells and the
quarantine reasons expected of each (see joinedup.ingest.episodes)."""

from __future__ import annotations

import duckdb
import pytest

from joinedup.ingest import ingest

from .helpers import write_csv

pytestmark = pytest.mark.integration

# the HES APC fields the shipped hes_apc mapping reads (a real extract has ~200 more)
HEADER = [
    "PSEUDO_HESID",
    "EPIKEY",
    "EPIORDER",
    "PROCODE3",
    "ADMIDATE",
    "DISDATE",
    "ADMIMETH",
    "CLASSPAT",
    "ADMISORC",
    "DISDEST",
    "MAINSPEF",
    "STARTAGE",
    "SEX",
    "ETHNOS",
    "LSOA11",
    "GPPRAC",
    "DIAG_4_01",
    "DIAG_4_02",
    "OPERTN_4_01",
]


def episode(
    person,
    key,
    order,
    provider,
    admitted,
    discharged="",
    method="21",
    source="19",
    destination="98",
    diag1="R69X",
    diag2="",
    opertn="-",
):
    """One HES APC episode row."""
    return [
        person,
        key,
        order,
        provider,
        admitted,
        discharged,
        method,
        "1",
        source,
        destination,
        "300",
        "81",
        "2",
        "A",
        "E01000001",
        "A81001",
        diag1,
        diag2,
        opertn,
    ]


EPISODES = [
    # 1. a one-episode spell
    episode("P1", "E01", "01", "RXX", "2024-01-05", "2024-01-07", destination="19", diag1="I500"),
    # 2. a three-episode spell: admission from the first, discharge from the last
    episode("P1", "E02", "01", "RXX", "2024-02-01", diag1="J440", diag2="J189", opertn="E851"),
    episode("P1", "E03", "02", "RXX", "2024-02-01", diag1="I10X"),
    episode(
        "P1",
        "E04",
        "03",
        "RXX",
        "2024-02-01",
        "2024-02-10",
        destination="19",
        diag1="N390",
        opertn="M471",
    ),
    # 3. a transfer: discharged to another hospital, admitted there the same day: two spells
    episode("P2", "E05", "01", "RXX", "2024-03-01", "2024-03-03", destination="51", diag1="S720"),
    episode(
        "P2",
        "E06",
        "01",
        "RYY",
        "2024-03-03",
        "2024-03-09",
        method="81",
        source="51",
        destination="19",
        diag1="S720",
    ),
    # 4. an episode order gap (episode 2 missing): both quarantined
    episode("P3", "E07", "01", "RXX", "2024-04-01", diag1="C509"),
    episode("P3", "E08", "03", "RXX", "2024-04-01", "2024-04-05", destination="19", diag1="C509"),
    # 5. a last episode discharged before the admission: it fails its own check, and the
    # spell's first episode cannot load without it
    episode("P4", "E09", "01", "RXX", "2024-05-10", diag1="K359"),
    episode("P4", "E10", "02", "RXX", "2024-05-10", "2024-05-01", destination="19", diag1="K359"),
    # 6. admission methods that differ between the episodes of one spell
    episode("P5", "E11", "01", "RXX", "2024-06-01", method="21", diag1="J449"),
    episode(
        "P5",
        "E12",
        "02",
        "RXX",
        "2024-06-01",
        "2024-06-04",
        method="11",
        destination="19",
        diag1="J449",
    ),
    # 7. the same episode order twice in one spell
    episode("P6", "E13", "01", "RXX", "2024-07-01", "2024-07-02", destination="19", diag1="R55X"),
    episode("P6", "E14", "01", "RXX", "2024-07-01", "2024-07-02", destination="19", diag1="R55X"),
    # 8. an episode order that is not a number
    episode("P7", "E15", "XX", "RXX", "2024-08-01", "2024-08-02", destination="19", diag1="R07X"),
]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("episodes")
    path = write_csv(tmp / "hes_apc_2024.csv", HEADER, EPISODES)
    wh = tmp / "w.duckdb"
    [report] = ingest(
        [path], mapping="hes_apc", warehouse=wh, key_file=tmp / "k.key", chunk_rows=4
    )  # spells cross chunk boundaries
    con = duckdb.connect(str(wh), read_only=True)
    yield report, con, tmp / "k.key"
    con.close()


def _q(con, sql):
    return con.execute(sql).fetchall()


def test_every_episode_is_in_a_loaded_spell_or_in_quarantine(loaded):
    report, con, _ = loaded
    assert report.rows_read == len(EPISODES) == 15
    assert (report.rows_accepted, report.rows_quarantined, report.spells) == (6, 9, 4)
    [(read, accepted, quarantined)] = _q(
        con,
        "SELECT rows_read, rows_accepted, rows_quarantined FROM load_batch "
        "WHERE table_name = 'apc_spell'",
    )
    assert (read, accepted, quarantined) == (15, 6, 9)
    # quarantine holds every rejected episode row exactly once per reason row
    rows = {r for (r,) in _q(con, "SELECT DISTINCT source_row FROM quarantine")}
    assert len(rows) == 9


def test_spells_take_admission_from_the_first_episode_and_discharge_from_the_last(loaded):
    _, con, _ = loaded
    spells = _q(
        con,
        "SELECT provider_code, admitted_on::VARCHAR, discharged_on::VARCHAR, admission_method, "
        "admission_source, discharge_destination, primary_diagnosis, primary_procedure "
        "FROM apc_spell ORDER BY admitted_on, provider_code",
    )
    assert spells == [
        ("RXX", "2024-01-05", "2024-01-07", "21", "19", "19", "I500", None),
        ("RXX", "2024-02-01", "2024-02-10", "21", "19", "19", "J440", "E851"),
        ("RXX", "2024-03-01", "2024-03-03", "21", "19", "51", "S720", None),
        ("RYY", "2024-03-03", "2024-03-09", "81", "51", "19", "S720", None),
    ]
    # the transfer is two spells of one person
    assert _q(
        con,
        "SELECT count(DISTINCT person_id) FROM apc_spell WHERE admitted_on "
        "BETWEEN '2024-03-01' AND '2024-03-03'",
    ) == [(1,)]


def test_every_episodes_diagnoses_and_procedures_are_kept_with_their_positions(loaded):
    _, con, _ = loaded
    rows = _q(
        con,
        "SELECT d.episode, d.position, d.icd10 FROM apc_diagnosis d JOIN apc_spell s "
        "USING (spell_id) WHERE s.admitted_on = '2024-02-01' ORDER BY 1, 2",
    )
    assert rows == [(1, 1, "J440"), (1, 2, "J189"), (2, 1, "I10X"), (3, 1, "N390")]
    procedures = _q(
        con,
        "SELECT p.episode, p.position, p.opcs4 FROM apc_procedure p JOIN apc_spell s "
        "USING (spell_id) WHERE s.admitted_on = '2024-02-01' ORDER BY 1, 2",
    )
    assert procedures == [(1, 1, "E851"), (3, 1, "M471")]
    # nothing of a quarantined episode reaches the other tables
    assert _q(
        con,
        "SELECT count(*) FROM apc_diagnosis WHERE spell_id NOT IN (SELECT spell_id FROM apc_spell)",
    ) == [(0,)]
    assert _q(con, "SELECT count(*) FROM apc_diagnosis") == [(7,)]
    assert _q(con, "SELECT count(*) FROM person_fact") == [(6,)]


def test_episodes_that_form_no_spell_are_quarantined_with_the_reason(loaded):
    _, con, _ = loaded
    rows = _q(
        con,
        "SELECT source_row, field, reason FROM quarantine ORDER BY source_row, field",
    )
    reasons = {row: (field, reason) for row, field, reason in rows}
    assert reasons[7] == (
        "episode_order",
        "episode order gap: the spell has episodes 1, 3; missing 2 "
        "(an episode may be in another file)",
    )
    assert reasons[8] == reasons[7]
    assert reasons[10][0] == "discharged_on"  # its own check: discharge before admission
    assert reasons[9] == ("spell_id", "another episode of the spell was quarantined (row 10)")
    assert reasons[11] == (
        "admission_method",
        "admission method differs between the spell's episodes (11, 21)",
    )
    assert reasons[12] == reasons[11]
    assert reasons[13][1].startswith("episode order repeated in the spell")
    assert reasons[14] == reasons[13]
    assert reasons[15] == (
        "episode_order",
        "expected the episode's order in its spell: a whole number 1-99",
    )
    # no source key is kept, not even in the quarantine
    raw = " ".join(r for (r,) in _q(con, "SELECT raw_row FROM quarantine"))
    assert "PSEUDO_HESID" not in raw and '"P3"' not in raw


def test_spell_ids_are_the_same_in_any_load_of_the_same_episodes(tmp_path, loaded):
    _, con, key_file = loaded
    path = write_csv(tmp_path / "again.csv", HEADER, list(reversed(EPISODES)))
    wh = tmp_path / "w.duckdb"
    ingest([path], mapping="hes_apc", warehouse=wh, key_file=key_file, chunk_rows=3)
    query = "SELECT spell_id, person_id, admitted_on FROM apc_spell ORDER BY 1"
    with duckdb.connect(str(wh), read_only=True) as other:
        again = _q(other, query)
    assert again == _q(con, query)
    assert all(i.startswith("H") and len(i) == 21 for i, _, _ in again)


def test_a_spell_id_column_groups_episodes_and_conflicts_are_quarantined(tmp_path):
    mapping = tmp_path / "apce.yaml"
    mapping.write_text(
        "name: apce_test\n"
        "table: apc_spell\n"
        "episodes: {order: Episode_Number, total: [cost]}\n"
        "columns:\n"
        "  spell_id: Spell_ID\n"
        "  source_key: {column: Person_Key, scheme: test_key}\n"
        "  provider_code: Provider\n"
        "  admitted_on: Admission_Date\n"
        "  discharged_on: {column: Discharge_Date, optional: true}\n"
        "  admission_method: Admission_Method\n"
        "  patient_classification: {value: '1'}\n"
        "  discharge_destination: {column: Discharge_Destination, optional: true}\n"
        "  cost: {column: Cost, optional: true}\n"
    )
    header = [
        "Spell_ID",
        "Episode_Number",
        "Person_Key",
        "Provider",
        "Admission_Date",
        "Discharge_Date",
        "Admission_Method",
        "Discharge_Destination",
        "Cost",
    ]
    rows = [
        ["S1", "1", "K1", "RXX", "2024-01-01", "", "21", "98", "100"],
        ["S1", "2", "K1", "RXX", "2024-01-01", "2024-01-04", "21", "19", "250.5"],
        ["S2", "1", "K1", "RXX", "2024-02-01", "", "21", "98", ""],
        ["S2", "2", "K1", "RXX", "2024-02-02", "2024-02-05", "21", "19", ""],  # other date
        ["S3", "1", "K2", "RXX", "2024-03-01", "", "21", "98", ""],
        ["S3", "2", "K3", "RXX", "2024-03-01", "2024-03-02", "21", "19", ""],  # other person
    ]
    path = write_csv(tmp_path / "apce.csv", header, rows)
    wh = tmp_path / "w.duckdb"
    [report] = ingest([path], mapping=mapping, warehouse=wh, key_file=tmp_path / "k.key")
    assert (report.rows_read, report.rows_accepted, report.spells) == (6, 2, 1)
    with duckdb.connect(str(wh), read_only=True) as con:
        # the spell keeps its own id; its cost is the sum of its episodes' (total: [cost])
        assert _q(con, "SELECT spell_id, discharged_on::VARCHAR, cost FROM apc_spell") == [
            ("S1", "2024-01-04", 350.5)
        ]
        reasons = dict(_q(con, "SELECT source_row, reason FROM quarantine"))
    assert reasons[3] == reasons[4] == "admission date differs between the spell's episodes"
    assert reasons[5] == reasons[6] == "the spell's episodes belong to different people"
