"""Who could have been enrolled in a programme: its eligibility, read from the data or
given in a YAML definition.

The matched comparison must be drawn from people the programme could have enrolled. By
default the criteria are read from the enrolled themselves (the youngest enrolled
person's age, the fewest long-term conditions any of them had). A partnership that knows
its programme's rules writes them down instead::

    programme: telephone_care_management
    eligibility:
      min_age: 40                 # at the index date
      max_age: null               # no upper limit
      conditions_any: [copd, heart_failure, diabetes, chd, asthma, ckd, atrial_fibrillation]
      min_conditions: 1           # long-term conditions of any kind, recorded before
      min_emergency_admissions: 0 # in the 12 months before the index date

and runs ``joinedup evaluate --programme NAME --eligibility FILE``. Condition names are
those of the condition registers (``joinedup.schema.codes.CONDITION``). Enrolled people
who do not meet the written rules are left out of the evaluation (and counted in its
notes): the design compares like with like.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from joinedup.schema import codes


class Eligibility(BaseModel):
    """A programme's eligibility rules (every one optional)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_age: int | None = Field(None, ge=0, le=120)
    max_age: int | None = Field(None, ge=0, le=120)
    conditions_any: tuple[str, ...] = ()
    min_conditions: int | None = Field(None, ge=0)
    min_emergency_admissions: int | None = Field(None, ge=0)

    @field_validator("conditions_any")
    @classmethod
    def _known(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [c for c in value if c not in codes.CONDITION]
        if unknown:
            raise ValueError(
                f"unknown condition(s) {', '.join(unknown)}; expected names from "
                f"{', '.join(codes.CONDITION)}"
            )
        return value

    def describe(self) -> str:
        """The rules in words."""
        parts = []
        if self.min_age is not None or self.max_age is not None:
            lo = self.min_age if self.min_age is not None else 0
            parts.append(f"aged {lo}+" if self.max_age is None else f"aged {lo} to {self.max_age}")
        if self.conditions_any:
            parts.append("with any of " + ", ".join(self.conditions_any))
        if self.min_conditions:
            parts.append(f"with {self.min_conditions}+ long-term conditions")
        if self.min_emergency_admissions:
            parts.append(
                f"with {self.min_emergency_admissions}+ emergency admissions in the last year"
            )
        return "; ".join(parts) or "everyone"

    def digest(self) -> str:
        """A short stable digest (for caching a published evaluation per definition)."""
        text = json.dumps(self.model_dump(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def mask(self, data: pd.DataFrame) -> pd.Series:
        """Which rows of a feature frame (``age``, ``ltc_count``, ``ltc_*``,
        ``emergency_admissions``) meet the rules."""
        ok = pd.Series(True, index=data.index)
        if self.min_age is not None:
            ok &= data["age"] >= self.min_age
        if self.max_age is not None:
            ok &= data["age"] <= self.max_age
        if self.conditions_any:
            ok &= data[[f"ltc_{c}" for c in self.conditions_any]].sum(axis=1) > 0
        if self.min_conditions is not None:
            ok &= data["ltc_count"] >= self.min_conditions
        if self.min_emergency_admissions is not None:
            ok &= data["emergency_admissions"] >= self.min_emergency_admissions
        return ok


def load(path: Path, programme: str | None = None) -> Eligibility:
    """The eligibility of a YAML definition file (see the module docstring). ValueError
    naming the file and field when it is not valid, or when it names another
    programme than ``programme``."""
    try:
        doc = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: cannot read the definition: {exc}") from None
    if not isinstance(doc, dict) or "eligibility" not in doc:
        raise ValueError(f"{path}: expected a mapping with 'programme' and 'eligibility'")
    named = doc.get("programme")
    if programme is not None and named is not None and named != programme:
        raise ValueError(f"{path}: defines programme {named!r}, not {programme!r}")
    try:
        return Eligibility.model_validate(doc["eligibility"] or {})
    except ValidationError as exc:
        where = "; ".join(
            f"eligibility.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ValueError(f"{path}: {where}") from None


def from_enrolled(data: pd.DataFrame, treated: pd.Series) -> Eligibility:
    """The rules read from the enrolled: the youngest enrolled person's age and the
    fewest long-term conditions any enrolled person had."""
    return Eligibility(
        min_age=int(data.loc[treated, "age"].min()),
        min_conditions=int(data.loc[treated, "ltc_count"].min()),
    )
