"""The deadline surge's two hot requests, a section save and a submit, send a pinned number of SQL statements.

`make bench-surge` measures them under load (docs/performance.md); these counts are what its fixes bought, so a
change that adds a statement to either (a repeated load of the form, an N+1 over sections, a second lock, a re-read
of what was just written) fails here first. The counts are for a call with the default form, its structure locked
as an open call's is, in a process that has served the form before (as the surge's workers have).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, text

from fellowship.applications.models import Application, ApplicationStatus
from fellowship.extensions import db
from fellowship.models import utcnow
from fellowship.questions.models import AnswerFacet, Question, Questionnaire
from tests.applications.helpers import DECLARATION_TICKS, make_complete, owner_email
from tests.conftest import csrf_token_from, login
from tests.factories import ApplicationFactory, CallFactory
from tests.querycount import counted_statements

#: What the applicant posts for the "education" section of the default form (every question answered, valid).
EDUCATION = {"highest_degree": "master", "degree_subject": "Environmental science",
             "institution": "University of Nairobi", "graduation_year": "2021"}

#: A section save that changes a profile column and no list facet, on PostgreSQL: the session's user; the
#: application with its call and its form's version, locked (FOR NO KEY UPDATE OF applications; the form's sections
#: and questions kept by the process); the response with its answer sets; the answer set's UPDATE; the applications
#: row's UPDATE (the projected profile column). SQLite takes its lock with one more statement (fellowship.locks).
SECTION_SAVE_STATEMENTS = 5
#: A submit on PostgreSQL: user; application with call and form version; referees' count and documents present
#: (one statement); response with answer sets; the call's lock (shared); the reference number; the status UPDATE;
#: the confirmation in the outbox; the audit entry. Not the ranking's version: a submitted application is in no
#: ranking yet.
SUBMIT_STATEMENTS = 9


def _open_call_application(**answers: Any) -> Application:
    application = ApplicationFactory(call=CallFactory(references_required=1), **answers)
    questionnaire = db.session.get_one(Questionnaire, application.call.questionnaire_id)
    questionnaire.structure_locked_at = utcnow()  # an open call's form, as calls.services locks it
    db.session.commit()
    return application


def _shown(statements: list[str]) -> str:
    return "\n".join(f"{i + 1}. {' '.join(s.split())[:200]}" for i, s in enumerate(statements))


def _sqlite() -> bool:
    return db.session.get_bind().dialect.name == "sqlite"


def _save_page(client: Any, application: Application) -> tuple[str, dict[str, str]]:
    login(client, owner_email(application))
    url = f"/applications/{application.id}/sections/education"
    token = csrf_token_from(client.get(url).get_data(as_text=True))  # the process has now built the form
    db.session.remove()  # the request starts with an empty session, as a server's does
    return url, {**EDUCATION, "csrf_token": token, "save": "Save"}


def test_a_section_save_sends_five_statements_with_one_lock_and_nothing_read_twice(client, app_ctx):
    application = _open_call_application()
    url, data = _save_page(client, application)
    with counted_statements() as statements:
        response = client.post(url, data={**data, "institution": "Kenyatta University"})
    assert response.status_code == 302, response.get_data(as_text=True)
    assert len(statements) == SECTION_SAVE_STATEMENTS + _sqlite(), _shown(statements)
    if not _sqlite():
        assert sum("FOR NO KEY UPDATE" in s for s in statements) == 1, _shown(statements)
    assert not any("FROM questionnaire_sections" in s or "FROM questions" in s or "FROM questionnaires" in s
                   for s in statements), _shown(statements)
    db.session.expire_all()
    assert db.session.get_one(Application, application.id).institution == "Kenyatta University"


def test_a_save_that_changes_a_choice_rewrites_only_that_questions_facet(client, app_ctx):
    application = _open_call_application()
    url, data = _save_page(client, application)
    with counted_statements() as statements:
        response = client.post(url, data={**data, "highest_degree": "doctorate"})
    assert response.status_code == 302
    assert len(statements) == SECTION_SAVE_STATEMENTS + 2 + _sqlite(), _shown(statements)  # its facet out and in
    facets = {(row.question_id, row.value) for row in db.session.execute(
        select(AnswerFacet.question_id, AnswerFacet.value).where(AnswerFacet.response_id == application.response_id))}
    keys = dict(db.session.execute(select(Question.id, Question.key).where(
        Question.id.in_([question_id for question_id, _value in facets]))).all())
    assert {(keys[question_id], value) for question_id, value in facets} >= {
        ("highest_degree", "doctorate"), ("nationality", "KE"), ("gender", "female")}
    assert ("highest_degree", "master") not in {(keys[question_id], value) for question_id, value in facets}


def test_a_wording_change_made_elsewhere_is_shown_by_the_next_request(client, app_ctx):
    application = _open_call_application()
    url, _data = _save_page(client, application)
    # Another process renames a question through the engine: it bumps the form's version (here by SQL, so this
    # process's ORM does not see the change happen).
    db.session.execute(text("UPDATE questions SET label = :label WHERE questionnaire_id = :q AND key = 'institution'"),
                       {"label": '{"en": "University or institute"}', "q": application.call.questionnaire_id})
    db.session.execute(text("UPDATE questionnaires SET version = version + 1 WHERE id = :q"),
                       {"q": application.call.questionnaire_id})
    db.session.commit()
    db.session.remove()
    assert "University or institute" in client.get(url).get_data(as_text=True)


def test_a_submit_sends_nine_statements_and_holds_the_calls_row_shared_without_writing_it(client, app_ctx):
    application = make_complete(_open_call_application())
    login(client, owner_email(application))
    url = f"/applications/{application.id}/submit"
    token = csrf_token_from(client.get(f"/applications/{application.id}/review").get_data(as_text=True))
    db.session.remove()
    with counted_statements() as statements:
        response = client.post(url, data={**DECLARATION_TICKS, "csrf_token": token})
    assert response.status_code == 302 and "/review" not in response.headers["Location"]
    assert len(statements) == SUBMIT_STATEMENTS, _shown(statements)
    # Submits of one call exclude the screening and decisions (which lock the call's row exclusively) but not each
    # other: the call's row is held FOR SHARE and never written, or two submits would deadlock on it.
    call_writes = [s for s in statements if s.lstrip().startswith("UPDATE calls")]
    if _sqlite():  # one write lock for the whole database, taken by a write that changes nothing (fellowship.locks)
        assert len(call_writes) == 1 and "ranking_version" not in call_writes[0], _shown(statements)
    else:
        call_locks = [s for s in statements if s.lstrip().startswith("SELECT calls.id") and "FOR " in s]
        assert len(call_locks) == 1 and call_locks[0].rstrip().endswith("FOR SHARE"), _shown(statements)
        assert not call_writes, _shown(statements)
    db.session.expire_all()
    submitted = db.session.get_one(Application, application.id)
    assert submitted.status is ApplicationStatus.SUBMITTED and submitted.reference
    assert submitted.submitted_at == submitted.declared_at


def test_a_drafts_nationality_change_does_not_write_or_lock_its_calls_row(client, app_ctx):
    application = _open_call_application()
    login(client, owner_email(application))
    url = f"/applications/{application.id}/sections/personal"
    html = client.get(url).get_data(as_text=True)
    db.session.remove()
    data = {"csrf_token": csrf_token_from(html), "save": "Save", "given_name": "Amani", "family_name": "Njeri",
            "date_of_birth": "1996-04-12", "gender": "female", "nationality": "VN", "country_of_residence": "KE",
            "phone": "+254 700 000000"}
    with counted_statements() as statements:
        response = client.post(url, data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    # A draft is in no ranking: its region changing must not make every save and submit of the call queue on the
    # call's row (the ranking's listener wrote it on every personal-details save).
    assert not any(s.lstrip().startswith("UPDATE calls") for s in statements), _shown(statements)
    db.session.expire_all()
    assert db.session.get_one(Application, application.id).region == "Asia"


def test_a_drafts_nationality_saved_through_the_form_reaches_the_staff_lists_cached_nationality_filter(client, app_ctx):
    """The save writes the profile columns with a statement of its own (not the flush): the staff list's cached
    figures must still learn of the new nationality."""
    from fellowship.applications.staff_services import nationality_choices

    application = _open_call_application()
    call_id = application.call_id
    assert "VN" not in dict(nationality_choices(call_id))  # the figures are now cached
    login(client, owner_email(application))
    url = f"/applications/{application.id}/sections/personal"
    html = client.get(url).get_data(as_text=True)
    db.session.remove()
    data = {"csrf_token": csrf_token_from(html), "save": "Save", "given_name": "Amani", "family_name": "Njeri",
            "date_of_birth": "1996-04-12", "gender": "female", "nationality": "VN", "country_of_residence": "KE",
            "phone": "+254 700 000000"}
    assert client.post(url, data=data).status_code == 302
    db.session.remove()
    with app_ctx.app_context():  # a new context, as the staff list's next request is (figures are kept per context)
        assert "VN" in dict(nationality_choices(call_id))
    saved = db.session.get_one(Application, application.id)
    assert (saved.nationality, saved.region, saved.search_name) == ("VN", "Asia", "amani njeri")
