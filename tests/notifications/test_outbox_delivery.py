"""Email delivery through the outbox, with a real Celery worker, Redis broker and SMTP server.

These tests commit for real (the worker is another process) and count what the SMTP server
received by Message-ID: every email arrives, and arrives once.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import select

from fellowship.extensions import db, limiter
from fellowship.notifications.models import MessageStatus, OutboxMessage
from tests.conftest import login, make_app, submit_form, worker_env
from tests.servers import CeleryWorker, RedisServer, SmtpSink, text_body, wait_until

STRONG = "river-delta-mangrove-41"

pytestmark = pytest.mark.worker


def register(client: Any, email: str) -> Any:
    response = submit_form(client, "/auth/register", {
        "full_name": "Amani Njeri", "email": email, "password": STRONG, "confirm": STRONG})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response


def duplicates(sink: SmtpSink) -> list[str]:
    counts = Counter(m["Message-ID"] for m in sink.messages)
    return [mid for mid, n in counts.items() if n > 1]


def message_row(email: str) -> OutboxMessage:
    db.session.expire_all()
    row = db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == email)).one()
    return row


def test_register_confirm_and_log_in_with_the_email_delivered_by_a_real_worker(
        client, app_ctx, worker, smtp_server):
    register(client, "amani@example.org")
    [email] = smtp_server.wait_for(1, recipient="amani@example.org")
    assert email["Subject"] == "Confirm your email address"
    assert email.get_body(preferencelist=("html",)) is not None
    link = next(word for word in text_body(email).split() if "/auth/confirm/" in word)

    confirmed = client.get(link.removeprefix("http://localhost"), follow_redirects=True)
    assert "Your email address is confirmed" in confirmed.get_data(as_text=True)
    assert login(client, "amani@example.org", STRONG).status_code == 302
    assert ">Amani Njeri</a>" in client.get("/").get_data(as_text=True)  # the menu names the logged-in person
    assert message_row("amani@example.org").status is MessageStatus.SENT


def test_with_the_worker_stopped_the_message_waits_then_is_delivered_exactly_once(
        client, app_ctx, app_settings, tmp_root, smtp_server):
    register(client, "waiting@example.org")
    time.sleep(1.5)
    assert smtp_server.messages == []
    assert message_row("waiting@example.org").status is MessageStatus.PENDING

    worker = CeleryWorker(worker_env(app_settings), tmp_root, beat=True)
    worker.start()
    try:
        smtp_server.wait_for(1, recipient="waiting@example.org")
        time.sleep(3)  # several sweeps run meanwhile: none may send it again
    finally:
        worker.stop()
    assert len(smtp_server.to("waiting@example.org")) == 1
    assert duplicates(smtp_server) == []
    row = message_row("waiting@example.org")
    assert row.status is MessageStatus.SENT and row.attempts == 1


def test_smtp_refusing_is_retried_with_backoff_and_delivered_once(client, app_ctx, worker, smtp_server):
    smtp_server.refuse_next = 3
    register(client, "retry@example.org")
    smtp_server.wait_for(1, recipient="retry@example.org", timeout=60)
    time.sleep(2)
    assert smtp_server.refused == 3
    assert len(smtp_server.to("retry@example.org")) == 1
    row = message_row("retry@example.org")
    assert row.status is MessageStatus.SENT and row.attempts == 4 and row.last_error is None


def test_with_redis_stopped_registering_succeeds_and_the_sweep_delivers_after_redis_returns(
        app_settings, tmp_root, smtp_server, app):
    broker = RedisServer()
    broker.start()
    settings = {**app_settings, "REDIS_URL": broker.url, "RATELIMIT_STORAGE_URI": broker.url}
    own_app = make_app(settings)
    own_client = own_app.test_client()
    broker.stop()
    try:
        with own_app.app_context():
            started = time.monotonic()
            page = own_client.get("/auth/register")
            assert page.status_code == 200
            register(own_client, "redisdown@example.org")
            assert time.monotonic() - started < 15, "registration must not hang on a dead broker"
            assert message_row("redisdown@example.org").status is MessageStatus.PENDING
            db.session.remove()

        broker.start()  # same port: Redis is back, empty (the first dispatch was never queued)
        worker = CeleryWorker(worker_env(settings), tmp_root, beat=True)
        worker.start()
        try:
            smtp_server.wait_for(1, recipient="redisdown@example.org", timeout=60)
            time.sleep(3)
        finally:
            worker.stop()
        assert len(smtp_server.to("redisdown@example.org")) == 1
        assert duplicates(smtp_server) == []
    finally:
        broker.stop()
        with own_app.app_context():
            db.session.remove()
            db.engine.dispose()
        # Flask-Limiter keeps one storage per Limiter object: give it back to the suite's app.
        limiter.init_app(app)


def test_a_message_still_refused_when_its_retry_budget_is_spent_ends_failed_and_staff_can_resend_it(
        app, client, app_ctx, smtp_server):
    from datetime import timedelta

    from fellowship.auth.models import Role
    from fellowship.models import utcnow
    from fellowship.notifications import services
    from tests.factories import UserFactory

    staff = UserFactory(email="staff@example.org", roles=[Role.STAFF])
    with app.test_request_context():
        message = services.queue_email("far@example.org", "auth/password_changed", name="Far",
                                       reset_url="http://localhost/auth/forgot")
        db.session.commit()
    message_id = message.id
    smtp_server.refuse_all = True
    outcomes = []
    for started_ago in (timedelta(0), timedelta(days=2), timedelta(days=3, minutes=1)):
        # Due now, with its first attempt `started_ago` (the budget is three days by default).
        db.session.execute(db.update(OutboxMessage).values(next_attempt_at=utcnow()))
        if started_ago:
            db.session.execute(db.update(OutboxMessage).values(first_attempt_at=utcnow() - started_ago))
        db.session.commit()
        outcomes.append(services.deliver(message_id).status)
    assert outcomes == ["retry", "retry", "failed"]
    row = message_row("far@example.org")
    assert row.status is MessageStatus.FAILED and "451" in (row.last_error or "") and row.failed_at is not None

    login(client, staff.email)
    page = client.get("/staff/outbox/?status=failed").get_data(as_text=True)
    assert "far@example.org" in page and "Temporarily unable" in page

    smtp_server.refuse_all = False
    response = submit_form(client, f"/staff/outbox/{message_id}/resend", {}, page="/staff/outbox/",
                           follow_redirects=True)
    assert "is queued again" in response.get_data(as_text=True)
    row = message_row("far@example.org")
    assert row.status is MessageStatus.PENDING and row.attempts == 0 and row.first_attempt_at is None
    assert services.deliver(message_id).status == "sent"
    assert len(smtp_server.to("far@example.org")) == 1
    assert services.deliver(message_id).status == "skipped"  # a late duplicate task sends nothing
    assert len(smtp_server.to("far@example.org")) == 1


def test_two_deliveries_of_one_message_at_once_send_it_once(app, app_ctx, smtp_server):
    import threading

    from fellowship.notifications import services

    with app.test_request_context():
        message_id = services.queue_email("race@example.org", "auth/password_changed", name="Race",
                                          reset_url="http://localhost/auth/forgot").id
        db.session.commit()
    results: list[str] = []

    def deliver() -> None:
        with app.app_context():
            results.append(services.deliver(message_id).status)

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(results) == ["sent", "skipped", "skipped", "skipped"]
    wait_until(lambda: smtp_server.to("race@example.org"), timeout=5)
    assert len(smtp_server.to("race@example.org")) == 1


def test_with_the_broker_down_a_request_queuing_many_emails_tries_the_broker_once(app_settings, app, caplog):
    """Thirty decision emails queued while Redis is down: one failed attempt, not thirty, slows the request;
    every message waits in the outbox for the sweep."""
    from fellowship.notifications import services

    dead_broker = RedisServer()  # never started: its port refuses connections
    own_app = make_app({**app_settings, "REDIS_URL": dead_broker.url, "RATELIMIT_STORAGE_URI": "memory://"})
    try:
        with own_app.test_request_context(), caplog.at_level("WARNING", logger="fellowship.notifications"):
            for n in range(30):
                services.queue_email(f"many{n}@example.org", "auth/password_changed", name="Many",
                                     reset_url="http://localhost/auth/forgot")
            db.session.commit()
            attempts = [r for r in caplog.records if "not queued" in r.getMessage()]
            assert len(attempts) == 1
            statuses = db.session.scalars(select(OutboxMessage.status)).all()
            assert statuses == [MessageStatus.PENDING] * 30
            db.session.remove()
    finally:
        with own_app.app_context():
            db.engine.dispose()
        limiter.init_app(app)
