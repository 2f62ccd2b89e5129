"""Error pages render without the database: a logged-in user gets the friendly 503, not the server's bare 500."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from fellowship.auth.models import Role
from fellowship.extensions import db, limiter
from tests.conftest import login, make_app
from tests.factories import UserFactory
from tests.servers import free_port

SECURITY_HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy")


@pytest.fixture
def unreachable_database_app(app: Flask, app_settings: dict[str, Any], database_url: str,
                             tmp_path: Path) -> Iterator[Flask]:
    """The same app (same secret key, so the same session cookies) pointed at a database that cannot be reached:
    a closed port for PostgreSQL, a file in a folder that does not exist for SQLite. Both raise OperationalError."""
    if database_url.startswith("sqlite"):
        unreachable = f"sqlite:///{tmp_path / 'missing-folder' / 'fellowship.db'}"
    else:
        unreachable = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/fellowship"
    down = make_app({**app_settings, "SQLALCHEMY_DATABASE_URI": unreachable})
    try:
        yield down
    finally:
        with down.app_context():
            db.engine.dispose()
        limiter.init_app(app)  # the one Limiter keeps the storage of the last app set up
        app.extensions["celery"].set_default()  # and tasks called by name run in the last Celery app made


def logged_in_cookie(client: FlaskClient, email: str) -> str:
    """The session cookie of `email`, logged in, once the welcome message has been shown."""
    assert login(client, email).status_code == 302
    page = client.get("/applications/")
    assert page.status_code == 200 and "Log out" in page.get_data(as_text=True)
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


@pytest.mark.parametrize("roles", [[Role.APPLICANT], [Role.STAFF]], ids=["applicant", "staff"])
def test_a_logged_in_page_with_the_database_unreachable_answers_the_friendly_503(
        client: FlaskClient, app_ctx: Flask, unreachable_database_app: Flask, roles: list[Role]) -> None:
    user = UserFactory(roles=roles)
    session_cookie = logged_in_cookie(client, user.email)

    down = unreachable_database_app.test_client()
    down.set_cookie("session", session_cookie)
    for url in ("/applications/", "/", "/staff/outbox/"):
        page = down.get(url)
        body = page.get_data(as_text=True)
        assert page.status_code == 503, (url, body[:500])
        assert "Temporarily unavailable" in body and "briefly unavailable" in body
        assert "Traceback" not in body and "psycopg" not in body and "sqlite" not in body.lower()
        assert user.full_name not in body and "Log out" not in body  # no menu that needs the user
        assert all(page.headers.get(name) for name in SECURITY_HEADERS), dict(page.headers)
        assert page.headers["Retry-After"] == "30"


def test_an_error_page_found_while_the_database_is_unreachable_still_renders(
        client: FlaskClient, app_ctx: Flask, unreachable_database_app: Flask) -> None:
    """A 404 for a logged-in user: its page would show the user's menu, which cannot be loaded; it shows the page
    without it instead of failing."""
    session_cookie = logged_in_cookie(client, UserFactory().email)
    down = unreachable_database_app.test_client()
    down.set_cookie("session", session_cookie)
    page = down.get("/static/no-such-file.css")
    assert page.status_code == 404 and "Not found" in page.get_data(as_text=True)


def test_error_pages_keep_the_full_menu_when_the_database_is_up(client: FlaskClient, app_ctx: Flask) -> None:
    user = UserFactory()
    login(client, user.email)
    page = client.get("/no-such-page")
    assert page.status_code == 404 and user.full_name in page.get_data(as_text=True)
