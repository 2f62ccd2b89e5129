"""Staff can see whether the worker and the beat are alive and whether emails are backing up: on the outbox page,
on their home page, in a banner on every page when something is stale, and a monitor can ask /healthz?deep=1."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from fellowship.auth.models import Role
from fellowship.extensions import db, limiter
from fellowship.health.models import Heartbeat, ProcessKind
from fellowship.health.services import forget_banner_health
from fellowship.models import utcnow
from fellowship.notifications.models import MessageStatus, OutboxMessage
from tests.conftest import login, make_app, worker_env
from tests.factories import UserFactory
from tests.querycount import counted_statements
from tests.servers import CeleryWorker, free_port, wait_until

BANNER = 'class="health-banner'


def seen(kind: ProcessKind, minutes_ago: float, node: str | None = None) -> None:
    when = utcnow() - timedelta(minutes=minutes_ago)
    db.session.add(Heartbeat(kind=kind, node=node or f"{kind.value}@test-host", pid=1, started_at=when,
                             last_seen_at=when))
    db.session.commit()


def heartbeats(kind: ProcessKind) -> int:
    """How many processes of `kind` have recorded a heartbeat (read afresh: another process writes them)."""
    db.session.rollback()
    return db.session.query(Heartbeat).filter_by(kind=kind).count()


def waiting_email(minutes_due: float, recipient: str = "someone@example.org") -> None:
    """A pending email whose send time came `minutes_due` minutes ago (nobody sent it)."""
    due = utcnow() - timedelta(minutes=minutes_due)
    db.session.add(OutboxMessage(recipient=recipient, template="auth/confirm_email", context={}, subject="Hello",
                                 status=MessageStatus.PENDING, attempts=0, next_attempt_at=due,
                                 message_id=f"<{recipient}-{minutes_due}@test>"))
    db.session.commit()


@pytest.fixture
def fresh_banner(app: Flask) -> Iterator[None]:
    """Each test sees its own heartbeats, not the figures a previous test left in the process's banner cache."""
    with app.app_context():
        forget_banner_health()
    yield
    with app.app_context():
        forget_banner_health()


@pytest.fixture
def staff(client: FlaskClient, app_ctx: Flask, fresh_banner: None) -> FlaskClient:
    login(client, UserFactory(roles=[Role.STAFF]).email)
    return client


def test_staff_see_a_banner_on_every_page_when_the_worker_has_not_been_seen_for_too_long(staff: FlaskClient) -> None:
    seen(ProcessKind.WORKER, minutes_ago=20)
    seen(ProcessKind.BEAT, minutes_ago=0.2)
    for url in ("/", "/staff/calls", "/calls"):
        html = staff.get(url).get_data(as_text=True)
        assert BANNER in html, url
        assert "The background worker has not been seen for 20 minutes" in html
        assert "scheduler" not in html.split(BANNER)[1].split("</div>")[0]  # the beat is fine: not named


def test_staff_see_no_banner_when_worker_beat_and_outbox_are_fresh(staff: FlaskClient) -> None:
    seen(ProcessKind.WORKER, minutes_ago=0.5)
    seen(ProcessKind.BEAT, minutes_ago=0.5)
    waiting_email(minutes_due=2)
    html = staff.get("/").get_data(as_text=True)
    assert BANNER not in html
    assert "seen 30 seconds ago" in html  # the staff home page shows the state all the same


def test_applicants_never_see_the_banner(client: FlaskClient, app_ctx: Flask, fresh_banner: None) -> None:
    seen(ProcessKind.WORKER, minutes_ago=60)
    waiting_email(minutes_due=60)
    login(client, UserFactory().email)
    for url in ("/", "/applications/", "/calls"):
        html = client.get(url).get_data(as_text=True)
        assert BANNER not in html and "Background processing" not in html, url


def test_a_beat_that_stopped_and_an_outbox_backlog_are_named_in_the_banner(staff: FlaskClient) -> None:
    seen(ProcessKind.WORKER, minutes_ago=0.1)
    seen(ProcessKind.BEAT, minutes_ago=45)
    waiting_email(minutes_due=25, recipient="a@example.org")
    waiting_email(minutes_due=3, recipient="b@example.org")
    html = staff.get("/calls").get_data(as_text=True)
    assert "The scheduler (beat) has not been seen for 45 minutes" in html
    assert "2 emails are due but unsent; the oldest has waited 25 minutes." in html
    assert "background worker" not in html


def test_the_banner_costs_a_page_no_query_once_read(staff: FlaskClient) -> None:
    seen(ProcessKind.WORKER, minutes_ago=30)
    assert BANNER in staff.get("/staff/calls").get_data(as_text=True)
    with counted_statements() as statements:
        assert BANNER in staff.get("/staff/calls").get_data(as_text=True)
    assert not [s for s in statements if "heartbeats" in s or "outbox_messages" in s], statements


def test_the_outbox_page_shows_the_age_of_the_oldest_email_due_but_unsent(staff: FlaskClient) -> None:
    seen(ProcessKind.WORKER, minutes_ago=0.1)
    seen(ProcessKind.BEAT, minutes_ago=0.1)
    waiting_email(minutes_due=7, recipient="a@example.org")
    waiting_email(minutes_due=1, recipient="b@example.org")
    html = staff.get("/staff/outbox/").get_data(as_text=True)
    assert "Background processing" in html
    assert "2 emails due, the oldest waiting 7 minutes" in html
    assert "(stale)" not in html and BANNER not in html

    waiting_email(minutes_due=90, recipient="c@example.org")  # over the threshold (10 minutes): stale
    html = staff.get("/staff/outbox/").get_data(as_text=True)
    assert "3 emails due, the oldest waiting 90 minutes <strong>(stale)</strong>" in html


def test_deep_health_check_answers_503_naming_a_stale_worker(client: FlaskClient, app_ctx: Flask) -> None:
    seen(ProcessKind.WORKER, minutes_ago=11)
    seen(ProcessKind.BEAT, minutes_ago=0.1)
    response = client.get("/healthz?deep=1")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable" and body["stale"] == ["worker"]
    assert body["worker"]["stale"] is True and body["worker"]["age_seconds"] >= 660
    assert body["database"]["ok"] is True and body["redis"]["ok"] is True
    assert client.get("/healthz").get_json() == {"status": "ok"}  # the plain check stays cheap and green


def test_deep_health_check_names_a_worker_and_beat_never_seen_and_an_outbox_backlog(
        client: FlaskClient, app_ctx: Flask) -> None:
    waiting_email(minutes_due=15)
    response = client.get("/healthz?deep=1")
    assert response.status_code == 503
    assert response.get_json()["stale"] == ["worker", "beat", "outbox"]


@pytest.mark.worker
def test_deep_health_check_is_200_with_a_real_worker_and_beat_running(
        client: FlaskClient, app_ctx: Flask, worker: CeleryWorker) -> None:
    try:
        response = wait_until(lambda: (r := client.get("/healthz?deep=1")).status_code == 200 and r, timeout=30)
    except AssertionError:
        raise AssertionError(f"not green: {client.get('/healthz?deep=1').get_json()}\n{worker.log()[-3000:]}") from None
    body = response.get_json()
    assert body["status"] == "ok" and body["stale"] == []
    assert body["worker"]["age_seconds"] < 60 and body["beat"]["age_seconds"] < 60
    assert body["outbox"] == {"due": 0, "oldest_due_age_seconds": None, "stale": False}
    assert body["database"] == {"ok": True} and body["redis"] == {"ok": True}


@pytest.mark.worker
def test_a_worker_without_a_beat_leaves_the_beat_stale(client: FlaskClient, app_ctx: Flask,
                                                     app_settings: dict[str, Any], tmp_path: Path) -> None:
    """The beat records its own tick: a live worker never makes a missing beat look alive."""
    process = CeleryWorker(worker_env(app_settings), tmp_path, beat=False)
    process.start()
    try:
        wait_until(lambda: heartbeats(ProcessKind.WORKER), timeout=30, message="the worker recorded no heartbeat")
        response = client.get("/healthz?deep=1")
        assert response.status_code == 503 and response.get_json()["stale"] == ["beat"]
    finally:
        process.stop()


def test_deep_health_check_names_an_unreachable_database_and_redis(
        app: Flask, app_settings: dict[str, Any], database_url: str, tmp_path: Path) -> None:
    if database_url.startswith("sqlite"):
        unreachable_db = f"sqlite:///{tmp_path / 'missing-folder' / 'fellowship.db'}"
    else:
        unreachable_db = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/fellowship"
    unreachable_redis = f"redis://127.0.0.1:{free_port()}/0"
    down = make_app({**app_settings, "SQLALCHEMY_DATABASE_URI": unreachable_db, "REDIS_URL": unreachable_redis,
                     "RATELIMIT_STORAGE_URI": "memory://"})
    try:
        response = down.test_client().get("/healthz?deep=1")
        assert response.status_code == 503
        body = response.get_json()
        assert body["stale"] == ["database", "redis"]
        assert body["database"] == {"ok": False} and body["redis"] == {"ok": False}
        assert "Connection refused" in body["errors"]["redis"] or "111" in body["errors"]["redis"]
        assert down.test_client().get("/healthz").status_code == 200  # the web process itself is alive
    finally:
        with down.app_context():
            db.engine.dispose()
        limiter.init_app(app)  # the one Limiter keeps the storage of the last app set up
        app.extensions["celery"].set_default()  # and tasks called by name run in the last Celery app made
