"""Selection work waiting for someone, for the home pages: a reviewer's reviews still to submit, an applicant's
offers still to answer. Each is one or two queries whatever the number of rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select

from fellowship.applications.models import Application
from fellowship.calls.models import Call, Programme
from fellowship.extensions import db
from fellowship.selection.models import Offer, OfferStatus, Review, ReviewStatus
from fellowship.selection.reviewing import reviewer_assignment_count, reviewer_assignments

#: How many open reviews the reviewer's home page lists (the count says how many there are in all).
HOME_LIST_LIMIT = 10


@dataclass(frozen=True)
class ReviewerWork:
    """The reviews a reviewer still has to submit, soonest due first, and how many of all their reviews are done."""

    to_do: list[Any]  #: rows of `reviewing.reviewer_assignments` (assignment_id, reference, call_title, due_at, ...)
    left: int
    total: int

    @property
    def done(self) -> int:
        return self.total - self.left


def reviewer_work(reviewer_id: int, limit: int = HOME_LIST_LIMIT) -> ReviewerWork:
    """Active assignments without a submitted review, by due date (three queries)."""
    not_submitted = or_(Review.status.is_(None), Review.status != ReviewStatus.SUBMITTED)
    open_reviews = reviewer_assignments(reviewer_id).where(not_submitted)
    rows = list(db.session.execute(open_reviews.limit(limit)))
    left = db.session.scalar(select(func.count()).select_from(open_reviews.order_by(None).subquery())) or 0
    total = db.session.scalar(reviewer_assignment_count(reviewer_id)) or 0
    return ReviewerWork(to_do=rows, left=left, total=total)


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
