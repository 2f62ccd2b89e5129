"""Answering an offer, expiring it and promoting from the waitlist, with real requests at the same moment.

Each thread has its own test client, so each request has its own app context, its own database session and
connection, as under gunicorn; a barrier releases them together. They run on SQLite too: there writers take
turns (the whole database is locked), but a check made before the write could still be stale, so the same
conditional writes have to decide.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from datetime import timedelta
from functools import partial

from flask.testing import FlaskClient
from sqlalchemy import select

from fellowship.applications.models import Application, ApplicationStatus
from fellowship.audit.models import AuditEntry
from fellowship.auth.models import Role
from fellowship.calls.models import Call
from fellowship.extensions import db
from fellowship.fellows.models import Fellow
from fellowship.models import utcnow
from fellowship.notifications.models import OutboxMessage
from fellowship.selection import decisions
from fellowship.selection.models import DecisionOutcome, Offer, OfferStatus
from tests.applications.helpers import owner_email
from tests.factories import CallFactory, UserFactory, submitted_application
from tests.races import at_once, count, signed_in_clients, while_held

YEARS = itertools.count(2100)
ACCEPTED_FLASH = "You accepted the offer"
DECLINED_FLASH = "You declined the offer"
ALREADY_FLASH = "already answered"


def offers_call(places: int, waitlisted: int) -> tuple[Call, list[int], list[int]]:
    """A call whose decisions are sent: `places` accepted applicants with pending offers, then a waitlist."""
    call = CallFactory(places=places, year=next(YEARS))  # a year each: reference numbers stay unique
    staff = UserFactory(roles=[Role.STAFF])
    accepted = [submitted_application(call) for _ in range(places)]
    waitlist = [submitted_application(call) for _ in range(waitlisted)]
    for application in accepted:
        decisions.record_decision(application, DecisionOutcome.ACCEPT, "Selected.", staff)
    for position, application in enumerate(waitlist, start=1):
        decisions.record_decision(application, DecisionOutcome.WAITLIST, "Waitlist.", staff,
                                  waitlist_position=position)
    decisions.send_decisions(call, staff)
    db.session.commit()
    return call, [a.id for a in accepted], [a.id for a in waitlist]


def answer(client: FlaskClient, application_id: int, what: str, token: str) -> tuple[int, str]:
    """POST the answer as the offer page's form does; the status code and the flashed message that follows."""
    response = client.post(f"/applications/{application_id}/offer/{what}", data={"csrf_token": token})
    if response.status_code != 302:
        return response.status_code, ""
    return response.status_code, client.get(response.location).get_data(as_text=True)


def withdraw(client: FlaskClient, application_id: int, token: str) -> tuple[int, str]:
    """POST the withdrawal form; the status code and the flashed message that follows."""
    response = client.post(f"/applications/{application_id}/withdraw", data={"csrf_token": token})
    return response.status_code, client.get(response.location).get_data(as_text=True)


def holding(call_id: int) -> int:
    """Applications holding a place: accepted (offer pending) or offer accepted."""
    return count(Application, Application.call_id == call_id,
                 Application.status.in_((ApplicationStatus.ACCEPTED, ApplicationStatus.OFFER_ACCEPTED)))


def emails(template: str) -> int:
    return count(OutboxMessage, OutboxMessage.template == template)


def audits(action: str) -> int:
    return count(AuditEntry, AuditEntry.action == action)


def test_answering_an_offer_twice_in_a_row_says_it_was_already_answered(app, app_ctx):
    call, accepted, _waitlist = offers_call(places=1, waitlisted=1)
    application_id = accepted[0]
    [client], token = signed_in_clients(app, owner_email(db.session.get_one(Application, application_id)), 1)
    assert ACCEPTED_FLASH in answer(client, application_id, "accept", token)[1]
    status, page = answer(client, application_id, "decline", token)
    assert status == 302 and ALREADY_FLASH in page and "accepted" in page
    assert emails("selection/offer_answered") == 1 and audits("selection.offer_declined") == 0
    assert count(Fellow) == 1 and emails("selection/offer_promoted") == 0 and holding(call.id) == 1


def test_six_accepts_of_one_offer_at_once_give_one_acceptance(app, app_ctx):
    call, accepted, _waitlist = offers_call(places=2, waitlisted=1)
    application_id = accepted[0]
    clients, token = signed_in_clients(app, owner_email(db.session.get_one(Application, application_id)), 6)
    results = at_once([lambda c=c: answer(c, application_id, "accept", token) for c in clients])
    assert all(isinstance(r, tuple) and r[0] == 302 for r in results), results
    pages = [page for _status, page in results]
    assert sum(ACCEPTED_FLASH in page for page in pages) == 1, pages
    assert sum(ALREADY_FLASH in page for page in pages) == 5, pages
    offer = db.session.scalars(select(Offer).where(Offer.application_id == application_id)).one()
    assert offer.status is OfferStatus.ACCEPTED
    assert emails("selection/offer_answered") == 1
    assert audits("selection.offer_accepted") == 1
    assert count(Fellow, Fellow.application_id == application_id) == 1
    assert count(AuditEntry, AuditEntry.action == "fellows.created") == 1
    assert holding(call.id) == 2 and emails("selection/offer_promoted") == 0


def test_accept_and_decline_at_once_end_consistent_and_never_exceed_the_places(app, app_ctx):
    outcomes = set()
    for _round in range(5):
        call, accepted, waitlist = offers_call(places=2, waitlisted=2)
        application_id = accepted[0]
        email = owner_email(db.session.get_one(Application, application_id))
        clients, token = signed_in_clients(app, email, 2)
        results = at_once([partial(answer, clients[0], application_id, "accept", token),
                           partial(answer, clients[1], application_id, "decline", token)])
        assert all(isinstance(r, tuple) and r[0] == 302 for r in results), results
        accept_page, decline_page = results[0][1], results[1][1]
        assert (ACCEPTED_FLASH in accept_page) != (DECLINED_FLASH in decline_page), results
        assert (ALREADY_FLASH in accept_page) != (ALREADY_FLASH in decline_page), results
        db.session.expire_all()
        offer = db.session.scalars(select(Offer).where(Offer.application_id == application_id)).one()
        fellows = count(Fellow, Fellow.application_id == application_id)
        promoted = count(Offer, Offer.call_id == call.id, Offer.promoted_from_offer_id.is_not(None))
        answered = count(OutboxMessage, OutboxMessage.template == "selection/offer_answered",
                         OutboxMessage.recipient == email)
        if offer.status is OfferStatus.ACCEPTED:
            assert (fellows, promoted, answered) == (1, 0, 1)
            assert db.session.get_one(Application, waitlist[0]).status is ApplicationStatus.WAITLISTED
        else:
            assert offer.status is OfferStatus.DECLINED
            assert (fellows, promoted, answered) == (0, 1, 1)
            assert db.session.get_one(Application, application_id).status is ApplicationStatus.OFFER_DECLINED
            assert db.session.get_one(Application, waitlist[0]).status is ApplicationStatus.ACCEPTED
        assert holding(call.id) <= call.places
        assert count(Offer, Offer.call_id == call.id, Offer.status.in_((OfferStatus.PENDING, OfferStatus.ACCEPTED))) \
            <= call.places
        outcomes.add(offer.status)
    assert outcomes <= {OfferStatus.ACCEPTED, OfferStatus.DECLINED}


def promoted_in(call_id: int) -> list[int]:
    db.session.expire_all()
    return list(db.session.scalars(select(Offer.application_id).where(
        Offer.call_id == call_id, Offer.promoted_from_offer_id.is_not(None)).order_by(Offer.application_id)))


def decline_by_service(application_id: int) -> Callable[[], OfferStatus]:
    def work() -> OfferStatus:
        return decisions.respond_to_offer(db.session.get_one(Application, application_id), accept=False).status
    return work


def test_a_decline_and_an_expiry_at_once_promote_two_different_candidates(app, app_ctx):
    call, accepted, waitlist = offers_call(places=2, waitlisted=3)
    declining, expiring = accepted
    expiring_offer = db.session.scalars(select(Offer).where(Offer.application_id == expiring)).one()
    expiring_offer.expires_at = utcnow()
    db.session.commit()

    def expire() -> int:
        with app.app_context():
            try:
                expired = decisions.expire_offers()
                db.session.commit()
                return expired
            finally:
                db.session.remove()

    declined, expired = while_held(app, decline_by_service(declining), expire)
    assert (declined, expired) == (OfferStatus.DECLINED, 1)
    assert promoted_in(call.id) == waitlist[:2]  # one freed place each, the first two waitlisted, nobody twice
    assert emails("selection/offer_promoted") == 2 and audits("selection.promoted") == 2
    assert db.session.get_one(Application, waitlist[2]).status is ApplicationStatus.WAITLISTED
    assert holding(call.id) == 2


def test_two_declines_at_once_in_one_call_promote_two_different_candidates(app, app_ctx):
    call, accepted, waitlist = offers_call(places=2, waitlisted=3)
    [client], token = signed_in_clients(app, owner_email(db.session.get_one(Application, accepted[1])), 1)
    declined, response = while_held(app, decline_by_service(accepted[0]),
                                    lambda: answer(client, accepted[1], "decline", token))
    assert declined is OfferStatus.DECLINED
    assert isinstance(response, tuple) and response[0] == 302 and DECLINED_FLASH in response[1], response
    assert promoted_in(call.id) == waitlist[:2]
    assert holding(call.id) == 2 and emails("selection/offer_promoted") == 2


def test_a_decline_while_an_expiry_of_the_same_offer_is_running_changes_nothing_more(app, app_ctx):
    call, accepted, waitlist = offers_call(places=1, waitlisted=2)
    offer = db.session.scalars(select(Offer).where(Offer.application_id == accepted[0])).one()
    offer.expires_at = utcnow() + timedelta(seconds=1)
    db.session.commit()
    [client], token = signed_in_clients(app, owner_email(db.session.get_one(Application, accepted[0])), 1)
    time.sleep(1.1)

    def expire() -> int:
        return decisions.expire_offers()

    expired, response = while_held(app, expire, lambda: answer(client, accepted[0], "decline", token))
    assert expired == 1
    assert isinstance(response, tuple) and response[0] == 302, response
    assert "passed" in response[1] or ALREADY_FLASH in response[1]
    assert promoted_in(call.id) == waitlist[:1] and holding(call.id) == 1
    assert audits("selection.offer_declined") == 0 and emails("selection/offer_answered") == 0


def test_accepting_and_withdrawing_at_once_do_not_both_happen(app, app_ctx):
    for _round in range(4):
        _call, accepted, _waitlist = offers_call(places=1, waitlisted=1)
        application_id = accepted[0]
        email = owner_email(db.session.get_one(Application, application_id))
        clients, token = signed_in_clients(app, email, 2)
        results = at_once([partial(answer, clients[0], application_id, "accept", token),
                           partial(withdraw, clients[1], application_id, token)])
        assert all(isinstance(r, tuple) and r[0] == 302 for r in results), results
        db.session.expire_all()
        application = db.session.get_one(Application, application_id)
        offer = db.session.scalars(select(Offer).where(Offer.application_id == application_id)).one()
        fellows = count(Fellow, Fellow.application_id == application_id)
        answered = count(OutboxMessage, OutboxMessage.template == "selection/offer_answered",
                         OutboxMessage.recipient == email)
        withdrawn = count(OutboxMessage, OutboxMessage.template == "applications/withdrawn",
                          OutboxMessage.recipient == email)
        if application.status is ApplicationStatus.OFFER_ACCEPTED:
            assert (offer.status, fellows, answered, withdrawn) == (OfferStatus.ACCEPTED, 1, 1, 0)
            assert "cannot be withdrawn" in results[1][1]
        else:
            assert application.status is ApplicationStatus.WITHDRAWN
            assert (offer.status, fellows, answered, withdrawn) == (OfferStatus.PENDING, 0, 0, 1)
            assert "can no longer be answered" in results[0][1]
