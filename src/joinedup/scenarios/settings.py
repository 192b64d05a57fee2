"""The settings (activity types) scenarios count, cost and move activity between.

Each setting has a unit, a unit cost at the 2023-24 price base and, for admitted care,
bed days. Settings with a warehouse source are measured in the baseline; the others
(virtual follow-up is measured too) receive activity that interventions shift into them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml

PRICE_BASE = "2023-24"


@dataclass(frozen=True)
class Setting:
    """One activity type: what is counted and what a unit costs by default."""

    name: str
    label: str
    unit: str
    reference_cost_key: str | None = None  # key of unit_costs_gbp_2023_24 in the synth reference
    assumed_cost: float | None = None  # used when there is no reference key (documented)
    hospital_beds: bool = False  # counts towards acute bed days and beds
    measured: bool = True  # present in the warehouse baseline

    @property
    def unit_cost(self) -> float:
        """Default cost of one unit in pounds at the 2023-24 price base."""
        if self.reference_cost_key:
            return float(reference_unit_costs()[self.reference_cost_key])
        return float(self.assumed_cost or 0.0)


@cache
def reference_unit_costs() -> dict[str, float]:
    """Unit costs of the synthetic economy's reference file (2023-24 prices)."""
    text = (
        resources.files("joinedup.synth")
        .joinpath("reference/england_benchmarks.yaml")
        .read_text(encoding="utf-8")
    )
    return dict(yaml.safe_load(text)["unit_costs_gbp_2023_24"])


# Cost of one hospital bed day added or saved by a length-of-stay change (the tariff's
# excess bed day cost: a marginal, not an average, bed day).
def bed_day_cost() -> float:
    """Marginal cost of one acute bed day (excess bed day tariff, 2023-24)."""
    return float(reference_unit_costs()["excess_bed_day"])


SETTINGS: dict[str, Setting] = {
    s.name: s
    for s in (
        Setting(
            "emergency_admission",
            "Emergency admissions",
            "spells",
            "emergency_admission_spell",
            hospital_beds=True,
        ),
        Setting(
            "elective_admission",
            "Elective ordinary admissions",
            "spells",
            "elective_spell",
            hospital_beds=True,
        ),
        Setting("daycase", "Day cases", "spells", "daycase_spell"),
        Setting("ae_type1", "A&E type 1-2 attendances", "attendances", "ae_type1_attendance"),
        Setting(
            "ae_type3",
            "Urgent treatment centre / type 3-4 attendances",
            "attendances",
            "ae_type3_attendance",
        ),
        # NHS National Cost Collection 2022-23 ambulance "see, treat and convey" and
        # "see and treat" were about £460 and £300 a response; rounded assumptions.
        Setting(
            "ambulance_conveyance", "Ambulance conveyances to A&E", "incidents", assumed_cost=460.0
        ),
        Setting(
            "ambulance_see_and_treat",
            "Ambulance see and treat at scene",
            "incidents",
            assumed_cost=300.0,
            measured=False,
        ),
        Setting("op_first", "Outpatient first attendances", "attendances", "outpatient_first"),
        Setting(
            "op_followup",
            "Outpatient follow-ups (face to face)",
            "attendances",
            "outpatient_followup",
        ),
        Setting(
            "op_followup_virtual",
            "Outpatient follow-ups (telephone / video)",
            "attendances",
            "outpatient_followup",
        ),
        Setting("gp_appointment", "GP practice appointments", "appointments", "gp_appointment"),
        Setting(
            "community_contact", "Community health contacts", "contacts", "community_nurse_contact"
        ),
        # Community (intermediate / end-of-life) bed day: an assumption of about £300,
        # between the PSSRU intermediate care bed day and a hospice bed day.
        Setting(
            "community_bed_day",
            "Community beds (occupied bed days)",
            "bed days",
            assumed_cost=300.0,
            measured=False,
        ),
        Setting("hospital_death", "Deaths in hospital", "deaths", assumed_cost=0.0),
        Setting(
            "community_death", "Deaths at home, care home or hospice", "deaths", assumed_cost=0.0
        ),
    )
}


def setting(name: str) -> Setting:
    """The setting called ``name``, or a ValueError listing the known ones."""
    try:
        return SETTINGS[name]
    except KeyError:
        raise ValueError(
            f"unknown setting {name!r}; expected one of: {', '.join(SETTINGS)}"
        ) from None
