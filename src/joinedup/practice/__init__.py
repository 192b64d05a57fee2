"""A practice's own view: its patients' recent hospital activity, its frequent
attenders, its profile against its peers, and how fresh each source is.

- :mod:`joinedup.practice.feed`: A&E attendances, emergency admissions and discharges
  of the practice's registered patients over a window, with flags that matter to a GP.
- :mod:`joinedup.practice.attenders`: patients with repeated A&E attendances or
  emergency admissions, and their month-by-month pattern.
- :mod:`joinedup.practice.profile`: list size, age structure, condition prevalence
  against expected, peers.
- :mod:`joinedup.practice.timeliness`: the latest date each source holds and which
  sources are late.

Everything here is pseudonymised (``person_id``); NHS numbers are added by the web
layer for the practice's own clinicians only, and every such read is audited.
"""

from joinedup.practice.attenders import frequent_attenders
from joinedup.practice.feed import FEED_EVENTS, activity_feed
from joinedup.practice.profile import practice_profile
from joinedup.practice.timeliness import source_dates

__all__ = [
    "FEED_EVENTS",
    "activity_feed",
    "frequent_attenders",
    "practice_profile",
    "source_dates",
]
