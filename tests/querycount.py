"""Count the SQL statements a block of code sends: pages must not grow their query count with data."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from fellowship.extensions import db


@contextmanager
def counted_statements() -> Iterator[list[str]]:
    """Collects every statement sent on the app's engine inside the block (use within an app context)."""
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
