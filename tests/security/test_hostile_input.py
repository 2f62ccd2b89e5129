"""Hostile text in free-text fields is stored as typed and escaped wherever it is shown: pages and emails."""

from __future__ import annotations

from sqlalchemy import select

from fellowship.auth.models import Role
from fellowship.extensions import db
from fellowship.notifications.mailer import build_email
from fellowship.notifications.models import OutboxMessage
from tests.applications.helpers import owner_email
from tests.conftest import login, submit_form
from tests.factories import ApplicationFactory, UserFactory

PAYLOAD = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_script_in_an_answer_is_escaped_on_the_applicants_and_the_staff_pages(client, app_ctx):
    application = ApplicationFactory(motivation=None)
    login(client, owner_email(application))
    submit_form(client, f"/applications/{application.id}/sections/motivation",
                {"motivation": PAYLOAD, "submit": "Save"})
    db.session.expire_all()
    assert db.session.get(type(application), application.id).motivation == PAYLOAD  # kept as typed

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
