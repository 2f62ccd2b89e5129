"""Personal access tokens: made on the profile page, shown once, stored hashed, revocable, expiring; each use
audited; the API answers with problem details and WWW-Authenticate when a token does not do."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import joinedload
from werkzeug.exceptions import Forbidden

from fellowship.api.auth import require_scope
from fellowship.audit.models import AuditEntry
from fellowship.auth.models import Role, UserRole
from fellowship.auth.tokens import (
    PersonalAccessToken,
    Scope,
    TokenAlreadyCreated,
    create_token,
    token_for_secret,
)
from fellowship.extensions import db
from fellowship.models import utcnow
from fellowship.timezones import utc_to_local
from tests.api.helpers import bearer, token_for
from tests.conftest import csrf_token_from, login
from tests.factories import UserFactory

SECRET_RE = re.compile(r'id="new-token" type="text" readonly value="(fsp_[A-Za-z0-9_-]+)"')
NONCE_RE = re.compile(r'name="form_nonce" type="hidden" value="([A-Za-z0-9_-]+)"')


def form_from_page(page: str, **data: object) -> dict[str, object]:
    """The create-token form as the page gives it (its CSRF token and one-time value), filled in."""
    return {"name": "Admissions sync", "scopes": ["applications:read"],
            "expires_on": (utcnow().date() + timedelta(days=30)).isoformat(),
            "csrf_token": csrf_token_from(page), "form_nonce": NONCE_RE.search(page).group(1),  # type: ignore[union-attr]
            **data}


def create_on_profile(client: FlaskClient, **data: object):
    page = client.get("/auth/profile/tokens").get_data(as_text=True)
    return client.post("/auth/profile/tokens", data=form_from_page(page, **data))


def test_token_created_on_profile_is_shown_once_and_stored_only_as_a_hash(app_ctx: Flask, client: FlaskClient):
    user = UserFactory(email="amani@example.org")
    login(client, user.email)
    assert "/auth/profile/tokens" in client.get("/auth/profile").get_data(as_text=True)

    response = create_on_profile(client)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    secret = SECRET_RE.search(html).group(1)  # type: ignore[union-attr]
    assert "you will not see it again" in html
    assert 'in this header: <code translate="no">Authorization: Bearer …</code></p>' in html
    assert "…." not in html  # no stray full stop after the ellipsis

    stored = db.session.scalars(sa.select(PersonalAccessToken)).one()
    assert stored.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in repr(db.session.execute(sa.select(PersonalAccessToken.__table__)).all())
    assert stored.scopes == ["applications:read"] and stored.user_id == user.id

    listing = client.get("/auth/profile/tokens").get_data(as_text=True)
    assert "Admissions sync" in listing and stored.hint in listing and secret not in listing

    assert client.get("/api/v1/applications", headers=bearer(secret)).status_code == 200
    created = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "auth.api_token_created")).one()
    assert created.actor_id == user.id and created.object_id == stored.id


def test_reloading_the_answer_to_the_create_form_makes_no_second_token(app_ctx: Flask, client: FlaskClient):
    """A reload after the create POST sends the same form again: its one-time value is taken, so nothing is made and
    the page says why, with the list."""
    user = UserFactory(email="amani@example.org")
    login(client, user.email)
    form = form_from_page(client.get("/auth/profile/tokens").get_data(as_text=True))
    first = client.post("/auth/profile/tokens", data=form).get_data(as_text=True)
    assert SECRET_RE.search(first)
    assert NONCE_RE.search(first).group(1) != form["form_nonce"]  # type: ignore[union-attr]  # the next form's own

    again = client.post("/auth/profile/tokens", data=form, follow_redirects=True)
    html = again.get_data(as_text=True)
    assert again.status_code == 200 and not SECRET_RE.search(html)
    assert ("This token was already created; its secret was shown only once. If you did not copy it, revoke it "
            "and create another.") in html
    assert "Admissions sync" in html and "Revoke" in html  # the list, with the one token
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PersonalAccessToken)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "auth.api_token_created")) == 1

    # A new rendering of the form makes a new token.
    assert SECRET_RE.search(create_on_profile(client, name="Second").get_data(as_text=True))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PersonalAccessToken)) == 2


def test_create_token_with_a_used_form_nonce_creates_nothing(app_ctx: Flask):
    user = UserFactory(email="amani@example.org")
    expires_on = utcnow().date() + timedelta(days=30)
    create_token(user, "Sync", ["applications:read"], expires_on, form_nonce="n" * 43)
    with pytest.raises(TokenAlreadyCreated):
        create_token(user, "Sync", ["applications:read"], expires_on, form_nonce="n" * 43)
    # Tokens made without the form (no nonce) are not held to one.
    create_token(user, "CLI 1", ["applications:read"], expires_on)
    create_token(user, "CLI 2", ["applications:read"], expires_on)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PersonalAccessToken)) == 3


@pytest.mark.parametrize("zone", ["Pacific/Auckland", "America/Los_Angeles"])
def test_expiry_day_is_the_end_of_that_day_in_the_users_own_zone_and_listed_as_that_day(
        app_ctx: Flask, client: FlaskClient, zone: str):
    """'Expires on 31 December' means until midnight that day where the user is, and the list shows 31 December
    back (it showed the next day in Tokyo, the last second of the day in UTC read there)."""
    user = UserFactory(email="amani@example.org", time_zone=zone)
    login(client, user.email)
    day = utc_to_local(utcnow(), zone).date() + timedelta(days=30)
    html = create_on_profile(client, expires_on=day.isoformat()).get_data(as_text=True)
    token = db.session.scalars(sa.select(PersonalAccessToken)).one()
    assert token.expires_at == datetime.combine(day, time(23, 59, 59), tzinfo=ZoneInfo(zone))
    assert utc_to_local(token.expires_at, zone).date() == day
    expires_cell = re.search(r'<td data-label="Expires">([^<]*)</td>', html).group(1)  # type: ignore[union-attr]
    assert expires_cell == day.strftime("%d %B %Y")
    # The form's default counts from the user's today.
    page = client.get("/auth/profile/tokens").get_data(as_text=True)
    default = utc_to_local(utcnow(), zone).date() + timedelta(days=90)
    assert re.search(r'<input[^>]*name="expires_on"[^>]*>', page).group(0).count(  # type: ignore[union-attr]
        f'value="{default.isoformat()}"') == 1


def test_profile_refuses_a_scope_the_role_does_not_allow_and_a_far_expiry(app_ctx: Flask, client: FlaskClient):
    user = UserFactory(email="amani@example.org")
    login(client, user.email)
    html = create_on_profile(client, scopes=["rankings:read"]).get_data(as_text=True)
    assert "Your account cannot give a token that access." in html
    html = create_on_profile(client, expires_on=(utcnow().date() + timedelta(days=400)).isoformat()).get_data(
        as_text=True)
    assert "at most 365 days ahead" in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PersonalAccessToken)) == 0


def test_revoked_token_gets_401_and_revoke_is_audited(app_ctx: Flask, client: FlaskClient):
    user = UserFactory(email="amani@example.org")
    secret = token_for(user, "applications:read")
    token = token_for_secret(secret)
    assert token is not None
    login(client, user.email)
    page = client.get("/auth/profile/tokens").get_data(as_text=True)
    api = app_ctx.test_client()  # no session cookie: the API never reads one
    assert api.get("/api/v1/applications", headers=bearer(secret)).status_code == 200

    assert client.post(f"/auth/profile/tokens/{token.id}/revoke",
                       data={"csrf_token": csrf_token_from(page)}).status_code == 302
    response = api.get("/api/v1/applications", headers=bearer(secret))
    assert response.status_code == 401
    assert response.content_type == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="fellowship", error="invalid_token"')
    assert response.json["detail"] == "The token was revoked."  # type: ignore[index]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "auth.api_token_revoked")) == 1


def test_someone_elses_token_cannot_be_revoked(app_ctx: Flask, client: FlaskClient):
    owner = UserFactory(email="owner@example.org")
    secret = token_for(owner, "applications:read")
    token = token_for_secret(secret)
    assert token is not None
    other = UserFactory(email="other@example.org")
    login(client, other.email)
    page = client.get("/auth/profile/tokens").get_data(as_text=True)
    assert client.post(f"/auth/profile/tokens/{token.id}/revoke",
                       data={"csrf_token": csrf_token_from(page)}).status_code == 404
    db.session.expire_all()
    assert db.session.get(PersonalAccessToken, token.id).revoked_at is None  # type: ignore[union-attr]


def test_revoke_needs_the_csrf_token(app_ctx: Flask, client: FlaskClient):
    user = UserFactory(email="amani@example.org")
    token = token_for_secret(token_for(user, "applications:read"))
    login(client, user.email)
    assert client.post(f"/auth/profile/tokens/{token.id}/revoke").status_code == 400  # type: ignore[union-attr]


def test_expired_token_gets_401(app_ctx: Flask, client: FlaskClient):
    user = UserFactory(email="amani@example.org")
    secret = token_for(user, "applications:read")
    db.session.execute(sa.update(PersonalAccessToken).values(
        created_at=utcnow() - timedelta(days=10), expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    response = client.get("/api/v1/applications", headers=bearer(secret))
    assert response.status_code == 401 and response.json["detail"] == "The token has expired."  # type: ignore[index]


def test_missing_or_unknown_token_gets_401_with_a_bearer_challenge(app_ctx: Flask, client: FlaskClient):
    UserFactory(email="amani@example.org")
    missing = client.get("/api/v1/applications")
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"] == 'Bearer realm="fellowship"'
    unknown = client.get("/api/v1/applications", headers=bearer("fsp_" + "x" * 43))
    assert unknown.status_code == 401 and 'error="invalid_token"' in unknown.headers["WWW-Authenticate"]
    assert unknown.json == {"type": "about:blank", "title": "Unauthorized", "status": 401,
                            "detail": "The token is not valid.", "instance": "/api/v1/applications"}


def test_session_cookie_does_not_authenticate_the_api(app_ctx: Flask, client: FlaskClient):
    staff = UserFactory(email="staff@example.org", roles=[Role.STAFF])
    login(client, staff.email)
    assert client.get("/api/v1/applications").status_code == 401


def test_disabled_account_token_stops_working(app_ctx: Flask, client: FlaskClient):
    user = UserFactory(email="amani@example.org")
    secret = token_for(user, "applications:read")
    user.is_active_account = False
    db.session.commit()
    response = client.get("/api/v1/applications", headers=bearer(secret))
    assert response.status_code == 401 and "disabled" in response.json["detail"]  # type: ignore[index]


def test_token_without_the_scope_gets_403(app_ctx: Flask, client: FlaskClient):
    staff = UserFactory(email="staff@example.org", roles=[Role.STAFF])
    secret = token_for(staff, "fellows:read")
    response = client.get("/api/v1/applications", headers=bearer(secret))
    assert response.status_code == 403 and response.content_type == "application/problem+json"
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]


def test_role_revoked_after_the_token_was_made_gets_403(app_ctx: Flask):
    staff = UserFactory(email="staff@example.org", roles=[Role.STAFF])
    token = token_for_secret(token_for(staff, "fellows:read"))
    assert token is not None
    with app_ctx.test_request_context("/api/v1/fellows"):
        require_scope(token, Scope.FELLOWS_READ)  # allowed while the account is staff
    db.session.execute(sa.delete(UserRole).where(UserRole.user_id == staff.id, UserRole.role == Role.STAFF))
    db.session.commit()
    db.session.expire_all()
    token = db.session.scalars(sa.select(PersonalAccessToken).where(PersonalAccessToken.user_id == staff.id)
                               .options(joinedload(PersonalAccessToken.user))).one()
    with app_ctx.test_request_context("/api/v1/fellows"), pytest.raises(Forbidden) as refused:
        require_scope(token, Scope.FELLOWS_READ)
    assert "may not use the scope fellows:read" in refused.value.data["message"]  # type: ignore[attr-defined]


def test_each_use_is_audited_and_last_use_recorded(app_ctx: Flask, client: FlaskClient):
    user = UserFactory(email="amani@example.org")
    secret = token_for(user, "applications:read")
    for _ in range(3):
        assert client.get("/api/v1/applications?limit=5", headers=bearer(secret)).status_code == 200
    assert client.get("/api/v1/applications/999999", headers=bearer(secret)).status_code == 404
    uses = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "api.request")
                              .order_by(AuditEntry.id)).all()
    assert [(u.actor_id, u.details["path"], u.details["status"]) for u in uses] == [
        (user.id, "/api/v1/applications?limit=5", 200)] * 3 + [(user.id, "/api/v1/applications/999999", 404)]
    token = db.session.scalars(sa.select(PersonalAccessToken)).one()
    db.session.refresh(token)
    assert token.last_used_at is not None and utcnow() - token.last_used_at < timedelta(minutes=1)


def test_rate_limit_per_token_gives_429_with_retry_after(app: Flask, app_ctx: Flask, client: FlaskClient):
    user = UserFactory(email="amani@example.org")
    secret = token_for(user, "applications:read")
    other = token_for(user, "applications:read", name="Other")
    app.config["API_RATE_LIMIT"] = "3 per minute"
    try:
        statuses = [client.get("/api/v1/applications", headers=bearer(secret)).status_code for _ in range(3)]
        limited = client.get("/api/v1/applications", headers=bearer(secret))
        other_token = client.get("/api/v1/applications", headers=bearer(other))
    finally:
        app.config["API_RATE_LIMIT"] = "600 per minute"
    assert statuses == [200, 200, 200]
    assert limited.status_code == 429 and limited.content_type == "application/problem+json"
    assert int(limited.headers["Retry-After"]) > 0
    assert limited.json["status"] == 429  # type: ignore[index]
    assert other_token.status_code == 200  # the budget is per token


def test_each_scope_is_a_checkbox_with_its_label_beside_it(app_ctx: Flask, client: FlaskClient):
    """The scopes read like every other set of checkboxes (a box, its label beside it in normal weight), not as a
    bulleted list with each label in bold on the line under its box (WTForms' bare ListWidget, found by the walk)."""
    staff = UserFactory(email="sora@example.org", roles=[Role.STAFF])
    login(client, staff.email)
    html = client.get("/auth/profile/tokens").get_data(as_text=True)
    fieldset = re.search(r"<legend>What the token may read</legend>(.*?)</fieldset>", html, re.S).group(1)  # type: ignore[union-attr]
    boxes = re.findall(r'<input[^>]*name="scopes"[^>]*>', fieldset)
    rows = re.findall(r'<div class="field-check">\s*(<input[^>]*name="scopes"[^>]*>)\s*<label for="([^"]+)">', fieldset)
    assert len(boxes) == len(Scope) and len(rows) == len(boxes)
    assert all(f'id="{label_for}"' in box for box, label_for in rows)
    assert "<ul" not in fieldset and "<li" not in fieldset

    # A refused choice keeps what was ticked.
    html = create_on_profile(client, scopes=["fellows:read"], name="").get_data(as_text=True)
    ticked = re.findall(r'<input[^>]*checked[^>]*name="scopes"[^>]*value="([^"]+)"|'
                        r'<input[^>]*name="scopes"[^>]*value="([^"]+)"[^>]*checked', html)
    assert [a or b for a, b in ticked] == ["fellows:read"]
