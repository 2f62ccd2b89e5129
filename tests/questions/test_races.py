"""Check-then-write under concurrency: saves of one response take its row lock; the structure lock and a structural
change take the questionnaire's, so neither slips past the other."""

from __future__ import annotations

from typing import Any

from flask import Flask

from fellowship.extensions import db
from fellowship.questions import services
from fellowship.questions.models import Questionnaire, Response
from tests.questions.conftest import build_questionnaire
from tests.races import in_own_context, while_held


def committed_questionnaire(app: Flask) -> tuple[int, int]:
    with app.app_context(), app.test_request_context("/"):
        questionnaire = build_questionnaire()
        response = services.response_for(questionnaire)
        db.session.commit()
        ids = questionnaire.id, response.id
        db.session.remove()
    return ids


def save(app: Flask, questionnaire_id: int, response_id: int, values: dict[str, Any]) -> Any:
    def work() -> Any:
        with app.test_request_context("/"):
            questionnaire = db.session.get_one(Questionnaire, questionnaire_id)
            about = next(s for s in questionnaire.sections if s.key == "about")
            return services.save_section_answers(db.session.get_one(Response, response_id), about, values).errors
    return work


def test_two_first_saves_of_one_section_at_once_both_keep_their_answers(app: Flask, app_ctx: Flask) -> None:
    questionnaire_id, response_id = committed_questionnaire(app)
    first, second = while_held(app, save(app, questionnaire_id, response_id, {"name": "Amina"}),
                               in_own_context(app, save(app, questionnaire_id, response_id, {"age": "30"})))
    assert first == {} and second == {}  # no duplicate answer set, no unique violation
    db.session.expire_all()
    assert services.answers_of(db.session.get_one(Response, response_id)) == {"name": "Amina", "age": 30}


def test_a_question_added_while_the_structure_is_being_locked_is_refused(app: Flask, app_ctx: Flask) -> None:
    questionnaire_id, _response_id = committed_questionnaire(app)

    def lock() -> Any:
        return services.lock_structure(db.session.get_one(Questionnaire, questionnaire_id))

    def add() -> Any:
        with app.test_request_context("/"):
            questionnaire = db.session.get_one(Questionnaire, questionnaire_id)
            return services.add_question(questionnaire.sections[0], kind="short_text", key="late", label="Late").key

    _locked, added = while_held(app, lock, in_own_context(app, add))
    assert isinstance(added, str) and added.startswith("refused: The structure of this form is locked")
