"""The application form as a questionnaire: a staff-built question shown only under a condition (no JavaScript),
a hidden required question that does not block submit, file answers downloadable by whoever may read the
application, blind reviewers not shown personal-data questions, and a new call getting the default form."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta

from fellowship.applications import services
from fellowship.applications.answers import application_form, section_of
from fellowship.applications.form_template import DEFAULT_FORM
from fellowship.applications.models import Application, ApplicationStatus
from fellowship.auth.models import Role
from fellowship.calls.models import CallStatus
from fellowship.calls.services import save_call
from fellowship.extensions import db
from fellowship.questions import services as questions
from fellowship.questions.kinds import QuestionKind
from tests.applications.helpers import DECLARED, make_complete, owner_email
from tests.conftest import login, submit_form
from tests.documents.files import PDF
from tests.factories import ApplicationFactory, CallFactory, ProgrammeFactory, UserFactory, answer_of
from tests.selection.factories import AssignmentFactory, panel_reviewer


def _add_conditional_test_score(call_id: int) -> None:
    """Languages gain "Did you take a language test?" and, only if yes, a required "Your score"."""
    from fellowship.calls.models import Call

    form = application_form(db.session.get_one(Call, call_id))
    languages = section_of(form, "language")
    questions.add_question(languages, kind=QuestionKind.YES_NO, key="took_test", label="Did you take a language test?")
    questions.add_question(languages, kind=QuestionKind.SHORT_TEXT, key="test_score", label="Your score",
                           required=True, condition={"question": "took_test", "values": ["yes"]})
    db.session.commit()


def test_a_conditional_question_appears_after_a_save_without_javascript_and_a_hidden_one_blocks_nothing(
        client, app_ctx):
    call = CallFactory()
    _add_conditional_test_score(call.id)
    application = make_complete(ApplicationFactory(call=call))
    login(client, owner_email(application))
    url = f"/applications/{application.id}/sections/language"
    assert 'name="test_score"' not in client.get(url).get_data(as_text=True)

    saved = submit_form(client, url, {"english_level": "C1", "japanese_level": "A1", "took_test": "yes",
                                      "submit": "Save"}, follow_redirects=True)
    page = saved.get_data(as_text=True)
    assert 'name="test_score"' in page  # shown now that its condition holds, on the re-rendered page
    assert 'id="test_score-missing">Still needed: This question needs an answer.' in page
    review = client.get(f"/applications/{application.id}/review").get_data(as_text=True)
    assert "Languages: Your score — This question needs an answer." in review
    submit_form(client, url, {"english_level": "C1", "japanese_level": "A1", "took_test": "yes",
                              "test_score": "IELTS 7.0", "submit": "Save"})
    assert answer_of(application.id, "test_score") == "IELTS 7.0"

    # "No" hides the score again: its stale answer is not kept, and the hidden required question blocks no submit.
    page = submit_form(client, url, {"english_level": "C1", "japanese_level": "A1", "took_test": "no",
                                     "submit": "Save"}, follow_redirects=True).get_data(as_text=True)
    assert 'name="test_score"' not in page and answer_of(application.id, "test_score") is None
    db.session.expire_all()
    submitted = services.submit_application(db.session.get_one(Application, application.id), DECLARED)
    db.session.commit()
    assert submitted.status is ApplicationStatus.SUBMITTED


def _add_file_questions(call_id: int) -> None:
    """Education gains a writing sample (a file) and Personal a passport scan (a file that is personal data)."""
    from fellowship.calls.models import Call

    form = application_form(db.session.get_one(Call, call_id))
    questions.add_question(section_of(form, "education"), kind=QuestionKind.FILE, key="writing_sample",
                           label="A writing sample", config={"types": ["pdf"], "max_mb": 2})
    questions.add_question(section_of(form, "personal"), kind=QuestionKind.FILE, key="passport_scan",
                           label="Passport scan", personal_data=True, config={"types": ["pdf"], "max_mb": 2})
    db.session.commit()


def _upload(client, application_id: int, section: str, key: str, data: dict[str, str]) -> None:
    page = client.get(f"/applications/{application_id}/sections/{section}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)[1]
    response = client.post(f"/applications/{application_id}/sections/{section}",
                           data={**data, key: (io.BytesIO(PDF), f"{key}.pdf"), "csrf_token": token, "submit": "Save"},
                           content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]


def test_file_answers_are_downloaded_by_whoever_may_read_the_application_and_blind_reviewers_miss_personal_ones(
        app, client, app_ctx, document_store):
    call = CallFactory(blind_review=True)
    _add_file_questions(call.id)
    application = ApplicationFactory(call=call)
    login(client, owner_email(application))
    _upload(client, application.id, "education", "writing_sample",
            {"highest_degree": "master", "degree_subject": "Hydrology", "institution": "Nairobi",
             "graduation_year": "2021"})
    _upload(client, application.id, "personal", "passport_scan",
            {"given_name": "Amani", "family_name": "Njeri", "date_of_birth": "1996-04-12", "gender": "female",
             "nationality": "KE", "country_of_residence": "KE"})
    assert answer_of(application.id, "writing_sample")["filename"] == "writing_sample.pdf"
    sample = f"/applications/{application.id}/answers/writing_sample"
    passport = f"/applications/{application.id}/answers/passport_scan"
    own = client.get(sample)
    assert own.status_code == 200 and own.data == PDF and own.headers["Cache-Control"] == "private, no-store"
    assert client.get(passport).status_code == 200

    application.status = ApplicationStatus.UNDER_REVIEW
    application.reference = "ELF-2027-09999"
    db.session.commit()
    reviewer = panel_reviewer(call)
    AssignmentFactory(application=application, reviewer_id=reviewer.id)
    outsider_reviewer = panel_reviewer(call)
    staff = UserFactory(roles=[Role.STAFF])
    other_applicant = UserFactory()
    expected = {reviewer.email: (200, 404), staff.email: (200, 200), outsider_reviewer.email: (404, 404),
                other_applicant.email: (404, 404)}
    for email, (sample_status, passport_status) in expected.items():
        reader = app.test_client()
        login(reader, email)
        assert (reader.get(sample).status_code, reader.get(passport).status_code) == (sample_status,
                                                                                       passport_status), email
    assert app.test_client().get(sample).status_code == 302  # anonymous: to the login page
    assert client.get(f"/applications/{application.id}/answers/motivation").status_code == 404  # not a file


def test_the_blind_reviewer_does_not_see_personal_data_questions_and_staff_see_every_answer(app, app_ctx):
    call = CallFactory(blind_review=True)
    application = ApplicationFactory(call=call, status=ApplicationStatus.UNDER_REVIEW, reference="ELF-2027-09998",
                                     phone="+254 711 222333", employer="Nairobi Water Company")
    reviewer = panel_reviewer(call)
    assignment = AssignmentFactory(application=application, reviewer_id=reviewer.id)
    staff = UserFactory(roles=[Role.STAFF])
    reviewer_client, staff_client = app.test_client(), app.test_client()
    login(reviewer_client, reviewer.email)
    login(staff_client, staff.email)
    seen = reviewer_client.get(f"/review/assignments/{assignment.id}").get_data(as_text=True)
    detail = staff_client.get(f"/staff/applications/{application.id}").get_data(as_text=True)
    assert "Nairobi Water Company" in seen and "Kenya" in seen
    for personal in ("+254 711 222333", "Amani", "Njeri", "April 12, 1996", "Date of birth", "Gender"):
        assert personal not in seen, personal
        assert personal in detail, personal


def test_every_new_call_gets_the_default_form_with_todays_eight_sections(app_ctx):
    programme = ProgrammeFactory()
    opens = datetime(2031, 1, 1, 9, 0)
    call = save_call(None, programme, {
        "title": "Leaders 2031", "year": 2031, "description": "", "opens_at_local": opens,
        "closes_at_local": opens + timedelta(days=60), "status": CallStatus.DRAFT, "places": 10, "max_age": 35,
        "min_degree": None, "eligible_countries": ["KE"], "required_documents": ["cv"], "references_required": 1,
        "reference_prefix": "NEW", "reviewers_per_application": 2, "blind_review": False,
        "same_nationality_conflict": False}, quotas={}, criteria=[])
    form = application_form(call)
    assert call.questionnaire_id == form.id and form.version == 1
    assert [s.key for s in form.sections] == [s["key"] for s in DEFAULT_FORM]
    labels = {q.key: (str(q.label), q.required, q.tag) for s in form.sections for q in s.questions}
    assert labels["motivation"] == ("Motivation essay", True, None)
    assert labels["nationality"] == ("Nationality", True, "nationality")
    assert labels["preferred_host"][1] is False and labels["phone"][1] is False
    motivation = next(q for s in form.sections for q in s.questions if q.key == "motivation")
    assert (motivation.config["min_words"], motivation.config["max_words"]) == (200, 800)
