"""Staff open one outbox message (recipient, subject, status, attempts, last error, the text as sent, personal links
hidden) and find messages by recipient on every tab."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from fellowship.auth.models import Role
from fellowship.extensions import db
from fellowship.notifications.models import MessageStatus, OutboxMessage
from fellowship.notifications.services import queue_email
from tests.conftest import login
from tests.factories import UserFactory


def _queued(recipient: str, **values: object) -> OutboxMessage:
    message = queue_email(recipient, "auth/reset_password", name="Amani Njeri",
                          reset_url="http://localhost/auth/reset/eyJ1aWQiOjQyfQ.Zx9a8b7c6d5e4f3g2h1i0jKLMNOP")
    assert message is not None
    for key, value in values.items():
        setattr(message, key, value)
    db.session.commit()
    return message


def test_staff_open_a_message_and_read_its_delivery_and_text_without_the_personal_link(
        app_ctx: Flask, client: FlaskClient) -> None:
    staff = UserFactory(roles=[Role.STAFF])
    message = _queued("amani@example.org", status=MessageStatus.FAILED, attempts=4,
                      last_error="550 mailbox unavailable")
    login(client, staff.email)
    html = client.get(f"/staff/outbox/{message.id}").get_data(as_text=True)
    assert "amani@example.org" in html and message.subject in html
    assert "Failed" in html and "550 mailbox unavailable" in html
    assert "<dt>Attempts</dt><dd>4" in html
    assert "Amani Njeri" in html  # the rendered text body
    assert "[personal link, hidden]" in html and "Zx9a8b7c6d5e4f3g2h1i0jKLMNOP" not in html
    assert "(Asia/Tokyo)" in html  # the times name their zone
    # The list links each message to its page.
    listing = client.get("/staff/outbox/?status=failed").get_data(as_text=True)
    assert f'href="/staff/outbox/{message.id}"' in listing


def test_only_staff_open_a_message(app_ctx: Flask, client: FlaskClient) -> None:
    message = _queued("amani@example.org")
    reviewer = UserFactory(roles=[Role.REVIEWER])
    login(client, reviewer.email)
    assert client.get(f"/staff/outbox/{message.id}").status_code == 403


def test_staff_search_the_outbox_by_recipient_on_every_tab(app_ctx: Flask, client: FlaskClient) -> None:
    staff = UserFactory(roles=[Role.STAFF])
    _queued("wanjiru.kamau@example.org", status=MessageStatus.SENT)
    _queued("otieno@example.org", status=MessageStatus.SENT)
    _queued("WANJIRU@uni.example", status=MessageStatus.PENDING)
    login(client, staff.email)
    sent = client.get("/staff/outbox/?status=sent&recipient=wanjiru").get_data(as_text=True)
    assert "wanjiru.kamau@example.org" in sent and "otieno@example.org" not in sent
    pending = client.get("/staff/outbox/?status=pending&recipient=Wanjiru").get_data(as_text=True)
    assert "WANJIRU@uni.example" in pending
    none = client.get("/staff/outbox/?status=sent&recipient=nobody").get_data(as_text=True)
    assert "No sent messages to an address containing “nobody”" in none
