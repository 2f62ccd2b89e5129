"""Security headers on every kind of response, protected cookies, and rate limits on the token endpoints.

Already proven elsewhere, not repeated here:
- registering a taken email looks the same as a new one: tests/auth/test_accounts.py
  ::test_registering_a_taken_email_looks_the_same_and_warns_the_owner;
- forgot-password does not reveal whether an email is registered: tests/auth/test_accounts.py
  ::test_forgot_password_does_not_reveal_whether_an_email_is_registered;
- wrong passwords are rate-limited: tests/auth/test_accounts.py
  ::test_wrong_password_repeated_is_rate_limited_with_a_clear_message;
- the referee upload link (POST /referee/<token>) answers 429 after 10 tries a minute: tests/referees/test_referees.py
  ::test_the_referee_upload_is_rate_limited.
"""

from __future__ import annotations

import pytest
from flask import Flask
from werkzeug.test import TestResponse

from fellowship import create_app
from fellowship.applications.models import Document
from fellowship.auth.models import Role
from fellowship.calls.models import DocumentKind
from fellowship.documents.storage import get_storage, new_key
from fellowship.extensions import db
from tests.conftest import FreshContextClient, csrf_token_from, login
from tests.documents.files import PDF
from tests.factories import CallFactory, UserFactory, submitted_application


def csp_directives(response: TestResponse) -> dict[str, str]:
    policy = response.headers.get("Content-Security-Policy", "")
    return {part.strip().split(" ", 1)[0]: part.strip().partition(" ")[2] for part in policy.split(";") if part.strip()}


def assert_protected(response: TestResponse, what: str) -> None:
    csp = csp_directives(response)
    assert csp, f"{what}: no Content-Security-Policy"
    scripts = csp.get("script-src", csp.get("default-src", ""))  # script-src and object-src fall back to default-src
    assert scripts and "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts, what
    assert csp.get("object-src", csp.get("default-src")) == "'none'", what
    assert csp.get("base-uri") == "'none'", what
    assert csp.get("frame-ancestors") == "'none'", what
    assert response.headers.get("X-Content-Type-Options") == "nosniff", what
    assert response.headers.get("Referrer-Policy"), what


def test_every_kind_of_response_carries_the_security_headers_and_no_hsts_outside_production(app, client, app_ctx):
    staff = UserFactory(email="staff@example.org", roles=[Role.STAFF])
    call = CallFactory()
    application = submitted_application(call, applicant=UserFactory(email="a@example.org"))
    responses: dict[str, TestResponse] = {
        "home page": client.get("/"),
        "health check": client.get("/healthz"),
        "redirect to login": client.get("/applications/"),
        "404 page": client.get("/no-such-page"),
        "405 page": client.get("/auth/logout"),
        "400 page (no CSRF token)": client.post("/auth/login", data={"email": "x@example.org", "password": "x"}),
    }
    assert responses["redirect to login"].status_code == 302
    assert responses["404 page"].status_code == 404
    assert responses["405 page"].status_code == 405
    assert responses["400 page (no CSRF token)"].status_code == 400

    login(client, "a@example.org")
    responses["403 page"] = client.get("/staff/calls")
    assert responses["403 page"].status_code == 403
    profile = client.get("/auth/profile").get_data(as_text=True)
    client.post("/auth/logout", data={"csrf_token": csrf_token_from(profile)})
    key = new_key()
    get_storage().save(key, PDF)
    document = Document(application_id=application.id, kind=DocumentKind.CV, filename="cv.pdf", storage_key=key,
                        content_type="application/pdf", size=len(PDF), sha256="0" * 64)
    db.session.add(document)
    db.session.commit()

    login(client, staff.email)
    responses["CSV download"] = client.get(f"/staff/calls/{call.id}/applications.csv")
    responses["XLSX download"] = client.get("/staff/outcomes.xlsx")
    responses["CSV download"].get_data()
    assert responses["CSV download"].mimetype == "text/csv"
    assert "spreadsheetml" in responses["XLSX download"].mimetype
    responses["document download (send_file)"] = client.get(f"/documents/{document.id}")
    assert responses["document download (send_file)"].status_code == 200

    for what, response in responses.items():
        response.get_data()  # read streamed bodies (the CSV export) so their database cursors close
        response.close()
        assert_protected(response, what)
        assert "Strict-Transport-Security" not in response.headers, f"{what}: HSTS outside production"


def test_the_too_large_page_carries_the_headers(app, client):
    limit = app.config["MAX_CONTENT_LENGTH"]
    app.config["MAX_CONTENT_LENGTH"] = 1024  # the same check as at 12 MB, without moving 12 MB through the test
    try:
        response = client.post("/auth/login", data={"email": "x" * 2000, "password": "x"})
    finally:
        app.config["MAX_CONTENT_LENGTH"] = limit
    assert response.status_code == 413
    assert "larger than the limit" in response.get_data(as_text=True)
    assert_protected(response, "413 page")


def test_the_limit_page_itself_carries_the_headers(client, app_ctx):
    UserFactory(email="limited@example.org")
    token = csrf_token_from(client.get("/auth/forgot").get_data(as_text=True))
    statuses = [client.post("/auth/forgot", data={"email": "limited@example.org", "csrf_token": token})
                for _ in range(6)]
    assert [r.status_code for r in statuses] == [302] * 5 + [429]
    assert "Too many attempts" in statuses[-1].get_data(as_text=True)
    assert_protected(statuses[-1], "429 page")


def test_forgot_password_is_rate_limited_whatever_email_is_tried(client, app_ctx):
    token = csrf_token_from(client.get("/auth/forgot").get_data(as_text=True))
    statuses = [client.post("/auth/forgot", data={"email": f"nobody{n}@example.org", "csrf_token": token}).status_code
                for n in range(6)]
    assert statuses == [302] * 5 + [429]


@pytest.fixture
def production_app(app_settings, monkeypatch) -> Flask:
    monkeypatch.setenv("SECRET_KEY", "a-production-secret-for-this-test-only")
    prod = create_app("production", **app_settings)
    prod.test_client_class = FreshContextClient
    return prod


def test_production_sends_hsts_and_secure_httponly_lax_cookies(app, production_app, app_ctx):
    UserFactory(email="prod@example.org")
    client = production_app.test_client()
    page = client.get("/auth/login", base_url="https://localhost")
    assert_protected(page, "production login page")
    assert "max-age=" in page.headers["Strict-Transport-Security"]
    response = client.post("/auth/login", base_url="https://localhost",
                           headers={"Referer": "https://localhost/auth/login"},  # CSRF checks it over HTTPS
                           data={"email": "prod@example.org", "password": "correct-horse-battery-staple",
                                 "remember": "y", "csrf_token": csrf_token_from(page.get_data(as_text=True))})
    assert response.status_code == 302, response.get_data(as_text=True)[-1500:]
    cookies = response.headers.getlist("Set-Cookie")
    assert {c.split("=", 1)[0] for c in cookies} >= {"session", "remember_token"}
    for cookie in cookies:
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie, cookie
    not_found = client.get("/no-such-page", base_url="https://localhost")
    assert not_found.status_code == 404 and "Strict-Transport-Security" in not_found.headers


def test_cookies_outside_production_are_httponly_and_lax_but_not_secure(client, app_ctx):
    UserFactory(email="dev@example.org")
    cookies = login(client, "dev@example.org", remember="y").headers.getlist("Set-Cookie")
    assert cookies
    for cookie in cookies:
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie, cookie
