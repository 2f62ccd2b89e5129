"""Later review rounds: their panel and rubric, assigning the candidates who advanced into them, reviewing them.

The call's first review round keeps its machinery (assignment.py, reviewing.py, scores.py). A later round
(a REVIEW stage after the first) reuses its parts, parametrised by the stage: the assignment plan
(assignment.plan_assignments), the call's conflicts (conflicts.conflicted_pairs: a conflict of interest holds in
every round), the rubric's weighted score (scores.weighted_score) and per-reviewer normalisation
(scores.normalise_per_scorer); the round's panel is StagePanelMember, its rubric StageCriterion, its pairs
StageAssignment, its reviews StageReview, and its per-candidate scores go to StageScore through
stages.store_stage_scores, so the final ranking combines them by the round's weight.

Who a round reviews: the candidates who advanced at the last confirmed shortlist before it (none while that
shortlist is unconfirmed); a round with no shortlist before it takes every application under review.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from flask import abort
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import Select, case, exists, func, insert, null, select

from fellowship.applications.models import Application, ApplicationStatus
from fellowship.audit.services import record
from fellowship.auth.models import Role, User
from fellowship.calls.models import Call
from fellowship.errors import DomainError
from fellowship.extensions import db
from fellowship.i18n.texts import LocalizedText
from fellowship.locks import lock_row
from fellowship.models import utcnow
from fellowship.notifications.services import public_link, queue_email, recipient_locale
from fellowship.selection.assignment import AssignedReviewer, AssignmentPlan, ReviewerCapacity, plan_assignments
from fellowship.selection.conflicts import conflicted_pairs
from fellowship.selection.models import (
    AssignmentStatus,
    Conflict,
    ReviewStatus,
    SelectionStage,
    StageAssignment,
    StageCriterion,
    StageKind,
    StagePanelMember,
    StageResult,
    StageReview,
)
from fellowship.selection.scores import normalise_per_scorer, weighted_score
from fellowship.selection.stages import (
    first_review_stage,
    last_cut_before,
    stage_criteria,
    stages_of,
    store_stage_scores,
)
from fellowship.timezones import format_for_viewer

log = logging.getLogger(__name__)

#: Where reviewers find their later rounds' assignments.
ROUNDS_PATH = "/review/rounds"
#: Days reviewers get when the round sets no due date.
DEFAULT_ROUND_DAYS = 14
MAX_COMMENT = 10_000
PANEL_ROLES = (Role.REVIEWER,)


# --- Which stages are later rounds, and whom they review -------------------------------------------------------

def later_round_or_404(call_id: int, stage_id: int) -> SelectionStage:
    """A review round of the call other than its first (which has the call's own pages); else 404."""
    all_stages = stages_of(call_id)
    stage = next((s for s in all_stages if s.id == stage_id), None)
    if stage is None or stage.kind is not StageKind.REVIEW or stage is first_review_stage(all_stages):
        abort(404)
    return stage


def is_later_round(stage: SelectionStage) -> bool:
    return stage.kind is StageKind.REVIEW and first_review_stage(stages_of(stage.call_id)) is not stage


def candidates_query(stage: SelectionStage) -> Select[int]:
    """Ids of the applications the round reviews (under review; advanced at the last confirmed cut before it)."""
    stmt = select(Application.id).where(Application.call_id == stage.call_id,
                                        Application.status == ApplicationStatus.UNDER_REVIEW)
    cut = last_cut_before(stages_of(stage.call_id), stage.position)
    if cut is not None:
        stmt = stmt.where(exists().where(StageResult.stage_id == cut.id, StageResult.application_id == Application.id,
                                         StageResult.advanced.is_(True)))
    else:
        earlier_cut = any(s.kind is StageKind.SHORTLIST and s.position < stage.position
                          for s in stages_of(stage.call_id))
        if earlier_cut:  # a shortlist before it is not confirmed yet: nobody has advanced into the round
            stmt = stmt.where(Application.id.is_(None))
    return stmt.order_by(Application.id)


def candidate_ids(stage: SelectionStage) -> list[int]:
    return list(db.session.scalars(candidates_query(stage)))


def due_at(stage: SelectionStage, now: datetime | None = None) -> datetime:
    """The round's due date, or two weeks from now when it has none."""
    return stage.due_at or (now or utcnow()) + timedelta(days=DEFAULT_ROUND_DAYS)


# --- Panel and rubric ------------------------------------------------------------------------------------------

def add_member(stage: SelectionStage, email: str, by: User) -> User:
    """Put the reviewer with this email on the round's panel."""
    user = db.session.scalar(select(User).where(User.email == (email or "").strip().lower()))
    if user is None or not user.has_role(*PANEL_ROLES):
        raise DomainError(_("No reviewer account has this email."))
    lock_row(SelectionStage, stage.id)
    member = db.session.scalar(select(StagePanelMember.id).where(StagePanelMember.stage_id == stage.id,
                                                                StagePanelMember.user_id == user.id))
    if member is not None:
        raise DomainError(_("%(name)s is already on this round's panel.", name=user.full_name))
    db.session.add(StagePanelMember(stage_id=stage.id, user_id=user.id))
    db.session.flush()
    record("selection.round_member_added", stage, actor_id=by.id, call_id=stage.call_id, user_id=user.id)
    return user


def add_criterion(stage: SelectionStage, name: str, weight: Decimal, description: str, by: User) -> StageCriterion:
    """Add a criterion (scored 1-5, weighted) to the round's own rubric."""
    if not (name or "").strip():
        raise DomainError(_("Name the criterion."))
    if weight is None or weight <= 0:
        raise DomainError(_("A criterion's weight is more than zero."))
    lock_row(SelectionStage, stage.id)
    if db.session.scalar(select(exists().where(StageReview.stage_id == stage.id,
                                               StageReview.status == ReviewStatus.SUBMITTED))):
        raise DomainError(_("Reviews of this round have been submitted: its rubric can no longer change."))
    position = (db.session.scalar(select(func.max(StageCriterion.position))
                                  .where(StageCriterion.stage_id == stage.id)) or 0) + 1
    criterion = StageCriterion(stage_id=stage.id, position=position, name=name.strip(), weight=weight,
                               description=(description or "").strip())
    db.session.add(criterion)
    db.session.flush()
    record("selection.round_criterion_added", stage, actor_id=by.id, call_id=stage.call_id, name=criterion.name,
           weight=str(weight))
    return criterion


# --- Assigning -------------------------------------------------------------------------------------------------

def _k(stage: SelectionStage, call: Call) -> int:
    return stage.reviewers_per_application or call.reviewers_per_application


def round_title(call: Call, stage: SelectionStage, reader: User) -> str:
    """"<call title> · <round name>" in the reader's language (an email is written in the recipient's)."""
    title = call.title
    if isinstance(title, LocalizedText):
        title = title.in_locale(recipient_locale(reader.email, account=reader))
    return f"{title} · {stage.name}"


def _email(reviewer: User, call: Call, stage: SelectionStage, count: int, due: datetime) -> None:
    queue_email(reviewer.email, "selection/assignments", name=reviewer.full_name, count=count,
                call_title=round_title(call, stage, reviewer), due=format_for_viewer(due, reviewer, call.time_zone),
                url=public_link(ROUNDS_PATH))


def auto_assign(call: Call, stage: SelectionStage, by: User | None) -> AssignmentPlan:
    """Give each candidate of the round k of its panel (the first round's balanced plan), never conflicted."""
    lock_row(SelectionStage, stage.id)
    plan = _plan_and_apply(call, stage, candidate_ids(stage), by)
    record("selection.round_auto_assigned", stage, actor_id=by.id if by else None, call_id=call.id,
           assignments=len(plan.pairs), shortfalls={str(a): n for a, n in plan.shortfalls.items()})
    log.info("round %s of call %s: %s assignments made, %s short", stage.id, call.id, len(plan.pairs),
             len(plan.shortfalls))
    return plan


def top_up(stage: SelectionStage, application_ids: list[int], by: User | None) -> AssignmentPlan:
    """Give these candidates of the round back their k reviewers (after an unassignment or a conflict), as the
    first round's reassign() does; the reviewers taken off a candidate are not given it again."""
    lock_row(SelectionStage, stage.id)
    wanted = set(application_ids)
    call = db.session.get_one(Call, stage.call_id)
    plan = _plan_and_apply(call, stage, [a for a in candidate_ids(stage) if a in wanted], by)
    if plan.pairs or plan.shortfalls:
        record("selection.round_auto_assigned", stage, actor_id=by.id if by else None, call_id=call.id,
               assignments=len(plan.pairs), shortfalls={str(a): n for a, n in plan.shortfalls.items()})
    return plan


def _plan_and_apply(call: Call, stage: SelectionStage, application_ids: list[int],
                    by: User | None) -> AssignmentPlan:
    """Plan these candidates against the round's loads (the first round's balanced plan) and insert the pairs."""
    if not application_ids:
        return AssignmentPlan()
    members = list(db.session.scalars(select(User).join(StagePanelMember, StagePanelMember.user_id == User.id)
                                             .where(StagePanelMember.stage_id == stage.id)))
    rows = db.session.execute(select(StageAssignment.application_id, StageAssignment.reviewer_id,
                                     StageAssignment.status).where(StageAssignment.stage_id == stage.id)).all()
    active = {(r.application_id, r.reviewer_id) for r in rows if r.status is AssignmentStatus.ACTIVE}
    withdrawn = {(r.application_id, r.reviewer_id) for r in rows if r.status is AssignmentStatus.WITHDRAWN}
    loads = Counter(reviewer for _, reviewer in active)
    reviewers = {m.id: ReviewerCapacity(None, loads[m.id]) for m in members}
    plan = plan_assignments(application_ids, reviewers, active, conflicted_pairs(call.id), _k(stage, call),
                            excluded=withdrawn)
    if plan.pairs:
        now = utcnow()
        due = due_at(stage, now)
        db.session.execute(insert(StageAssignment), [
            {"stage_id": stage.id, "call_id": call.id, "application_id": a, "reviewer_id": r,
             "status": AssignmentStatus.ACTIVE, "due_at": due, "assigned_at": now,
             "assigned_by_id": by.id if by else None} for a, r in plan.pairs])
        by_id = {m.id: m for m in members}
        for reviewer_id, count in sorted(plan.per_reviewer().items()):
            _email(by_id[reviewer_id], call, stage, count, due)
    db.session.flush()
    return plan


def assign(call: Call, stage: SelectionStage, application: Application, reviewer: User,
           by: User | None) -> StageAssignment:
    """Assign one panel member to one candidate of the round by hand; refused for a conflict or an outsider."""
    label = application.reference or _("application %(id)d", id=application.id)
    lock_row(SelectionStage, stage.id)
    if application.call_id != call.id or application.id not in set(candidate_ids(stage)):
        raise DomainError(_("%(application)s did not advance into this round.", application=label))
    if db.session.scalar(select(StagePanelMember.id).where(StagePanelMember.stage_id == stage.id,
                                                           StagePanelMember.user_id == reviewer.id)) is None:
        raise DomainError(_("%(name)s is not on this round's panel.", name=reviewer.full_name))
    if (application.id, reviewer.id) in conflicted_pairs(call.id):
        raise DomainError(_("%(name)s has a conflict of interest with %(application)s; they cannot review it.",
                            name=reviewer.full_name, application=label))
    assignment = db.session.scalar(select(StageAssignment).where(
        StageAssignment.stage_id == stage.id, StageAssignment.application_id == application.id,
        StageAssignment.reviewer_id == reviewer.id))
    if assignment is not None and assignment.status is AssignmentStatus.ACTIVE:
        raise DomainError(_("%(name)s already reviews %(application)s.", name=reviewer.full_name, application=label))
    now = utcnow()
    if assignment is None:
        assignment = StageAssignment(stage_id=stage.id, call_id=call.id, application_id=application.id,
                                     reviewer_id=reviewer.id)
        db.session.add(assignment)
    assignment.status, assignment.due_at, assignment.assigned_at = AssignmentStatus.ACTIVE, due_at(stage, now), now
    assignment.assigned_by_id = by.id if by else None
    db.session.flush()
    _email(reviewer, call, stage, 1, assignment.due_at)
    record("selection.round_assigned", assignment, actor_id=by.id if by else None, stage_id=stage.id,
           application_id=application.id, reviewer_id=reviewer.id)
    return assignment


def round_rows(stage: SelectionStage) -> Select[Any]:
    """The round's candidates with their number of active reviewers, by reference (for paginate())."""
    count = (select(func.count()).select_from(StageAssignment)
             .where(StageAssignment.stage_id == stage.id, StageAssignment.application_id == Application.id,
                    StageAssignment.status == AssignmentStatus.ACTIVE).correlate(Application).scalar_subquery())
    return (select(Application.id, Application.reference, Application.given_name, Application.family_name,
                   count.label("reviewers"))
            .where(Application.id.in_(candidates_query(stage).order_by(None)))
            .order_by(Application.reference, Application.id))


def reviewers_of(stage: SelectionStage, application_ids: list[int]) -> dict[int, list[AssignedReviewer]]:
    """Application id -> its active reviewers in the round (as on the first round's panel page), one query."""
    if not application_ids:
        return {}
    rows = db.session.execute(
        select(StageAssignment.id, StageAssignment.application_id, StageAssignment.reviewer_id, User.full_name,
               StageReview.status)
        .join(User, User.id == StageAssignment.reviewer_id)
        .outerjoin(StageReview, StageReview.assignment_id == StageAssignment.id)
        .where(StageAssignment.stage_id == stage.id, StageAssignment.application_id.in_(application_ids),
               StageAssignment.status == AssignmentStatus.ACTIVE).order_by(User.full_name)).all()
    found: dict[int, list[AssignedReviewer]] = {}
    for assignment_id, application_id, reviewer_id, name, status in rows:
        found.setdefault(application_id, []).append(
            AssignedReviewer(assignment_id, reviewer_id, name, status is ReviewStatus.SUBMITTED))
    return found


def shortfall_text(plan: AssignmentPlan) -> str:
    return ngettext("%(num)d candidate is still short of reviewers: add panel members or assign by hand.",
                    "%(num)d candidates are still short of reviewers: add panel members or assign by hand.",
                    len(plan.shortfalls))


# --- The reviewer's side ---------------------------------------------------------------------------------------

def _no_conflict() -> Any:
    return ~exists().where(Conflict.application_id == StageAssignment.application_id,
                           Conflict.reviewer_id == StageAssignment.reviewer_id)


def reviewer_rounds(reviewer_id: int) -> Select[Any]:
    """The reviewer's active, unconflicted later-round assignments, soonest due first (names hidden in a blind
    round)."""
    blind = SelectionStage.blind
    return (select(StageAssignment.id.label("assignment_id"), StageAssignment.application_id, StageAssignment.due_at,
                   Application.reference, Call.title.label("call_title"), SelectionStage.name.label("stage_name"),
                   SelectionStage.blind, StageReview.status.label("review_status"), StageReview.submitted_at,
                   case((blind, null()), else_=Application.given_name).label("given_name"),
                   case((blind, null()), else_=Application.family_name).label("family_name"))
            .join(SelectionStage, SelectionStage.id == StageAssignment.stage_id)
            .join(Application, Application.id == StageAssignment.application_id)
            .join(Call, Call.id == StageAssignment.call_id)
            .outerjoin(StageReview, StageReview.assignment_id == StageAssignment.id)
            .where(StageAssignment.reviewer_id == reviewer_id, StageAssignment.status == AssignmentStatus.ACTIVE,
                   _no_conflict())
            .order_by(StageAssignment.due_at, StageAssignment.id))


def reviewer_rounds_count(reviewer_id: int) -> Select[Any]:
    return select(func.count(StageAssignment.id)).where(
        StageAssignment.reviewer_id == reviewer_id, StageAssignment.status == AssignmentStatus.ACTIVE, _no_conflict())


def assignment_for_reviewer_or_404(assignment_id: int, reviewer_id: int) -> StageAssignment:
    """The reviewer's own active round assignment on an application they have no conflict with; else 404."""
    assignment = db.session.scalar(select(StageAssignment).where(
        StageAssignment.id == assignment_id, StageAssignment.reviewer_id == reviewer_id,
        StageAssignment.status == AssignmentStatus.ACTIVE, _no_conflict()))
    if assignment is None:
        abort(404)
    return assignment


def review_for(assignment: StageAssignment) -> StageReview | None:
    return db.session.scalar(select(StageReview).where(StageReview.assignment_id == assignment.id))


def save_review(assignment: StageAssignment, scores: Mapping[int, int], comment: str, submit: bool) -> StageReview:
    """Save the reviewer's scores of the round's rubric as a draft, or submit them (every criterion scored); a
    submitted review stays submitted and may be edited until decisions. Refreshes the round's scores on submit."""
    stage = db.session.get_one(SelectionStage, assignment.stage_id)
    lock_row(SelectionStage, stage.id)  # one save or recompute of the round at a time
    db.session.refresh(assignment, ["status"])
    if assignment.status is not AssignmentStatus.ACTIVE:
        raise DomainError(_("You are no longer assigned to this application; the review was not saved."))
    criteria = {c.id: c for c in stage_criteria(stage)}
    if not criteria:
        raise DomainError(_("This round has no rubric yet: staff add its criteria first."))
    if any(c not in criteria or not 1 <= v <= 5 for c, v in scores.items()):
        raise DomainError(_("Choose a score from 1 to 5 for each criterion."))
    if len(comment) > MAX_COMMENT:
        raise DomainError(_("A comment is at most %(n)d characters.", n=MAX_COMMENT))
    review = review_for(assignment)
    submit = submit or (review is not None and review.status is ReviewStatus.SUBMITTED)
    weighted = weighted_score(scores, {c.id: c.weight for c in criteria.values()}) if submit else None
    if review is None:
        review = StageReview(assignment_id=assignment.id, stage_id=stage.id, application_id=assignment.application_id,
                             reviewer_id=assignment.reviewer_id)
        db.session.add(review)
    first = submit and review.status is not ReviewStatus.SUBMITTED
    review.scores = {str(c): int(v) for c, v in scores.items()}
    review.comment = comment.strip()
    if submit:
        review.status, review.weighted_score = ReviewStatus.SUBMITTED, weighted
        review.submitted_at = review.submitted_at or utcnow()
    db.session.flush()
    record("selection.round_review_submitted" if first else "selection.round_review_saved", review,
           stage_id=stage.id, application_id=assignment.application_id, reviewer_id=assignment.reviewer_id,
           weighted_score=str(weighted) if weighted is not None else None)
    if submit:
        recompute_round(stage)
    return review


def recompute_round(stage: SelectionStage) -> None:
    """The round's per-candidate scores, normalised per reviewer, into the final ranking (StageScore)."""
    rows = [(a, r, s) for a, r, s in db.session.execute(
        select(StageReview.application_id, StageReview.reviewer_id, StageReview.weighted_score)
        .join(StageAssignment, StageAssignment.id == StageReview.assignment_id)
        .where(StageReview.stage_id == stage.id, StageReview.status == ReviewStatus.SUBMITTED,
               StageAssignment.status == AssignmentStatus.ACTIVE)) if s is not None]
    min_count = db.session.scalar(select(Call.min_reviews_for_normalisation).where(Call.id == stage.call_id)) or 3
    store_stage_scores(stage, normalise_per_scorer(rows, min_count))
    log.info("review round %s: %s scores recomputed", stage.id, len(rows))
