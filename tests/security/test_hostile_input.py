"""Hostile text in free-text fields is stored as typed and escaped wherever it is shown: pages and emails."""

from __future__ import annotations

from sqlalchemy import select

from fellowship.auth.models import Role, User
from fellowship.extensions import db
from fellowship.notifications.mailer import build_email
from fellowship.notifications.models import OutboxMessage
from tests.applications.helpers import owner_email
from tests.conftest import login, submit_form
from tests.factories import ApplicationFactory, CallFactory, UserFactory, answer_of

PAYLOAD = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_script_in_an_answer_is_escaped_on_the_applicants_and_the_staff_pages(client, app_ctx):
    application = ApplicationFactory(motivation=None)
    login(client, owner_email(application))
    submit_form(client, f"/applications/{application.id}/sections/motivation",
                {"motivation": PAYLOAD, "submit": "Save"})
    db.session.expire_all()
    assert answer_of(application.id, "motivation") == PAYLOAD  # kept as typed

    own_page = client.get(f"/applications/{application.id}/sections/motivation").get_data(as_text=True)
    staff = client.application.test_client()
    login(staff, UserFactory(roles=[Role.STAFF]).email)
    staff_page = staff.get(f"/staff/applications/{application.id}").get_data(as_text=True)
    for html in (own_page, staff_page):
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(" in html


def test_script_in_a_name_is_escaped_in_the_html_email(client, app_ctx):
    response = submit_form(client, "/auth/register", {
        "full_name": PAYLOAD, "email": "hostile@example.org", "password": "river-delta-mangrove-41",
        "confirm": "river-delta-mangrove-41"})
    assert response.status_code == 302
    message = db.session.scalars(select(OutboxMessage)).one()
    with client.application.test_request_context():
        email = build_email(message)
    html = email.get_body(preferencelist=("html",)).get_content()
    assert "<script>alert" not in html and "&lt;script&gt;" in html


def test_an_overlong_answer_is_refused_beside_the_field_and_nothing_is_stored(client, app_ctx):
    application = ApplicationFactory(given_name="Amani")
    login(client, owner_email(application))
    response = submit_form(client, f"/applications/{application.id}/sections/personal",
                           {"given_name": "A" * 101, "family_name": "Njeri", "submit": "Save"})
    assert 'id="given_name-error"' in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(type(application), application.id).given_name == "Amani"


def test_an_invalid_time_zone_and_an_invalid_date_are_refused(client, app_ctx):
    user = UserFactory()
    login(client, user.email)
    refused = submit_form(client, "/auth/profile", {"full_name": user.full_name, "time_zone": "../../etc/passwd"})
    assert "Not a valid choice" in refused.get_data(as_text=True)
    application = ApplicationFactory(applicant=user)
    bad_date = submit_form(client, f"/applications/{application.id}/sections/personal",
                           {"given_name": "Amani", "date_of_birth": "2099-02-31", "submit": "Save"})
    assert 'id="date_of_birth-error"' in bad_date.get_data(as_text=True)


def test_nul_characters_in_registration_search_and_filters_are_dropped_not_a_server_error(client, app_ctx):
    response = submit_form(client, "/auth/register", {
        "full_name": "Amani\x00 Njeri", "email": "amani@example.org", "password": "river-delta-mangrove-41",
        "confirm": "river-delta-mangrove-41"})
    assert response.status_code == 302
    assert db.session.scalars(select(User.full_name).where(User.email == "amani@example.org")).one() == "Amani Njeri"
    staff = client.application.test_client()
    login(staff, UserFactory(roles=[Role.STAFF, Role.ADMIN]).email)
    call = CallFactory()
    for url in (f"/staff/calls/{call.id}/applications?q=nj%00eri&region=Af%00rica",
                f"/staff/calls/{call.id}/applications.csv?q=%00", "/staff/alumni?q=%00x", "/admin/users?q=%00",
                "/staff/outbox/?q=%00"):
        assert staff.get(url).status_code == 200, url


def test_an_oversized_value_is_refused_beside_the_field_and_not_sent_back_whole(client, app_ctx):
    application = ApplicationFactory(motivation="My first draft.")
    login(client, owner_email(application))
    huge = "river " * (10 * 1024 * 1024 // 6)  # 10 MB
    response = submit_form(client, f"/applications/{application.id}/sections/motivation",
                           {"motivation": huge, "submit": "Save"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="motivation-error"' in html
    assert "Only the first 20,000 characters are shown below" in html
    assert len(html) < 100_000  # not the 10 MB sent back
    db.session.expire_all()
    assert answer_of(application.id, "motivation") == "My first draft."

    name = submit_form(client, f"/applications/{application.id}/sections/personal",
                       {"given_name": "A" * (5 * 1024 * 1024), "family_name": "Njeri", "submit": "Save"})
    html = name.get_data(as_text=True)
    assert 'id="given_name-error"' in html and "Only the first 100 characters" in html and len(html) < 100_000


def test_an_oversized_name_at_registration_is_not_sent_back_whole(client, app_ctx):
    response = submit_form(client, "/auth/register", {
        "full_name": "N" * (5 * 1024 * 1024), "email": "big@example.org", "password": "river-delta-mangrove-41",
        "confirm": "river-delta-mangrove-41"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="full_name-error"' in html and len(html) < 100_000
    assert db.session.scalar(select(User.id).where(User.email == "big@example.org")) is None
