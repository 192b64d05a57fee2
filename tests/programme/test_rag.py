"""RAG rules at their boundaries (the rules are listed in joinedup.programme.rag)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from joinedup.programme.models import Milestone, Workstream
from joinedup.programme.rag import milestone_rag, milestone_rag_explained, workstream_rag

pytestmark = pytest.mark.unit

TODAY = date(2027, 1, 1)


def ms(status: str = "in_progress", due: int = 60, forecast: int | None = None, **kw) -> Milestone:
    """A milestone due ``due`` days from TODAY, forecast ``forecast`` days after its due date."""
    d = TODAY + timedelta(days=due)
    return Milestone(
        title="m",
        status=status,
        due=d,
        forecast=d + timedelta(days=forecast) if forecast is not None else None,
        **kw,
    )


@pytest.mark.parametrize(
    ("milestone", "expected"),
    [
        (ms(due=0), "green"),  # due today is not yet overdue
        (ms(due=-1), "red"),  # one day past due
        (ms("complete", due=-100), "green"),  # complete beats overdue
        (ms("cancelled", due=-100), None),
        (ms("blocked", due=300), "red"),
        (ms(forecast=0), "green"),  # forecast on the due date
        (ms(forecast=1), "amber"),
        (ms(forecast=30), "amber"),
        (ms(forecast=31), "red"),
        (ms("at_risk"), "amber"),
        (ms("not_started", due=30), "amber"),  # inside the start warning window
        (ms("not_started", due=31), "green"),
        (ms("in_progress", due=5), "green"),  # started, so no start warning
    ],
)
def test_milestone_rules(milestone: Milestone, expected: str | None) -> None:
    assert milestone_rag(milestone, TODAY) == expected


def test_override_wins_and_explains_itself() -> None:
    m = ms(due=-10, rag_override="amber", rag_override_reason="Board agreed a new date")
    rag, why = milestone_rag_explained(m, TODAY)
    assert (rag, why) == ("amber", "override: Board agreed a new date")


def test_workstream_is_worst_milestone_unless_overridden() -> None:
    ws = Workstream(code="X", name="X")
    ws.milestones = [ms(), ms("at_risk"), ms("cancelled")]
    assert workstream_rag(ws, TODAY) == "amber"
    ws.milestones.append(ms(due=-1))
    assert workstream_rag(ws, TODAY) == "red"
    ws.rag_override = "green"
    assert workstream_rag(ws, TODAY) == "green"


def test_workstream_without_rated_milestones_has_no_rating() -> None:
    ws = Workstream(code="X", name="X")
    ws.milestones = [ms("cancelled")]
    assert workstream_rag(ws, TODAY) is None
