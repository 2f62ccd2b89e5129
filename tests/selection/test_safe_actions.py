"""Irreversible steps confirm and decisions never reject silently (issue 13 items 2-4), on the server."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

import fellowship
from fellowship.applications.models import Application, ApplicationStatus
from fellowship.auth.models import Role
from fellowship.calls.models import RegionalQuota
from fellowship.errors import DomainError
from fellowship.extensions import db
from fellowship.selection import decisions
from fellowship.selection.models import ApplicationScore, Decision, DecisionOutcome, Offer, OfferStatus
from fellowship.selection.reviewing import lock_panel, unlock_panel
from tests.applications.helpers import owner_email
from tests.conftest import login, submit_form
from tests.factories import CallFactory, UserFactory, submitted_application


def scored(call, name: str, region: str, nationality: str, score: str | None, reviews: int = 2) -> Application:
    application = submitted_application(call, region=region, nationality=nationality, given_name=name,
                                        family_name="Test")
    if score is not None:
        db.session.add(ApplicationScore(application_id=application.id, call_id=call.id, review_count=reviews,
                                        raw_mean=Decimal(score), normalised_mean=Decimal(score),
                                        spread=Decimal("0.5"), disagreement=False))
    db.session.commit()
    return application


def quota_call():  # type: ignore[no-untyped-def]
    """2 places, at least 50% for Africa, 2 reviews each: Asia ranks 1-3, Africa's best ranks 4; Bola (Africa) has
    one review of two and Chen (Asia) none: both lack reviews and the proposal leaves them out."""
    call = CallFactory(places=2, reviewers_per_application=2)
    call.quotas = [RegionalQuota(region="Africa", min_share_percent=50)]
    db.session.commit()
    apps = {"Asha": scored(call, "Asha", "Asia", "VN", "4.6"), "Binh": scored(call, "Binh", "Asia", "VN", "4.4"),
            "Chandra": scored(call, "Chandra", "Asia", "NP", "4.2"),
            "Amani": scored(call, "Amani", "Africa", "KE", "3.9"),
            "Bola": scored(call, "Bola", "Africa", "NG", "3.0", reviews=1),
            "Chen": scored(call, "Chen", "Asia", "BD", None)}
    return call, apps


def test_recording_from_the_proposal_leaves_an_application_with_missing_reviews_undecided(app_ctx):
    call, apps = quota_call()
    staff = UserFactory(roles=[Role.STAFF])
    lock_panel(call, staff)
    done = decisions.record_from_proposal(call, staff, waitlist_size=1)
    db.session.commit()
    assert done.recorded == 4
    assert {row.name for row in done.needs_reviews} == {"Bola Test", "Chen Test"}
    outcome = dict(db.session.execute(select(Decision.application_id, Decision.outcome)).all())
    assert apps["Bola"].id not in outcome and apps["Chen"].id not in outcome  # never rejected for a missing review
    assert outcome[apps["Asha"].id] is DecisionOutcome.ACCEPT and outcome[apps["Amani"].id] is DecisionOutcome.ACCEPT
    assert outcome[apps["Binh"].id] is DecisionOutcome.WAITLIST
    assert outcome[apps["Chandra"].id] is DecisionOutcome.REJECT
    assert [row.application_id for row in decisions.undecided(call)] == sorted(
        [apps["Bola"].id, apps["Chen"].id], key=lambda i: db.session.get_one(Application, i).reference or "")


def test_a_waitlisted_application_ranked_above_a_quota_pick_is_told_the_quota_decided(app_ctx):
    call, apps = quota_call()
    staff = UserFactory(roles=[Role.STAFF])
    lock_panel(call, staff)
    decisions.record_from_proposal(call, staff, waitlist_size=1)
    reason = dict(db.session.execute(select(Decision.application_id, Decision.reason)).all())
    assert reason[apps["Amani"].id] == "Selected: rank 4, to meet the Africa quota."
    assert reason[apps["Binh"].id] == ("Waitlist position 1 (rank 2). Ranked above a candidate selected for a quota "
                                       "seat (Africa): the quota, not the rank, decided.")
    assert reason[apps["Asha"].id] == "Selected: rank 1."


def test_the_recording_page_lists_who_is_not_decided_before_anything_is_recorded(client, app_ctx):
    call, _apps = quota_call()
    staff = UserFactory(roles=[Role.STAFF])
    lock_panel(call, staff)
    db.session.commit()
    login(client, staff.email)
    html = client.get(f"/staff/calls/{call.id}/decisions/from-proposal?waitlist_size=1").get_data(as_text=True)
    assert "Not decided: needs reviews" in html and "Bola Test: 1 of 2 reviews submitted" in html
    assert "Chen Test: 0 of 2 reviews submitted" in html
    assert db.session.scalars(select(Decision)).first() is None  # the GET changes nothing


def test_the_lock_page_names_the_proposed_applications_that_lack_reviews(client, app_ctx):
    call, apps = quota_call()
    # One proposed application (Asha, rank 1) has only one review of two.
    db.session.get_one(ApplicationScore, apps["Asha"].id).review_count = 1
    db.session.commit()
    staff = UserFactory(roles=[Role.STAFF])
    login(client, staff.email)
    html = client.get(f"/staff/calls/{call.id}/panel/lock").get_data(as_text=True)
    assert "1 proposed application lacks reviews" in html and "Asha Test: 1 submitted" in html
    assert "2 other applications lack" in html
    db.session.expire_all()
    assert db.session.get_one(type(call), call.id).panel_locked_at is None  # the GET locks nothing


def test_the_reviews_cannot_be_reopened_once_decisions_were_sent(client, app_ctx):
    call = CallFactory()
    application = submitted_application(call)
    staff = UserFactory(roles=[Role.STAFF])
    lock_panel(call, staff)
    decisions.record_decision(application, DecisionOutcome.ACCEPT, "Selected.", staff)
    decisions.send_decisions(call, staff)
    db.session.commit()
    with pytest.raises(DomainError, match="decisions based on them have already been sent"):
        unlock_panel(call, staff)
    db.session.rollback()

    login(client, staff.email)
    page = client.get(f"/staff/calls/{call.id}/decisions").get_data(as_text=True)
    assert "Reopen the reviews" not in page and "cannot be reopened" in page
    refused = submit_form(client, f"/staff/calls/{call.id}/panel/unlock", {"next": f"/staff/calls/{call.id}/decisions"},
                          page=f"/staff/calls/{call.id}/decisions", follow_redirects=True)
    assert "The reviews cannot be reopened: decisions based on them have already been sent." in refused.get_data(
        as_text=True)
    db.session.expire_all()
    assert db.session.get_one(type(call), call.id).panel_locked_at is not None


def test_declining_an_offer_goes_through_a_page_that_says_it_cannot_be_undone_and_keeps_the_reason(client, app_ctx):
    call = CallFactory()
    application = submitted_application(call)
    staff = UserFactory(roles=[Role.STAFF])
    decisions.record_decision(application, DecisionOutcome.ACCEPT, "Selected.", staff)
    decisions.send_decisions(call, staff)
    db.session.commit()
    login(client, owner_email(application))
    overview = client.get(f"/applications/{application.id}").get_data(as_text=True)
    assert "Offer made, answer by" in overview and "Accepted" not in overview
    confirm = client.get(f"/applications/{application.id}/offer/decline").get_data(as_text=True)
    assert "This cannot be undone." in confirm and "next applicant on the waiting list" in confirm
    db.session.expire_all()
    assert db.session.scalars(select(Offer.status)).one() is OfferStatus.PENDING  # the GET changes nothing
    submit_form(client, f"/applications/{application.id}/offer/decline", {"reason": "A job offer at home."},
                page=f"/applications/{application.id}/offer/decline")
    db.session.expire_all()
    offer = db.session.scalars(select(Offer)).one()
    assert offer.status is OfferStatus.DECLINED and offer.decline_reason == "A job offer at home."
    assert db.session.get_one(Application, application.id).status is ApplicationStatus.OFFER_DECLINED


def test_status_words_are_one_label_per_value_and_templates_never_show_raw_values():
    assert ApplicationStatus.ACCEPTED.label == "Offer made" and ApplicationStatus.OFFER_ACCEPTED.label == "Accepted"
    from fellowship.applications.models import Sector
    from fellowship.fellows.models import FellowStatus

    assert (Sector.NGO.label, FellowStatus.IN_JAPAN.label, FellowStatus.PRE_ARRIVAL.label) == (
        "NGO / civil society", "In Japan", "Pre-arrival")
    shown = re.compile(r"\{\{[^}]*\b(status|outcome|sector|gender|kind|level|role|r)\.value\b[^}]*\}\}")
    root = Path(fellowship.__file__).parent / "templates"
    offenders = [f"{path.relative_to(root)}:{n}" for path in root.rglob("*.html")
                 for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
                 for match in shown.finditer(line)
                 if not re.search(r'(=|value=")\s*"?\s*$', line[:match.start()]) and "url_for" not in match.group(0)
                 and "title" not in match.group(0)]
    assert offenders == []
