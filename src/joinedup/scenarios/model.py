"""Scenario and intervention definitions: the YAML an analyst writes, validated.

An *intervention* says whom it reaches (cohort), how many take part each year (uptake),
what it changes (effects on each setting, shifts between settings, length-of-stay
changes) and what it costs (set-up, per person, staff by role and grade). A *scenario*
is a set of interventions with the model's settings (years, growth, discounting).
Uncertain numbers are ranges (low / central / high) sampled in the Monte Carlo.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from joinedup.derived.persons import AGE_BANDS
from joinedup.scenarios.settings import SETTINGS
from joinedup.schema.codes import CONDITION

SEGMENTS = ("healthy", "single_ltc", "multimorbid", "complex", "end_of_life")
RISK_TIERS = ("low", "moderate", "high")
AGE_BAND_NAMES = tuple(b[0] for b in AGE_BANDS)


class ScenarioError(ValueError):
    """A scenario or intervention file that cannot be used, with the reason."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Range(_Strict):
    """An uncertain number: low <= central <= high, sampled from ``distribution``.

    ``pert`` (the default) and ``triangular`` have their mode at ``central`` and their
    bounds at ``low`` and ``high``; ``uniform`` ignores ``central`` when sampling. A plain
    number is a range with no uncertainty.
    """

    low: float
    central: float
    high: float
    distribution: Literal["pert", "triangular", "uniform"] = "pert"

    @model_validator(mode="before")
    @classmethod
    def _from_number(cls, value: Any) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return {"low": value, "central": value, "high": value}
        return value

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if not self.low <= self.central <= self.high:
            raise ValueError(
                f"expected low <= central <= high, got {self.low}, {self.central}, {self.high}"
            )
        return self

    @property
    def uncertain(self) -> bool:
        """True when low and high differ."""
        return self.high > self.low


def _known_setting(name: str) -> str:
    if name not in SETTINGS:
        raise ValueError(f"unknown setting {name!r}; expected one of: {', '.join(SETTINGS)}")
    return name


Setting = Annotated[str, Field(description="a setting name (joinedup.scenarios.settings)")]


class Cohort(_Strict):
    """Who an intervention reaches. Every criterion given must hold (conditions: any of)."""

    segments: list[Literal[SEGMENTS]] | None = None  # type: ignore[valid-type]
    conditions: list[str] | None = None
    min_conditions: int = Field(0, ge=0)
    risk_tiers: list[Literal[RISK_TIERS]] | None = None  # type: ignore[valid-type]
    age_bands: list[Literal[AGE_BAND_NAMES]] | None = None  # type: ignore[valid-type]
    age_min: int | None = Field(None, ge=0)
    age_max: int | None = Field(None, ge=0)
    sex: list[Literal["F", "M", "U"]] | None = None
    footprints: list[str] | None = None
    # Per member per year activity, cost and length of stay given instead of measured
    # (for reproducing a business case, or a cohort the warehouse cannot identify).
    rates: dict[str, float] | None = None
    unit_costs: dict[str, float] | None = None
    mean_los: dict[str, float] | None = None

    @field_validator("conditions")
    @classmethod
    def _known_conditions(cls, value: list[str] | None) -> list[str] | None:
        for c in value or []:
            if c not in CONDITION:
                raise ValueError(
                    f"unknown condition {c!r}; expected one of: {', '.join(CONDITION)}"
                )
        return value

    @field_validator("rates", "unit_costs", "mean_los")
    @classmethod
    def _known_settings(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        for name, v in (value or {}).items():
            _known_setting(name)
            if v < 0:
                raise ValueError(f"{name}: expected a number >= 0, got {v}")
        return value


class Uptake(_Strict):
    """Members each year: ``members`` (people) or ``share`` of the eligible cohort.

    A list shorter than the horizon carries its last value forward. ``achieved`` scales
    it (uncertainty about reaching the plan).
    """

    members: list[float] | None = None
    share: list[float] | None = None
    achieved: Range = Range(low=1, central=1, high=1)

    @model_validator(mode="after")
    def _one_of(self) -> Uptake:
        if (self.members is None) == (self.share is None):
            raise ValueError("give exactly one of members (people a year) or share (0 to 1)")
        if self.share is not None and any(not 0 <= s <= 1 for s in self.share):
            raise ValueError(f"share: expected fractions from 0 to 1, got {self.share}")
        if self.members is not None and any(m < 0 for m in self.members):
            raise ValueError(f"members: expected numbers >= 0, got {self.members}")
        if not (self.members or self.share):
            raise ValueError("expected at least one value a year")
        return self


class Effect(_Strict):
    """Relative change in members' use of a setting (-0.3 = 30% fewer)."""

    setting: str
    change: Range

    _setting = field_validator("setting")(classmethod(lambda cls, v: _known_setting(v)))

    @field_validator("change")
    @classmethod
    def _not_below_minus_one(cls, value: Range) -> Range:
        if value.low < -1:
            raise ValueError(f"expected a relative change >= -1 (all activity), got {value.low}")
        return value


class Shift(_Strict):
    """Move activity from one setting to another.

    ``share`` moves that fraction of members' remaining use of ``from``; ``units`` moves a
    fixed amount a year (a list by year, or one number) whatever the cohort. With
    ``basis: bed_days`` the amount is hospital bed days (stays shortened, admissions
    kept). Each unit moved becomes ``ratio`` units of ``to``.
    """

    from_setting: str = Field(alias="from")
    to: str
    share: Range | None = None
    units: list[float] | float | None = None
    basis: Literal["count", "bed_days"] = "count"
    ratio: float = Field(1.0, gt=0)

    _settings = field_validator("from_setting", "to")(classmethod(lambda cls, v: _known_setting(v)))

    @model_validator(mode="after")
    def _amount(self) -> Shift:
        if (self.share is None) == (self.units is None):
            raise ValueError("give exactly one of share (a fraction) or units (a year)")
        if self.share is not None and not (self.share.low >= 0 and self.share.high <= 1):
            raise ValueError("share: expected fractions from 0 to 1")
        if self.basis == "bed_days" and not SETTINGS[self.from_setting].hospital_beds:
            raise ValueError(f"basis bed_days needs an admitted setting, not {self.from_setting!r}")
        return self


class LosChange(_Strict):
    """Change in mean length of stay (days) of members' remaining spells."""

    setting: str
    change_days: Range

    @field_validator("setting")
    @classmethod
    def _admitted(cls, value: str) -> str:
        _known_setting(value)
        if not SETTINGS[value].hospital_beds:
            raise ValueError(f"expected an admitted setting with bed days, got {value!r}")
        return value


class Staff(_Strict):
    """Staff an intervention employs: per 1,000 members or a fixed WTE, at a cost per WTE."""

    role: str
    grade: str | None = None
    wte_per_1000_members: Range | None = None
    wte: Range | None = None
    cost_per_wte: Range

    @model_validator(mode="after")
    def _one_of(self) -> Staff:
        if (self.wte_per_1000_members is None) == (self.wte is None):
            raise ValueError("give exactly one of wte_per_1000_members or wte")
        return self


class Costs(_Strict):
    """What an intervention costs, in pounds at the 2023-24 price base."""

    setup: Range = Range(low=0, central=0, high=0)
    setup_year: int = Field(1, ge=1)
    per_person: Range = Range(low=0, central=0, high=0)  # per member per year
    fixed_per_year: Range = Range(low=0, central=0, high=0)
    staff: list[Staff] = []


class Intervention(_Strict):
    """One change to services: cohort, uptake, effects, shifts, stays and costs."""

    kind: Literal["intervention"] = "intervention"
    name: str = Field(pattern=r"^[a-z0-9_]+$")
    title: str
    description: str = ""
    source: str = ""
    start_year: int = Field(1, ge=1)
    cohort: Cohort = Cohort()
    uptake: Uptake
    effects: list[Effect] = []
    shifts: list[Shift] = []
    los_changes: list[LosChange] = []
    costs: Costs = Costs()

    @model_validator(mode="after")
    def _members_when_rates_given(self) -> Intervention:
        if self.cohort.rates is not None and self.uptake.share is not None:
            raise ValueError(
                "uptake: a cohort given by rates has no eligible count to take a share of; "
                "give uptake.members (people a year)"
            )
        return self


class OptimismBias(_Strict):
    """HM Treasury Green Book optimism bias: uplift on costs, reduction of benefits."""

    costs: float = Field(0.0, ge=0)
    benefits: float = Field(0.0, ge=0, le=1)


class Scenario(_Strict):
    """A set of interventions and the settings of the model that runs them."""

    kind: Literal["scenario"] = "scenario"
    name: str = Field(pattern=r"^[a-z0-9_]+$")
    title: str = ""
    description: str = ""
    source: str = ""
    years: int = Field(5, ge=1, le=30)
    interventions: list[Intervention] = []
    non_demographic_growth: dict[str, Range] = {}
    demographic_growth: bool = True
    discount_rate: float = Field(0.035, ge=0, lt=1)
    optimism_bias: OptimismBias = OptimismBias()

    @field_validator("non_demographic_growth")
    @classmethod
    def _growth_settings(cls, value: dict[str, Range]) -> dict[str, Range]:
        for name in value:
            _known_setting(name)
        return value

    @model_validator(mode="after")
    def _unique(self) -> Scenario:
        names = [i.name for i in self.interventions]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"interventions: each may appear once, repeated: {', '.join(dupes)}")
        return self


def _format_errors(source: str, error: ValidationError) -> str:
    lines = []
    for e in error.errors():
        where = ".".join(str(p) for p in e["loc"]) or "(top level)"
        got = e.get("input")
        shown = "" if isinstance(got, dict | list) else f" (got {got!r})"
        lines.append(f"{source}: {where}: {e['msg']}{shown}")
    return "\n".join(lines)


def library_names() -> list[str]:
    """Names of the built-in interventions and scenarios."""
    lib = resources.files("joinedup.scenarios").joinpath("library")
    return sorted(p.name[:-5] for p in lib.iterdir() if p.name.endswith(".yaml"))


def _read_yaml(text: str, source: str) -> dict:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" line {mark.line + 1}, column {mark.column + 1}:" if mark else ""
        raise ScenarioError(
            f"{source}:{at} not valid YAML: {getattr(exc, 'problem', exc)}"
        ) from None
    if not isinstance(data, dict):
        raise ScenarioError(f"{source}: expected a mapping of fields, got {type(data).__name__}")
    return data


def _library_text(name: str) -> str:
    path = resources.files("joinedup.scenarios").joinpath("library", f"{name}.yaml")
    if not path.is_file():
        raise ScenarioError(
            f"no scenario file or built-in called {name!r}; built-ins: {', '.join(library_names())}"
        )
    return path.read_text(encoding="utf-8")


def _resolve(data: dict, source: str) -> dict:
    """Replace intervention names in a scenario by their built-in definitions."""
    if data.get("kind") != "scenario" and "interventions" not in data:
        data = {"kind": "intervention", **data}
        return {
            "kind": "scenario",
            "name": data.get("name", "scenario"),
            "title": data.get("title", ""),
            "interventions": [data],
        }
    items = data.get("interventions") or []
    if not isinstance(items, list):
        raise ScenarioError(f"{source}: interventions: expected a list of names or definitions")
    resolved = []
    for i, item in enumerate(items):
        if isinstance(item, str):
            inner = _read_yaml(_library_text(item), f"built-in {item}")
            if inner.get("kind") == "scenario":
                raise ScenarioError(f"{source}: interventions.{i}: {item!r} is a scenario")
            resolved.append(inner)
        else:
            resolved.append(item)
    return {**data, "interventions": resolved}


def parse_scenario(data: dict, source: str = "scenario") -> Scenario:
    """Validate a scenario (or a single intervention, wrapped in a scenario)."""
    try:
        return Scenario.model_validate(_resolve(data, source))
    except ValidationError as exc:
        raise ScenarioError(_format_errors(source, exc)) from None


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A scenario from a YAML file, or the built-in of that name (see ``library_names``)."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise ScenarioError(f"{path}: no such file")
        return parse_scenario(_read_yaml(path.read_text(encoding="utf-8"), str(path)), str(path))
    name = str(name_or_path)
    return parse_scenario(_read_yaml(_library_text(name), f"built-in {name}"), f"built-in {name}")
