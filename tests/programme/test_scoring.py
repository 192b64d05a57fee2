"""Criteria ranking on a worked example computed by hand."""

from __future__ import annotations

import pytest

from joinedup.programme.scoring import ScoreRow, rank_proposals

pytestmark = pytest.mark.unit

# Criterion A counts twice as much as B and C; D is not an active criterion.
WEIGHTS = {"A": 2.0, "B": 1.0, "C": 1.0}


def rows(proposal: str, assessor: str, **scores: int) -> list[ScoreRow]:
    return [ScoreRow(proposal, c, assessor, s) for c, s in scores.items()]


SCORES = [
    *rows("X", "p", A=4, B=2, C=3),
    *rows("X", "q", A=5, B=4, C=5, D=0),
    *rows("Y", "p", A=5, B=0),  # C not scored
    *rows("Z", "r", A=4, B=4, C=4),
]


def test_worked_example() -> None:
    ranked = {r.proposal: r for r in rank_proposals(SCORES, WEIGHTS, ["W", "X", "Y", "Z"])}
    x = ranked["X"]
    # criterion means A = 4.5, B = 3, C = 4; weighted (2*4.5 + 3 + 4) / 4 = 4.0
    assert x.criterion_scores == {"A": 4.5, "B": 3.0, "C": 4.0}
    assert x.weighted_score == 4.0
    assert x.percent == 80.0
    # assessor p: (8 + 2 + 3) / 4 = 3.25; q: (10 + 4 + 5) / 4 = 4.75 (D ignored)
    assert x.assessor_scores == {"p": 3.25, "q": 4.75}
    assert x.spread == 1.5
    assert x.coverage == 1.0
    # Y: (2*5 + 0) / 3 over the two criteria scored; coverage 2 of 3
    assert ranked["Y"].weighted_score == pytest.approx(10 / 3, abs=1e-4)
    assert ranked["Y"].coverage == pytest.approx(2 / 3, abs=1e-4)
    assert ranked["Y"].spread == 0.0
    # Z = 4.0 ties with X: both rank 1; Y third; unscored W last with nothing
    assert [(r.rank, r.proposal) for r in rank_proposals(SCORES, WEIGHTS, ["W"])] == [
        (1, "X"),
        (1, "Z"),
        (3, "Y"),
        (4, "W"),
    ]
    assert ranked["W"].weighted_score == 0.0
    assert ranked["W"].assessors == 0


def test_weights_change_the_order() -> None:
    # With B weighted heavily, Z (B=4) overtakes Y (B=0) and X (mean B=3).
    order = [r.proposal for r in rank_proposals(SCORES, {"A": 1.0, "B": 10.0, "C": 1.0})]
    assert order == ["Z", "X", "Y"]
