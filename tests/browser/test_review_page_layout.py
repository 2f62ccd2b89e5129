"""The reviewer's page on a wide screen: the application and the score form side by side, the form staying in view
while the reviewer reads on; stacked on a phone."""

from __future__ import annotations

import pytest

from tests.selection.test_reviewing import page_of, setup_review

pytestmark = [pytest.mark.browser]


def test_the_application_and_the_score_form_sit_side_by_side_on_a_wide_screen_and_stack_on_a_phone(
        app, live_server, browser):
    from fellowship.extensions import db
    from tests.factories import PASSWORD

    with app.app_context():
        _call, _criteria, _application, (kenji,), (assignment,) = setup_review()
        email, path = kenji.email, page_of(assignment)
        db.session.remove()
    for width, side_by_side in ((1280, True), (390, False)):
        context = browser.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        page.goto(f"{live_server}/auth/login")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.goto(live_server + path)
        reading = page.locator(".review-reading").bounding_box()
        form = page.locator(".review-form").bounding_box()
        assert reading and form
        if side_by_side:
            assert form["x"] >= reading["x"] + reading["width"] and form["y"] < reading["y"] + 50
            page.mouse.wheel(0, 2000)  # reading on: the form stays in view
            page.wait_for_timeout(200)
            assert page.locator(".review-form").bounding_box()["y"] < 100
        else:
            assert form["y"] >= reading["y"] + reading["height"] - 1
        context.close()
