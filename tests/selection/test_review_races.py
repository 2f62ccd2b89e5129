"""Reviews, recusals and unassignments at the same moment: each decided on what the other committed.

Real transactions in their own app contexts and connections (tests/races.py); on PostgreSQL and on SQLite.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from fellowship.extensions import db
from fellowship.selection import round_changes
from fellowship.selection.conflicts import recuse
from fellowship.selection.models import Assignment, AssignmentStatus, ConflictKind, Recommendation, Review
from fellowship.selection.reviewing import save_review
from tests.factories import CallFactory, submitted_application
from tests.races import at_once, count, in_own_context, while_held
from tests.selection.factories import AssignmentFactory, add_rubric, panel_reviewer

YEARS = itertools.count(2300)


def assigned() -> tuple[int, dict[int, int]]:
    """One reviewer on the panel assigned to one application; the assignment's id and a full set of scores."""
    call = CallFactory(year=next(YEARS))
    criteria = add_rubric(call, 1, 3)
    reviewer = panel_reviewer(call)
    assignment = AssignmentFactory(application=submitted_application(call), reviewer_id=reviewer.id)
    return assignment.id, {c.id: 4 for c in criteria}


def submit(assignment_id: int, scores: dict[int, int]) -> Callable[[], Any]:
    def work() -> int:
        review = save_review(db.session.get_one(Assignment, assignment_id), scores, "A clear plan.",
                             Recommendation.SUPPORT, submit=True)
        return review.id
    return work


def test_a_review_submitted_twice_at_once_is_one_review(app, app_ctx):
    assignment_id, scores = assigned()
    results = at_once([in_own_context(app, submit(assignment_id, scores)) for _ in range(3)])
    assert all(isinstance(r, int) for r in results), results
    assert count(Review, Review.assignment_id == assignment_id) == 1


def test_a_review_sent_while_the_reviewer_recuses_is_refused(app, app_ctx):
    assignment_id, scores = assigned()

    def step_back() -> Any:
        return recuse(db.session.get_one(Assignment, assignment_id), "I supervised the applicant.",
                      ConflictKind.SUPERVISOR).id

    _conflict, saved = while_held(app, step_back, in_own_context(app, submit(assignment_id, scores)))
    assert saved == "refused: You are no longer assigned to this application; the review was not saved."
    assert count(Review, Review.assignment_id == assignment_id) == 0


def test_an_unassignment_while_the_review_is_being_submitted_is_refused(app, app_ctx):
    assignment_id, scores = assigned()

    def unassign() -> None:
        round_changes.unassign(db.session.get_one(Assignment, assignment_id), None)

    _review, unassigned = while_held(app, submit(assignment_id, scores), in_own_context(app, unassign))
    assert unassigned == "refused: This reviewer has submitted their review of it; it stays assigned."
    db.session.expire_all()
    assert db.session.scalar(select(Assignment.status).where(Assignment.id == assignment_id)) \
        is AssignmentStatus.ACTIVE
