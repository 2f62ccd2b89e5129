"""Admins look after accounts: invite reviewers and staff by email, deactivate and reactivate accounts, send a
password reset. Every one of these is in the audit log."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from fellowship.admin import services as admin_services
from fellowship.audit.models import AuditEntry
from fellowship.auth import services
from fellowship.auth.models import Role, User
from fellowship.errors import DomainError
from fellowship.extensions import db
from fellowship.notifications.mailer import build_email
from fellowship.notifications.models import OutboxMessage
from tests.auth.test_accounts import STRONG
from tests.auth.test_sessions import logged_in, remembered_on
from tests.conftest import login, submit_form
from tests.factories import PASSWORD, UserFactory


def last_email(recipient: str, template: str) -> OutboxMessage:
    message = db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == recipient,
                                                             OutboxMessage.template == template)
                                 .order_by(OutboxMessage.id.desc())).first()
    assert message is not None, f"no {template} email to {recipient}"
    return message


def link_in(message: OutboxMessage, key: str) -> str:
    return message.context[key].removeprefix("http://localhost")


def audited(action: str, object_id: int) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action,
                                                            AuditEntry.object_id == object_id)))


def invite(client, email="kenji@example.org", name="Kenji Watanabe", role="reviewer", **kw):
    return submit_form(client, "/admin/users/invite", {"full_name": name, "email": email, "role": role, **kw},
                       follow_redirects=True)


def test_an_invited_reviewer_sets_a_password_from_the_email_and_is_logged_in_with_the_role(app, client, app_ctx):
    admin = UserFactory(roles=[Role.ADMIN], full_name="Aiko Admin")
    login(client, admin.email)
    page = invite(client).get_data(as_text=True)
    assert "Invitation sent to Kenji Watanabe (kenji@example.org)" in page
    assert "Invited, not yet accepted" in page

    invitee = db.session.scalars(select(User).where(User.email == "kenji@example.org")).one()
    assert invitee.role_set == {Role.REVIEWER}
    message = last_email("kenji@example.org", "auth/invitation")
    email = build_email(message)
    text = email.get_body(("plain",)).get_content()
    assert "Aiko Admin has invited you to the Fellowship programme site as a reviewer." in text
    assert link_in(message, "accept_url").startswith("/auth/invitation/")
    assert "Accept the invitation" in email.get_body(("html",)).get_content()
    assert login(app.test_client(), "kenji@example.org", STRONG).status_code == 200  # no password yet

    browser = app.test_client()
    url = link_in(message, "accept_url")
    form = browser.get(url).get_data(as_text=True)
    assert "as a reviewer" in form and 'value="Kenji Watanabe"' in form
    accepted = submit_form(browser, url, {"full_name": "Kenji Watanabe", "password": STRONG, "confirm": STRONG},
                           follow_redirects=True)
    assert "Welcome, Kenji Watanabe. Your account is ready." in accepted.get_data(as_text=True)
    assert browser.get("/review").status_code == 200  # the reviewer's own page
    assert logged_in(browser)
    db.session.expire_all()
    invitee = db.session.get_one(User, invitee.id)
    assert invitee.email_confirmed and invitee.role_set == {Role.REVIEWER}
    assert audited("admin.user_invited", invitee.id)[0].actor_id == admin.id
    assert audited("auth.invitation_accepted", invitee.id)[0].actor_id == invitee.id

    # the link worked once; the password works from now on
    again = app.test_client().get(url)
    assert again.status_code == 400 and "already been used" in again.get_data(as_text=True)
    assert login(app.test_client(), "kenji@example.org", STRONG).status_code == 302


def test_an_invited_member_of_staff_lands_on_the_staff_pages(app, client, app_ctx):
    login(client, UserFactory(roles=[Role.ADMIN]).email)
    invite(client, email="mei@example.org", name="Mei Tanaka", role="staff")
    url = link_in(last_email("mei@example.org", "auth/invitation"), "accept_url")
    browser = app.test_client()
    submit_form(browser, url, {"full_name": "Mei Tanaka", "password": STRONG, "confirm": STRONG})
    assert browser.get("/staff/calls").status_code == 200
    assert browser.get("/admin/users").status_code == 403


def test_a_new_invitation_ends_the_old_link_and_withdrawing_it_ends_both(app, client, app_ctx):
    login(client, UserFactory(roles=[Role.ADMIN]).email)
    invite(client)
    first = link_in(last_email("kenji@example.org", "auth/invitation"), "accept_url")
    invitee = db.session.scalars(select(User).where(User.email == "kenji@example.org")).one()
    page = submit_form(client, f"/admin/users/{invitee.id}/password-reset", {}, page="/admin/users",
                       follow_redirects=True).get_data(as_text=True)
    assert "A new invitation was emailed to kenji@example.org" in page
    second = link_in(last_email("kenji@example.org", "auth/invitation"), "accept_url")
    assert first != second
    assert "A newer invitation was sent to you" in app.test_client().get(first).get_data(as_text=True)
    assert app.test_client().get(second).status_code == 200

    submit_form(client, f"/admin/users/{invitee.id}/deactivate", {}, page="/admin/users")
    withdrawn = app.test_client().get(second)
    assert withdrawn.status_code == 400 and "This invitation was withdrawn" in withdrawn.get_data(as_text=True)


def test_inviting_an_address_that_has_an_account_is_refused_beside_the_field(client, app_ctx):
    UserFactory(email="amani@example.org", full_name="Amani Njeri")
    login(client, UserFactory(roles=[Role.ADMIN]).email)
    html = invite(client, email="Amani@Example.org").get_data(as_text=True)
    assert 'id="email-error">Amani Njeri already has an account with this address.' in html
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_an_invitation_link_opened_while_logged_in_as_someone_else_is_refused(app, client, app_ctx):
    login(client, UserFactory(roles=[Role.ADMIN]).email)
    invite(client)
    url = link_in(last_email("kenji@example.org", "auth/invitation"), "accept_url")
    other = app.test_client()
    login(other, UserFactory(email="someone@example.org").email)
    refused = other.get(url)
    assert refused.status_code == 403
    assert "you are logged in as someone@example.org. Log out" in refused.get_data(as_text=True)


def test_deactivating_an_account_ends_its_sessions_and_login_says_why(app, client, app_ctx):
    admin = UserFactory(roles=[Role.ADMIN], full_name="Aiko Admin")
    person = UserFactory(email="sora@example.org", full_name="Sora Staff", roles=[Role.STAFF])
    their_browser, their_cookie = remembered_on(app.test_client(), person.email)
    assert logged_in(their_browser)

    login(client, admin.email)
    page = submit_form(client, f"/admin/users/{person.id}/deactivate", {}, page="/admin/users",
                       follow_redirects=True).get_data(as_text=True)
    assert "Sora Staff&#39;s account is deactivated: they are logged out everywhere" in page
    assert "Deactivated" in page
    assert not logged_in(their_browser) and not logged_in(their_cookie)

    refused = login(app.test_client(), person.email, PASSWORD).get_data(as_text=True)
    assert "This account has been deactivated, so it cannot log in." in refused
    assert f"contact {app.config['PROGRAMME_CONTACT_NAME']} at {app.config['PROGRAMME_CONTACT_EMAIL']}" in refused
    # a wrong password learns nothing more
    assert "deactivated" not in login(app.test_client(), person.email, "not-the-password").get_data(as_text=True)
    assert audited("admin.user_deactivated", person.id)[0].actor_id == admin.id


def test_reactivating_lets_the_account_log_in_again_with_its_password(app, client, app_ctx):
    admin = UserFactory(roles=[Role.ADMIN])
    person = UserFactory(full_name="Sora Staff", roles=[Role.STAFF], is_active_account=False)
    login(client, admin.email)
    page = submit_form(client, f"/admin/users/{person.id}/reactivate", {}, page="/admin/users",
                       follow_redirects=True).get_data(as_text=True)
    assert "Sora Staff&#39;s account is active again" in page
    assert login(app.test_client(), person.email, PASSWORD).status_code == 302
    assert audited("admin.user_reactivated", person.id)[0].actor_id == admin.id


def test_an_admin_cannot_deactivate_themself_or_the_last_active_admin(client, app_ctx):
    admin = UserFactory(roles=[Role.ADMIN])
    other_admin = UserFactory(roles=[Role.ADMIN], full_name="Ren Admin")
    login(client, admin.email)
    own = submit_form(client, f"/admin/users/{admin.id}/deactivate", {}, page="/admin/users", follow_redirects=True)
    assert "You cannot deactivate your own account." in own.get_data(as_text=True)

    assert "Ren Admin&#39;s account is deactivated" in submit_form(
        client, f"/admin/users/{other_admin.id}/deactivate", {}, page="/admin/users",
        follow_redirects=True).get_data(as_text=True)
    # with Ren deactivated, this admin is the last active one: neither the role nor the account can go
    db.session.expire_all()
    with pytest.raises(DomainError, match="is the last active admin"):
        admin_services.deactivate_user(db.session.get_one(User, admin.id), by=other_admin)
    db.session.rollback()
    revoked = submit_form(client, f"/admin/users/{other_admin.id}/roles/revoke", {"role": "admin"},
                          page="/admin/users", follow_redirects=True)
    assert "Ren Admin no longer has the admin role." in revoked.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get_one(User, admin.id).is_active_account


def test_an_admin_sends_the_forgot_password_email_and_its_link_sets_a_new_password(app, client, app_ctx):
    admin = UserFactory(roles=[Role.ADMIN])
    person = UserFactory(email="amani@example.org", full_name="Amani Njeri")
    login(client, admin.email)
    page = submit_form(client, f"/admin/users/{person.id}/password-reset", {}, page="/admin/users",
                       follow_redirects=True).get_data(as_text=True)
    assert "A password reset link was emailed to amani@example.org." in page
    message = last_email("amani@example.org", "auth/reset_password")  # the same email as "forgot password"
    browser = app.test_client()
    assert submit_form(browser, link_in(message, "reset_url"), {"password": STRONG, "confirm": STRONG}
                       ).status_code == 302
    assert login(browser, person.email, STRONG).status_code == 302
    assert audited("admin.password_reset_sent", person.id)[0].actor_id == admin.id


def test_a_deactivated_account_is_not_sent_a_reset(client, app_ctx):
    login(client, UserFactory(roles=[Role.ADMIN]).email)
    person = UserFactory(full_name="Sora Staff", is_active_account=False)
    page = submit_form(client, f"/admin/users/{person.id}/password-reset", {}, page="/admin/users",
                       follow_redirects=True).get_data(as_text=True)
    assert "Sora Staff&#39;s account is deactivated. Reactivate it first." in page
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_a_deactivated_admin_does_not_count_as_the_admin_who_remains(app_ctx):
    """Two admins acting on each other at the same moment: Aiko's deactivation of Ren lands first, then Ren's
    request (authorised a moment before) to remove Aiko's admin role must not leave no active admin."""
    aiko = UserFactory(roles=[Role.ADMIN])
    ren = UserFactory(roles=[Role.ADMIN])
    assert admin_services.deactivate_user(ren, by=aiko)
    db.session.commit()
    try:
        services.revoke_role(aiko, Role.ADMIN, acting_user=ren)
    except DomainError as exc:
        assert "This is the last admin account" in str(exc)
    else:
        raise AssertionError("the only active admin lost the admin role")
    finally:
        db.session.rollback()
    db.session.expire_all()
    assert Role.ADMIN in db.session.get_one(User, aiko.id).role_set
    ren = db.session.get_one(User, ren.id)
    with pytest.raises(DomainError, match="is the last active admin"):
        admin_services.deactivate_user(db.session.get_one(User, aiko.id), by=ren)
