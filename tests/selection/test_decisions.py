"""Decisions recorded, confirmed and sent in bulk through the outbox; offers answered by applicants."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select

from fellowship.applications.models import Application, ApplicationStatus
from fellowship.audit.models import AuditEntry
from fellowship.auth.models import Role, User
from fellowship.extensions import db
from fellowship.models import utcnow
from fellowship.notifications.models import MessageStatus, OutboxMessage
from fellowship.selection import decisions
from fellowship.selection.models import Decision, DecisionOutcome, Offer, OfferStatus
from tests.applications.helpers import owner_email
from tests.conftest import login, submit_form
from tests.factories import CallFactory, UserFactory, submitted_application


def test_recorded_decisions_are_not_sent_until_staff_confirm(client, app_ctx):
    call = CallFactory()
    chosen, other = submitted_application(call), submitted_application(call)
    staff = UserFactory(roles=[Role.STAFF])
    login(client, staff.email)
    response = submit_form(client, f"/staff/applications/{chosen.id}/decision",
                           {"outcome": "accept", "reason": "Top of the ranking."}, follow_redirects=True)
    assert "It is sent when you confirm." in response.get_data(as_text=True)
    refused = submit_form(client, f"/staff/applications/{other.id}/decision", {"outcome": "reject", "reason": ""})
    assert "Give a reason." in refused.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0

    confirm = client.get(f"/staff/calls/{call.id}/decisions/send").get_data(as_text=True)
    assert "1 accepted" in confirm and "Send 1 decision" in confirm
    sent = submit_form(client, f"/staff/calls/{call.id}/decisions/send", {}, follow_redirects=True)
    assert "0 of 1 email sent, 1 waiting" in sent.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Application, chosen.id).status is ApplicationStatus.ACCEPTED
    assert db.session.scalars(select(Offer.application_id)).all() == [chosen.id]
    audit = db.session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("selection.%"))).all()
    assert audit == ["selection.decision_recorded", "selection.decisions_sent"]


def test_a_sent_decision_cannot_change_and_sending_twice_queues_nothing_more(app_ctx):
    call = CallFactory()
    application = submitted_application(call)
    staff = UserFactory(roles=[Role.STAFF])
    decisions.record_decision(application, DecisionOutcome.REJECT, "Below the line.", staff)
    decisions.send_decisions(call, staff)
    db.session.commit()
    assert decisions.send_decisions(call, staff)[1] == 0
    with pytest.raises(Exception, match="already been sent"):
        decisions.record_decision(application, DecisionOutcome.ACCEPT, "Changed my mind.", staff)
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


def test_the_applicant_accepts_the_offer_in_their_account(client, app_ctx):
    call = CallFactory()
    application = submitted_application(call)
    staff = UserFactory(roles=[Role.STAFF])
    decisions.record_decision(application, DecisionOutcome.ACCEPT, "Selected.", staff)
    decisions.send_decisions(call, staff)
    db.session.commit()

    login(client, owner_email(application))
    page = client.get(f"/applications/{application.id}").get_data(as_text=True)
    assert "you are offered a place" in page
    response = submit_form(client, f"/applications/{application.id}/offer/accept", {},
                           page=f"/applications/{application.id}", follow_redirects=True)
    assert "You accepted the offer." in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Application, application.id).status is ApplicationStatus.OFFER_ACCEPTED
    offer = db.session.scalars(select(Offer)).one()
    assert offer.status is OfferStatus.ACCEPTED and offer.responded_at is not None
    again = submit_form(client, f"/applications/{application.id}/offer/decline", {},
                        page=f"/applications/{application.id}", follow_redirects=True)
    assert "You already answered this offer: you accepted it." in again.get_data(as_text=True)


def test_another_applicant_cannot_answer_someone_else_s_offer(client, app_ctx):
    call = CallFactory()
    application = submitted_application(call)
    decisions.record_decision(application, DecisionOutcome.ACCEPT, "Selected.", None)
    decisions.send_decisions(call, UserFactory(roles=[Role.STAFF]))
    db.session.commit()
    login(client, UserFactory().email)
    response = submit_form(client, f"/applications/{application.id}/offer/accept", {}, page="/applications/")
    assert response.status_code == 404
    db.session.expire_all()
    assert db.session.scalars(select(Offer.status)).one() is OfferStatus.PENDING


def test_an_offer_cannot_be_answered_after_its_deadline(app_ctx):
    call = CallFactory()
    application = submitted_application(call)
    decisions.record_decision(application, DecisionOutcome.ACCEPT, "Selected.", None)
    decisions.send_decisions(call, UserFactory(roles=[Role.STAFF]))
    offer = db.session.scalars(select(Offer)).one()
    offer.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    with pytest.raises(Exception, match="The time to answer this offer has passed."):
        decisions.respond_to_offer(application, accept=True)


def test_applicants_and_reviewers_cannot_reach_the_decision_pages(client, app_ctx):
    call = CallFactory()
    application = submitted_application(call)
    for role in (Role.APPLICANT, Role.REVIEWER):
        other = client.application.test_client()
        login(other, UserFactory(roles=[role]).email)
        for path in (f"/staff/calls/{call.id}/decisions", f"/staff/calls/{call.id}/decisions/send",
                     f"/staff/applications/{application.id}/decision"):
            assert other.get(path).status_code == 403, (role, path)


@pytest.mark.worker
def test_one_thousand_decisions_queue_one_thousand_emails_each_delivered_once(app_ctx, worker, smtp_server):
    call = CallFactory()
    staff = UserFactory(roles=[Role.STAFF])
    now = utcnow()
    db.session.execute(insert(User), [
        {"email": f"applicant{i}@example.org", "full_name": f"Applicant {i}", "password_hash": "x",
         "email_confirmed_at": now, "is_active_account": True} for i in range(1000)])
    user_ids = db.session.scalars(select(User.id).where(User.email.like("applicant%@example.org"))
                                  .order_by(User.id)).all()
    db.session.execute(insert(Application), [
        {"call_id": call.id, "applicant_id": uid, "status": ApplicationStatus.UNDER_REVIEW,
         "reference": f"ELF-2027-{i:05d}", "submitted_at": now, "given_name": "A", "family_name": str(i),
         "region": "Africa" if i % 2 else "Asia"} for i, uid in enumerate(user_ids, start=1)])
    app_ids = db.session.scalars(select(Application.id).where(Application.call_id == call.id)
                                 .order_by(Application.id)).all()
    outcomes = [DecisionOutcome.ACCEPT] * 10 + [DecisionOutcome.WAITLIST] * 40 + [DecisionOutcome.REJECT] * 950
    db.session.execute(insert(Decision), [
        {"call_id": call.id, "application_id": aid, "outcome": outcome, "reason": "Committee decision.",
         "waitlist_position": (i - 9) if outcome is DecisionOutcome.WAITLIST else None, "decided_at": now}
        for i, (aid, outcome) in enumerate(zip(app_ids, outcomes, strict=True))])
    db.session.commit()

    batch_key, queued = decisions.send_decisions(call, staff)
    db.session.commit()
    assert queued == 1000

    smtp_server.wait_for(1000, timeout=240)
    counts = Counter(m["Message-ID"] for m in smtp_server.messages)
    assert len(counts) == 1000 and max(counts.values()) == 1
    assert Counter(m["Subject"].split(":")[0] for m in smtp_server.messages)["You are offered a place"] == 10
    db.session.expire_all()
    progress = decisions.batch_progress(batch_key)
    assert progress == {"pending": 0, "sent": 1000, "failed": 0, "total": 1000}
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)
                             .where(OutboxMessage.status == MessageStatus.SENT)) == 1000


def test_staff_see_each_offers_answer_and_the_reason_given_for_a_decline_on_the_decisions_page(client, app_ctx):
    call = CallFactory()
    declining, pending = submitted_application(call), submitted_application(call)
    for application in (declining, pending):
        decisions.record_decision(application, DecisionOutcome.ACCEPT, "Selected.", None)
    decisions.send_decisions(call, UserFactory(roles=[Role.STAFF]))
    db.session.commit()
    decisions.respond_to_offer(declining, accept=False, decline_reason="A scholarship at home <b>came first</b>.")
    db.session.commit()
    login(client, UserFactory(roles=[Role.STAFF]).email)
    html = client.get(f"/staff/calls/{call.id}/decisions").get_data(as_text=True)
    assert "Declined: “A scholarship at home &lt;b&gt;came first&lt;/b&gt;.”" in html
    assert "Offer made, answer by" in html
