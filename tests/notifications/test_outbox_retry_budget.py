"""The outbox's retry policy in time (a budget of days, backoff capped at an hour), the lease that keeps a message
with one worker while it is sent, and staff's bulk re-send of failed messages by filter.

These call the delivery service in the test process against the suite's SMTP server and commit for real.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from fellowship.audit.models import AuditEntry
from fellowship.auth.models import Role
from fellowship.extensions import db
from fellowship.models import utcnow
from fellowship.notifications import services
from fellowship.notifications.models import MessageStatus, OutboxMessage
from tests.conftest import login, make_app, submit_form
from tests.factories import UserFactory


def queue(app: Any, recipient: str, template: str = "auth/password_changed") -> int:
    with app.test_request_context():
        message = services.queue_email(recipient, template, name="Fellow", reset_url="http://localhost/auth/forgot")
        db.session.commit()
        return message.id


def row(message_id: int) -> OutboxMessage:
    db.session.expire_all()
    return db.session.get_one(OutboxMessage, message_id)


def set_row(message_id: int, **values: Any) -> None:
    db.session.execute(db.update(OutboxMessage).where(OutboxMessage.id == message_id).values(**values))
    db.session.commit()


def fail_for_good(message_id: int) -> None:
    set_row(message_id, status=MessageStatus.FAILED, attempts=40, failed_at=utcnow(), last_error="451 refused",
            first_attempt_at=utcnow() - timedelta(days=3))


def test_a_message_refused_for_two_simulated_days_is_still_retried_within_the_hour(app, app_ctx, smtp_server):
    app.config["OUTBOX_RETRY_BASE_SECONDS"] = 30  # the production policy: 30 s doubling, capped at one hour
    try:
        message_id = queue(app, "patient@example.org")
        smtp_server.refuse_all = True
        set_row(message_id, attempts=20, first_attempt_at=utcnow() - timedelta(days=2))  # refused for two days
        before = utcnow()
        result = services.deliver(message_id)
    finally:
        app.config["OUTBOX_RETRY_BASE_SECONDS"] = 1
    assert result.status == "retry" and result.retry_in == 3600
    message = row(message_id)
    assert message.status is MessageStatus.PENDING and message.attempts == 21 and message.lease_until is None
    assert timedelta(minutes=59) < message.next_attempt_at - before <= timedelta(hours=1, seconds=5)

    smtp_server.refuse_all = False
    set_row(message_id, next_attempt_at=utcnow())
    assert services.deliver(message_id).status == "sent"
    assert len(smtp_server.to("patient@example.org")) == 1


def test_the_retry_delay_doubles_from_the_base_and_stops_growing_at_the_cap(app, app_ctx):
    app.config.update(OUTBOX_RETRY_BASE_SECONDS=30, OUTBOX_RETRY_MAX_SECONDS=3600)
    try:
        delays = [services.retry_delay(n) for n in (1, 2, 3, 7, 8, 9, 500)]
    finally:
        app.config.update(OUTBOX_RETRY_BASE_SECONDS=1)
    assert delays == [30, 60, 120, 1920, 3600, 3600, 3600]


def test_a_message_held_by_a_worker_is_not_sent_by_another_until_its_lease_ends(app, app_ctx, smtp_server):
    message_id = queue(app, "leased@example.org")
    set_row(message_id, lease_until=utcnow() + timedelta(minutes=5), attempts=1)  # a worker is sending it
    assert services.deliver(message_id).status == "skipped"
    with app.app_context():
        assert services.sweep() == 0  # and the sweep leaves it alone
        db.session.rollback()
    assert smtp_server.messages == []

    set_row(message_id, lease_until=utcnow() - timedelta(seconds=1))  # that worker died; its lease ran out
    assert services.deliver(message_id).status == "sent"
    assert len(smtp_server.to("leased@example.org")) == 1
    message = row(message_id)
    assert message.status is MessageStatus.SENT and message.attempts == 2 and message.lease_until is None


def test_a_refused_retry_is_dispatched_by_the_sweep_when_due_and_not_before(app, app_ctx, smtp_server):
    message_id = queue(app, "later@example.org")
    smtp_server.refuse_all = True
    assert services.deliver(message_id).status == "retry"
    with app.app_context():
        assert services.sweep() == 0  # not due yet: nothing waits in the broker either
        db.session.rollback()
    set_row(message_id, next_attempt_at=utcnow())
    with app.app_context():
        assert services.sweep() == 1
        db.session.commit()
        assert services.sweep() == 0  # handed over once, not again at every sweep while it waits in the queue
        db.session.commit()


def test_a_lease_too_short_for_the_smtp_timeout_is_refused_at_startup(app_settings):
    with pytest.raises(RuntimeError, match="OUTBOX_LEASE_SECONDS"):
        make_app({**app_settings, "MAIL_TIMEOUT": 10, "OUTBOX_LEASE_SECONDS": 60})


def test_staff_resend_failed_messages_by_filter_after_a_confirmation_with_the_count_once_each(
        app, client, app_ctx, smtp_server):
    staff = UserFactory(email="staff@example.org", roles=[Role.STAFF])
    wanted = [queue(app, f"amani{n}@example.org") for n in range(3)]
    other_kind = queue(app, "amani9@example.org", template="auth/confirm_email")
    other_person = queue(app, "someone@example.org")
    old = queue(app, "amani-old@example.org")
    for message_id in [*wanted, other_kind, other_person, old]:
        fail_for_good(message_id)
    set_row(old, failed_at=utcnow() - timedelta(days=10))

    login(client, staff.email)
    since = (utcnow() - timedelta(days=1)).date().isoformat()
    filters = {"template": "auth/password_changed", "recipient": "AMANI", "failed_since": since}
    listed = client.get("/staff/outbox/", query_string={"status": "failed", **filters}).get_data(as_text=True)
    assert all(f"amani{n}@example.org" in listed for n in range(3))
    assert "someone@example.org" not in listed and "amani9@example.org" not in listed and "amani-old" not in listed
    assert "Re-send these 3 failed messages" in listed

    confirm = client.get("/staff/outbox/resend-failed", query_string=filters).get_data(as_text=True)
    assert "3 failed messages of kind “auth/password_changed”, to addresses containing “AMANI”" in confirm
    done = submit_form(client, "/staff/outbox/resend-failed", filters,
                       page="/staff/outbox/resend-failed?" + "&".join(f"{k}={v}" for k, v in filters.items()),
                       follow_redirects=True).get_data(as_text=True)
    assert "3 failed messages are queued again" in done
    assert [row(m).status for m in wanted] == [MessageStatus.PENDING] * 3
    assert {row(m).status for m in (other_kind, other_person, old)} == {MessageStatus.FAILED}
    assert all(row(m).attempts == 0 and row(m).first_attempt_at is None for m in wanted)
    [entry] = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "notifications.bulk_resent")).all()
    assert entry.actor_id == staff.id and entry.details["count"] == 3
    assert entry.details["filters"] == {"template": "auth/password_changed", "recipient": "AMANI",
                                        "failed_since": f"{since}T00:00:00+00:00"}

    again = submit_form(client, "/staff/outbox/resend-failed", filters, page="/staff/outbox/?status=failed",
                        follow_redirects=True).get_data(as_text=True)  # the same click, a second time
    assert "nothing was re-sent" in again
    for message_id in wanted:
        assert services.deliver(message_id).status == "sent"
        assert services.deliver(message_id).status == "skipped"
    assert sorted(m["To"] for m in smtp_server.messages) == [f"amani{n}@example.org" for n in range(3)]


def test_an_invalid_filter_never_widens_a_bulk_resend(app, client, app_ctx):
    staff = UserFactory(email="staff@example.org", roles=[Role.STAFF])
    fail_for_good(queue(app, "kept@example.org"))
    login(client, staff.email)
    response = submit_form(client, "/staff/outbox/resend-failed", {"failed_since": "not a date"},
                           page="/staff/outbox/?status=failed", follow_redirects=True)
    assert "The filters are not valid" in response.get_data(as_text=True)
    assert db.session.scalar(select(OutboxMessage.status)) is MessageStatus.FAILED


def test_two_bulk_resends_at_once_queue_each_failed_message_once(app, app_ctx):
    ids = [queue(app, f"race{n}@example.org") for n in range(20)]
    for message_id in ids:
        fail_for_good(message_id)
    taken: list[list[int]] = []
    start = threading.Barrier(2)

    def resend_all() -> None:
        with app.app_context():
            start.wait(5)
            taken.append(services.resend_failed(services.FailedFilter()))
            db.session.commit()

    threads = [threading.Thread(target=resend_all) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(len(ids_taken) for ids_taken in taken) == [0, 20]
    assert sorted(id_ for ids_taken in taken for id_ in ids_taken) == ids


def test_no_task_anywhere_is_queued_with_a_countdown_eta_or_celery_retry():
    """Long delays live in the database (a due time the sweep checks), never in the broker: a worker holding
    ETA tasks has them to restore when Redis dies (issue 17)."""
    import ast
    from pathlib import Path

    import fellowship

    offenders = []
    for path in Path(fellowship.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call):
                continue
            keywords = {k.arg for k in node.keywords}
            broker_delay = keywords & {"countdown", "eta", "autoretry_for", "default_retry_delay", "retry_backoff"}
            celery_retry = isinstance(node.func, ast.Attribute) and node.func.attr == "retry" and isinstance(
                node.func.value, ast.Name) and node.func.value.id == "self"
            if broker_delay or celery_retry:
                offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == []
