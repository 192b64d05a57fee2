"""Row validation against the canonical schema, vectorised over a chunk.

Every check yields :class:`Problem` records: which rows, which field, the values found
and the reason in words. A row with any problem is quarantined; the others load.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from joinedup.ingest import icd10
from joinedup.ingest.keys import SOURCE_KEY, KeyBridge, bridged, source_person_ids
from joinedup.ingest.mapping import NHS_NUMBER, Staged
from joinedup.ingest.parse import EXPECTED, parse
from joinedup.ingest.pseudonymise import check_nhs_numbers, person_ids_of_valid
from joinedup.schema import Column, Table
from joinedup.schema import tables as t

EARLIEST = date(1900, 1, 1)
UNFINISHED = "98"  # discharge destination of a spell not finished when the data were taken

# Pairs of columns whose dates must be in order: (earlier, later, words).
ORDERED = {
    "apc_spell": [("admitted_on", "discharged_on", "discharge on or after admission")],
    "mh_spell": [("admitted_on", "discharged_on", "discharge on or after admission")],
    "ae_attendance": [("arrived_at", "departed_at", "departure after arrival")],
    "person": [("registered_from", "registered_to", "registration end on or after its start")],
    "social_care_service": [("started_on", "ended_on", "end on or after start")],
    "programme_enrolment": [("enrolled_on", "left_on", "leaving on or after enrolment")],
    "programme_rollout": [("started_on", "ended_on", "end on or after start")],
}

PATTERN_WORDS = {
    t.ODS_ORG: "an ODS organisation code (3 to 5 capital letters or digits, e.g. RXX or RXX01)",
    t.ODS_PRACTICE: "a GP practice ODS code (a letter and five digits, e.g. A81001)",
    t.LSOA_2021: "an LSOA 2021 code (E01 or W01 and six digits, e.g. E01012345)",
    t.ICD10: "an ICD-10 code without the dot, 3 or 4 characters (e.g. I21 or I219)",
    t.PERSON_ID: "a person_id",
    r"[0-9]{3}": "a three-digit treatment function code (e.g. 300)",
    r"[A-Z][0-9]{2,3}": "an OPCS-4 code without the dot (e.g. K401)",
}


@dataclass
class Problem:
    """Rows of a staged table that failed one check."""

    rows: np.ndarray  # positions in the staged table
    field: str | None
    values: list[str | None]
    reason: str


@dataclass
class Validated:
    """The typed canonical rows of one staged table and the problems found."""

    table: Table
    data: pa.Table
    source_rows: np.ndarray  # chunk row of each data row
    problems: list[Problem] = field(default_factory=list)
    nhs_numbers: pa.Array | None = None  # normalised, for the re-identification store
    rows_bridged: int = 0  # rows keyed by a source key that the bridge linked


@dataclass
class Context:
    """What validation needs beyond the rows: the key, known deaths, today.

    Duplicate keys are not found here but across the whole file after the rows have
    spilled (:func:`joinedup.ingest.pipeline._find_duplicates`), so memory stays flat.
    """

    key: bytes
    deaths: dict[str, date] = field(default_factory=dict)
    today: date = field(default_factory=date.today)
    identifier_fields: frozenset[str] = frozenset({NHS_NUMBER, SOURCE_KEY})
    scheme: str | None = None  # the source key's scheme, for files keyed by a pseudonym
    bridge: KeyBridge | None = None  # links source keys to NHS numbers, where held

    def __post_init__(self) -> None:
        # the deaths as Arrow arrays, so each chunk looks them up without Python objects
        ids = list(self.deaths)
        self.death_ids = pa.array(ids, pa.string())
        self.death_dates = pa.array([self.deaths[i] for i in ids], pa.date32())


def _mask_problem(mask: pa.Array, field: str | None, raw: pa.Array | None, reason: str):
    idx = np.flatnonzero(pc.fill_null(mask, False).to_numpy(zero_copy_only=False))
    if not len(idx):
        return None
    values = [None] * len(idx) if raw is None else raw.take(pa.array(idx)).to_pylist()
    return Problem(idx, field, values, reason)


def _expected_codes(col: Column) -> str:
    codes = list(col.codes or {})
    shown = ", ".join(str(c) for c in codes[:12])
    more = f" (and {len(codes) - 12} more)" if len(codes) > 12 else ""
    return f"one of the {col.code_list or col.name} codes: {shown}{more}"


def validate(staged: Staged, ctx: Context) -> Validated:
    """Parse and check every column of a staged table; pseudonymise NHS numbers."""
    table = staged.table
    n = len(staged.rows)
    problems: list[Problem] = []

    def add(mask, field, raw, reason):
        p = _mask_problem(mask, field, None if field in ctx.identifier_fields else raw, reason)
        if p is not None:
            problems.append(p)

    typed: dict[str, pa.Array] = {}
    nhs = None
    linked = 0
    for col in table.columns:
        if col.name == "person_id" and table.person_level and NHS_NUMBER in staged.columns:
            typed["person_id"], nhs = _pseudonymise(
                staged.columns[NHS_NUMBER], ctx, add, required=not col.nullable
            )
            continue
        if col.name == "person_id" and table.person_level and SOURCE_KEY in staged.columns:
            typed["person_id"], linked = _rekey(
                staged.columns[SOURCE_KEY], ctx, add, required=not col.nullable
            )
            continue
        raw = staged.columns.get(col.name)
        if raw is None:
            raw = pa.nulls(n, pa.string())
        values, bad = parse(raw, col.dtype, col.arrow_type)
        add(bad, col.name, raw, f"expected {EXPECTED.get(col.dtype, col.dtype)}")
        if not col.nullable:
            add(pc.and_(pc.is_null(values), pc.invert(bad)), col.name, raw, "required; missing")
        _check_values(col, values, raw, add)
        typed[col.name] = values
    for earlier, later, words in ORDERED.get(table.name, []):
        if earlier in typed and later in typed:
            out_of_order = pc.less(typed[later], typed[earlier])
            add(out_of_order, later, staged.columns.get(later), f"expected {words}")
    if table.name == "apc_spell":
        _check_unfinished(typed, staged, add)
    if ctx.deaths and table.person_level and table.event_date_columns:
        _check_death(table, typed, staged, ctx, add)
    data = pa.table([typed[c] for c in table.column_names], names=table.column_names)
    if staged.lenient and problems:
        data, rows, nhs = _leniently(table, data, staged.rows, problems, nhs)
        return Validated(table, data, rows, [], nhs, linked)
    return Validated(table, data, staged.rows, problems, nhs, linked)


def _leniently(table: Table, data: pa.Table, rows: np.ndarray, problems, nhs):
    """For details taken in passing: a bad optional value becomes empty, and a row with
    a bad required value is left out, instead of quarantining the source row."""
    drop = np.zeros(data.num_rows, dtype=bool)
    for p in problems:
        if p.field in table.column_names and table.column(p.field).nullable:
            i = data.column_names.index(p.field)
            mask = np.zeros(data.num_rows, dtype=bool)
            mask[p.rows] = True
            emptied = pc.if_else(pa.array(mask), pa.scalar(None, data.schema.field(i).type),
                                 data.column(i))  # fmt: skip
            data = data.set_column(i, p.field, emptied)
        else:
            drop[p.rows] = True
    keep = pa.array(~drop)
    return data.filter(keep), rows[~drop], None if nhs is None else nhs.filter(keep)


def _pseudonymise(raw: pa.Array, ctx: Context, add, required: bool = True):
    """person_ids of the NHS numbers; where the table allows anonymous rows (feedback),
    a blank NHS number leaves person_id empty instead of failing the row."""
    normalised, valid = check_nhs_numbers(raw)
    if required:
        missing = "required; missing (an NHS number is needed to link)"
        add(pc.is_null(raw), NHS_NUMBER, None, missing)
    bad = pc.invert(valid)
    add(bad, NHS_NUMBER, None, "expected a valid 10-digit NHS number (modulus 11 check failed)")
    return person_ids_of_valid(normalised, ctx.key), normalised


def _rekey(raw: pa.Array, ctx: Context, add, required: bool = True) -> tuple[pa.Array, int]:
    """person_ids of pseudonymised source keys (re-keyed with the partnership's key,
    bridged to NHS numbers where the bridge links them), and how many rows it linked."""
    if ctx.scheme is None:
        raise ValueError("a file keyed by source_key needs the mapping's scheme")
    if required:
        missing = "required; missing (a person key is needed to link)"
        add(pc.is_null(raw), SOURCE_KEY, None, missing)
    ids = source_person_ids(raw, ctx.scheme, ctx.key)
    return bridged(ids, ctx.scheme, ctx.bridge)


def _check_values(col: Column, values: pa.Array, raw: pa.Array, add) -> None:
    present = pc.is_valid(values)
    if col.codes:
        keys = list(col.codes)
        key_type = pa.int64() if isinstance(keys[0], int) else pa.string()
        probe = values.cast(key_type) if key_type != values.type else values
        unknown = pc.and_(present, pc.invert(pc.is_in(probe, pa.array(keys, key_type))))
        add(unknown, col.name, raw, f"expected {_expected_codes(col)}")
    if col.pattern and col.dtype == "string":
        bad = pc.and_(present, pc.invert(pc.match_substring_regex(values, f"^(?:{col.pattern})$")))
        words = PATTERN_WORDS.get(col.pattern, f"text matching {col.pattern}")
        add(bad, col.name, raw, f"expected {words}")
        if col.pattern == t.ICD10:
            unknown = pc.and_(pc.invert(bad), pc.invert(icd10.exists(values)))
            add(pc.and_(present, unknown), col.name, raw, f"expected {icd10.WORDS}")
    if col.minimum is not None:
        add(pc.less(values, col.minimum), col.name, raw, f"expected at least {col.minimum:g}")
    if col.maximum is not None:
        add(pc.greater(values, col.maximum), col.name, raw, f"expected at most {col.maximum:g}")
    if col.dtype in ("date", "timestamp"):
        lo, hi = EARLIEST, date.today()
        as_date = values.cast(pa.date32()) if col.dtype == "timestamp" else values
        early = pc.less(as_date, pa.scalar(lo, pa.date32()))
        late = pc.greater(as_date, pa.scalar(hi, pa.date32()))
        add(pc.or_(early, late), col.name, raw, f"expected a date from {lo:%d/%m/%Y} to today")


def _check_unfinished(typed, staged: Staged, add) -> None:
    """A spell has a discharge date unless it is unfinished: destination 98 (HES DISDEST
    "not applicable: hospital provider spell not finished") or no destination given."""
    discharged, destination = typed["discharged_on"], typed["discharge_destination"]
    unfinished = pc.equal(destination, UNFINISHED)
    missing = pc.and_(pc.is_null(discharged), pc.is_valid(destination))
    add(
        pc.and_(missing, pc.invert(unfinished)),
        "discharged_on",
        staged.columns.get("discharged_on"),
        f"required unless the spell is unfinished (discharge destination {UNFINISHED})",
    )
    add(
        pc.and_(pc.is_valid(discharged), unfinished),
        "discharge_destination",
        staged.columns.get("discharge_destination"),
        f"destination {UNFINISHED} means the spell has not finished: expected no discharge date",
    )


def _check_death(table: Table, typed, staged: Staged, ctx: Context, add) -> None:
    where = pc.index_in(typed["person_id"], value_set=ctx.death_ids)
    death = pc.take(ctx.death_dates, where)  # null where no death is known
    for name in table.event_date_columns:
        values = typed[name]
        as_date = values.cast(pa.date32()) if values.type != pa.date32() else values
        after = pc.greater(as_date, death)
        add(after, name, staged.columns.get(name), "expected no activity after the person's death")


def duplicate_reason(table: Table) -> str:
    """The quarantine reason of a row whose key an earlier row of the file has."""
    return f"expected a unique {' + '.join(table.primary_key)}; seen earlier in the file"
