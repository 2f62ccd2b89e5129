"""Data built once for the session and put back, row for row, for each test that asks for it.

Loading the demo (`flask seed-demo`, as `make run` runs it) goes through the services and the questionnaire engine
and takes about 16 s; a dozen tests read it. Each of those tests still gets the data exactly as a fresh load leaves
it: the same rows with the same ids, the sequences at the same place, the same files in the document store, and the
same Redis keys (the outbox messages the load's commits handed to the broker, the cached figures' versions it
bumped). The tables and Redis are emptied after the test as after any other, so a test that changes the data changes
only its own copy.

On PostgreSQL the rows are copied into a schema of their own on the server (INSERT ... SELECT back, no data through
Python); on SQLite they are kept in memory as the driver returns them (plain text, numbers and bytes) and written
back as they were. Redis keys are kept as DUMP gives them and put back with RESTORE.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar, cast
from zoneinfo import ZoneInfo

import redis as redis_lib
import sqlalchemy as sa
from flask import current_app

from fellowship.applications.models import Document
from fellowship.auth.models import User
from fellowship.calls.models import Programme
from fellowship.documents.storage import get_storage
from fellowship.extensions import db

T = TypeVar("T")


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _redis() -> redis_lib.Redis:
    return redis_lib.Redis.from_url(current_app.config["REDIS_URL"])


def _tables() -> list[sa.Table]:
    return list(db.metadata.sorted_tables)  # parents before children


def tables_with_rows() -> list[str]:
    """Our tables that hold at least one row (one statement)."""
    with db.engine.connect() as conn:
        return list(conn.execute(sa.text(" UNION ALL ".join(
            f"SELECT '{table.name}' WHERE EXISTS (SELECT 1 FROM {_quoted(table.name)})"  # noqa: S608 - from metadata
            for table in _tables()))).scalars())


def nothing_stored() -> bool:
    """No row in our tables and no key in Redis: what each test starts from."""
    return not tables_with_rows() and not _redis().dbsize()


@dataclass
class TableSnapshot:
    """Every table's rows, the sequences, the files the rows name and the Redis keys at the moment `take` ran (inside
    an app context), to be `restore`d into empty tables and an empty Redis."""

    name: str
    zones: tuple[str, ...] = ("UTC",)
    taken_on: tuple[Any, ...] = ()
    counts: dict[str, int] = field(default_factory=dict)
    columns: dict[str, list[str]] = field(default_factory=dict)
    #: SQLite: each table's rows as the driver returned them.
    rows: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    #: PostgreSQL: (sequence, last_value, is_called) of every sequence owned by a column of our tables.
    sequences: list[tuple[str, int, bool]] = field(default_factory=list)
    #: The stored files the rows name (key -> bytes), written again if a test removed them.
    files: dict[str, bytes] = field(default_factory=dict)
    #: Redis: key -> (DUMP value, milliseconds to live or 0).
    keys: dict[bytes, tuple[bytes, int]] = field(default_factory=dict)
    built: Any = None

    @property
    def schema(self) -> str:
        return f"snapshot_{self.name}"

    def _today(self) -> tuple[Any, ...]:
        now = datetime.now(UTC)
        return tuple(now.astimezone(ZoneInfo(zone)).date() for zone in self.zones)

    @property
    def fresh(self) -> bool:
        """Taken, and on the same day as now in each of its zones (the data is dated from its day: due dates, ages,
        slots): after midnight, the data is loaded again."""
        return bool(self.taken_on) and self.taken_on == self._today()

    def take(self, built: Any = None) -> None:
        """Save what the tables, the document store and Redis hold now (committed), and `built`: what the builder
        returned (plain values such as ids, handed back by each restore)."""
        db.session.remove()
        self.drop()  # a snapshot of an earlier day
        self.built = built
        with db.engine.connect() as conn:  # the data is dated in these zones' days
            self.zones = tuple(sorted({"UTC", *conn.execute(sa.select(Programme.time_zone)).scalars(),
                                       *conn.execute(sa.select(User.time_zone).where(
                                           User.time_zone.is_not(None))).scalars()}))
        self.taken_on = self._today()
        with db.engine.begin() as conn:
            postgres = conn.dialect.name == "postgresql"
            if postgres:
                conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE"))
                conn.execute(sa.text(f"CREATE SCHEMA {self.schema}"))
            for table in _tables():
                self.columns[table.name] = [column.name for column in table.columns]
                columns = ", ".join(_quoted(c) for c in self.columns[table.name])
                if postgres:
                    self.counts[table.name] = conn.execute(sa.text(
                        f"CREATE TABLE {self.schema}.{_quoted(table.name)} AS "  # noqa: S608 - names from metadata
                        f"SELECT {columns} FROM {_quoted(table.name)}")).rowcount
                else:
                    self.rows[table.name] = [tuple(row) for row in conn.exec_driver_sql(
                        f"SELECT {columns} FROM {_quoted(table.name)}")]  # noqa: S608 - names from metadata
                    self.counts[table.name] = len(self.rows[table.name])
            if postgres:
                owned = conn.execute(sa.text(
                    "SELECT pg_get_serial_sequence(quote_ident(c.relname), a.attname) FROM pg_attribute a "
                    "JOIN pg_class c ON c.oid = a.attrelid WHERE c.relname = ANY(:tables) "
                    "AND c.relnamespace = current_schema()::regnamespace AND a.attnum > 0 AND NOT a.attisdropped "
                    "AND pg_get_serial_sequence(quote_ident(c.relname), a.attname) IS NOT NULL"),
                    {"tables": list(self.columns)}).scalars().all()
                for sequence in owned:
                    last_value, is_called = conn.execute(sa.text(
                        f"SELECT last_value, is_called FROM {sequence}")).one()  # noqa: S608 - from the catalog
                    self.sequences.append((sequence, last_value, is_called))
        storage = get_storage()
        with db.engine.connect() as conn:
            for key in conn.execute(sa.select(Document.storage_key)).scalars():
                with storage.open(key) as stored:
                    self.files[key] = stored.read()
        client = _redis()
        self.keys = {key: (cast(bytes, client.dump(key)), max(client.pttl(key), 0)) for key in client.scan_iter()}

    def restore(self) -> None:
        """Put everything back as it was taken: the rows into the (empty) tables, the sequences where they were, the
        files into the store (those a test removed) and the keys into (empty) Redis."""
        db.session.remove()
        with db.engine.begin() as conn:
            postgres = conn.dialect.name == "postgresql"
            for table in _tables():
                if not self.counts.get(table.name):
                    continue
                names = self.columns[table.name]
                columns = ", ".join(_quoted(c) for c in names)
                if postgres:
                    conn.execute(sa.text(
                        f"INSERT INTO {_quoted(table.name)} ({columns}) "  # noqa: S608 - names from metadata
                        f"SELECT {columns} FROM {self.schema}.{_quoted(table.name)}"))
                else:
                    marks = ", ".join("?" for _ in names)
                    conn.exec_driver_sql(f"INSERT INTO {_quoted(table.name)} ({columns}) VALUES ({marks})",  # noqa: S608
                                         self.rows[table.name])
            for sequence, last_value, is_called in self.sequences:
                conn.execute(sa.text("SELECT setval(:sequence, :value, :called)"),
                             {"sequence": sequence, "value": last_value, "called": is_called})
        storage = get_storage()
        for key, data in self.files.items():
            if not storage.exists(key):
                storage.save(key, data)
        client = _redis()
        for name, (value, ttl) in self.keys.items():
            client.restore(name, ttl, value, replace=True)

    def drop(self) -> None:
        """Forget what was taken (and drop its schema)."""
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE"))
        self.taken_on = ()
        for kept in (self.counts, self.columns, self.rows, self.files, self.keys):
            kept.clear()
        self.sequences.clear()
        self.built = None


def put_data(snapshot: TableSnapshot, build: Callable[[], T]) -> T:
    """What `build` makes and commits (inside an app context), and what it returns (plain values such as ids): built
    into the empty tables and Redis the first time (and on a new day) and saved in `snapshot`, put back from it after
    that. Onto data a test made first, `build` runs there."""
    if not nothing_stored():
        return build()
    if snapshot.fresh:
        snapshot.restore()
        return cast(T, snapshot.built)
    built = build()
    snapshot.take(built)
    return built


def seed_demo() -> None:
    """`flask seed-demo`, as `make run` runs it."""
    result = current_app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, f"flask seed-demo failed: {result.output}\n{result.exception!r}"


def put_demo_data(snapshot: TableSnapshot) -> None:
    """The demo data as `flask seed-demo` loads it (inside an app context), loaded by the command once (see
    put_data)."""
    put_data(snapshot, seed_demo)
