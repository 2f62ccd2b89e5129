"""Safe, explained actions in a real browser (issue 13 items 1-3): review and declare before submitting, a
confirmation page to decline an offer, the lock's warning by name, and recording from the proposal that leaves an
application with missing reviews undecided."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from fellowship.auth.models import Role
from fellowship.extensions import db
from tests.factories import PASSWORD, ApplicationFactory, CallFactory, UserFactory, submitted_application

pytestmark = [pytest.mark.browser]


def log_in(browser, live_server: str, email: str, width: int = 390):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    page.goto(f"{live_server}/auth/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.locator(".flashes").wait_for()
    return context, page


def test_the_review_page_shows_each_missing_item_and_blocks_a_submit_until_the_declarations_are_ticked(
        live_server, browser, app_ctx, artifacts_dir):
    from fellowship.applications.models import Application, ApplicationStatus, Referee
    from tests.applications.helpers import attach_required_documents, name_referees, owner_email
    from tests.factories import fill_answers

    application = ApplicationFactory(call=CallFactory(references_required=2, title="Environmental Leaders 2027"),
                                     motivation=None)
    name_referees(application, count=1)
    email, application_id = owner_email(application), application.id
    db.session.remove()

    context, page = log_in(browser, live_server, email)
    page.goto(f"{live_server}/applications/{application_id}")
    page.get_by_role("link", name="Review and submit").click()
    missing = page.locator("#missing-summary").inner_text()
    assert "Motivation: Motivation essay — This question needs an answer." in missing
    for kind in ("CV", "Academic transcript", "Passport page"):
        assert f"Documents: upload your {kind}" in missing
    assert "Referees: name 1 more referee (1 of 2 named)" in missing
    assert page.get_by_role("button", name="Submit application").count() == 0  # nothing to declare yet
    page.get_by_role("link", name="Motivation: Motivation essay — This question needs an answer.").click()
    assert page.url.endswith(f"/applications/{application_id}/sections/motivation#motivation")

    # The applicant completes the file; the review page then asks for the declarations.
    complete = db.session.get_one(Application, application_id)
    fill_answers(complete, {"motivation": "I want to protect rivers in my country. " * 30})
    db.session.commit()
    attach_required_documents(complete)
    db.session.add(Referee(application_id=application_id, name="Second Referee", email="second@example.org",
                           relation="Employer"))
    db.session.commit()
    db.session.remove()
    page.goto(f"{live_server}/applications/{application_id}/review")
    assert page.locator("#missing-summary").count() == 0
    page.get_by_role("link", name="privacy notice").first.wait_for()
    page.get_by_role("button", name="Submit application").click()  # nothing ticked
    errors = page.locator(".error-summary").inner_text()
    assert "Your application was not submitted" in errors
    assert "Tick this box to declare" in page.locator("#declare_true-error").inner_text()
    assert "privacy notice" in page.locator("#consent_privacy-error").inner_text()
    page.screenshot(path=str(artifacts_dir / "review-and-declare-refused.png"), full_page=True)
    db.session.expire_all()
    assert db.session.get_one(Application, application_id).status is ApplicationStatus.DRAFT

    page.get_by_label("The information in this application").check()
    page.get_by_role("button", name="Submit application").click()  # one still missing
    assert page.locator("#consent_privacy-error").count() == 1 and page.locator("#declare_true-error").count() == 0
    page.get_by_label("The information in this application").check()
    page.get_by_label("I consent to the programme processing").check()
    page.get_by_role("button", name="Submit application").click()
    assert "Your reference number is" in page.locator(".flashes").inner_text()
    db.session.expire_all()
    submitted = db.session.get_one(Application, application_id)
    assert submitted.status is ApplicationStatus.SUBMITTED and submitted.declared_at is not None
    context.close()


def test_declining_an_offer_needs_the_confirmation_page_and_records_the_reason(
        live_server, browser, app_ctx, artifacts_dir):
    from fellowship.selection import decisions
    from fellowship.selection.models import DecisionOutcome, Offer, OfferStatus
    from tests.applications.helpers import owner_email

    call = CallFactory(title="Environmental Leaders 2027")
    application = submitted_application(call)
    staff = UserFactory(roles=[Role.STAFF])
    decisions.record_decision(application, DecisionOutcome.ACCEPT, "Selected.", staff)
    decisions.send_decisions(call, staff)
    db.session.commit()
    email, application_id = owner_email(application), application.id
    db.session.remove()

    context, page = log_in(browser, live_server, email)
    page.goto(f"{live_server}/applications/{application_id}")
    offer_box = page.locator("section.card", has_text="Your offer").inner_text()
    assert "Offer made, answer by" in offer_box
    page.get_by_role("link", name="Decline the offer…").click()
    assert "This cannot be undone." in page.locator("main").inner_text()
    page.screenshot(path=str(artifacts_dir / "decline-offer-confirm.png"), full_page=True)
    db.session.expire_all()
    assert db.session.scalars(select(Offer.status)).one() is OfferStatus.PENDING  # only the page so far
    page.get_by_label("Why are you declining? (optional)").fill("I was offered a post at our environment ministry.")
    page.get_by_role("button", name="Decline the offer").click()
    assert "You declined the offer." in page.locator(".flashes").inner_text()
    assert "You declined this offer on" in page.locator("main").inner_text()
    db.session.expire_all()
    offer = db.session.scalars(select(Offer)).one()
    assert offer.status is OfferStatus.DECLINED
    assert offer.decline_reason == "I was offered a post at our environment ministry."
    context.close()


def test_locking_the_reviews_warns_with_the_names_of_proposed_applications_that_lack_reviews(
        live_server, browser, app_ctx, artifacts_dir):
    from fellowship.selection.models import ApplicationScore
    from tests.selection.test_safe_actions import quota_call

    call, apps = quota_call()
    db.session.get_one(ApplicationScore, apps["Asha"].id).review_count = 1  # proposed (rank 1), one review of two
    chair = UserFactory(roles=[Role.STAFF])
    db.session.commit()
    call_id, chair_email = call.id, chair.email
    db.session.remove()

    context, page = log_in(browser, live_server, chair_email, width=1280)
    page.goto(f"{live_server}/staff/calls/{call_id}/ranking")
    page.get_by_role("link", name="Lock the reviews…").click()
    warning = page.locator("#proposed-lacking").inner_text()
    assert "1 proposed application lacks reviews" in warning and "Asha Test: 1 submitted" in warning
    assert "Amani Test" not in warning  # proposed, fully reviewed
    page.screenshot(path=str(artifacts_dir / "lock-reviews-confirm.png"), full_page=True)
    page.get_by_role("button", name="Lock the reviews").click()
    assert "are locked" in page.locator(".flashes").inner_text()
    assert page.url.endswith(f"/staff/calls/{call_id}/ranking")
    context.close()


def test_recording_from_the_proposal_leaves_an_unreviewed_eligible_application_undecided(
        live_server, browser, app_ctx, artifacts_dir):
    from fellowship.selection.models import Decision
    from fellowship.selection.reviewing import lock_panel
    from tests.selection.test_safe_actions import quota_call

    call, apps = quota_call()
    chair = UserFactory(roles=[Role.STAFF])
    lock_panel(call, chair)
    db.session.commit()
    call_id, chair_email, chen_id = call.id, chair.email, apps["Chen"].id
    db.session.remove()

    context, page = log_in(browser, live_server, chair_email, width=1280)
    page.goto(f"{live_server}/staff/calls/{call_id}/decisions")
    page.get_by_label("How many to waitlist (by rank)").fill("1")
    page.get_by_role("button", name="Record decisions…").click()
    pending = page.locator("#needs-reviews-list").inner_text()
    assert "Chen Test: 0 of 2 reviews submitted" in pending and "Bola Test: 1 of 2 reviews submitted" in pending
    page.screenshot(path=str(artifacts_dir / "record-from-proposal-confirm.png"), full_page=True)
    page.get_by_role("button", name="Record 4 decisions").click()
    assert "2 applications not decided: they need reviews" in page.locator(".flashes").inner_text()
    undecided = page.locator("ul.undecided").inner_text()
    assert "Chen Test" in undecided and "not decided: needs reviews" in undecided
    db.session.expire_all()
    assert db.session.scalars(select(Decision).where(Decision.application_id == chen_id)).first() is None
    context.close()
