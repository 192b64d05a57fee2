"""Column mappings: a partner's own headers and codes -> canonical columns and codes.

A mapping is a YAML file (see ``docs/ingest.md``)::

    name: hes_apc
    table: apc_spell                 # the canonical table the rows load into
    files: ["*apc*"]                 # file names it takes in a folder (fnmatch, any case)
    identifiers: [NEWNHSNO, DOB]     # source columns never kept anywhere
    null_values: ["1800-01-01"]      # partner's "not known" values, read as empty
    columns:
      spell_id: SPELL_ID             # canonical: source column
      nhs_number: NEWNHSNO           # person-level tables: becomes person_id
      sex: {column: SEX, codes: {"1": M, "2": F}}
      year_of_birth: {column: DOB, transform: year}
      arrived_at: {columns: [ARRIVAL_DATE, ARRIVAL_TIME], join: " "}
      cost: {value: null}            # a constant
    also:                            # further tables filled from the same rows
      - table: apc_diagnosis
        columns: {spell_id: SPELL_ID}
        repeat: {index: position, from: 1, to: 20,
                 columns: {icd10: {column: "DIAG_4_{n:02d}", transform: icd10}}}

Source column names match regardless of case and surrounding spaces. Codes not listed
under ``codes`` pass through unchanged, so validation reports them against the
canonical code list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import yaml

from joinedup.ingest.errors import IngestError
from joinedup.ingest.parse import blank_to_null, parse_date
from joinedup.schema import TABLES, Table
from joinedup.schema.tables import ICD10

NHS_NUMBER = "nhs_number"
TRANSFORMS = ("icd10", "year", "upper", "lower", "digits")


@dataclass(frozen=True)
class ColumnSpec:
    """How one canonical column is filled: from source column(s), or a constant."""

    sources: tuple[str, ...] = ()
    join: str = " "
    value: str | None = None
    codes: dict[str, str | None] = field(default_factory=dict)
    transform: str | None = None
    optional: bool = False

    @classmethod
    def parse(cls, spec: object, where: str) -> ColumnSpec:
        """A spec from its YAML form: a column name or a mapping of options."""
        if isinstance(spec, str):
            return cls(sources=(spec,))
        if not isinstance(spec, dict):
            raise ValueError(f"{where}: expected a column name or a mapping, got {spec!r}")
        unknown = set(spec) - {
            "column",
            "columns",
            "join",
            "value",
            "codes",
            "transform",
            "optional",
        }
        if unknown:
            raise ValueError(f"{where}: unknown option(s) {', '.join(sorted(unknown))}")
        sources = spec.get("columns") or ([spec["column"]] if "column" in spec else [])
        if not sources and "value" not in spec:
            raise ValueError(f"{where}: give `column`, `columns` or `value`")
        transform = spec.get("transform")
        if transform is not None and transform not in TRANSFORMS:
            raise ValueError(f"{where}: unknown transform {transform!r}; expected {TRANSFORMS}")
        codes = {
            str(k): (None if v is None else str(v)) for k, v in (spec.get("codes") or {}).items()
        }
        value = spec.get("value")
        return cls(
            sources=tuple(str(s) for s in sources),
            join=str(spec.get("join", " ")),
            value=None if value is None else str(value),
            codes=codes,
            transform=transform,
            optional=bool(spec.get("optional", False)),
        )


@dataclass(frozen=True)
class Repeat:
    """Columns repeated with a number in their name (DIAG_4_01..DIAG_4_20) -> one row each."""

    index: str
    start: int
    stop: int
    columns: dict[str, ColumnSpec]
    required: str


@dataclass(frozen=True)
class TargetSpec:
    """The columns of one canonical table filled from the source rows."""

    table: Table
    columns: dict[str, ColumnSpec]
    repeat: Repeat | None = None


@dataclass(frozen=True)
class Mapping:
    """A partner extract's mapping onto one canonical table (and optional others)."""

    name: str
    description: str
    target: TargetSpec
    also: tuple[TargetSpec, ...] = ()
    identifiers: tuple[str, ...] = ()
    null_values: tuple[str, ...] = ()
    files: tuple[str, ...] = ()  # file name patterns this mapping takes in a folder

    @property
    def table(self) -> Table:
        """The main canonical table."""
        return self.target.table

    @property
    def targets(self) -> tuple[TargetSpec, ...]:
        """Every table this mapping fills, main table first."""
        return (self.target, *self.also)


def identity_mapping(table: Table) -> Mapping:
    """The mapping used without ``--mapping``: headers are the canonical names,
    with ``nhs_number`` in place of ``person_id`` for person-level tables."""
    columns = {}
    for col in table.columns:
        name = NHS_NUMBER if (col.name == "person_id" and table.person_level) else col.name
        # ICD-10 codes are normalised ("I21.9" -> "I219"), as every extract writes them
        transform = "icd10" if col.pattern == ICD10 else None
        columns[name] = ColumnSpec(sources=(name,), optional=col.nullable, transform=transform)
    return Mapping(
        name=f"canonical {table.name}",
        description="Canonical column names",
        target=TargetSpec(table, columns),
        identifiers=(NHS_NUMBER,),
    )


def shipped_mappings() -> dict[str, Path]:
    """The mappings that come with joinedup, by name."""
    folder = resources.files("joinedup.ingest") / "mappings"
    return {Path(p.name).stem: Path(str(p)) for p in folder.iterdir() if p.name.endswith(".yaml")}


def load_mapping(name_or_path: str | Path) -> Mapping:
    """Read a mapping file, or a shipped mapping by name (``hes_apc``)."""
    path = Path(name_or_path)
    if not path.exists():
        shipped = shipped_mappings()
        if str(name_or_path) in shipped:
            path = shipped[str(name_or_path)]
        else:
            known = ", ".join(sorted(shipped))
            raise IngestError(path, f"no such mapping file (shipped mappings: {known})")
    try:
        doc = yaml.safe_load(path.read_text())
        return _from_dict(doc, path.name)
    except (OSError, yaml.YAMLError, ValueError, KeyError, TypeError) as exc:
        raise IngestError(path, f"not a valid mapping ({exc})") from None


def _target(doc: dict, where: str) -> TargetSpec:
    name = doc.get("table")
    if name not in TABLES:
        raise ValueError(f"{where}: unknown table {name!r}; expected one of {', '.join(TABLES)}")
    table = TABLES[name]
    columns = {
        str(k): ColumnSpec.parse(v, f"{where}.columns.{k}") for k, v in (doc["columns"]).items()
    }
    allowed = set(table.column_names) | ({NHS_NUMBER} if table.person_level else set())
    repeat = None
    if "repeat" in doc:
        r = doc["repeat"]
        rcols = {
            str(k): ColumnSpec.parse(v, f"{where}.repeat.{k}") for k, v in r["columns"].items()
        }
        repeat = Repeat(
            index=str(r["index"]),
            start=int(r.get("from", 1)),
            stop=int(r["to"]),
            columns=rcols,
            required=str(r.get("required", next(iter(rcols)))),
        )
        columns_named = {*columns, *rcols, repeat.index}
    else:
        columns_named = set(columns)
    for k in columns_named - allowed:
        raise ValueError(f"{where}: {k!r} is not a column of {name}")
    return TargetSpec(table, columns, repeat)


def _from_dict(doc: dict, where: str) -> Mapping:
    if not isinstance(doc, dict):
        raise ValueError("expected a mapping with `table` and `columns`")
    return Mapping(
        name=str(doc.get("name", where)),
        description=str(doc.get("description", "")),
        target=_target(doc, where),
        also=tuple(_target(t, f"{where}.also") for t in doc.get("also", [])),
        identifiers=tuple(str(x) for x in doc.get("identifiers", [])),
        null_values=tuple(str(x) for x in doc.get("null_values", [])),
        files=tuple(str(x) for x in doc.get("files", [])),
    )


# -- applying a mapping to a chunk ------------------------------------------------------


def _key(name: str) -> str:
    return name.strip().lower()


def resolve_headers(mapping: Mapping, headers: list[str], path: Path) -> dict[str, str]:
    """Match the mapping's source columns to the file's headers (any case).

    Raises :class:`IngestError` for a source column the file lacks (unless optional)
    and for a required canonical column nothing fills.
    """
    by_key = {_key(h): h for h in headers}
    found: dict[str, str] = {}
    for target in mapping.targets:
        specs = list(target.columns.items())
        for canonical, spec in specs:
            missing = [s for s in spec.sources if _key(s) not in by_key]
            if missing and not spec.optional:
                raise IngestError(
                    path,
                    f"no column {missing[0]!r} (mapped to {target.table.name}.{canonical}); "
                    f"the file has: {', '.join(headers)}",
                )
            for s in spec.sources:
                if _key(s) in by_key:
                    found[_key(s)] = by_key[_key(s)]
        if target.repeat is not None:
            for n in range(target.repeat.start, target.repeat.stop + 1):
                for spec in target.repeat.columns.values():
                    for s in spec.sources:
                        name = s.format(n=n)
                        if _key(name) in by_key:
                            found[_key(name)] = by_key[_key(name)]
    return found


@dataclass
class Staged:
    """Canonical text columns for one table, with the chunk row each row came from."""

    table: Table
    rows: np.ndarray
    columns: dict[str, pa.Array]


def apply(mapping: Mapping, chunk: pa.Table, headers: dict[str, str]) -> list[Staged]:
    """Map one chunk of source rows onto every target table (text columns)."""
    n = chunk.num_rows
    nulls = pa.array(list(mapping.null_values), pa.string()) if mapping.null_values else None
    staged = []
    for target in mapping.targets:
        cols = {
            name: _column(spec, chunk, headers, n, nulls) for name, spec in target.columns.items()
        }
        if target.repeat is None:
            staged.append(Staged(target.table, np.arange(n), cols))
            continue
        staged.append(_unpivot(target, chunk, headers, n, nulls, cols))
    return staged


def _unpivot(target, chunk, headers, n, nulls, base) -> Staged:
    rep = target.repeat
    rows, parts = [], {name: [] for name in [*base, *rep.columns, rep.index]}
    for i in range(rep.start, rep.stop + 1):
        specs = {name: _numbered(spec, i) for name, spec in rep.columns.items()}
        if any(_key(s) not in headers for spec in specs.values() for s in spec.sources):
            continue
        values = {name: _column(spec, chunk, headers, n, nulls) for name, spec in specs.items()}
        keep = pc.is_valid(values[rep.required])
        idx = np.flatnonzero(keep.to_numpy(zero_copy_only=False))
        if not len(idx):
            continue
        take = pa.array(idx)
        rows.append(idx)
        for name, arr in base.items():
            parts[name].append(arr.take(take))
        for name, arr in values.items():
            parts[name].append(arr.take(take))
        parts[rep.index].append(pa.array([str(i)] * len(idx), pa.string()))
    if not rows:
        return Staged(target.table, np.arange(0), {k: pa.array([], pa.string()) for k in parts})
    cols = {k: pa.concat_arrays(v) for k, v in parts.items()}
    return Staged(target.table, np.concatenate(rows), cols)


def _numbered(spec: ColumnSpec, n: int) -> ColumnSpec:
    return ColumnSpec(
        sources=tuple(s.format(n=n) for s in spec.sources),
        join=spec.join,
        value=spec.value,
        codes=spec.codes,
        transform=spec.transform,
        optional=True,
    )


def _column(spec: ColumnSpec, chunk: pa.Table, headers: dict[str, str], n: int, nulls) -> pa.Array:
    if not spec.sources:
        return pa.array([spec.value] * n, pa.string())
    arrays = []
    for s in spec.sources:
        if _key(s) not in headers:
            arrays.append(pa.nulls(n, pa.string()))
            continue
        arr = blank_to_null(chunk[headers[_key(s)]].combine_chunks())
        if nulls is not None:
            arr = pc.if_else(pc.is_in(arr, nulls), pa.scalar(None, pa.string()), arr)
        arrays.append(arr)
    if len(arrays) == 1:
        values = arrays[0]
    else:
        # join the present parts (date + time); all missing stays missing
        filled = [pc.fill_null(a, "") for a in arrays]
        values = blank_to_null(pc.binary_join_element_wise(*filled, spec.join))
    if spec.transform:
        values = _transform(values, spec.transform)
    if spec.codes:
        keys = pa.array(list(spec.codes), pa.string())
        mapped = pa.array(list(spec.codes.values()), pa.string())
        where = pc.index_in(values, keys)
        recoded = pc.take(mapped, where)
        values = pc.if_else(pc.is_valid(where), recoded, values)
    return values


def _transform(values: pa.Array, transform: str) -> pa.Array:
    if transform == "upper":
        return pc.utf8_upper(values)
    if transform == "lower":
        return pc.utf8_lower(values)
    if transform == "digits":
        return blank_to_null(pc.replace_substring_regex(values, r"\D", ""))
    if transform == "icd10":
        # "I21.9", "i219", "R69X-" -> "I219", "R69X": no dot, upper case, 4 characters
        cleaned = pc.replace_substring_regex(pc.utf8_upper(values), r"[.\s-]", "")
        return blank_to_null(pc.utf8_slice_codeunits(cleaned, 0, 4))
    if transform == "year":
        dates, bad = parse_date(values)
        years = pc.cast(pc.year(dates), pa.string())
        # keep an unparseable date's text so validation reports it
        return pc.if_else(bad, values, years)
    raise ValueError(f"unknown transform {transform!r}")
