"""A call's submitted reviews as plain records, a page at a time: what the JSON API's reviews resource reads.

One review round at a time: the call's first round reads `reviews` (scores in `review_scores`, the call's rubric),
a later round reads `stage_reviews` (scores in its JSON, the round's own rubric). A page costs three statements
whatever its size (the round's rubric, the page's reviews with their application, reviewer and the application's
score in the round, and the page's criterion scores), walked by review id after the caller's cursor.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, exists, select

from fellowship.applications.models import Application
from fellowship.auth.models import User
from fellowship.calls.models import RubricCriterion
from fellowship.extensions import db
from fellowship.selection.models import (
    ApplicationScore,
    Assignment,
    AssignmentStatus,
    Conflict,
    Recommendation,
    Review,
    ReviewScore,
    ReviewStatus,
    SelectionStage,
    StageAssignment,
    StageCriterion,
    StageKind,
    StageReview,
    StageScore,
)
from fellowship.selection.stages import first_review_stage, stages_of


@dataclass(frozen=True, slots=True)
class Round:
    """A review round of a call: its stage (None for a one-round call made before stages) and whether it is the
    call's first round, which owns the call's rubric and the `reviews` table."""

    call_id: int
    stage: SelectionStage | None
    first: bool

    @property
    def stage_id(self) -> int | None:
        return self.stage.id if self.stage else None

    @property
    def name(self) -> str:
        return self.stage.name if self.stage else "Review"

    @property
    def position(self) -> int:
        return self.stage.position if self.stage else 1


def review_round(call_id: int, stage_id: int | None) -> Round | None:
    """The call's review round `stage_id` (None: its first round); None when that stage is not a review round of
    the call."""
    stages = stages_of(call_id)
    first = first_review_stage(stages)
    if stage_id is None or (first is not None and first.id == stage_id):
        return Round(call_id, first, True)
    stage = next((s for s in stages if s.id == stage_id and s.kind is StageKind.REVIEW), None)
    return Round(call_id, stage, False) if stage is not None else None


@dataclass(frozen=True, slots=True)
class CriterionScore:
    criterion_id: int
    criterion: str
    weight: Decimal
    score: int


@dataclass(frozen=True, slots=True)
class ReviewRecord:
    """One submitted review, with the application's score in the round (the mean of its counted reviews after
    each reviewer's scores are normalised; None while it has none)."""

    id: int
    application_id: int
    reference: str | None
    reviewer_id: int
    reviewer_name: str
    stage_id: int | None
    stage_name: str
    round: int
    scores: list[CriterionScore]
    weighted_score: Decimal | None
    normalised_score: Decimal | None
    #: False when the review no longer counts in the figures (assignment withdrawn, conflict of interest).
    counted: bool
    recommendation: Recommendation | None
    comment: str
    submitted_at: datetime | None


def _criteria(review_round: Round) -> dict[int, Any]:
    if review_round.first:
        return {c.id: c for c in db.session.scalars(
            select(RubricCriterion).where(RubricCriterion.call_id == review_round.call_id)
            .order_by(RubricCriterion.position, RubricCriterion.id))}
    assert review_round.stage is not None
    return {c.id: c for c in db.session.scalars(
        select(StageCriterion).where(StageCriterion.stage_id == review_round.stage.id)
        .order_by(StageCriterion.position, StageCriterion.id))}


def _scores(criteria: dict[int, Any], given: Sequence[tuple[int, int]]) -> list[CriterionScore]:
    """(criterion id, score) pairs in the rubric's order; a criterion since removed from the rubric is left out."""
    by_criterion = dict(given)
    return [CriterionScore(cid, criterion.name, criterion.weight, by_criterion[cid])
            for cid, criterion in criteria.items() if cid in by_criterion]


@dataclass(frozen=True, slots=True)
class ReviewFilter:
    """Which of the round's submitted reviews to read: after a review id, of one application, of one reviewer,
    and only those that count (what a reviewer may still see of their own: not after a recusal or withdrawal)."""

    after_id: int | None = None
    application_id: int | None = None
    reviewer_id: int | None = None
    counted_only: bool = False


def review_records(review_round: Round, which: ReviewFilter, limit: int) -> list[ReviewRecord]:
    """Up to `limit` submitted reviews of the round that `which` selects, by id."""
    criteria = _criteria(review_round)
    if review_round.first:
        return _first_round(review_round, criteria, which, limit)
    return _later_round(review_round, criteria, which, limit)


def _first_round(review_round: Round, criteria: dict[int, Any], which: ReviewFilter,
                 limit: int) -> list[ReviewRecord]:
    conflicted = exists().where(Conflict.application_id == Review.application_id,
                                Conflict.reviewer_id == Review.reviewer_id)
    counted = and_(Assignment.status == AssignmentStatus.ACTIVE, ~conflicted)
    stmt = (select(Review.id, Review.application_id, Application.reference, Review.reviewer_id, User.full_name,
                   Review.weighted_score, ApplicationScore.normalised_mean, counted.label("counted"),
                   Review.recommendation, Review.comment, Review.submitted_at)
            .join(Assignment, Assignment.id == Review.assignment_id)
            .join(Application, Application.id == Review.application_id)
            .join(User, User.id == Review.reviewer_id)
            .outerjoin(ApplicationScore, ApplicationScore.application_id == Review.application_id)
            .where(Review.call_id == review_round.call_id, Review.status == ReviewStatus.SUBMITTED)
            .order_by(Review.id).limit(limit))
    if which.after_id is not None:
        stmt = stmt.where(Review.id > which.after_id)
    if which.application_id is not None:
        stmt = stmt.where(Review.application_id == which.application_id)
    if which.reviewer_id is not None:
        stmt = stmt.where(Review.reviewer_id == which.reviewer_id)
    if which.counted_only:
        stmt = stmt.where(counted)
    rows = db.session.execute(stmt).all()
    given: dict[int, list[tuple[int, int]]] = {}
    if rows:
        for review_id, criterion_id, score in db.session.execute(
                select(ReviewScore.review_id, ReviewScore.criterion_id, ReviewScore.score)
                .where(ReviewScore.review_id.in_([r.id for r in rows]))):
            given.setdefault(review_id, []).append((criterion_id, score))
    return [ReviewRecord(id=r.id, application_id=r.application_id, reference=r.reference, reviewer_id=r.reviewer_id,
                         reviewer_name=r.full_name, stage_id=review_round.stage_id, stage_name=review_round.name,
                         round=review_round.position, scores=_scores(criteria, given.get(r.id, [])),
                         weighted_score=r.weighted_score, normalised_score=r.normalised_mean,
                         counted=bool(r.counted), recommendation=r.recommendation, comment=r.comment,
                         submitted_at=r.submitted_at)
            for r in rows]


def _later_round(review_round: Round, criteria: dict[int, Any], which: ReviewFilter,
                 limit: int) -> list[ReviewRecord]:
    assert review_round.stage is not None
    stage_id = review_round.stage.id
    conflicted = exists().where(Conflict.application_id == StageReview.application_id,
                                Conflict.reviewer_id == StageReview.reviewer_id)
    counted = and_(StageAssignment.status == AssignmentStatus.ACTIVE, ~conflicted)
    stmt = (select(StageReview.id, StageReview.application_id, Application.reference, StageReview.reviewer_id,
                   User.full_name, StageReview.weighted_score, StageScore.normalised_score,
                   counted.label("counted"), StageReview.comment, StageReview.submitted_at, StageReview.scores)
            .join(StageAssignment, StageAssignment.id == StageReview.assignment_id)
            .join(Application, Application.id == StageReview.application_id)
            .join(User, User.id == StageReview.reviewer_id)
            .outerjoin(StageScore, and_(StageScore.stage_id == stage_id,
                                        StageScore.application_id == StageReview.application_id))
            .where(StageReview.stage_id == stage_id, StageReview.status == ReviewStatus.SUBMITTED)
            .order_by(StageReview.id).limit(limit))
    if which.after_id is not None:
        stmt = stmt.where(StageReview.id > which.after_id)
    if which.application_id is not None:
        stmt = stmt.where(StageReview.application_id == which.application_id)
    if which.reviewer_id is not None:
        stmt = stmt.where(StageReview.reviewer_id == which.reviewer_id)
    if which.counted_only:
        stmt = stmt.where(counted)
    return [ReviewRecord(id=r.id, application_id=r.application_id, reference=r.reference, reviewer_id=r.reviewer_id,
                         reviewer_name=r.full_name, stage_id=stage_id, stage_name=review_round.name,
                         round=review_round.position,
                         scores=_scores(criteria, [(int(k), int(v)) for k, v in (r.scores or {}).items()
                                                   if str(k).isdigit()]),
                         weighted_score=r.weighted_score, normalised_score=r.normalised_score,
                         counted=bool(r.counted), recommendation=None, comment=r.comment,
                         submitted_at=r.submitted_at)
            for r in db.session.execute(stmt)]
