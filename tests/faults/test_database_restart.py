"""Drill: the database restarts under the running web app; requests fail with a friendly 503 (anonymous and logged
in alike), then work again without restarting the app."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from fellowship.extensions import db, limiter
from tests.conftest import login, make_app
from tests.servers import PostgresServer

pytestmark = pytest.mark.faults


def test_a_database_restart_gives_a_friendly_503_then_the_app_recovers_by_itself(app_settings: dict[str, Any],
                                                                                  app: Any, report_proof: Any) -> None:
    server = PostgresServer()
    server.start()
    try:
        engine = sa.create_engine(server.url(), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text("CREATE DATABASE drill"))
        engine.dispose()
        own = make_app({**app_settings, "SQLALCHEMY_DATABASE_URI": server.url("drill")})
        with own.app_context():
            upgrade()
            from tests.factories import UserFactory

            UserFactory(email="drill@example.org")
            db.session.remove()
        client = own.test_client()
        member = own.test_client()
        counts = {"ok_before": 0, "unavailable": 0, "ok_after": 0}

        assert client.get("/auth/login").status_code == 200
        assert login(member, "drill@example.org").status_code == 302
        assert "Log out" in member.get("/applications/").get_data(as_text=True)
        counts["ok_before"] += 2

        server.stop("fast")
        for who, page in (("anonymous", client.get("/calls")), ("logged in", member.get("/applications/"))):
            assert page.status_code == 503, who  # the logged-in page used to be the server's bare 500
            counts["unavailable"] += 1
            body = page.get_data(as_text=True)
            assert "temporarily unavailable" in body.lower() and "Traceback" not in body and "psycopg" not in body
            assert page.headers["Content-Security-Policy"] and page.headers["X-Frame-Options"] == "DENY", who

        server.restart()
        assert client.get("/calls").status_code == 200  # same app, same pool: reconnects by itself
        page = member.get("/applications/")  # still logged in: the outage did not end the session
        assert page.status_code == 200 and "Log out" in page.get_data(as_text=True)
        counts["ok_after"] += 2
        report_proof("database restarted under the web app", **counts)
        assert counts == {"ok_before": 2, "unavailable": 2, "ok_after": 2}
        with own.app_context():
            db.engine.dispose()
    finally:
        server.cleanup()
        limiter.init_app(app)  # the one Limiter keeps the storage of the last app set up
