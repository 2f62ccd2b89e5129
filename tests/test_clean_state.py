"""What a test leaves is gone for the next (tests/conftest.py, empty_database): no rows, and on PostgreSQL every
table as TRUNCATE ... RESTART IDENTITY leaves it, also one the test emptied itself or wrote to and rolled back."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask

from fellowship.auth.models import User
from fellowship.extensions import db
from tests.conftest import USED_TABLES, empty_database
from tests.factories import UserFactory
from tests.snapshots import tables_with_rows


def test_emptying_leaves_no_row_and_every_table_as_new(app_ctx: Flask) -> None:
    kept = UserFactory(email="kept@example.org")
    removed = UserFactory(email="removed@example.org")
    db.session.delete(removed)  # a table the test emptied of some rows itself
    db.session.commit()
    db.session.add(User(email="rolled-back@example.org", full_name="Rolled Back", password_hash="x"))  # noqa: S106
    db.session.flush()
    db.session.rollback()  # a row written and rolled back
    assert tables_with_rows() and kept.id

    empty_database()

    assert tables_with_rows() == []
    tables = [t.name for t in db.metadata.sorted_tables]
    with db.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            assert conn.execute(USED_TABLES, {"tables": tables}).scalars().all() == []
    first, second = UserFactory(email="first@example.org"), UserFactory(email="second@example.org")
    assert db.session.scalars(sa.select(User.email)).all() == [first.email, second.email]  # the insertion order
    if db.session.get_bind().dialect.name == "postgresql":
        assert first.id == 1
