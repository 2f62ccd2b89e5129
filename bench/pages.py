"""Benchmark the busiest pages at 5,000 and 50,000 applications: throughput, latency, SQL queries, growth.

    make bench        (or: .venv/bin/python -m bench.pages; BENCH_SIZES=500,5000 BENCH_SECONDS=2 for a quick run)

Starts a throwaway PostgreSQL and Redis (tests/servers.py). For each size, in a fresh database: migrate, seed in
set-based SQL (one call under review with N applications answering the default form through the questionnaire
engine's tables (bench/answers.py), 3 submitted reviews each from a 50-reviewer panel, scores
recomputed once; 10,000 alumni with follow-ups, answers and careers), start the app under gunicorn (2 sync workers,
production config), log in through the real login form and drive each page with 4 concurrent clients for
BENCH_SECONDS, BENCH_REPEATS times; the medians are reported. SQL statements per request are counted separately,
in-process, with a Flask test client on the same database (one request per page). The targeted pages are then
driven in English, Japanese and Arabic, interleaved, in the same run: ja and ar within 10% of en (issue 16). Each
client logs in once per role (the login form allows 30 posts a minute per address) and the same logged-in session
is switched between languages with the `locale` cookie, as the language switcher sets it; every page is checked to
come back in the language asked for. The ranking is seeded with three stages (bench/stages.py, issue 15) and its
first view after a score change is timed BENCH_REPEATS times. One table at the end gives PASS/FAIL per target.

A measured request that answers anything but 200 (a 429 from a rate limit, a redirect to the login page, an error)
stops the bench with a non-zero exit once that size's table is printed: such a figure would measure the wrong thing.

The production config marks the session cookie Secure; the clients talk plain http to 127.0.0.1, so their cookie
sessions are told to send Secure cookies over http too (the app itself runs exactly as in production).
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import redis
import requests
import sqlalchemy as sa

from bench import answers, followups, stages

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "Bench-password-7!"  # noqa: S105
STAFF_EMAIL = "staff0@bench.example"
REVIEWER_EMAIL = "rev1@bench.example"
ALUMNI = 10_000
REVIEWERS = 50
REVIEWS_PER_APPLICATION = 3
CLIENTS = 4
CRITERIA = ["Environmental impact", "Leadership", "Academic merit", "Study plan", "Commitment to return"]
TARGET_SHARE = 0.20
TARGET_GROWTH = 2.0
#: The ranking's first view after a score changed (it recomputes the stored proposal), at the largest size.
FIRST_VIEW_MS = 250
#: Issue 16: the same pages in Japanese and Arabic (right to left) within 10% of English, measured in one run.
LANGUAGES = ("en", "ja", "ar")
TARGET_LANGUAGE_COST = 1.10
#: The size the targets are set at (issues 13-16): a smaller largest size gives indicative verdicts only.
TARGET_SIZE = 50_000
LOCALE_COOKIE = "locale"  # fellowship.i18n.LOCALE_COOKIE: the switcher's cookie, honoured when the account saves none
HTML_LANG = re.compile(r'<html lang="([^"]+)"')
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@dataclass
class Page:
    name: str
    path: str
    role: str  # "none", "staff" or "reviewer"
    targeted: bool  # held to the throughput and flatness targets (lists and the ranking)


def pages(call_id: int) -> list[Page]:
    return [
        Page("/healthz (bare)", "/healthz", "none", False),
        Page("staff application list", f"/staff/calls/{call_id}/applications", "staff", True),
        Page("ranking, 3 stages", f"/staff/calls/{call_id}/ranking", "staff", True),
        Page("reviewer assignments", "/review", "reviewer", True),
        Page("alumni list", "/staff/alumni", "staff", True),
        Page("outcome dashboard", "/staff/outcomes?cohort=all", "staff", True),
        Page("CSV export (whole file)", f"/staff/calls/{call_id}/applications.csv", "staff", False),
    ]


# --- Seeding ----------------------------------------------------------------------------------------------------

def seed(conn: sa.Connection, size: int, password_hash: str) -> int:
    """Alumni (bench.followups' seed, plus answers and careers), then the call under review; returns its id."""
    followups.seed(conn, ALUMNI)
    p: dict[str, Any] = {"n": size, "r": REVIEWERS, "hash": password_hash, "now": datetime.now(UTC)}
    # Answers to the completed follow-ups, and a career entry for most alumni.
    conn.execute(sa.text(
        "INSERT INTO follow_up_responses (follow_up_id, fellow_id, country_of_residence, country_of_work, "
        "projects_led, policies_contributed, publications, people_trained, awards, collaboration_with_japan, "
        "achievements_text, directory_consent, extra, submitted_at) "
        "SELECT fu.id, fu.fellow_id, f.home_country, f.home_country, fu.id % 4, fu.id % 3, fu.id % 5, "
        "(fu.id % 7) * 10, fu.id % 2, fu.id % 3 = 0, 'Led a watershed restoration project.', fu.id % 2 = 0, "
        "'{}', fu.completed_at FROM follow_ups fu JOIN fellows f ON f.id = fu.fellow_id "
        "WHERE fu.status = 'completed'"))
    conn.execute(sa.text(
        "INSERT INTO career_entries (fellow_id, position, organisation, sector, country, start_date, end_date, "
        "environmental, leadership_level, created_at, updated_at) "
        "SELECT f.id, 'Programme officer', 'Ministry of Environment', "
        "(ARRAY['government','ngo','academia','private','international_organisation'])[1 + f.id % 5], "
        "f.home_country, f.actual_return_date + 60, NULL, f.id % 4 <> 0, "
        "(ARRAY['staff','team_lead','manager','senior_leader'])[1 + f.id % 4], now(), now() "
        "FROM fellows f WHERE f.id % 10 <> 0"))
    conn.execute(sa.text("UPDATE users SET password_hash = :hash, email_confirmed_at = now() WHERE email = :e"),
                 {"hash": password_hash, "e": STAFF_EMAIL})

    programme_id = conn.scalar(sa.text("SELECT id FROM programmes ORDER BY id LIMIT 1"))
    call_id = conn.scalar(sa.text(
        "INSERT INTO calls (programme_id, title, year, description, opens_at, closes_at, status, places, "
        "eligible_countries, required_documents, references_required, reference_prefix, "
        "reviewers_per_application, blind_review, same_nationality_conflict, disagreement_threshold, "
        "min_reviews_for_normalisation, offer_response_days, review_due_at, created_at, updated_at) "
        "VALUES (:p, 'Environmental leaders 2026', 2026, '', :opens, :closes, 'reviewing', 50, '[]', '[]', 0, "
        "'ELF', 3, false, false, 1.5, 3, 14, :due, now(), now()) RETURNING id"),
        {"p": programme_id, "opens": datetime(2025, 9, 1, tzinfo=UTC), "closes": datetime(2025, 11, 30, tzinfo=UTC),
         "due": datetime(2026, 2, 28, tzinfo=UTC)})
    p["call"] = call_id
    conn.execute(sa.text("INSERT INTO reference_series (prefix, year, last_number) VALUES ('ELF', 2026, :n)"), p)
    conn.execute(sa.text("INSERT INTO regional_quotas (call_id, region, min_share_percent) "
                         "VALUES (:call, 'Africa', 40), (:call, 'Asia', 40)"), p)
    for position, name in enumerate(CRITERIA):
        conn.execute(sa.text(
            "INSERT INTO rubric_criteria (call_id, position, name, description, weight, level_descriptions) "
            "VALUES (:call, :pos, :name, '', 1, '{}')"), {**p, "pos": position, "name": name})

    # Reviewers: users with the reviewer role, on the call's panel; rev1 logs in.
    conn.execute(sa.text(
        "INSERT INTO users (email, full_name, password_hash, email_confirmed_at, is_active_account, created_at, "
        "updated_at, session_token) SELECT 'rev' || g || '@bench.example', 'Reviewer ' || g, "
        "CASE WHEN g = 1 THEN :hash ELSE 'x' END, now(), true, now(), now(), md5(random()::text) "
        "FROM generate_series(1, :r) g"), p)
    conn.execute(sa.text("INSERT INTO user_roles (user_id, role) SELECT id, 'reviewer' FROM users "
                         "WHERE email LIKE 'rev%@bench.example'"))
    conn.execute(sa.text(
        "INSERT INTO call_reviewers (call_id, reviewer_id, active, joined_at) "
        "SELECT :call, id, true, now() FROM users WHERE email LIKE 'rev%@bench.example'"), p)

    # Applicants and their applications under review.
    countries = ", ".join(f"('{c}', '{r}', {k})" for k, (c, r) in enumerate(followups.COUNTRIES))
    conn.execute(sa.text(
        "INSERT INTO users (email, full_name, password_hash, email_confirmed_at, is_active_account, created_at, "
        "updated_at, session_token) SELECT 'applicant' || g || '@bench.example', 'Applicant ' || g, 'x', now(), "
        "true, now(), now(), md5(random()::text) FROM generate_series(1, :n) g"), p)
    conn.execute(sa.text(
        f"WITH cc(code, region, k) AS (VALUES {countries}), "  # noqa: S608
        "gn(k, name) AS (VALUES (0, 'Amina'), (1, 'Kwame'), (2, 'Linh'), (3, 'Sita'), (4, 'Tendai'), "
        "(5, 'Rahim'), (6, 'Grace'), (7, 'Dewi')), "
        "u AS (SELECT id, row_number() OVER (ORDER BY id) AS i FROM users WHERE email LIKE 'applicant%@bench.example') "
        "INSERT INTO applications (call_id, applicant_id, status, reference, submitted_at, given_name, family_name, "
        "search_name, nationality, country_of_residence, region, institution, environmental_field, eligible, "
        "created_at, updated_at) "
        "SELECT :call, u.id, 'under_review', 'ELF-2026-' || lpad(u.i::text, 5, '0'), "
        "timestamptz '2025-11-01' + (u.i % 1000) * interval '1 minute', gn.name, 'Family' || u.i, "
        "lower(gn.name || ' family' || u.i), cc.code, cc.code, cc.region, 'University ' || (u.i % 40), "
        "(ARRAY['climate_mitigation','climate_adaptation','biodiversity'])[1 + u.i % 3], true, now(), now() "
        "FROM u JOIN cc ON cc.k = u.i % 10 JOIN gn ON gn.k = u.i % 8"), p)

    # The call's form (the default one) and every application's answers, through the engine's storage.
    answers.seed_answers(conn, call_id, answers.seed_form(conn, call_id))

    # Three assignments per application, round-robin over the panel, each with a submitted review.
    conn.execute(sa.text(
        "WITH a AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS i FROM applications WHERE call_id = :call), "
        "r AS (SELECT reviewer_id, row_number() OVER (ORDER BY reviewer_id) - 1 AS j FROM call_reviewers "
        "WHERE call_id = :call) "
        "INSERT INTO assignments (call_id, application_id, reviewer_id, status, due_at, assigned_at) "
        "SELECT :call, a.id, r.reviewer_id, 'active', timestamptz '2026-02-28', now() "
        "FROM a CROSS JOIN generate_series(0, 2) k JOIN r ON r.j = (a.i + k * 17) % :r"), p)
    conn.execute(sa.text(
        "INSERT INTO reviews (assignment_id, application_id, reviewer_id, call_id, status, comment, recommendation, "
        "submitted_at, created_at, updated_at) "
        "SELECT id, application_id, reviewer_id, call_id, 'submitted', 'Solid plan.', "
        "(ARRAY['strongly_support','support','neutral','oppose'])[1 + (id * 7) % 4], now(), now(), now() "
        "FROM assignments WHERE call_id = :call"), p)
    conn.execute(sa.text(
        "INSERT INTO review_scores (review_id, criterion_id, score) "
        "SELECT r.id, c.id, 1 + (r.id * 7 + c.position * 3 + r.reviewer_id) % 5 "
        "FROM reviews r JOIN rubric_criteria c ON c.call_id = r.call_id WHERE r.call_id = :call"), p)
    conn.execute(sa.text(
        "UPDATE reviews SET weighted_score = s.ws FROM (SELECT rs.review_id, "
        "round(sum(rc.weight * rs.score) / sum(rc.weight), 4) AS ws FROM review_scores rs "
        "JOIN rubric_criteria rc ON rc.id = rs.criterion_id WHERE rc.call_id = :call GROUP BY rs.review_id) s "
        "WHERE reviews.id = s.review_id"), p)
    return call_id


def prepare(url: str, redis_url: str, size: int) -> tuple[int, float]:
    """Migrate a fresh database and seed it; returns the call id and the seeding seconds."""
    from flask_migrate import upgrade

    from fellowship import create_app
    from fellowship.auth.passwords import hash_password
    from fellowship.extensions import db
    from fellowship.selection.scores import recompute_call

    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url, REDIS_URL=redis_url, RATELIMIT_STORAGE_URI=redis_url,
                     INSTANCE_DIR=tempfile.mkdtemp(prefix="bench-pages-"))
    with app.app_context():
        upgrade()
        started = time.perf_counter()
        with db.engine.begin() as conn:
            call_id = seed(conn, size, hash_password(PASSWORD))
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("ANALYZE"))  # fresh statistics, or the planner takes the new tables for empty
        scored = time.perf_counter()
        recompute_call(call_id)
        print(f"  recompute_call: {time.perf_counter() - scored:.1f} s", flush=True)
        db.session.commit()
        with db.engine.begin() as conn:
            stages.seed_stages(conn, call_id)  # review 40% -> shortlist -> interview 60% (issue 15)
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
        # The seed wrote in bulk SQL, behind the application's back: drop whatever the cached figures (Redis) hold,
        # as a deployment would after loading data by hand.
        redis.Redis.from_url(redis_url).flushdb()
        seconds = time.perf_counter() - started
        db.session.remove()
        db.engine.dispose()
    return call_id, seconds


# --- Clients ----------------------------------------------------------------------------------------------------

def plain_http(session: requests.Session) -> None:
    """Lets the session send its Secure cookies over plain http to the local benchmark server.

    Production marks cookies Secure; requests (http.cookiejar) keeps them but never sends them over http.
    """
    for cookie in session.cookies:
        cookie.secure = False


def http_session(base: str, email: str | None) -> requests.Session:
    session = requests.Session()
    if email:
        form = session.get(f"{base}/auth/login", timeout=30)
        plain_http(session)
        token = CSRF.search(form.text)
        if not token:
            raise SystemExit("no csrf_token on the login page")
        # Not following the redirect: its request would go out before the new Secure session cookie is made
        # sendable over http, and the anonymous page it gets could set a cookie over the logged-in one.
        done = session.post(f"{base}/auth/login", data={"csrf_token": token.group(1), "email": email,
                                                         "password": PASSWORD}, timeout=30, allow_redirects=False)
        plain_http(session)
        if done.status_code != 302 or "/auth/login" in done.headers.get("Location", ""):
            raise SystemExit(f"login as {email} failed (status {done.status_code}, to {done.headers.get('Location')})")
    return session


@dataclass
class Run:
    rps: float
    median_ms: float
    p95_ms: float
    bytes: int
    errors: int
    #: Every answer other than 200, by status code (a 429, a redirect to the login page, a 500 …).
    unexpected: Counter[int] = field(default_factory=Counter)


@dataclass
class Result:
    page: Page
    runs: list[Run] = field(default_factory=list)
    queries: int = 0

    def med(self, attribute: str) -> float:
        return statistics.median(getattr(r, attribute) for r in self.runs)


def drive(base: str, path: str, sessions: list[requests.Session], seconds: float) -> Run:
    """CLIENTS threads request `path` back to back for `seconds`; each reads the whole body."""
    latencies: list[list[float]] = [[] for _ in sessions]
    sizes = [0] * len(sessions)
    errors = [0] * len(sessions)
    unexpected: list[Counter[int]] = [Counter() for _ in sessions]
    start = threading.Barrier(len(sessions) + 1)
    deadline = [0.0]

    def client(k: int) -> None:
        session = sessions[k]
        start.wait()
        while time.perf_counter() < deadline[0]:
            began = time.perf_counter()
            response = session.get(base + path, timeout=120, allow_redirects=False)
            body = response.content
            plain_http(session)
            latencies[k].append(time.perf_counter() - began)
            sizes[k] = len(body)
            if response.status_code != 200:
                errors[k] += 1
                unexpected[k][response.status_code] += 1
                if errors[k] == 1:
                    print(f"  ! {path} answered {response.status_code} {response.headers.get('Location', '')}",
                          file=sys.stderr, flush=True)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(len(sessions))]
    for t in threads:
        t.start()
    began = time.perf_counter()
    deadline[0] = began + seconds
    start.wait()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    flat = sorted(x for per in latencies for x in per)
    p95 = flat[min(len(flat) - 1, int(0.95 * len(flat)))]
    return Run(len(flat) / elapsed, statistics.median(flat) * 1000, p95 * 1000, max(sizes), sum(errors),
               sum(unexpected, Counter()))


def serve(url: str, redis_url: str) -> tuple[subprocess.Popen[bytes], str]:
    from tests.servers import free_port, wait_for_port

    port = free_port()
    env = {**os.environ, "FELLOWSHIP_CONFIG": "production", "SECRET_KEY": "bench", "DATABASE_URL": url,
           "REDIS_URL": redis_url, "RATELIMIT_STORAGE_URI": redis_url, "LOGIN_RATE_LIMIT": "10000 per minute",
           "FELLOWSHIP_INSTANCE": tempfile.mkdtemp(prefix="bench-pages-instance-")}
    # The server's log goes to a file of its own: a pipe nobody reads fills up (the production app logs at INFO)
    # and blocks the workers mid-measurement.
    log = Path(tempfile.mkstemp(prefix="bench-pages-gunicorn-", suffix=".log")[1])
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "--workers", "2", "--worker-class", "sync",
         "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "--timeout", "300", "wsgi:app"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log.open("wb"))
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
    process.wait(timeout=30)
    raise SystemExit(f"BENCH FAILED: gunicorn did not answer /healthz (exit {process.poll()}); its log: {log}\n"
                     f"{log.read_text(errors='replace')[-3000:]}")


def count_queries(url: str, redis_url: str, page_list: list[Page]) -> dict[str, tuple[int, int]]:
    """SQL statements and bytes of one request per page, in-process, logged in through the form."""
    from fellowship import create_app
    from fellowship.extensions import db
    from tests.querycount import counted_statements

    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url, REDIS_URL=redis_url, RATELIMIT_STORAGE_URI=redis_url,
                     INSTANCE_DIR=tempfile.mkdtemp(prefix="bench-pages-"), LOGIN_RATE_LIMIT="10000 per minute")
    clients: dict[str, Any] = {}
    for role, email in (("none", None), ("staff", STAFF_EMAIL), ("reviewer", REVIEWER_EMAIL)):
        client = app.test_client()
        if email:
            token = CSRF.search(client.get("/auth/login").get_data(as_text=True))
            assert token, "no csrf_token on the login page"
            done = client.post("/auth/login", data={"csrf_token": token.group(1), "email": email,
                                                    "password": PASSWORD})
            if done.status_code != 302:
                raise SystemExit(f"in-process login as {email} failed (status {done.status_code})")
        clients[role] = client
    out: dict[str, tuple[int, int]] = {}
    for page in page_list:
        clients[page.role].get(page.path)  # warm caches (first request loads templates)
        with app.app_context():  # one per page: the request reuses it, so g (the logged-in user) starts empty
            with counted_statements() as statements:
                response = clients[page.role].get(page.path)
                body = response.get_data()
            db.session.remove()
        if response.status_code != 200:
            raise SystemExit(f"{page.path} answered {response.status_code} in-process")
        out[page.path] = (len(statements), len(body))
    with app.app_context():
        db.engine.dispose()
    return out


def after_a_change(url: str, redis_url: str, call_id: int, repeats: int) -> list[tuple[str, float, float]]:
    """The price of the stored and cached figures: one request right after their inputs changed (which recomputes
    them), then one more (which reads them), in-process, for each page that stores or caches something; `repeats`
    times each, medians returned (a single first view is one noisy sample on a shared machine)."""
    from fellowship import create_app
    from fellowship.alumni.outcomes import FIGURES
    from fellowship.applications.staff_services import LIST_FIGURES
    from fellowship.extensions import db
    from fellowship.selection.ranking import invalidate_proposals

    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url, REDIS_URL=redis_url, RATELIMIT_STORAGE_URI=redis_url,
                     INSTANCE_DIR=tempfile.mkdtemp(prefix="bench-pages-"), LOGIN_RATE_LIMIT="10000 per minute")
    client = app.test_client()
    token = CSRF.search(client.get("/auth/login").get_data(as_text=True))
    assert token, "no csrf_token on the login page"
    client.post("/auth/login", data={"csrf_token": token.group(1), "email": STAFF_EMAIL, "password": PASSWORD})

    def stale_ranking() -> None:
        with db.engine.begin() as conn:
            invalidate_proposals(conn, [call_id])

    changes = [("ranking, 3 stages (a score changed)", f"/staff/calls/{call_id}/ranking", stale_ranking),
               ("staff application list (a status changed)", f"/staff/calls/{call_id}/applications",
                lambda: LIST_FIGURES.invalidate({str(call_id)})),
               ("outcome dashboard (an answer came in)", "/staff/outcomes?cohort=all",
                lambda: FIGURES.invalidate({"*"}))]
    out = []
    for name, path, change in changes:
        client.get(path)
        firsts, thens = [], []
        for _ in range(max(1, repeats)):
            with app.app_context():
                change()
            timings = []
            for _ in range(2):  # each request in its own app context, as under gunicorn
                began = time.perf_counter()
                response = client.get(path)
                timings.append((time.perf_counter() - began) * 1000)
                if response.status_code != 200:
                    raise SystemExit(f"BENCH FAILED: {path} answered {response.status_code} in-process after a change")
            firsts.append(timings[0])
            thens.append(timings[1])
        out.append((name, statistics.median(firsts), statistics.median(thens)))
    with app.app_context():
        db.engine.dispose()
    return out


def measure(server_url: str, redis_url: str, size: int, seconds: float, repeats: int,
            only: set[str] | None = None, languages: bool = True) -> dict[str, Any]:
    """One size: seed, count queries, time the first views after a change, then drive the pages under gunicorn
    (`only`: the names of the pages to drive; `languages`: also drive the targeted pages in ja and ar)."""
    url = followups.fresh_database(server_url, f"bench_pages_{size}")
    print(f"\n[{size:,} applications] seeding …", flush=True)
    call_id, seed_seconds = prepare(url, redis_url, size)
    print(f"[{size:,} applications] seeded in {seed_seconds:.1f} s; counting queries …", flush=True)
    page_list = [p for p in pages(call_id) if only is None or p.name in only]
    counts = count_queries(url, redis_url, page_list)
    changed = after_a_change(url, redis_url, call_id, repeats)
    process, base = serve(url, redis_url)
    results = [Result(p, queries=counts[p.path][0]) for p in page_list]
    by_language: dict[str, dict[str, list[Run]]] = {}
    try:
        # One login per client and role, for the whole size (the login form allows 30 posts a minute per address).
        sessions = {"none": [http_session(base, None) for _ in range(CLIENTS)],
                    "staff": [http_session(base, STAFF_EMAIL) for _ in range(CLIENTS)],
                    "reviewer": [http_session(base, REVIEWER_EMAIL) for _ in range(CLIENTS)]}
        for result in results:  # warm-up: every worker renders every page once
            for s in sessions[result.page.role][:2]:
                expect_ok(s.get(base + result.page.path, timeout=300), result.page.path)
                plain_http(s)
        for rep in range(repeats):
            print(f"[{size:,} applications] repetition {rep + 1}/{repeats}", flush=True)
            for result in results:
                result.runs.append(drive(base, result.page.path, sessions[result.page.role], seconds))
        if languages:
            by_language = in_each_language(base, [r.page for r in results if r.page.targeted], sessions, seconds,
                                           repeats)
    finally:
        process.terminate()
        process.wait(timeout=30)
    return {"size": size, "seed_s": seed_seconds, "results": results, "changed": changed, "languages": by_language}


def expect_ok(response: requests.Response, path: str, language: str | None = None) -> None:
    """A warm-up request must succeed, in the language asked for: otherwise every figure after it is of another page."""
    if response.status_code != 200:
        raise SystemExit(f"BENCH FAILED: warm-up {path} answered {response.status_code} "
                         f"{response.headers.get('Location', '')}")
    if language is not None:
        found = HTML_LANG.search(response.text)
        if not found or found.group(1) != language:
            raise SystemExit(f"BENCH FAILED: {path} asked in {language} came back in "
                             f"{found.group(1) if found else 'no language'}")


def switch_language(base: str, sessions: list[requests.Session], language: str) -> None:
    """The `locale` cookie on each logged-in session, as the language switcher sets it (the bench accounts save no
    language of their own, so the cookie decides; expect_ok checks the pages come back in it)."""
    host = urlsplit(base).hostname or "127.0.0.1"
    for session in sessions:
        session.cookies.set(LOCALE_COOKIE, language, domain=host, path="/")


def in_each_language(base: str, page_list: list[Page], sessions: dict[str, list[requests.Session]], seconds: float,
                     repeats: int) -> dict[str, dict[str, list[Run]]]:
    """Each page driven in every language of LANGUAGES by the same logged-in clients, interleaved page by page and
    in a rotating order (en ja ar, ja ar en, ar en ja, …) so that drift in the machine's load, and whatever the
    language just before leaves behind, falls on all alike."""
    runs: dict[str, dict[str, list[Run]]] = {p.name: {language: [] for language in LANGUAGES} for p in page_list}
    for page in page_list:  # warm-up: every worker renders the page once in each language (catalogs load once)
        for language in LANGUAGES:
            switch_language(base, sessions[page.role], language)
            for client in sessions[page.role][:2]:
                expect_ok(client.get(base + page.path, timeout=300), page.path, language)
                plain_http(client)
    for rep in range(repeats):
        print(f"  languages: repetition {rep + 1}/{repeats}", flush=True)
        order = LANGUAGES[rep % len(LANGUAGES):] + LANGUAGES[:rep % len(LANGUAGES)]
        for page in page_list:
            for language in order:
                switch_language(base, sessions[page.role], language)
                runs[page.name][language].append(drive(base, page.path, sessions[page.role], seconds))
    for role_sessions in sessions.values():
        switch_language(base, role_sessions, "en")
    return runs


def language_ratios(by_language: dict[str, list[Run]]) -> dict[str, float]:
    """Each language's median time over English's, paired by repetition (run side by side), median over repetitions."""
    english = by_language["en"]
    return {lang: statistics.median(run.median_ms / en.median_ms for run, en in zip(runs, english, strict=True))
            for lang, runs in by_language.items() if lang != "en"}


def language_table(run: dict[str, Any]) -> None:
    """Median time per page in each language, and whether ja and ar stay within TARGET_LANGUAGE_COST of en."""
    if not run["languages"]:
        return
    print(f"\nLanguages at {run['size']:,} applications: median ms (ja and ar ≤ {TARGET_LANGUAGE_COST:.2f}× en, "
          "each run beside its English run)")
    for name, by_language in run["languages"].items():
        medians = {lang: statistics.median(r.median_ms for r in runs) for lang, runs in by_language.items()}
        ratios = language_ratios(by_language)
        ok = all(ratio <= TARGET_LANGUAGE_COST for ratio in ratios.values())
        detail = ", ".join(f"{lang} {medians[lang]:.1f} ms" for lang in LANGUAGES)
        versus = ", ".join(f"{lang} {ratio:.2f}×" for lang, ratio in ratios.items())
        errors = sum(r.errors for runs in by_language.values() for r in runs)
        print(f"  {'PASS' if ok else 'FAIL'}  {name:<26} {detail} ({versus}){f', {errors} ERRORS' if errors else ''}")


def failures(run: dict[str, Any]) -> list[str]:
    """Every measured request of a size that did not answer 200, by page, language and status."""
    out = []
    for result in run["results"]:
        bad: Counter[int] = sum((r.unexpected for r in result.runs), Counter())
        if bad:
            out.append(f"{result.page.name}: {dict(bad)}")
    for name, by_language in run["languages"].items():
        for language, runs in by_language.items():
            bad_in: Counter[int] = sum((r.unexpected for r in runs), Counter())
            if bad_in:
                out.append(f"{name} in {language}: {dict(bad_in)}")
    return out


# --- Report -----------------------------------------------------------------------------------------------------

def table(run: dict[str, Any], previous: dict[str, Any] | None) -> None:
    results: list[Result] = run["results"]
    bare = results[0].med("rps")
    print(f"\n{run['size']:,} applications (seeded in {run['seed_s']:.0f} s), {CLIENTS} clients, medians of "
          f"{len(results[0].runs)} runs")
    header = (f"{'page':<26} {'req/s':>8} {'median ms':>9} {'p95 ms':>8} {'queries':>7} {'bytes':>10} "
              f"{'vs bare':>7} {'errors':>6}" + (f" {'time ×':>7} {'same queries':>12}" if previous else ""))
    print(header)
    print("-" * len(header))
    before = {r.page.name: r for r in previous["results"]} if previous else {}
    for r in results:
        line = (f"{r.page.name:<26} {r.med('rps'):>8.1f} {r.med('median_ms'):>9.1f} {r.med('p95_ms'):>8.1f} "
                f"{r.queries:>7} {int(r.med('bytes')):>10,} {r.med('rps') / bare:>7.0%} "
                f"{sum(x.errors for x in r.runs):>6}")
        if previous:
            old = before[r.page.name]
            same = "yes" if r.queries == old.queries else "NO"
            line += f" {r.med('median_ms') / old.med('median_ms'):>7.2f} {same:>12}"
        print(line)
    print("After a change (in-process, medians of the repetitions): the first view recomputes, the next reads the "
          "stored copy")
    for name, first, then in run["changed"]:
        print(f"  {name:<44} first {first:7.1f} ms, then {then:6.1f} ms")


def targets(runs: list[dict[str, Any]]) -> list[tuple[str, str, str, bool]]:
    """Every target as (issue, target, measured, met): the pages' throughput, growth and queries at the largest size
    against the smallest (the ranking's are issue 15's: it ranks over three stages), the ranking's first view after
    a score change (issue 15), and each targeted page in ja and ar against en at the largest size (issue 16)."""
    small, large = runs[0], runs[-1]
    bare = large["results"][0].med("rps")
    before = {r.page.name: r for r in small["results"]}
    rows: list[tuple[str, str, str, bool]] = []
    for r in large["results"][1:]:
        issue = "15" if r.page.name.startswith("ranking") else "pages"
        old = before[r.page.name]
        if r.page.targeted:
            share = r.med("rps") / bare
            rows.append((issue, f"{r.page.name}: throughput ≥ {TARGET_SHARE:.0%} of /healthz", f"{share:.0%}",
                         share >= TARGET_SHARE))
            if len(runs) > 1:
                growth = r.med("median_ms") / old.med("median_ms")
                rows.append((issue, f"{r.page.name}: median ≤ {TARGET_GROWTH:.0f}× at {small['size']:,}",
                             f"{growth:.2f}×", growth <= TARGET_GROWTH))
        if len(runs) > 1:
            rows.append((issue, f"{r.page.name}: same queries as at {small['size']:,}", f"{old.queries}→{r.queries}",
                         r.queries == old.queries))
    for name, first, then in large["changed"]:
        if name.startswith("ranking"):
            rows.append(("15", f"ranking, 3 stages: first view after a score change ≤ {FIRST_VIEW_MS} ms",
                         f"{first:.0f} ms (next {then:.0f} ms)", first <= FIRST_VIEW_MS))
    for name, by_language in large["languages"].items():
        for language, ratio in language_ratios(by_language).items():
            rows.append(("16", f"{name}: {language} ≤ {TARGET_LANGUAGE_COST:.2f}× en", f"{ratio:.2f}×",
                         ratio <= TARGET_LANGUAGE_COST))
    return rows


def targets_table(runs: list[dict[str, Any]]) -> None:
    large = runs[-1]
    sizes = f"{runs[0]['size']:,} vs {large['size']:,}" if len(runs) > 1 else f"{large['size']:,}"
    print(f"\nTargets ({sizes} applications)")
    if large["size"] < TARGET_SIZE:
        print(f"  the targets are set at {TARGET_SIZE:,} applications; this run's largest size is "
              f"{large['size']:,}, so these verdicts are indicative only")
    rows = targets(runs)
    width = max(len(target) for _, target, _, _ in rows)
    print(f"  {'':4}  {'issue':<6} {'target':<{width}}  measured")
    for issue, target, measured, met in rows:
        print(f"  {'PASS' if met else 'FAIL'}  {issue:<6} {target:<{width}}  {measured}")
    missed = sum(1 for *_, met in rows if not met)
    print(f"  {len(rows) - missed} of {len(rows)} targets met")


def main(only: set[str] | None = None, languages: bool = True, default_sizes: str = "5000,50000") -> None:
    sizes = [int(s) for s in os.environ.get("BENCH_SIZES", default_sizes).split(",")]
    seconds = float(os.environ.get("BENCH_SECONDS", "5"))
    repeats = int(os.environ.get("BENCH_REPEATS", "3"))
    from tests.servers import PostgresServer, RedisServer

    postgres, redis = PostgresServer(), RedisServer()
    postgres.start()
    redis.start()
    runs = []
    try:
        server_url = postgres.url().rsplit("/", 1)[0]
        for size in sizes:
            runs.append(measure(server_url, redis.url, size, seconds, repeats, only, languages))
            table(runs[-1], runs[-2] if len(runs) > 1 else None)  # as soon as measured; all again at the end
            language_table(runs[-1])
            bad = failures(runs[-1])
            if bad:  # a 429 or a redirect measured as a page would pass for a figure: stop here, loudly
                raise SystemExit(f"\nBENCH FAILED at {size:,} applications: measured requests did not answer 200 "
                                 f"(status: count): {'; '.join(bad)}. These figures are not valid.")
    finally:
        redis.stop()
        postgres.cleanup()
    print(f"\nPages under gunicorn (2 sync workers, FELLOWSHIP_CONFIG=production) on PostgreSQL, {os.cpu_count()} "
          f"CPUs shared by server, database and clients; {seconds:g} s per page per run. Queries and bytes: one "
          "in-process request per page.")
    for k, run in enumerate(runs):
        table(run, runs[k - 1] if k else None)
        language_table(run)
    targets_table(runs)


if __name__ == "__main__":
    main()
