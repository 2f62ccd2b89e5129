"""The foundation: schema from migrations, configuration, error pages, headers, CLI, dev mail sink."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select

from config import ProductionConfig
from fellowship import create_app
from fellowship.auth.models import Role, User
from fellowship.auth.passwords import verify_password
from fellowship.extensions import db
from tests.servers import free_port


def test_the_migrated_schema_is_exactly_the_models_schema(app, app_ctx):
    """`flask db upgrade` ran on an empty database at session start; autogenerate finds nothing to add."""
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, db.metadata) == []


def test_production_refuses_to_start_without_a_secret_key(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY must be set"):
        ProductionConfig()


def test_production_cookies_are_secure(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 32)
    config = ProductionConfig()
    assert config.SESSION_COOKIE_SECURE and config.REMEMBER_COOKIE_SECURE
    assert config.SESSION_COOKIE_HTTPONLY and config.SESSION_COOKIE_SAMESITE == "Lax"


def test_error_pages_are_friendly_and_leak_nothing(client, app_ctx):
    response = client.get("/no/such/page")
    body = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "There is nothing here" in body and "Traceback" not in body and "werkzeug" not in body.lower()
    assert client.get("/admin/users/1/roles/grant").status_code == 405


def test_every_response_carries_security_headers(client, app_ctx):
    for path in ("/", "/auth/login", "/no/such/page"):
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "object-src 'none'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"


def test_pages_load_no_external_assets(client, app_ctx):
    html = client.get("/auth/register").get_data(as_text=True)
    assert "http://" not in html and "https://" not in html


def test_create_admin_command_makes_a_confirmed_admin(app, app_ctx):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-admin", "--email", "Boss@Example.org", "--name", "Boss",
                                 "--password", "solar-panel-kettle-88"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    user = db.session.scalar(select(User).where(User.email == "boss@example.org"))
    assert user is not None and user.email_confirmed and Role.ADMIN in user.role_set
    assert verify_password(user.password_hash, "solar-panel-kettle-88")

    weak = runner.invoke(args=["create-admin", "--email", "b@example.org", "--name", "B", "--password", "password"])
    assert weak.exit_code != 0 and "too common" in weak.output


def test_seed_demo_loads_an_open_call_with_applications_in_every_state_and_is_idempotent(app, demo):
    from fellowship.applications.models import Application, ApplicationStatus
    from fellowship.calls.models import Call, CallStatus

    # `demo` ran `flask seed-demo` on the empty database and checked it succeeded (once a session; its rows are put
    # back for each test that asks: tests/snapshots.py): what it loaded is counted, then the command runs again.
    runner = app.test_cli_runner()
    db.session.expire_all()
    counts = [db.session.scalar(select(func.count()).select_from(model)) for model in (User, Application, Call)]
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    db.session.expire_all()
    assert [db.session.scalar(select(func.count()).select_from(model)) for model in (User, Application, Call)] == counts

    open_call = db.session.scalars(select(Call).where(Call.status == CallStatus.OPEN)).one()
    in_open_call = db.session.scalar(select(func.count()).select_from(Application)
                                     .where(Application.call_id == open_call.id))
    assert 45 <= in_open_call <= 60
    states = set(db.session.scalars(select(Application.status).distinct()))
    assert states == set(ApplicationStatus)
    countries = set(db.session.scalars(select(Application.nationality).distinct()))
    assert len(countries) >= 12


def test_dev_mail_page_shows_what_the_local_sink_received(app_settings, tmp_path):
    from fellowship.devtools.mailsink import start_mail_sink

    port = free_port()
    sink = start_mail_sink(tmp_path / "mail", port=port)
    try:
        email = EmailMessage()
        email["Subject"], email["From"], email["To"] = "Hello dev", "a@example.org", "b@example.org"
        email.set_content("Open http://127.0.0.1:5000/auth/confirm/abc to confirm.")
        with smtplib.SMTP("127.0.0.1", port, timeout=5) as smtp:
            smtp.send_message(email)
    finally:
        sink.stop()
    dev_app = create_app("development", **{**app_settings, "MAIL_SINK_DIR": str(tmp_path / "mail")})
    page = dev_app.test_client().get("/dev/mail").get_data(as_text=True)
    assert "Hello dev" in page and 'href="http://127.0.0.1:5000/auth/confirm/abc"' in page


def test_the_dev_mail_page_does_not_exist_in_production(monkeypatch, app_settings):
    monkeypatch.setenv("SECRET_KEY", "x" * 32)
    prod = create_app("production", **{**app_settings, "MAIL_SINK_DIR": "/tmp/anything"})
    assert prod.test_client().get("/dev/mail").status_code == 404


def test_every_scheduled_job_names_a_registered_task(app):
    """A typo in the beat schedule would silently never run; every entry must name a task the worker knows."""
    registered = set(app.extensions["celery"].tasks)
    schedule = app.config["CELERY"]["beat_schedule"]
    assert {entry["task"] for entry in schedule.values()} <= registered
    assert len(schedule) >= 7
