"""Offers declined or expired free a place; the next waitlisted candidate by rank gets it, quotas kept."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from fellowship.applications.models import Application, ApplicationStatus
from fellowship.auth.models import Role
from fellowship.calls.models import RegionalQuota
from fellowship.errors import DomainError
from fellowship.extensions import db
from fellowship.models import utcnow
from fellowship.notifications.models import OutboxMessage
from fellowship.selection import decisions
from fellowship.selection.models import ApplicationScore, Decision, DecisionOutcome, Offer, OfferStatus
from fellowship.selection.reviewing import lock_panel
from tests.factories import CallFactory, UserFactory, submitted_application


def worked_example():  # type: ignore[no-untyped-def]
    """2 places, at least 50% for Africa (1 seat).

    rank  application  region  normalised
      1   africa_1     Africa  4.6   -> selected
      2   asia_1       Asia    4.4   -> selected
      3   asia_2       Asia    4.1   -> waitlist 1
      4   africa_2     Africa  3.9   -> waitlist 2
      5   asia_3       Asia    3.0   -> rejected (waitlist size 2)
    """
    call = CallFactory(places=2)
    call.quotas = [RegionalQuota(region="Africa", min_share_percent=50)]
    db.session.commit()
    people = {}
    for name, region, nationality, score in (("africa_1", "Africa", "KE", "4.6"), ("asia_1", "Asia", "VN", "4.4"),
                                             ("asia_2", "Asia", "BD", "4.1"), ("africa_2", "Africa", "GH", "3.9"),
                                             ("asia_3", "Asia", "NP", "3.0")):
        application = submitted_application(call, region=region, nationality=nationality)
        db.session.add(ApplicationScore(application_id=application.id, call_id=call.id, review_count=3,
                                        raw_mean=Decimal(score), normalised_mean=Decimal(score), spread=Decimal("0.5"),
                                        disagreement=False))
        people[name] = application.id
    db.session.commit()
    staff = UserFactory(roles=[Role.STAFF])
    lock_panel(call, staff)
    assert decisions.record_from_proposal(call, staff, waitlist_size=2).recorded == 5
    decisions.send_decisions(call, staff)
    db.session.commit()
    return call, people


def status(application_id: int) -> ApplicationStatus:
    db.session.expire_all()
    return db.session.get_one(Application, application_id).status


def test_decisions_from_the_proposal_follow_rank_and_quota(app_ctx):
    _call, people = worked_example()
    outcomes = dict(db.session.execute(select(Decision.application_id, Decision.outcome)).all())
    positions = dict(db.session.execute(select(Decision.application_id, Decision.waitlist_position)).all())
    assert outcomes[people["africa_1"]] is DecisionOutcome.ACCEPT
    assert outcomes[people["asia_1"]] is DecisionOutcome.ACCEPT
    assert (outcomes[people["asia_2"]], positions[people["asia_2"]]) == (DecisionOutcome.WAITLIST, 1)
    assert (outcomes[people["africa_2"]], positions[people["africa_2"]]) == (DecisionOutcome.WAITLIST, 2)
    assert outcomes[people["asia_3"]] is DecisionOutcome.REJECT


def test_a_declined_place_from_the_quota_region_goes_to_the_best_waitlisted_from_that_region(app_ctx):
    _call, people = worked_example()
    africa_1 = db.session.get_one(Application, people["africa_1"])
    decisions.respond_to_offer(africa_1, accept=False)
    db.session.commit()
    # asia_2 is first on the waitlist, but giving the place to Asia would leave Africa below its 50%.
    assert status(people["africa_2"]) is ApplicationStatus.ACCEPTED
    assert status(people["asia_2"]) is ApplicationStatus.WAITLISTED
    promoted_offer = db.session.scalars(select(Offer).where(Offer.application_id == people["africa_2"])).one()
    assert promoted_offer.status is OfferStatus.PENDING and promoted_offer.promoted_from_offer_id is not None
    promoted_email = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.template == "selection/offer_promoted")).one()
    assert promoted_email.subject.startswith("A place is free for you")


def test_an_expired_offer_not_needed_for_a_quota_goes_to_the_first_on_the_waitlist(app_ctx):
    _call, people = worked_example()
    offer = db.session.scalars(select(Offer).where(Offer.application_id == people["asia_1"])).one()
    offer.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert decisions.expire_offers() == 1
    db.session.commit()
    assert status(people["asia_1"]) is ApplicationStatus.OFFER_DECLINED
    assert status(people["asia_2"]) is ApplicationStatus.ACCEPTED
    assert status(people["africa_2"]) is ApplicationStatus.WAITLISTED
    assert decisions.expire_offers() == 0  # the job again: nothing more


def test_with_the_waitlist_empty_a_freed_place_stays_free(app_ctx):
    call = CallFactory(places=1)
    application = submitted_application(call)
    staff = UserFactory(roles=[Role.STAFF])
    decisions.record_decision(application, DecisionOutcome.ACCEPT, "Selected.", staff)
    decisions.send_decisions(call, staff)
    decisions.respond_to_offer(application, accept=False)
    db.session.commit()
    assert db.session.scalars(select(Offer.status)).all() == [OfferStatus.DECLINED]


def test_decisions_need_the_panel_locked_first(app_ctx):
    call = CallFactory()
    submitted_application(call)
    with pytest.raises(DomainError, match="Lock the panel"):
        decisions.record_from_proposal(call, UserFactory(roles=[Role.STAFF]), waitlist_size=1)
