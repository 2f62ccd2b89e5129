"""How requests end their transaction: one that only read commits (keeping PostgreSQL's prepared plans); anything
that may have written, and any request that failed, is rolled back as before."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select, text, update

from fellowship.auth.models import User
from fellowship.extensions import db
from tests.conftest import make_app
from tests.factories import UserFactory

#: A write that does not look like one. PostgreSQL: a SELECT over a data-modifying CTE (it starts with WITH). pysqlite
#: runs a WITH-prefixed write outside any transaction (it opens one only before INSERT/UPDATE/DELETE/REPLACE), so
#: on SQLite the case is an indented, lower-case UPDATE.
DISGUISED_WRITE = {
    "postgresql": "WITH changed AS (UPDATE users SET full_name = 'Changed' WHERE id = :id RETURNING id) "
                  "SELECT count(*) FROM changed",
    "sqlite": "\n    update users set full_name = 'Changed' where id = :id",
}


@pytest.fixture
def probe_app(app: Flask, app_settings: dict[str, Any]) -> Iterator[Flask]:
    """An app on the suite's database with routes that read, write without committing, or fail."""
    probe = make_app(app_settings)
    probe.test_client_class = FlaskClient  # each request pushes its own app context and ends it, as in a server

    @probe.get("/probe/read/<int:user_id>")
    def read(user_id: int) -> str:
        return db.session.scalar(select(User.full_name).where(User.id == user_id)) or ""

    @probe.get("/probe/prepared")
    def prepared() -> str:
        if db.session.get_bind().dialect.name != "postgresql":
            return "0"
        return str(db.session.scalar(text("SELECT count(*) FROM pg_prepared_statements")))

    writes = {
        "orm": lambda uid: db.session.get(User, uid).__setattr__("full_name", "Changed"),
        "orm-flushed": lambda uid: (setattr(db.session.get(User, uid), "full_name", "Changed"), db.session.flush()),
        "bulk": lambda uid: db.session.execute(update(User).where(User.id == uid).values(full_name="Changed")),
        "core": lambda uid: db.session.connection().execute(
            text("UPDATE users SET full_name = 'Changed' WHERE id = :id"), {"id": uid}),
        "disguised": lambda uid: db.session.execute(text(DISGUISED_WRITE[db.session.get_bind().dialect.name]),
                                                    {"id": uid}),
    }

    @probe.get("/probe/write/<kind>/<int:user_id>")
    def write(kind: str, user_id: int) -> str:
        writes[kind](user_id)
        return "written, not committed"

    @probe.get("/probe/fail/<int:user_id>")
    def fail(user_id: int) -> str:
        db.session.scalar(select(User.full_name).where(User.id == user_id))
        raise RuntimeError("the view failed after reading")

    yield probe
    with probe.app_context():
        db.engine.dispose()


def ends(probe: Flask) -> list[str]:
    """Records how each transaction on the probe app's engine ends."""
    seen: list[str] = []
    with probe.app_context():
        engine = db.engine
    event.listen(engine, "commit", lambda conn: seen.append("commit"))
    event.listen(engine, "rollback", lambda conn: seen.append("rollback"))
    return seen


def full_name(app_ctx: Flask, user_id: int) -> str | None:
    db.session.expire_all()
    return db.session.scalar(select(User.full_name).where(User.id == user_id))


def test_a_request_that_only_read_commits_and_the_database_keeps_its_prepared_plans(probe_app, app_ctx):
    user = UserFactory(full_name="Amina Njeri")
    db.session.commit()
    seen = ends(probe_app)
    client = probe_app.test_client()
    for _ in range(8):  # psycopg prepares a statement from its 5th run on a connection
        assert client.get(f"/probe/read/{user.id}").get_data(as_text=True) == "Amina Njeri"
    assert seen == ["commit"] * 8
    prepared = int(client.get("/probe/prepared").get_data(as_text=True))
    if db.engine.dialect.name == "postgresql":
        assert prepared >= 1  # a rollback would have made psycopg forget it
    assert full_name(app_ctx, user.id) == "Amina Njeri"


@pytest.mark.parametrize("kind", ["orm", "orm-flushed", "bulk", "core", "disguised"])
def test_a_request_that_wrote_without_committing_is_rolled_back(probe_app, app_ctx, kind):
    user = UserFactory(full_name="Amina Njeri")
    db.session.commit()
    seen = ends(probe_app)
    client = probe_app.test_client()
    assert client.get(f"/probe/write/{kind}/{user.id}").status_code == 200
    assert "commit" not in seen
    assert full_name(app_ctx, user.id) == "Amina Njeri"
    # and the next request, which only reads, sees the name unchanged and commits
    assert client.get(f"/probe/read/{user.id}").get_data(as_text=True) == "Amina Njeri"
    assert seen[-1] == "commit"


def test_a_request_that_failed_is_rolled_back(probe_app, app_ctx):
    user = UserFactory(full_name="Amina Njeri")
    db.session.commit()
    seen = ends(probe_app)
    probe_app.config["PROPAGATE_EXCEPTIONS"] = False  # a failing view answers 500, as in production
    client = probe_app.test_client()
    assert client.get(f"/probe/fail/{user.id}").status_code == 500
    assert seen == ["rollback"]
