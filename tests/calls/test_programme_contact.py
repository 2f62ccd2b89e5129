"""The programme office is reachable: its configured name and address on every page, the application pages and
in both parts of every email."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from fellowship.extensions import db
from fellowship.notifications.mailer import build_email
from fellowship.notifications.models import OutboxMessage
from tests.conftest import login, submit_form
from tests.factories import ApplicationFactory, CallFactory, UserFactory

NAME, EMAIL = "Leaders Programme Office", "office@leaders.example"


@pytest.fixture
def contact(app, monkeypatch):
    monkeypatch.setitem(app.config, "PROGRAMME_CONTACT_NAME", NAME)
    monkeypatch.setitem(app.config, "PROGRAMME_CONTACT_EMAIL", EMAIL)


def test_the_footer_of_every_page_names_the_programme_office_and_its_address(client, app_ctx, contact):
    for url in ("/", "/calls", "/auth/login"):
        html = client.get(url).get_data(as_text=True)
        footer = html[html.index("<footer"):]
        assert NAME in footer and f'<a href="mailto:{EMAIL}">{EMAIL}</a>' in footer, url


def test_the_application_pages_say_whom_to_ask(client, app_ctx, contact):
    applicant = UserFactory()
    application = ApplicationFactory(call=CallFactory(), applicant=applicant)
    login(client, applicant.email)
    for url in (f"/applications/{application.id}", f"/applications/{application.id}/sections/personal"):
        html = client.get(url).get_data(as_text=True)
        main = html[html.index("<main"):html.index("</main>")]
        assert NAME in main and f"mailto:{EMAIL}" in main, url
    call_page = client.get(f"/calls/{application.call_id}").get_data(as_text=True)
    assert NAME in call_page[call_page.index("<main"):call_page.index("</main>")]


def test_every_email_gives_the_contact_in_its_text_and_html_parts(client, app_ctx, contact):
    user = UserFactory(email="amani@example.org")
    submit_form(client, "/auth/forgot", {"email": user.email})
    submit_form(client, "/auth/forgot", {"email": "nobody@example.org"})
    messages = db.session.scalars(select(OutboxMessage)).all()
    assert len(messages) == 2
    for message in messages:
        email = build_email(message)
        text = email.get_body(("plain",)).get_content()
        html = email.get_body(("html",)).get_content()
        assert f"Write to {NAME} at {EMAIL}." in text, message.template
        assert NAME in html and f'href="mailto:{EMAIL}"' in html, message.template
