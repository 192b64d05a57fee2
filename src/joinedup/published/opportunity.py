"""Published opportunity figures: the ranked table and each measure's units.

Figures come from :mod:`joinedup.opportunity` (every unit against the best quartile of
age-sex standardised ratios, the latest 12 complete months). Observed counts of 1 to
7 are suppressed with what is derived from them (expected events are not counts of
people and stay), with secondary suppression against the total over all units, which
is published beside them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from joinedup.measures.suppression import suppress
from joinedup.opportunity.api import UNIT_COLUMNS, Opportunity
from joinedup.published.base import Base, NotFound

#: Columns of a unit that derive from its observed count.
DERIVED = ["avoidable", "avoidable_lower", "avoidable_upper", "bed_days", "cost", "ratio",
           "ratio_lower", "ratio_upper", "avoidable_most_deprived"]  # fmt: skip


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of a published table as plain dicts (missing figures None, JSON-ready)."""
    return [{k: _plain(v) for k, v in r.items()} for r in frame.to_dict(orient="records")]


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    if value is pd.NA:
        return None
    return value


def safe_units(opp: Opportunity) -> pd.DataFrame:
    """Every unit of ``opp`` (``UNIT_COLUMNS``), observed counts 1-7 suppressed with what
    derives from them, in the method's order (largest gap first)."""
    frame = opp.units[list(UNIT_COLUMNS)].reset_index(drop=True)
    return suppress(
        frame,
        ["observed"],
        derived={"observed": [c for c in DERIVED if c in frame]},
        total_groups=[[]],  # the total over all units is published beside the rows
    ).frame


def units_with_gap(opp: Opportunity) -> dict[str, Any]:
    """One measure's units with a gap, largest first, and the total over all units.

    Suppressed units come last, by name: their place in the order would bound what is
    hidden.
    """
    safe = safe_units(opp)
    gap = safe.loc[opp.units["avoidable"].reset_index(drop=True) > 0]
    shown = gap[gap["avoidable"].notna()].sort_values("avoidable", ascending=False, kind="stable")
    hidden = gap[gap["avoidable"].isna()].sort_values("unit", kind="stable")
    rows = records(pd.concat([shown, hidden]))
    return {
        "measure_id": opp.measure.id,
        "title": opp.measure.title,
        "by": opp.by,
        "benchmark": opp.benchmark,
        "window": opp.window,
        "basis": opp.basis.basis,
        "total": {k: float(v) for k, v in opp.total.items()},
        "units": rows,
    }


class OpportunityFigures(Base):
    """Opportunities in :class:`~joinedup.published.figures.Figures`."""

    def _opportunities(self, by: str) -> dict[str, Any]:
        """Every event-count measure's opportunity by ``by`` against the best quartile,
        counted together (``opportunity.api.opportunities``; unsuppressed)."""
        from joinedup.opportunity.api import opportunities

        return self.figure(f"opportunities:{by}", opportunities, self.wh, by, persist=True)

    def opportunity_table(self, by: str = "practice") -> pd.DataFrame:
        """The ranked opportunity table: one row per event-count measure, totals over all
        units (``opportunity.api.ranked``)."""
        from joinedup.opportunity.api import members_of, ranked

        return self.figure(
            f"opportunity-table:{by}",
            lambda: ranked(self._opportunities(by), members_of(self.wh, by)),
            persist=True,
        )

    def opportunity(self, measure_id: str, by: str = "practice") -> Any:
        """One measure's opportunity (``joinedup.opportunity.Opportunity``, unsuppressed:
        publish its units with :meth:`opportunity_units`); :class:`NotFound` for a
        measure that has none."""
        found = self._opportunities(by).get(measure_id)
        if found is None:
            from joinedup.opportunity.api import event_count_measures

            known = ", ".join(d.id for d in event_count_measures(by))
            raise NotFound(f"no opportunity for measure {measure_id!r}; the measures are: {known}")
        return found

    def opportunity_units(self, measure_id: str, by: str = "practice") -> dict[str, Any]:
        """One measure's units with a gap, largest first, suppressed, and the total."""
        return units_with_gap(self.opportunity(measure_id, by))
