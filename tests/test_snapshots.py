"""The demo put back from the session's snapshot (tests/snapshots.py) is the demo as loaded: the same rows, the
sequences where they were, the stored files, and the outbox messages handed to the broker again."""

from __future__ import annotations

from typing import Any

import redis as redis_lib
import sqlalchemy as sa
from flask import Flask

from fellowship.applications.models import Document
from fellowship.documents.storage import get_storage
from fellowship.extensions import db
from fellowship.notifications.models import OutboxMessage
from tests.conftest import empty_database
from tests.snapshots import TableSnapshot, put_demo_data


def every_row() -> dict[str, list[Any]]:
    with db.engine.connect() as conn:
        return {table.name: [tuple(row) for row in conn.execute(
                    sa.select(table).order_by(*table.primary_key.columns))]
                for table in db.metadata.sorted_tables}


def sequence_positions() -> dict[str, tuple[int, bool]]:
    """PostgreSQL's sequences (SQLite gives the next row the largest id plus one: nothing to keep)."""
    with db.engine.connect() as conn:
        if conn.dialect.name != "postgresql":
            return {}
        return {name: (value, called) for name, value, called in conn.execute(sa.text(
            "SELECT sequencename, last_value, last_value IS NOT NULL FROM pg_sequences "
            "WHERE schemaname = current_schema()"))}


def redis_state(client: redis_lib.Redis) -> dict[bytes, bytes]:
    return {key: client.dump(key) for key in client.scan_iter()}


def test_the_demo_put_back_has_the_loaded_rows_sequences_files_and_redis_keys(
        app: Flask, demo_snapshot: TableSnapshot) -> None:
    broker = redis_lib.Redis.from_url(app.config["REDIS_URL"])
    with app.app_context():
        put_demo_data(demo_snapshot)
        rows, sequences, keys = every_row(), sequence_positions(), redis_state(broker)
        assert len(rows["users"]) > 100 and rows["documents"] and rows["outbox_messages"]
        assert broker.llen("celery") > 0, "the load's emails were handed to the broker"

        snapshot = TableSnapshot("check")
        try:
            snapshot.take()
            removed = db.session.scalars(sa.select(Document.storage_key).order_by(Document.id)).first()
            assert removed is not None
            get_storage().delete(removed)  # as a test that deletes a document does
            empty_database()
            broker.flushdb()
            assert not db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage))

            snapshot.restore()
            assert every_row() == rows
            assert sequence_positions() == sequences
            assert get_storage().exists(removed)
            assert redis_state(broker) == keys
        finally:
            snapshot.drop()

