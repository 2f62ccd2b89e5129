"""The demo shows selection in stages to a new user: a call configured review -> shortlist -> expert review round ->
interview with weights, candidates shortlisted (their outcome sent), the later round's panel, rubric and assignments
(staff can unassign and reassign there), an interview panel, rubric and slots, some booked, some open."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from fellowship.calls.models import Call
from fellowship.demo import DEMO_PASSWORD, STAGED_CALL_TITLE
from fellowship.extensions import db
from fellowship.interviews.models import InterviewBooking, InterviewSlot
from fellowship.selection.models import (
    AssignmentStatus,
    ReviewStatus,
    StageAssignment,
    StageKind,
    StageResult,
    StageReview,
)
from fellowship.selection.review_rounds import candidate_ids
from fellowship.selection.stages import stage_criteria, stage_panel, stages_of
from tests.conftest import login


def test_the_demo_has_a_call_selected_in_stages_with_candidates_shortlisted_and_slots_to_book(
        demo: Flask, client: FlaskClient) -> None:
    call = db.session.scalars(select(Call).where(Call.title == STAGED_CALL_TITLE)).one()
    stages = stages_of(call.id)
    assert [(s.kind, s.weight) for s in stages] == [(StageKind.REVIEW, 30), (StageKind.SHORTLIST, 0),
                                                    (StageKind.REVIEW, 20), (StageKind.INTERVIEW, 50)]
    shortlist, interview = stages[1], stages[3]
    assert shortlist.advanced_at is not None and shortlist.outcome_sent_at is not None
    advanced = db.session.scalar(select(func.count()).select_from(StageResult).where(
        StageResult.stage_id == shortlist.id, StageResult.advanced.is_(True)))
    assert advanced == 6
    assert stage_criteria(interview) and stage_panel(interview)
    slots = db.session.scalars(select(InterviewSlot).where(InterviewSlot.stage_id == interview.id)).all()
    assert len(slots) >= 3 and any(s.booked_count < s.capacity for s in slots)
    assert db.session.scalar(select(func.count()).select_from(InterviewBooking)
                             .where(InterviewBooking.stage_id == interview.id)) == 2

    login(client, "staff@example.org", DEMO_PASSWORD)
    html = client.get(f"/staff/calls/{call.id}/stages").get_data(as_text=True)
    assert "Shortlist" in html and "Interview" in html and "Expert review" in html and "50%" in html
    assert client.get(f"/staff/interviews/{interview.id}").status_code == 200
    assert client.get(f"/staff/calls/{call.id}/ranking").status_code == 200


def test_the_demo_has_a_later_review_round_whose_assignments_staff_can_unassign_and_reassign(
        demo: Flask, client: FlaskClient) -> None:
    call = db.session.scalars(select(Call).where(Call.title == STAGED_CALL_TITLE)).one()
    expert_round = stages_of(call.id)[2]
    assert expert_round.kind is StageKind.REVIEW and len(stage_panel(expert_round)) == 3
    assert len(stage_criteria(expert_round)) == 2
    shortlisted = candidate_ids(expert_round)
    assert len(shortlisted) == 6
    active = db.session.scalars(select(StageAssignment).where(StageAssignment.stage_id == expert_round.id,
                                                              StageAssignment.status == AssignmentStatus.ACTIVE)).all()
    assert sorted(a.application_id for a in active) == sorted(shortlisted * 2)  # two reviewers each
    assert db.session.scalar(select(func.count()).select_from(StageReview).where(
        StageReview.stage_id == expert_round.id, StageReview.status == ReviewStatus.SUBMITTED)) == 2

    login(client, "staff@example.org", DEMO_PASSWORD)
    html = client.get(f"/staff/calls/{call.id}/rounds/{expert_round.id}").get_data(as_text=True)
    assert "Unassign" in html and "Reassign" in html and "Submitted" in html
    pending = next(a for a in active if f"/assignments/{a.id}/unassign" in html)
    assert f"/staff/calls/{call.id}/rounds/{expert_round.id}/assignments/{pending.id}/reassign" in html
    reviewer = demo.test_client()
    login(reviewer, "reviewer@example.org", DEMO_PASSWORD)
    assert "Expert review" in reviewer.get("/review/rounds").get_data(as_text=True)
