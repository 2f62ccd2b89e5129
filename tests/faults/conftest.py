"""Fault drills: each starts its own redis-server, SMTP sink and Celery worker(s) on free ports, breaks one
of them on purpose, and reports what happened to the work (queued, delivered, duplicated, lost).

Each drill reports its figures with the `report_proof` fixture (tests/conftest.py); they are printed at the
end of the run (`make test`, `make proof`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from fellowship.extensions import db, limiter
from fellowship.notifications.models import MessageStatus, OutboxMessage
from tests.conftest import make_app, worker_env
from tests.servers import CeleryWorker, RedisServer, SmtpSink


@dataclass
class Stage:
    """The drill's own app (same database as the suite), Redis, SMTP sink and workers."""

    app: Flask
    redis: RedisServer
    smtp: SmtpSink
    settings: dict[str, Any]
    log_dir: Path
    workers: list[CeleryWorker] = field(default_factory=list)

    def worker(self, *, beat: bool = False, concurrency: int = 2, **env: str) -> CeleryWorker:
        process = CeleryWorker({**worker_env(self.settings), **env}, self.log_dir, beat=beat,
                               concurrency=concurrency)
        process.start()
        self.workers.append(process)
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


@pytest.fixture
def stage(app: Flask, app_settings: dict[str, Any], tmp_path: Path) -> Iterator[Stage]:
    redis = RedisServer()
    redis.start()
    smtp = SmtpSink()
    smtp.start()
    settings = {**app_settings, "REDIS_URL": redis.url, "RATELIMIT_STORAGE_URI": redis.url,
                "MAIL_PORT": smtp.port, "RATELIMIT_ENABLED": False}
    own = make_app(settings)
    stage = Stage(own, redis, smtp, settings, tmp_path)
    try:
        yield stage
    finally:
        for process in stage.workers:
            process.kill()
        smtp.stop()
        redis.stop()
        with own.app_context():
            db.engine.dispose()
        limiter.init_app(app)  # the one Limiter keeps the storage of the last app set up
