"""A folder of partner extracts: which mapping takes which file.

The rule, in order, for every extract file in the folder (``.csv .txt .tsv .psv
.parquet .json .ndjson``):

1. a manifest ``joinedup-manifest.yaml`` in the folder, if there is one::

       files:
         - pattern: "SUS_APC_*.csv"      # file name pattern (fnmatch, any case)
           mapping: hes_apc              # shipped name, or a YAML file beside the manifest
         - pattern: "spells_*.csv"
           table: apc_spell              # canonical headers, no mapping

   A file the manifest does not name is an error (so nothing is loaded by guesswork);
2. otherwise a file named after a canonical table (``apc_spell.csv``) loads into it
   with canonical headers;
3. otherwise the ``files`` patterns of the shipped mappings (``joinedup mappings``);
4. FHIR files (``.json``, ``.ndjson``) go to the FHIR reader.

A file that no rule matches, or that two shipped mappings both match, is a whole-file
error naming the file and what to do. Files load in schema order (``person`` first, so
deaths are known when activity is checked), then by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

import yaml

from joinedup.ingest.errors import IngestError
from joinedup.ingest.mapping import Mapping, identity_mapping, load_mapping, shipped_mappings
from joinedup.schema import TABLES

MANIFEST = "joinedup-manifest.yaml"
EXTRACT_SUFFIXES = (".csv", ".txt", ".tsv", ".psv", ".parquet", ".json", ".ndjson")
FHIR_SUFFIXES = (".json", ".ndjson")


@dataclass(frozen=True)
class Planned:
    """One file and how it loads: a mapping, or ``None`` for FHIR."""

    path: Path
    mapping: Mapping | None


def extract_files(folder: Path) -> list[Path]:
    """The extract files directly in ``folder`` (sorted by name)."""
    return sorted(
        f for f in folder.iterdir() if f.is_file() and f.suffix.lower() in EXTRACT_SUFFIXES
    )


def plan(paths: list[Path]) -> list[Planned]:
    """Match every file named, and every extract file in every folder named, to its
    mapping (see the module docstring); FHIR first, then in schema order."""
    planned: list[Planned] = []
    shipped: dict[str, Mapping] = {}
    for path in paths:
        if path.is_dir():
            files = extract_files(path)
            if not files:
                suffixes = " ".join(EXTRACT_SUFFIXES)
                raise IngestError(path, f"no extract files in the folder ({suffixes})")
            manifest = path / MANIFEST
            if manifest.exists():
                rules = _manifest(manifest)
                planned += [Planned(f, _from_manifest(f, rules, manifest)) for f in files]
                continue
        elif not path.exists():
            raise IngestError(path, "no such file")
        else:
            files = [path]
        for f in files:
            planned.append(Planned(f, _by_name(f, shipped)))
    order = list(TABLES)

    def key(p: Planned):
        return (p.mapping is not None, order.index(p.mapping.table.name) if p.mapping else 0)

    return sorted(planned, key=lambda p: (*key(p), p.path.name))


def _by_name(f: Path, shipped: dict[str, Mapping]) -> Mapping | None:
    stem = f.name.split(".")[0].lower()
    if f.suffix.lower() in FHIR_SUFFIXES:
        return None
    if stem in TABLES:
        return identity_mapping(TABLES[stem])
    if not shipped:
        shipped.update({name: load_mapping(p) for name, p in shipped_mappings().items()})
    return _from_patterns(f, shipped)


def _manifest(path: Path) -> list[dict]:
    try:
        doc = yaml.safe_load(path.read_text())
        rules = doc["files"]
        if not isinstance(rules, list) or not all(
            isinstance(r, dict) and "pattern" in r and ("mapping" in r or "table" in r)
            for r in rules
        ):
            raise ValueError("each entry needs `pattern` and `mapping` (or `table`)")
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError) as exc:
        raise IngestError(
            path, f"not a valid manifest ({exc}); expected `files:` with pattern and mapping"
        ) from None
    return rules


def _from_manifest(f: Path, rules: list[dict], manifest: Path) -> Mapping | None:
    for rule in rules:
        if fnmatch(f.name.lower(), str(rule["pattern"]).lower()):
            if "table" in rule and "mapping" not in rule:
                table = str(rule["table"])
                if table == "fhir":
                    return None
                if table not in TABLES:
                    raise IngestError(manifest, f"unknown table {table!r} for {rule['pattern']}")
                return identity_mapping(TABLES[table])
            name = str(rule["mapping"])
            beside = manifest.parent / name
            return load_mapping(beside if beside.exists() else name)
    raise IngestError(f, f"the folder's {MANIFEST} names no pattern for this file")


def _from_patterns(f: Path, shipped: dict[str, Mapping]) -> Mapping:
    name = f.name.lower()
    hits = [m for m in shipped.values() if any(fnmatch(name, p.lower()) for p in m.files)]
    if len(hits) == 1:
        return hits[0]
    if hits:
        names = " and ".join(m.name for m in hits)
        raise IngestError(f, f"both {names} match this file name; say which in {MANIFEST}")
    raise IngestError(
        f,
        "no mapping matches this file name; name it after a canonical table (apc_spell.csv), "
        f"rename it to a shipped mapping's pattern (joinedup mappings), or list it in {MANIFEST}",
    )
