"""A request whose transaction only read ends it with COMMIT, so PostgreSQL keeps its query plans.

psycopg prepares a statement that a connection runs often (from the 5th run), and PostgreSQL then settles on one
plan for it instead of planning every run. But psycopg forgets its prepared statements whenever a transaction is
rolled back, and Flask-SQLAlchemy ends every request by rolling back whatever is left open: the app never reused
a plan, and each list page planned its joins on every view (half of the reviewer list's query time at 50,000
applications). For a transaction that wrote nothing, COMMIT and ROLLBACK leave the data the same, so such a
transaction is committed at the end of the request; one that may have written anything (any statement other than
a SELECT, whatever issued it), or a request that failed, is rolled back exactly as before.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, SessionTransaction

log = logging.getLogger(__name__)

#: Set on a connection (its `info`, which lives with the DBAPI connection) by any statement that is not a SELECT,
#: cleared when its transaction ends.
_WROTE = "fellowship_transaction_wrote"
#: The connection a session's transaction runs on, kept in the session's `info` until that transaction ends.
_CONNECTION = "fellowship_transaction_connection"


def only_read(statement: str) -> bool:
    """Whether a statement reads without writing: a plain SELECT (a CTE may hide an UPDATE, so WITH counts as a
    write, as does everything else)."""
    return statement.lstrip()[:6].upper() == "SELECT"


@event.listens_for(Engine, "before_cursor_execute")
def _note_writes(conn: Connection, _cursor: Any, statement: str, *_args: Any) -> None:
    if not only_read(statement):
        conn.info[_WROTE] = True


@event.listens_for(Engine, "commit")
@event.listens_for(Engine, "rollback")
def _forget_writes(conn: Connection) -> None:
    conn.info.pop(_WROTE, None)


@event.listens_for(Session, "after_begin")
def _keep_connection(session: Session, _transaction: SessionTransaction, connection: Connection) -> None:
    session.info[_CONNECTION] = connection


@event.listens_for(Session, "after_transaction_end")
def _drop_connection(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_CONNECTION, None)


def init_app(app: Flask, db: SQLAlchemy) -> None:
    """Registered after `db.init_app`, so it runs before Flask-SQLAlchemy's teardown closes the session."""

    @app.teardown_appcontext
    def commit_if_only_read(error: BaseException | None) -> None:
        if error is not None or not db.session.registry.has():
            return
        session = db.session.registry()
        connection: Connection | None = session.info.get(_CONNECTION)
        transaction = session.get_transaction()
        if (connection is None or transaction is None or not transaction.is_active or connection.invalidated
                or connection.info.get(_WROTE) or session.new or session.dirty or session.deleted):
            return  # nothing to end, it failed, or it may have written: Flask-SQLAlchemy rolls it back
        try:
            session.commit()
        except SQLAlchemyError:  # the database went away: rolled back (or dropped) by Flask-SQLAlchemy as before
            log.warning("could not end a read-only transaction with COMMIT", exc_info=True)
