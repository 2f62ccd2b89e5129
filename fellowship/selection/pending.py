"""Selection work waiting for someone, for the home pages: a reviewer's reviews still to submit, an applicant's
offers still to answer. Each is one or two queries whatever the number of rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, or_, select

from fellowship.applications.models import Application
from fellowship.calls.models import Call, Programme
from fellowship.extensions import db
from fellowship.selection.models import Offer, OfferStatus, Review, ReviewStatus, StageReview
from fellowship.selection.review_rounds import reviewer_rounds, reviewer_rounds_count
from fellowship.selection.reviewing import reviewer_assignment_count, reviewer_assignments

#: How many open reviews the reviewer's home page lists (the count says how many there are in all).
HOME_LIST_LIMIT = 10


@dataclass(frozen=True)
class ReviewerWork:
    """The reviews a reviewer still has to submit, soonest due first, and how many of all their reviews are done:
    the call's first round and, apart, later review rounds (each with its round's name and due date)."""

    to_do: list[Any]  #: rows of `reviewing.reviewer_assignments` (assignment_id, reference, call_title, due_at, ...)
    left: int
    total: int
    #: rows of `review_rounds.reviewer_rounds` (assignment_id, reference, call_title, stage_name, due_at, ...)
    rounds_to_do: list[Any] = field(default_factory=list)
    rounds_left: int = 0
    rounds_total: int = 0

    @property
    def done(self) -> int:
        return self.total + self.rounds_total - self.left - self.rounds_left


def reviewer_work(reviewer_id: int, limit: int = HOME_LIST_LIMIT) -> ReviewerWork:
    """Active assignments without a submitted review, by due date, in the first round and in later ones (six
    queries, each on the reviewer's own index whatever the number of rows)."""
    not_submitted = or_(Review.status.is_(None), Review.status != ReviewStatus.SUBMITTED)
    open_reviews = reviewer_assignments(reviewer_id).where(not_submitted)
    rows = list(db.session.execute(open_reviews.limit(limit)))
    left = db.session.scalar(select(func.count()).select_from(open_reviews.order_by(None).subquery())) or 0
    total = db.session.scalar(reviewer_assignment_count(reviewer_id)) or 0
    round_open = reviewer_rounds(reviewer_id).where(
        or_(StageReview.status.is_(None), StageReview.status != ReviewStatus.SUBMITTED))
    round_rows = list(db.session.execute(round_open.limit(limit)))
    rounds_left = db.session.scalar(select(func.count()).select_from(round_open.order_by(None).subquery())) or 0
    rounds_total = db.session.scalar(reviewer_rounds_count(reviewer_id)) or 0
    return ReviewerWork(to_do=rows, left=left, total=total, rounds_to_do=round_rows, rounds_left=rounds_left,
                        rounds_total=rounds_total)


def offers_to_answer(applicant_id: int) -> list[Any]:
    """The applicant's pending offers (application id, reference, call title, answer-by time and the programme's zone),
    the soonest deadline first; one query."""
    return list(db.session.execute(
        select(Offer.id, Offer.application_id, Offer.expires_at, Application.reference,
               Call.title.label("call_title"), Programme.time_zone)
        .join(Application, Application.id == Offer.application_id)
        .join(Call, Call.id == Offer.call_id).join(Programme, Programme.id == Call.programme_id)
        .where(Application.applicant_id == applicant_id, Offer.status == OfferStatus.PENDING)
        .order_by(Offer.expires_at, Offer.id)))
