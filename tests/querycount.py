"""Count the SQL statements a block of code sends: pages must not grow their query count with data."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from fellowship.extensions import db
from fellowship.health.services import banner_health


@contextmanager
def counted_statements() -> Iterator[list[str]]:
    """Collects every statement sent on the app's engine inside the block (use within an app context).

    The staff pages' health banner is read from the database at most once per HEALTH_BANNER_CACHE_SECONDS per process,
    whatever the page and its data: it is read here, before counting, so that whether the cache happened to expire
    between two measured views cannot change their counts (it made a panel-page comparison read 12 against 11).
    """
    banner_health()
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
