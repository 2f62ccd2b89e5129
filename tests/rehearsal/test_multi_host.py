"""The multi-host rehearsal: two web instances (A and B, gunicorn) and two Celery workers (1 and 2; worker 2 also
runs the one beat), each a separate process in a working folder of its own, on one PostgreSQL, one Redis, one object
store (SeaweedFS over S3) and an SMTP sink, with the production configuration and one SECRET_KEY. A user's browser
is one `requests` session (one cookie jar) that talks to A or B, as a load balancer would send it to either.

What it proves (docs/multi-host.md): a document uploaded through A downloads through B; a staff edit of a form's
wording through A shows on B at once; a deep health check on either instance sees the shared services and the
heartbeats of the workers and the beat; login attempts through A and B count against one rate limit, per client
behind the load balancer (TRUSTED_PROXIES); a reset link
asked for through A and emailed by a worker opens on B; an export built by worker 2 downloads through A; when A dies
mid-session the user carries on through B (signed-cookie sessions, CSRF tokens valid on both); and no process wrote
an uploaded file to its local disk.

It needs PostgreSQL (two machines cannot share a SQLite file): `make test` runs it, `make test-sqlite` deselects it
(-m "not rehearsal"), `make rehearsal` runs only it.
"""

from __future__ import annotations

import csv
import io
import re
import secrets
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
import requests
import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import select

from fellowship import create_app
from fellowship.alumni import exports
from fellowship.alumni.models import ExportJob, ExportStatus
from fellowship.applications.models import Document
from fellowship.auth.models import Role
from fellowship.calls.models import Call
from fellowship.extensions import db
from fellowship.questions.models import Question
from tests.conftest import worker_env
from tests.documents.files import pdf
from tests.factories import PASSWORD, ApplicationFactory, CallFactory, UserFactory
from tests.rehearsal.cluster import WebInstance, browser, csrf_token, files_in, form_fields, worker_in
from tests.scratch_databases import scratch_database
from tests.servers import CeleryWorker, MissingBinary, RedisServer, SeaweedServer, SmtpSink, text_body, wait_until

pytestmark = pytest.mark.rehearsal

BUCKET = "fellowship-rehearsal"
T = TypeVar("T")


@dataclass
class Cluster:
    """The running rehearsal: web instances by name ("A", "B"), workers by name ("1", "2"), every process's working
    folder, and an app on the same database and Redis for seeding and looking at rows (as a script would)."""

    app: Flask
    web: dict[str, WebInstance]
    workers: dict[str, CeleryWorker]
    folders: dict[str, Path]
    seaweed: SeaweedServer
    smtp: SmtpSink
    #: What the tests uploaded or exported, to look for on the local disks at the end.
    payloads: list[bytes] = field(default_factory=list)

    def url(self, instance: str, path: str) -> str:
        return self.web[instance].url + path

    def eventually(self, predicate: Callable[[], T | None], timeout: float, failure: str) -> T:
        """The predicate's first true value within `timeout` seconds; else fail with the processes' logs as they are
        then."""
        try:
            found: T = wait_until(predicate, timeout=timeout)
            return found
        except AssertionError:
            raise AssertionError(f"{failure} within {timeout} s:\n{self.logs()}") from None

    def logs(self) -> str:
        parts = [f"--- web {n} ---\n{w.log()[-3000:]}" for n, w in self.web.items()]
        parts += [f"--- worker {n} ---\n{w.log()[-3000:]}" for n, w in self.workers.items()]
        return "\n".join(parts)


@pytest.fixture(scope="module")
def cluster(request: pytest.FixtureRequest, database_url: str, redis_url: str, tmp_root: Path,
            smtp_server: SmtpSink) -> Iterator[Cluster]:
    if sa.make_url(database_url).get_backend_name() != "postgresql":
        pytest.skip("two hosts cannot share a SQLite file: the rehearsal needs PostgreSQL (make test, make rehearsal)")
    seaweed_server: SeaweedServer = request.getfixturevalue("seaweed_server")  # only once it can be used
    root = tmp_root / "rehearsal"
    logs = root / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    try:
        redis = RedisServer()  # its own: the suite's Redis is flushed after every test, the broker's queues too
    except MissingBinary as exc:
        pytest.exit(str(exc), returncode=3)
    seaweed_server.create_bucket(BUCKET)
    with scratch_database(database_url, tmp_root, "fellowship_rehearsal") as url, running(redis):
        settings: dict[str, Any] = {
            "SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": redis.url, "RATELIMIT_STORAGE_URI": redis.url,
            "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp_server.port, "MAIL_TIMEOUT": 5,
            "PUBLIC_URL": "http://127.0.0.1", "INSTANCE_DIR": str(root / "seeding-instance"),
            # The beat's sweep every 5 s, not every second: worker 2 (one pool process) also builds the export.
            "OUTBOX_RETRY_BASE_SECONDS": 1, "OUTBOX_SWEEP_SECONDS": 5, "OUTBOX_SWEEP_GRACE_SECONDS": 5,
            "STORAGE_URL": seaweed_server.storage_url(BUCKET), **seaweed_server.env(),
        }
        env = worker_env(settings)
        env.update({
            "FELLOWSHIP_CONFIG": "production",  # as deployed: Secure cookies, HSTS, a SECRET_KEY that must be set
            "SECRET_KEY": secrets.token_urlsafe(32),  # one key for every instance: each verifies the others' cookies
            "EXPORT_INLINE_LIMIT": "2",  # the six alumni below are exported by a background job
            "TRUSTED_PROXIES": "1",  # the load balancer: the tests' sessions play it when they send X-Forwarded-For
        })
        # The seeding app counts rate limits in the suite's Redis, not the rehearsal's: Flask-Limiter keeps one
        # storage for the process, bound by the last app made, and the rehearsal's Redis is stopped at the end of this
        # module (the next test's limiter.reset() met a closed port).
        app = create_app("testing", **{**settings, "RATELIMIT_STORAGE_URI": redis_url})
        with app.app_context():
            upgrade()  # the schema from the migrations, as a deployment's release step does
            db.session.remove()
        folders = {f"web {name}": root / f"web-{name}" for name in "AB"}
        folders.update({f"worker {name}": root / f"worker-{name}" for name in "12"})
        for folder in folders.values():
            folder.mkdir(parents=True, exist_ok=True)
        web = {name: WebInstance(name, env, folders[f"web {name}"], logs) for name in "AB"}
        workers = {name: worker_in(f"worker{name}", env, folders[f"worker {name}"], logs, beat=name == "2")
                   for name in "12"}
        processes: list[WebInstance | CeleryWorker] = [*web.values(), *workers.values()]
        try:
            with ThreadPoolExecutor(len(processes)) as pool:  # they boot side by side, as machines would
                for booted in [pool.submit(process.start, timeout=120) for process in processes]:
                    booted.result()
            yield Cluster(app=app, web=web, workers=workers, folders=folders, seaweed=seaweed_server,
                          smtp=smtp_server)
        finally:
            for process in processes:
                process.kill()  # nothing of theirs is kept: no need to wait for a warm shutdown
            with app.app_context():
                db.engine.dispose()


@contextmanager
def running(server: RedisServer) -> Iterator[RedisServer]:
    server.start()
    try:
        yield server
    finally:
        server.stop()


def log_in(user: requests.Session, base: str, email: str, password: str = PASSWORD) -> None:
    """Log in through the login form of the instance at `base`, as a browser does."""
    page = user.get(f"{base}/auth/login", timeout=30)
    done = user.post(f"{base}/auth/login", data={"csrf_token": csrf_token(page.text), "email": email,
                                                 "password": password}, timeout=30, allow_redirects=False)
    assert done.status_code == 302 and "/auth/login" not in done.headers["Location"], done.text[:500]


def draft_of(cluster: Cluster) -> tuple[int, int, str]:
    """An applicant with a complete draft on an open call asking for a CV: (call id, application id, email)."""
    with cluster.app.app_context():
        call = CallFactory(required_documents=["cv"], references_required=0)
        applicant = UserFactory()
        found = (call.id, ApplicationFactory(call=call, applicant=applicant).id, applicant.email)
        db.session.remove()
    return found


def test_a_document_uploaded_through_a_downloads_through_b_byte_identical(cluster: Cluster) -> None:
    _call_id, application_id, email = draft_of(cluster)
    content = pdf(comment=b"rehearsal " + secrets.token_hex(40_000).encode())  # 80 kB, unique to this run
    cluster.payloads.append(content)
    user = browser()
    log_in(user, cluster.url("A", ""), email)

    page = user.get(cluster.url("A", f"/applications/{application_id}/documents"), timeout=30)
    uploaded = user.post(cluster.url("A", f"/applications/{application_id}/documents"),
                         data={"csrf_token": csrf_token(page.text), "kind": "cv"},
                         files={"file": ("cv.pdf", content, "application/pdf")}, timeout=60, allow_redirects=False)
    assert uploaded.status_code == 302, uploaded.text[:1000]
    with cluster.app.app_context():
        document = db.session.scalars(select(Document).where(Document.application_id == application_id)).one()
        document_id, key = document.id, document.storage_key
        db.session.remove()

    listed = user.get(cluster.url("B", f"/applications/{application_id}/documents"), timeout=30)
    assert listed.status_code == 200 and f"/documents/{document_id}" in listed.text  # B lists it...
    downloaded = user.get(cluster.url("B", f"/documents/{document_id}"), timeout=60)
    assert downloaded.status_code == 200, cluster.logs()  # ...and serves it
    assert downloaded.content == content
    assert "attachment" in downloaded.headers["Content-Disposition"]
    # It is in the shared bucket, under the key the row names.
    stored = cluster.seaweed.client().get_object(Bucket=BUCKET, Key=key)["Body"].read()
    assert stored == content


def test_a_staff_edit_of_a_forms_wording_through_a_shows_on_b_at_once(cluster: Cluster) -> None:
    """Each process keeps a built form per version (questions/structure.py): B must not serve its kept copy after A
    changed the wording."""
    call_id, application_id, email = draft_of(cluster)
    with cluster.app.app_context():
        staff_email = UserFactory(roles=[Role.STAFF]).email
        question_id = db.session.scalars(select(Question.id).where(
            Question.questionnaire_id == select(Call.questionnaire_id).where(Call.id == call_id).scalar_subquery(),
            Question.key == "current_position")).one()
        db.session.remove()
    applicant = browser()
    log_in(applicant, cluster.url("B", ""), email)
    section = f"/applications/{application_id}/sections/experience"
    for instance in "AB":  # both processes now hold the form as it was
        before = applicant.get(cluster.url(instance, section), timeout=30)
        assert before.status_code == 200 and "Current position" in before.text

    staff = browser()
    log_in(staff, cluster.url("A", ""), staff_email)
    editor = f"/staff/calls/{call_id}/form/questions/{question_id}"
    fields = form_fields(staff.get(cluster.url("A", editor), timeout=30).text)
    fields.update(label="Current role or post", submit="Save")
    saved = staff.post(cluster.url("A", editor), data=fields, timeout=30, allow_redirects=False)
    assert saved.status_code == 302, saved.text[:2000]

    after = applicant.get(cluster.url("B", section), timeout=30)
    assert "Current role or post" in after.text and "Current position" not in after.text


def test_a_monitor_asking_either_instance_sees_the_shared_services_and_the_workers_on_other_hosts(
        cluster: Cluster) -> None:
    """/healthz?deep=1 on A and on B: the database, Redis and the bucket answer, and the heartbeats the workers and the
    beat record from their own hosts are seen (they are rows in the shared database, not files or memory)."""

    def healthy(instance: str) -> dict[str, Any] | None:
        answer = requests.get(cluster.url(instance, "/healthz?deep=1"), timeout=30)
        return answer.json() if answer.status_code == 200 else None

    for instance in "AB":
        report = cluster.eventually(lambda instance=instance: healthy(instance), 90,  # the beat's first tick
                                    f"{instance} reports stale parts")
        assert report["stale"] == [] and report["database"]["ok"] and report["redis"]["ok"]
        assert report["storage"]["ok"], report
        assert report["worker"]["last_seen_at"] and report["beat"]["last_seen_at"]


def test_the_login_rate_limit_counts_attempts_on_both_instances_together(cluster: Cluster) -> None:
    """Five attempts a minute per address and account (the production default), wherever they land: the counts are
    in Redis, not in each process (an in-memory count would let each instance allow five)."""
    with cluster.app.app_context():
        email = UserFactory().email
        db.session.remove()
    attacker = browser()

    def attempt(instance: str) -> int:
        page = attacker.get(cluster.url(instance, "/auth/login"), timeout=30)
        return attacker.post(cluster.url(instance, "/auth/login"), timeout=30, data={
            "csrf_token": csrf_token(page.text), "email": email, "password": "not the password"}).status_code

    assert [attempt(instance) for instance in "ABABA"] == [200] * 5  # refused with a message beside the field
    assert attempt("B") == 429  # B has seen two of them, A three: together they are the five
    assert attempt("A") == 429


def test_behind_the_load_balancer_each_client_is_rate_limited_by_its_own_address(cluster: Cluster) -> None:
    """The balancer in front of A and B connects from its own address and passes the client's in X-Forwarded-For
    (TRUSTED_PROXIES=1): one client hammering an account through A and B is refused, while another client behind
    the same balancer still logs in to it. Counted by the balancer's address instead, every user would share the
    limits of one client (30 login attempts a minute, 30 password resets an hour, for everybody)."""
    with cluster.app.app_context():
        email = UserFactory().email
        db.session.remove()
    hammering, neighbour = browser(), browser()
    hammering.headers["X-Forwarded-For"] = "203.0.113.10"
    neighbour.headers["X-Forwarded-For"] = "198.51.100.20"

    def attempt(instance: str) -> int:
        page = hammering.get(cluster.url(instance, "/auth/login"), timeout=30)
        return hammering.post(cluster.url(instance, "/auth/login"), timeout=30, data={
            "csrf_token": csrf_token(page.text), "email": email, "password": "not the password"}).status_code

    assert [attempt(instance) for instance in "ABABAB"] == [200] * 5 + [429]
    log_in(neighbour, cluster.url("B", ""), email)


def test_a_link_asked_for_through_a_and_emailed_by_a_worker_opens_on_b(cluster: Cluster) -> None:
    """The reset link is signed on A with the shared SECRET_KEY, sent by whichever worker takes the outbox task, and
    honoured by B."""
    with cluster.app.app_context():
        email = UserFactory().email
        db.session.remove()
    user = browser()
    page = user.get(cluster.url("A", "/auth/forgot"), timeout=30)
    asked = user.post(cluster.url("A", "/auth/forgot"), data={"csrf_token": csrf_token(page.text), "email": email},
                      timeout=30)
    assert asked.status_code == 302
    message = cluster.smtp.wait_for(1, timeout=60, recipient=email)[-1]
    path = re.search(r"/auth/reset/[\w.-]+", text_body(message)).group(0)  # type: ignore[union-attr]

    form = user.get(cluster.url("B", path), timeout=30)
    assert form.status_code == 200, form.text[:1000]
    new_password = "estuary-mangrove-lantern-1987"
    changed = user.post(cluster.url("B", path), timeout=30, data={
        "csrf_token": csrf_token(form.text), "password": new_password, "confirm": new_password})
    assert changed.status_code == 302 and changed.headers["Location"].endswith("/auth/login"), changed.text[:1000]
    log_in(browser(), cluster.url("B", ""), email, new_password)


def _csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8").lstrip("\ufeff"))))


def test_an_export_built_by_worker_2_downloads_through_a(cluster: Cluster) -> None:
    from tests.alumni.test_outcomes import build_fixture

    with cluster.app.app_context():
        build_fixture()  # six alumni: more than the instances' EXPORT_INLINE_LIMIT, so a background job builds it
        staff_email = UserFactory(roles=[Role.STAFF]).email
        db.session.remove()
    cluster.workers["1"].stop()  # warm shutdown: from now on only worker 2 takes tasks
    staff = browser()
    log_in(staff, cluster.url("B", ""), staff_email)
    page = staff.get(cluster.url("B", "/staff/alumni/export"), timeout=30)
    asked = staff.post(cluster.url("B", "/staff/alumni/export"),
                       data={"csrf_token": csrf_token(page.text), "file_format": "csv"}, timeout=30,
                       allow_redirects=False)
    assert asked.status_code == 302
    job_id = int(re.search(r"/staff/exports/(\d+)$", asked.headers["Location"]).group(1))  # type: ignore[union-attr]

    def finished() -> ExportJob | None:
        with cluster.app.app_context():
            job = db.session.get_one(ExportJob, job_id)
            db.session.remove()
            return job if job.status in (ExportStatus.DONE, ExportStatus.FAILED) else None

    job = cluster.eventually(finished, 90, "the export was not built")
    assert job.status is ExportStatus.DONE, job.error
    # Worker 2 built it (worker 1 was stopped before it was asked for, and its log never names the job).
    assert f"alumni export job {job_id} done" in cluster.workers["2"].log()
    assert f"alumni export job {job_id}" not in cluster.workers["1"].log()

    progress = staff.get(cluster.url("A", f"/staff/exports/{job_id}"), timeout=30)
    assert progress.status_code == 200 and "Done: 6 rows." in progress.text
    downloaded = staff.get(cluster.url("A", f"/staff/exports/{job_id}/download"), timeout=30)
    assert downloaded.status_code == 200, cluster.logs()
    rows = _csv_rows(downloaded.content)
    assert rows[0] == exports.ALUMNI_HEADER and len(rows) == 7
    assert "Achieng Tester" in {row[1] for row in rows[1:]}
    cluster.payloads.append(downloaded.content)
    assert cluster.seaweed.client().get_object(Bucket=BUCKET, Key=job.storage_key)["Body"].read() == downloaded.content


def test_killing_instance_a_mid_session_lets_the_user_continue_on_b(cluster: Cluster) -> None:
    with cluster.app.app_context():
        call = CallFactory(required_documents=["cv"], references_required=0)
        applicant = UserFactory()
        call_id, email = call.id, applicant.email
        db.session.remove()
    user = browser()
    log_in(user, cluster.url("A", ""), email)
    call_page = user.get(cluster.url("A", f"/calls/{call_id}"), timeout=30)
    started = user.post(cluster.url("A", f"/calls/{call_id}/apply"), data={"csrf_token": csrf_token(call_page.text)},
                        timeout=30, allow_redirects=False)
    assert started.status_code == 302
    application_id = int(re.search(r"/applications/(\d+)", started.headers["Location"]).group(1))  # type: ignore[union-attr]
    section = f"/applications/{application_id}/sections/experience"

    def save(instance: str, token_page: str, position: str) -> requests.Response:
        fields = form_fields(token_page)
        fields.update(current_position=position, employer="County water board", years_experience="4",
                      submit="Save")
        return user.post(cluster.url(instance, section), data=fields, timeout=30, allow_redirects=False)

    saved = save("A", user.get(cluster.url("A", section), timeout=30).text, "Water officer")
    assert saved.status_code == 302, saved.text[:1000]
    page_from_a = user.get(cluster.url("A", section), timeout=30).text  # its form carries A's CSRF token
    assert 'value="Water officer"' in page_from_a

    cluster.web["A"].kill()  # SIGKILL: no goodbye, nothing flushed
    with pytest.raises(requests.ConnectionError):
        user.get(cluster.url("A", "/healthz"), timeout=5)

    home = user.get(cluster.url("B", "/applications/"), timeout=30, allow_redirects=False)
    assert home.status_code == 200, "the session made by A is not accepted by B"
    draft = user.get(cluster.url("B", section), timeout=30)
    assert draft.status_code == 200 and 'value="Water officer"' in draft.text  # the draft saved through A

    assert save("B", page_from_a, "Senior water officer").status_code == 302  # A's token, posted to B
    page_from_b = user.get(cluster.url("B", section), timeout=30).text
    assert 'value="Senior water officer"' in page_from_b
    assert save("B", page_from_b, "Lead water officer").status_code == 302  # B's own token
    assert 'value="Lead water officer"' in user.get(cluster.url("B", section), timeout=30).text


def test_no_process_keeps_an_uploaded_file_on_its_local_disk(cluster: Cluster) -> None:
    """Run last: every working folder (and the instance folder inside it) holds no file, so none of the uploads or
    exports above was written to a machine's disk."""
    if not cluster.payloads:  # run alone: upload one, so there is something that could have gone astray
        test_a_document_uploaded_through_a_downloads_through_b_byte_identical(cluster)
    for name, folder in cluster.folders.items():
        assert files_in(folder) == [], f"{name} wrote to its local disk"
