"""Changing who reviews a candidate, in any review round (the call's first or a later one), through one service.

The first round keeps its pairs in `assignments` (reviews in `reviews`, serialised by the call's lock); a later
round keeps them in `stage_assignments` (reviews in `stage_reviews`, serialised by the stage's row lock).
`ReviewRound` puts both behind one small interface, so taking a reviewer off, giving a candidate to another
reviewer and withdrawing conflicted pairs are written once: staff see the same rules and the audit log records the
same actions ("selection.unassigned", "selection.reassigned") for every round.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import exists, select

from fellowship.applications.models import Application
from fellowship.audit.services import record
from fellowship.auth.models import User
from fellowship.calls.models import Call
from fellowship.errors import DomainError
from fellowship.extensions import db
from fellowship.locks import lock_row
from fellowship.selection import assignment as first_round
from fellowship.selection import review_rounds
from fellowship.selection.assignment import AssignmentPlan
from fellowship.selection.models import (
    Assignment,
    AssignmentStatus,
    Conflict,
    Review,
    ReviewStatus,
    SelectionStage,
    StageAssignment,
    StageReview,
)
from fellowship.selection.scores import recompute_call

log = logging.getLogger(__name__)

AnyAssignment = Assignment | StageAssignment


@dataclass(frozen=True)
class ReviewRound:
    """One review round of a call: its first (`stage` None: the call's own panel and rubric) or a later one."""

    call: Call
    stage: SelectionStage | None = None

    @classmethod
    def of(cls, item: AnyAssignment) -> ReviewRound:
        call = db.session.get_one(Call, item.call_id)
        if isinstance(item, StageAssignment):
            return cls(call, db.session.get_one(SelectionStage, item.stage_id))
        return cls(call)

    def lock(self) -> None:
        """The lock the round's assignment changes and review saves take, so a change and a save never interleave."""
        if self.stage is None:
            first_round.lock_call(self.call)
        else:
            lock_row(SelectionStage, self.stage.id)

    def details(self) -> dict[str, Any]:
        """What an audit entry says about the round (nothing for the first: its object names the call)."""
        return {} if self.stage is None else {"stage_id": self.stage.id, "call_id": self.call.id}

    def has_submitted_review(self, item: AnyAssignment) -> bool:
        if isinstance(item, StageAssignment):
            done = exists().where(StageReview.assignment_id == item.id, StageReview.status == ReviewStatus.SUBMITTED)
        else:
            done = exists().where(Review.assignment_id == item.id, Review.status == ReviewStatus.SUBMITTED)
        return bool(db.session.scalar(select(done)))

    def assign_by_hand(self, application: Application, reviewer: User, by: User | None) -> AnyAssignment:
        if self.stage is None:
            return first_round.assign(self.call, application, reviewer, by)
        return review_rounds.assign(self.call, self.stage, application, reviewer, by)

    def top_up(self, application_ids: list[int], by: User | None) -> AssignmentPlan:
        """Give these applications back their k reviewers, by the round's balanced plan."""
        if self.stage is None:
            return first_round.reassign(application_ids, by)
        return review_rounds.top_up(self.stage, application_ids, by)

    def recompute(self) -> None:
        if self.stage is None:
            recompute_call(self.call.id)
        else:
            review_rounds.recompute_round(self.stage)


def _take_off(review_round: ReviewRound, item: AnyAssignment, by: User | None, reason: str) -> None:
    """Withdraw an active assignment nobody has submitted a review on, under the round's lock."""
    review_round.lock()  # a review being submitted meanwhile is seen
    db.session.refresh(item, ["status"])
    if item.status is not AssignmentStatus.ACTIVE:
        raise DomainError(_("That assignment was already withdrawn."))
    if review_round.has_submitted_review(item):
        raise DomainError(_("This reviewer has submitted their review of it; it stays assigned."))
    item.status = AssignmentStatus.WITHDRAWN
    db.session.flush()
    record("selection.unassigned", item, actor_id=by.id if by else None, application_id=item.application_id,
           reviewer_id=item.reviewer_id, reason=reason, **review_round.details())


def unassign(item: AnyAssignment, by: User | None) -> None:
    """Take a reviewer off a candidate by hand, in any round; a submitted review is kept, so that one is refused.

    The candidate is not given back to them automatically (the round's plan excludes the pair from now on)."""
    _take_off(ReviewRound.of(item), item, by, "by hand")


def reassign(item: AnyAssignment, to: User | None, by: User | None) -> list[int]:
    """Give a reviewer's candidate to another: `to` by hand (the round's rules: panel, conflicts, cap), or, with
    None, whoever the round's balanced plan picks. Returns the ids of the reviewers who got it.

    One transaction: if `to` is refused, the caller rolls back and the first reviewer keeps the candidate."""
    review_round = ReviewRound.of(item)
    _take_off(review_round, item, by, "reassigned")
    application = db.session.get_one(Application, item.application_id)
    if to is not None:
        review_round.assign_by_hand(application, to, by)
        given = [to.id]
    else:
        plan = review_round.top_up([application.id], by)
        given = [reviewer for _a, reviewer in plan.pairs]
    record("selection.reassigned", item, actor_id=by.id if by else None, application_id=item.application_id,
           from_reviewer_id=item.reviewer_id, to_reviewer_ids=given, **review_round.details())
    log.info("assignment %s: application %s moved from reviewer %s to %s", item.id, item.application_id,
             item.reviewer_id, given)
    return given


def release_conflicted_later_rounds(call_id: int, by: User | None = None) -> AssignmentPlan:
    """A conflict of interest holds in every round: withdraw the call's later-round assignments that now carry one
    (recomputing a round whose submitted review leaves it) and top their candidates back up."""
    conflicted = exists().where(Conflict.application_id == StageAssignment.application_id,
                                Conflict.reviewer_id == StageAssignment.reviewer_id)
    items = list(db.session.scalars(select(StageAssignment).where(
        StageAssignment.call_id == call_id, StageAssignment.status == AssignmentStatus.ACTIVE, conflicted)
        .order_by(StageAssignment.id)))
    plan = AssignmentPlan()
    by_stage: dict[int, list[StageAssignment]] = {}
    for item in items:
        by_stage.setdefault(item.stage_id, []).append(item)
    for stage_id, stage_items in sorted(by_stage.items()):
        review_round = ReviewRound.of(stage_items[0])
        review_round.lock()
        reviewed = False
        for item in stage_items:
            reviewed = reviewed or review_round.has_submitted_review(item)
            item.status = AssignmentStatus.WITHDRAWN
            db.session.flush()
            record("selection.unassigned", item, actor_id=by.id if by else None, application_id=item.application_id,
                   reviewer_id=item.reviewer_id, reason="conflict of interest", **review_round.details())
        if reviewed:
            review_round.recompute()
        part = review_round.top_up(sorted({i.application_id for i in stage_items}), by)
        plan.pairs += part.pairs
        plan.shortfalls.update(part.shortfalls)
        log.info("round %s: %s conflicted assignments withdrawn", stage_id, len(stage_items))
    return plan
