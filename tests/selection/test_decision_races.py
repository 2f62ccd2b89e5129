"""Recording and sending decisions while another request does the same: each decision is sent once, as recorded.

Real requests and jobs, each with its own database connection (tests/races.py).
"""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select

from fellowship.applications.models import Application, ApplicationStatus
from fellowship.auth.models import Role, User
from fellowship.calls.models import Call
from fellowship.errors import DomainError
from fellowship.extensions import db
from fellowship.notifications.models import OutboxMessage
from fellowship.selection import decisions
from fellowship.selection.models import Decision, DecisionOutcome, Offer
from tests.applications.helpers import owner_email
from tests.factories import CallFactory, UserFactory, submitted_application
from tests.races import at_once, count, signed_in_clients, while_held

YEARS = itertools.count(2200)


def recorded_call(accepted: int, rejected: int) -> tuple[Call, User, list[int]]:
    """A call with decisions recorded but not sent; returns it, the chair, and the applications (accepted first)."""
    call = CallFactory(places=accepted, year=next(YEARS))
    staff = UserFactory(roles=[Role.STAFF])
    applications = [submitted_application(call) for _ in range(accepted + rejected)]
    for i, application in enumerate(applications):
        decisions.record_decision(application, DecisionOutcome.ACCEPT if i < accepted else DecisionOutcome.REJECT,
                                  "Chosen." if i < accepted else "Not this year.", staff)
    db.session.commit()
    return call, staff, [a.id for a in applications]


def test_two_chairs_sending_the_decisions_at_once_send_each_once(app, app_ctx):
    call, staff, ids = recorded_call(accepted=2, rejected=2)
    clients = [signed_in_clients(app, staff.email, 1, f"/staff/calls/{call.id}/decisions/send") for _ in range(2)]
    url = f"/staff/calls/{call.id}/decisions/send"
    results = at_once([lambda c=c, t=t: c[0].post(url, data={"csrf_token": t}) for c, t in clients])
    assert [getattr(r, "status_code", r) for r in results] == [302, 302], results
    assert count(Offer, Offer.call_id == call.id) == 2
    assert count(Decision, Decision.call_id == call.id, Decision.sent_at.is_(None)) == 0
    assert count(OutboxMessage, OutboxMessage.dedupe_key.like("decision:%")) == 4
    statuses = db.session.scalars(select(Application.status).where(Application.id.in_(ids))
                                  .order_by(Application.id)).all()
    assert statuses == [ApplicationStatus.ACCEPTED] * 2 + [ApplicationStatus.REJECTED] * 2


def test_a_decision_changed_while_it_is_being_sent_is_refused_not_changed_after_its_email(app, app_ctx):
    call, staff, ids = recorded_call(accepted=1, rejected=0)
    staff_id = staff.id

    def send() -> int:
        return decisions.send_decisions(db.session.get_one(Call, call.id), db.session.get_one(User, staff_id))[1]

    def change() -> str:
        with app.app_context():
            try:
                decisions.record_decision(db.session.get_one(Application, ids[0]), DecisionOutcome.REJECT,
                                          "Changed my mind.", db.session.get_one(User, staff_id))
                db.session.commit()
                return "changed"
            except DomainError as exc:
                db.session.rollback()
                return str(exc)
            finally:
                db.session.remove()

    queued, changed = while_held(app, send, change)
    assert queued == 1
    assert changed == "This decision has already been sent and cannot be changed."
    db.session.expire_all()
    decision = db.session.scalars(select(Decision).where(Decision.application_id == ids[0])).one()
    assert decision.outcome is DecisionOutcome.ACCEPT and decision.sent_at is not None
    assert db.session.get_one(Application, ids[0]).status is ApplicationStatus.ACCEPTED


def test_an_application_withdrawn_before_the_send_gets_no_decision_email_or_offer(app, app_ctx):
    from fellowship.applications import services

    call, staff, ids = recorded_call(accepted=1, rejected=1)
    services.withdraw_application(db.session.get_one(Application, ids[0]))
    db.session.commit()
    _batch, queued = decisions.send_decisions(call, staff)
    db.session.commit()
    assert queued == 1  # the rejected one only
    assert count(Offer) == 0
    assert db.session.get_one(Application, ids[0]).status is ApplicationStatus.WITHDRAWN
    recipients = db.session.scalars(select(OutboxMessage.recipient)
                                    .where(OutboxMessage.dedupe_key.like("decision:%"))).all()
    assert recipients == [owner_email(db.session.get_one(Application, ids[1]))]


@pytest.mark.parametrize("outcome", [DecisionOutcome.ACCEPT, DecisionOutcome.REJECT])
def test_a_sent_decision_cannot_be_changed(app_ctx, outcome):
    call, staff, ids = recorded_call(accepted=1, rejected=0)
    decisions.send_decisions(call, staff)
    db.session.commit()
    with pytest.raises(DomainError, match="already been sent"):
        decisions.record_decision(db.session.get_one(Application, ids[0]), outcome, "Again.", staff)
