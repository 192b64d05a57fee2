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
      # or, where the extract carries a pseudonym instead of the NHS number:
      # source_key: {column: PSEUDO_HESID, scheme: hesid}   (see joinedup.ingest.keys)
      sex: {column: SEX, codes: {"1": M, "2": F}}
      year_of_birth: {column: DOB, transform: year}
      arrived_at: {columns: [ARRIVAL_DATE, ARRIVAL_TIME], join: " "}
      cost: {value: null}            # a constant
      place_of_death:                # the first alternative that gives a value
        first: [{columns: [NHS_EST, EST_TYPE], join: "|", codes: {"|": null, "1|01": hospital}},
                {column: POD_CODE, codes: {H: home}}]
    also:                            # further tables filled from the same rows
      - table: apc_diagnosis
        columns: {spell_id: SPELL_ID}
        repeat: {index: position, from: 1, to: 20,
                 columns: {icd10: {column: "DIAG_4_{n:02d}", transform: icd10}}}

A ``repeat`` may instead split one field holding a list of codes (SUS+
``Der_Diagnosis_All``: ``||E119 ,J849 ||I801``) into rows::

    repeat:
      index: position                # the code's place (within its group, if numbered)
      to: 20                         # optional: at most this many codes a group
      split: {column: Der_Diagnosis_All, separator: ",",
              groups: "||",          # optional: a second separator, between groups
              group_index: episode}  # optional: the column numbering the groups (1, 2...)
      columns: {icd10: {column: Der_Diagnosis_All, transform: icd10}}   # one code each

Pieces are trimmed and empty ones skipped; text before a leading group separator is
not a group. Without ``group_index`` positions run on across the groups. A column spec
with ``split: {separator: ",", groups: "||"}`` takes the first code of such a field.

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
from joinedup.ingest.keys import SOURCE_KEY, check_scheme
from joinedup.ingest.parse import blank_to_null, parse_date
from joinedup.schema import TABLES, Table
from joinedup.schema.tables import ICD10

NHS_NUMBER = "nhs_number"
TRANSFORMS = ("icd10", "year", "upper", "lower", "digits")
#: Columns a person-level mapping may fill instead of person_id: one of them is the key.
PERSON_KEYS = (NHS_NUMBER, SOURCE_KEY)


@dataclass(frozen=True)
class ColumnSpec:
    """How one canonical column is filled: from source column(s), or a constant."""

    sources: tuple[str, ...] = ()
    join: str = " "
    value: str | None = None
    codes: dict[str, str | None] = field(default_factory=dict)
    transform: str | None = None
    optional: bool = False
    scheme: str | None = None  # a source_key's pseudonym scheme
    # ``first``: alternatives tried in order, the first that gives a value wins
    alternatives: tuple[ColumnSpec, ...] = ()
    # ``split``: the value is a list of codes; take the first (separator, groups)
    split: tuple[str, str | None] | None = None

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
            "scheme",
            "first",
            "split",
        }
        if unknown:
            raise ValueError(f"{where}: unknown option(s) {', '.join(sorted(unknown))}")
        if "first" in spec:
            return cls._first(spec, where)
        sources = spec.get("columns") or ([spec["column"]] if "column" in spec else [])
        if not sources and "value" not in spec:
            raise ValueError(f"{where}: give `column`, `columns`, `value` or `first`")
        transform = spec.get("transform")
        if transform is not None and transform not in TRANSFORMS:
            raise ValueError(f"{where}: unknown transform {transform!r}; expected {TRANSFORMS}")
        codes = {
            str(k): (None if v is None else str(v)) for k, v in (spec.get("codes") or {}).items()
        }
        value = spec.get("value")
        scheme = spec.get("scheme")
        split = spec.get("split")
        if split is not None:
            if (
                not isinstance(split, dict)
                or set(split) - {"separator", "groups"}
                or not str(split.get("separator") or "")
            ):
                raise ValueError(f"{where}: split takes `separator` (and optionally `groups`)")
            groups = split.get("groups")
            split = (str(split["separator"]), None if groups is None else str(groups))
        return cls(
            sources=tuple(str(s) for s in sources),
            join=str(spec.get("join", " ")),
            value=None if value is None else str(value),
            codes=codes,
            transform=transform,
            optional=bool(spec.get("optional", False)),
            scheme=None if scheme is None else check_scheme(str(scheme)),
            split=split,
        )

    def required_sources(self) -> tuple[str, ...]:
        """The source columns a file must have for this spec (none if optional; those of
        every alternative that is not optional)."""
        if self.optional:
            return ()
        if self.alternatives:
            return tuple(dict.fromkeys(s for a in self.alternatives for s in a.required_sources()))
        return self.sources

    @classmethod
    def _first(cls, spec: dict, where: str) -> ColumnSpec:
        """``first: [spec, spec, ...]`` (only ``optional`` beside it)."""
        options = spec["first"]
        if set(spec) - {"first", "optional"} or not isinstance(options, list) or not options:
            raise ValueError(f"{where}: `first` takes a list of column specs (and `optional`)")
        alternatives = tuple(cls.parse(o, f"{where}.first[{i}]") for i, o in enumerate(options))
        sources = tuple(dict.fromkeys(s for a in alternatives for s in a.sources))
        return cls(
            sources=sources,
            optional=bool(spec.get("optional", False)),
            alternatives=alternatives,
        )


@dataclass(frozen=True)
class Split:
    """One field holding a list of codes, cut into pieces (see the module docstring)."""

    column: str
    separator: str
    groups: str | None = None  # a second separator, between groups of codes
    group_index: str | None = None  # the canonical column numbering the groups


@dataclass(frozen=True)
class Repeat:
    """Columns repeated with a number in their name (DIAG_4_01..DIAG_4_20) -> one row each."""

    index: str
    start: int
    stop: int | None  # None: no limit (a split field)
    columns: dict[str, ColumnSpec]
    required: str
    split: Split | None = None  # one field split into pieces instead of numbered columns

    def source_names(self) -> list[str]:
        """Every source column the repeat may read (numbered columns by their numbers)."""
        if self.split is not None:
            return [self.split.column]
        return [
            s.format(n=n)
            for n in range(self.start, self.stop + 1)
            for spec in self.columns.values()
            for s in spec.sources
        ]


@dataclass(frozen=True)
class TargetSpec:
    """The columns of one canonical table filled from the source rows."""

    table: Table
    columns: dict[str, ColumnSpec]
    repeat: Repeat | None = None
    # details taken in passing (person_fact): a bad value is left empty, a row missing
    # a required value is left out; neither quarantines the source row
    lenient: bool = False


@dataclass(frozen=True)
class Episodes:
    """An episode-level extract (HES/SUS APC): rows are episodes, grouped into spells.

    ``order`` is the source column of the episode's order in its spell (EPIORDER).
    The spell's columns come from its first episode, except ``last`` (from its last
    episode) and ``total`` (summed over its episodes). See :mod:`joinedup.ingest.episodes`.
    """

    order: str
    last: tuple[str, ...] = ("discharged_on", "discharge_destination")
    total: tuple[str, ...] = ()


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
    episodes: Episodes | None = None  # rows are episodes of spells
    source: str = ""  # the specification the layout follows (data dictionary, TOS)

    @property
    def table(self) -> Table:
        """The main canonical table."""
        return self.target.table

    @property
    def targets(self) -> tuple[TargetSpec, ...]:
        """Every table this mapping fills, main table first."""
        return (self.target, *self.also)

    @property
    def key_scheme(self) -> str | None:
        """How its rows are keyed to people: ``nhs_number``, a source key scheme (see
        :mod:`joinedup.ingest.keys`), or None (a table without people)."""
        spec = self.target.columns.get(SOURCE_KEY)
        if spec is not None:
            return spec.scheme
        return NHS_NUMBER if NHS_NUMBER in self.target.columns else None

    @property
    def key_columns(self) -> tuple[str, ...]:
        """The source columns holding the person key (never kept anywhere)."""
        return tuple(
            s
            for target in self.targets
            for name in PERSON_KEYS
            if name in target.columns
            for s in target.columns[name].sources
        )


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
    allowed = set(table.column_names) | (set(PERSON_KEYS) if table.person_level else set())
    repeat = None
    if "repeat" in doc:
        r = doc["repeat"]
        rcols = {
            str(k): ColumnSpec.parse(v, f"{where}.repeat.{k}") for k, v in r["columns"].items()
        }
        split = _split(r.get("split"), rcols, f"{where}.repeat.split")
        if split is None and "to" not in r:
            raise ValueError(f"{where}.repeat: give `to` (the last number) or `split`")
        repeat = Repeat(
            index=str(r["index"]),
            start=int(r.get("from", 1)),
            stop=int(r["to"]) if "to" in r else None,
            columns=rcols,
            required=str(r.get("required", next(iter(rcols)))),
            split=split,
        )
        columns_named = {*columns, *rcols, repeat.index}
        if split is not None and split.group_index is not None:
            columns_named.add(split.group_index)
    else:
        columns_named = set(columns)
    for k in columns_named - allowed:
        raise ValueError(f"{where}: {k!r} is not a column of {name}")
    if NHS_NUMBER in columns and SOURCE_KEY in columns:
        raise ValueError(f"{where}: give nhs_number or source_key, not both")
    if SOURCE_KEY in columns and columns[SOURCE_KEY].scheme is None:
        raise ValueError(f"{where}: source_key needs a scheme (e.g. scheme: hesid)")
    return TargetSpec(table, columns, repeat, lenient=bool(doc.get("lenient", False)))


def _split(spec: object, rcols: dict[str, ColumnSpec], where: str) -> Split | None:
    if spec is None:
        return None
    if not isinstance(spec, dict) or "column" not in spec or "separator" not in spec:
        raise ValueError(f"{where}: give `column` and `separator` (and optionally `groups`)")
    unknown = set(spec) - {"column", "separator", "groups", "group_index"}
    if unknown:
        raise ValueError(f"{where}: unknown option(s) {', '.join(sorted(unknown))}")
    split = Split(
        column=str(spec["column"]),
        separator=str(spec["separator"]),
        groups=None if spec.get("groups") is None else str(spec["groups"]),
        group_index=None if spec.get("group_index") is None else str(spec["group_index"]),
    )
    if not split.separator or split.groups == "":
        raise ValueError(f"{where}: separators cannot be empty")
    for name, c in rcols.items():
        if c.value is None and c.sources != (split.column,):
            raise ValueError(f"{where}: repeat column {name!r} must read {split.column!r}")
    return split


#: The keys a mapping file may have (and each entry under ``also``).
MAPPING_KEYS = {"name", "description", "source", "files", "table", "identifiers",
                "null_values", "columns", "repeat", "episodes", "also", "lenient"}  # fmt: skip
ALSO_KEYS = {"table", "columns", "repeat", "lenient"}


def _from_dict(doc: dict, where: str) -> Mapping:
    if not isinstance(doc, dict):
        raise ValueError("expected a mapping with `table` and `columns`")
    unknown = set(doc) - MAPPING_KEYS
    unknown |= {f"also.{k}" for t in doc.get("also", []) for k in set(t) - ALSO_KEYS}
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    return Mapping(
        name=str(doc.get("name", where)),
        description=str(doc.get("description", "")),
        target=_target(doc, where),
        also=tuple(_target(t, f"{where}.also") for t in doc.get("also", [])),
        identifiers=tuple(str(x) for x in doc.get("identifiers", [])),
        null_values=tuple(str(x) for x in doc.get("null_values", [])),
        files=tuple(str(x) for x in doc.get("files", [])),
        episodes=_episodes(doc, where),
        source=str(doc.get("source", "")),
    )


def _episodes(doc: dict, where: str) -> Episodes | None:
    spec = doc.get("episodes")
    if spec is None:
        return None
    if doc.get("table") != "apc_spell":
        raise ValueError(f"{where}: episodes: only apc_spell is built from episodes")
    unknown = set(spec) - {"order", "last", "total"}
    if unknown or "order" not in spec:
        raise ValueError(f"{where}: episodes: give order (and optionally last, total)")
    table = TABLES["apc_spell"]
    last = tuple(str(c) for c in spec.get("last", Episodes.last))
    total = tuple(str(c) for c in spec.get("total", ()))
    for c in (*last, *total):
        if c not in table.column_names or c in ("spell_id", "person_id"):
            raise ValueError(f"{where}: episodes: {c!r} is not a spell column")
    return Episodes(order=str(spec["order"]), last=last, total=total)


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
            missing = [s for s in spec.required_sources() if _key(s) not in by_key]
            if missing:
                raise IngestError(
                    path,
                    f"no column {missing[0]!r} (mapped to {target.table.name}.{canonical}); "
                    f"the file has: {', '.join(headers)}",
                )
            for s in spec.sources:
                if _key(s) in by_key:
                    found[_key(s)] = by_key[_key(s)]
        if target.repeat is not None:
            for name in target.repeat.source_names():
                if _key(name) in by_key:
                    found[_key(name)] = by_key[_key(name)]
    if mapping.episodes is not None:
        order = mapping.episodes.order
        if _key(order) not in by_key:
            raise IngestError(
                path, f"no column {order!r} (the episode order within the spell); "
                f"the file has: {', '.join(headers)}"
            )  # fmt: skip
        found[_key(order)] = by_key[_key(order)]
    return found


@dataclass
class Staged:
    """Canonical text columns for one table, with the chunk row each row came from."""

    table: Table
    rows: np.ndarray
    columns: dict[str, pa.Array]
    lenient: bool = False  # see TargetSpec.lenient


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
            staged.append(Staged(target.table, np.arange(n), cols, target.lenient))
        elif target.repeat.split is not None:
            staged.append(_split_rows(target, chunk, headers, n, nulls, cols))
        else:
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


def _split_rows(target, chunk, headers, n, nulls, base) -> Staged:
    """One row per code of the split field (see the module docstring)."""
    rep, sp = target.repeat, target.repeat.split
    text = _column(ColumnSpec(sources=(sp.column,), optional=True), chunk, headers, n, nulls)
    numbered = sp.group_index is not None
    rows, group, position, pieces = split_codes(text, sp.separator, sp.groups, numbered)
    if rep.stop is not None:
        keep = position <= rep.stop - rep.start
        rows, group, position, pieces = (
            rows[keep],
            group[keep],
            position[keep],
            pieces.filter(pa.array(keep)),
        )
    values = {
        name: (
            _recode(pieces, spec)
            if spec.sources
            else pa.array([spec.value] * len(rows), pa.string())
        )
        for name, spec in rep.columns.items()
    }
    idx = np.flatnonzero(pc.is_valid(values[rep.required]).to_numpy(zero_copy_only=False))
    take = pa.array(idx, pa.int64())
    cols = {name: arr.take(pa.array(rows[idx])) for name, arr in base.items()}
    cols.update({name: arr.take(take) for name, arr in values.items()})
    cols[rep.index] = pc.cast(pa.array(position[idx] + rep.start), pa.string())
    if sp.group_index is not None:
        cols[sp.group_index] = pc.cast(pa.array(group[idx] + 1), pa.string())
    return Staged(target.table, rows[idx], cols)


def split_codes(
    text: pa.Array, separator: str, groups: str | None = None, numbered: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray, pa.Array]:
    """Cut each value of ``text`` into trimmed, non-empty pieces at ``separator`` (and
    first into groups at ``groups``). Returns, for every piece in order: its row, its
    group (0-based; text before a leading group separator is not a group), its position
    (0-based, within its group if ``numbered``, else within its row) and the piece."""
    text = pc.fill_null(text.cast(pa.string()), "")
    row = np.arange(len(text))
    group = np.zeros(len(text), dtype=np.int64)
    if groups:
        lists = pc.split_pattern(text, groups)
        parent, place = _flat_places(lists)
        lead = pc.starts_with(text, groups).to_numpy(zero_copy_only=False)
        row, group, text = parent, place - lead[parent], pc.list_flatten(lists)
    lists = pc.split_pattern(text, separator)
    parent, _ = _flat_places(lists)
    pieces = pc.utf8_trim_whitespace(pc.list_flatten(lists))
    keep = (group[parent] >= 0) & pc.not_equal(pieces, "").to_numpy(zero_copy_only=False)
    row, group, pieces = row[parent][keep], group[parent][keep], pieces.filter(pa.array(keep))
    run = row * (int(group.max()) + 1 if len(group) else 1) + group if numbered else row
    return row, group, _rank_in_runs(run), pieces


def _flat_places(lists: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """For each element of the flattened ``lists``: its list and its place in it."""
    lengths = pc.fill_null(pc.list_value_length(lists), 0).to_numpy(zero_copy_only=False)
    parent = np.repeat(np.arange(len(lengths)), lengths)
    starts = np.cumsum(lengths) - lengths
    return parent, np.arange(len(parent)) - starts[parent]


def _rank_in_runs(keys: np.ndarray) -> np.ndarray:
    """0, 1, 2... within each run of equal consecutive ``keys``."""
    if not len(keys):
        return np.zeros(0, dtype=np.int64)
    i = np.arange(len(keys))
    new = np.r_[True, keys[1:] != keys[:-1]]
    return i - np.maximum.accumulate(np.where(new, i, 0))


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
    if spec.alternatives:
        values = pa.nulls(n, pa.string())
        for alt in reversed(spec.alternatives):
            values = pc.coalesce(_column(alt, chunk, headers, n, nulls), values)
        return values
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
    if spec.split is not None:  # the first code of a list
        rows, _, position, pieces = split_codes(values, *spec.split)
        first = np.flatnonzero(position == 0)
        at = np.full(n, -1, dtype=np.int64)
        at[rows[first]] = first
        values = pieces.take(pa.array(at, mask=at < 0))
    return _recode(values, spec)


def _recode(values: pa.Array, spec: ColumnSpec) -> pa.Array:
    """``values`` after the spec's transform and code list."""
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
