"""The admin's accounts page in a real browser (issue 16): the account buttons submit the page's one shared form
(form + formaction attributes, no JavaScript needed) and each is named with the account it acts on."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from fellowship.auth.models import Role, User
from fellowship.extensions import db
from tests.browser.test_safe_actions_journey import log_in
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser]


def test_deactivating_and_reactivating_from_the_accounts_page_through_the_shared_form(live_server, browser, app_ctx):
    admin = UserFactory(roles=[Role.ADMIN], full_name="Ada Admin")
    UserFactory(roles=[Role.REVIEWER], full_name="Rin Reviewer", email="rin@example.org")
    admin_email = admin.email
    db.session.commit()
    db.session.remove()
    context, page = log_in(browser, live_server, admin_email, width=1280)
    page.goto(f"{live_server}/admin/users")
    page.get_by_role("button", name="Deactivate Rin Reviewer").click()
    assert "Rin Reviewer" in page.locator(".flashes").inner_text()
    assert db.session.scalars(select(User).where(User.email == "rin@example.org")).one().is_active_account is False
    page.get_by_role("button", name="Reactivate Rin Reviewer").click()
    page.locator(".flashes").wait_for()
    db.session.expire_all()
    assert db.session.scalars(select(User).where(User.email == "rin@example.org")).one().is_active_account is True
    context.close()
