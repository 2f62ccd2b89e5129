"""Accounts as a user meets them: register, confirm, log in, reset and change the password, roles."""

from __future__ import annotations

import html
import re
import time

from flask import session
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select

from fellowship.audit.models import AuditEntry
from fellowship.auth import tokens
from fellowship.auth.models import Role, User
from fellowship.extensions import db
from fellowship.notifications.models import OutboxMessage
from tests.conftest import csrf_token_from, login, submit_form
from tests.factories import PASSWORD, UserFactory

STRONG = "river-delta-mangrove-41"


def register(client, email="amani@example.org", password=STRONG, name="Amani Njeri", confirm=None):
    return submit_form(client, "/auth/register", {
        "full_name": name, "email": email, "password": password, "confirm": confirm or password,
    })


def outbox_link(recipient: str, template: str) -> str:
    message = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.recipient == recipient, OutboxMessage.template == template)
        .order_by(OutboxMessage.id.desc())
    ).first()
    assert message is not None, f"no {template} email queued for {recipient}"
    url = next(v for k, v in message.context.items() if k.endswith("_url") and "/auth/" in v
               and ("confirm" in k or "reset" in k))
    return url.removeprefix("http://localhost")


def test_registration_queues_a_confirmation_email_and_the_link_confirms(client, app_ctx):
    response = register(client)
    assert response.status_code == 302 and "/auth/check-email" in response.location
    user = db.session.scalar(select(User).where(User.email == "amani@example.org"))
    assert user is not None and not user.email_confirmed and user.role_set == {Role.APPLICANT}

    page = client.get(outbox_link("amani@example.org", "auth/confirm_email"), follow_redirects=True)
    assert "Your email address is confirmed" in page.get_data(as_text=True)
    db.session.refresh(user)
    assert user.email_confirmed


def test_unconfirmed_account_cannot_log_in_and_is_sent_a_new_link(client, app_ctx):
    register(client)
    response = login(client, "amani@example.org", STRONG)
    assert "Please confirm your email address first" in response.get_data(as_text=True)
    count = db.session.scalar(select(db.func.count()).select_from(OutboxMessage)
                              .where(OutboxMessage.template == "auth/confirm_email"))
    assert count == 2


def test_registering_a_taken_email_looks_the_same_and_warns_the_owner(client, app_ctx):
    UserFactory(email="taken@example.org")
    response = register(client, email="taken@example.org")
    assert response.status_code == 302 and "/auth/check-email" in response.location
    assert db.session.scalar(select(db.func.count()).select_from(User)) == 1
    templates = db.session.scalars(select(OutboxMessage.template)).all()
    assert templates == ["auth/already_registered"]


def test_common_or_short_passwords_are_refused_beside_the_field(client, app_ctx):
    for weak, message in (("password123", "too common or easy to guess"), ("short", "at least 8 characters")):
        html = register(client, password=weak).get_data(as_text=True)
        assert re.search(r'id="password-error">[^<]*' + message, html), html
    assert db.session.scalar(select(db.func.count()).select_from(User)) == 0


def test_mismatched_password_repeat_is_refused(client, app_ctx):
    html = register(client, confirm="something-else-entirely").get_data(as_text=True)
    assert "The passwords do not match." in html


def test_login_and_logout(client, app_ctx):
    UserFactory(email="fatima@example.org", full_name="Fatima Diallo")
    response = login(client, "fatima@example.org")
    assert response.status_code == 302
    home = client.get("/").get_data(as_text=True)
    assert "Fatima Diallo</a>" in home and "Log out</button>" in home  # the nav names who is logged in
    assert client.get("/auth/profile").status_code == 200
    token = csrf_token_from(home)
    client.post("/auth/logout", data={"csrf_token": token})
    assert "Create an account" in client.get("/").get_data(as_text=True)
    assert client.get("/auth/profile").status_code == 302


def test_login_follows_only_local_next_links(client, app_ctx):
    UserFactory(email="fatima@example.org")
    html = client.get("/auth/login").get_data(as_text=True)
    response = client.post("/auth/login?next=https://evil.example/x", data={
        "email": "fatima@example.org", "password": PASSWORD, "csrf_token": csrf_token_from(html)})
    assert response.location == "/"


def test_wrong_password_repeated_is_rate_limited_with_a_clear_message(client, app_ctx):
    UserFactory(email="target@example.org")
    for _ in range(5):
        response = login(client, "target@example.org", "not-the-password")
        assert response.status_code == 200
        assert "Wrong email or password." in response.get_data(as_text=True)
    response = login(client, "target@example.org", "not-the-password")
    assert response.status_code == 429
    assert "Too many attempts" in response.get_data(as_text=True)
    # The limit holds even for the right password: no guessing around it.
    assert login(client, "target@example.org", PASSWORD).status_code == 429


def test_a_post_without_csrf_token_is_refused(client, app_ctx):
    response = client.post("/auth/register", data={
        "full_name": "X", "email": "x@example.org", "password": STRONG, "confirm": STRONG})
    assert response.status_code == 400
    assert "The form could not be accepted" in response.get_data(as_text=True)
    assert db.session.scalar(select(db.func.count()).select_from(User)) == 0


def test_password_reset_link_sets_a_new_password_once(client, app_ctx):
    UserFactory(email="kwame@example.org")
    submit_form(client, "/auth/forgot", {"email": "kwame@example.org"})
    link = outbox_link("kwame@example.org", "auth/reset_password")

    response = submit_form(client, link, {"password": STRONG, "confirm": STRONG})
    assert response.status_code == 302
    assert login(client, "kwame@example.org", STRONG).status_code == 302

    again = client.get(link)
    assert again.status_code == 400
    assert "already been used" in again.get_data(as_text=True)


def test_an_expired_reset_link_is_refused_with_a_clear_message(client, app, app_ctx):
    user = UserFactory(email="old@example.org")

    class IssuedTwoHoursAgo(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 7200

    serializer = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=tokens.RESET_SALT, signer=IssuedTwoHoursAgo)
    token = serializer.dumps(
        {"uid": user.id, "pw": tokens.password_fingerprint(user.password_hash)})
    response = client.get(f"/auth/reset/{token}")
    assert response.status_code == 400
    assert "This password reset link has expired" in response.get_data(as_text=True)


def test_a_forged_reset_link_is_refused(client, app_ctx):
    response = client.get("/auth/reset/not-a-real-token")
    assert response.status_code == 400
    assert "This link is not valid" in response.get_data(as_text=True)


def test_forgot_password_does_not_reveal_whether_an_email_is_registered(client, app_ctx):
    UserFactory(email="known@example.org")
    known = submit_form(client, "/auth/forgot", {"email": "known@example.org"}, follow_redirects=True)
    unknown = submit_form(client, "/auth/forgot", {"email": "Nobody@example.org"}, follow_redirects=True)
    flash = "If an account uses that address"
    assert flash in known.get_data(as_text=True) and flash in unknown.get_data(as_text=True)
    # Only the owner of each address learns the answer, by email.
    sent = db.session.execute(select(OutboxMessage.recipient, OutboxMessage.template).order_by(OutboxMessage.id))
    assert sent.all() == [("known@example.org", "auth/reset_password"), ("nobody@example.org", "auth/reset_no_account")]


def test_change_password_needs_the_current_one(client, app_ctx):
    UserFactory(email="sami@example.org")
    login(client, "sami@example.org")
    wrong = submit_form(client, "/auth/password", {"current_password": "nope-nope-nope",
                                                   "password": STRONG, "confirm": STRONG})
    assert re.search(r'id="current_password-error">The current password is not correct', wrong.get_data(as_text=True))
    right = submit_form(client, "/auth/password", {"current_password": PASSWORD, "password": STRONG,
                                                   "confirm": STRONG})
    assert right.status_code == 302
    client.post("/auth/logout", data={"csrf_token": csrf_token_from(client.get("/").get_data(as_text=True))})
    assert login(client, "sami@example.org", STRONG).status_code == 302


def test_session_is_renewed_at_login_and_cookies_are_protected(client, app_ctx):
    UserFactory(email="cookie@example.org")
    with client.session_transaction() as sess:
        sess["planted"] = "by-someone-else"
    response = login(client, "cookie@example.org", remember="y")
    cookies = response.headers.getlist("Set-Cookie")
    session_cookie = next(c for c in cookies if c.startswith("session="))
    remember_cookie = next(c for c in cookies if c.startswith("remember_token="))
    for cookie in (session_cookie, remember_cookie):
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    with client.session_transaction() as sess:
        assert "planted" not in sess
    with client:
        client.get("/")
        assert session.get("_user_id")


def test_non_admins_cannot_reach_the_roles_page(client, app_ctx):
    assert client.get("/admin/users").status_code == 302  # anonymous: to the login page
    for roles in ([Role.APPLICANT], [Role.REVIEWER], [Role.STAFF]):
        user = UserFactory(roles=roles)
        other = client.application.test_client()
        login(other, user.email)
        assert other.get("/admin/users").status_code == 403
        assert other.post(f"/admin/users/{user.id}/roles/grant", data={"role": "admin"}).status_code in (400, 403)
    assert db.session.scalar(select(db.func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "auth.role_granted")) == 0


def test_admin_grants_and_revokes_roles_and_each_change_is_audited(client, app_ctx):
    admin = UserFactory(email="admin@example.org", roles=[Role.ADMIN])
    person = UserFactory(email="rev@example.org", full_name="Rev Iewer")
    login(client, admin.email)
    page = client.get("/admin/users").get_data(as_text=True)
    assert "rev@example.org" in page

    granted = submit_form(client, f"/admin/users/{person.id}/roles/grant", {"role": "reviewer"},
                          page="/admin/users", follow_redirects=True)
    assert "Rev Iewer now has the reviewer role." in granted.get_data(as_text=True)
    revoked = submit_form(client, f"/admin/users/{person.id}/roles/revoke", {"role": "applicant"},
                          page="/admin/users", follow_redirects=True)
    assert "no longer has the applicant role" in revoked.get_data(as_text=True)

    db.session.expire_all()
    assert db.session.get(User, person.id).role_set == {Role.REVIEWER}
    entries = db.session.execute(
        select(AuditEntry.action, AuditEntry.actor_id, AuditEntry.object_id, AuditEntry.details)
        .where(AuditEntry.action.like("auth.role_%")).order_by(AuditEntry.id)).all()
    assert [(e.action, e.actor_id, e.object_id, e.details) for e in entries] == [
        ("auth.role_granted", admin.id, person.id, {"role": "reviewer"}),
        ("auth.role_revoked", admin.id, person.id, {"role": "applicant"}),
    ]
    log_page = html.unescape(re.sub(r"<[^>]+>", "", client.get("/admin/audit").get_data(as_text=True)))
    assert f"{admin.full_name} took the applicant role from {person.full_name}." in log_page


def test_an_admin_cannot_remove_their_own_admin_role(client, app_ctx):
    admin = UserFactory(roles=[Role.ADMIN])
    login(client, admin.email)
    response = submit_form(client, f"/admin/users/{admin.id}/roles/revoke", {"role": "admin"},
                           page="/admin/users", follow_redirects=True)
    assert "You cannot remove your own admin role" in response.get_data(as_text=True)
    db.session.expire_all()
    assert Role.ADMIN in db.session.get(User, admin.id).role_set
