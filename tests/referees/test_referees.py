"""Referees as the applicant and the referee meet them: invitation, single-use letter link, reminders."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage

from fellowship.applications.models import ApplicationStatus, Document, Referee, RefereeStatus
from fellowship.calls.models import DocumentKind
from fellowship.extensions import db
from fellowship.models import utcnow
from fellowship.notifications.mailer import build_email
from fellowship.notifications.models import OutboxMessage
from fellowship.referees import services
from fellowship.referees.tasks import send_reminders_task
from tests.conftest import csrf_token_from, login, submit_form
from tests.documents.files import PDF, WINDOWS_EXE, stored_files
from tests.factories import ApplicationFactory, UserFactory

USED = "This link has already been used — the letter was received. Thank you."


@pytest.fixture
def application(app_ctx):
    return ApplicationFactory(applicant=UserFactory(email="amani@example.org", full_name="Amani Njeri"),
                              call__title="Environmental Leaders 2027")


def add_referee(client, application_id, email="wanjiru@uni.example", name="Prof. Grace Wanjiru",
                relation="Master's thesis supervisor", follow_redirects=False):
    return submit_form(client, f"/applications/{application_id}/referees",
                       {"name": name, "email": email, "relation": relation}, follow_redirects=follow_redirects)


def outbox(template: str, recipient: str | None = None) -> list[OutboxMessage]:
    db.session.expire_all()
    stmt = select(OutboxMessage).where(OutboxMessage.template == template).order_by(OutboxMessage.id)
    if recipient:
        stmt = stmt.where(OutboxMessage.recipient == recipient)
    return list(db.session.scalars(stmt))


def invitation_path(recipient: str = "wanjiru@uni.example") -> str:
    [message] = outbox("referees/invitation", recipient)
    return message.context["letter_url"].removeprefix("http://localhost")


def bodies(message: OutboxMessage) -> tuple[str, str]:
    """The plain-text and HTML bodies the worker would send."""
    email = build_email(message)
    text, html = email.get_body(("plain",)), email.get_body(("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


def upload_letter(client, path, content=PDF, name="letter.pdf", follow_redirects=False):
    return submit_form(client, path, {"file": (io.BytesIO(content), name)}, follow_redirects=follow_redirects)


def test_referee_journey_invitation_single_use_upload_and_the_applicant_sees_only_the_status(
        app, client, application):
    login(client, "amani@example.org")
    response = add_referee(client, application.id, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "Prof. Grace Wanjiru is added" in page and "Waiting for the letter" in page

    [invitation] = outbox("referees/invitation")
    assert invitation.recipient == "wanjiru@uni.example"
    assert "Amani Njeri" in invitation.subject
    link = invitation_path()
    assert link.startswith("/referee/")
    text, html = bodies(invitation)
    for body in (text, html):
        assert "http://localhost" + link in body and "Amani Njeri" in body and "Environmental Leaders 2027" in body

    referee_client = app.test_client()  # the referee: no account, no login
    form_page = referee_client.get(link).get_data(as_text=True)
    assert "Amani Njeri" in form_page and "Environmental Leaders 2027" in form_page
    assert 'enctype="multipart/form-data"' in form_page
    csrf = csrf_token_from(form_page)

    response = upload_letter(referee_client, link, follow_redirects=True)
    assert "Your reference letter was received." in response.get_data(as_text=True)

    db.session.expire_all()
    referee = db.session.scalars(select(Referee)).one()
    letter = db.session.scalars(select(Document)).one()
    assert referee.status is RefereeStatus.RECEIVED and referee.received_at is not None
    assert referee.link_nonce is None
    assert (letter.kind, letter.referee_id, letter.application_id) == (
        DocumentKind.REFERENCE_LETTER, referee.id, application.id)
    assert stored_files(app)[letter.storage_key] == PDF

    [notice] = outbox("referees/letter_received", "amani@example.org")
    assert notice.subject == "A reference letter arrived"
    assert "/documents/" not in str(notice.context)
    text, html = bodies(notice)
    assert "Prof. Grace Wanjiru" in text and f"/applications/{application.id}/referees" in html
    assert "/documents/" not in text + html and "/referee/" not in text + html

    applicant_page = client.get(f"/applications/{application.id}/referees").get_data(as_text=True)
    assert "Letter received" in applicant_page and "Waiting for the letter" not in applicant_page
    assert f"/documents/{letter.id}" not in applicant_page and "letter.pdf" not in applicant_page
    assert services.referee_summary(application) == (1, 1)

    # The link works once: a second visit, or a second upload, is refused with a clear message.
    second = referee_client.get(link)
    assert second.status_code == 400 and USED in second.get_data(as_text=True)
    again = referee_client.post(link, data={"file": (io.BytesIO(PDF), "again.pdf"), "csrf_token": csrf})
    assert again.status_code == 400 and USED in again.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Document)) == 1


def test_a_forged_expired_or_revoked_link_is_refused(app, client, application):
    login(client, "amani@example.org")
    add_referee(client, application.id)
    link = invitation_path()
    referee = app.test_client()

    token = link.rsplit("/", 1)[-1]
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    response = referee.get(f"/referee/{forged}")
    assert response.status_code == 400 and "This link is not valid." in response.get_data(as_text=True)
    response = referee.get("/referee/not-a-token-at-all")
    assert response.status_code == 400 and "This link is not valid." in response.get_data(as_text=True)

    application.call.closes_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    response = referee.get(link)
    assert response.status_code == 400
    assert "The deadline for this application has passed." in response.get_data(as_text=True)
    csrf = csrf_token_from(referee.get("/auth/login").get_data(as_text=True))
    response = referee.post(link, data={"file": (io.BytesIO(PDF), "letter.pdf"), "csrf_token": csrf})
    assert response.status_code == 400
    assert "The deadline for this application has passed." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Document)) == 0


def test_a_removed_referee_link_stops_working(app, client, application):
    login(client, "amani@example.org")
    add_referee(client, application.id)
    link = invitation_path()
    referee_id = db.session.scalars(select(Referee.id)).one()
    page = f"/applications/{application.id}/referees"
    response = submit_form(client, f"{page}/{referee_id}/remove", {}, page=page, follow_redirects=True)
    assert "Prof. Grace Wanjiru is removed" in response.get_data(as_text=True)
    response = app.test_client().get(link)
    assert response.status_code == 400 and "no longer valid" in response.get_data(as_text=True)


def test_a_bad_file_from_the_referee_is_refused_and_the_link_still_works(app, client, application):
    login(client, "amani@example.org")
    add_referee(client, application.id)
    link = invitation_path()
    referee_client = app.test_client()
    response = upload_letter(referee_client, link, content=WINDOWS_EXE, name="letter.pdf")
    assert response.status_code == 200
    assert "This file is not a PDF, JPEG or PNG." in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalars(select(Referee.status)).one() is RefereeStatus.INVITED
    response = upload_letter(referee_client, link, follow_redirects=True)
    assert "Your reference letter was received." in response.get_data(as_text=True)


def test_another_applicant_cannot_see_or_change_the_referees(app, client, application):
    UserFactory(email="bola@example.org")
    login(client, "amani@example.org")
    add_referee(client, application.id)
    referee_id = db.session.scalars(select(Referee.id)).one()
    bola = app.test_client()
    login(bola, "bola@example.org")
    assert bola.get(f"/applications/{application.id}/referees").status_code == 404
    csrf = csrf_token_from(bola.get("/").get_data(as_text=True))
    response = bola.post(f"/applications/{application.id}/referees/{referee_id}/remove", data={"csrf_token": csrf})
    assert response.status_code == 404
    response = bola.post(f"/applications/{application.id}/referees",
                         data={"name": "X", "email": "x@example.org", "relation": "Friend", "csrf_token": csrf})
    assert response.status_code == 404
    assert db.session.scalar(select(func.count()).select_from(Referee)) == 1


def test_referees_can_be_added_after_submission_until_the_deadline_but_not_removed(app, client, application):
    login(client, "amani@example.org")
    add_referee(client, application.id)
    application.status = ApplicationStatus.SUBMITTED
    application.reference = "ELF-2027-00001"
    application.submitted_at = utcnow()
    db.session.commit()
    referee_id = db.session.scalars(select(Referee.id)).one()

    response = add_referee(client, application.id, email="mensah@ngo.example", name="Kofi Mensah",
                           relation="Line manager", follow_redirects=True)
    assert "Kofi Mensah is added" in response.get_data(as_text=True)
    assert len(outbox("referees/invitation")) == 2
    page = f"/applications/{application.id}/referees"
    response = submit_form(client, f"{page}/{referee_id}/remove", {}, page=page, follow_redirects=True)
    assert "referees can no longer be removed" in response.get_data(as_text=True)

    application.call.closes_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    response = add_referee(client, application.id, email="third@example.org", name="Third Person",
                           relation="Colleague")
    assert "The deadline has passed; referees can no longer be changed." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Referee)) == 2


def test_the_applicant_cannot_name_themself_or_the_same_referee_twice(app, client, application):
    login(client, "amani@example.org")
    response = add_referee(client, application.id, email="Amani@Example.org")
    assert "Your referee must be someone else" in response.get_data(as_text=True)
    add_referee(client, application.id)
    response = add_referee(client, application.id, email="WANJIRU@uni.example")
    assert "You have already named a referee with this email address." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Referee)) == 1


def reminders() -> list[OutboxMessage]:
    return outbox("referees/reminder")


def invite(application, email: str, days_ago: float) -> Referee:
    referee = services.add_referee(application, email.split("@")[0].title(), email, "Supervisor")
    referee.invited_at = utcnow() - timedelta(days=days_ago)
    db.session.commit()
    return referee


def test_reminders_follow_the_cadence_and_two_runs_send_nothing_twice(app_ctx, application):
    waiting = invite(application, "waiting@uni.example", days_ago=8)
    done = invite(application, "done@uni.example", days_ago=8)
    fresh = invite(application, "fresh@uni.example", days_ago=3)
    token = services.letter_link(done).rsplit("/", 1)[-1]
    services.receive_letter(token, FileStorage(io.BytesIO(PDF), filename="letter.pdf"))
    db.session.commit()

    # The daily job, as beat runs it: through this app's own Celery (another test may have made a newer app).
    assert app_ctx.extensions["celery"].tasks[send_reminders_task.name]() == 1
    assert services.send_reminders() == 0  # the same day again
    [reminder] = reminders()
    assert reminder.recipient == "waiting@uni.example"
    assert reminder.context["letter_url"].startswith("http://localhost/referee/")
    assert reminder.context["letter_url"] in bodies(reminder)[0]
    db.session.refresh(waiting)
    assert waiting.reminders_sent == 1 and waiting.last_reminded_at is not None

    # A week later the second weekly reminder goes; the referee invited 3 days ago gets the first.
    assert services.send_reminders(now=utcnow() + timedelta(days=7)) == 2
    db.session.commit()
    assert sorted(m.recipient for m in reminders()) == ["fresh@uni.example", "waiting@uni.example",
                                                         "waiting@uni.example"]
    assert not [m for m in reminders() if m.recipient == "done@uni.example"]
    assert {m.dedupe_key for m in reminders()} == {
        f"referee-reminder:{waiting.id}:1", f"referee-reminder:{waiting.id}:2", f"referee-reminder:{fresh.id}:1"}
    # The reminder link is the referee's link: it still works.
    path = reminder.context["letter_url"].removeprefix("http://localhost")
    assert services.referee_for_token(path.rsplit("/", 1)[-1]).id == waiting.id


def test_two_days_before_the_deadline_a_last_reminder_goes_once(app_ctx, application):
    application.call.closes_at = utcnow() + timedelta(days=1, hours=12)
    db.session.commit()
    invite(application, "late@uni.example", days_ago=3)
    assert services.send_reminders() == 1
    db.session.commit()
    assert services.send_reminders(now=utcnow() + timedelta(hours=23)) == 0
    assert services.send_reminders(now=utcnow() + timedelta(days=2)) == 0  # after the deadline: nothing
    [reminder] = reminders()
    assert reminder.dedupe_key.endswith(":final")


def test_reminders_skip_withdrawn_applications_and_run_in_batches(app_ctx, application):
    for n in range(5):
        invite(application, f"ref{n}@uni.example", days_ago=8)
    withdrawn = ApplicationFactory(call=application.call)
    invite(withdrawn, "ignored@uni.example", days_ago=8)
    withdrawn.status, withdrawn.reference = ApplicationStatus.WITHDRAWN, "ELF-2027-00009"
    db.session.commit()
    assert services.send_reminders(batch_size=2) == 5
    db.session.commit()
    assert sorted(m.recipient for m in reminders()) == [f"ref{n}@uni.example" for n in range(5)]


def test_the_referee_upload_is_rate_limited(app, client, application):
    login(client, "amani@example.org")
    add_referee(client, application.id)
    link = invitation_path()
    referee_client = app.test_client()
    csrf = csrf_token_from(referee_client.get(link).get_data(as_text=True))
    statuses = [referee_client.post(link, data={"file": (io.BytesIO(WINDOWS_EXE), "x.pdf"), "csrf_token": csrf})
                .status_code for _ in range(11)]
    assert statuses == [200] * 10 + [429]


def test_the_applicant_logged_in_cannot_open_their_referees_link_nor_upload_the_letter(app, client, application):
    login(client, "amani@example.org")
    add_referee(client, application.id)
    link = invitation_path()
    page = client.get(link)
    html = page.get_data(as_text=True)
    assert page.status_code == 403 and "This link is for your referee, Prof. Grace Wanjiru" in html
    assert 'enctype="multipart/form-data"' not in html
    csrf = csrf_token_from(client.get("/applications/").get_data(as_text=True))
    posted = client.post(link, data={"file": (io.BytesIO(PDF), "letter.pdf"), "csrf_token": csrf})
    assert posted.status_code == 403
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Document)) == 0
    assert db.session.scalars(select(Referee)).one().status is RefereeStatus.INVITED
    # The referee, without an account, still can.
    assert upload_letter(app.test_client(), link).status_code == 302
