"""Which mapping takes a file, from what it holds: its header, then its name.

A mapping *fits* a file when the file has every source column the mapping requires
(non-optional columns of every table it fills, and the episode order). Among the
mappings that fit, the one that uses most of the file's columns wins; a tie is broken
by the mappings' file name patterns. A file that no mapping fits, or that two fit
equally, gets one message naming the closest mappings and the columns that differ.

The candidates are the shipped mappings, mappings (``*.yaml``) kept beside the
extracts, and the canonical tables' own column names.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

from joinedup.ingest.errors import IngestError
from joinedup.ingest.mapping import Mapping, identity_mapping, load_mapping, shipped_mappings
from joinedup.schema import TABLES

#: Files in an extract folder that are not mappings.
NOT_MAPPINGS = ("joinedup-manifest.yaml",)


@dataclass(frozen=True)
class Fit:
    """How well one mapping fits one file's header."""

    mapping: Mapping
    missing: tuple[str, ...]  # required source columns the file lacks
    used: int  # the file's columns the mapping reads
    by_name: bool  # the file name matches the mapping's patterns
    required: int = 0  # source columns the mapping needs

    @property
    def fits(self) -> bool:
        """Whether the file has every column the mapping needs."""
        return not self.missing


def _key(name: str) -> str:
    return name.strip().lower()


def required_columns(mapping: Mapping) -> list[str]:
    """The source columns a file must have for ``mapping`` (as the mapping names them)."""
    out: list[str] = []
    for target in mapping.targets:
        for spec in target.columns.values():
            out += [s for s in spec.required_sources() if s not in out]
    if mapping.episodes is not None and mapping.episodes.order not in out:
        out.append(mapping.episodes.order)
    return out


def read_columns(mapping: Mapping, header: list[str]) -> set[str]:
    """The columns of ``header`` (lower case) that ``mapping`` reads."""
    have = {_key(h) for h in header}
    names: set[str] = set()
    for target in mapping.targets:
        for spec in target.columns.values():
            names |= {_key(s) for s in spec.sources}
        if target.repeat is not None:
            names |= {_key(s) for s in target.repeat.source_names()}
    if mapping.episodes is not None:
        names.add(_key(mapping.episodes.order))
    return names & have


def fit(mapping: Mapping, header: list[str], file_name: str) -> Fit:
    """How ``mapping`` fits a file with ``header`` called ``file_name``."""
    have = {_key(h) for h in header}
    missing = tuple(c for c in required_columns(mapping) if _key(c) not in have)
    by_name = any(fnmatch(file_name.lower(), p.lower()) for p in mapping.files)
    if not mapping.files and mapping.name.startswith("canonical "):
        by_name = file_name.split(".")[0].lower() == mapping.table.name
    used = len(read_columns(mapping, header))
    return Fit(mapping, missing, used, by_name, len(required_columns(mapping)))


def candidates(folder: Path | None = None) -> list[Mapping]:
    """The shipped mappings, the mappings kept in ``folder``, and the canonical tables."""
    found = [load_mapping(p) for _, p in sorted(shipped_mappings().items())]
    if folder is not None:
        found += [
            load_mapping(p)
            for p in sorted(folder.glob("*.yaml"))
            if p.name.lower() not in NOT_MAPPINGS
        ]
    found += [identity_mapping(t) for t in TABLES.values()]
    return found


def ranked(mappings: list[Mapping], header: list[str], file_name: str) -> list[Fit]:
    """Every mapping's fit, best first: fitting ones by columns used, then by name."""
    fits = [fit(m, header, file_name) for m in mappings]

    def order(f: Fit) -> tuple:
        share = 1 - len(f.missing) / f.required if f.required else 0.0
        return (not f.fits, -f.used if f.fits else -share, -f.used, not f.by_name, f.mapping.name)

    return sorted(fits, key=order)


def recognise(path: Path, header: list[str], mappings: list[Mapping]) -> Mapping:
    """The mapping for the file at ``path`` (see the module docstring); IngestError
    naming the closest mappings when none, or more than one, fits."""
    order = ranked(mappings, header, path.name)
    fitting = [f for f in order if f.fits]
    if fitting:
        best = [f for f in fitting if f.used == fitting[0].used]
        if len(best) == 1:
            return best[0].mapping
        named = [f for f in best if f.by_name]
        if len(named) == 1:
            return named[0].mapping
        names = " and ".join(f.mapping.name for f in best)
        raise IngestError(
            path,
            f"its columns fit {names} equally ({best[0].used} columns each); say which with "
            "--mapping or in the folder's joinedup-manifest.yaml",
        )
    near = [f for f in order if f.used or f.by_name][:3]
    closest = "; ".join(
        f"{f.mapping.name} lacks {', '.join(f.missing[:5])}"
        + (f" and {len(f.missing) - 5} more" if len(f.missing) > 5 else "")
        for f in near
    )
    why = f"closest: {closest}" if near else "no mapping reads any of its columns"
    raise IngestError(
        path,
        f"no mapping matches its columns ({why}); give --mapping, or write a mapping "
        "(docs/ingest.md) and keep it beside the extracts",
    )
