"""The deadline surge: 500 applicants fill in, upload and submit at once, on a call that already holds 50,000.

    make bench-surge   (or .venv/bin/python -m bench.surge; SURGE_EXISTING=5000 SURGE_APPLICANTS=100: a quick run)

Starts a throwaway PostgreSQL and Redis (tests/servers.py), migrates, seeds with bench.pages' seed (one call with
SURGE_EXISTING applications answering the default form through the questionnaire engine's tables, reviews, 10,000
alumni), then opens that call (structure locked, CV and transcript required, no referees) and creates
SURGE_APPLICANTS applicant accounts. gunicorn serves `bench.surge_app:app` (the production app, FELLOWSHIP_CONFIG=
production, plus the bench-only bare write endpoint) with 2 sync workers per CPU + 1.

SURGE_CLIENTS (16) client threads work through the applicants, step by step: every applicant logs in, then every
applicant starts an application, saves every section of the form (one POST per section, with valid answers), uploads
two PDF documents, and submits (declarations ticked). Each applicant connects from its own loopback address
(127.0.x.y), as applicants do from their own machines, so the per-address rate limits apply as in production. Each
step is timed as a phase: throughput = its requests / the phase's wall time, with the median and p95 of its
requests' latencies. The bare write (a CSRF-checked POST that inserts one row and commits) is measured the same way,
by the same number of client threads. The two targeted steps (section save, submit) are measured side by side with
it, interleaved: their applicants are split into blocks of whole rounds (a multiple of SURGE_CLIENTS), and each block
runs beside a bare write block of as many requests, in ABBA order (bare then step, step then bare, …), so a drift of
the shared machine's load within the phase falls on both alike; each share is the step's requests over its blocks'
time against the bare write's over its blocks'. Errors are requests that did not answer as a success does (a redirect
after a save, upload, start and submit; 204 for a bare write): any error makes the bench exit non-zero. Then the
database is checked: every applicant's application has a reference, a confirmation email waits in the outbox for
each, and every answer stored equals what was sent.
"""

from __future__ import annotations

import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import requests
import sqlalchemy as sa
from requests.adapters import HTTPAdapter

from bench import pages

T = TypeVar("T")
ROOT = Path(__file__).resolve().parent.parent
APPLICANTS = int(os.environ.get("SURGE_APPLICANTS", "500"))
EXISTING = int(os.environ.get("SURGE_EXISTING", "50000"))
CLIENTS = int(os.environ.get("SURGE_CLIENTS", "16"))
PASSWORD = pages.PASSWORD
TARGETS = {"section save": 0.30, "submit": 0.20}
P95_FACTOR = 4.0
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
DOCUMENT_KINDS = ("cv", "transcript")
#: Its own file per run: two runs at once (engineers share the machine) would otherwise truncate each other's log.
SERVER_LOG = Path(tempfile.mkstemp(prefix="bench-surge-gunicorn-", suffix=".log")[1])


def _pdf() -> bytes:
    """A small well-formed PDF (the upload's content check opens it)."""
    sys.path.insert(0, str(ROOT))
    from tests.documents.files import pdf

    return pdf()


# --- Answers ---------------------------------------------------------------------------------------------------

def form_answers(k: int) -> dict[str, Any]:
    """Applicant k's answer to every question of the default form: key → (posted text, stored JSON value)."""
    from fellowship.applications.form_template import DEFAULT_FORM

    picks = {"gender": "female", "highest_degree": "master", "environmental_field": "water",
             "nationality": "KE", "country_of_residence": "KE", "date_of_birth": "1996-04-12"}
    out: dict[str, Any] = {}
    for section in DEFAULT_FORM:
        for q in section["questions"]:
            key, kind, config = q["key"], q["kind"], q["config"] or {}
            if key in picks:
                posted = picks[key]
                stored: Any = posted
            elif kind == "short_text":
                posted = stored = f"Surge {k} {key}"[: int(config.get("max_length", 200))]
            elif kind == "long_text":
                posted = stored = " ".join(["river"] * int(config.get("min_words") or 10)) + f" surge{k}"
            elif kind == "number":
                value = int(config.get("min") or 0) + k % 5 + (2000 if key == "graduation_year" else 0)
                value = min(value, int(config.get("max") or value))
                posted, stored = str(value), value
            elif kind == "single_choice":
                posted = stored = config["choices"][k % len(config["choices"])]["value"]
            elif kind == "country":
                posted = stored = "KE"
            elif kind == "date":
                posted = stored = "1996-04-12"
            else:
                continue
            out[key] = (section["key"], posted, stored)
    return out


# --- Preparing ---------------------------------------------------------------------------------------------------

def prepare(url: str, redis_url: str) -> int:
    """Migrate, seed the existing applications, open the call, create the applicants; returns the call's id."""
    call_id, seconds = pages.prepare(url, redis_url, EXISTING)
    print(f"  seeded {EXISTING:,} applications in {seconds:.0f} s", flush=True)
    from fellowship.auth.passwords import hash_password

    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "UPDATE calls SET status = 'open', opens_at = now() - interval '10 days', "
            "closes_at = now() + interval '30 days', required_documents = :docs, references_required = 0, "
            "eligible_countries = '[]' WHERE id = :c"), {"c": call_id, "docs": '["cv", "transcript"]'})
        conn.execute(sa.text("UPDATE questionnaires SET structure_locked_at = now() WHERE id = "
                             "(SELECT questionnaire_id FROM calls WHERE id = :c)"), {"c": call_id})
        conn.execute(sa.text("CREATE TABLE bench_writes (id bigserial PRIMARY KEY, payload text, "
                             "created_at timestamptz)"))
        conn.execute(sa.text(
            "INSERT INTO users (email, full_name, password_hash, email_confirmed_at, is_active_account, created_at, "
            "updated_at, session_token) SELECT 'surge' || g || '@bench.example', 'Surge applicant ' || g, :h, now(), "
            "true, now(), now(), md5(random()::text) FROM generate_series(0, :n - 1) g"),
            {"h": hash_password(PASSWORD), "n": APPLICANTS})
        conn.execute(sa.text("INSERT INTO user_roles (user_id, role) SELECT id, 'applicant' FROM users "
                             "WHERE email LIKE 'surge%@bench.example'"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE"))
    engine.dispose()
    return call_id


def serve(url: str, redis_url: str) -> tuple[subprocess.Popen[bytes], str]:
    from tests.servers import free_port, wait_for_port

    port = free_port()
    env = {**os.environ, "FELLOWSHIP_CONFIG": "production", "SECRET_KEY": "bench", "DATABASE_URL": url,
           "REDIS_URL": redis_url, "RATELIMIT_STORAGE_URI": redis_url,
           "FELLOWSHIP_INSTANCE": tempfile.mkdtemp(prefix="bench-surge-instance-")}
    workers = 2 * (os.cpu_count() or 1) + 1
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "--workers", str(workers), "--worker-class", "sync",
         "--bind", f"0.0.0.0:{port}", "--log-level", "warning", "--timeout", "300", "bench.surge_app:app"],
        # The server's log goes to a file: a pipe nobody reads fills up and blocks the workers.
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=SERVER_LOG.open("wb"))
    wait_for_port(port, timeout=60)
    base = f"http://127.0.0.1:{port}"
    booting = time.perf_counter() + 180  # workers import the app; on a loaded machine that takes a while
    while time.perf_counter() < booting and process.poll() is None:
        try:
            if requests.get(f"{base}/healthz", timeout=60).status_code == 200:
                return process, base
        except requests.RequestException:
            pass
        time.sleep(0.5)
    process.kill()
    raise SystemExit(f"BENCH FAILED: gunicorn did not answer /healthz (exit {process.poll()}); its log: {SERVER_LOG}")


# --- Clients -----------------------------------------------------------------------------------------------------

class SourceAddress(HTTPAdapter):
    """Connects from a given loopback address (Linux routes all of 127.0.0.0/8 to lo)."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


@dataclass
class Applicant:
    k: int
    session: requests.Session
    token: str = ""
    application_url: str = ""
    answers: dict[str, Any] = field(default_factory=dict)

    @property
    def email(self) -> str:
        return f"surge{self.k}@bench.example"


@dataclass
class Step:
    name: str
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, began: float, ok: bool, what: str = "") -> None:
        with self.lock:
            self.latencies.append(time.perf_counter() - began)
            if not ok:
                self.errors += 1
                if self.errors <= 3:
                    print(f"  ! {self.name}: {what}", file=sys.stderr, flush=True)

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def ms(self, q: float) -> float:
        flat = sorted(self.latencies)
        return flat[min(len(flat) - 1, int(q * len(flat)))] * 1000 if flat else 0.0

    @property
    def median(self) -> float:
        return statistics.median(self.latencies) * 1000 if self.latencies else 0.0


def plain(session: requests.Session) -> None:
    pages.plain_http(session)


def token_of(response: requests.Response) -> str:
    found = CSRF.search(response.text)
    if not found:
        raise RuntimeError(f"no csrf_token at {response.url}")
    return found.group(1)


def phase(step: Step, items: Sequence[T], work: Callable[[T, Step], None]) -> None:
    """CLIENTS threads run `work` for every item (an applicant, a bare writer); the phase's wall time is added to the
    step's."""
    began = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        for future in [pool.submit(work, item, step) for item in items]:
            future.result()
    step.seconds += time.perf_counter() - began


def main_flow(base: str, call_id: int, applicants: list[Applicant], sections: list[str]) -> list[Step]:
    document = _pdf()

    def login(a: Applicant, step: Step) -> None:
        form = a.session.get(f"{base}/auth/login", timeout=60)
        plain(a.session)
        began = time.perf_counter()
        done = a.session.post(f"{base}/auth/login", data={"csrf_token": token_of(form), "email": a.email,
                                                         "password": PASSWORD}, timeout=60, allow_redirects=False)
        plain(a.session)
        step.note(began, done.status_code == 302 and "/auth/login" not in done.headers.get("Location", ""),
                  f"login answered {done.status_code}")

    def start(a: Applicant, step: Step) -> None:
        page = a.session.get(f"{base}/calls/{call_id}", timeout=60)
        plain(a.session)
        a.token = token_of(page)
        began = time.perf_counter()
        done = a.session.post(f"{base}/calls/{call_id}/apply", data={"csrf_token": a.token}, timeout=60,
                              allow_redirects=False)
        plain(a.session)
        a.application_url = done.headers.get("Location", "").split("?")[0].rstrip("/")
        step.note(began, done.status_code == 302 and "/applications/" in a.application_url,
                  f"apply answered {done.status_code}")
        if a.application_url.startswith("/"):
            a.application_url = base + a.application_url

    def save_sections(a: Applicant, step: Step) -> None:
        for key in sections:
            data = {"csrf_token": a.token, "save": "Save"}
            data.update({k: posted for k, (section, posted, _stored) in a.answers.items() if section == key})
            began = time.perf_counter()
            done = a.session.post(f"{a.application_url}/sections/{key}", data=data, timeout=60,
                                  allow_redirects=False)
            plain(a.session)
            step.note(began, done.status_code == 302, f"section {key} answered {done.status_code}")

    def upload(a: Applicant, step: Step) -> None:
        for kind in DOCUMENT_KINDS:
            began = time.perf_counter()
            done = a.session.post(f"{a.application_url}/documents", data={"csrf_token": a.token, "kind": kind},
                                  files={"file": (f"{kind}.pdf", document, "application/pdf")}, timeout=60,
                                  allow_redirects=False)
            plain(a.session)
            step.note(began, done.status_code == 302, f"upload {kind} answered {done.status_code}")

    def submit(a: Applicant, step: Step) -> None:
        began = time.perf_counter()
        done = a.session.post(f"{a.application_url}/submit", data={
            "csrf_token": a.token, "declare_true": "y", "consent_privacy": "y"}, timeout=60, allow_redirects=False)
        plain(a.session)
        step.note(began, done.status_code == 302 and "/review" not in done.headers.get("Location", ""),
                  f"submit answered {done.status_code} {done.headers.get('Location', '')}")

    steps = []
    writers = bare_writers(base, applicants[:CLIENTS])
    # The targeted steps run beside the bare write, interleaved (the machine is shared and its load drifts within
    # minutes: two phases measured one after the other compare the load as much as the code).
    requests_per_applicant = {"section save": len(sections), "submit": 1}
    for name, work in (("login", login), ("start application", start), ("section save", save_sections),
                       ("upload document", upload), ("submit", submit)):
        step = Step(name)
        if name in requests_per_applicant:
            beside = Step(f"bare write beside {name}")
            print(f"  {name}, interleaved with the bare write …", flush=True)
            interleaved(step, beside, applicants, work, writers, requests_per_applicant[name])
            steps.append(beside)
        else:
            print(f"  {name} …", flush=True)
            phase(step, applicants, work)
        steps.append(step)
    return steps


def interleaved(step: Step, bare: Step, applicants: list[Applicant], work: Callable[[Applicant, Step], None],
                writers: list[Writer], per_applicant: int, blocks: int = 4) -> None:
    """`work` for every applicant in `blocks` blocks of whole rounds (a multiple of CLIENTS applicants, so no block
    ends with idle threads the bare write would not have), each beside a bare write block of as many requests, in
    ABBA order: a linear drift of the load within the phase weighs the same on both."""
    size = CLIENTS * max(1, math.ceil(len(applicants) / blocks / CLIENTS))
    for k, first in enumerate(range(0, len(applicants), size)):
        block = applicants[first:first + size]
        per_writer = max(1, round(len(block) * per_applicant / len(writers)))
        if k % 2 == 0:  # bare first in blocks 0, 2, …; the step first in 1, 3, …
            bare_writes(writers, per_writer, bare)
        phase(step, block, work)
        if k % 2 == 1:
            bare_writes(writers, per_writer, bare)


@dataclass
class Writer:
    """A client thread's session for the bare write: its applicant's address and a CSRF token."""

    session: requests.Session
    url: str
    token: str


def bare_writers(base: str, applicants: list[Applicant]) -> list[Writer]:
    """One writer per client thread, from its applicant's address, its token fetched here, outside every timed phase."""
    writers = []
    for a in applicants:
        session = requests.Session()
        session.mount("http://", SourceAddress(a.session.adapters["http://"].address))  # type: ignore[attr-defined]
        token = session.get(f"{base}/bench/write", timeout=60).json()["csrf_token"]
        plain(session)  # the token is checked against the (Secure) session cookie: send it over http too
        writers.append(Writer(session, f"{base}/bench/write", token))
    return writers


def bare_writes(writers: list[Writer], per_writer: int, step: Step) -> Step:
    """The bare write, measured as the steps are: one thread per writer, `per_writer` requests each."""

    def work(writer: Writer, step: Step) -> None:
        for _ in range(per_writer):
            began = time.perf_counter()
            done = writer.session.post(writer.url, data={"csrf_token": writer.token}, timeout=60)
            step.note(began, done.status_code == 204, f"bare write answered {done.status_code}")

    phase(step, writers, work)
    return step


# --- Checks ------------------------------------------------------------------------------------------------------

def verify(url: str, call_id: int, applicants: list[Applicant]) -> list[tuple[str, bool, str]]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT u.email, a.reference, a.status, a.response_id FROM applications a JOIN users u "
            "ON u.id = a.applicant_id WHERE a.call_id = :c AND u.email LIKE 'surge%@bench.example'"),
            {"c": call_id}).all()
        referenced = sum(1 for r in rows if r.reference and r.status == "submitted")
        emails = conn.scalar(sa.text(
            "SELECT count(DISTINCT recipient) FROM outbox_messages WHERE template = 'applications/submitted' "
            "AND recipient LIKE 'surge%@bench.example'"))
        stored: dict[str, dict[str, Any]] = {}
        for email, data in conn.execute(sa.text(
                "SELECT u.email, s.data FROM answer_sets s JOIN applications a ON a.response_id = s.response_id "
                "JOIN users u ON u.id = a.applicant_id WHERE a.call_id = :c AND u.email LIKE 'surge%@bench.example'"),
                {"c": call_id}):
            stored.setdefault(email, {}).update(data)
    engine.dispose()
    wrong = []
    for a in applicants:
        got = stored.get(a.email, {})
        for key, (_section, _posted, expected) in a.answers.items():
            if got.get(key) != expected:
                wrong.append(f"{a.email} {key}: {got.get(key)!r} != {expected!r}")
    for line in wrong[:5]:
        print(f"  ! answer differs: {line}", file=sys.stderr)
    total = sum(len(a.answers) for a in applicants)
    return [(f"{len(applicants)} references", referenced == len(applicants), f"{referenced} submitted with one"),
            (f"{len(applicants)} confirmation emails in the outbox", emails == len(applicants), f"{emails}"),
            ("every answer intact", not wrong, f"{total - len(wrong):,} of {total:,} answers as sent")]


def main() -> None:
    from bench import followups
    from fellowship.applications.form_template import DEFAULT_FORM
    from tests.servers import PostgresServer, RedisServer

    postgres, redis = PostgresServer(), RedisServer()
    postgres.start()
    redis.start()
    process = None
    try:
        url = followups.fresh_database(postgres.url().rsplit("/", 1)[0], "bench_surge")
        print(f"[surge] seeding {EXISTING:,} existing applications …", flush=True)
        call_id = prepare(url, redis.url)
        process, base = serve(url, redis.url)
        applicants = []
        for k in range(APPLICANTS):
            session = requests.Session()
            session.mount("http://", SourceAddress(f"127.0.{1 + k // 250}.{1 + k % 250}"))
            applicants.append(Applicant(k, session, answers=form_answers(k)))
        sections = [s["key"] for s in DEFAULT_FORM]
        print(f"[surge] {APPLICANTS} applicants, {CLIENTS} clients, {len(sections)} sections each", flush=True)
        steps = main_flow(base, call_id, applicants, sections)
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            print(f"  (gunicorn's log: {SERVER_LOG})", flush=True)
    try:
        checks = verify(url, call_id, applicants)
    finally:
        redis.stop()
        postgres.cleanup()
    if not report(steps, checks):
        raise SystemExit("\nBENCH FAILED: some requests did not answer as a success does (see 'errors' above and "
                         "the first ones on stderr): these figures are not valid.")


def report(steps: list[Step], checks: list[tuple[str, bool, str]]) -> bool:
    """Prints the table and the targets; False if any request failed (the figures then measure something else)."""
    # The bare write over the whole run (every block beside the targeted steps): the other steps' reference.
    beside = [s for s in steps if s.name.startswith("bare write beside")]
    bare = Step("bare write (all blocks)", latencies=[x for s in beside for x in s.latencies],
                errors=sum(s.errors for s in beside), seconds=sum(s.seconds for s in beside))
    print(f"\nDeadline surge on PostgreSQL: {EXISTING:,} existing applications, {APPLICANTS} applicants, {CLIENTS} "
          f"clients, gunicorn {2 * (os.cpu_count() or 1) + 1} sync workers (FELLOWSHIP_CONFIG=production), "
          f"{os.cpu_count()} CPUs shared by server, database and clients; {date.today()}")
    header = f"{'step':<30} {'requests':>8} {'req/s':>8} {'median ms':>9} {'p95 ms':>8} {'vs bare':>7} {'errors':>6}"
    print(header)
    print("-" * len(header))
    by_name = {s.name: s for s in steps}
    for s in steps:
        reference = by_name.get(f"bare write beside {s.name}", bare)
        if s.name.startswith("bare write"):
            reference = s
        print(f"{s.name:<30} {len(s.latencies):>8} {s.rps:>8.1f} {s.median:>9.1f} {s.ms(0.95):>8.1f} "
              f"{s.rps / reference.rps if reference.rps else 0:>7.0%} {s.errors:>6}")
    print(f"{bare.name:<30} {len(bare.latencies):>8} {bare.rps:>8.1f} {bare.median:>9.1f} {bare.ms(0.95):>8.1f}  "
          "(the reference of the steps without a target)")
    print(f"\nTargets: section save ≥ {TARGETS['section save']:.0%} and submit ≥ {TARGETS['submit']:.0%} of the bare "
          f"write's throughput, p95 ≤ {P95_FACTOR:.0f}× median, 0 errors")
    for name, share in TARGETS.items():
        s, beside_it = by_name[name], by_name[f"bare write beside {name}"]
        got = s.rps / beside_it.rps if beside_it.rps else 0.0
        print(f"  {'PASS' if got >= share else 'MISS'}  {name}: {got:.0%} of the bare write measured beside it, "
              f"interleaved ({s.rps:.1f} against {beside_it.rps:.1f} req/s)")
    for s in steps:
        ok = s.ms(0.95) <= P95_FACTOR * s.median
        print(f"  {'PASS' if ok else 'MISS'}  {s.name}: p95 {s.ms(0.95):.0f} ms = {s.ms(0.95) / s.median:.1f}× median"
              if s.median else f"  MISS  {s.name}: no requests")
    errors = sum(s.errors for s in steps)
    print(f"  {'PASS' if errors == 0 else 'MISS'}  errors: {errors}")
    print("Database after the surge:")
    for name, ok, detail in checks:
        print(f"  {'PASS' if ok else 'MISS'}  {name}: {detail}")
    return errors == 0


if __name__ == "__main__":
    main()
