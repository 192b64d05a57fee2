"""The public artificial HES samples (NHS Digital's artificial data pilot, OGL; copied in
tests/data/artificial_hes) load as issued, without a mapping flag, keyed by PSEUDO_HESID."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from joinedup.ingest import ingest
from joinedup.ingest.keys import bridge_beside, load_bridge
from joinedup.ingest.pseudonymise import load_or_create_key, person_id

from .helpers import HES_APC_HEADER, nhs_numbers, write_csv

pytestmark = pytest.mark.integration

SAMPLES = Path(__file__).parent.parent / "data" / "artificial_hes"
APC, OP, AE = (
    SAMPLES / f"artificial_hes_{k}_sample.csv" for k in ("apc_0102", "op_0304", "ae_0708")
)


def _rows(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-c", "from joinedup.cli import main; main()", *map(str, args)],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hes")
    wh, key = tmp / "w.duckdb", tmp / "k.key"
    result = _cli(
        "ingest", SAMPLES, "--warehouse", wh, "--key-file", key, "--report", tmp / "report.csv"
    )
    assert result.returncode == 0, result.stderr
    con = duckdb.connect(str(wh), read_only=True)
    yield con, tmp
    con.close()


def test_the_folder_loads_each_file_with_its_shipped_mapping(loaded):
    _, tmp = loaded
    report = {Path(r["file"]).name: r for r in _rows(tmp / "report.csv")}
    assert {name: r["table"] for name, r in report.items()} == {
        APC.name: "apc_spell",
        OP.name: "op_appointment",
        AE.name: "ae_attendance",
    }
    for name, r in report.items():
        assert r["status"] == "loaded" and r["person_key"] == "hesid"
        assert int(r["rows_read"]) == int(r["rows_accepted"]) + int(r["rows_quarantined"])
        assert int(r["rows_accepted"]) > 0.9 * int(r["rows_read"]) or name == APC.name


def test_apc_episodes_load_as_spells_with_their_diagnoses(loaded):
    con, _ = loaded
    episodes = len(_rows(APC))
    [(read, accepted, quarantined)] = con.execute(
        "SELECT rows_read, rows_accepted, rows_quarantined FROM load_batch "
        "WHERE table_name = 'apc_spell'"
    ).fetchall()
    assert read == episodes == 1000 and accepted + quarantined == read
    (spells,) = con.execute("SELECT count(*) FROM apc_spell").fetchone()
    assert 0 < spells <= accepted < episodes
    # every quarantined episode has at least one record; none is counted twice
    (rows,) = con.execute(
        "SELECT count(DISTINCT source_row) FROM quarantine q JOIN load_batch b USING (batch_id) "
        "WHERE b.table_name = 'apc_spell'"
    ).fetchone()
    assert rows == quarantined
    assert (
        con.execute(
            "SELECT count(*), count(*) FILTER "
            "(WHERE spell_id NOT IN (SELECT spell_id FROM apc_spell)) FROM apc_diagnosis"
        ).fetchone()[0]
        > spells
    )
    # the spells HES implies (person, provider, admission date), computed here
    # independently: every episode of a group whose orders are not 1..n is quarantined,
    # and the order gap is given only for such groups
    groups: dict[tuple, list[tuple[int, int]]] = {}
    for i, r in enumerate(_rows(APC), start=1):
        key = (r["PSEUDO_HESID"], r["PROCODE3"], r["ADMIDATE"])
        groups.setdefault(key, []).append((i, int(r["EPIORDER"])))
    broken = {
        row
        for members in groups.values()
        if sorted(o for _, o in members) != list(range(1, len(members) + 1))
        for row, _ in members
    }
    quarantined_rows = _column(
        con, "SELECT DISTINCT source_row FROM quarantine WHERE table_name = 'apc_spell'"
    )
    gap_rows = _column(
        con, "SELECT source_row FROM quarantine WHERE reason LIKE 'episode order gap%'"
    )
    assert broken and broken <= quarantined_rows
    assert gap_rows and gap_rows <= broken


def _column(con, sql: str) -> set:
    return {r for (r,) in con.execute(sql).fetchall()}


def test_no_stored_value_equals_a_source_pseudo_hesid(loaded):
    con, _ = loaded
    keys = {r["PSEUDO_HESID"] for path in (APC, OP, AE) for r in _rows(path)}
    for (table,) in con.execute("SHOW TABLES").fetchall():
        text_columns = [
            name
            for name, kind, *_ in con.execute(f'DESCRIBE "{table}"').fetchall()
            if kind == "VARCHAR"
        ]
        for column in text_columns:
            values = _column(con, f'SELECT DISTINCT "{column}" FROM "{table}"')
            assert not values & keys, f"{table}.{column} holds a source key"
    raw = " ".join(r for (r,) in con.execute("SELECT raw_row FROM quarantine").fetchall())
    assert "PSEUDO_HESID" not in raw and not any(k in raw for k in list(keys)[:200])


def test_the_same_pseudo_hesid_in_two_files_is_the_same_person(loaded, tmp_path):
    con, tmp = loaded
    # an outpatient file (the artificial OP layout) for three people of the APC file
    apc_people = con.execute(
        "SELECT DISTINCT person_id FROM apc_spell ORDER BY 1 LIMIT 3"
    ).fetchall()
    key = load_or_create_key(tmp / "k.key")
    from joinedup.ingest.keys import source_person_id

    by_id = {
        source_person_id(r["PSEUDO_HESID"], "hesid", key): r["PSEUDO_HESID"] for r in _rows(APC)
    }
    wanted = [by_id[p] for (p,) in apc_people]
    op_rows = _rows(OP)[:3]
    for i, (row, hesid) in enumerate(zip(op_rows, wanted, strict=True)):
        row["PSEUDO_HESID"], row["ATTENDKEY"], row["FIRSTATT"] = hesid, f"X{i}", "1"
    path = tmp_path / "hes_op_extra.csv"
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(op_rows[0]))
        w.writeheader()
        w.writerows(op_rows)
    # load it with the APC sample, in a fresh warehouse with the same key
    wh = tmp_path / "copy.duckdb"
    ingest([APC, path], warehouse=wh, key_file=tmp / "k.key")
    with duckdb.connect(str(wh), read_only=True) as other:
        linked = other.execute(
            "SELECT count(DISTINCT o.person_id) FROM op_appointment o "
            "JOIN apc_spell a USING (person_id)"
        ).fetchone()[0]
    assert linked == 3


def test_a_key_bridge_links_pseudonymised_and_nhs_number_files(tmp_path):
    people = nhs_numbers(2, seed=7)
    key_file = tmp_path / "secrets" / "k.key"
    key = load_or_create_key(key_file)
    bridge_csv = write_csv(
        tmp_path / "bridge.csv",
        ["NHS_NUMBER", "PSEUDO_HESID"],
        [[people[0], "HES-A"], ["123", "HES-B"]],
    )
    result = load_bridge(bridge_csv, "hesid", key, bridge_beside(tmp_path / "secrets" / "r.db"))
    assert (result["pairs_added"], result["rows_unused"], result["first_unused_rows"]) == (
        1,
        1,
        [2],
    )
    nhs_file = write_csv(
        tmp_path / "apc_spells.csv",
        HES_APC_HEADER,
        [["S1", people[0], "RXX", "2024-01-01", "2024-01-02", "21", "1", "I500", ""]],
    )
    hes_rows = [dict(r) for r in _rows(APC)[:2]]
    for row, hesid in zip(hes_rows, ("HES-A", "HES-B"), strict=True):
        row.update(
            PSEUDO_HESID=hesid,
            EPIORDER="1",
            ADMIDATE="2024-03-01",
            DISDATE="2024-03-02",
            DISDEST="19",
            SITETRET="",
            ADMIMETH="21",
        )
    hes_file = tmp_path / "hes_apc_x.csv"
    with open(hes_file, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(hes_rows[0]))
        w.writeheader()
        w.writerows(hes_rows)
    wh = tmp_path / "w.duckdb"
    env = {"warehouse": wh, "key_file": key_file, "reid_store": tmp_path / "secrets" / "r.db"}
    ingest([nhs_file], mapping="apc_spells_nhs", **env)
    [report] = ingest([hes_file], **env)
    assert report.rows_linked == 1 and "1 rows linked" in report.key_note
    with duckdb.connect(str(wh), read_only=True) as con:
        ids = dict(
            con.execute(
                "SELECT admitted_on::VARCHAR, person_id FROM apc_spell "
                "WHERE admitted_on = '2024-01-01'"
            ).fetchall()
        )
        hes_people = {
            p
            for (p,) in con.execute(
                "SELECT person_id FROM apc_spell WHERE admitted_on = '2024-03-01'"
            ).fetchall()
        }
    assert ids["2024-01-01"] == person_id(people[0], key)
    assert ids["2024-01-01"] in hes_people and len(hes_people) == 2  # HES-B stays apart
    status = _cli(
        "keys",
        "--warehouse",
        wh,
        "--key-file",
        key_file,
        "--reid-store",
        tmp_path / "secrets" / "r.db",
    )
    assert status.returncode == 0, status.stderr
    assert "hesid" in status.stdout and "nhs_number" in status.stdout
    assert "link to NHS-number-keyed records where the bridge holds the key (1 keys)" in (
        " ".join(status.stdout.split())
    )


def test_files_keyed_differently_without_a_bridge_are_said_not_to_link(tmp_path):
    people = nhs_numbers(1, seed=3)
    nhs_file = write_csv(
        tmp_path / "apc_spells.csv",
        HES_APC_HEADER,
        [["S1", people[0], "RXX", "2024-01-01", "2024-01-02", "21", "1", "I500", ""]],
    )
    wh, key_file = tmp_path / "w.duckdb", tmp_path / "k.key"
    ingest([nhs_file], mapping="apc_spells_nhs", warehouse=wh, key_file=key_file)
    result = _cli("ingest", OP, "--warehouse", wh, "--key-file", key_file)
    assert result.returncode == 0, result.stderr
    assert "no key bridge for hesid" in " ".join(result.stdout.split())
    status = _cli("keys", "--warehouse", wh, "--key-file", key_file)
    assert "cannot link to records keyed by NHS number" in " ".join(status.stdout.split())
