"""The applicant's form: sections saved as drafts, progress, submission, deadline, withdrawal, privacy."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import func, select

from fellowship.applications import services
from fellowship.applications.models import Application, ApplicationStatus
from fellowship.extensions import db
from fellowship.models import utcnow
from fellowship.notifications.models import OutboxMessage
from tests.applications.helpers import DECLARATION_TICKS, DECLARED, make_complete, owner_email
from tests.conftest import csrf_token_from, login, submit_form
from tests.factories import ApplicationFactory, CallFactory, UserFactory, answer_of


def reload(application_id: int) -> Application:
    db.session.expire_all()
    return db.session.get_one(Application, application_id)


def test_an_applicant_starts_one_application_per_call_from_the_call_page(client, app_ctx):
    call = CallFactory(title="Leaders 2027")
    user = UserFactory(full_name="Amina Yusuf")
    login(client, user.email)
    first = submit_form(client, f"/calls/{call.id}/apply", {}, page=f"/calls/{call.id}")
    again = submit_form(client, f"/calls/{call.id}/apply", {}, page=f"/calls/{call.id}")
    assert first.location == again.location
    applications = db.session.scalars(select(Application)).all()
    assert len(applications) == 1
    assert (applications[0].given_name, applications[0].family_name) == ("Amina", "Yusuf")
    page = client.get(first.location).get_data(as_text=True)
    assert "Personal details" in page and "Before you can submit" in page


def test_a_section_is_saved_as_a_draft_and_says_what_is_still_missing(client, app_ctx):
    application = ApplicationFactory(given_name=None, family_name=None, date_of_birth=None, nationality=None)
    login(client, owner_email(application))
    url = f"/applications/{application.id}/sections/personal"
    response = submit_form(client, url, {"given_name": "Thi", "family_name": "Nguyen", "nationality": "VN",
                                         "gender": "female", "country_of_residence": "VN", "submit": "Save"},
                           follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "Some answers are still needed" in html
    assert 'id="date_of_birth-missing">Still needed: This question needs an answer.' in html
    saved = reload(application.id)
    # The answers are in the engine; the tagged ones are copied onto the profile columns lists filter on.
    assert (answer_of(application.id, "given_name"), answer_of(application.id, "nationality")) == ("Thi", "VN")
    assert (saved.given_name, saved.nationality, saved.region, saved.search_name) == ("Thi", "VN", "Asia", "thi nguyen")


def test_a_malformed_answer_is_shown_beside_its_field_the_typed_text_is_kept_and_the_rest_is_saved(
        client, app_ctx):
    application = ApplicationFactory(given_name="Old", nationality="KE")
    login(client, owner_email(application))
    url = f"/applications/{application.id}/sections/personal"
    response = submit_form(client, url, {"given_name": "Newname", "family_name": "Nguyen",
                                         "date_of_birth": "31/31/1990", "nationality": "ZZ", "submit": "Save"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="date_of_birth-error">' in html and 'id="nationality-error">' in html
    assert 'value="Newname"' in html and 'value="31/31/1990"' in html  # what was typed is still in the form
    # A partial draft keeps what is well-formed; a refused answer keeps the one stored before.
    assert answer_of(application.id, "given_name") == "Newname" and reload(application.id).given_name == "Newname"
    assert answer_of(application.id, "nationality") == "KE"
    assert answer_of(application.id, "date_of_birth") == "1996-04-12"


def test_word_limits_are_reported_beside_the_essay(client, app_ctx):
    application = ApplicationFactory(motivation=None)
    login(client, owner_email(application))
    response = submit_form(client, f"/applications/{application.id}/sections/motivation",
                           {"motivation": "Too short an essay.", "submit": "Save"}, follow_redirects=True)
    assert "Write at least 200 words (you have 4)." in response.get_data(as_text=True)
    assert answer_of(application.id, "motivation") == "Too short an essay."


def test_submission_needs_a_complete_file(client, app_ctx):
    application = ApplicationFactory()
    login(client, owner_email(application))
    response = submit_form(client, f"/applications/{application.id}/submit", DECLARATION_TICKS,
                           page=f"/applications/{application.id}/review", follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "The application is not complete yet" in html and "Documents missing: CV" in html
    assert reload(application.id).status is ApplicationStatus.DRAFT


def test_submitting_gives_a_reference_number_and_a_confirmation_email_then_the_form_is_read_only(client, app_ctx):
    application = make_complete(ApplicationFactory(call=CallFactory(year=2027, reference_prefix="ELF")))
    login(client, owner_email(application))
    response = submit_form(client, f"/applications/{application.id}/submit", DECLARATION_TICKS,
                           page=f"/applications/{application.id}/review", follow_redirects=True)
    assert "Your reference number is ELF-2027-00001" in response.get_data(as_text=True)
    saved = reload(application.id)
    assert saved.status is ApplicationStatus.SUBMITTED and saved.reference == "ELF-2027-00001"
    email = db.session.scalars(select(OutboxMessage).where(OutboxMessage.template == "applications/submitted")).one()
    assert email.recipient == owner_email(application) and email.subject == "Application received: ELF-2027-00001"

    page = client.get(f"/applications/{application.id}/sections/motivation").get_data(as_text=True)
    assert "can no longer be changed" in page and "<fieldset disabled>" in page
    refused = submit_form(client, f"/applications/{application.id}/sections/motivation",
                          {"motivation": "changed", "submit": "Save"})
    assert refused.status_code == 409
    assert answer_of(application.id, "motivation") != "changed"


def test_saving_or_submitting_one_second_after_the_close_is_refused_even_for_a_form_loaded_before(client, app_ctx):
    application = make_complete(ApplicationFactory())
    login(client, owner_email(application))
    section_page = client.get(f"/applications/{application.id}/sections/motivation").get_data(as_text=True)
    review_page = client.get(f"/applications/{application.id}/review").get_data(as_text=True)
    assert "Submit application" in review_page

    application.call.closes_at = utcnow() - timedelta(seconds=1)  # the deadline passes while the forms are open
    db.session.commit()

    saved = client.post(f"/applications/{application.id}/sections/motivation",
                        data={"motivation": "late edit", "submit": "Save", "csrf_token": csrf_token_from(section_page)})
    assert saved.status_code == 409 and "The deadline passed on" in saved.get_data(as_text=True)
    submitted = client.post(f"/applications/{application.id}/submit",
                            data={**DECLARATION_TICKS, "csrf_token": csrf_token_from(review_page)},
                            follow_redirects=True)
    assert "The deadline passed on" in submitted.get_data(as_text=True)
    after = reload(application.id)
    assert after.status is ApplicationStatus.DRAFT and after.reference is None
    assert answer_of(application.id, "motivation") != "late edit"


def test_two_submits_of_the_same_application_at_once_give_one_reference_number(app, app_ctx):
    application = make_complete(ApplicationFactory())
    application_id = application.id
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def submit() -> None:
        with app.app_context():
            target = db.session.get_one(Application, application_id)
            barrier.wait()
            try:
                services.submit_application(target, DECLARED)
                db.session.commit()
                outcomes.append(target.reference or "")
            except Exception as exc:  # noqa: BLE001 - the loser's error is what we check
                db.session.rollback()
                outcomes.append(f"refused: {exc}")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    references = [o for o in outcomes if o.startswith("ELF-")]
    assert len(outcomes) == 2 and len(references) == 1, outcomes
    assert reload(application_id).reference == references[0] == "ELF-2027-00001"
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)
                             .where(OutboxMessage.template == "applications/submitted")) == 1


def test_reference_numbers_count_up_per_call(app_ctx):
    call = CallFactory(reference_prefix="ELF", year=2027)
    numbers = []
    for _ in range(3):
        application = make_complete(ApplicationFactory(call=call))
        services.submit_application(application, DECLARED)
        db.session.commit()
        numbers.append(application.reference)
    assert numbers == ["ELF-2027-00001", "ELF-2027-00002", "ELF-2027-00003"]


def test_a_submitted_application_can_be_withdrawn(client, app_ctx):
    application = make_complete(ApplicationFactory())
    services.submit_application(application, DECLARED)
    db.session.commit()
    login(client, owner_email(application))
    response = submit_form(client, f"/applications/{application.id}/withdraw", {}, follow_redirects=True)
    assert "Your application is withdrawn." in response.get_data(as_text=True)
    assert reload(application.id).status is ApplicationStatus.WITHDRAWN
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)
                             .where(OutboxMessage.template == "applications/withdrawn")) == 1


def test_applicant_b_cannot_see_or_touch_applicant_a_s_application(client, app_ctx):
    mine = ApplicationFactory()
    other = UserFactory()
    login(client, other.email)
    for path in (f"/applications/{mine.id}", f"/applications/{mine.id}/sections/personal",
                 f"/applications/{mine.id}/withdraw"):
        assert client.get(path).status_code == 404, path
    token = csrf_token_from(client.get("/applications/").get_data(as_text=True))
    assert client.post(f"/applications/{mine.id}/submit", data={"csrf_token": token}).status_code == 404
    assert client.post(f"/applications/{mine.id}/sections/personal",
                       data={"given_name": "Hacked", "csrf_token": token}).status_code == 404
    assert reload(mine.id).given_name != "Hacked" and answer_of(mine.id, "given_name") != "Hacked"


def test_draft_reminders_go_a_week_and_a_day_before_the_deadline_once_each(app_ctx):
    call = CallFactory(closes_at=utcnow() + timedelta(days=6, hours=12))
    draft = ApplicationFactory(call=call)
    done = make_complete(ApplicationFactory(call=call))
    services.submit_application(done, DECLARED)
    db.session.commit()

    def reminders() -> list[str]:
        return list(db.session.scalars(select(OutboxMessage.dedupe_key)
                                       .where(OutboxMessage.template == "applications/draft_reminder")))

    assert services.remind_drafts() == 1
    assert services.remind_drafts() == 0  # the same day again: nothing twice
    db.session.commit()
    assert reminders() == [f"draft-reminder:7d:{draft.id}"]

    later = utcnow() + timedelta(days=6)  # one day before the deadline
    assert services.remind_drafts(now=later) == 1
    assert services.remind_drafts(now=later) == 0
    db.session.commit()
    assert sorted(reminders()) == [f"draft-reminder:1d:{draft.id}", f"draft-reminder:7d:{draft.id}"]


def test_submits_of_one_call_at_once_all_go_through_with_consecutive_numbers_and_one_email_each(app, app_ctx):
    """Submits at the deadline share the call's lock (they exclude the screening, not each other): none deadlocks,
    none is refused, the numbers are consecutive."""
    call = CallFactory(reference_prefix="ELF", year=2027)
    ids = [make_complete(ApplicationFactory(call=call)).id for _ in range(6)]
    db.session.commit()
    errors: list[str] = []
    barrier = threading.Barrier(len(ids))

    def submit(application_id: int) -> None:
        with app.app_context():
            target = db.session.get_one(Application, application_id)
            barrier.wait()
            try:
                services.submit_application(target, DECLARED)
                db.session.commit()
            except Exception as exc:  # noqa: BLE001 - any error is the failure this test looks for
                db.session.rollback()
                errors.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=submit, args=(application_id,)) for application_id in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    references = sorted(reload(application_id).reference or "" for application_id in ids)
    assert references == [f"ELF-2027-{n:05d}" for n in range(1, len(ids) + 1)]
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)
                             .where(OutboxMessage.template == "applications/submitted")) == len(ids)
