"""Measure definitions: what an analyst writes in YAML, validated with clear errors.

A measure is a definition, not a function: which events are counted (numerator), in
which population or among which events (denominator), the unit, the direction of
improvement, standardisation, period and the groupings it may be broken down by. The
engine (:mod:`joinedup.measures.engine`) turns a definition into warehouse queries.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from joinedup.derived import EVENT_SOURCES, source_fields
from joinedup.derived.events import REGISTER_FIELDS, REGISTER_SOURCES
from joinedup.schema.codes import CONDITION

POPULATION = "population"
POPULATION_FIELDS = (
    "age", "age_band", "esp_band", "sex", "imd_quintile", "imd_decile", "ethnic_group",
    "practice_code", "cluster_code", "footprint_code", "partnership",
)  # fmt: skip

# Grouping name -> the column it reads.
GROUPINGS: dict[str, str] = {
    "partnership": "partnership",
    "footprint": "footprint_code",
    "cluster": "cluster_code",
    "practice": "practice_code",
    "provider": "provider_code",
    "age_band": "age_band",
    "sex": "sex",
    "imd_quintile": "imd_quintile",
    "ethnic_group": "ethnic_group",
}
PERIODS = ("month", "quarter", "financial_year")
UNITS: dict[str, float | None] = {
    "per_1000": 1000,
    "per_100000": 100_000,
    "percent": 100,
    "per_person": 1,
    "cost_per_head": 1,
    "mean_days": None,
    "mean_score": None,
    "ratio": 1,
}
OPERATORS = ("eq", "ne", "in", "not_in", "ge", "gt", "le", "lt", "is_null", "not_null")


class MeasureError(ValueError):
    """A measure definition (or a request for one) is wrong; the message says how."""


class RegisterRequired(MeasureError):
    """A measure needs a GP registered population and the warehouse holds activity only
    (no GP registration list: see :func:`joinedup.derived.persons.has_register`)."""


class Count(BaseModel):
    """Which rows are counted (or summed) for a numerator or denominator."""

    model_config = ConfigDict(extra="forbid")

    source: str | None = Field(
        None, description="Event source, or 'population' for the registered population"
    )
    where: dict[str, Any] = Field(default_factory=dict, description="Conditions, all must hold")
    value: str | None = Field(
        None, description="Field to sum (or average); rows are counted if absent"
    )
    condition: list[str] = Field(
        default_factory=list,
        description="Only people with one of these long-term conditions recorded before the event",
    )

    @field_validator("condition")
    @classmethod
    def _known_conditions(cls, v: list[str]) -> list[str]:
        return _known_conditions(v)


def _known_conditions(v: list[str]) -> list[str]:
    unknown = [c for c in v if c not in CONDITION]
    if unknown:
        raise ValueError(
            f"unknown condition {unknown[0]!r}; expected one of {', '.join(CONDITION)}"
        )
    return v


#: Groupings a response rate is given for unless ``response_base.groupings`` says
#: otherwise: those a response carries itself. Anonymous answers (most FFT answers may
#: be) have no person attributes, so a rate by age or practice would count only the
#: linked answers against every eligible event and understate the rate.
RESPONSE_RATE_GROUPINGS = ("partnership", "provider")


class ResponseBase(BaseModel):
    """What a feedback measure's responses are a response to (for response rates).

    An ordinary count over an event source (or the registered population), counted in
    the same periods and groups as the measure: A&E attendances for the A&E Friends and
    Family Test, discharges for hospital stays and so on.
    """

    model_config = ConfigDict(extra="forbid")

    source: str | None = Field(
        None, description="Event source, or 'population' for the registered population"
    )
    where: dict[str, Any] = Field(default_factory=dict, description="Conditions, all must hold")
    condition: list[str] = Field(
        default_factory=list,
        description="Only people with one of these long-term conditions recorded before the event",
    )
    groupings: list[str] | None = Field(
        None,
        description="Groupings with a response rate (default: partnership and provider, "
        "where the base can be grouped so)",
    )
    label: str | None = Field(
        None, description="What is counted, in words, e.g. 'A&E attendances' (default: source)"
    )

    @field_validator("condition")
    @classmethod
    def _known_conditions(cls, v: list[str]) -> list[str]:
        return _known_conditions(v)

    @property
    def text(self) -> str:
        """What is counted, in words (the label, or the source's name)."""
        return self.label or str(self.source).replace("_", " ")

    def count(self) -> Count:
        """The base as a :class:`Count` (what the engine counts)."""
        return Count(source=self.source, where=self.where, condition=self.condition)


class MeasureDefinition(BaseModel):
    """One measure of the library."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    description: str
    kind: Literal["rate", "proportion", "mean", "ratio"]
    numerator: Count
    denominator: Count | None = None
    unit: Literal[tuple(UNITS)]  # type: ignore[valid-type]
    direction: Literal["increase", "decrease", "neutral"]
    standardisation: Literal["none", "esp2013"] = "none"
    period: Literal[PERIODS] = "month"  # type: ignore[valid-type]
    groupings: list[str] = Field(
        default_factory=list, description="Allowed groupings (default: every one that applies)"
    )
    baseline: str | None = Field(
        None, pattern=r"^\d{4}-\d{2}$", description="Financial year, e.g. 2023-24"
    )
    target: float | None = None
    min_responses: int = Field(
        0,
        ge=0,
        description="No value is shown from fewer than this many responses (the "
        "denominator of a proportion, the count of a mean): for surveys and feedback",
    )
    follow_up_days: int = Field(
        0,
        ge=0,
        description="Days of data needed after a period ends (e.g. 30 for 30-day "
        "readmissions); later periods are left out as incomplete",
    )
    response_base: ResponseBase | None = Field(
        None,
        description="What the responses are a response to (the eligible events), so "
        "that each figure has its response rate beside it: for feedback measures",
    )
    national_source: str | None = None
    topics: list[str] = Field(default_factory=list)

    @field_validator("groupings")
    @classmethod
    def _known_groupings(cls, v: list[str]) -> list[str]:
        for g in v:
            if g not in GROUPINGS:
                raise ValueError(f"unknown grouping {g!r}; expected some of {', '.join(GROUPINGS)}")
        return v

    @model_validator(mode="after")
    def _coherent(self) -> MeasureDefinition:
        num, den = self.numerator, self.denominator
        if self.kind == "mean":
            if den is not None:
                raise ValueError("a mean has no denominator (it averages numerator.value)")
            if not num.value:
                raise ValueError("a mean needs numerator.value: the field to average")
        elif den is None:
            raise ValueError(f"a {self.kind} needs a denominator")
        if self.kind == "proportion":
            if num.source not in (None, den.source):
                raise ValueError(
                    "a proportion's numerator counts a subset of the denominator: "
                    "leave numerator.source out (it is the denominator's)"
                )
            if den.source == POPULATION:
                raise ValueError("a proportion's denominator must be events, not the population")
        if self.kind == "rate" and den.source != POPULATION:
            raise ValueError(
                "a rate's denominator is the registered population: source: population"
            )
        if self.standardisation == "esp2013" and self.kind != "rate":
            raise ValueError("direct standardisation (esp2013) applies to rates only")
        if self.kind == "rate" and "provider" in self.groupings:
            raise ValueError(
                "a population rate cannot be grouped by provider (people are not "
                "registered with providers); remove 'provider' from groupings"
            )
        for label, count in (("numerator", self.numerator_count), ("denominator", den)):
            if count is not None:
                _check_count(label, count)
        applicable = [g for g in GROUPINGS if self._groupable(g)]
        if not self.groupings:
            self.groupings = applicable
        for g in self.groupings:
            if g not in applicable:
                raise ValueError(f"grouping {g!r} does not apply to this measure's sources")
        if self.response_base is not None:
            self._check_response_base(self.response_base)
        return self

    def _check_response_base(self, base: ResponseBase) -> None:
        if self.kind not in ("proportion", "mean"):
            raise ValueError(
                "response_base applies to measures of responses (a proportion of the "
                f"answers or a mean score), not to a {self.kind}"
            )
        _check_count("response_base", base.count())
        fields = POPULATION_FIELDS if base.source == POPULATION else source_fields(base.source)
        supported = [g for g in self.groupings if GROUPINGS[g] in fields]
        if base.groupings is None:
            base.groupings = [g for g in RESPONSE_RATE_GROUPINGS if g in supported]
        for g in base.groupings:
            if g not in GROUPINGS:
                raise ValueError(
                    f"response_base.groupings: unknown grouping {g!r}; expected some of "
                    f"{', '.join(GROUPINGS)}"
                )
            if g not in self.groupings:
                raise ValueError(
                    f"response_base.groupings: the measure is not grouped by {g!r}; it "
                    f"allows: {', '.join(self.groupings)}"
                )
            if g not in supported:
                raise ValueError(
                    f"response_base.groupings: {base.source} cannot be grouped by {g!r} "
                    f"(it has no field {GROUPINGS[g]!r})"
                )

    @property
    def base_measure(self) -> MeasureDefinition | None:
        """The response base as an ordinary measure whose denominator counts it.

        A proportion of events (a one-pass count of the base's rows) or, for a
        population base, a rate of the population over itself; the engine counts it
        like any other measure, by the same periods and groupings. None without a
        response base.
        """
        base = self.response_base
        if base is None:
            return None
        count = base.count().model_dump(exclude_none=True, exclude={"value"})
        population = base.source == POPULATION
        return MeasureDefinition.model_validate(
            {
                "id": f"{self.id}_eligible",
                "title": f"Eligible for {self.title}",
                "description": f"What the responses to {self.id!r} are a response to.",
                "kind": "rate" if population else "proportion",
                "numerator": count if population else {},
                "denominator": count,
                "unit": "per_1000" if population else "percent",
                "direction": "neutral",
                "period": self.period,
                "groupings": list(base.groupings or []) or ["partnership"],
                "follow_up_days": self.follow_up_days,
            }
        )

    def _groupable(self, grouping: str) -> bool:
        column = GROUPINGS[grouping]
        for count in (self.numerator_count, self.denominator):
            if count is None:
                continue
            fields = (
                POPULATION_FIELDS if count.source == POPULATION else source_fields(count.source)
            )
            if column not in fields:
                return False
        return True

    @property
    def register_use(self) -> str | None:
        """What the measure takes from a GP register, in words, or None if activity
        records alone will do: a registered-population count (a rate's denominator),
        deaths, or a field built on dates of death. Without a register (activity data
        only) such a measure cannot be computed."""
        counts = [("denominator", self.denominator), ("numerator", self.numerator_count)]
        if self.response_base is not None:
            counts.append(("response base", self.response_base.count()))
        for label, count in counts:
            if count is None:
                continue
            if count.source == POPULATION:
                return f"the registered population is its {label}"
            if count.source in REGISTER_SOURCES:
                return f"its {label} counts {REGISTER_SOURCES[count.source]}"
            for name in (*count.where, count.value):
                if name in REGISTER_FIELDS:
                    return f"its {label} uses {REGISTER_FIELDS[name]}"
        return None

    def register_required(self) -> RegisterRequired:
        """The error for computing this measure (see :attr:`register_use`) on a
        warehouse that holds activity only."""
        return RegisterRequired(
            f"measure {self.id!r} needs a GP registered population ({self.register_use}), "
            "and this warehouse holds activity only (no GP registration list: its person "
            "table is empty)"
        )

    @property
    def numerator_count(self) -> Count:
        """The numerator with its source filled in (a proportion's is the denominator's)."""
        if self.kind == "proportion" and self.denominator is not None:
            return self.numerator.model_copy(
                update={
                    "source": self.denominator.source,
                    "where": {**self.denominator.where, **self.numerator.where},
                    "condition": self.numerator.condition or self.denominator.condition,
                    "value": self.numerator.value or self.denominator.value,
                }
            )
        return self.numerator

    @property
    def multiplier(self) -> float | None:
        """Factor applied to the ratio numerator / denominator (None for means)."""
        return UNITS[self.unit]


def _check_count(label: str, count: Count) -> None:
    if count.source is None:
        raise ValueError(f"{label}.source is required")
    if count.source == POPULATION:
        fields = POPULATION_FIELDS
    elif count.source in EVENT_SOURCES:
        fields = source_fields(count.source)
    else:
        raise ValueError(
            f"{label}.source {count.source!r} is not an event source; expected "
            f"'population' or one of {', '.join(EVENT_SOURCES)}"
        )
    for name, cond in [*count.where.items(), *([(count.value, None)] if count.value else [])]:
        if name not in fields:
            raise ValueError(
                f"{label}: {count.source} has no field {name!r}; it has: {', '.join(fields)}"
            )
        if isinstance(cond, dict):
            bad = [op for op in cond if op not in OPERATORS]
            if bad:
                raise ValueError(
                    f"{label}.where.{name}: unknown operator {bad[0]!r}; expected "
                    f"one of {', '.join(OPERATORS)}"
                )


def _describe(error: ValidationError) -> str:
    parts = []
    for e in error.errors():
        where = ".".join(str(p) for p in e["loc"]) or "definition"
        parts.append(f"{where}: {e['msg'].removeprefix('Value error, ')}")
    return "; ".join(parts)


def parse_definition(data: dict[str, Any], origin: str = "definition") -> MeasureDefinition:
    """Validate one definition, raising :class:`MeasureError` naming where and what."""
    try:
        return MeasureDefinition.model_validate(data)
    except ValidationError as exc:
        ident = data.get("id", "?") if isinstance(data, dict) else "?"
        raise MeasureError(f"{origin}: measure {ident!r}: {_describe(exc)}") from None


def load_definitions(path: Path) -> list[MeasureDefinition]:
    """Read the definitions in a YAML file (a list of measures, or one)."""
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise MeasureError(f"{path}: not valid YAML: {exc}") from None
    items = data if isinstance(data, list) else [data]
    return [parse_definition(item, str(path)) for item in items if item is not None]


def builtin_paths() -> list[Path]:
    """The YAML files of the built-in measure library."""
    return sorted((Path(__file__).parent / "library").glob("*.yaml"))


def load_library(extra: Iterable[Path] = ()) -> dict[str, MeasureDefinition]:
    """Built-in measures plus any extra YAML files (``$JOINEDUP_MEASURES`` too), by id."""
    from joinedup.settings import extra_measure_files

    paths = [*builtin_paths(), *extra, *extra_measure_files()]
    library: dict[str, MeasureDefinition] = {}
    for path in paths:
        for d in load_definitions(path):
            if d.id in library:
                raise MeasureError(f"{path}: measure id {d.id!r} is defined twice")
            library[d.id] = d
    return library
