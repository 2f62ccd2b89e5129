"""Drill: PostgreSQL restarts (fast shutdown: every connection killed) while the worker is delivering 200 mails.

Mail the SMTP server accepted while the database was away is recorded as sent once it is back: nothing goes
twice. The drill runs on a PostgreSQL server of its own, so the restart cannot disturb the rest of the suite.
"""

from __future__ import annotations

import time

import pytest

from fellowship.extensions import db
from fellowship.notifications.models import MessageStatus
from fellowship.notifications.services import queue_email
from tests.faults.conftest import staged
from tests.servers import wait_until

pytestmark = [pytest.mark.faults, pytest.mark.worker]

MESSAGES = 200


def test_postgresql_restarting_during_delivery_sends_no_message_twice(app, app_settings, own_database, tmp_path,
                                                                      report_proof):
    server, url = own_database
    with staged(app, {**app_settings, "SQLALCHEMY_DATABASE_URI": url}, tmp_path) as stage:
        stage.smtp.delay = 0.05  # each mail is in flight between client and server for 50 ms
        with stage.app.app_context():
            for n in range(MESSAGES):
                queue_email(f"fellow{n}@example.org", "auth/password_changed", name=f"Fellow {n}",
                            reset_url="http://localhost/auth/forgot")
            db.session.commit()
        worker = stage.worker(concurrency=4)
        stage.beat()

        wait_until(lambda: stage.outbox()[MessageStatus.SENT] >= MESSAGES // 5, timeout=60, interval=0.01)
        server.stop("fast")  # kills every connection, also those of deliveries whose mail was just accepted
        time.sleep(1.5)
        server.restart()
        with stage.app.app_context():
            db.engine.dispose()  # the test's own pool holds connections the restart killed
        wait_until(lambda: stage.outbox()[MessageStatus.SENT] == MESSAGES, timeout=120,
                   message=f"not all sent after the restart: {stage.outbox()}")
        time.sleep(3)  # a second copy from the sweep would arrive by now

        counts = stage.delivery_counts(MESSAGES)
        recorded_late = worker.log().count("recording it as sent failed")
        report_proof("PostgreSQL restarted during delivery", **counts, sent_recorded_after_retrying=recorded_late)
        assert counts == {"queued": MESSAGES, "delivered": MESSAGES, "duplicated": 0, "lost": 0}
        assert stage.outbox() == {MessageStatus.SENT: MESSAGES}
