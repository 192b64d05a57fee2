"""The programme store's tables as SQLAlchemy models (the schema at the newest migration)."""

from joinedup.programme.models.base import Base, Record
from joinedup.programme.models.criteria import SCORE_MAX, SCORE_MIN, Criterion, Proposal, Score
from joinedup.programme.models.governance import (
    Commitment,
    CommitmentSignoff,
    Decision,
    DecisionResponse,
    Group,
    GroupMember,
    Organisation,
    Partnership,
)
from joinedup.programme.models.history import ChangeLog
from joinedup.programme.models.registers import Innovation, InnovationPartner, Risk
from joinedup.programme.models.standards import ProviderAssessment, Standard, StandardsCatalogue
from joinedup.programme.models.workstreams import (
    Deliverable,
    Milestone,
    Workstream,
    WorkstreamMeasure,
)

__all__ = [
    "SCORE_MAX",
    "SCORE_MIN",
    "Base",
    "ChangeLog",
    "Commitment",
    "CommitmentSignoff",
    "Criterion",
    "Decision",
    "DecisionResponse",
    "Deliverable",
    "Group",
    "GroupMember",
    "Innovation",
    "InnovationPartner",
    "Milestone",
    "Organisation",
    "Partnership",
    "Proposal",
    "ProviderAssessment",
    "Record",
    "Risk",
    "Score",
    "Standard",
    "StandardsCatalogue",
    "Workstream",
    "WorkstreamMeasure",
]
