"""Interview scores: an interviewer on the slot scores against the stage's rubric with notes; scores are normalised
per interviewer as review scores are and reach the final ranking through the stage's StageScore rows; a no-show
has none; someone not on the slot's panel gets 404."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from fellowship.auth.models import Role
from fellowship.extensions import db
from fellowship.interviews import scoring, services, setup
from fellowship.interviews.models import InterviewBooking
from fellowship.selection.models import StageScore
from fellowship.selection.stages import stage_criteria
from tests.conftest import csrf_token_from, login, submit_form
from tests.factories import UserFactory
from tests.interviews.helpers import World, add_slot, make_world


@pytest.fixture
def world(app_ctx) -> World:
    return make_world(candidates=3)


def test_normalisation_per_interviewer_follows_the_review_rules():
    # A harsh interviewer (1, 2, 3) and a lenient one (3, 4, 5) score the same three candidates in the same order:
    # once normalised, each candidate gets the same value from both.
    rows = [(1, 10, Decimal(1)), (2, 10, Decimal(2)), (3, 10, Decimal(3)),
            (1, 20, Decimal(3)), (2, 20, Decimal(4)), (3, 20, Decimal(5))]
    result = {a: (raw, norm, n) for a, raw, norm, n in scoring.normalise(rows, min_count=3)}
    assert result[1][0] == Decimal("2.0000") and result[3][0] == Decimal("4.0000")
    assert result[1][1] < result[2][1] < result[3][1]
    assert result[2][1] == Decimal("3.0000")  # the stage's mean
    assert all(n == 2 for _raw, _norm, n in result.values())
    # Below the minimum count, scores stay raw.
    assert {a: norm for a, _r, norm, _n in scoring.normalise(rows, min_count=4)}[1] == Decimal("2.0000")


def test_an_interviewer_on_the_slot_scores_and_the_stage_score_reaches_the_ranking(app, world):
    slot = add_slot(world, timedelta(days=3), capacity=3)
    bookings = [services.book(world.interview, a, slot.id, world.staff, on_behalf=True) for a in world.candidates]
    db.session.commit()
    first, second = stage_criteria(world.interview)
    client = app.test_client()
    login(client, world.interviewer.email)
    schedule = client.get("/panel/interviews").get_data(as_text=True)
    assert world.candidates[0].reference in schedule and "(Asia/Dhaka)" in schedule  # in the interviewer's zone
    page = f"/panel/interviews/{bookings[0].id}"
    opened = client.get(page)
    assert opened.status_code == 200 and "Interview of" in opened.get_data(as_text=True)
    response = submit_form(client, page, {f"score_{first.id}": 5, f"score_{second.id}": 2,
                                          "notes": "Clear plan for the return home."})
    assert response.status_code == 302
    db.session.expire_all()
    score = db.session.scalars(select(StageScore).where(StageScore.stage_id == world.interview.id)).one()
    assert score.application_id == world.candidates[0].id
    assert score.raw_score == Decimal("4.0000")  # (2 x 5 + 1 x 2) / 3
    assert score.score_count == 1
    # A missing criterion is refused beside it, the notes kept.
    response = submit_form(client, f"/panel/interviews/{bookings[1].id}", {f"score_{first.id}": 4,
                                                                         "notes": "Kept notes"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Give a score from 1 to 5." in html and "Kept notes" in html


def test_someone_not_on_the_slots_panel_cannot_open_or_score_the_interview(app, world):
    slot = add_slot(world, timedelta(days=3))
    booking = services.book(world.interview, world.candidates[0], slot.id, world.staff, on_behalf=True)
    db.session.commit()
    other = UserFactory(roles=[Role.REVIEWER])
    setup.add_interviewer(world.interview, other.email, world.staff)  # on the stage's panel, not on this slot
    db.session.commit()
    client = app.test_client()
    login(client, other.email)
    assert client.get(f"/panel/interviews/{booking.id}").status_code == 404
    token = csrf_token_from(client.get("/panel/interviews").get_data(as_text=True))
    assert client.post(f"/panel/interviews/{booking.id}", data={"csrf_token": token}).status_code == 404


def test_a_no_show_has_no_interview_score(app, world):
    slot = add_slot(world, timedelta(days=3), capacity=2)
    kept = services.book(world.interview, world.candidates[0], slot.id, world.staff, on_behalf=True)
    missed = services.book(world.interview, world.candidates[1], slot.id, world.staff, on_behalf=True)
    db.session.commit()
    first, second = stage_criteria(world.interview)
    for booking in (kept, missed):
        scoring.score_interview(booking, world.interviewer, {first.id: 4, second.id: 4}, "")
    db.session.commit()
    slot.starts_at = slot.starts_at - timedelta(days=4)
    db.session.commit()
    services.mark_no_show(db.session.get_one(InterviewBooking, missed.id), world.staff)
    db.session.commit()
    scored = set(db.session.scalars(select(StageScore.application_id).where(StageScore.stage_id == world.interview.id)))
    assert scored == {world.candidates[0].id}
