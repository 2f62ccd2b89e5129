"""Sessions end with the password: a reset, a change, "log out of all devices" or a revoked role ends every session
and every "remember me" cookie opened before it; logging out deletes this browser's remember cookie."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from sqlalchemy import select

from fellowship.audit.models import AuditEntry
from fellowship.auth.models import Role, User
from fellowship.extensions import db
from tests.auth.test_accounts import STRONG, outbox_link
from tests.conftest import csrf_token_from, login, submit_form
from tests.factories import PASSWORD, UserFactory

REMEMBER = "remember_token"


def logged_in(client: FlaskClient) -> bool:
    """Whether the client's cookies still open a logged-in page."""
    return client.get("/auth/profile").status_code == 200


def remembered_on(client: FlaskClient, email: str, password: str = PASSWORD) -> tuple[FlaskClient, FlaskClient]:
    """`client` logged in with "remember me", and a second browser holding nothing but a copy of its remember
    cookie (as on a device where the session cookie has expired, or where the cookie was copied to)."""
    assert login(client, email, password, remember="y").status_code == 302
    cookie = client.get_cookie(REMEMBER)
    assert cookie is not None, "login with 'remember me' set no remember cookie"
    only_cookie = client.application.test_client()
    only_cookie.set_cookie(REMEMBER, cookie.value)
    return client, only_cookie


def post_from(client: FlaskClient, url: str, page: str = "/auth/profile", **data: str):
    token = csrf_token_from(client.get(page).get_data(as_text=True))
    return client.post(url, data={**data, "csrf_token": token})


def remember_cookie_deleted(response) -> bool:
    return any(c.startswith(f"{REMEMBER}=;") and "Expires=Thu, 01 Jan 1970" in c
               for c in response.headers.getlist("Set-Cookie"))


def test_a_remember_cookie_alone_logs_in_before_anything_ends_it(app, app_ctx):
    user = UserFactory()
    _, only_cookie = remembered_on(app.test_client(), user.email)
    assert logged_in(only_cookie)


def test_a_password_reset_logs_out_every_session_and_remember_cookie(app, app_ctx):
    user = UserFactory(email="kwame@example.org")
    elsewhere, only_cookie = remembered_on(app.test_client(), user.email)

    resetting = app.test_client()
    submit_form(resetting, "/auth/forgot", {"email": user.email})
    assert submit_form(resetting, outbox_link(user.email, "auth/reset_password"),
                       {"password": STRONG, "confirm": STRONG}).status_code == 302

    assert not logged_in(elsewhere)
    assert not logged_in(only_cookie)
    assert login(app.test_client(), user.email, STRONG).status_code == 302


def test_changing_the_password_keeps_this_browser_logged_in_and_logs_out_every_other(app, app_ctx):
    user = UserFactory()
    elsewhere, only_cookie = remembered_on(app.test_client(), user.email)
    here, here_cookie_only = remembered_on(app.test_client(), user.email)

    changed = submit_form(here, "/auth/password", {"current_password": PASSWORD, "password": STRONG,
                                                   "confirm": STRONG})
    assert changed.status_code == 302
    assert logged_in(here)
    assert not logged_in(elsewhere)
    assert not logged_in(only_cookie)
    assert not logged_in(here_cookie_only)  # the old remember cookie of this browser too...
    fresh_copy = app.test_client()  # ...but this browser was given a new one, which works
    fresh_copy.set_cookie(REMEMBER, here.get_cookie(REMEMBER).value)
    assert logged_in(fresh_copy)


def test_log_out_of_all_devices_ends_every_session_and_remember_cookie(app, app_ctx):
    user = UserFactory()
    elsewhere, only_cookie = remembered_on(app.test_client(), user.email)
    here = app.test_client()
    login(here, user.email)
    profile = here.get("/auth/profile").get_data(as_text=True)
    assert re.search(r'<form[^>]+action="/auth/logout-everywhere"', profile)

    response = post_from(here, "/auth/logout-everywhere")
    assert response.status_code == 302 and response.location.endswith("/auth/login")
    assert "You are logged out on all your devices" in here.get(response.location).get_data(as_text=True)
    assert not logged_in(here)
    assert not logged_in(elsewhere)
    assert not logged_in(only_cookie)
    assert db.session.scalar(select(AuditEntry.action).where(AuditEntry.object_id == user.id)) \
        == "auth.logged_out_everywhere"


def test_an_old_remember_cookie_fails_after_log_out_of_all_devices_even_after_logging_in_again(app, app_ctx):
    user = UserFactory()
    _, old_cookie = remembered_on(app.test_client(), user.email)
    old_value = old_cookie.get_cookie(REMEMBER).value
    here = app.test_client()
    login(here, user.email)
    post_from(here, "/auth/logout-everywhere")
    login(here, user.email, remember="y")  # a new login does not bring the old cookies back

    stale = app.test_client()
    stale.set_cookie(REMEMBER, old_value)
    page = stale.get("/auth/profile")
    assert page.status_code == 302
    assert remember_cookie_deleted(page)  # the browser is told to drop the dead cookie


def test_logout_deletes_the_remember_cookie_in_its_own_response(app, app_ctx):
    user = UserFactory()
    client, _ = remembered_on(app.test_client(), user.email)
    response = post_from(client, "/auth/logout", page="/")
    assert response.status_code == 302
    assert remember_cookie_deleted(response)
    deletion = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith(f"{REMEMBER}="))
    assert "HttpOnly" in deletion and "SameSite=Lax" in deletion  # the same attributes as when it was set
    assert client.get_cookie(REMEMBER) is None
    assert not logged_in(client)


def test_revoking_a_role_logs_the_account_out_everywhere(app, app_ctx):
    admin = UserFactory(roles=[Role.ADMIN])
    person = UserFactory(roles=[Role.APPLICANT, Role.STAFF])
    their_browser, their_cookie = remembered_on(app.test_client(), person.email)
    assert their_browser.get("/staff/outbox/").status_code == 200

    admin_client = app.test_client()
    login(admin_client, admin.email)
    submit_form(admin_client, f"/admin/users/{person.id}/roles/revoke", {"role": "staff"}, page="/admin/users")
    db.session.expire_all()
    assert db.session.get_one(User, person.id).role_set == {Role.APPLICANT}

    assert not logged_in(their_browser)
    assert not logged_in(their_cookie)
    assert logged_in(admin_client)


def test_an_admin_revoking_one_of_their_own_roles_stays_logged_in_here(app, app_ctx):
    admin = UserFactory(roles=[Role.ADMIN, Role.STAFF])
    elsewhere = app.test_client()
    login(elsewhere, admin.email)
    here = app.test_client()
    login(here, admin.email)
    submit_form(here, f"/admin/users/{admin.id}/roles/revoke", {"role": "staff"}, page="/admin/users")
    assert logged_in(here)
    assert not logged_in(elsewhere)


def test_granting_a_role_leaves_sessions_alone(app, app_ctx):
    admin = UserFactory(roles=[Role.ADMIN])
    person = UserFactory()
    theirs = app.test_client()
    login(theirs, person.email)
    admin_client = app.test_client()
    login(admin_client, admin.email)
    submit_form(admin_client, f"/admin/users/{person.id}/roles/grant", {"role": "reviewer"}, page="/admin/users")
    assert logged_in(theirs)


def test_each_account_gets_its_own_random_session_token(app_ctx):
    first, second = UserFactory(), UserFactory()
    assert first.session_token and second.session_token and first.session_token != second.session_token
    assert first.get_id() == f"{first.id}:{first.session_token}"
