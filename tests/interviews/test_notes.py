"""Interview notes as a questionnaire (issue 15 item 5): staff give the interview stage notes questions, an
interviewer answers them beside the scores (their answers are a Response of the stage's questionnaire, one per
candidate and interviewer), staff read them on the candidate's interview page; without questions, notes stay text."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from fellowship.extensions import db
from fellowship.interviews import notes, services
from fellowship.interviews.models import InterviewBooking, InterviewScore
from fellowship.questions import services as questions
from fellowship.questions.kinds import QuestionKind
from fellowship.questions.models import Question, Response
from fellowship.selection.models import SelectionStage, StageKind
from fellowship.selection.stages import stage_criteria
from tests.conftest import login, submit_form
from tests.interviews.helpers import World, add_slot, make_world


@pytest.fixture
def world(app_ctx) -> World:
    return make_world(candidates=2)


def _book_first(world: World) -> int:
    slot = add_slot(world, timedelta(days=3), capacity=2)
    booking = services.book(world.interview, world.candidates[0], slot.id, world.staff, on_behalf=True)
    db.session.commit()
    return booking.id


def _add_questions_as_staff(app, world: World) -> list[Question]:
    client = app.test_client()
    login(client, world.staff.email)
    page = f"/staff/interviews/{world.interview.id}/notes"
    assert client.get(page).status_code == 200
    added = submit_form(client, page, {"label": "How convincing is the plan for the return home?",
                                       "kind": "long_text", "required": "y"})
    assert added.status_code == 302
    assert submit_form(client, page, {"label": "Would you recommend a mentor?", "kind": "yes_no"}).status_code == 302
    refused = submit_form(client, page, {"label": "Level", "kind": "single_choice", "choices": "Only one"})
    assert refused.status_code == 422 and "Give from 2 to" in refused.get_data(as_text=True)
    assert "Level" in refused.get_data(as_text=True)  # what was typed is kept
    db.session.expire_all()
    stage = db.session.get_one(SelectionStage, world.interview.id)
    questionnaire = notes.notes_questionnaire(stage)
    assert questionnaire is not None
    return questions.ordered_questions(questionnaire)


def test_interviewer_answers_the_stage_notes_questionnaire_and_staff_read_them(app, world):
    booking_id = _book_first(world)
    plan, mentor = _add_questions_as_staff(app, world)
    first, second = stage_criteria(world.interview)
    client = app.test_client()
    login(client, world.interviewer.email)
    page = f"/panel/interviews/{booking_id}"
    opened = client.get(page).get_data(as_text=True)
    assert "How convincing is the plan for the return home?" in opened and 'name="notes"' not in opened
    saved = submit_form(client, page, {f"score_{first.id}": 4, f"score_{second.id}": 3,
                                       plan.key: "A clinic in Thiès, with the ministry's letter.", mentor.key: "yes"})
    assert saved.status_code == 302
    db.session.expire_all()
    score = db.session.scalars(select(InterviewScore).where(InterviewScore.stage_id == world.interview.id)).one()
    assert score.notes_response_id is not None
    response = db.session.get_one(Response, score.notes_response_id)
    assert questions.answers_of(response) == {plan.key: "A clinic in Thiès, with the ministry's letter.",
                                             mentor.key: True}
    # Saving again updates the same response: one per candidate and interviewer.
    again = submit_form(client, page, {f"score_{first.id}": 5, f"score_{second.id}": 3,
                                       plan.key: "A clinic in Thiès.", mentor.key: "no"})
    assert again.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Response).where(
        Response.questionnaire_id == response.questionnaire_id)) == 1
    # Staff read the notes on the candidate's interview page, reached from the slot's page.
    staff = app.test_client()
    login(staff, world.staff.email)
    slot_page = staff.get(f"/staff/interview-slots/{_slot_of(booking_id)}").get_data(as_text=True)
    assert f"/staff/interview-bookings/{booking_id}" in slot_page
    detail = staff.get(f"/staff/interview-bookings/{booking_id}").get_data(as_text=True)
    assert "A clinic in Thiès." in detail and "Would you recommend a mentor?" in detail
    assert "Ines Interviewer" in detail
    # Answers exist now: the structure is locked, a question can no longer be removed.
    removed = submit_form(staff, f"/staff/interviews/{world.interview.id}/notes/{plan.id}/remove", {},
                          page=f"/staff/interviews/{world.interview.id}/notes")
    assert removed.status_code == 302
    db.session.expire_all()
    assert db.session.get(Question, plan.id) is not None


def _slot_of(booking_id: int) -> int:
    return db.session.get_one(InterviewBooking, booking_id).slot_id


def test_a_required_notes_answer_left_empty_saves_nothing_and_keeps_what_was_typed(app, world):
    booking_id = _book_first(world)
    plan, mentor = _add_questions_as_staff(app, world)
    first, second = stage_criteria(world.interview)
    client = app.test_client()
    login(client, world.interviewer.email)
    page = f"/panel/interviews/{booking_id}"
    refused = submit_form(client, page, {f"score_{first.id}": 4, f"score_{second.id}": 3, mentor.key: "yes"})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "This question needs an answer." in html and f'aria-describedby="{plan.key}-error"' in html
    assert re.search(rf'<input checked[^>]*name="{mentor.key}"[^>]*value="yes"', html)  # the typed answer kept
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(InterviewScore)) == 0


def test_without_notes_questions_interviewers_write_free_text(app, world):
    booking_id = _book_first(world)
    first, second = stage_criteria(world.interview)
    client = app.test_client()
    login(client, world.interviewer.email)
    page = f"/panel/interviews/{booking_id}"
    assert 'name="notes"' in client.get(page).get_data(as_text=True)
    assert submit_form(client, page, {f"score_{first.id}": 4, f"score_{second.id}": 3,
                                      "notes": "Calm and precise."}).status_code == 302
    db.session.expire_all()
    score = db.session.scalars(select(InterviewScore)).one()
    assert score.notes == "Calm and precise." and score.notes_response_id is None


def test_a_question_of_another_stage_is_not_found_here(app, world):
    other = SelectionStage(call_id=world.call.id, position=4, kind=StageKind.INTERVIEW, name="Second interview",
                           weight=0)
    db.session.add(other)
    db.session.flush()
    question = notes.add_note_question(other, notes.NoteQuestion("Other", QuestionKind.SHORT_TEXT), world.staff)
    notes.start_notes_questionnaire(world.interview, world.staff)
    db.session.commit()
    client = app.test_client()
    login(client, world.staff.email)
    response = submit_form(client, f"/staff/interviews/{world.interview.id}/notes/{question.id}/remove", {},
                           page=f"/staff/interviews/{world.interview.id}/notes")
    assert response.status_code == 404


def test_the_call_staff_pages_lead_to_the_interview_stage_page(app, world):
    client = app.test_client()
    login(client, world.staff.email)
    stages = f"/staff/calls/{world.call.id}/stages"
    assert f'href="{stages}"' in client.get(f"/staff/calls/{world.call.id}/edit").get_data(as_text=True)
    assert f'href="{stages}"' in client.get("/staff/calls").get_data(as_text=True)  # the newest call: page 1
    interview_page = f"/staff/interviews/{world.interview.id}"
    assert f'href="{interview_page}"' in client.get(stages).get_data(as_text=True)
    assert f'href="{interview_page}/notes"' in client.get(interview_page).get_data(as_text=True)
