"""In real browsers: changing the password, or "log out of all devices", logs out every other browser of the
account, both one holding its session cookie and one holding nothing but the "keep me logged in" cookie."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from fellowship.extensions import db
from tests.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.browser]

EMAIL = "wanjiru@example.org"
NEW_PASSWORD = "acacia-monsoon-harbour-58"
REMEMBER = "remember_token"


@pytest.fixture
def contexts(browser: Any) -> Iterator[Any]:
    """New, separate browser contexts (each like its own device); all closed at the end."""
    opened: list[Any] = []

    def new_context(cookies: list[dict[str, Any]] | None = None) -> Any:
        context = browser.new_context(viewport={"width": 390, "height": 844})
        context.set_default_timeout(15000)
        if cookies:
            context.add_cookies(cookies)
        opened.append(context)
        return context

    yield new_context
    for context in opened:
        context.close()


def log_in_remembered(context: Any, live_server: str, password: str) -> Any:
    page = context.new_page()
    page.goto(f"{live_server}/auth/login")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(password)
    page.get_by_label("Keep me logged in on this device").check()
    page.get_by_role("button", name="Log in").click()
    assert "Welcome" in page.locator(".flashes").inner_text()
    return page


def remember_cookie(context: Any) -> list[dict[str, Any]]:
    cookies = [c for c in context.cookies() if c["name"] == REMEMBER]
    assert len(cookies) == 1, "no remember cookie after logging in with 'Keep me logged in'"
    assert {c["name"] for c in context.cookies()} == {"session", REMEMBER}
    return cookies


def logged_in(context: Any, live_server: str) -> bool:
    page = context.pages[0] if context.pages else context.new_page()
    page.goto(f"{live_server}/auth/profile")
    return page.url.endswith("/auth/profile")


def test_changing_the_password_logs_out_every_other_browser_and_remember_cookie(live_server, contexts, app):
    with app.app_context():
        UserFactory(email=EMAIL, full_name="Grace Wanjiru")
        db.session.remove()
    mine = contexts()
    page = log_in_remembered(mine, live_server, PASSWORD)
    other = contexts()
    log_in_remembered(other, live_server, PASSWORD)
    copied = remember_cookie(other)
    assert logged_in(contexts(copied), live_server)  # the copied cookie alone logs in, before the change

    page.goto(f"{live_server}/auth/password")
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Repeat new password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    assert "Your password is changed" in page.locator(".flashes").inner_text()

    assert logged_in(mine, live_server)  # the browser that changed it stays logged in
    assert not logged_in(other, live_server)  # session cookie (and its remember cookie)
    only_cookie = contexts(copied)
    assert not logged_in(only_cookie, live_server)  # nothing but the remember cookie
    assert REMEMBER not in {c["name"] for c in only_cookie.cookies()}  # and the dead cookie is deleted


def test_log_out_of_all_devices_logs_out_every_browser_and_remember_cookie(live_server, contexts, app):
    with app.app_context():
        UserFactory(email=EMAIL, full_name="Grace Wanjiru")
        db.session.remove()
    mine = contexts()
    page = log_in_remembered(mine, live_server, PASSWORD)
    other = contexts()
    log_in_remembered(other, live_server, PASSWORD)
    copied = remember_cookie(other)
    assert logged_in(contexts(copied), live_server)

    page.goto(f"{live_server}/auth/profile")
    page.get_by_role("button", name="Log out of all devices").click()
    assert "You are logged out on all your devices" in page.locator(".flashes").inner_text()
    assert page.url.endswith("/auth/login")

    assert not logged_in(mine, live_server)
    assert REMEMBER not in {c["name"] for c in mine.cookies()}
    assert not logged_in(other, live_server)
    only_cookie = contexts(copied)
    assert not logged_in(only_cookie, live_server)
    assert REMEMBER not in {c["name"] for c in only_cookie.cookies()}
