"""The accounts page stays light in every language (issue 16): a full page of accounts in Arabic, with its
stylesheet, fits the crawl's 150 KB first-view budget with room to spare, because the CSRF token is not repeated
for each account button and the rows carry no indentation or per-row sentences for screen readers."""

from __future__ import annotations

from pathlib import Path

import pytest

from fellowship.auth.models import Role
from fellowship.extensions import db
from tests.conftest import login
from tests.factories import UserFactory

STYLESHEET = Path(__file__).parents[2] / "fellowship" / "static" / "css" / "app.css"
BUDGET = 150 * 1024


@pytest.mark.parametrize("locale", ["en", "ar"])
def test_a_full_page_of_accounts_fits_the_first_view_budget_with_room_to_spare(app, app_ctx, locale):
    admin = UserFactory(roles=[Role.ADMIN], full_name="Ada Admin")
    for n in range(app.config["PER_PAGE"]):
        UserFactory(roles=[Role.REVIEWER, Role.STAFF][: 1 + n % 2], full_name=f"Reviewer Number {n:02d}")
    db.session.commit()
    client = app.test_client()
    login(client, admin.email)
    client.set_cookie("locale", locale)
    html = client.get("/admin/users").get_data(as_text=True)
    rows = html.count('<td data-label="') // 5
    assert rows == app.config["PER_PAGE"]
    # One token for the account buttons, then one per role form (grant, and revoke when the account has a role).
    table = html[html.index('<form id="account-actions"'):html.index("</tbody>")]
    assert table.count('name="csrf_token"') <= 2 * rows + 1
    assert 'form="account-actions"' in table and "aria-label=" not in table.split("<tbody>")[1]
    weight = len(html.encode()) + STYLESHEET.stat().st_size
    assert weight < BUDGET * 0.85, f"{weight / 1024:.0f} KB"
