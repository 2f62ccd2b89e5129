"""A reviewer scores an application, the chair ranks and decides, the applicant accepts the offer."""

from __future__ import annotations

import pytest

from fellowship.auth.models import Role
from tests.factories import PASSWORD, CallFactory, UserFactory, submitted_application
from tests.selection.factories import AssignmentFactory, add_rubric, panel_reviewer
from tests.servers import text_body

pytestmark = [pytest.mark.browser, pytest.mark.worker]


def log_in(page, live_server: str, email: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{live_server}/auth/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.locator(".flashes").wait_for()


def test_reviewer_scores_chair_ranks_and_decides_applicant_accepts(
        live_server, browser, worker, smtp_server, app_ctx, artifacts_dir):
    call = CallFactory(title="Environmental Leaders 2027", places=1, reviewers_per_application=1)
    add_rubric(call, 1, 3)
    applicant = UserFactory(email="kofi@example.org", full_name="Kofi Mensah")
    application = submitted_application(call, applicant=applicant, given_name="Kofi", family_name="Mensah",
                                        nationality="GH", region="Africa")
    reviewer = panel_reviewer(call, email="rev@example.org")
    AssignmentFactory(application=application, reviewer_id=reviewer.id)
    chair = UserFactory(email="chair@example.org", roles=[Role.STAFF])

    # The reviewer scores against the rubric.
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(15000)
    log_in(page, live_server, reviewer.email)
    page.locator(".menu > summary").click()  # on a phone the menu opens from its button
    page.get_by_role("link", name="My reviews", exact=True).click()
    page.get_by_role("link", name=application.reference).click()
    for fieldset in page.locator("fieldset:has(legend)").all():
        if fieldset.locator("input[type=radio]").count() == 5:
            fieldset.locator("input[type=radio]").nth(3).check()  # a score of 4 on each criterion
    page.get_by_label("Recommendation").select_option("support")
    page.get_by_label("Comment").fill("A strong water-management leader.")
    page.get_by_role("button", name="Submit review").click()
    assert "submitted" in page.locator(".flashes").inner_text().lower()
    context.close()

    # The chair locks the reviews, reads the ranking, records and sends the decisions.
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    log_in(page, live_server, chair.email)
    page.goto(f"{live_server}/staff/calls/{call.id}/ranking")
    page.get_by_role("link", name="Lock the reviews…").click()
    page.get_by_role("button", name="Lock the reviews").click()
    ranking = page.locator("main").inner_text()
    assert application.reference in ranking and "4.00" in ranking
    page.screenshot(path=str(artifacts_dir / "ranking.png"), full_page=True)
    # On a phone the wide table scrolls inside its own box; the page itself does not slide sideways.
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    page.evaluate("window.scrollTo(2000, 0)")
    assert page.evaluate("window.scrollX") == 0
    page.set_viewport_size({"width": 1200, "height": 900})
    # The chair opens one row's adjustment form from its link and records an inclusion with a reason.
    page.get_by_role("link", name=f"Adjust… {application.reference}").click()
    page.get_by_label("Adjustment").select_option("include")
    page.get_by_label("Reason").fill("Leads the river basin council at home.")
    page.get_by_role("button", name=f"Adjust {application.reference}").click()
    assert "included in the selection" in page.locator(".flashes").inner_text()
    assert "Leads the river basin council at home." in page.locator(f"#row-{application.id}").inner_text()
    page.get_by_role("link", name="Reviewers' strictness").click()
    assert "Reviewers' strictness" in page.locator("h1").inner_text()
    page.go_back()
    page.get_by_role("link", name="Decisions").first.click()
    page.get_by_role("button", name="Record decisions…").click()
    page.get_by_role("button", name="Record 1 decision").click()
    assert "1 decision recorded from the proposal" in page.locator(".flashes").inner_text()
    page.get_by_role("link", name="Review and send 1 decision").click()
    page.get_by_role("button", name="Send 1 decision").click()
    page.wait_for_url("**/progress/**")
    context.close()

    # The applicant follows the emailed link and accepts the offer.
    [offer_email] = [m for m in smtp_server.wait_for(1, recipient=applicant.email, timeout=60)
                     if m["Subject"].startswith("You are offered a place")]
    link = next(word for word in text_body(offer_email).split() if "/applications/" in word)
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(15000)
    log_in(page, live_server, applicant.email)
    page.goto(live_server + link.removeprefix("http://localhost"))
    page.get_by_role("link", name="Accept the offer…").click()
    page.get_by_role("button", name="Accept the offer").click()
    assert "You accepted the offer." in page.locator(".flashes").inner_text()
    assert "Offer accepted" in page.locator("main").inner_text()
    page.screenshot(path=str(artifacts_dir / "offer-accepted.png"), full_page=True)
    context.close()
    smtp_server.wait_for(2, recipient=applicant.email, timeout=60)  # the confirmation of the answer
