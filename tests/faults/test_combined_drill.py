"""The combined drill: 500 mails while, in one run, the SMTP server refuses each message's first 3 attempts, two
beats run side by side, Redis is SIGKILLed and restarted empty while retries are pending, PostgreSQL restarts (fast
shutdown) during delivery, and the worker is SIGKILLed twice and restarted as a supervisor would.

Counted by Message-ID at the SMTP server: every mail arrives; none twice because of the database, Redis, SMTP or
the beats. The one window left is the worker's own death between the server's acceptance and the recording of
"sent": at most the messages it had in flight at each kill (each under a live lease then) can arrive twice.
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from fellowship.extensions import db
from fellowship.models import utcnow
from fellowship.notifications.models import MessageStatus, OutboxMessage
from fellowship.notifications.services import queue_email
from tests.faults.conftest import Stage, staged
from tests.servers import wait_until

pytestmark = [pytest.mark.faults, pytest.mark.worker]

MESSAGES = 500
CONCURRENCY = 4
TEMPLATES = ["auth/password_changed", "auth/confirm_email"]


def count(stage: Stage, *conditions) -> int:
    with stage.app.app_context():
        return db.session.scalar(select(func.count()).select_from(OutboxMessage).where(*conditions)) or 0


def sent(stage: Stage) -> int:
    return count(stage, OutboxMessage.status == MessageStatus.SENT)


def in_flight(stage: Stage) -> set[str]:
    """Message-IDs of the messages a worker holds right now (pending, under a live lease)."""
    with stage.app.app_context():
        return set(db.session.scalars(select(OutboxMessage.message_id).where(
            OutboxMessage.status == MessageStatus.PENDING, OutboxMessage.lease_until > utcnow())))


def test_500_mails_through_smtp_refusals_two_beats_redis_and_postgresql_restarts_and_two_worker_kills(
        app, app_settings, own_database, tmp_path, report_proof):
    server, url = own_database
    with staged(app, {**app_settings, "SQLALCHEMY_DATABASE_URI": url}, tmp_path) as stage:
        stage.configure(OUTBOX_RETRY_BASE_SECONDS=1, OUTBOX_RETRY_MAX_SECONDS=2)
        stage.smtp.refuse_first_attempts = 3
        stage.smtp.delay = 0.02  # each mail is in flight at the worker for a moment
        beats = [stage.beat(), stage.beat()]
        worker = stage.worker(concurrency=CONCURRENCY)
        started = time.monotonic()
        for batch in range(MESSAGES // 100):  # created through the services, in five transactions
            with stage.app.app_context():
                for n in range(batch * 100, batch * 100 + 100):
                    queue_email(f"fellow{n}@example.org", TEMPLATES[n % 2], name=f"Fellow {n}",
                                reset_url="http://localhost/auth/forgot",
                                confirm_url="http://localhost/auth/confirm/x")
                db.session.commit()

        # Redis dies (SIGKILL) while retries are pending, and comes back empty.
        wait_until(lambda: count(stage, OutboxMessage.status == MessageStatus.PENDING, OutboxMessage.attempts >= 1,
                                 OutboxMessage.lease_until.is_(None)) >= 100, timeout=60, interval=0.05)
        stage.redis.stop()
        time.sleep(2)
        stage.redis.start()

        # PostgreSQL restarts (fast shutdown kills every connection) during delivery.
        wait_until(lambda: sent(stage) >= 100, timeout=90, interval=0.05)
        server.stop("fast")
        time.sleep(1.5)
        server.restart()
        with stage.app.app_context():
            db.engine.dispose()

        # The worker is SIGKILLed twice; each time a supervisor starts a new one.
        held_at_kills: list[set[str]] = []
        for threshold in (200, 350):
            wait_until(lambda threshold=threshold: sent(stage) >= threshold, timeout=90, interval=0.02)
            worker.kill()
            # What this worker held: leases taken by a worker killed earlier can still be live, and are not its.
            held_at_kills.append(in_flight(stage) - set().union(*held_at_kills))
            worker = stage.worker(concurrency=CONCURRENCY)

        wait_until(lambda: sent(stage) == MESSAGES, timeout=150, interval=0.2,
                   message=f"not all sent: {stage.outbox()}")
        elapsed = time.monotonic() - started
        time.sleep(3)  # a late second copy would have arrived by now

        counts = stage.delivery_counts(MESSAGES)
        received = {}
        for message in stage.smtp.messages:
            received[message["Message-ID"]] = received.get(message["Message-ID"], 0) + 1
        duplicated = {mid for mid, n in received.items() if n > 1}
        held = set().union(*held_at_kills)
        logs = "".join(process.log() for process in stage.workers)
        report_proof("combined drill (SMTP refusing 3x, two beats, Redis SIGKILL, PostgreSQL restart, "
                     "worker SIGKILL x2)", **counts,
                     duplicated_by_worker_kills=len(duplicated & held), duplicated_otherwise=len(duplicated - held),
                     in_flight_at_kills=len(held), refusals=stage.smtp.refused,
                     sent_recorded_after_retrying=logs.count("recording it as sent failed"), seconds=round(elapsed))
        print(f"duplicates caused by the two worker kills: {len(duplicated & held)} (in flight then: "
              f"{[len(h) for h in held_at_kills]}); by anything else: {len(duplicated - held)}")
        assert counts["lost"] == 0 and counts["delivered"] == MESSAGES
        assert duplicated <= held, "a message went twice that no killed worker held"
        # At most the messages in flight at each kill go twice: never more than the worker's concurrency. (The leases
        # live at a kill can be more: a message whose refusal could not be recorded during the PostgreSQL restart
        # keeps its lease until it ends, held by no worker.)
        assert all(len(duplicated & h) <= CONCURRENCY for h in held_at_kills), held_at_kills
        assert stage.outbox() == {MessageStatus.SENT: MESSAGES}
        assert stage.smtp.refused >= 3 * MESSAGES
        assert worker.alive() and all(beat.alive() for beat in beats)
        assert "Unrecoverable error" not in logs
