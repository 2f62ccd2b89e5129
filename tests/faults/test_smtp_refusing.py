"""Drill: the SMTP server refuses three times, then accepts; a message it keeps refusing for longer than the
retry budget ends as failed, is shown to staff, and is re-sent by staff once the server accepts again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from fellowship.auth.models import Role
from fellowship.extensions import db
from fellowship.notifications.models import MessageStatus, OutboxMessage
from fellowship.notifications.services import queue_email
from tests.conftest import login, submit_form
from tests.factories import UserFactory
from tests.servers import wait_until

pytestmark = [pytest.mark.faults, pytest.mark.worker]

RETRY_FOR_SECONDS = 10  # 1 s backoff doubling: attempts at about 0, 1, 3, 7 and 15 s; the first after 10 s fails it


def queue(stage, recipient: str) -> int:
    with stage.app.app_context():
        message = queue_email(recipient, "auth/password_changed", name="Fellow",
                              reset_url="http://localhost/auth/forgot")
        db.session.commit()
        return message.id


def row(stage, message_id: int) -> OutboxMessage:
    with stage.app.app_context():
        found = db.session.scalars(select(OutboxMessage).where(OutboxMessage.id == message_id)).one()
        db.session.expunge(found)
        return found


def test_refused_three_times_then_delivered_once_and_failing_for_good_is_resent_by_staff(stage, report_proof):
    stage.configure(OUTBOX_RETRY_FOR_SECONDS=RETRY_FOR_SECONDS)
    stage.worker(beat=True)

    stage.smtp.refuse_next = 3
    patient = queue(stage, "patient@example.org")
    wait_until(lambda: row(stage, patient).status is MessageStatus.SENT, timeout=40)
    assert stage.smtp.refused == 3
    assert row(stage, patient).attempts == 4

    stage.smtp.refuse_all = True
    doomed = queue(stage, "doomed@example.org")
    wait_until(lambda: row(stage, doomed).status is MessageStatus.FAILED, timeout=60)
    failed = row(stage, doomed)
    assert failed.attempts >= 3 and "451" in (failed.last_error or "")  # 5 on a quiet machine, fewer if slower
    assert failed.failed_at - failed.first_attempt_at >= timedelta(seconds=RETRY_FOR_SECONDS)
    refused = stage.smtp.refused

    with stage.app.app_context():
        staff = UserFactory(email="outbox-staff@example.org", roles=[Role.STAFF])
        client = stage.app.test_client()
        login(client, staff.email)
    page = client.get("/staff/outbox/?status=failed").get_data(as_text=True)
    assert "doomed@example.org" in page and "Temporarily unable" in page
    stage.smtp.refuse_all = False
    resent = submit_form(client, f"/staff/outbox/{doomed}/resend", {}, page="/staff/outbox/", follow_redirects=True)
    assert "is queued again" in resent.get_data(as_text=True)
    wait_until(lambda: row(stage, doomed).status is MessageStatus.SENT, timeout=30)
    wait_until(lambda: len(stage.smtp.messages) >= 2, timeout=10)

    counts = stage.delivery_counts(queued=2)
    report_proof("SMTP refusing", **counts, refusals=refused, failed_then_resent=1)
    assert counts == {"queued": 2, "delivered": 2, "duplicated": 0, "lost": 0}
    assert [m["To"] for m in stage.smtp.messages] == ["patient@example.org", "doomed@example.org"]
