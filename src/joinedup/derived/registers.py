"""QOF condition registers derived from GP coded events.

Practices' systems export coded events (``gp_event``: person, date, SNOMED CT concept,
optional value); the ``condition`` table holds one row per person on each long-term
condition register. This module derives the second from the first by the QOF register
rules, which are data: ``qof/registers.yaml`` (one entry per condition) over the NHS
England Primary Care Domain reference sets in ``qof/codelists/`` (provenance in
``qof/clusters.yaml``). A new QOF release is a change to those files, or a folder of the
same shape given as ``rules``; no code changes.

The rule, for each register with a rule, on the as-of date:

- the person's **latest diagnosis code** (a code of a ``diagnosis`` cluster, dated on or
  before the as-of date and, where the rule says ``diagnosed_from``, on or after that
  date) is **not followed by a later resolved code** (a code of a ``resolved`` cluster
  dated after it and on or before the as-of date; one on the same day does not count);
- the person is at least ``min_age`` on the as-of date, the age being the as-of year
  minus the year of birth (the warehouse holds years of birth only), so a person can
  count up to a year early; people with no ``person`` row are left out;
- ``recorded_on`` is the **start of the current episode**: the earliest diagnosis code
  dated on or after the latest resolved code (any diagnosis code, if none was ever
  resolved), not the first diagnosis ever; ``code`` is the diagnosis code recorded that
  day (the smallest, if several were); ``code_system`` is the rules' (``snomed``).

Only events of the rules' code system count. Registration and death are not applied:
``condition`` holds people's conditions, and analyses take the registered population on
a day from ``person`` as for every other condition row
(:func:`joinedup.derived.persons.is_registered`).

Everything runs as Ibis expressions over the warehouse (DuckDB or Spark); only the
derived rows (one per person and register) come back, as Arrow in the ``condition``
table's schema. :func:`load_registers` loads them as one batch, replacing the batch an
earlier derivation loaded; it is what ``joinedup registers derive`` runs.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from pathlib import Path

import ibis
import pandas as pd
import pyarrow as pa
import yaml

from joinedup.schema import TABLES, codes
from joinedup.warehouse import Batch, Warehouse

#: ``source_file`` of every batch a derivation loads (with the rules and as-of date after).
SOURCE = "joinedup registers derive"
RULES_FILE = "registers.yaml"
CLUSTERS_FILE = "clusters.yaml"
_RULE_KEYS = {"register", "diagnosis", "resolved", "min_age", "diagnosed_from", "not_applied"}


class RulesError(ValueError):
    """A rules folder that cannot be used: names the file, the entry and what was expected."""


class RegistersError(RuntimeError):
    """Registers cannot be derived from this warehouse (say why, in one line)."""


@dataclass(frozen=True)
class Cluster:
    """One code cluster: its codes and where they came from."""

    name: str
    description: str
    codes: frozenset[str]
    version: str
    file: Path
    provenance: dict = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Rule:
    """How one condition's register is derived from coded events."""

    condition: str
    register: str
    diagnosis: tuple[str, ...]
    resolved: tuple[str, ...] = ()
    min_age: int | None = None
    diagnosed_from: date | None = None
    not_applied: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rules:
    """A set of register rules with the clusters they use."""

    version: str
    code_system: str
    rules: dict[str, Rule]
    not_derivable: dict[str, str]
    registers: dict[str, str]  # condition -> QOF register id, for every entry
    clusters: dict[str, Cluster]
    fingerprint: str  # SHA-256 over every file read: changes with any rule or code
    folder: str

    @property
    def uncovered(self) -> list[str]:
        """Conditions of the canonical code list with neither a rule nor a reason."""
        return [c for c in codes.CONDITION if c not in self.rules and c not in self.not_derivable]


def default_rules_folder() -> Path:
    """The rules and code lists shipped with joinedup (``joinedup/derived/qof``)."""
    return Path(str(resources.files("joinedup.derived") / "qof"))


def _read_yaml(path: Path) -> dict:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RulesError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    except yaml.YAMLError as exc:
        raise RulesError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(doc, dict):
        raise RulesError(f"{path}: expected a mapping at the top level")
    return doc


def _read_codes(path: Path, name: str, code_system: str) -> frozenset[str]:
    """The codes of one cluster CSV (columns ``code``, ``term``)."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise RulesError(f"{path}: cannot read cluster {name} ({exc.strerror or exc})") from None
    rows = csv.DictReader(io.StringIO(text))
    if rows.fieldnames is None or "code" not in rows.fieldnames:
        raise RulesError(f"{path}: expected a header with a `code` column (code,term)")
    found: set[str] = set()
    for n, row in enumerate(rows, start=1):
        code = (row.get("code") or "").strip()
        if code_system == "snomed" and not (code.isdigit() and 6 <= len(code) <= 18):
            raise RulesError(
                f"{path}, row {n}: expected a SNOMED CT concept id (6 to 18 digits), got {code!r}"
            )
        found.add(code)
    if not found:
        raise RulesError(f"{path}: cluster {name} has no codes")
    return frozenset(found)


def _names(value: object, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RulesError(f"{where}: expected a list of cluster names, got {value!r}")
    return tuple(value)


def _rule(condition: str, entry: dict, where: str, clusters: dict[str, Cluster]) -> Rule:
    unknown = set(entry) - _RULE_KEYS
    if unknown:
        raise RulesError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    diagnosis = _names(entry.get("diagnosis"), f"{where}.diagnosis")
    if not diagnosis:
        raise RulesError(f"{where}: give `diagnosis` clusters, or `not_derivable` with a reason")
    resolved = _names(entry.get("resolved"), f"{where}.resolved")
    for name in (*diagnosis, *resolved):
        if name not in clusters:
            raise RulesError(f"{where}: cluster {name} is not in {CLUSTERS_FILE}")
    min_age = entry.get("min_age")
    if min_age is not None and (not isinstance(min_age, int) or isinstance(min_age, bool)):
        raise RulesError(f"{where}.min_age: expected a whole number of years, got {min_age!r}")
    if min_age is not None and not 0 <= min_age <= 120:
        raise RulesError(f"{where}.min_age: expected 0 to 120, got {min_age}")
    since = entry.get("diagnosed_from")
    if since is not None and not isinstance(since, date):
        raise RulesError(f"{where}.diagnosed_from: expected a date as YYYY-MM-DD, got {since!r}")
    not_applied = entry.get("not_applied") or []
    if not isinstance(not_applied, list) or not all(isinstance(x, str) for x in not_applied):
        raise RulesError(f"{where}.not_applied: expected a list of sentences")
    return Rule(
        condition=condition,
        register=str(entry.get("register", condition)),
        diagnosis=diagnosis,
        resolved=resolved,
        min_age=min_age,
        diagnosed_from=since,
        not_applied=tuple(" ".join(x.split()) for x in not_applied),
    )


def load_rules(folder: Path | str | None = None) -> Rules:
    """The register rules of ``folder`` (default: the shipped QOF rules), checked.

    ``folder`` holds ``registers.yaml``, ``clusters.yaml`` and the cluster CSVs they name.
    Raises :class:`RulesError` naming the file and entry for anything unusable.
    """
    root = Path(folder) if folder is not None else default_rules_folder()
    digest = hashlib.sha256()
    cdoc = _read_yaml(root / CLUSTERS_FILE)
    rdoc = _read_yaml(root / RULES_FILE)
    digest.update((root / CLUSTERS_FILE).read_bytes())
    digest.update((root / RULES_FILE).read_bytes())
    code_system = str(cdoc.get("code_system", "snomed"))
    if code_system not in codes.CODE_SYSTEM:
        raise RulesError(
            f"{root / CLUSTERS_FILE}: code_system {code_system!r} is not one of the "
            f"CODE_SYSTEM codes ({', '.join(codes.CODE_SYSTEM)})"
        )
    clusters: dict[str, Cluster] = {}
    for name, entry in (cdoc.get("clusters") or {}).items():
        where = f"{root / CLUSTERS_FILE}: clusters.{name}"
        if not isinstance(entry, dict) or "file" not in entry:
            raise RulesError(f"{where}: expected a mapping with `file`")
        path = root / str(entry["file"])
        clusters[str(name)] = Cluster(
            name=str(name),
            description=str(entry.get("description", "")),
            codes=_read_codes(path, str(name), code_system),
            version=str(entry.get("version", "")),
            file=path,
            provenance=dict(entry),
        )
        digest.update(path.read_bytes())
    rules: dict[str, Rule] = {}
    not_derivable: dict[str, str] = {}
    registers: dict[str, str] = {}
    entries = rdoc.get("registers")
    if not isinstance(entries, dict) or not entries:
        raise RulesError(f"{root / RULES_FILE}: expected `registers:`, one entry per condition")
    for condition, entry in entries.items():
        where = f"{root / RULES_FILE}: registers.{condition}"
        if condition not in codes.CONDITION:
            known = ", ".join(codes.CONDITION)
            raise RulesError(f"{where}: not a CONDITION code (expected one of: {known})")
        if not isinstance(entry, dict):
            raise RulesError(f"{where}: expected a mapping")
        registers[condition] = str(entry.get("register", condition))
        if "not_derivable" in entry:
            reason = " ".join(str(entry["not_derivable"] or "").split())
            if not reason:
                raise RulesError(f"{where}.not_derivable: give the reason")
            not_derivable[condition] = reason
        else:
            rules[condition] = _rule(condition, entry, where, clusters)
    return Rules(
        version=str(rdoc.get("version", "")),
        code_system=code_system,
        rules=rules,
        not_derivable=not_derivable,
        registers=registers,
        clusters=clusters,
        fingerprint=digest.hexdigest(),
        folder=str(root),
    )


def _rules(rules: Rules | Path | str | None) -> Rules:
    return rules if isinstance(rules, Rules) else load_rules(rules)


def _lookup(rules: Rules) -> pa.Table:
    """One row per (condition, role, code): the codes each register reads."""
    rows: set[tuple[str, str, str, date | None]] = set()
    for rule in rules.rules.values():
        for role, names in (("diagnosis", rule.diagnosis), ("resolved", rule.resolved)):
            since = rule.diagnosed_from if role == "diagnosis" else None
            for name in names:
                rows.update((rule.condition, role, c, since) for c in rules.clusters[name].codes)
    ordered = sorted(rows, key=lambda r: r[:3])
    return pa.table(
        {
            "condition": pa.array([r[0] for r in ordered], pa.string()),
            "role": pa.array([r[1] for r in ordered], pa.string()),
            "code": pa.array([r[2] for r in ordered], pa.string()),
            "since": pa.array([r[3] for r in ordered], pa.date32()),
        }
    )


def end_of_data(wh: Warehouse, rules: Rules | Path | str | None = None) -> date | None:
    """The date of the latest coded event of the rules' code system (None if none)."""
    rules = _rules(rules)
    events = wh.table("gp_event")
    latest = events.filter(events.code_system == rules.code_system).date.max()
    return latest.to_pyarrow().as_py()


def register_expression(
    wh: Warehouse, as_of: date, rules: Rules | Path | str | None = None
) -> ibis.Table:
    """The registers on ``as_of`` as an Ibis expression: one row per person and register,
    with the ``condition`` table's columns (see the module docstring for the rule)."""
    rules = _rules(rules)
    when = ibis.literal(as_of, type="date")
    events = wh.table("gp_event")
    events = events.filter((events.code_system == rules.code_system) & (events.date <= when))
    lookup = ibis.memtable(_lookup(rules))
    hits = events.inner_join(lookup, "code").select(
        "person_id", "date", "code", "condition", "role", "since"
    )
    hits = hits.filter(
        (hits.role == "resolved") | hits.since.isnull() | (hits.date >= hits.since)
    ).drop("since")
    is_dx = hits.role == "diagnosis"
    latest = hits.group_by("person_id", "condition").aggregate(
        latest_dx=hits.date.max(where=is_dx),
        latest_res=hits.date.max(where=hits.role == "resolved"),
    )
    on = latest.filter(
        latest.latest_dx.notnull()
        & (latest.latest_res.isnull() | (latest.latest_res <= latest.latest_dx))
    ).select("person_id", "condition", "latest_res")
    dx = hits.filter(is_dx).select("person_id", "condition", "date", "code")
    episode = dx.inner_join(on, ["person_id", "condition"])
    episode = episode.filter(episode.latest_res.isnull() | (episode.date >= episode.latest_res))
    start = episode.group_by("person_id", "condition").aggregate(recorded_on=episode.date.min())
    first = dx.inner_join(start, ["person_id", "condition"])
    first = first.filter(first.date == first.recorded_on)
    first = first.group_by("person_id", "condition", "recorded_on").aggregate(code=first.code.min())
    ages = ibis.memtable(
        pa.table(
            {
                "condition": pa.array(list(rules.rules), pa.string()),
                "min_age": pa.array([r.min_age for r in rules.rules.values()], pa.int32()),
            }
        )
    )
    person = wh.table("person")
    born = person.group_by("person_id").aggregate(year_of_birth=person.year_of_birth.max())
    out = first.inner_join(born, "person_id").inner_join(ages, "condition")
    age = ibis.literal(as_of.year, type="int32") - out.year_of_birth.cast("int32")
    out = out.filter(out.min_age.isnull() | (age >= out.min_age))
    return out.select(
        "person_id",
        "condition",
        code_system=ibis.literal(rules.code_system, type="string"),
        code="code",
        recorded_on="recorded_on",
    ).order_by(["condition", "person_id"])


def derive(
    wh: Warehouse, as_of: date | None = None, rules: Rules | Path | str | None = None
) -> pa.Table:
    """The QOF registers on ``as_of`` derived from the warehouse's ``gp_event`` rows, as an
    Arrow table in the ``condition`` table's schema, ordered by condition and person.

    ``as_of`` defaults to the date of the latest coded event (the end of the data), so
    the same data give the same rows. ``rules`` is a :class:`Rules`, a rules folder, or
    None for the shipped QOF rules. Registers the rules cannot derive give no rows.
    """
    rules = _rules(rules)
    schema = TABLES["condition"].arrow_schema()
    when = as_of if as_of is not None else end_of_data(wh, rules)
    if when is None or not rules.rules:
        return schema.empty_table()
    table = register_expression(wh, when, rules).to_pyarrow()
    return table.select(schema.names).cast(schema)


@dataclass(frozen=True)
class RegisterLoad:
    """What a derivation loaded: people per register (unsuppressed: suppress before showing
    them outside the warehouse), the batch, the batch it replaced."""

    status: str  # loaded | replaced | unchanged
    as_of: date
    counts: dict[str, int]  # every register with a rule, 0 when nobody is on it
    batch: Batch
    replaced: str | None
    rules: Rules


def derived_batches(wh: Warehouse) -> list[Batch]:
    """The live ``condition`` batches earlier derivations loaded, oldest first."""
    df = wh.batches()
    if df.empty:
        return []
    mine = df[
        (df.table_name == "condition")
        & (df.status == "loaded")
        & df.source_file.str.startswith(SOURCE)
    ]
    fields = Batch.__dataclass_fields__
    return [
        Batch(**{k: (None if pd.isna(v) else v) for k, v in row.items() if k in fields})
        for row in mine.to_dict("records")
    ]


def _inputs_hash(wh: Warehouse, rules: Rules, as_of: date) -> str:
    """What a derivation depends on: the rules, the date and the live batches of the
    tables it reads. Same inputs, same hash: nothing to load again."""
    df = wh.batches()
    live = df[(df.status == "loaded") & df.table_name.isin(["gp_event", "person"])]
    parts = sorted(f"{r.table_name}:{r.batch_id}:{r.content_hash}" for r in live.itertuples())
    text = "\n".join([f"rules {rules.fingerprint}", f"as of {as_of.isoformat()}", *parts])
    return hashlib.sha256(text.encode()).hexdigest()


def _counts(table: pa.Table | ibis.Table, rules: Rules) -> dict[str, int]:
    counts = dict.fromkeys(rules.rules, 0)
    if isinstance(table, ibis.Table):
        grouped = table.group_by("condition").aggregate(people=table.count()).to_pyarrow()
    else:
        grouped = table.group_by("condition").aggregate([("person_id", "count")])
        grouped = grouped.rename_columns(["condition", "people"])
    for cond, n in zip(
        grouped["condition"].to_pylist(), grouped["people"].to_pylist(), strict=True
    ):
        counts[cond] = int(n)
    return counts


def load_registers(
    wh: Warehouse, as_of: date | None = None, rules: Rules | Path | str | None = None
) -> RegisterLoad:
    """Derive the registers (:func:`derive`) and load them into ``condition`` as one batch,
    replacing the batch the previous derivation loaded (in the same transaction). When
    nothing it depends on has changed (rules, as-of date, the live ``gp_event`` and
    ``person`` batches) nothing is loaded and the status is ``unchanged``.

    Batches loaded otherwise (a ready-made register extract) are left as they are.
    Raises :class:`RegistersError` when the warehouse holds no coded events.
    """
    rules = _rules(rules)
    latest = end_of_data(wh, rules)
    if latest is None:
        raise RegistersError(
            f"the warehouse holds no GP coded events ({rules.code_system}) in gp_event: "
            "load them first, e.g. `joinedup ingest FILE --mapping gp_events`"
        )
    when = as_of if as_of is not None else latest
    content_hash = _inputs_hash(wh, rules, when)
    previous = derived_batches(wh)
    last = previous[-1] if previous else None
    if last is not None and last.content_hash == content_hash:
        t = wh.table("condition")
        counts = _counts(t.filter(t.batch_id == last.batch_id), rules)
        return RegisterLoad("unchanged", when, counts, last, None, rules)
    table = derive(wh, when, rules)
    batch = wh.load(
        "condition",
        table,
        source=f"{SOURCE} (rules {rules.version}, as of {when.isoformat()})",
        content_hash=content_hash,
        replaces=last.batch_id if last is not None else None,
    )
    status = "replaced" if last is not None else "loaded"
    replaced = last.batch_id if last is not None else None
    return RegisterLoad(status, when, _counts(table, rules), batch, replaced, rules)
