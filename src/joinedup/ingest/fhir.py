"""FHIR R4 input: Bundle JSON and bulk-export NDJSON -> canonical rows.

Resources are flattened to canonical text columns (``nhs_number`` in place of
``person_id``) and then go through the same validation, pseudonymisation and load as a
CSV, one batch per file and table. What is read:

- Patient -> ``person``: NHS number (identifier system ``https://fhir.nhs.uk/Id/nhs-number``),
  birthDate (year only), gender, UK Core ethnic category extension, the registered
  practice (generalPractitioner identifier), registration period (UK Core
  registration extension period), deceasedDateTime.
- Encounter -> ``apc_spell`` (class IMP/ACUTE/NONAC), ``ae_attendance`` (EMER),
  ``op_appointment`` (AMB, VR). Admission method and patient classification come from
  UK Core extensions; without them an inpatient row is quarantined.
- Condition -> ``condition`` when coded with a QOF register's SNOMED CT concept, and
  -> ``apc_diagnosis`` when coded in ICD-10 and linked to an inpatient encounter.
- Procedure -> the spell's ``primary_procedure`` (first OPCS-4 code).

Synthetic generators (Synthea) give patients without NHS numbers or GP registrations:
those rows are quarantined with the reason, never guessed.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from joinedup.ingest.errors import IngestError
from joinedup.ingest.mapping import identity_mapping
from joinedup.schema import TABLES, codes

NHS_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
ODS_SYSTEM = "https://fhir.nhs.uk/Id/ods-organization-code"
SNOMED = "http://snomed.info/sct"
ICD10_SYSTEMS = ("http://hl7.org/fhir/sid/icd-10", "http://hl7.org/fhir/sid/icd-10-uk")
OPCS = "http://fhir.nhs.uk/CodeSystem/opcs-4"
ETHNIC_EXT = "Extension-UKCore-EthnicCategory"
ADMISSION_METHOD_EXT = "Extension-UKCore-AdmissionMethod"
CLASSIFICATION_EXT = "Extension-UKCore-PatientClassification"
REGISTRATION_EXT = "Extension-UKCore-PatientRegistration"
DEPARTMENT_TYPE_EXT = "Extension-UKCore-EmergencyCareDepartmentType"
SEX = {"male": "M", "female": "F", "other": "U", "unknown": "U"}
ENCOUNTER_TABLE = {
    "IMP": "apc_spell",
    "ACUTE": "apc_spell",
    "NONAC": "apc_spell",
    "EMER": "ae_attendance",
    "AMB": "op_appointment",
    "VR": "op_appointment",
}
REGISTER_BY_SNOMED = {v: k for k, v in codes.CONDITION_SNOMED.items()}


def resources(path: Path) -> Iterator[dict]:
    """Every resource in a Bundle JSON or NDJSON file, in file order."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise IngestError(path, f"cannot read the file ({exc})") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        doc = None  # not one JSON document: read it as NDJSON, one resource a line
    if isinstance(doc, dict):
        if doc.get("resourceType") == "Bundle":
            for entry in doc.get("entry", []) or []:
                if isinstance(entry, dict) and isinstance(entry.get("resource"), dict):
                    yield entry["resource"]
        elif "resourceType" in doc:
            yield doc
        else:
            raise IngestError(path, "not FHIR JSON: expected a Bundle or a resource")
        return
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise IngestError(path, f"line {n} is not JSON ({exc.msg})") from None
        if not isinstance(item, dict) or "resourceType" not in item:
            raise IngestError(path, f"line {n} is not a FHIR resource")
        yield item


def _ref_id(ref: object) -> str | None:
    if not isinstance(ref, dict) or not isinstance(ref.get("reference"), str):
        return None
    return ref["reference"].removeprefix("urn:uuid:").split("/")[-1]


def _identifier(items: object, system: str) -> str | None:
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and item.get("system") == system:
            return item.get("value")
    return None


def _ext(resource: dict, name: str) -> dict | None:
    for ext in resource.get("extension", []) or []:
        if isinstance(ext, dict) and str(ext.get("url", "")).endswith(name):
            return ext
    return None


def _ext_code(resource: dict, name: str) -> str | None:
    ext = _ext(resource, name)
    if ext is None:
        return None
    concept = ext.get("valueCodeableConcept") or {}
    for coding in concept.get("coding", []) or []:
        if coding.get("code") is not None:
            return str(coding["code"])
    for sub in ext.get("extension", []) or []:
        concept = sub.get("valueCodeableConcept") or {}
        for coding in concept.get("coding", []) or []:
            if coding.get("code") is not None:
                return str(coding["code"])
    return None


def _coding(concept: object, systems: tuple[str, ...]) -> str | None:
    if not isinstance(concept, dict):
        return None
    for coding in concept.get("coding", []) or []:
        if isinstance(coding, dict) and coding.get("system") in systems:
            return coding.get("code")
    return None


def _date(value: object) -> str | None:
    return value[:10] if isinstance(value, str) else None


def _stamp(value: object) -> str | None:
    return value[:19] if isinstance(value, str) else None


def flatten(path: Path) -> dict[str, list[dict]]:
    """Canonical text rows per table from one FHIR file."""
    items = list(resources(path))
    patients: dict[str, str | None] = {}
    for r in items:
        if r.get("resourceType") == "Patient" and r.get("id"):
            patients[r["id"]] = _identifier(r.get("identifier"), NHS_SYSTEM)
    procedures: dict[str, str] = {}
    for r in items:
        if r.get("resourceType") == "Procedure":
            enc = _ref_id(r.get("encounter"))
            code = _coding(r.get("code"), (OPCS,))
            if enc and code and enc not in procedures:
                procedures[enc] = code.replace(".", "")
    encounter_table: dict[str, str] = {}
    for r in items:
        if r.get("resourceType") == "Encounter" and r.get("id"):
            cls = (r.get("class") or {}).get("code")
            if cls in ENCOUNTER_TABLE:
                encounter_table[r["id"]] = ENCOUNTER_TABLE[cls]
    rows: dict[str, list[dict]] = defaultdict(list)
    positions: dict[str, int] = defaultdict(int)
    for r in items:
        kind = r.get("resourceType")
        nhs = patients.get(_ref_id(r.get("subject")) or "")
        if kind == "Patient":
            rows["person"].append(_person(r))
        elif kind == "Encounter" and r.get("id") in encounter_table:
            table = encounter_table[r["id"]]
            rows[table].append(_encounter(r, table, nhs, procedures.get(r["id"])))
        elif kind == "Condition":
            snomed = _coding(r.get("code"), (SNOMED,))
            icd = _coding(r.get("code"), ICD10_SYSTEMS)
            enc = _ref_id(r.get("encounter"))
            if snomed in REGISTER_BY_SNOMED:
                rows["condition"].append(
                    {
                        "nhs_number": nhs,
                        "condition": REGISTER_BY_SNOMED[snomed],
                        "code_system": "snomed",
                        "code": snomed,
                        "recorded_on": _date(r.get("recordedDate") or r.get("onsetDateTime")),
                    }
                )
            elif icd and enc and encounter_table.get(enc) == "apc_spell":
                positions[enc] += 1
                rows["apc_diagnosis"].append(
                    {
                        "spell_id": enc,
                        "position": str(positions[enc]),
                        "icd10": icd.replace(".", ""),
                    }
                )
    return rows


def _person(r: dict) -> dict:
    gp = r.get("generalPractitioner") or []
    practice = None
    for ref in gp if isinstance(gp, list) else []:
        ident = (ref or {}).get("identifier") or {}
        practice = practice or ident.get("value")
    registration = _ext(r, REGISTRATION_EXT) or {}
    period = registration.get("valuePeriod") or {}
    for sub in registration.get("extension", []) or []:
        period = sub.get("valuePeriod") or period
    birth = r.get("birthDate")
    return {
        "nhs_number": _identifier(r.get("identifier"), NHS_SYSTEM),
        "year_of_birth": birth[:4] if isinstance(birth, str) else None,
        "sex": SEX.get(r.get("gender"), r.get("gender")),
        "ethnicity": _ext_code(r, ETHNIC_EXT),
        "practice_code": practice,
        "registered_from": _date(period.get("start")),
        "registered_to": _date(period.get("end")),
        "date_of_death": _date(r.get("deceasedDateTime")),
    }


def _encounter(r: dict, table: str, nhs: str | None, procedure: str | None) -> dict:
    period = r.get("period") or {}
    provider = r.get("serviceProvider") or {}
    org = (provider.get("identifier") or {}).get("value")
    if table == "apc_spell":
        start, end = _date(period.get("start")), _date(period.get("end"))
        return {
            "spell_id": r.get("id"),
            "nhs_number": nhs,
            "provider_code": org,
            "admitted_on": start,
            "discharged_on": end,
            "admission_method": _ext_code(r, ADMISSION_METHOD_EXT),
            "patient_classification": _ext_code(r, CLASSIFICATION_EXT),
            "primary_procedure": procedure,
        }
    if table == "ae_attendance":
        return {
            "attendance_id": r.get("id"),
            "nhs_number": nhs,
            "provider_code": org,
            "arrived_at": _stamp(period.get("start")),
            "departed_at": _stamp(period.get("end")),
            "department_type": _ext_code(r, DEPARTMENT_TYPE_EXT),
        }
    return {
        "appointment_id": r.get("id"),
        "nhs_number": nhs,
        "provider_code": org,
        "date": _date(period.get("start")),
        "attended": "5" if r.get("status") == "finished" else None,
    }


def ingest_fhir(files, *, table, warehouse, key_file, reid_store, chunk_rows, on_rows):
    """Load FHIR files: every table they fill (or only ``table``), one batch per table."""
    import tempfile

    from joinedup.ingest.pipeline import _prepare, run_prepared
    from joinedup.warehouse.base import hash_file

    if table is not None and table not in TABLES:
        raise IngestError(None, f"unknown table {table!r}; expected one of: {', '.join(TABLES)}")
    with tempfile.TemporaryDirectory(prefix="joinedup-fhir-") as tmp:
        prepared = []
        for path in files:
            if not path.is_file():
                raise IngestError(path, "no such file")
            content_hash = hash_file(path)
            per_table = flatten(path)
            wanted = [table] if table else [t for t in TABLES if per_table.get(t)]
            if not any(per_table.get(t) for t in wanted):
                raise IngestError(
                    path, f"no FHIR resources for {' or '.join(wanted) or 'any canonical table'}"
                )
            for name in wanted:
                mapping = identity_mapping(TABLES[name])
                names = list(mapping.target.columns)
                data = pa.table(
                    {
                        c: pa.array([_text(row.get(c)) for row in per_table[name]], pa.string())
                        for c in names
                    }
                )
                staged = Path(tmp) / f"{len(prepared)}-{name}.parquet"
                pq.write_table(data, staged)
                prep = _prepare(staged, mapping, "parquet")
                prep.content_hash = content_hash
                prep.source = str(path)
                prepared.append(prep)
        return run_prepared(prepared, warehouse, key_file, reid_store, None, chunk_rows, on_rows)


def _text(value: object) -> str | None:
    return None if value is None else str(value)
