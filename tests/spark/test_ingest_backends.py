"""Ingest on every backend: the same extract gives the same rows, quarantine and batches.

One small admitted patient care CSV with four bad rows (a failed NHS number check digit,
a discharge before the admission, an ICD-10 code that exists in no chapter, a spell id
seen earlier in the file) is ingested through the Python API with the same key file into
a DuckDB warehouse and a Spark store. The answers below are worked by hand from the rows;
each backend must give them all. Loading the file again must do nothing, and a file
missing a required column must leave the store as it was.
"""

from __future__ import annotations

from datetime import date

import pytest
from typer.testing import CliRunner

import known_answers as ka
from ingest.helpers import invalid_nhs_number, nhs_numbers, write_csv
from joinedup.ingest import IngestError, ingest

from .conftest import BACKENDS, open_backend, warehouse_path

pytestmark = [
    pytest.mark.integration,
    # pyspark 4.0 calls a pandas API that pandas 3 deprecates: nothing to act on here
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]

HEADER = [
    "spell_id", "nhs_number", "provider_code", "admitted_on", "discharged_on",
    "admission_method", "patient_classification", "primary_diagnosis", "cost",
]  # fmt: skip
A, B, C, D = nhs_numbers(4, seed=9)
ROWS = [
    ["S1", A, "RXX", "2024-02-01", "2024-02-03", "21", "1", "I21.9", "1200"],  # 1 accepted
    ["S2", invalid_nhs_number(B), "RXX", "2024-02-01", "", "21", "1", "", ""],  # 2 check digit
    ["S3", C, "RXX", "2024-02-05", "2024-02-01", "21", "1", "", ""],  # 3 out before in
    ["S4", C, "RXX", "2024-02-05", "2024-02-06", "21", "1", "E99", ""],  # 4 no such ICD-10
    ["S1", A, "RXX", "2024-03-01", "2024-03-03", "21", "1", "", ""],  # 5 S1 again
    ["S5", D, "RXX", "01/11/2023", "04/11/2023", "11", "1", "K40.9", "300.5"],  # 6 accepted
    ["S6", B, "RXX", "2024-01-10", "", "21", "1", "", ""],  # 7 accepted: unfinished spell
]
# (source_row, field, words the reason contains): one record per problem
QUARANTINE = [
    (2, "nhs_number", "modulus 11"),
    (3, "discharged_on", "on or after"),
    (4, "primary_diagnosis", "ICD-10 code that exists"),
    (5, "spell_id", "unique"),
]


@pytest.fixture(scope="module")
def key_file(tmp_path_factory):
    """One pseudonymisation key for every backend, so person_ids must agree."""
    return tmp_path_factory.mktemp("key") / "k.key"


@pytest.fixture(scope="module")
def extract(tmp_path_factory):
    return write_csv(tmp_path_factory.mktemp("extract") / "apc.csv", HEADER, ROWS)


@pytest.fixture(scope="module", params=BACKENDS)
def loaded(request, tmp_path_factory, key_file, extract):
    """The extract ingested once into a fresh warehouse on each backend."""
    folder = tmp_path_factory.mktemp(f"ingest-{request.param}")
    wh = open_backend(request, folder, request.param)
    [report] = ingest(
        [extract], table="apc_spell", warehouse=wh, key_file=key_file,
        reid_store=folder / "reid.duckdb",
    )  # fmt: skip
    yield wh, report, folder
    wh.close()


def test_accepted_rows(loaded, key_file) -> None:
    wh, report, _ = loaded
    assert (report.status, report.rows_read, report.rows_accepted, report.rows_quarantined) == (
        "loaded", 7, 3, 4
    )  # fmt: skip
    pid = {n: ka.expected_person_id(n, ka.key_in_file(key_file)) for n in (A, B, D)}
    got = sorted(wh.table("apc_spell").to_pyarrow().to_pylist(), key=lambda r: r["spell_id"])
    rows = [
        (r["spell_id"], r["person_id"], r["admitted_on"], r["primary_diagnosis"], r["cost"])
        for r in got
    ]
    assert rows == [
        ("S1", pid[A], date(2024, 2, 1), "I219", 1200.0),
        ("S5", pid[D], date(2023, 11, 1), "K409", 300.5),  # dd/mm/yyyy read too
        ("S6", pid[B], date(2024, 1, 10), None, None),
    ]
    assert {r["batch_id"] for r in got} == {report.batches[0].batch_id}


def test_quarantine_rows(loaded) -> None:
    wh, report, _ = loaded
    q = sorted(wh.table("quarantine").to_pyarrow().to_pylist(), key=lambda r: r["source_row"])
    assert [(r["source_row"], r["field"]) for r in q] == [e[:2] for e in QUARANTINE]
    for r, (_, _, words) in zip(q, QUARANTINE, strict=True):
        assert words in r["reason"]
    assert q[0]["value"] is None  # the NHS number is never kept
    assert not any(n in r["raw_row"] for r in q for n in (A, B, C))
    assert {(r["batch_id"], r["source_file"]) for r in q} == {
        (report.batches[0].batch_id, report.path)
    }


def test_load_batch_accounting(loaded) -> None:
    wh, report, _ = loaded
    b = wh.batches()
    assert len(b) == 1
    row = b.iloc[0]
    assert (row.table_name, row.rows_read, row.rows_accepted, row.rows_quarantined) == (
        "apc_spell", 7, 3, 4
    )  # fmt: skip
    assert (row.status, row.batch_id) == ("loaded", report.batches[0].batch_id)


def _counts(wh) -> tuple[int, int]:
    """Accepted rows and quarantine records."""
    return tuple(int(wh.table(t).count().execute()) for t in ("apc_spell", "quarantine"))


def test_loading_again_is_a_no_op(loaded, key_file, extract) -> None:
    wh, report, folder = loaded
    [again] = ingest(
        [extract], table="apc_spell", warehouse=wh, key_file=key_file,
        reid_store=folder / "reid.duckdb",
    )  # fmt: skip
    assert again.status == "unchanged" and "nothing to do" in again.message
    assert again.batches[0].batch_id == report.batches[0].batch_id
    assert len(wh.batches()) == 1
    assert _counts(wh) == (3, 4)


def _store_files(folder) -> list[str]:
    """Every file of a Spark store (empty for DuckDB, which has no store folder)."""
    root = warehouse_path(folder, "spark")
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_a_whole_file_error_changes_nothing(loaded, key_file, tmp_path) -> None:
    wh, _, folder = loaded
    before = (wh.batches().batch_id.tolist(), _counts(wh), _store_files(folder))
    no_admission = [h for h in HEADER if h != "admitted_on"]
    bad = write_csv(tmp_path / "bad.csv", no_admission, [r[:3] + r[4:] for r in ROWS[:1]])
    with pytest.raises(IngestError, match="admitted_on"):
        ingest([bad], table="apc_spell", warehouse=wh, key_file=key_file)
    # on Spark not even a commit record or a batch folder
    assert (wh.batches().batch_id.tolist(), _counts(wh), _store_files(folder)) == before


@pytest.mark.parametrize("backend", BACKENDS)
def test_activity_after_death_is_quarantined(request, backend, tmp_path, key_file) -> None:
    wh = open_backend(request, tmp_path, backend)
    with wh:
        people = write_csv(
            tmp_path / "person.csv",
            ["nhs_number", "year_of_birth", "sex", "practice_code", "registered_from",
             "date_of_death"],
            [[A, "1940", "F", "A81001", "2000-01-01", "2024-01-15"]],
        )  # fmt: skip
        reid = tmp_path / "reid.duckdb"
        ingest([people], table="person", warehouse=wh, key_file=key_file, reid_store=reid)
        spells = write_csv(
            tmp_path / "apc.csv",
            HEADER,
            [
                ["S8", A, "RXX", "2024-01-10", "2024-01-14", "21", "1", "", ""],  # alive
                ["S9", A, "RXX", "2024-02-01", "2024-02-02", "21", "1", "", ""],  # after death
            ],
        )
        [report] = ingest([spells], table="apc_spell", warehouse=wh, key_file=key_file,
                          reid_store=reid)  # fmt: skip
        assert (report.rows_accepted, report.rows_quarantined) == (1, 1)  # S9: both dates
        q = wh.table("quarantine").to_pandas()
        assert sorted(q["field"]) == ["admitted_on", "discharged_on"]
        assert set(q["source_row"]) == {2}
        assert all("after the person's death" in r for r in q["reason"])


@pytest.mark.slow
def test_cli_ingest_on_spark(spark, tmp_path, key_file, extract, monkeypatch) -> None:
    from joinedup.cli import app
    from joinedup.warehouse import open_warehouse

    monkeypatch.setenv("JOINEDUP_BACKEND", "duckdb")  # restored after the test
    args = ["--backend", "spark", "ingest", str(extract), "--table", "apc_spell"]
    args += ["--warehouse", str(tmp_path / "w.spark"), "--key-file", str(key_file)]
    args += ["--reid-store", str(tmp_path / "reid.duckdb")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "read 7 = accepted 3 + quarantined 4" in result.output
    assert (tmp_path / "w.spark" / "_log").is_dir() and not (tmp_path / "w.duckdb").exists()
    with open_warehouse(tmp_path / "w.spark", "spark", read_only=True) as wh:
        [b] = wh.batches().itertuples()
        assert (b.rows_read, b.rows_accepted, b.rows_quarantined) == (7, 3, 4)
        assert _counts(wh) == (3, 4)
