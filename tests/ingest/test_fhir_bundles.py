"""FHIR as commonly exported: a folder of one Bundle per patient (Synthea's shape), with
files of only organisations and practitioners, keyed by NHS number or by Patient.id."""

from __future__ import annotations

import json
import uuid

import duckdb
import pytest
from typer.testing import CliRunner

from joinedup.cli import app
from joinedup.ingest import IngestError, ingest
from joinedup.ingest.fhir import NHS_SYSTEM, ODS_SYSTEM, PATIENT_SCHEME, _parse_ref
from joinedup.ingest.keys import source_person_id
from joinedup.ingest.pseudonymise import load_or_create_key, person_id

from .helpers import nhs_numbers

pytestmark = pytest.mark.integration

UKCORE = "https://fhir.hl7.org.uk/StructureDefinition/"
SYNTHEA = "https://github.com/synthetichealth/synthea"
ACT = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
SNOMED = "http://snomed.info/sct"
# Patient ids as Synthea writes them (UUIDs); encounters have their own.
ANN, BOB, CAL = (str(uuid.UUID(int=n, version=4)) for n in (11, 22, 33))
SYNTHEA_ORG = str(uuid.UUID(int=44, version=4))


def _id() -> str:
    return str(uuid.uuid4())


def _patient(pid: str, given: str, family: str, registered: bool) -> dict:
    """A patient with Synthea's identifiers (no NHS number); ``registered`` adds a GP
    practice and registration period as a UK source without NHS numbers would."""
    p = {
        "resourceType": "Patient",
        "id": pid,
        "identifier": [
            {"system": SYNTHEA, "value": pid},
            {"system": "http://hospital.smarthealthit.org", "value": pid},
            {"system": "http://hl7.org/fhir/sid/us-ssn", "value": "999-41-1234"},
        ],
        "name": [{"use": "official", "family": family, "given": [given]}],
        "gender": "female",
        "birthDate": "1958-03-14",
    }
    if registered:
        p["generalPractitioner"] = [{"identifier": {"system": ODS_SYSTEM, "value": "A81001"}}]
        p["extension"] = [
            {
                "url": UKCORE + "Extension-UKCore-PatientRegistration",
                "valuePeriod": {"start": "2005-06-01"},
            }
        ]
    return p


def _encounter(subject: str, cls: str, start: str, provider: dict, snomed: str | None = None):
    e = {
        "resourceType": "Encounter",
        "id": _id(),
        "status": "finished",
        "class": {"system": ACT, "code": cls},
        "subject": {"reference": subject, "display": "Ms. Someone"},
        "period": {"start": start, "end": start[:11] + "23:10:00-05:00"},
        "serviceProvider": provider,
    }
    if snomed:
        e["type"] = [{"coding": [{"system": SNOMED, "code": snomed}]}]
    return e


def _bundle(resources: list[dict], kind: str = "collection") -> dict:
    entries = []
    for r in resources:
        entry = {"fullUrl": f"urn:uuid:{r['id']}", "resource": r}
        if kind == "transaction":
            entry["request"] = {"method": "POST", "url": r["resourceType"]}
        entries.append(entry)
    return {"resourceType": "Bundle", "type": kind, "entry": entries}


def _org(oid: str, name: str, identifier: dict) -> dict:
    return {
        "resourceType": "Organization",
        "id": oid,
        "identifier": [identifier],
        "type": [{"coding": [{"code": "prov"}]}],
        "name": name,
    }


def _folder(tmp_path):
    """Three patients' bundles (one patient in two files), Synthea's hospital and
    practitioner files, and a file of one NHS organisation."""
    folder = tmp_path / "fhir"
    folder.mkdir()
    ods_ref = {"reference": f"Organization?identifier={ODS_SYSTEM}|RXX", "display": "Trust"}
    synthea_ref = {"reference": f"Organization?identifier={SYNTHEA}|{SYNTHEA_ORG}"}
    ann = [
        _patient(ANN, "Ann123", "Smith456", registered=True),
        _encounter(f"urn:uuid:{ANN}", "EMER", "2024-02-03T08:15:00-05:00", ods_ref),
        # a first outpatient appointment at an organisation another file describes
        _encounter(
            f"urn:uuid:{ANN}",
            "AMB",
            "2024-03-04T10:00:00-05:00",
            {"reference": "Organization/org-rxx"},
            snomed="185387006",
        ),
        # Synthea's own: a wellness visit and an admission, without UK codes
        _encounter(f"urn:uuid:{ANN}", "AMB", "2023-05-06T09:00:00-05:00", synthea_ref, "185349003"),
        _encounter(f"urn:uuid:{ANN}", "IMP", "2023-07-08T09:00:00-05:00", ods_ref, "32485007"),
        {
            "resourceType": "Condition",
            "id": _id(),
            "subject": {"reference": f"urn:uuid:{ANN}"},
            "code": {"coding": [{"system": SNOMED, "code": "44054006"}]},
            "onsetDateTime": "2010-05-06T00:00:00-05:00",
            "recordedDate": "2010-05-06T00:00:00-05:00",
        },
    ]
    bob = [
        _patient(BOB, "Bob7", "Jones8", registered=True),
        _encounter(f"Patient/{BOB}", "EMER", "2024-04-05T11:00:00-05:00", ods_ref),
    ]
    # a later export for Bob: a transaction bundle holding only a new encounter
    bob_later = [_encounter(f"Patient/{BOB}", "EMER", "2024-06-07T12:00:00-05:00", ods_ref)]
    cal = [
        _patient(CAL, "Cal9", "Brown1", registered=False),  # as Synthea: no GP practice
        _encounter(f"urn:uuid:{CAL}", "EMER", "2024-01-02T07:00:00-05:00", ods_ref),
    ]
    hospital = [
        _org(SYNTHEA_ORG, "GENERAL HOSPITAL", {"system": SYNTHEA, "value": SYNTHEA_ORG}),
        {"resourceType": "Location", "id": _id(), "name": "GENERAL HOSPITAL"},
    ]
    practitioners = [
        {
            "resourceType": "Practitioner",
            "id": _id(),
            "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": "9999941234"}],
            "name": [{"family": "Pyle", "given": ["Bertram"], "prefix": ["Dr."]}],
        }
    ]
    nhs_trust = [_org("org-rxx", "An NHS Trust", {"system": ODS_SYSTEM, "value": "RXX"})]
    files = {
        f"Ann123_Smith456_{ANN}.json": _bundle(ann),
        f"Bob7_Jones8_{BOB}.json": _bundle(bob, "transaction"),
        f"Bob7_Jones8_{BOB}_2024-06.json": _bundle(bob_later, "transaction"),
        f"Cal9_Brown1_{CAL}.json": _bundle(cal),
        "hospitalInformation1700000000000.json": _bundle(hospital),
        "practitionerInformation1700000000000.json": _bundle(practitioners),
        "organisations.json": _bundle(nhs_trust),
    }
    for name, doc in files.items():
        (folder / name).write_text(json.dumps(doc, indent=2))
    return folder


def _run(folder, tmp_path, *args):
    return CliRunner().invoke(
        app,
        ["ingest", str(folder), "--warehouse", str(tmp_path / "w.duckdb"),
         "--key-file", str(tmp_path / "k.key"), *args],
        env={"COLUMNS": "250"},
    )  # fmt: skip


def _every_value(con) -> list[str]:
    tables = [t for (t,) in con.execute("SHOW TABLES").fetchall()]
    values = []
    for t in tables:
        cols = [c for (c, *_) in con.execute(f'DESCRIBE "{t}"').fetchall()]
        for c in cols:
            rows = con.execute(f'SELECT DISTINCT CAST("{c}" AS VARCHAR) FROM "{t}"').fetchall()
            values += [v for (v,) in rows if v is not None]
    return values


def test_a_folder_of_patient_bundles_loads_keyed_by_patient_id(tmp_path):
    folder = _folder(tmp_path)
    result = _run(folder, tmp_path, "--fhir-person-key", "patient-id")
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "hospitalInformation1700000000000.json: no patient data" in out
    assert "no Organization has an ODS code" in out
    assert "practitionerInformation1700000000000.json: no patient data (1 Practitioner)" in out
    assert "FHIR: no UK Core AdmissionMethod extension" in out  # the Synthea admission
    key = load_or_create_key(tmp_path / "k.key")
    ann, bob, cal = (source_person_id(p, PATIENT_SCHEME, key) for p in (ANN, BOB, CAL))
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        people = dict(con.execute("SELECT person_id, practice_code FROM person").fetchall())
        assert people == {ann: "A81001", bob: "A81001"}  # Cal has no GP practice
        attendances = con.execute(
            "SELECT person_id, provider_code FROM ae_attendance ORDER BY arrived_at"
        ).fetchall()
        # Cal, Ann, Bob, Bob again (a second file with the same Patient.id)
        assert attendances == [(cal, "RXX"), (ann, "RXX"), (bob, "RXX"), (bob, "RXX")]
        linked = con.execute(
            "SELECT p.person_id, count(*) FROM ae_attendance a JOIN person p USING (person_id) "
            "GROUP BY 1 ORDER BY 2"
        ).fetchall()
        assert linked == [(ann, 1), (bob, 2)]
        assert con.execute(
            "SELECT o.person_id, o.provider_code, o.first_attendance, c.condition "
            "FROM op_appointment o JOIN person p USING (person_id) "
            "JOIN condition c USING (person_id)"
        ).fetchall() == [(ann, "RXX", True, "diabetes")]
        assert con.execute("SELECT count(*) FROM apc_spell").fetchone() == (0,)
        keyed = con.execute(
            "SELECT DISTINCT table_name, person_key FROM load_batch ORDER BY 1"
        ).fetchall()
        assert keyed == [
            ("ae_attendance", PATIENT_SCHEME), ("apc_spell", PATIENT_SCHEME),
            ("condition", PATIENT_SCHEME), ("op_appointment", PATIENT_SCHEME),
            ("organisation", None), ("person", PATIENT_SCHEME),
        ]  # fmt: skip
        reasons = {r for (r,) in con.execute("SELECT DISTINCT field FROM quarantine").fetchall()}
        # Ann's wellness visit (no ODS provider, no first/follow-up code), her Synthea
        # admission, Cal (no practice), the trust (kind unknown): quarantined, not guessed
        assert reasons == {
            "provider_code", "first_attendance", "admission_method",
            "patient_classification", "practice_code", "registered_from", "kind",
        }  # fmt: skip
        values = _every_value(con)
    for patient_id in (ANN, BOB, CAL):
        assert patient_id not in values  # no stored value is a source Patient.id
        assert not any(patient_id in v for v in values)  # nor holds one (file names)
    for name in ("Ann123", "Smith456", "Bob7", "Cal9"):
        assert not any(name in v for v in values)
    assert ANN.encode() not in (tmp_path / "w.duckdb").read_bytes()


def test_without_the_flag_patients_are_quarantined_and_loading_again_rekeys(tmp_path):
    folder = _folder(tmp_path)
    result = _run(folder, tmp_path)
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "hospitalInformation1700000000000.json: no patient data" in out
    assert "nhs_number: required; missing" in out
    assert "--fhir-person-key patient-id keys people by Patient.id instead" in out
    wh = tmp_path / "w.duckdb"
    with duckdb.connect(str(wh), read_only=True) as con:
        for table in ("person", "ae_attendance", "op_appointment", "condition"):
            assert con.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,)
        assert con.execute(
            "SELECT count(*) FROM quarantine WHERE table_name = 'person' AND field = 'nhs_number'"
        ).fetchone() == (3,)
        assert {
            k for (k,) in con.execute("SELECT DISTINCT person_key FROM load_batch").fetchall()
        } == {
            "nhs_number",
            None,
        }
    # the same files again, keyed by Patient.id: their batches are replaced, not skipped
    again = _run(folder, tmp_path, "--fhir-person-key", "patient-id")
    assert again.exit_code == 0, again.output
    assert "keyed by nhs_number" in " ".join(again.output.split())
    with duckdb.connect(str(wh), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM person").fetchone() == (2,)
        assert con.execute("SELECT count(*) FROM ae_attendance").fetchone() == (4,)
        statuses = con.execute(
            "SELECT person_key, status, count(*) FROM load_batch WHERE table_name = 'person' "
            "GROUP BY ALL ORDER BY ALL"
        ).fetchall()
        assert statuses == [(PATIENT_SCHEME, "loaded", 3), ("nhs_number", "replaced", 3)]
    # and once more: nothing to do
    third = _run(folder, tmp_path, "--fhir-person-key", "patient-id")
    assert third.exit_code == 0 and "nothing to do" in third.output


def test_files_that_are_not_fhir_json_stop_the_load_naming_the_file(tmp_path):
    folder = _folder(tmp_path)
    (folder / "notes.json").write_text("Patient list, March\n")
    with pytest.raises(IngestError, match=r"notes\.json: not JSON"):
        ingest([folder], warehouse=tmp_path / "w.duckdb", key_file=tmp_path / "k.key")
    result = _run(folder, tmp_path, "--fhir-person-key", "patient-id")
    assert result.exit_code != 0 and "notes.json: not JSON" in result.stderr
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM load_batch").fetchone() == (0,)
    bad_key = _run(tmp_path / "nowhere", tmp_path, "--fhir-person-key", "ssn")
    assert bad_key.exit_code != 0 and "expected nhs-number or patient-id" in bad_key.stderr


def test_a_bulk_export_split_by_resource_type_links_across_its_files(tmp_path):
    # NDJSON as a FHIR server's bulk export writes it: one file per resource type
    number = nhs_numbers(1, seed=9)[0]
    patient = _patient("p-1", "Dee", "Green", registered=True)
    patient["identifier"] = [{"system": NHS_SYSTEM, "value": number}]
    ods_ref = {"identifier": {"system": ODS_SYSTEM, "value": "RXX"}}
    (tmp_path / "Patient.ndjson").write_text(json.dumps(patient) + "\n")
    (tmp_path / "Encounter.ndjson").write_text(
        json.dumps(_encounter("Patient/p-1", "EMER", "2024-02-03T08:15:00+00:00", ods_ref)) + "\n"
    )
    wh, key_file = tmp_path / "w.duckdb", tmp_path / "k.key"
    reports = ingest(
        [tmp_path / "Encounter.ndjson", tmp_path / "Patient.ndjson"],
        warehouse=wh,
        key_file=key_file,
    )
    assert [(r.table, r.rows_accepted) for r in reports] == [("person", 1), ("ae_attendance", 1)]
    with duckdb.connect(str(wh), read_only=True) as con:
        assert con.execute(
            "SELECT a.person_id FROM ae_attendance a JOIN person USING (person_id)"
        ).fetchall() == [(person_id(number, load_or_create_key(key_file)),)]


def test_a_resource_of_the_wrong_shape_is_a_whole_file_error(tmp_path):
    bad = _encounter("urn:uuid:p", "EMER", "2024-02-03T08:15:00+00:00", {})
    bad["period"] = ["2024-02-03"]
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(_bundle([_patient("p", "Ed", "Hall", False), bad])))
    with pytest.raises(IngestError, match=r"bundle\.json: Encounter \(entry 2\) is not valid FHIR"):
        ingest([path], warehouse=tmp_path / "w.duckdb", key_file=tmp_path / "k.key")


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("urn:uuid:abc-1", (None, "abc-1", None)),
        ("Patient/abc-1", ("Patient", "abc-1", None)),
        ("https://server.example/fhir/Patient/abc-1/_history/3", ("Patient", "abc-1", None)),
        (
            f"Organization?identifier={SYNTHEA}|{SYNTHEA_ORG}",
            ("Organization", None, (SYNTHEA, SYNTHEA_ORG)),
        ),
        ("#contained-1", (None, None, None)),
    ],
)
def test_reference_shapes(reference, expected):
    assert _parse_ref(reference) == expected
