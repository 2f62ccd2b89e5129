"""Heartbeats from inside the Celery processes, and one-line logs for the broker outages they live through.

- Worker: a consumer bootstep puts a repeating timer on the worker's event loop. The timer only fires while the
  consumer runs (connected to the broker, its loop turning), so a dead, hung or disconnected worker goes quiet.
- Beat: the scheduler class (`beat_scheduler`) records on its own tick, whether beat runs alone (production) or
  embedded in a worker (`--beat`, development); it never relies on a task reaching a worker, so a quiet worker
  cannot make the beat look dead or the other way round. It wakes at least every HEARTBEAT_SECONDS to do so.
- The database write happens on a thread of the process's own, with a connection opened for it (no pool: forked
  pool children inherit nothing), so a slow database never stalls the event loop or the schedule.
- Broker outages: beat logs one line when sending scheduled tasks starts failing and one when it works again
  (Celery logs a stack and a traceback on every tick); a worker's bootstep errors caused by a lost connection
  (Gossip's restart while Redis is away) become one warning line.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from typing import Any

from celery import Celery, bootsteps
from celery.beat import PersistentScheduler, ScheduleEntry
from flask import Flask
from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from fellowship.health.models import ProcessKind
from fellowship.models import utcnow
from fellowship.outages import Outage, one_line

log = logging.getLogger(__name__)

_CONNECTION_ERRORS = (KombuOperationalError, RedisConnectionError, RedisTimeoutError, ConnectionError, TimeoutError)
#: After a failed heartbeat write, the next attempt comes this soon.
RETRY_SECONDS = 5.0
#: Celery loggers whose records about a lost broker connection carry a traceback that says nothing new.
QUIETED_LOGGERS = ("celery.bootsteps", "celery.worker.consumer.consumer", "celery.worker.consumer.gossip",
                   "celery.worker.consumer.mingle", "celery.worker.consumer.events")


def connection_error_in(exc: BaseException | None) -> BaseException | None:
    """The broker connection error that caused `exc` (itself, or in its cause/context chain), if any."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, _CONNECTION_ERRORS):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


#: How Celery's consumer starts the message of each attempt to reconnect (two lines of its own).
CANNOT_CONNECT = "consumer: Cannot connect to "


class BrokerOutageOnOneLine(logging.Filter):
    """Turns an ERROR-with-traceback caused by a lost broker connection into one WARNING line naming the cause."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg and isinstance(record.msg, str) and record.msg.startswith(CANNOT_CONNECT):
            # The consumer's "Cannot connect to ...:\nTrying again in 2.00 seconds... (1/100)", on one line.
            record.msg, record.args = " ".join(record.getMessage().split()), None
            return True
        exc = record.exc_info[1] if record.exc_info else None
        cause = connection_error_in(exc)
        if cause is not None:
            record.msg = f"{record.getMessage()} (broker unavailable: {one_line(cause)})"
            record.args = None
            record.exc_info = None
            record.exc_text = None
            record.stack_info = None
            if record.levelno > logging.WARNING:
                record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


class HeartbeatRecorder:
    """Records one process's heartbeat on a thread of its own: `beat()` never waits for the database."""

    def __init__(self, flask_app: Flask, kind: ProcessKind, node: str) -> None:
        self.flask_app = flask_app
        self.kind = kind
        self.node = node
        self.started_at = utcnow()
        self.written = 0
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._engine: Engine | None = None
        self._outage = Outage(f"database (recording the {kind.value} heartbeat)", log)

    def beat(self) -> None:
        """Ask for a heartbeat to be written now (asynchronously)."""
        if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
            self._pid = os.getpid()
            self._engine = None  # a forked child opens its own
            self._thread = threading.Thread(target=self._run, name=f"{self.kind.value}-heartbeat", daemon=True)
            self._thread.start()
        self._wake.set()

    def _run(self) -> None:
        written = True
        while True:
            # After a failed write, try again soon rather than at the next tick (HEARTBEAT_SECONDS away).
            self._wake.wait(None if written else RETRY_SECONDS)
            self._wake.clear()
            written = self.write()

    def write(self) -> bool:
        """Write the heartbeat (and, the first time, forget week-old rows); False if the database failed."""
        from fellowship.health.services import forget_old_heartbeats, record_heartbeat

        try:
            with self._get_engine().begin() as connection:
                if not self.written:
                    forget_old_heartbeats(connection, self.kind)
                record_heartbeat(connection, self.kind, self.node, started_at=self.started_at)
        except SQLAlchemyError as exc:
            self._outage.failed(getattr(exc, "orig", None) or exc,
                                f"the {self.kind.value} may look stale to staff until it is back")
            return False
        self.written += 1
        self._outage.succeeded()
        return True

    def _get_engine(self) -> Engine:
        if self._engine is None:
            from fellowship.extensions import db

            with self.flask_app.app_context():
                url = db.engine.url  # as Flask-SQLAlchemy resolved it (a relative SQLite path, say)
            connect_args = {"connect_timeout": 5} if url.get_backend_name() == "postgresql" else {}
            self._engine = create_engine(url, poolclass=NullPool, connect_args=connect_args)
        return self._engine


def recorder_for(celery_app: Celery, kind: ProcessKind, node: str) -> HeartbeatRecorder:
    """The process's recorder for `kind` (one thread per process, kept across consumer restarts)."""
    recorders: dict[tuple[ProcessKind, str], HeartbeatRecorder] = celery_app.__dict__.setdefault(
        "_fellowship_heartbeats", {})
    key = (kind, node)
    if key not in recorders:
        recorders[key] = HeartbeatRecorder(flask_app_of(celery_app), kind, node)
    return recorders[key]


def flask_app_of(celery_app: Celery) -> Flask:
    app: Flask = celery_app.__dict__["flask_app"]
    return app


class WorkerHeartbeat(bootsteps.StartStopStep):
    """Consumer bootstep: a heartbeat now and every HEARTBEAT_SECONDS while the consumer runs."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, c: Any, **kwargs: Any) -> None:
        super().__init__(c, **kwargs)
        self.tref: Any = None
        self.stopped_at: float | None = None

    def start(self, c: Any) -> None:
        recorder = recorder_for(c.app, ProcessKind.WORKER, c.hostname)
        recorder.beat()
        seconds = float(flask_app_of(c.app).config["HEARTBEAT_SECONDS"])
        self.tref = c.timer.call_repeatedly(seconds, recorder.beat)
        if self.stopped_at is not None:  # the consumer restarted: the broker connection was lost and is back
            log.info("worker consuming again after %.0f s without the broker", time.monotonic() - self.stopped_at)
            self.stopped_at = None

    def stop(self, c: Any) -> None:
        """The consumer stops (it lost the broker, or the worker shuts down): no heartbeat until it runs again."""
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None
        self.stopped_at = time.monotonic()

    shutdown = stop


class HeartbeatScheduler(PersistentScheduler):
    """Celery's default scheduler (schedule kept in a file) that records the beat's heartbeat on its tick and
    reports a broker outage in one line when it starts and one when it ends."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        flask_app = flask_app_of(self.app)
        self.heartbeat_seconds = float(flask_app.config["HEARTBEAT_SECONDS"])
        self._recorder = recorder_for(self.app, ProcessKind.BEAT, f"beat@{socket.gethostname()}")
        self._next_heartbeat = 0.0
        self._broker = Outage("broker (beat sending scheduled tasks)", log)

    def tick(self, *args: Any, **kwargs: Any) -> float:
        now = time.monotonic()
        if now >= self._next_heartbeat:
            self._recorder.beat()
            self._next_heartbeat = now + self.heartbeat_seconds
        delay = super().tick(*args, **kwargs)
        return min(delay, self.heartbeat_seconds) if delay is not None else self.heartbeat_seconds

    def apply_entry(self, entry: ScheduleEntry, producer: Any = None) -> None:
        log.info("Scheduler: Sending due task %s (%s)", entry.name, entry.task)
        try:
            self.apply_async(entry, producer=producer, advance=False)
        except Exception as exc:  # noqa: BLE001 - as Celery's own apply_entry: one bad entry must not stop beat
            cause = connection_error_in(exc)
            if cause is None:
                log.error("Message Error: %s", exc, exc_info=True)
                return
            self._broker.failed(cause, f"{entry.name} and other scheduled tasks are not sent until it is back "
                                       "(the outbox sweep then sends what waited)")
        else:
            self._broker.succeeded()


def install(celery_app: Celery, flask_app: Flask) -> None:
    """Wire heartbeats and the quieter broker-outage logs into `celery_app` (called by celery_init_app)."""
    celery_app.__dict__["flask_app"] = flask_app
    celery_app.steps["consumer"].add(WorkerHeartbeat)
    quiet = BrokerOutageOnOneLine()
    for name in QUIETED_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, BrokerOutageOnOneLine) for f in logger.filters):
            logger.addFilter(quiet)
