"""The demo shows selection in stages to a new user: a call configured review -> shortlist -> interview with
weights, candidates shortlisted (their outcome sent), an interview panel, rubric and slots, some booked, some open."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from fellowship.calls.models import Call
from fellowship.demo import DEMO_PASSWORD, STAGED_CALL_TITLE, load_demo_data
from fellowship.extensions import db
from fellowship.interviews.models import InterviewBooking, InterviewSlot
from fellowship.selection.models import StageKind, StageResult
from fellowship.selection.stages import stage_criteria, stage_panel, stages_of
from tests.conftest import login


@pytest.fixture
def demo(app: Flask) -> Iterator[Flask]:
    with app.app_context():
        load_demo_data()
        db.session.commit()
        yield app
        db.session.remove()


def test_the_demo_has_a_call_selected_in_stages_with_candidates_shortlisted_and_slots_to_book(
        demo: Flask, client: FlaskClient) -> None:
    call = db.session.scalars(select(Call).where(Call.title == STAGED_CALL_TITLE)).one()
    stages = stages_of(call.id)
    assert [(s.kind, s.weight) for s in stages] == [(StageKind.REVIEW, 40), (StageKind.SHORTLIST, 0),
                                                    (StageKind.INTERVIEW, 60)]
    shortlist, interview = stages[1], stages[2]
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
    assert "Shortlist" in html and "Interview" in html and "60%" in html
    assert client.get(f"/staff/interviews/{interview.id}").status_code == 200
    assert client.get(f"/staff/calls/{call.id}/ranking").status_code == 200
