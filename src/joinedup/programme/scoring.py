"""Ranking candidate work areas by the partnership's weighted criteria.

Each assessor scores a proposal against each criterion from 0 (not at all) to 5
(fully). For one proposal:

- the **criterion score** is the mean of the assessors' scores on that criterion;
- the **weighted score** is the weighted mean of the criterion scores,
  ``sum(weight_c * mean_c) / sum(weight_c)`` over the criteria that have at least one
  score (0 to 5), also shown as a percentage of the maximum (``score / 5 * 100``);
- each **assessor's score** is the same weighted mean over that assessor's own scores,
  and the **spread** is the highest assessor's score minus the lowest: a wide spread
  means the assessors do not agree and the ranking needs discussion;
- **coverage** is the share of active criteria with at least one score.

Proposals are ranked by weighted score, highest first; equal scores share a rank
(1, 2, 2, 4) and are listed by title.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from joinedup.programme.models import SCORE_MAX


@dataclass(frozen=True)
class ScoreRow:
    """One assessor's score of one proposal against one criterion."""

    proposal: str
    criterion: str
    assessor: str
    score: float


@dataclass
class Ranked:
    """One proposal's place in the ranking."""

    rank: int
    proposal: str
    weighted_score: float
    percent: float
    assessors: int
    assessor_scores: dict[str, float]
    spread: float
    coverage: float
    criterion_scores: dict[str, float] = field(default_factory=dict)


def _weighted(means: Mapping[str, float], weights: Mapping[str, float]) -> float | None:
    total = sum(weights[c] for c in means)
    if total <= 0:
        return None
    return sum(weights[c] * v for c, v in means.items()) / total


def rank_proposals(
    scores: Iterable[ScoreRow],
    weights: Mapping[str, float],
    proposals: Iterable[str] = (),
) -> list[Ranked]:
    """Rank proposals by their weighted score (see the module docstring).

    ``weights`` maps each active criterion to its weight; scores against other
    criteria are ignored. ``proposals`` lists proposals to include even when unscored
    (they rank last, with a weighted score of 0 and coverage 0).
    """
    by_proposal: dict[str, dict[str, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    for row in scores:
        if row.criterion in weights:
            by_proposal[row.proposal][row.criterion][row.assessor] = float(row.score)
    for name in proposals:
        by_proposal.setdefault(name, defaultdict(dict))

    results: list[Ranked] = []
    for name, criteria in by_proposal.items():
        means = {c: sum(a.values()) / len(a) for c, a in criteria.items() if a}
        weighted = _weighted(means, weights) or 0.0
        per_assessor: dict[str, dict[str, float]] = defaultdict(dict)
        for criterion, by_assessor in criteria.items():
            for assessor, value in by_assessor.items():
                per_assessor[assessor][criterion] = value
        assessor_scores = {
            a: round(s, 4)
            for a, own in sorted(per_assessor.items())
            if (s := _weighted(own, weights)) is not None
        }
        spread = (
            max(assessor_scores.values()) - min(assessor_scores.values())
            if assessor_scores
            else 0.0
        )
        results.append(
            Ranked(
                rank=0,
                proposal=name,
                weighted_score=round(weighted, 4),
                percent=round(weighted / SCORE_MAX * 100, 1),
                assessors=len(assessor_scores),
                assessor_scores=assessor_scores,
                spread=round(spread, 4),
                coverage=round(len(means) / len(weights), 4) if weights else 0.0,
                criterion_scores={c: round(v, 4) for c, v in means.items()},
            )
        )
    results.sort(key=lambda r: (-r.weighted_score, r.proposal))
    for i, row in enumerate(results):
        tied = i > 0 and row.weighted_score == results[i - 1].weighted_score
        row.rank = results[i - 1].rank if tied else i + 1
    return results
