"""Fixtures on real parts: PostgreSQL (or SQLite), Redis, an SMTP server, Celery workers.

Without TEST_DATABASE_URL / TEST_REDIS_URL the suite starts throwaway PostgreSQL and Redis servers
from the installed binaries. The schema comes from the migrations, once per session; after each
test every table is emptied, so tests that commit (and worker processes that read) start clean.
"""

from __future__ import annotations

import itertools
import os
import re
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis as redis_lib
import sqlalchemy as sa
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from werkzeug.serving import make_server

from fellowship import create_app
from fellowship.auth.passwords import use_hasher
from fellowship.extensions import db, limiter
from tests.factories import PASSWORD
from tests.servers import (
    CeleryWorker,
    MissingBinary,
    PostgresServer,
    RedisServer,
    SeaweedServer,
    SmtpSink,
    free_port,
)
from tests.snapshots import TableSnapshot, put_demo_data

TEST_DB_NAME = "fellowship_test"
PROOF_FIGURES = pytest.StashKey[list[tuple[str, dict[str, int]]]]()


#: argon2id as in production at a fraction of its cost: about 1 ms a hash or check instead of 0.25 s on this 2-core
#: machine, where the suite's 800-odd logins, registrations and resets spent about 4 minutes hashing. The timing
#: tests (tests/auth/test_timing.py) put the production hasher back: they time the hashing against the rest of a
#: request.
TEST_PASSWORD_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def pytest_configure(config: pytest.Config) -> None:
    config.stash[PROOF_FIGURES] = []
    compile_catalogs()
    use_hasher(TEST_PASSWORD_HASHER)


def compile_catalogs() -> None:
    """The compiled catalogs (.mo) the app reads are built, not committed: a bare `pytest` builds them as `make test`
    does (pybabel compile), so pages and emails in other languages are what a deployment shows."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po in (Path(__file__).resolve().parent.parent / "fellowship" / "translations").glob("*/LC_MESSAGES/*.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as source:
            catalog = read_po(source, locale=po.parent.parent.name)
        temporary = mo.with_suffix(f".{os.getpid()}.tmp")  # workers of one run may compile at once
        with temporary.open("wb") as target:
            write_mo(target, catalog)
        temporary.replace(mo)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """The fault drills' and the authorization matrix's figures, at the end of the run."""
    figures = config.stash.get(PROOF_FIGURES, [])
    if figures:
        terminalreporter.section("proof: fault drills and authorization matrix")
        for name, counts in figures:
            terminalreporter.write_line(f"{name}: " + ", ".join(f"{key} {value}" for key, value in counts.items()))


@pytest.fixture
def report_proof(request: pytest.FixtureRequest) -> Any:
    """Record a drill's figures (queued, delivered, duplicated, lost, ...) for the summary of the run."""

    def report(name: str, **counts: int) -> None:
        request.config.stash[PROOF_FIGURES].append((name, counts))
        print(f"\n{name}: {counts}")

    return report


@pytest.fixture(scope="session")
def tmp_root() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="fellowship-tests-") as tmp:
        yield Path(tmp)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer | None]:
    """A throwaway PostgreSQL cluster, unless TEST_DATABASE_URL names the database to use."""
    if os.environ.get("TEST_DATABASE_URL"):
        yield None
        return
    try:
        server = PostgresServer()
        server.start()
    except MissingBinary as exc:
        pytest.exit(str(exc), returncode=3)
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture(scope="session")
def database_url(postgres_server: PostgresServer | None, tmp_root: Path) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        if url.startswith("sqlite"):
            path = url.split("///", 1)[-1]
            if path and path != ":memory:":
                Path(path).unlink(missing_ok=True)
        else:
            engine = sa.create_engine(url)
            with engine.begin() as conn:  # the tests own this database: start from nothing
                conn.execute(sa.text("DROP SCHEMA public CASCADE"))
                conn.execute(sa.text("CREATE SCHEMA public"))
            engine.dispose()
        return url
    assert postgres_server is not None
    engine = sa.create_engine(postgres_server.url(), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {TEST_DB_NAME}"))
    engine.dispose()
    return postgres_server.url(TEST_DB_NAME)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A throwaway redis-server, unless TEST_REDIS_URL names one the tests may flush."""
    if os.environ.get("TEST_REDIS_URL"):
        yield os.environ["TEST_REDIS_URL"]
        return
    try:
        server = RedisServer()
        server.start()
    except MissingBinary as exc:
        pytest.exit(str(exc), returncode=3)
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def seaweed_server() -> Iterator[SeaweedServer]:
    """A throwaway SeaweedFS with its S3 gateway, started only when a test asks for it."""
    try:
        server = SeaweedServer()
    except MissingBinary as exc:
        pytest.exit(str(exc), returncode=3)
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


@pytest.fixture(params=["folder", "s3"])
def document_store(request: pytest.FixtureRequest, app: Flask, app_settings: dict[str, Any],
                   monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Run the test on each document store: the default folder, and a fresh key prefix of a private bucket on
    SeaweedFS. The app, and any worker started after this fixture (list it before `worker`), use that store."""
    if request.param == "folder":
        yield "folder"
        return
    server: SeaweedServer = request.getfixturevalue("seaweed_server")
    server.create_bucket("documents")
    url = server.storage_url("documents", prefix=f"test-{os.getpid()}-{next(_store_numbers)}")
    settings = {"STORAGE_URL": url, **server.env()}
    for name, value in server.env().items():
        monkeypatch.setenv(name, value)  # boto3's default chain, as in production
    monkeypatch.setitem(app.config, "STORAGE_URL", url)
    for name, value in settings.items():
        monkeypatch.setitem(app_settings, name, value)  # for worker_env
    yield "s3"


_store_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture(scope="session")
def app_settings(database_url: str, redis_url: str, smtp_server: SmtpSink, tmp_root: Path) -> dict[str, Any]:
    """Settings shared by the test app and the worker processes it starts."""
    return {
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": redis_url,
        "RATELIMIT_STORAGE_URI": redis_url,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": smtp_server.port,
        "MAIL_TIMEOUT": 5,
        "PUBLIC_URL": "http://localhost",
        "INSTANCE_DIR": str(tmp_root / "instance"),
        "OUTBOX_RETRY_BASE_SECONDS": 1,
        "OUTBOX_SWEEP_SECONDS": 1,
        "OUTBOX_SWEEP_GRACE_SECONDS": 1,
    }


def make_app(settings: dict[str, Any]) -> Flask:
    app = create_app("testing", **settings)
    app.test_client_class = FreshContextClient
    return app


@pytest.fixture(scope="session")
def app(app_settings: dict[str, Any]) -> Iterator[Flask]:
    app = make_app(app_settings)
    with app.app_context():
        upgrade()  # the schema comes from the migrations, as in production
        db.session.remove()
    yield app
    with app.app_context():
        db.engine.dispose()


def worker_env(settings: dict[str, Any]) -> dict[str, str]:
    """Environment for a worker process serving the app described by `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "COV_"))}
    env.update({
        "FELLOWSHIP_CONFIG": "testing",
        "DATABASE_URL": settings["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": settings["REDIS_URL"],
        "MAIL_SERVER": settings["MAIL_SERVER"],
        "MAIL_PORT": str(settings["MAIL_PORT"]),
        "MAIL_TIMEOUT": str(settings["MAIL_TIMEOUT"]),
        "PUBLIC_URL": settings["PUBLIC_URL"],
        "FELLOWSHIP_INSTANCE": settings["INSTANCE_DIR"],
        "OUTBOX_RETRY_BASE_SECONDS": str(settings["OUTBOX_RETRY_BASE_SECONDS"]),
        "OUTBOX_SWEEP_SECONDS": str(settings["OUTBOX_SWEEP_SECONDS"]),
        "OUTBOX_SWEEP_GRACE_SECONDS": str(settings["OUTBOX_SWEEP_GRACE_SECONDS"]),
    })
    # The document store: the app's STORAGE_URL and the object store's keys, when the test set them.
    for key in ("STORAGE_URL", "UPLOAD_FOLDER", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
        if settings.get(key):
            env[key] = str(settings[key])
    return env


#: Our tables (in `:tables`) that are not as TRUNCATE leaves them: with pages (rows, or the dead tuples of deleted or
#: rolled-back ones) or with a sequence that has been used.
USED_TABLES = sa.text("""
    SELECT c.relname FROM pg_class c
    WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r' AND c.relname = ANY(:tables)
      AND (pg_relation_size(c.oid) > 0 OR EXISTS (
        SELECT 1 FROM pg_depend d
        JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
        JOIN pg_sequences q ON q.schemaname = current_schema() AND q.sequencename = s.relname
        WHERE d.classid = 'pg_class'::regclass AND d.refobjid = c.oid AND q.last_value IS NOT NULL))
""")


def empty_database() -> None:
    """Empty every table (inside an app context): what each test leaves is gone for the next.

    On PostgreSQL every table ends as TRUNCATE ... RESTART IDENTITY leaves it: no pages, ids from 1 (so rows come back
    in the order they were inserted, which some tests' unordered queries rely on). TRUNCATE itself gives each table
    and index new files, 0.1 to 0.3 s after each of a thousand tests on this 2-core machine; instead the tables the
    test used lose their rows (DELETE, children first), VACUUM gives their emptied pages back, and their sequences
    restart: about 13 ms. A table VACUUM could not empty (another session still sees its rows) is truncated."""
    db.session.remove()
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]  # children first
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if conn.dialect.name != "postgresql":
            for table in tables:
                conn.execute(sa.text(f"DELETE FROM {table}"))  # noqa: S608 - table names from metadata
            return
        used = set(conn.execute(USED_TABLES, {"tables": tables}).scalars())
        for table in (t for t in tables if t in used):
            conn.execute(sa.text(f"DELETE FROM {table}"))  # noqa: S608 - table names from metadata
        for table in (t for t in tables if t in used):
            conn.execute(sa.text(f"VACUUM {table}"))
        conn.execute(sa.text("SELECT setval(format('%I.%I', schemaname, sequencename), 1, false) FROM pg_sequences "
                             "WHERE schemaname = current_schema() AND last_value IS NOT NULL"))
        left = conn.execute(USED_TABLES, {"tables": tables}).scalars().all()
        if left:
            conn.execute(sa.text(f"TRUNCATE {', '.join(left)} RESTART IDENTITY CASCADE"))


@pytest.fixture(autouse=True)
def clean_state(request: pytest.FixtureRequest) -> Iterator[None]:
    """Empty every table, Redis and the mailbox after each test that used the app."""
    yield
    if "app" not in request.fixturenames:
        return
    app: Flask = request.getfixturevalue("app")
    with app.app_context():
        empty_database()
    redis_lib.Redis.from_url(app.config["REDIS_URL"]).flushdb()
    with app.app_context():
        limiter.reset()  # also the in-memory fallback, should a test have had Redis down
    app.extensions.pop("broker_health", None)  # a broker fault seen by one test is not the next one's
    request.getfixturevalue("smtp_server").clear()


class FreshContextClient(FlaskClient):
    """Each request gets its own app context (its own `g` and database session), as in a server,
    even while the test itself holds an app context for its factories and queries."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture(scope="session")
def live_server(app: Flask) -> Iterator[str]:
    """The test app served over real HTTP from a thread (browsers, and downloads read as a client reads them)."""
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()


@pytest.fixture(scope="session")
def demo_snapshot(app: Flask) -> Iterator[TableSnapshot]:
    """The demo data as `flask seed-demo` loads it, loaded once a session (a day, as it is dated from today)."""
    snapshot = TableSnapshot("demo")
    yield snapshot
    with app.app_context():
        snapshot.drop()


@pytest.fixture
def demo(app: Flask, demo_snapshot: TableSnapshot) -> Iterator[Flask]:
    """The demo data in the tables as `flask seed-demo` leaves them, and an app context.

    Loaded by the command once, then put back row for row for each test (tests/snapshots.py): a test may change it
    freely; the tables are emptied after it as after any test."""
    with app.app_context():
        put_demo_data(demo_snapshot)
        yield app
        db.session.remove()


@pytest.fixture
def app_ctx(app: Flask) -> Iterator[Flask]:
    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture
def worker(app: Flask, app_settings: dict[str, Any], tmp_root: Path) -> Iterator[CeleryWorker]:
    """A real Celery worker process, with embedded beat, on the test Redis and database."""
    proc = CeleryWorker(worker_env(app_settings), tmp_root, beat=True)
    proc.start()
    yield proc
    proc.stop()


CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_token_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1) or match.group(2)


def submit_form(client: FlaskClient, url: str, data: dict[str, Any], *, page: str | None = None,
                follow_redirects: bool = False) -> Any:
    """POST a form the way a browser does: load the page, take its CSRF token, post."""
    html = client.get(page or url).get_data(as_text=True)
    return client.post(url, data={**data, "csrf_token": csrf_token_from(html)}, follow_redirects=follow_redirects)


def login(client: FlaskClient, email: str, password: str = PASSWORD, **extra: Any) -> Any:
    return submit_form(client, "/auth/login", {"email": email, "password": password, **extra})
