"""Expected outages log one line when they start and one when they end, not a traceback per attempt."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis as redis_lib
from celery.beat import ScheduleEntry
from flask import Flask

from fellowship.cached import aggregate
from fellowship.extensions import db, limiter
from fellowship.health.processes import CANNOT_CONNECT, HeartbeatScheduler
from tests.conftest import make_app, worker_env
from tests.servers import ROOT, RedisServer, wait_until


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def own_redis_app(app: Flask, app_settings: dict[str, Any], redis_server: RedisServer) -> Iterator[Flask]:
    """The app on a redis-server of this test's own, which the test stops and starts again."""
    own = make_app({**app_settings, "REDIS_URL": redis_server.url, "RATELIMIT_STORAGE_URI": "memory://"})
    try:
        yield own
    finally:
        with own.app_context():
            db.engine.dispose()
        limiter.init_app(app)  # the one Limiter keeps the storage of the last app set up
        app.extensions["celery"].set_default()  # and tasks called by name run in the last Celery app made


def records(caplog: pytest.LogCaptureFixture, logger: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == logger and r.levelno >= logging.INFO]


def test_cached_figures_log_one_line_when_redis_goes_away_and_one_when_it_is_back(
        own_redis_app: Flask, redis_server: RedisServer, caplog: pytest.LogCaptureFixture) -> None:
    figures = aggregate("outage_drill", seconds=60)
    caplog.set_level(logging.DEBUG, logger="fellowship.cached")
    with own_redis_app.app_context():
        figures.invalidate({"1"})
        assert figures.get(1, lambda: {"n": 1}) == {"n": 1}
        assert records(caplog, "fellowship.cached") == []

        redis_server.stop()
        for scope in ("1", "2", "3"):  # commits that change the figures while Redis is away
            figures.invalidate({scope})
        assert figures.get(2, lambda: {"n": 2}) == {"n": 2}  # computed without the cache
        lines = records(caplog, "fellowship.cached")
        assert len(lines) == 1, [r.getMessage() for r in lines]
        assert lines[0].levelno == logging.WARNING and lines[0].exc_info is None
        assert "unavailable (ConnectionError: " in lines[0].getMessage()
        assert "\n" not in lines[0].getMessage()

        redis_server.start()  # the same port again
        figures.invalidate({"1"})
        figures.invalidate({"2"})
        lines = records(caplog, "fellowship.cached")
        assert len(lines) == 2, [r.getMessage() for r in lines]
        assert lines[1].levelno == logging.INFO and "recovered after" in lines[1].getMessage()
        assert "(4 failed attempts)" in lines[1].getMessage()


def test_beat_logs_one_line_while_the_broker_is_away_and_one_when_it_is_back(
        own_redis_app: Flask, redis_server: RedisServer, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    celery_app = own_redis_app.extensions["celery"]
    scheduler = HeartbeatScheduler(app=celery_app, schedule_filename=str(tmp_path / "beat"), lazy=True)
    entry = ScheduleEntry(name="sweep-outbox", task="notifications.sweep_outbox", schedule=60.0, app=celery_app)
    caplog.set_level(logging.INFO, logger="fellowship.health.processes")
    queue = redis_lib.Redis.from_url(redis_server.url)

    scheduler.apply_entry(entry, producer=scheduler.producer)
    assert queue.llen("celery") == 1

    redis_server.stop()
    for _ in range(3):  # three ticks of the sweep while Redis is away
        scheduler.apply_entry(entry, producer=scheduler.producer)
    problems = [r for r in records(caplog, "fellowship.health.processes") if r.levelno >= logging.WARNING]
    assert len(problems) == 1, [r.getMessage() for r in problems]
    assert problems[0].exc_info is None and problems[0].stack_info is None
    assert problems[0].getMessage().startswith("broker (beat sending scheduled tasks) unavailable (")
    assert "\n" not in problems[0].getMessage()

    redis_server.start()
    scheduler.apply_entry(entry, producer=scheduler.producer)
    lines = [r.getMessage() for r in records(caplog, "fellowship.health.processes")]
    recovered = [line for line in lines if "recovered" in line]
    assert len(recovered) == 1 and "(3 failed attempts)" in recovered[0]
    assert redis_lib.Redis.from_url(redis_server.url).llen("celery") == 1  # sent again once it was back
    scheduler.close()


def test_a_worker_step_failing_because_the_broker_is_gone_logs_one_warning_line(
        own_redis_app: Flask, redis_server: RedisServer, caplog: pytest.LogCaptureFixture) -> None:
    """Celery's Gossip step fails to restart while Redis is away (an AttributeError raised while handling the lost
    connection) and logs it with a traceback through celery.bootsteps; it becomes one line naming the cause."""
    redis_server.stop()
    caplog.set_level(logging.INFO, logger="celery.bootsteps")
    try:
        try:
            redis_lib.Redis.from_url(redis_server.url, socket_connect_timeout=1).ping()
        except redis_lib.ConnectionError:
            None.connection_errors  # type: ignore[attr-defined]  # noqa: B018 - what celery's Gossip does
    except AttributeError as exc:
        logging.getLogger("celery.bootsteps").exception("Error on %s %s: %r", "restarting", "Gossip", exc)
    lines = [r for r in caplog.records if r.name == "celery.bootsteps"]
    assert len(lines) == 1 and lines[0].exc_info is None and lines[0].levelno == logging.WARNING
    assert "Error on restarting Gossip" in lines[0].getMessage()
    assert "(broker unavailable: ConnectionError: Error 111 connecting" in lines[0].getMessage()


@pytest.mark.faults
@pytest.mark.worker
def test_a_worker_and_its_beat_log_a_redis_outage_in_lines_not_tracebacks(
        app_settings: dict[str, Any], redis_server: RedisServer, tmp_path: Path) -> None:
    """A real worker as production runs it (gossip, mingle and event heartbeats on) with its beat, while its Redis
    stops and comes back: no traceback, each reconnection attempt one line, the beat's outage one line and its end
    one line, and the worker says when it consumes again."""
    env = {**worker_env({**app_settings, "REDIS_URL": redis_server.url}), "HEARTBEAT_SECONDS": "1"}
    log_path = tmp_path / "worker.log"
    cmd = [sys.executable, "-m", "celery", "-A", "wsgi:celery_app", "worker", "--loglevel", "INFO", "--concurrency",
           "1", "--beat", "--schedule", str(tmp_path / "beat"), "-n", f"outage-{os.getpid()}@%h"]
    with log_path.open("ab") as log:
        process = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    text = lambda: log_path.read_text(errors="replace")  # noqa: E731
    try:
        wait_until(lambda: " ready." in text(), timeout=60, message=f"worker not ready:\n{text()}")
        redis_server.stop()
        wait_until(lambda: "broker (beat sending scheduled tasks) unavailable" in text()
                   and text().count(CANNOT_CONNECT) >= 2, timeout=30, message=f"no outage seen:\n{text()}")
        redis_server.start()
        wait_until(lambda: "worker consuming again after" in text()
                   and "broker (beat sending scheduled tasks) recovered after" in text(), timeout=60,
                   message=f"no recovery seen:\n{text()}")
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
    output = text()
    assert "Traceback" not in output, output
    attempts = [line for line in output.splitlines() if CANNOT_CONNECT in line]
    assert attempts and all("Trying again in" in line for line in attempts), output
    assert output.count("broker (beat sending scheduled tasks) unavailable") == 1, output
    assert output.count("broker (beat sending scheduled tasks) recovered") == 1, output
