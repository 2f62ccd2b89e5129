"""Row locks that mean the same on PostgreSQL and SQLite, for check-then-write sequences a single UPDATE cannot hold.

A service that reads something (a status, a count, the current row) and then writes on the strength of it takes
the row's lock first and reads after: whatever another request commits meanwhile is then either already visible
or waits until this transaction ends. PostgreSQL: SELECT ... FOR NO KEY UPDATE (rows that merely refer to the
locked one, such as a new document of an application, are not held up). SQLite has no row locks: a write that
changes nothing takes the database's write lock, which every other writer then waits for.
"""

from __future__ import annotations

import functools
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update

from fellowship.extensions import db


def lock_row(model: Any, row_id: int, *, shared: bool = False) -> None:
    """Hold the row `row_id` of `model` (a mapped class with an `id`) until the transaction ends.

    `shared`: FOR SHARE on PostgreSQL, so holders of the shared lock do not wait for each other, only for (and
    against) the exclusive holders; the holder must then not write the row itself. SQLite has one write lock."""
    if db.session.get_bind().dialect.name == "sqlite":
        table = cast(Table, model.__table__)
        # On the connection, not the ORM session: a no-op write must not look like a change to the cache listeners.
        # Columns with an onupdate default (updated_at) are set to themselves too, so nothing at all changes.
        same = {column.name: column for column in table.c if column.onupdate is not None or column.name == "id"}
        db.session.connection().execute(update(table).where(table.c.id == row_id).values(same))
    else:
        db.session.execute(_lock_statement(model, shared), {"row_id": row_id})


@functools.cache
def _lock_statement(model: Any, shared: bool) -> Any:
    """SELECT id ... FOR SHARE / FOR NO KEY UPDATE by the bound `row_id`, built once per process and kind: every
    submit takes a lock, and building and keying the statement again was a sixth of the lock's Python time
    (py-spy on make bench-surge)."""
    stmt = select(model.id).where(model.id == bindparam("row_id"))
    return stmt.with_for_update(read=True) if shared else stmt.with_for_update(key_share=True)
