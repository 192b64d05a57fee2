"""FHIR R4 Bundle JSON and bulk NDJSON, including Synthea-like patients."""

from __future__ import annotations

import json

import duckdb
import pytest

import known_answers as ka
from joinedup.ingest import IngestError, ingest
from joinedup.ingest.fhir import NHS_SYSTEM

from .helpers import nhs_numbers

pytestmark = pytest.mark.integration
UKCORE = "https://fhir.hl7.org.uk/StructureDefinition/"


def _patient(pid, nhs, birth="1950-04-01", death=None):
    p = {
        "resourceType": "Patient",
        "id": pid,
        "identifier": [{"system": NHS_SYSTEM, "value": nhs}] if nhs else [],
        "gender": "female",
        "birthDate": birth,
        "generalPractitioner": [
            {
                "identifier": {
                    "system": "https://fhir.nhs.uk/Id/ods-organization-code",
                    "value": "A81001",
                }
            }
        ],
        "extension": [
            {
                "url": UKCORE + "Extension-UKCore-EthnicCategory",
                "valueCodeableConcept": {"coding": [{"code": "A"}]},
            },
            {
                "url": UKCORE + "Extension-UKCore-PatientRegistration",
                "valuePeriod": {"start": "2001-02-03"},
            },
        ],
    }
    if death:
        p["deceasedDateTime"] = death
    return p


def _inpatient(eid, pid, start, end, method="21"):
    return {
        "resourceType": "Encounter",
        "id": eid,
        "status": "finished",
        "class": {"code": "IMP"},
        "subject": {"reference": f"urn:uuid:{pid}"},
        "period": {"start": start, "end": end},
        "serviceProvider": {"identifier": {"value": "RXX"}},
        "extension": [
            {
                "url": UKCORE + "Extension-UKCore-AdmissionMethod",
                "valueCodeableConcept": {"coding": [{"code": method}]},
            },
            {
                "url": UKCORE + "Extension-UKCore-PatientClassification",
                "valueCodeableConcept": {"coding": [{"code": "1"}]},
            },
        ],
    }


def _resources(people):
    return [
        _patient("p1", people[0]),
        _patient("p2", people[1]),
        _inpatient("e1", "p1", "2024-01-02T10:00:00+00:00", "2024-01-05T12:00:00+00:00"),
        _inpatient("e2", "p2", "2024-01-02T10:00:00Z", "2024-01-01T12:00:00Z"),  # out of order
        {
            "resourceType": "Encounter",
            "id": "e3",
            "class": {"code": "EMER"},
            "subject": {"reference": "Patient/p1"},
            "period": {"start": "2024-01-02T08:15:00+00:00", "end": "2024-01-02T09:40:00+00:00"},
            "serviceProvider": {"identifier": {"value": "RXX"}},
            "extension": [
                {
                    "url": UKCORE + "Extension-UKCore-EmergencyCareDepartmentType",
                    "valueCodeableConcept": {"coding": [{"code": "1"}]},
                }
            ],
        },
        {
            "resourceType": "Condition",
            "id": "c1",
            "subject": {"reference": "urn:uuid:p1"},
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "44054006"}]},
            "recordedDate": "2010-05-06",
        },
        {
            "resourceType": "Condition",
            "id": "c2",
            "subject": {"reference": "urn:uuid:p1"},
            "encounter": {"reference": "urn:uuid:e1"},
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "I21.9"}]},
        },
        {
            "resourceType": "Procedure",
            "id": "x1",
            "subject": {"reference": "urn:uuid:p1"},
            "encounter": {"reference": "urn:uuid:e1"},
            "code": {
                "coding": [{"system": "http://fhir.nhs.uk/CodeSystem/opcs-4", "code": "K40.1"}]
            },
        },
        {"resourceType": "Observation", "id": "o1", "status": "final"},
    ]


@pytest.mark.parametrize("shape", ["bundle", "ndjson"])
def test_bundle_and_ndjson_fill_and_link_the_tables(tmp_path, shape):
    people = nhs_numbers(2, seed=21)
    items = _resources(people)
    if shape == "bundle":
        path = tmp_path / "bundle.json"
        bundle = {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in items],
        }
        path.write_text(json.dumps(bundle, indent=2))
    else:
        path = tmp_path / "export.ndjson"
        path.write_text("\n".join(json.dumps(r) for r in items) + "\n")
    wh, key_file = tmp_path / "w.duckdb", tmp_path / "k.key"
    reports = ingest([path], warehouse=wh, key_file=key_file)
    by_table = {r.table: r for r in reports}
    assert set(by_table) == {"person", "condition", "apc_spell", "apc_diagnosis", "ae_attendance"}
    assert (by_table["apc_spell"].rows_accepted, by_table["apc_spell"].rows_quarantined) == (1, 1)
    for r in reports:
        assert r.rows_read == r.rows_accepted + r.rows_quarantined
    key = ka.key_in_file(key_file)
    with duckdb.connect(str(wh), read_only=True) as con:
        assert con.execute(
            "SELECT person_id, year_of_birth, sex, ethnicity, practice_code, "
            "registered_from::VARCHAR FROM person ORDER BY person_id"
        ).fetchall() == sorted(
            [
                (ka.expected_person_id(n, key), 1950, "F", "A", "A81001", "2001-02-03")
                for n in people
            ]
        )
        assert con.execute(
            "SELECT s.spell_id, s.primary_procedure, d.icd10, c.condition, a.department_type "
            "FROM apc_spell s JOIN apc_diagnosis d USING (spell_id) "
            "JOIN condition c USING (person_id) JOIN ae_attendance a USING (person_id)"
        ).fetchall() == [("e1", "K401", "I219", "diabetes", 1)]
        assert con.execute("SELECT field FROM quarantine").fetchall() == [("discharged_on",)]
    assert all(n.encode() not in wh.read_bytes() for n in people)


def test_synthea_like_patients_without_nhs_numbers_are_quarantined_with_reasons(tmp_path):
    # Synthea writes US identifiers (SSN, driver's licence) and no GP registration
    synthea = {
        "resourceType": "Patient",
        "id": "b0f3c1e2",
        "identifier": [
            {"system": "https://github.com/synthetichealth/synthea", "value": "b0f3c1e2"},
            {"system": "http://hl7.org/fhir/sid/us-ssn", "value": "999-12-3456"},
        ],
        "name": [{"family": "Smith", "given": ["Ann"]}],
        "gender": "female",
        "birthDate": "1961-07-09",
    }
    path = tmp_path / "Patient.ndjson"
    path.write_text(json.dumps(synthea) + "\n")
    [report] = ingest(
        [path], table="person", warehouse=tmp_path / "w.duckdb", key_file=tmp_path / "k.key"
    )
    assert (report.rows_read, report.rows_quarantined) == (1, 1)
    reasons = dict(report.reasons)
    assert any(r.startswith("nhs_number: required") for r in reasons)
    assert any(r.startswith("practice_code: required") for r in reasons)
    assert b"Smith" not in (tmp_path / "w.duckdb").read_bytes()


def test_bad_fhir_files(tmp_path):
    broken = tmp_path / "broken.ndjson"
    broken.write_text('{"resourceType": "Patient"}\n{not json\n')
    with pytest.raises(IngestError, match=r"broken\.ndjson: line 2 is not JSON"):
        ingest([broken], warehouse=tmp_path / "w.duckdb", key_file=tmp_path / "k.key")
    empty = tmp_path / "obs.json"
    empty.write_text(json.dumps({"resourceType": "Observation", "id": "o"}))
    with pytest.raises(IngestError, match=r"obs\.json: no FHIR resources"):
        ingest([empty], warehouse=tmp_path / "w.duckdb", key_file=tmp_path / "k.key")
