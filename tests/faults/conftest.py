"""Fault drills: each starts its own redis-server, SMTP sink and Celery worker(s) on free ports, breaks one
of them on purpose, and reports what happened to the work (queued, delivered, duplicated, lost).

Each drill reports its figures with the `report_proof` fixture (tests/conftest.py); they are printed at the
end of the run (`make test`, `make proof`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import func, select

from fellowship.extensions import db, limiter
from fellowship.notifications.models import MessageStatus, OutboxMessage
from tests.conftest import make_app, worker_env
from tests.servers import CeleryBeat, CeleryWorker, PostgresServer, RedisServer, SmtpSink


@dataclass
class Stage:
    """The drill's own app (the suite's database, or one of the drill's own), Redis, SMTP sink, workers and beats."""

    app: Flask
    redis: RedisServer
    smtp: SmtpSink
    settings: dict[str, Any]
    log_dir: Path
    workers: list[CeleryWorker] = field(default_factory=list)
    beats: list[CeleryBeat] = field(default_factory=list)

    def configure(self, **values: Any) -> None:
        """Change settings for the drill's app and for the workers and beats started from now on."""
        self.settings.update(values)
        self.app.config.update(values)

    def env(self, **env: str) -> dict[str, str]:
        """A worker's or beat's environment: the drill's settings (outbox policy included), then `env`."""
        outbox = {key: str(value) for key, value in self.settings.items() if key.startswith("OUTBOX_")}
        return {**worker_env(self.settings), **outbox, "MAIL_TIMEOUT": str(self.settings["MAIL_TIMEOUT"]), **env}

    def worker(self, *, beat: bool = False, concurrency: int = 2, **env: str) -> CeleryWorker:
        process = CeleryWorker(self.env(**env), self.log_dir, beat=beat, concurrency=concurrency)
        process.start()
        self.workers.append(process)
        return process

    def beat(self, **env: str) -> CeleryBeat:
        """A standalone beat process, as production runs it."""
        process = CeleryBeat(self.env(**env), self.log_dir)
        process.start()
        self.beats.append(process)
        return process

    def outbox(self) -> Counter[MessageStatus]:
        with self.app.app_context():
            rows = db.session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))
            return Counter(dict(rows.all()))

    def delivery_counts(self, queued: int) -> dict[str, int]:
        """What the SMTP server received, by Message-ID: delivered once, more than once, or never."""
        received = Counter(message["Message-ID"] for message in list(self.smtp.messages))
        return {"queued": queued, "delivered": len(received),
                "duplicated": sum(1 for n in received.values() if n > 1), "lost": queued - len(received)}


#: Drills use short leases (and SMTP timeouts to match) so a message held by a killed worker is retried soon.
DRILL_SETTINGS = {"MAIL_TIMEOUT": 2, "OUTBOX_LEASE_SECONDS": 20}


@contextmanager
def staged(app: Flask, settings: dict[str, Any], log_dir: Path) -> Iterator[Stage]:
    """A Stage on its own redis-server and SMTP sink, for the database named in `settings`."""
    redis = RedisServer()
    redis.start()
    smtp = SmtpSink()
    smtp.start()
    settings = {**settings, **DRILL_SETTINGS, "REDIS_URL": redis.url, "RATELIMIT_STORAGE_URI": redis.url,
                "MAIL_PORT": smtp.port, "RATELIMIT_ENABLED": False}
    own = make_app(settings)
    stage = Stage(own, redis, smtp, settings, log_dir)
    try:
        yield stage
    finally:
        for process in [*stage.workers, *stage.beats]:
            process.kill()
        smtp.stop()
        redis.stop()
        with own.app_context():
            db.session.remove()
            db.engine.dispose()
        limiter.init_app(app)  # the one Limiter keeps the storage of the last app set up


@pytest.fixture
def stage(app: Flask, app_settings: dict[str, Any], tmp_path: Path) -> Iterator[Stage]:
    with staged(app, app_settings, tmp_path) as stage:
        yield stage


@pytest.fixture
def own_database(app: Flask, app_settings: dict[str, Any]) -> Iterator[tuple[PostgresServer, str]]:
    """A PostgreSQL server of the drill's own, migrated, that the drill may restart without breaking other tests."""
    server = PostgresServer()
    server.start()
    try:
        engine = sa.create_engine(server.url(), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text("CREATE DATABASE drill"))
        engine.dispose()
        url = server.url("drill")
        migrated = make_app({**app_settings, "SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_STORAGE_URI": "memory://"})
        with migrated.app_context():
            upgrade()
            db.session.remove()
            db.engine.dispose()
        yield server, url
    finally:
        server.cleanup()
        limiter.init_app(app)
