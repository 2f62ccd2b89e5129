"""Drill: Redis (the broker) stops while applicants submit and staff send decisions, then comes back."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from fellowship.applications.models import Application, ApplicationStatus
from fellowship.auth.models import Role
from fellowship.extensions import db
from fellowship.notifications.models import MessageStatus, OutboxMessage
from fellowship.selection import decisions
from fellowship.selection.models import Decision, DecisionOutcome, Offer
from tests.applications.helpers import make_complete, owner_email
from tests.conftest import login, submit_form
from tests.factories import ApplicationFactory, CallFactory, UserFactory, submitted_application
from tests.servers import wait_until

pytestmark = [pytest.mark.faults, pytest.mark.worker]

SUBMISSIONS = 20
DECISIONS = 30
OUTCOMES = [DecisionOutcome.ACCEPT, DecisionOutcome.WAITLIST, DecisionOutcome.REJECT]


def test_with_redis_down_submissions_and_decisions_are_stored_whole_and_every_email_goes_once_it_returns(
        stage, report_proof):
    with stage.app.app_context():
        open_call = CallFactory(year=2027, reference_prefix="DRL")
        drafts = [make_complete(ApplicationFactory(call=open_call)) for _ in range(SUBMISSIONS)]
        applicants = [(draft.id, owner_email(draft)) for draft in drafts]
        decided_call = CallFactory()
        staff = UserFactory(email="decisions-staff@example.org", roles=[Role.STAFF])
        for n in range(DECISIONS):
            decisions.record_decision(submitted_application(decided_call), OUTCOMES[n % 3], "Panel ranking.", staff)
        db.session.commit()
        decided_call_id, open_call_id = decided_call.id, open_call.id
    stage.worker(beat=True)

    stage.redis.stop()
    pages = []
    for application_id, email in applicants:
        client = stage.app.test_client()
        assert login(client, email).status_code == 302
        response = submit_form(client, f"/applications/{application_id}/submit",
                               {"declare_true": "y", "consent_privacy": "y"},
                               page=f"/applications/{application_id}/review", follow_redirects=True)
        pages.append(response.status_code)
    staff_client = stage.app.test_client()
    login(staff_client, "decisions-staff@example.org")
    sent = submit_form(staff_client, f"/staff/calls/{decided_call_id}/decisions/send", {}, follow_redirects=True)
    assert sent.status_code == 200 and f"{DECISIONS} decision emails are queued" in sent.get_data(as_text=True)
    assert pages == [200] * SUBMISSIONS
    assert stage.smtp.messages == []  # nothing could be handed to the worker while the broker was down

    with stage.app.app_context():  # everything is stored, whole, before any email goes
        submitted = db.session.scalars(select(Application.reference).where(
            Application.call_id == open_call_id, Application.status == ApplicationStatus.SUBMITTED)).all()
        assert sorted(submitted) == [f"DRL-2027-{n:05d}" for n in range(1, SUBMISSIONS + 1)]
        assert db.session.scalar(select(func.count()).select_from(Decision)
                                 .where(Decision.sent_at.is_(None))) == 0
        assert db.session.scalar(select(func.count()).select_from(Offer)) == DECISIONS // 3
        queued = db.session.scalar(select(func.count()).select_from(OutboxMessage)) or 0
    assert queued == SUBMISSIONS + DECISIONS

    stage.redis.start()  # same port, empty, as after a crash: the outbox is what remembers
    wait_until(lambda: stage.outbox()[MessageStatus.SENT] == queued, timeout=90,
               message=f"not all sent after Redis returned: {stage.outbox()}")
    counts = stage.delivery_counts(queued)
    report_proof("Redis stopped during submissions and decisions", **counts, submissions_stored=len(submitted),
                 decisions_sent=DECISIONS)
    assert counts == {"queued": queued, "delivered": queued, "duplicated": 0, "lost": 0}
