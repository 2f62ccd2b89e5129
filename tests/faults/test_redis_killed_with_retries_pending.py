"""Drill: Redis is SIGKILLed and restarted empty while messages wait for their next attempt.

The next attempt's time lives in the outbox row, not in the broker (no countdown/ETA tasks), so the worker holds
nothing the broker loss could make it restore: it keeps running, and the sweep dispatches each retry when due.
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from fellowship.extensions import db
from fellowship.notifications.models import MessageStatus, OutboxMessage
from fellowship.notifications.services import queue_email
from tests.servers import wait_until

pytestmark = [pytest.mark.faults, pytest.mark.worker]

MESSAGES = 40


def refused_once(stage) -> int:
    with stage.app.app_context():
        return db.session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.status == MessageStatus.PENDING, OutboxMessage.attempts >= 1)) or 0


def in_flight(stage) -> bool:
    with stage.app.app_context():
        return db.session.scalar(select(OutboxMessage.lease_until).where(
            OutboxMessage.recipient == "inflight@example.org")) is not None


def test_the_worker_keeps_running_and_delivering_after_redis_is_killed_while_retries_are_pending(
        stage, report_proof):
    stage.configure(OUTBOX_RETRY_BASE_SECONDS=10)
    stage.smtp.refuse_first_attempts = 1  # every message has a retry pending when Redis dies
    worker = stage.worker(beat=True, concurrency=2)
    with stage.app.app_context():
        for n in range(MESSAGES):
            queue_email(f"fellow{n}@example.org", "auth/password_changed", name=f"Fellow {n}",
                        reset_url="http://localhost/auth/forgot")
        db.session.commit()
    wait_until(lambda: refused_once(stage) == MESSAGES, timeout=60, message="not every message was refused once")
    # One more message, whose first attempt is still being answered when Redis dies: the worker holds its task
    # unacknowledged at that instant (kombu then tries to restore it through a dead connection).
    stage.smtp.delay = 1.5  # under MAIL_TIMEOUT (2 s in drills): the answer arrives, after Redis died
    with stage.app.app_context():
        queue_email("inflight@example.org", "auth/password_changed", name="In flight",
                    reset_url="http://localhost/auth/forgot")
        db.session.commit()
    wait_until(lambda: in_flight(stage), timeout=30, interval=0.05, message="the last message's attempt did not start")
    assert refused_once(stage) == MESSAGES + 1  # it, and every other message waiting for its retry

    stage.redis.stop()  # SIGKILL
    time.sleep(2)
    stage.redis.start()  # same port, empty
    stage.smtp.delay = 0
    wait_until(lambda: stage.outbox()[MessageStatus.SENT] == MESSAGES + 1 or not worker.alive(), timeout=90)
    time.sleep(2)

    counts = stage.delivery_counts(MESSAGES + 1)
    report_proof("Redis SIGKILLed with retries pending", **counts, worker_still_running=int(worker.alive()))
    assert worker.alive(), f"the worker exited:\n{worker.log()[-3000:]}"
    assert "Unrecoverable error" not in worker.log()
    assert "unacknowledged message" in worker.log()  # the drill did catch a task in flight
    assert counts == {"queued": MESSAGES + 1, "delivered": MESSAGES + 1, "duplicated": 0, "lost": 0}
