"""Where is the opportunity? Units compared with a fair benchmark, gaps in events,
bed days and money, ranked across the measure library (docs/opportunity.md)."""

from joinedup.opportunity.api import (
    Opportunity,
    event_count_measures,
    opportunity,
    opportunity_table,
    practices_behind,
)
from joinedup.opportunity.method import BENCHMARKS, OpportunityError

__all__ = [
    "BENCHMARKS",
    "Opportunity",
    "OpportunityError",
    "event_count_measures",
    "opportunity",
    "opportunity_table",
    "practices_behind",
]
