"""Migration 0008 gives every existing account its own random session token, on a database of its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_migrate import downgrade, upgrade

from fellowship.extensions import db, limiter
from tests.conftest import make_app
from tests.scratch_databases import scratch_database


@pytest.fixture
def scratch_database_url(database_url: str, tmp_root: Path) -> Iterator[str]:
    with scratch_database(database_url, tmp_root, "fellowship_migration_0008") as url:
        yield url


def test_existing_accounts_get_distinct_random_session_tokens(app: Flask, app_settings: dict[str, Any],
                                                              scratch_database_url: str):
    scratch = make_app({**app_settings, "SQLALCHEMY_DATABASE_URI": scratch_database_url})
    with scratch.app_context():
        try:
            upgrade(revision="0007")
            with db.engine.begin() as conn:
                for n in range(3):
                    conn.execute(sa.text("INSERT INTO users (email, full_name, password_hash) VALUES (:e, :n, 'x')"),
                                 {"e": f"before{n}@example.org", "n": f"Before {n}"})
            upgrade(revision="0008")
            with db.engine.connect() as conn:
                tokens = conn.execute(sa.text("SELECT session_token FROM users")).scalars().all()
                column = next(c for c in sa.inspect(conn).get_columns("users") if c["name"] == "session_token")
            assert len(tokens) == 3 and len(set(tokens)) == 3
            assert all(token and len(token) >= 40 for token in tokens)
            assert column["nullable"] is False

            downgrade(revision="0007")
            with db.engine.connect() as conn:
                assert "session_token" not in {c["name"] for c in sa.inspect(conn).get_columns("users")}
        finally:
            db.session.remove()
            db.engine.dispose()
            limiter.init_app(app)  # the one Limiter keeps the storage of the last app set up
            # Tasks called by name run in the current (else default) Celery app: the last one made, the scratch one's.
            app.extensions["celery"].set_current()
            app.extensions["celery"].set_default()
