"""Heartbeats and health: record that a worker or the beat is alive, and tell what is stale.

What is checked, and what "stale" means (HEALTH_STALE_AFTER_SECONDS, default 10 minutes):
- worker: no worker recorded a heartbeat within the threshold (a worker records every HEARTBEAT_SECONDS from its
  event loop while it is connected to the broker, so a dead, hung or disconnected worker goes quiet);
- beat: the beat did not tick within the threshold (it records from its own scheduler loop, so a beat is never
  mistaken for a worker or the other way round);
- outbox: the oldest email that is due but unsent has waited longer than the threshold;
- database, redis (deep check only): a SELECT 1 and a PING fail.
When tasks run inside the web process (TASKS_IN_PROCESS, development without Redis) there is no worker or beat to
watch, and only the outbox backlog counts.

The banner on staff pages reads `banner_health()`, cached in the process for HEALTH_BANNER_CACHE_SECONDS, so a page
costs at most one memory read and, every half minute per web process, one small query.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import delete, func, select, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from fellowship.documents.storage import StorageUnavailable, get_storage
from fellowship.extensions import db
from fellowship.health.models import Heartbeat, ProcessKind
from fellowship.models import utcnow
from fellowship.notifications.models import MessageStatus, OutboxMessage
from fellowship.outages import one_line

log = logging.getLogger(__name__)

#: Rows of processes not seen for this long are removed when a process of the same kind starts.
FORGET_AFTER = timedelta(days=7)
_BANNER_CACHE = "health_banner_cache"


def record_heartbeat(connection: Connection, kind: ProcessKind, node: str, *, started_at: datetime,
                     pid: int | None = None) -> None:
    """Upsert the heartbeat of process `node` of `kind` as seen now (one statement; the caller commits)."""
    now = utcnow()
    values = {"kind": kind, "node": node[:255], "pid": pid or os.getpid(), "started_at": started_at,
              "last_seen_at": now}
    insert = postgresql_insert if connection.dialect.name == "postgresql" else sqlite_insert
    stmt = insert(Heartbeat).values(**values)
    connection.execute(stmt.on_conflict_do_update(
        index_elements=["kind", "node"],
        set_={"pid": stmt.excluded.pid, "started_at": stmt.excluded.started_at, "last_seen_at": now}))


def forget_old_heartbeats(connection: Connection, kind: ProcessKind) -> None:
    """Remove rows of processes of `kind` gone for a week (worker node names change with every test run)."""
    connection.execute(delete(Heartbeat).where(Heartbeat.kind == kind,
                                               Heartbeat.last_seen_at < utcnow() - FORGET_AFTER))


def describe_age(seconds: float) -> str:
    """A duration as people say it: "40 seconds", "14 minutes", "2 hours 5 minutes", "3 days"."""
    seconds = max(int(seconds), 0)
    if seconds < 120:
        return ngettext("%(num)d second", "%(num)d seconds", seconds)
    minutes = seconds // 60
    if minutes < 120:
        return ngettext("%(num)d minute", "%(num)d minutes", minutes)
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        hours_text = ngettext("%(num)d hour", "%(num)d hours", hours)
        if not minutes:
            return hours_text
        # Translators: a duration of hours and minutes, "2 hours 5 minutes".
        return _("%(hours)s %(minutes)s", hours=hours_text,
                 minutes=ngettext("%(num)d minute", "%(num)d minutes", minutes))
    return ngettext("%(num)d day", "%(num)d days", hours // 24)


@dataclass(frozen=True)
class ProcessState:
    """When a kind of process (any of its nodes) was last seen, and whether that is too long ago."""

    kind: ProcessKind
    last_seen_at: datetime | None
    age_seconds: float | None
    stale: bool
    expected: bool = True  #: False when tasks run in the web process: nothing to watch

    @property
    def label(self) -> str:
        if not self.expected:
            return _("not used (tasks run in the web process)")
        if self.last_seen_at is None:
            return _("never seen")
        assert self.age_seconds is not None
        age = describe_age(self.age_seconds)
        return _("not seen for %(age)s", age=age) if self.stale else _("seen %(age)s ago", age=age)

    def as_json(self) -> dict[str, Any]:
        return {"last_seen_at": self.last_seen_at.isoformat() if self.last_seen_at else None,
                "age_seconds": None if self.age_seconds is None else round(self.age_seconds),
                "stale": self.stale, "expected": self.expected}


@dataclass(frozen=True)
class Health:
    """What the staff pages, the banner and the deep health check report."""

    checked_at: datetime
    threshold_seconds: int
    worker: ProcessState
    beat: ProcessState
    #: Pending emails whose send time has come, and how long the oldest of them has waited.
    due_messages: int
    oldest_due_age_seconds: float | None
    #: Only filled by the deep check: None when not checked, else whether it answered.
    database_ok: bool | None = None
    redis_ok: bool | None = None
    storage_ok: bool | None = None  #: the document store (folder or bucket) answers
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def backlog_stale(self) -> bool:
        return self.oldest_due_age_seconds is not None and self.oldest_due_age_seconds > self.threshold_seconds

    @property
    def backlog_label(self) -> str:
        if self.oldest_due_age_seconds is None:
            return _("none waiting")
        return ngettext("%(num)d email due, the oldest waiting %(age)s",
                        "%(num)d emails due, the oldest waiting %(age)s", self.due_messages,
                        age=describe_age(self.oldest_due_age_seconds))

    @property
    def stale(self) -> list[str]:
        """Names of what is stale or down, in a fixed order: database, redis, storage, worker, beat, outbox."""
        names = []
        if self.database_ok is False:
            names.append("database")
        if self.redis_ok is False:
            names.append("redis")
        if self.storage_ok is False:
            names.append("storage")
        if self.worker.stale:
            names.append("worker")
        if self.beat.stale:
            names.append("beat")
        if self.backlog_stale:
            names.append("outbox")
        return names

    def problems(self) -> list[str]:
        """One sentence per stale part, for the banner."""
        sentences = []
        worker, beat = self.worker, self.beat
        if worker.stale:
            sentences.append(
                _("The background worker has never been seen: emails and exports wait.") if worker.age_seconds is None
                else _("The background worker has not been seen for %(age)s: emails and exports wait.",
                       age=describe_age(worker.age_seconds)))
        if beat.stale:
            sentences.append(
                _("The scheduler (beat) has never been seen: scheduled jobs and email retries do not run.")
                if beat.age_seconds is None
                else _("The scheduler (beat) has not been seen for %(age)s: scheduled jobs and email retries do not "
                       "run.", age=describe_age(beat.age_seconds)))
        if self.backlog_stale:
            assert self.oldest_due_age_seconds is not None
            sentences.append(ngettext("%(num)d email is due but unsent; the oldest has waited %(age)s.",
                                      "%(num)d emails are due but unsent; the oldest has waited %(age)s.",
                                      self.due_messages, age=describe_age(self.oldest_due_age_seconds)))
        return sentences

    def as_json(self) -> dict[str, Any]:
        return {
            "status": "unavailable" if self.stale else "ok",
            "stale": self.stale,
            "checked_at": self.checked_at.isoformat(),
            "threshold_seconds": self.threshold_seconds,
            "database": {"ok": self.database_ok},
            "redis": {"ok": self.redis_ok},
            "storage": {"ok": self.storage_ok},
            "worker": self.worker.as_json(),
            "beat": self.beat.as_json(),
            "outbox": {"due": self.due_messages,
                       "oldest_due_age_seconds": None if self.oldest_due_age_seconds is None
                       else round(self.oldest_due_age_seconds),
                       "stale": self.backlog_stale},
            **({"errors": self.errors} if self.errors else {}),
        }


def _process_state(kind: ProcessKind, last_seen_at: datetime | None, now: datetime, threshold: int,
                   expected: bool) -> ProcessState:
    if not expected:
        return ProcessState(kind, last_seen_at, None, stale=False, expected=False)
    if last_seen_at is None:
        return ProcessState(kind, None, None, stale=True)
    age = (now - last_seen_at).total_seconds()
    return ProcessState(kind, last_seen_at, age, stale=age > threshold)


def read_health() -> Health:
    """Heartbeats and the outbox backlog as they are now, in one statement."""
    config = current_app.config
    now = utcnow()
    threshold = int(config["HEALTH_STALE_AFTER_SECONDS"])
    expected = not config.get("TASKS_IN_PROCESS")

    def last_seen(kind: ProcessKind) -> Any:
        return select(func.max(Heartbeat.last_seen_at)).where(Heartbeat.kind == kind).scalar_subquery()

    due = (OutboxMessage.status == MessageStatus.PENDING, OutboxMessage.next_attempt_at <= now)
    row = db.session.execute(select(
        last_seen(ProcessKind.WORKER), last_seen(ProcessKind.BEAT),
        select(func.count()).select_from(OutboxMessage).where(*due).scalar_subquery(),
        select(func.min(OutboxMessage.next_attempt_at)).where(*due).scalar_subquery(),
    )).one()
    worker_seen, beat_seen, due_count, oldest_due = row
    # The subqueries bypass the column types; SQLite gives back naive UTC (or text), PostgreSQL aware datetimes.
    worker_seen, beat_seen, oldest_due = (_aware(value) for value in (worker_seen, beat_seen, oldest_due))
    return Health(
        checked_at=now, threshold_seconds=threshold,
        worker=_process_state(ProcessKind.WORKER, worker_seen, now, threshold, expected),
        beat=_process_state(ProcessKind.BEAT, beat_seen, now, threshold, expected),
        due_messages=int(due_count or 0),
        oldest_due_age_seconds=None if oldest_due is None else max((now - oldest_due).total_seconds(), 0.0),
    )


def _aware(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _redis_ping() -> None:
    app: Any = current_app._get_current_object()  # type: ignore[attr-defined]
    client = app.extensions.get("health_redis")
    if client is None:
        client = app.extensions["health_redis"] = redis.Redis.from_url(
            app.config["CELERY"]["broker_url"], socket_connect_timeout=1, socket_timeout=1)
    client.ping()


def deep_health() -> Health:
    """Everything, uncached: the database, Redis and the document store answer, heartbeats are fresh, the outbox
    is not backed up."""
    errors: dict[str, str] = {}
    redis_ok: bool | None = None
    try:
        get_storage().check()
        storage_ok = True
    except StorageUnavailable as exc:
        storage_ok = False
        errors["storage"] = one_line(exc.cause or exc)
    if not current_app.config.get("TASKS_IN_PROCESS"):
        try:
            _redis_ping()
            redis_ok = True
        except redis.RedisError as exc:
            redis_ok = False
            errors["redis"] = one_line(exc)
    try:
        db.session.execute(text("SELECT 1"))
        health = read_health()
    except SQLAlchemyError as exc:
        db.session.rollback()
        errors["database"] = one_line(getattr(exc, "orig", None) or exc)
        threshold = int(current_app.config["HEALTH_STALE_AFTER_SECONDS"])
        return Health(checked_at=utcnow(), threshold_seconds=threshold,  # heartbeats unknown: not read
                      worker=ProcessState(ProcessKind.WORKER, None, None, stale=False),
                      beat=ProcessState(ProcessKind.BEAT, None, None, stale=False),
                      due_messages=0, oldest_due_age_seconds=None, database_ok=False, redis_ok=redis_ok,
                      storage_ok=storage_ok, errors=errors)
    return replace(health, database_ok=True, redis_ok=redis_ok, storage_ok=storage_ok, errors=errors)


def banner_health() -> Health:
    """`read_health()` as this process last read it, at most HEALTH_BANNER_CACHE_SECONDS ago."""
    app: Any = current_app._get_current_object()  # type: ignore[attr-defined]
    cached: tuple[float, Health] | None = app.extensions.get(_BANNER_CACHE)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    health = read_health()
    app.extensions[_BANNER_CACHE] = (time.monotonic() + app.config["HEALTH_BANNER_CACHE_SECONDS"], health)
    return health


def forget_banner_health() -> None:
    """Drop this process's cached reading (tests, and after a change staff should see at once)."""
    current_app.extensions.pop(_BANNER_CACHE, None)
