"""Folders and files of partner extracts: which mapping takes which file.

The rule, in order, for every extract file named or in a folder named (``.csv .txt
.tsv .psv .parquet .json .ndjson``), when no ``--mapping`` is given:

1. a manifest ``joinedup-manifest.yaml`` in the folder, if there is one::

       files:
         - pattern: "SUS_APC_*.csv"      # file name pattern (fnmatch, any case)
           mapping: sus_apcs             # shipped name, or a YAML file beside the manifest
         - pattern: "spells_*.csv"
           table: apc_spell              # canonical headers, no mapping

   A file the manifest does not name is an error (so nothing is loaded by guesswork);
2. FHIR files (``.json``, ``.ndjson``) go to the FHIR reader;
3. otherwise the file's header: the mapping (shipped, kept as ``*.yaml`` beside the
   extracts, or a canonical table's own column names) that has every column it needs
   and reads most of the file's columns, ties broken by the mappings' file name
   patterns (see :mod:`joinedup.ingest.recognise`).

A file no rule matches, or that two mappings fit equally, is a whole-file error naming
the file, the closest mappings and the columns they lack. Files load in schema order
(``person`` first, so deaths are known when activity is checked), then by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

import yaml

from joinedup.ingest import readers
from joinedup.ingest.errors import IngestError
from joinedup.ingest.mapping import Mapping, identity_mapping, load_mapping
from joinedup.ingest.recognise import candidates, recognise
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
    known: dict[Path, list[Mapping]] = {}
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
            planned.append(Planned(f, _by_name(f, known)))
    order = list(TABLES)

    def key(p: Planned):
        return (p.mapping is not None, order.index(p.mapping.table.name) if p.mapping else 0)

    return sorted(planned, key=lambda p: (*key(p), p.path.name))


def _by_name(f: Path, known: dict[Path, list[Mapping]]) -> Mapping | None:
    """The mapping for a file: FHIR by its suffix, otherwise by its header, then its name
    (see :mod:`joinedup.ingest.recognise`)."""
    if f.suffix.lower() in FHIR_SUFFIXES:
        return None
    folder = f.parent
    if folder not in known:
        known[folder] = candidates(folder)
    return recognise(f, readers.peek_header(f), known[folder])


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
