"""Models of the selection area: one file per group of tables."""

from fellowship.selection.models.decisions import (
    AdjustmentAction,
    Decision,
    DecisionOutcome,
    Offer,
    OfferStatus,
    SelectionAdjustment,
)
from fellowship.selection.models.panel import CallReviewer, Conflict, ConflictKind, ConflictSource
from fellowship.selection.models.review import (
    Assignment,
    AssignmentStatus,
    Recommendation,
    Review,
    ReviewScore,
    ReviewStatus,
)
from fellowship.selection.models.scores import (
    ApplicationScore,
    CombinedRank,
    RankingProposal,
    ReviewerStrictness,
)
from fellowship.selection.models.stages import (
    SelectionStage,
    StageAdjustment,
    StageAssignment,
    StageCriterion,
    StageKind,
    StagePanelMember,
    StageResult,
    StageReview,
    StageScore,
)

__all__ = ["AdjustmentAction", "ApplicationScore", "Assignment", "AssignmentStatus", "CallReviewer", "CombinedRank",
           "Conflict", "ConflictKind", "ConflictSource", "Decision", "DecisionOutcome", "Offer", "OfferStatus",
           "RankingProposal", "Recommendation", "Review", "ReviewScore", "ReviewStatus", "ReviewerStrictness",
           "SelectionAdjustment", "SelectionStage", "StageAdjustment", "StageAssignment", "StageCriterion",
           "StageKind", "StagePanelMember", "StageResult", "StageReview", "StageScore"]
