"""Each email is written in the language of the person who receives it, whoever caused it."""

from __future__ import annotations

import re

from flask_babel import force_locale
from sqlalchemy import select

from fellowship.applications.models import Referee
from fellowship.extensions import db
from fellowship.notifications.mailer import build_email
from fellowship.notifications.models import OutboxMessage
from fellowship.notifications.services import queue_email
from tests.conftest import csrf_token_from, login, submit_form
from tests.factories import ApplicationFactory, UserFactory


def parts(message: OutboxMessage) -> tuple[str, str, str]:
    email = build_email(message)
    text, html = email.get_body(("plain",)), email.get_body(("html",))
    assert text is not None and html is not None
    return str(email["Subject"]), text.get_content(), str(email["Content-Language"])


def test_an_email_to_an_account_is_in_the_language_saved_on_it_even_when_staff_act_in_japanese(app, app_ctx):
    UserFactory(email="awa@example.org", full_name="Awa Diop", locale="fr")
    UserFactory(email="ben@example.org", full_name="Ben Okoro")  # no language saved: English
    with app.test_request_context(headers={"Accept-Language": "ja"}), force_locale("ja"):
        french = queue_email("awa@example.org", "applications/submitted", name="Awa Diop", reference="ELF-2027-0001",
                             call_title="Call 2027", submitted_at="-", url="http://localhost/applications/1")
        english = queue_email("ben@example.org", "applications/submitted", name="Ben Okoro",
                              reference="ELF-2027-0002", call_title="Call 2027", submitted_at="-",
                              url="http://localhost/applications/2")
        db.session.commit()
    assert french is not None and english is not None
    assert (french.locale, english.locale) == ("fr", "en")
    assert french.subject == "Candidature reçue : ELF-2027-0001"
    assert english.subject == "Application received: ELF-2027-0002"
    subject, _text, language = parts(french)  # rendered again at delivery, in a worker, in the row's language
    assert (subject, language) == ("Candidature reçue : ELF-2027-0001", "fr")


def test_the_referee_is_written_to_in_the_language_the_applicant_chose_for_them(client, app_ctx):
    application = ApplicationFactory(applicant=UserFactory(email="awa@example.org", full_name="Awa Diop",
                                                           locale="fr"), call__title="Environmental Leaders 2027")
    login(client, "awa@example.org")
    page = client.get(f"/applications/{application.id}/referees").get_data(as_text=True)
    assert '<option selected value="fr"' in page or 'value="fr" selected' in page  # the applicant's own, until chosen
    response = submit_form(client, f"/applications/{application.id}/referees", {
        "name": "Prof. Ana Souza", "email": "ana@uni.example", "relation": "Supervisor", "locale": "pt"})
    assert response.status_code == 302
    referee = db.session.scalars(select(Referee).where(Referee.email == "ana@uni.example")).one()
    assert referee.locale == "pt"
    [message] = db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == "ana@uni.example"))
    subject, text, language = parts(message)
    assert language == "pt" and subject.startswith("Pedido de carta de referência: ")
    assert re.search(r"\d{1,2} de \w+ de \d{4} \d\d:\d\d \(Horário Japão\)", text), text  # the deadline in Portuguese


def test_the_applicant_changes_their_referees_language_on_the_referees_page(client, app_ctx):
    application = ApplicationFactory(applicant=UserFactory(email="awa@example.org", locale="fr"))
    login(client, "awa@example.org")
    submit_form(client, f"/applications/{application.id}/referees", {
        "name": "Dr. Luis Pérez", "email": "luis@uni.example", "relation": "Employer", "locale": "pt"})
    referee = db.session.scalars(select(Referee).where(Referee.email == "luis@uni.example")).one()
    page = client.get(f"/applications/{application.id}/referees").get_data(as_text=True)
    response = client.post(f"/applications/{application.id}/referees/{referee.id}/language",
                           data={f"referee-{referee.id}-locale": "es", f"referee-{referee.id}-csrf_token":
                                 csrf_token_from(page)})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get_one(Referee, referee.id).locale == "es"


def test_nobody_else_changes_a_referees_language(app, app_ctx):
    application = ApplicationFactory(applicant=UserFactory(email="awa@example.org"))
    UserFactory(email="intruder@example.org")
    owner = app.test_client()
    login(owner, "awa@example.org")
    submit_form(owner, f"/applications/{application.id}/referees", {
        "name": "Dr. Luis Pérez", "email": "luis@uni.example", "relation": "Employer", "locale": "pt"})
    referee = db.session.scalars(select(Referee).where(Referee.email == "luis@uni.example")).one()
    intruder = app.test_client()
    login(intruder, "intruder@example.org")
    token = csrf_token_from(intruder.get("/calls").get_data(as_text=True))
    response = intruder.post(f"/applications/{application.id}/referees/{referee.id}/language",
                             data={f"referee-{referee.id}-locale": "es", "csrf_token": token})
    assert response.status_code == 404
    db.session.expire_all()
    assert db.session.get_one(Referee, referee.id).locale == "pt"


def test_a_calls_title_goes_out_in_the_recipients_language_whatever_the_sender_reads(app, app_ctx):
    from tests.factories import CallFactory

    call = CallFactory(title="Environmental Leaders 2027")
    call.title_translations = {"fr": "Leaders de l'environnement 2027", "ja": "環境リーダー 2027"}
    db.session.commit()
    UserFactory(email="awa@example.org", locale="fr")
    with app.test_request_context(), force_locale("ja"):  # staff reading Japanese send it
        assert call.title == "環境リーダー 2027"
        message = queue_email("awa@example.org", "applications/withdrawn", name="Awa", reference="ELF-1",
                              call_title=call.title)
        db.session.commit()
    assert message is not None and message.context["call_title"] == "Leaders de l'environnement 2027"
