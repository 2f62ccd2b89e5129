"""A person registers, confirms the emailed link and logs in, in a real browser."""

from __future__ import annotations

import pytest

from tests.servers import text_body

pytestmark = [pytest.mark.browser, pytest.mark.worker]


def test_register_confirm_and_log_in_through_the_real_pages(live_server, page, worker, smtp_server, artifacts_dir):
    page.goto(f"{live_server}/")
    page.get_by_role("link", name="Create an account").click()

    page.get_by_label("Full name").fill("Grace Wanjiru")
    page.get_by_label("Email").fill("grace@example.org")
    page.get_by_label("Password", exact=True).fill("weak")
    page.get_by_label("Repeat password").fill("weak")
    page.get_by_role("button", name="Create account").click()
    assert "Use at least 8 characters" in page.locator("#password-error").inner_text()

    page.get_by_label("Password", exact=True).fill("baobab-sunrise-lake-27")
    page.get_by_label("Repeat password").fill("baobab-sunrise-lake-27")
    page.get_by_role("button", name="Create account").click()
    page.get_by_role("heading", name="Check your email").wait_for()

    [email] = smtp_server.wait_for(1, recipient="grace@example.org")
    link = next(word for word in text_body(email).split() if "/auth/confirm/" in word)
    page.goto(live_server + link.removeprefix("http://localhost"))
    assert "Your email address is confirmed" in page.locator(".flashes").inner_text()

    page.get_by_label("Email").fill("grace@example.org")
    page.get_by_label("Password").fill("baobab-sunrise-lake-27")
    page.get_by_role("button", name="Log in").click()
    assert "Welcome, Grace Wanjiru." in page.locator(".flashes").inner_text()
    assert page.locator('nav a[href="/auth/profile"]').text_content() == "Grace Wanjiru"  # the nav names who is in
    page.screenshot(path=str(artifacts_dir / "account-journey.png"))  # for a person to look at

