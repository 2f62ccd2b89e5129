"""Drill: 200 messages queued, the worker SIGKILLed midway (with its pool), a new worker started."""

from __future__ import annotations

import time

import pytest

from fellowship.extensions import db
from fellowship.notifications.models import MessageStatus
from fellowship.notifications.services import queue_email
from tests.servers import wait_until

pytestmark = [pytest.mark.faults, pytest.mark.worker]

MESSAGES = 200
CONCURRENCY = 2


def test_a_worker_killed_midway_leaves_nothing_undelivered_and_at_most_the_messages_in_flight_twice(
        stage, report_proof):
    with stage.app.app_context():
        for n in range(MESSAGES):
            queue_email(f"fellow{n}@example.org", "auth/password_changed", name=f"Fellow {n}",
                        reset_url="http://localhost/auth/forgot")
        db.session.commit()  # 200 rows in the outbox, 200 tasks in the broker

    first = stage.worker(concurrency=CONCURRENCY)
    # Killed at an arbitrary moment of its work, as a crash would come: once a third is recorded as sent.
    wait_until(lambda: stage.outbox()[MessageStatus.SENT] >= MESSAGES // 3, timeout=60, interval=0.01)
    first.kill()  # SIGKILL to the worker and its pool processes at once
    delivered_before_kill = len(stage.smtp.messages)
    assert delivered_before_kill < MESSAGES, "the worker finished before it was killed: the drill proved nothing"

    # The next worker takes what is left in the queue; messages the dead worker held (unacknowledged, or
    # mid-SMTP) are still pending in the outbox, and its beat sweep queues them again.
    stage.worker(beat=True, concurrency=CONCURRENCY)
    wait_until(lambda: stage.outbox()[MessageStatus.SENT] == MESSAGES, timeout=120,
               message=f"not all sent: {stage.outbox()}")
    time.sleep(2)  # a late duplicate from a redelivered broker message would show up by now

    counts = stage.delivery_counts(MESSAGES)
    report_proof("worker SIGKILLed midway", **counts, delivered_before_kill=delivered_before_kill)
    assert counts["lost"] == 0 and counts["delivered"] == MESSAGES
    assert stage.outbox() == {MessageStatus.SENT: MESSAGES}
    # Only a message whose 250 reply arrived in the instant before the kill could commit "sent" can go twice.
    assert counts["duplicated"] <= CONCURRENCY, counts
