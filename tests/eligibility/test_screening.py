"""Screening at the deadline: calls close once, submitted applications get a result per rule; staff overrides."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from fellowship.applications.models import (
    Application,
    ApplicationStatus,
    Document,
    EligibilityResult,
    Referee,
    RefereeStatus,
)
from fellowship.audit.models import AuditEntry
from fellowship.auth.models import Role
from fellowship.calls.models import Call, CallStatus, DocumentKind
from fellowship.eligibility import services
from fellowship.eligibility.tasks import close_due_calls_task
from fellowship.errors import DomainError
from fellowship.extensions import db
from fellowship.models import utcnow
from tests.conftest import login, submit_form
from tests.factories import ApplicationFactory, CallFactory, UserFactory, fill_answers
from tests.servers import wait_until

_references = iter(range(1, 100_000))


def submitted(call: Call, *, documents: tuple[str, ...] = ("cv", "transcript", "passport"),
              letters: int = 1, invited: int = 0, **sections: object) -> Application:
    """A submitted application with the given documents and referees (letters received, others invited)."""
    application = ApplicationFactory(call=call, status=ApplicationStatus.SUBMITTED,
                                     reference=f"ELF-2027-{next(_references):05d}",
                                     submitted_at=call.closes_at - timedelta(days=1), **sections)
    for kind in documents:
        db.session.add(Document(application_id=application.id, kind=DocumentKind(kind), filename=f"{kind}.pdf",
                                storage_key=uuid.uuid4().hex, content_type="application/pdf", size=2048,
                                sha256="0" * 64))
    for n in range(letters + invited):
        received = n < letters
        referee = Referee(application_id=application.id, name=f"Referee {n}", email=f"ref{n}@example.org",
                          relation="Supervisor", status=RefereeStatus.RECEIVED if received else RefereeStatus.INVITED,
                          invited_at=utcnow(), received_at=utcnow() if received else None)
        db.session.add(referee)
        if received:
            db.session.flush()
            db.session.add(Document(application_id=application.id, kind=DocumentKind.REFERENCE_LETTER,
                                    referee_id=referee.id, filename="letter.pdf", storage_key=uuid.uuid4().hex,
                                    content_type="application/pdf", size=1024, sha256="1" * 64))
    db.session.commit()
    return application


#: 15:30 UTC on 31 March 2025 is 00:30 on 1 April in Tokyo, the programme's zone: the closing date is 1 April.
PAST_DEADLINE = datetime(2025, 3, 31, 15, 30, tzinfo=UTC)


def closed_call(**fields: object) -> Call:
    """A call still marked open whose deadline has passed (the beat has not run yet)."""
    return CallFactory(opens_at=PAST_DEADLINE - timedelta(days=60), closes_at=PAST_DEADLINE, **fields)


def results_of(application: Application) -> dict[str, tuple[bool, str]]:
    rows = db.session.scalars(select(EligibilityResult).where(EligibilityResult.application_id == application.id))
    return {r.rule: (r.passed, r.reason) for r in rows}


def result_count() -> int:
    return db.session.scalar(select(func.count()).select_from(EligibilityResult)) or 0


def test_closing_a_call_past_its_deadline_screens_submitted_applications_and_leaves_drafts(app_ctx):
    call = closed_call()
    good = submitted(call)
    bad = submitted(call, nationality="JP", region="Asia", documents=("cv", "transcript"), letters=0, invited=1)
    too_old = submitted(call, date_of_birth=date(1989, 4, 1))  # 36 on 1 April, the closing date in Tokyo
    draft = ApplicationFactory(call=call)

    assert services.close_due_calls() == [call.id]
    db.session.commit()
    db.session.expire_all()

    assert good.status is ApplicationStatus.UNDER_REVIEW and good.eligible is True
    assert results_of(good) == {
        "age_at_deadline": (True, "Age at the deadline is 28 (limit 35)."),
        "nationality": (True, "Nationality Kenya is among the eligible countries."),
        "degree": (True, "Highest degree Master's degree (at least Bachelor's degree required)."),
        "documents": (True, "All required documents present: CV, Academic transcript, and Passport page."),
        "references": (True, "1 of 1 reference letter received."),
    }

    assert bad.status is ApplicationStatus.INELIGIBLE and bad.eligible is False
    assert results_of(bad)["nationality"] == (False, "Nationality Japan is not among the eligible countries.")
    assert results_of(bad)["documents"] == (False, "Missing required documents: Passport page.")
    assert results_of(bad)["references"] == (False, "0 of 1 reference letter received.")
    assert results_of(bad)["degree"][0] and results_of(bad)["age_at_deadline"][0]
    assert too_old.status is ApplicationStatus.INELIGIBLE
    assert results_of(too_old)["age_at_deadline"] == (False, "Age at the deadline is 36; the limit is 35.")

    assert draft.status is ApplicationStatus.DRAFT and draft.eligible is None and results_of(draft) == {}
    assert call.status is CallStatus.CLOSED and call.screened_at is not None
    audit = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "eligibility.call_screened"))
    assert audit is not None and audit.object_id == call.id
    assert audit.details == {"screened": 3, "eligible": 1, "ineligible": 2}


def test_each_answer_rule_reads_the_question_the_call_names_else_the_tagged_one(app_ctx):
    from fellowship.applications.answers import application_form, section_of
    from fellowship.questions import services as questions
    from fellowship.questions.kinds import QuestionKind

    call = closed_call()
    personal = section_of(application_form(call), "personal")
    questions.add_question(personal, kind=QuestionKind.COUNTRY, key="citizenship", label="Citizenship")
    questions.add_question(personal, kind=QuestionKind.DATE, key="born_on", label="Date of birth (passport)")
    call.eligibility_questions = {"nationality": "citizenship", "age_at_deadline": "born_on"}
    db.session.commit()
    # Kenyan and 28 by the tagged questions; by the questions the call names, Japanese and 36.
    application = submitted(call)
    fill_answers(application, {"citizenship": "JP", "born_on": date(1989, 4, 1)})
    db.session.commit()

    services.close_due_calls()
    db.session.commit()
    results = results_of(application)
    assert results["nationality"] == (False, "Nationality Japan is not among the eligible countries.")
    assert results["age_at_deadline"] == (False, "Age at the deadline is 36; the limit is 35.")
    assert results["degree"] == (True, "Highest degree Master's degree (at least Bachelor's degree required).")

    call.eligibility_questions = {"nationality": "citizenship"}  # unanswered: the rule says which question is empty
    fill_answers(application, {"citizenship": None})
    db.session.commit()
    services.screen_application(application.id)
    assert results_of(application)["nationality"] == (False, "Citizenship is missing.")
    assert results_of(application)["age_at_deadline"][0]  # back to the tagged date of birth: 28


def test_screening_twice_changes_nothing_the_second_time(app_ctx):
    call = closed_call()
    application = submitted(call, letters=0)
    assert services.close_due_calls() == [call.id]
    db.session.commit()
    screened_at = db.session.get_one(Call, call.id).screened_at
    first = {r.id: (r.rule, r.passed, r.checked_at) for r in db.session.scalars(select(EligibilityResult))}

    assert services.close_due_calls() == []
    summary = services.close_and_screen_call(call.id)
    db.session.commit()
    db.session.expire_all()

    assert summary.ran is False and summary.screened == 0
    assert db.session.get_one(Call, call.id).screened_at == screened_at
    assert {r.id: (r.rule, r.passed, r.checked_at) for r in db.session.scalars(select(EligibilityResult))} == first
    assert len(first) == 5 and application.status is ApplicationStatus.INELIGIBLE
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "eligibility.call_screened")) == 1


def test_the_beat_task_closes_due_calls_and_commits(app_ctx):
    call = closed_call()
    call_id, application_id = call.id, submitted(call).id
    assert close_due_calls_task.apply().get() == [call_id]  # runs the task body here, in its own app context
    db.session.remove()  # read what the task committed, from a fresh session
    assert db.session.get_one(Application, application_id).status is ApplicationStatus.UNDER_REVIEW
    assert db.session.get_one(Call, call_id).status is CallStatus.CLOSED


def test_an_open_call_before_its_deadline_is_not_closed(app_ctx):
    call = CallFactory()  # closes in 30 days
    application = submitted(call)

    assert services.close_due_calls() == []
    assert services.close_and_screen_call(call.id).ran is False
    db.session.commit()
    db.session.expire_all()

    assert call.status is CallStatus.OPEN and call.screened_at is None
    assert application.status is ApplicationStatus.SUBMITTED and application.eligible is None
    assert result_count() == 0


def test_rescreening_one_application_updates_its_results_in_place(app_ctx):
    call = closed_call()
    application = submitted(call, documents=("cv", "transcript"))
    services.close_due_calls()
    db.session.commit()
    assert application.status is ApplicationStatus.INELIGIBLE

    db.session.add(Document(application_id=application.id, kind=DocumentKind.PASSPORT, filename="passport.jpg",
                            storage_key=uuid.uuid4().hex, content_type="image/jpeg", size=4096, sha256="2" * 64))
    assert services.screen_application(application.id) is True
    db.session.commit()

    assert application.status is ApplicationStatus.UNDER_REVIEW
    assert results_of(application)["documents"] == (
        True, "All required documents present: CV, Academic transcript, and Passport page.")
    assert result_count() == 5


def test_drafts_are_not_screened_one_by_one_either(app_ctx):
    draft = ApplicationFactory()
    with pytest.raises(DomainError, match="Only submitted applications"):
        services.screen_application(draft.id)


# --- Staff overrides, through the pages --------------------------------------------------------------------

def screened_ineligible() -> Application:
    call = closed_call()
    application = submitted(call, documents=("cv", "transcript"))
    services.close_due_calls()
    db.session.commit()
    assert application.status is ApplicationStatus.INELIGIBLE
    return application


def override_url(application: Application) -> str:
    return f"/staff/applications/{application.id}/eligibility"


def test_staff_override_with_a_reason_flips_the_status_and_is_audited(client, app_ctx):
    application = screened_ineligible()
    staff = UserFactory(roles=[Role.STAFF], full_name="Keiko Sato")
    login(client, staff.email)
    reason = "The passport page was sent by email before the deadline; checked by hand."

    response = submit_form(client, override_url(application), {"decision": "eligible", "reason": reason},
                           page=f"/staff/applications/{application.id}")
    assert response.status_code == 302
    db.session.expire_all()
    assert application.status is ApplicationStatus.UNDER_REVIEW
    assert application.eligibility_override is True and application.eligible is False
    assert application.eligibility_override_by_id == staff.id and application.eligibility_override_at is not None

    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "eligibility.overridden"))
    assert entry is not None and entry.actor_id == staff.id and entry.object_id == application.id
    assert entry.details["reason"] == reason
    assert entry.details["old_override"] is None and entry.details["new_override"] is True
    assert (entry.details["old_status"], entry.details["new_status"]) == ("ineligible", "under_review")

    page = client.get(response.location).get_data(as_text=True)
    assert "overridden: eligible" in page
    assert "Overridden to <strong>eligible</strong>" in page and "by Keiko Sato" in page
    assert "checked by hand." in page
    assert "Missing required documents: Passport page." in page  # the rules' own result is still shown

    # A later re-screening keeps the staff decision.
    services.screen_application(application.id)
    db.session.commit()
    assert application.status is ApplicationStatus.UNDER_REVIEW and application.eligible is False


def test_override_without_a_reason_is_refused_with_the_message_beside_the_field(client, app_ctx):
    application = screened_ineligible()
    staff = UserFactory(roles=[Role.STAFF])
    login(client, staff.email)

    response = submit_form(client, override_url(application), {"decision": "eligible", "reason": "   "},
                           page=f"/staff/applications/{application.id}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="reason-error">Give a reason for the override.' in html
    db.session.expire_all()
    assert application.status is ApplicationStatus.INELIGIBLE and application.eligibility_override is None
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "eligibility.overridden")) is None


def test_the_override_form_is_offered_only_after_screening(client, app_ctx):
    application = submitted(CallFactory())  # submitted, deadline not reached
    staff = UserFactory(roles=[Role.STAFF])
    login(client, staff.email)
    html = client.get(f"/staff/applications/{application.id}").get_data(as_text=True)
    assert "Not screened yet" in html and 'name="reason"' not in html

    response = submit_form(client, override_url(application), {"decision": "ineligible", "reason": "Too early"},
                           page=f"/staff/applications/{application.id}", follow_redirects=True)
    assert "Eligibility can be overridden only once the application has been screened" in response.get_data(
        as_text=True)
    db.session.expire_all()
    assert application.status is ApplicationStatus.SUBMITTED and application.eligibility_override is None


@pytest.mark.parametrize("role", [Role.APPLICANT, Role.REVIEWER])
def test_non_staff_cannot_override_eligibility(client, app_ctx, role):
    application = screened_ineligible()
    user = UserFactory(roles=[role])
    if role is Role.APPLICANT:  # even the applicant who owns the application
        application.applicant_id = user.id
        db.session.commit()
    login(client, user.email)

    response = submit_form(client, override_url(application), {"decision": "eligible", "reason": "Please"},
                           page="/")
    assert response.status_code == 403
    assert client.get(f"/staff/applications/{application.id}").status_code == 403
    db.session.expire_all()
    assert application.status is ApplicationStatus.INELIGIBLE and application.eligibility_override is None


def test_staff_detail_shows_sections_documents_referees_and_results(client, app_ctx):
    application = submitted(closed_call(), letters=1, invited=1)
    services.close_due_calls()
    db.session.commit()
    login(client, UserFactory(roles=[Role.ADMIN]).email)

    html = client.get(f"/staff/applications/{application.id}").get_data(as_text=True)
    for text in ("Amani Njeri", application.reference, "Kenya", "Master&#39;s degree", "University of Nairobi",
                 "Water officer", "Kyoto University", "I will lead a county programme.", "IELTS 7.5",
                 "Passport page", "passport.pdf", "Reference letter", "Referee 0", "Received", "Referee 1",
                 "Invited", "Age at the deadline is 28 (limit 35).", "1 of 1 reference letter received."):
        assert text in html, text
    passport = db.session.scalar(select(Document).where(Document.application_id == application.id,
                                                        Document.kind == DocumentKind.PASSPORT))
    assert passport is not None and f'/documents/{passport.id}' in html
    viewed = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "applications.viewed"))
    assert viewed is not None and viewed.object_id == application.id


def test_beat_runs_the_deadline_job_every_minute(app):
    assert app.config["CELERY"]["beat_schedule"]["close-due-calls"] == {
        "task": "eligibility.close_due_calls", "schedule": 60.0}


@pytest.mark.worker
def test_a_real_worker_runs_the_deadline_job_by_its_name(app, app_ctx, worker):
    call = closed_call()
    application = submitted(call)
    # What beat sends every minute (its first run comes a minute after start-up, too slow to wait for here).
    app.extensions["celery"].send_task("eligibility.close_due_calls")

    def screened() -> bool:
        db.session.expire_all()
        return db.session.get_one(Call, call.id).screened_at is not None

    wait_until(screened, timeout=30, message=f"the worker did not screen the call:\n{worker.log()}")
    assert db.session.get_one(Application, application.id).status is ApplicationStatus.UNDER_REVIEW
    assert db.session.get_one(Call, call.id).status is CallStatus.CLOSED
