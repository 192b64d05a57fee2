"""Score definitions: the code lists, hierarchies and weights read from the YAML data files.

Each file in ``joinedup/risk/codelists/`` holds one published code list (categories and
their ICD-10 codes), the hierarchy rules between categories, and one or more weightings.
A *score* is one code list with one weighting, named in ``SCORES``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

import yaml

# score name -> (code list file stem, weighting inside that file)
SCORES: dict[str, tuple[str, str]] = {
    "charlson": ("charlson_quan2005", "charlson1987"),
    "charlson_quan2011": ("charlson_quan2005", "quan2011"),
    "elixhauser_vw": ("elixhauser_quan2005", "van_walraven"),
    "hfrs": ("hfrs_gilbert2018", "gilbert2018"),
}

_CODE = re.compile(r"^[A-Z][0-9]{2,3}$")


@dataclass(frozen=True)
class Category:
    """One condition (or HFRS code group) and the ICD-10 prefixes that define it."""

    name: str
    label: str
    prefixes: tuple[str, ...]


@dataclass(frozen=True)
class ScoreDefinition:
    """Everything needed to compute one score: categories, hierarchy, weights, bands."""

    score: str
    codelist: str
    title: str
    source: str
    weights_source: str
    categories: tuple[Category, ...]
    # (more severe, less severe): the less severe category is dropped when both are present
    hierarchy: tuple[tuple[str, str], ...]
    weights: dict[str, float]
    # HFRS only: (intermediate from, high above)
    bands: tuple[float, float] | None = None

    @property
    def category_names(self) -> list[str]:
        """Category names in file order: the boolean output columns."""
        return [c.name for c in self.categories]

    def prefix_rows(self) -> list[tuple[str, str]]:
        """Every (category, ICD-10 prefix) pair, ranges expanded."""
        return [(c.name, p) for c in self.categories for p in c.prefixes]


def expand_code(entry: str, where: str) -> list[str]:
    """Expand one code-list entry: a code ("I50", "I252") or an inclusive range of codes of
    the same letter and length ("C00-C26", "I425-I429")."""
    entry = str(entry).strip().upper()
    if "-" not in entry:
        if not _CODE.match(entry):
            raise ValueError(f"{where}: {entry!r} is not an ICD-10 code of 3 or 4 characters")
        return [entry]
    low, high = (part.strip() for part in entry.split("-", 1))
    if not (_CODE.match(low) and _CODE.match(high)) or low[0] != high[0] or len(low) != len(high):
        raise ValueError(
            f"{where}: range {entry!r} must join two codes of the same letter and length"
        )
    start, end = int(low[1:]), int(high[1:])
    if end < start:
        raise ValueError(f"{where}: range {entry!r} runs backwards")
    width = len(low) - 1
    return [f"{low[0]}{n:0{width}d}" for n in range(start, end + 1)]


@cache
def load_codelist(stem: str) -> dict:
    """The parsed YAML code list ``codelists/<stem>.yaml``."""
    resource = files("joinedup.risk").joinpath("codelists", f"{stem}.yaml")
    return yaml.safe_load(resource.read_text(encoding="utf-8"))


@cache
def score_definition(score: str) -> ScoreDefinition:
    """The definition of ``score`` (one of ``SCORES``), checked for consistency."""
    if score not in SCORES:
        raise ValueError(f"unknown score {score!r}; expected one of: {', '.join(SCORES)}")
    stem, weighting = SCORES[score]
    data = load_codelist(stem)
    where = f"codelists/{stem}.yaml"
    categories = []
    for name, spec in data["categories"].items():
        prefixes: list[str] = []
        for entry in spec["codes"]:
            prefixes.extend(expand_code(entry, f"{where}, category {name}"))
        categories.append(Category(str(name), spec["label"], tuple(dict.fromkeys(prefixes))))
    names = {c.name for c in categories}
    hierarchy = tuple((h["more_severe"], h["less_severe"]) for h in data.get("hierarchy") or [])
    for more, less in hierarchy:
        if more not in names or less not in names:
            raise ValueError(f"{where}: hierarchy {more} > {less} names an unknown category")
    w = data["weights"][weighting]
    weights = {str(k): float(v) for k, v in w["values"].items()}
    if set(weights) != names:
        missing, extra = names - set(weights), set(weights) - names
        raise ValueError(
            f"{where}: weights {weighting!r} must cover every category exactly "
            f"(missing {sorted(missing)}, unknown {sorted(extra)})"
        )
    bands = data.get("bands")
    return ScoreDefinition(
        score=score,
        codelist=stem,
        title=data["title"],
        source=" ".join(str(data["source"]).split()),
        weights_source=" ".join(str(w["source"]).split()),
        categories=tuple(categories),
        hierarchy=hierarchy,
        weights=weights,
        bands=(float(bands["intermediate_from"]), float(bands["high_above"])) if bands else None,
    )
