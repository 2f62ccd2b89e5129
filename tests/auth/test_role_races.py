"""Role changes by two admins at the same moment: no error page, no role given twice, never no admin left."""

from __future__ import annotations

import threading
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from fellowship.audit.models import AuditEntry
from fellowship.auth.models import Role, UserRole
from fellowship.extensions import db
from tests.conftest import csrf_token_from, login
from tests.factories import UserFactory


def at_once(app: Flask, requests: list[tuple[str, str, str]]) -> list[str]:
    """Each (admin email, url, role) posted by its own logged-in client, all released together; the answers'
    flash messages, or the errors raised."""
    barrier = threading.Barrier(len(requests))
    answers: list[str] = []

    def post(email: str, url: str, role: str) -> None:
        client: FlaskClient = app.test_client()
        try:
            login(client, email)
            token = csrf_token_from(client.get("/admin/users").get_data(as_text=True))
            barrier.wait(30)
            response = client.post(url, data={"role": role, "csrf_token": token}, follow_redirects=True)
            answers.append(f"{response.status_code} " + flash_of(response.get_data(as_text=True)))
        except BaseException as exc:  # noqa: BLE001 - reported by the caller's assertions
            answers.append(f"error {exc!r}")

    threads = [threading.Thread(target=post, args=request) for request in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return sorted(answers)


def flash_of(html: str) -> str:
    start = html.find('class="flashes"')
    return html[start:start + 400] if start >= 0 else html[-300:]


def count(stmt_filter: Callable[..., object]) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(UserRole).where(stmt_filter())) or 0


def test_two_admins_removing_each_other_at_once_leave_one_admin(app, app_ctx):
    first = UserFactory(email="first@example.org", roles=[Role.ADMIN])
    second = UserFactory(email="second@example.org", roles=[Role.ADMIN])
    answers = at_once(app, [(first.email, f"/admin/users/{second.id}/roles/revoke", "admin"),
                            (second.email, f"/admin/users/{first.id}/roles/revoke", "admin")])
    assert all(a.startswith("200 ") for a in answers), answers
    assert sum("no longer has the admin role" in a for a in answers) == 1, answers
    # The other is refused; or, if the first removal was done before the other request began, its sender is no
    # longer an admin and is logged out (the removal ended their sessions).
    assert sum("This is the last admin account" in a or "Please log in to see that page" in a
               for a in answers) == 1, answers
    assert count(lambda: UserRole.role == Role.ADMIN) == 1


def test_one_role_granted_by_two_admins_at_once_is_granted_once(app, app_ctx):
    admins = [UserFactory(roles=[Role.ADMIN]) for _ in range(2)]
    person = UserFactory()
    answers = at_once(app, [(a.email, f"/admin/users/{person.id}/roles/grant", "reviewer") for a in admins])
    assert all(a.startswith("200 ") for a in answers), answers
    assert sum("now has the reviewer role" in a for a in answers) == 1, answers
    assert sum("already had the reviewer role" in a for a in answers) == 1, answers
    assert count(lambda: (UserRole.user_id == person.id) & (UserRole.role == Role.REVIEWER)) == 1
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "auth.role_granted")) == 1


def test_one_role_revoked_by_two_admins_at_once_is_revoked_once(app, app_ctx):
    admins = [UserFactory(roles=[Role.ADMIN]) for _ in range(2)]
    person = UserFactory(roles=[Role.APPLICANT, Role.STAFF])
    answers = at_once(app, [(a.email, f"/admin/users/{person.id}/roles/revoke", "staff") for a in admins])
    assert all(a.startswith("200 ") for a in answers), answers
    assert sum("no longer has the staff role" in a for a in answers) == 1, answers
    assert sum("did not have the staff role" in a for a in answers) == 1, answers
    assert count(lambda: UserRole.user_id == person.id) == 1
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "auth.role_revoked")) == 1
