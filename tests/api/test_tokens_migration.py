"""Migration 0018 adds the personal access tokens table (unique hash, indexed owner) and removes it again."""

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
    with scratch_database(database_url, tmp_root, "fellowship_migration_0018") as url:
        yield url


def test_tokens_table_has_a_unique_hash_and_goes_away_on_downgrade(app: Flask, app_settings: dict[str, Any],
                                                                   scratch_database_url: str):
    scratch = make_app({**app_settings, "SQLALCHEMY_DATABASE_URI": scratch_database_url})
    insert = sa.text("INSERT INTO personal_access_tokens (user_id, name, scopes, token_hash, hint, created_at, "
                     "expires_at) VALUES (:u, 'CI', '[\"applications:read\"]', :h, 'fsp_abcd', :c, :e)")
    with scratch.app_context():
        try:
            upgrade(revision="0017")
            with db.engine.begin() as conn:
                conn.execute(sa.text("INSERT INTO users (email, full_name, password_hash, session_token) "
                                     "VALUES ('a@example.org', 'A', 'x', 't')"))
                user_id = conn.execute(sa.text("SELECT id FROM users")).scalar_one()
            upgrade(revision="0018")
            times = {"c": "2026-12-01 00:00:00+00:00", "e": "2027-01-01 00:00:00+00:00"}
            with db.engine.begin() as conn:
                conn.execute(insert, {"u": user_id, "h": "f" * 64, **times})
            with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
                conn.execute(insert, {"u": user_id, "h": "f" * 64, **times})  # the same hash twice
            with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:  # expiring before creation
                conn.execute(insert, {"u": user_id, "h": "e" * 64, "c": times["e"], "e": times["c"]})
            with db.engine.connect() as conn:
                indexes = {i["name"] for i in sa.inspect(conn).get_indexes("personal_access_tokens")}
            assert "ix_personal_access_tokens_user_id" in indexes

            downgrade(revision="0017")
            with db.engine.connect() as conn:
                assert "personal_access_tokens" not in sa.inspect(conn).get_table_names()
        finally:
            db.session.remove()
            db.engine.dispose()
            limiter.init_app(app)  # the one Limiter keeps the storage of the last app set up
            app.extensions["celery"].set_current()
            app.extensions["celery"].set_default()
