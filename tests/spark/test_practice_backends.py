"""The practice feed on every backend: the same hand-made rows give the same feed.

The rows and the hand-worked answer come from tests/practice/test_feed.py.
"""

from __future__ import annotations

import pytest

from joinedup.practice.attenders import frequent_attenders
from joinedup.practice.feed import activity_counts, activity_feed
from practice.test_feed import PA, PB, PC, WEEK_A, A, practice_tables

from .conftest import BACKENDS, arrow, open_backend

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", params=BACKENDS)
def wh(request, tmp_path_factory):
    w = open_backend(request, tmp_path_factory.mktemp(f"practice-{request.param}"), request.param)
    for name, rows in practice_tables().items():
        w.load(name, arrow(name, rows), source=f"test/{name}", content_hash=f"practice-{name}")
    yield w
    w.close()


def test_feed_and_flags(wh) -> None:
    feed = activity_feed(wh, A, days=7, casefinding_ids={PC})
    assert sorted(zip(feed["person_id"], feed["event"], feed["date"], strict=True)) == sorted(
        WEEK_A
    )
    flagged = feed.set_index(["person_id", "event"])
    assert flagged.loc[(PA, "ae_attendance"), "ae_attendances_90d"] == 3
    assert flagged.loc[(PB, "emergency_admission"), "readmission_within_30_days"]
    assert flagged.loc[(PC, "emergency_admission"), "still_in_hospital"]


def test_counts_and_attenders(wh) -> None:
    counts = activity_counts(wh, days=7).set_index("practice_code")
    assert counts.loc[A].to_dict() == {"ae_attendance": 1, "emergency_admission": 3, "discharge": 2}
    found = frequent_attenders(wh, A, days=365, min_ae=4, min_admissions=2)
    assert list(found["person_id"]) == [PB, PC, PA]
