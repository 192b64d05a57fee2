"""FHIR R4 input: Bundle JSON and bulk-export NDJSON -> canonical rows.

Resources are flattened to canonical text columns (``nhs_number``, or ``source_key``
when people are keyed by ``Patient.id``, in place of ``person_id``) and then go through
the same validation, pseudonymisation and load as a CSV, one batch per file and table.
What is read:

- Patient -> ``person``: NHS number (identifier system ``https://fhir.nhs.uk/Id/nhs-number``),
  birthDate (year only), gender, UK Core ethnic category extension, the registered
  practice (generalPractitioner: an ODS identifier, or a reference to an Organization
  with one), registration period (UK Core registration extension period),
  deceasedDateTime.
- Encounter -> ``apc_spell`` (class IMP/ACUTE/NONAC), ``ae_attendance`` (EMER),
  ``op_appointment`` (AMB, VR). The provider is the ODS code of ``serviceProvider``
  (its identifier, a conditional reference ``Organization?identifier=...|RXX``, or a
  reference to an Organization in any file of the load that has an ODS identifier).
  Admission method and patient classification come from UK Core extensions; without
  them an inpatient row is quarantined. An outpatient row needs a first or follow-up
  SNOMED CT code in ``Encounter.type`` (:data:`FIRST_ATTENDANCE`).
- Condition -> ``condition`` when coded with a QOF register's SNOMED CT concept, and
  -> ``apc_diagnosis`` when coded in ICD-10 and linked to an inpatient encounter.
- Procedure -> the spell's ``primary_procedure`` (first OPCS-4 code).
- Organization -> ``organisation``, from files that hold no patient data (Synthea's
  ``hospitalInformation*.json``), where it has an ODS code. Files of only
  Organization, Practitioner, Location and the like add what they can or are skipped
  with a note; they never stop the load.

References are resolved across every file of one load, whether written ``urn:uuid:X``
(a Bundle entry's ``fullUrl``), ``Patient/X``, an absolute URL or a conditional
reference, so one bundle per patient (as Synthea writes) links.

People are keyed by NHS number (the default), or by ``Patient.id`` (``person_key=
"patient-id"``): the id is then a pseudonymised source key of scheme ``fhir_patient``
(:mod:`joinedup.ingest.keys`), re-keyed at the door like any other and never stored.
Synthetic generators (Synthea) give patients without NHS numbers or GP registrations
and encounters without UK Core extensions: those rows are quarantined with reasons
that say which FHIR element was missing, never guessed.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.parquet as pq

from joinedup.ingest.errors import IngestError
from joinedup.ingest.keys import NHS_SCHEME, SOURCE_KEY
from joinedup.ingest.mapping import NHS_NUMBER, ColumnSpec, Mapping, TargetSpec, identity_mapping
from joinedup.schema import TABLES, Table, codes

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
#: SNOMED CT concepts in ``Encounter.type`` that say whether an outpatient appointment
#: was a first one: new patient consultation; follow-up visit, follow-up encounter.
FIRST_ATTENDANCE = {"185387006": "true", "185389009": "false", "390906007": "false"}

#: How people are keyed: the values of ``--fhir-person-key``.
NHS_KEY, PATIENT_ID_KEY = "nhs-number", "patient-id"
PERSON_KEYS = (NHS_KEY, PATIENT_ID_KEY)
#: The source key scheme of people keyed by ``Patient.id``.
PATIENT_SCHEME = "fhir_patient"
#: Resource types that hold no patient data: a file of only these is noted or adds
#: organisations, never an error.
ADMIN_TYPES = frozenset(
    {
        "Organization", "OrganizationAffiliation", "Practitioner", "PractitionerRole",
        "Location", "HealthcareService", "Endpoint",
    }
)  # fmt: skip
#: Staged beside the canonical columns (kept in a quarantined row's ``raw_row``): where
#: in the file the row came from (entry or line, never an id).
RESOURCE = "fhir_resource"

#: Where each required canonical column comes from in FHIR: added to the load report's
#: reason when the column is missing, so the reason says what the resource lacked.
_FROM = {
    ("person", NHS_NUMBER): "the Patient has no identifier with system "
    f"{NHS_SYSTEM} (Synthea and other non-UK sources have none); "
    "--fhir-person-key patient-id keys people by Patient.id instead",
    ("*", NHS_NUMBER): "the subject Patient has no NHS number (identifier system "
    f"{NHS_SYSTEM}) in the files loaded; --fhir-person-key patient-id keys people by "
    "Patient.id instead",
    ("*", SOURCE_KEY): "the resource has no subject reference to a Patient",
    ("person", "year_of_birth"): "no Patient.birthDate",
    ("person", "sex"): "no Patient.gender",
    ("person", "practice_code"): "Patient.generalPractitioner gives no GP practice ODS code "
    "(Synthea writes none)",
    ("person", "registered_from"): "no registration period (UK Core PatientRegistration extension)",
    ("*", "provider_code"): "Encounter.serviceProvider gives no ODS code (identifier system "
    f"{ODS_SYSTEM}), directly or through an Organization in the files loaded",
    ("apc_spell", "admitted_on"): "no Encounter.period.start",
    ("apc_spell", "admission_method"): "no UK Core AdmissionMethod extension on the "
    "Encounter (not inferred from its class)",
    ("apc_spell", "patient_classification"): "no UK Core PatientClassification extension "
    "on the Encounter (not inferred from its class)",
    ("ae_attendance", "arrived_at"): "no Encounter.period.start",
    ("op_appointment", "date"): "no Encounter.period.start",
    ("op_appointment", "first_attendance"): "Encounter.type has no SNOMED CT new patient "
    "consultation (185387006) or follow-up (185389009, 390906007) code",
    ("op_appointment", "attended"): "Encounter.status is not finished (only a finished "
    "encounter counts as attended)",
    ("condition", "recorded_on"): "no Condition.recordedDate or onsetDateTime",
    ("organisation", "name"): "no Organization.name",
    ("organisation", "kind"): "a FHIR Organization does not say which kind of partner "
    "or provider it is (acute trust, council, ...); load the organisation table from a "
    "file with canonical headers",
}


# -- reading ---------------------------------------------------------------------------


def entries(path: Path) -> Iterator[tuple[str, str | None, dict]]:
    """Every resource in a Bundle JSON or NDJSON file, in file order, as (where in the
    file, the Bundle entry's ``fullUrl``, resource). NDJSON lines may be Bundles too."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise IngestError(path, f"cannot read the file ({exc})") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        doc = None  # not one JSON document: read it as NDJSON, one resource a line
    if doc is not None:
        if not isinstance(doc, dict) or "resourceType" not in doc:
            raise IngestError(path, "not FHIR JSON: expected a Bundle or a resource")
        yield from _unwrap(doc, "")
        return
    first = True
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            if first:
                raise IngestError(
                    path, f"not JSON ({exc.msg} at line {n}): expected a FHIR Bundle or "
                    "resource, or NDJSON with one resource a line"
                ) from None  # fmt: skip
            raise IngestError(path, f"line {n} is not JSON ({exc.msg})") from None
        if not isinstance(item, dict) or "resourceType" not in item:
            raise IngestError(path, f"line {n} is not a FHIR resource")
        first = False
        yield from _unwrap(item, f"line {n}")


def _unwrap(doc: dict, where: str) -> Iterator[tuple[str, str | None, dict]]:
    if doc.get("resourceType") != "Bundle":
        yield where or "resource", None, doc
        return
    for i, entry in enumerate(doc.get("entry", []) or [], start=1):
        if isinstance(entry, dict) and isinstance(entry.get("resource"), dict):
            url = entry.get("fullUrl")
            at = f"{where} entry {i}" if where else f"entry {i}"
            yield at, url if isinstance(url, str) else None, entry["resource"]


def resources(path: Path) -> Iterator[dict]:
    """Every resource in a Bundle JSON or NDJSON file, in file order."""
    for _, _, resource in entries(path):
        yield resource


def _own_id(url: str | None, resource: dict) -> str | None:
    """A resource's id: ``id``, or (a transaction Bundle's new resource) the last part
    of its entry's ``fullUrl`` (``urn:uuid:X`` -> X)."""
    rid = resource.get("id")
    if isinstance(rid, str) and rid:
        return rid
    if url:
        return url.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1] or None
    return None


def _parse_ref(text: str) -> tuple[str | None, str | None, tuple[str | None, str] | None]:
    """(resource type, id, (system, value) of a conditional reference) of a reference:
    ``urn:uuid:X``, ``Type/X``, ``https://server/fhir/Type/X/_history/2`` or
    ``Type?identifier=system|value``."""
    if text.startswith("#"):
        return None, None, None  # a contained resource
    if text.startswith(("urn:uuid:", "urn:oid:")):
        return None, text.split(":", 2)[2] or None, None
    path, _, query = text.partition("?")
    kind = path.rstrip("/").rsplit("/", 1)[-1] or None
    if query:
        for part in query.split("&"):
            name, _, value = part.partition("=")
            if name == "identifier" and value:
                system, bar, code = unquote(value).rpartition("|")
                return kind, None, ((system or None) if bar else None, code)
        return kind, None, None
    parts = [p for p in path.split("/") if p]
    if "_history" in parts:
        parts = parts[: parts.index("_history")]
    if len(parts) >= 2:
        return parts[-2], parts[-1], None
    return None, (parts[-1] if parts else None), None


class _Refs:
    """Resolves the references of one file (``fullUrl`` of its entries first)."""

    def __init__(self, items: list[tuple[str, str | None, dict]]) -> None:
        self.by_url: dict[str, tuple[str | None, str | None]] = {}
        for _, url, r in items:
            if url:
                self.by_url[url] = (r.get("resourceType"), _own_id(url, r))

    def resolve(self, ref: object) -> tuple[str | None, str | None, tuple | None]:
        if not isinstance(ref, dict) or not isinstance(ref.get("reference"), str):
            return None, None, None
        text = ref["reference"]
        if text in self.by_url:
            kind, rid = self.by_url[text]
            return kind, rid, None
        return _parse_ref(text)

    def id_of(self, ref: object, kind: str) -> str | None:
        """The id of the ``kind`` resource ``ref`` points to (None if another kind)."""
        found, rid, _ = self.resolve(ref)
        return rid if found in (None, kind) else None


@dataclass
class _Index:
    """What the files of one load know about each other: patients' NHS numbers and
    organisations' ODS codes, by id and by identifier."""

    nhs: dict[str, str | None] = field(default_factory=dict)
    ods: dict[tuple, str] = field(default_factory=dict)
    marks: dict[str, list] = field(default_factory=dict)  # id -> [NHS number, *names]

    def add(self, items: list[tuple[str, str | None, dict]]) -> None:
        for _, url, r in items:
            kind, rid = r.get("resourceType"), _own_id(url, r)
            if kind == "Patient" and rid:
                number = _identifier(r.get("identifier"), NHS_SYSTEM)
                self.nhs[rid] = number or self.nhs.get(rid)
                marks = [number or (self.marks.get(rid) or [None])[0]]
                for n in r.get("name") or []:
                    if isinstance(n, dict) and isinstance(n.get("given") or [], list):
                        marks += [n.get("family"), *(n.get("given") or [])]
                self.marks[rid] = marks
            elif kind == "Organization":
                code = _identifier(r.get("identifier"), ODS_SYSTEM)
                if not code:
                    continue
                if rid:
                    self.ods[("Organization", rid)] = code
                for ident in r.get("identifier") or []:
                    if isinstance(ident, dict) and ident.get("value"):
                        self.ods[(ident.get("system"), str(ident["value"]))] = code

    def ods_of(self, ref: object, refs: _Refs) -> str | None:
        """The ODS code of the organisation ``ref`` names, where the load knows it."""
        if not isinstance(ref, dict):
            return None
        ident = ref.get("identifier")
        if isinstance(ident, dict) and ident.get("value"):
            if ident.get("system") in (None, ODS_SYSTEM):
                return str(ident["value"])
            found = self.ods.get((ident.get("system"), str(ident["value"])))
            if found:
                return found
        kind, rid, conditional = refs.resolve(ref)
        if conditional is not None:
            system, value = conditional
            return value if system == ODS_SYSTEM else self.ods.get((system, value))
        if rid and kind in (None, "Organization"):
            return self.ods.get(("Organization", rid))
        return None


def _identifier(items: object, system: str) -> str | None:
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and item.get("system") == system and item.get("value"):
            return str(item["value"])
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


def _codings(concepts: object) -> list[dict]:
    """The codings of a list of CodeableConcepts."""
    return [
        coding
        for concept in (concepts if isinstance(concepts, list) else [])
        if isinstance(concept, dict)
        for coding in concept.get("coding") or []
        if isinstance(coding, dict)
    ]


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


# -- flattening ------------------------------------------------------------------------


def flatten(
    path: Path, index: _Index | None = None, person_key: str = NHS_KEY
) -> dict[str, list[dict]]:
    """Canonical text rows per table from one FHIR file. ``index`` holds what the
    other files of the load say about patients and organisations (default: this file
    alone); ``person_key`` says how people are keyed (:data:`PERSON_KEYS`). A resource
    whose elements have the wrong shape (a list for a Period, ...) raises IngestError."""
    items = list(entries(path))
    at: list[str] = ["the file"]  # where the resource being read is
    try:
        return _flatten(items, index, person_key, at)
    except (AttributeError, TypeError, ValueError) as exc:
        raise IngestError(path, f"{at[0]} is not valid FHIR R4 ({exc})") from None


def _flatten(
    items: list, index: _Index | None, person_key: str, at: list[str]
) -> dict[str, list[dict]]:
    refs = _Refs(items)
    if index is None:
        index = _Index()
        index.add(items)
    by_patient = person_key == PATIENT_ID_KEY
    key_column = SOURCE_KEY if by_patient else NHS_NUMBER
    here = _Index()
    here.add(items)  # this file's patients first, then the other files'

    def person(ref: object) -> str | None:
        pid = refs.id_of(ref, "Patient")
        if by_patient:
            return pid
        if isinstance(ref, dict) and isinstance(ref.get("identifier"), dict):
            ident = ref["identifier"]
            if ident.get("system") == NHS_SYSTEM and ident.get("value"):
                return str(ident["value"])  # a logical reference by NHS number
        return (here.nhs.get(pid) or index.nhs.get(pid)) if pid else None

    procedures: dict[str, str] = {}
    encounter_table: dict[str, str] = {}
    for where, url, r in items:
        at[0] = f"{r.get('resourceType')} ({where})"
        if r.get("resourceType") == "Procedure":
            enc = refs.id_of(r.get("encounter"), "Encounter")
            code = _coding(r.get("code"), (OPCS,))
            if enc and code and enc not in procedures:
                procedures[enc] = code.replace(".", "")
        elif r.get("resourceType") == "Encounter" and _own_id(url, r):
            cls = r.get("class")  # a Coding in R4 (a list of concepts in R5)
            for coding in [cls] if isinstance(cls, dict) else _codings(cls):
                if coding.get("code") in ENCOUNTER_TABLE:
                    encounter_table[_own_id(url, r)] = ENCOUNTER_TABLE[coding["code"]]
                    break
    admin = bool(items) and all(r.get("resourceType") in ADMIN_TYPES for _, _, r in items)
    rows: dict[str, list[dict]] = defaultdict(list)
    positions: dict[str, int] = defaultdict(int)
    for where, url, r in items:
        kind = r.get("resourceType")
        at[0] = f"{kind} ({where})"
        origin = {RESOURCE: at[0]}
        if kind == "Patient":
            row = _person(r, refs, index)
            if by_patient:
                row = {k: v for k, v in row.items() if k != NHS_NUMBER} | {
                    SOURCE_KEY: _own_id(url, r)
                }
            rows["person"].append(row | origin)
        elif kind == "Encounter" and _own_id(url, r) in encounter_table:
            eid = _own_id(url, r)
            table = encounter_table[eid]
            row = _encounter(r, eid, table, index.ods_of(r.get("serviceProvider"), refs))
            if table == "apc_spell":
                row["primary_procedure"] = procedures.get(eid)
            rows[table].append(row | {key_column: person(r.get("subject"))} | origin)
        elif kind == "Condition":
            snomed = _coding(r.get("code"), (SNOMED,))
            icd = _coding(r.get("code"), ICD10_SYSTEMS)
            enc = refs.id_of(r.get("encounter"), "Encounter")
            if snomed in REGISTER_BY_SNOMED:
                rows["condition"].append(
                    {
                        key_column: person(r.get("subject")),
                        "condition": REGISTER_BY_SNOMED[snomed],
                        "code_system": "snomed",
                        "code": snomed,
                        "recorded_on": _date(r.get("recordedDate") or r.get("onsetDateTime")),
                    }
                    | origin
                )
            elif icd and enc and encounter_table.get(enc) == "apc_spell":
                positions[enc] += 1
                rows["apc_diagnosis"].append(
                    {"spell_id": enc, "position": str(positions[enc]), "icd10": icd} | origin
                )
        elif kind == "Organization" and admin:
            code = _identifier(r.get("identifier"), ODS_SYSTEM)
            if code:
                rows["organisation"].append(
                    {
                        "org_code": code,
                        "name": r.get("name"),
                        "kind": None,  # FHIR does not say; never guessed
                        "parent_code": index.ods_of(r.get("partOf"), refs),
                    }
                    | origin
                )
    return rows


def _person(r: dict, refs: _Refs, index: _Index) -> dict:
    practice = None
    for ref in r.get("generalPractitioner") or []:
        if not isinstance(ref, dict) or ref.get("type") in ("Practitioner", "PractitionerRole"):
            continue
        practice = practice or index.ods_of(ref, refs)
    registration = _ext(r, REGISTRATION_EXT) or {}
    period = registration.get("valuePeriod") or {}
    for sub in registration.get("extension", []) or []:
        period = sub.get("valuePeriod") or period
    birth = r.get("birthDate")
    return {
        NHS_NUMBER: _identifier(r.get("identifier"), NHS_SYSTEM),
        "year_of_birth": birth[:4] if isinstance(birth, str) else None,
        "sex": SEX.get(r.get("gender"), r.get("gender")),
        "ethnicity": _ext_code(r, ETHNIC_EXT),
        "practice_code": practice,
        "registered_from": _date(period.get("start")),
        "registered_to": _date(period.get("end")),
        "date_of_death": _date(r.get("deceasedDateTime")),
    }


def _encounter(r: dict, eid: str, table: str, provider: str | None) -> dict:
    period = r.get("period") or {}
    if table == "apc_spell":
        return {
            "spell_id": eid,
            "provider_code": provider,
            "admitted_on": _date(period.get("start")),
            "discharged_on": _date(period.get("end")),
            "admission_method": _ext_code(r, ADMISSION_METHOD_EXT),
            "patient_classification": _ext_code(r, CLASSIFICATION_EXT),
        }
    if table == "ae_attendance":
        return {
            "attendance_id": eid,
            "provider_code": provider,
            "arrived_at": _stamp(period.get("start")),
            "departed_at": _stamp(period.get("end")),
            "department_type": _ext_code(r, DEPARTMENT_TYPE_EXT),
        }
    first = None
    for concept in r.get("type") or []:
        first = first or FIRST_ATTENDANCE.get(_coding(concept, (SNOMED,)) or "")
    return {
        "appointment_id": eid,
        "provider_code": provider,
        "date": _date(period.get("start")),
        "first_attendance": first,
        "attended": "5" if r.get("status") == "finished" else None,
    }


# -- loading ---------------------------------------------------------------------------


@dataclass
class _Seen:
    """What the first pass saw in one file."""

    kinds: Counter
    patients: set[str] = field(default_factory=set)  # ids of its and referenced patients
    patients_with_nhs: int = 0

    def names_a_patient(self, path: Path, index: _Index) -> bool:
        """Whether the file name holds the id or NHS number (anywhere) or a name (as a
        word) of one of its patients: Synthea names each file Given_Family_id.json."""
        name = path.name.casefold()
        words = set(re.split(r"[\W_]+", name))
        for pid in self.patients:
            number, *names = index.marks.get(pid) or [None]
            if any(m and len(m) >= 6 and m.casefold() in name for m in (pid, number)):
                return True
            if any(isinstance(m, str) and m.casefold() in words for m in names):
                return True
        return False


def _survey(path: Path, index: _Index) -> _Seen:
    """The first pass over a file: what it holds, added to the load's ``index``."""
    items = list(entries(path))
    try:
        index.add(items)
        refs = _Refs(items)
        seen = _Seen(Counter(str(r.get("resourceType")) for _, _, r in items))
        for _, url, r in items:
            if r.get("resourceType") == "Patient":
                seen.patients.add(_own_id(url, r) or "")
                seen.patients_with_nhs += _identifier(r.get("identifier"), NHS_SYSTEM) is not None
            for ref in (r.get("subject"), r.get("patient")):
                pid = refs.id_of(ref, "Patient")
                if pid:
                    seen.patients.add(pid)
    except (AttributeError, TypeError, ValueError) as exc:
        raise IngestError(path, f"not valid FHIR R4 ({exc})") from None
    seen.patients.discard("")
    return seen


def fhir_mapping(table: Table, person_key: str = NHS_KEY) -> Mapping:
    """The mapping of a table's staged FHIR rows: canonical headers, with the person
    key in ``nhs_number`` or (``patient-id``) in ``source_key`` of scheme
    :data:`PATIENT_SCHEME`."""
    mapping = identity_mapping(table)
    if person_key != PATIENT_ID_KEY or not table.person_level:
        return mapping
    columns = {
        (SOURCE_KEY if name == NHS_NUMBER else name): (
            ColumnSpec(sources=(SOURCE_KEY,), scheme=PATIENT_SCHEME) if name == NHS_NUMBER else spec
        )
        for name, spec in mapping.target.columns.items()
    }
    return replace(mapping, target=TargetSpec(table, columns), identifiers=(SOURCE_KEY,))


def ingest_fhir(
    files, *, table, warehouse, key_file, reid_store, chunk_rows, on_rows, person_key=NHS_KEY
):
    """Load FHIR files: every table they fill (or only ``table``), one batch per file
    and table. Every file is read (and a file that is not FHIR JSON raises
    :class:`IngestError`) before anything is loaded; a file with no rows to load (only
    organisations and practitioners, or none of ``table``) is reported as skipped."""
    from joinedup.ingest.pipeline import run_prepared
    from joinedup.ingest.scratch import scratch_folder
    from joinedup.warehouse import Warehouse, open_warehouse

    if person_key not in PERSON_KEYS:
        raise IngestError(
            None, f"--fhir-person-key {person_key!r}: expected {' or '.join(PERSON_KEYS)}"
        )
    if table is not None and table not in TABLES:
        raise IngestError(None, f"unknown table {table!r}; expected one of: {', '.join(TABLES)}")
    for path in files:
        if not path.is_file():
            raise IngestError(path, "no such file")
    index = _Index()
    seen = {path: _survey(path, index) for path in files}  # whole-file errors: nothing loaded
    with scratch_folder("joinedup-fhir-") as tmp:
        plan: list = []
        for n, path in enumerate(files):
            plan += _stage(path, Path(tmp) / str(n), index, seen[path], table, person_key)
        own = not isinstance(warehouse, Warehouse)
        wh = open_warehouse(warehouse) if own else warehouse
        try:
            reports: list = []
            live = _live_batches(wh)
            noted: set[Path] = set()
            # people first (in every file), so deaths are known when activity is checked
            order = list(TABLES)
            loads = sorted(
                (item for item in plan if isinstance(item, tuple)),
                key=lambda item: order.index(item[0].mapping.table.name),
            )
            for prep, path, file_hash in loads:
                old = _keyed_otherwise(live, prep, file_hash)
                [report] = run_prepared(
                    [prep], wh, key_file, reid_store, old and old[0], chunk_rows, on_rows
                )
                _explain(report, prep, path, seen[path], old, path not in noted)
                noted.add(path)
                reports.append(report)
            return reports + [item for item in plan if not isinstance(item, tuple)]
        finally:
            if own:
                wh.close()


def _stage(path: Path, folder: Path, index: _Index, seen: _Seen, table, person_key) -> list:
    """One file's rows staged as Parquet in ``folder``, one prepared load per table; or
    the report of a file skipped (no rows to load and no patient data, or none of
    ``table``)."""
    from joinedup.ingest.pipeline import _prepare
    from joinedup.warehouse.base import hash_file

    per_table = flatten(path, index, person_key)
    admin = sum(seen.kinds.values()) > 0 and set(seen.kinds) <= ADMIN_TYPES
    wanted = [table] if table else [t for t in TABLES if per_table.get(t)]
    file_hash = hash_file(path)
    source = str(path)
    if seen.names_a_patient(path, index):
        source = str(path.with_name(f"fhir-{file_hash[:16]}{path.suffix}"))
    if not any(per_table.get(t) for t in wanted):
        if admin or (table and any(per_table.values())):
            return [_skipped(source, table, seen.kinds)]
        raise IngestError(
            path, f"no FHIR resources for {' or '.join(wanted) or 'any canonical table'}"
        )
    out = []
    folder.mkdir()
    for name in wanted:
        mapping = fhir_mapping(TABLES[name], person_key)
        data = pa.table(
            {
                c: pa.array([_text(row.get(c)) for row in per_table[name]], pa.string())
                for c in [*mapping.target.columns, RESOURCE]
            }
        )
        staged = folder / f"{name}.parquet"
        pq.write_table(data, staged)
        prep = _prepare(staged, mapping, "parquet")
        prep.content_hash = keyed_hash(file_hash, mapping.key_scheme)
        prep.source = source
        out.append((prep, path, file_hash))
    return out


def keyed_hash(file_hash: str, scheme: str | None) -> str:
    """The ``content_hash`` of a batch of FHIR rows: the file's SHA-256, or for rows
    keyed by a source key scheme the SHA-256 of ``file hash:scheme`` (the same file
    keyed another way is other content: loading it re-keys, see :func:`ingest_fhir`)."""
    if scheme in (None, NHS_SCHEME):
        return file_hash
    return hashlib.sha256(f"{file_hash}:{scheme}".encode()).hexdigest()


def _live_batches(wh) -> dict[tuple[str, str], tuple[str, str | None]]:
    """(content hash, table) -> (batch id, person key) of every live batch."""
    df = wh.batches()
    df = df[df.status == "loaded"]
    keys = df.person_key if "person_key" in df.columns else [None] * len(df)
    return {
        (h, t): (b, None if k != k else k)  # NaN != NaN
        for h, t, b, k in zip(df.content_hash, df.table_name, df.batch_id, keys, strict=True)
    }


def _keyed_otherwise(live: dict, prep, file_hash: str) -> tuple[str, str | None] | None:
    """(batch id, person key) of the live batch of the same file and person-level table
    keyed the other way: it is replaced, so loading a file again with the other key
    re-keys it."""
    if not prep.mapping.table.person_level:
        return None
    for other in (file_hash, keyed_hash(file_hash, PATIENT_SCHEME)):
        if other != prep.content_hash and (other, prep.mapping.table.name) in live:
            return live[(other, prep.mapping.table.name)]
    return None


def _skipped(source: str, table: str | None, kinds: Counter):
    from joinedup.ingest.pipeline import FileReport

    held = ", ".join(f"{n:,} {kind}" for kind, n in sorted(kinds.items()))
    if not set(kinds) <= ADMIN_TYPES:
        why = f"no {table} rows in this file ({held})"
    elif table and table != "organisation":
        why = f"no patient data ({held}); nothing for {table}"
    elif kinds.get("Organization"):
        why = (
            f"no patient data ({held}); no Organization has an ODS code (identifier system "
            f"{ODS_SYSTEM}) for the organisation table"
        )
    else:
        why = f"no patient data ({held}); nothing for a canonical table"
    return FileReport(source, table or "", "skipped", reader="fhir", message=why + "; skipped")


def _explain(report, prep, path: Path, seen: _Seen, old, first: bool) -> None:
    """Say in the report what the FHIR resources lacked, how the file was re-keyed, and
    why its name is not recorded."""
    name = report.table
    reasons: Counter = Counter()
    for reason, n in report.reasons.items():
        column, _, rest = reason.partition(": ")
        why = _FROM.get((name, column)) or _FROM.get(("*", column))
        if why and rest.startswith("required; missing"):
            reason = f"{reason}; FHIR: {why}"
        reasons[reason] += n
    report.reasons = reasons
    notes = []
    if old is not None:
        notes.append(f"replaces batch {old[0]} (this file keyed by {old[1]})")
    if first and Path(prep.source).name != path.name:
        notes.append(
            "the file name holds a patient's identifiers, so it is recorded as "
            + Path(prep.source).name
        )
    if name == "person" and prep.mapping.key_scheme == PATIENT_SCHEME and seen.patients_with_nhs:
        notes.append(
            f"{seen.patients_with_nhs:,} patients carry an NHS number, not used: keyed by "
            "Patient.id as asked (load without --fhir-person-key patient-id to key by NHS number)"
        )
    if name in ("organisation",) and set(seen.kinds) - {"Organization"}:
        others = sorted(set(seen.kinds) - {"Organization"})
        notes.append(f"not loaded: {', '.join(f'{seen.kinds[k]:,} {k}' for k in others)}")
    if notes and report.status != "unchanged":
        report.message = "; ".join([report.message, *notes])


def _text(value: object) -> str | None:
    return None if value is None else str(value)
