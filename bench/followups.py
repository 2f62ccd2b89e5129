"""Benchmark the daily follow-up job at 10,000 and 100,000 alumni: wall time and peak memory, side by side.

    make bench-followups        (or: .venv/bin/python -m bench.followups [--sizes 10000,100000])

Starts a throwaway PostgreSQL and Redis (tests/servers.py). Each size runs in a child process of its own, so its
peak RSS is its own: the child migrates a fresh database, seeds it in SQL (INSERT ... SELECT generate_series), then
runs `run_daily(now)` once under tracemalloc. The seeded state is the job's busiest realistic day: alumni returned
over the last six years, follow-ups older than BACKLOG_DAYS are where daily runs would have left them (completed,
reminded, overdue, lapsed; some reach their next stage today), and the last BACKLOG_DAYS were not sent (the job was
paused for two weeks). Work grows with the number of alumni; memory must not (batches of BATCH_SIZE, keyset paging).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

NOW = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)
BACKLOG_DAYS = 14
RETURN_SPREAD_DAYS = 6 * 365
BATCH_SIZE = 1000
COUNTRIES = [("KE", "Africa"), ("NG", "Africa"), ("GH", "Africa"), ("ET", "Africa"), ("VN", "Asia"),
             ("ID", "Asia"), ("BD", "Asia"), ("NP", "Asia"), ("PH", "Asia"), ("TZ", "Africa")]



def fresh_database(server_url: str, name: str) -> str:
    """An empty database `name` on the throwaway server (dropped first if a run left one); returns its URL."""
    admin = sa.create_engine(f"{server_url}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return f"{server_url}/{name}"

def seed(conn: sa.Connection, alumni: int) -> None:
    """Users, accepted applications, completed fellows and their follow-ups, all in set-based SQL."""
    today = NOW.date()
    params: dict[str, Any] = {"n": alumni, "today": today, "now": NOW, "spread": RETURN_SPREAD_DAYS,
                              "backlog": BACKLOG_DAYS}
    programme_id = conn.scalar(sa.text(
        "INSERT INTO programmes (name, description, time_zone, followup_months, created_at, updated_at) "
        "VALUES ('Bench programme', '', 'Asia/Tokyo', '[6, 12, 24, 36, 60]', now(), now()) RETURNING id"))
    for year in range(2017, 2023):
        conn.execute(sa.text(
            "INSERT INTO calls (programme_id, title, year, description, opens_at, closes_at, status, places, "
            "eligible_countries, required_documents, references_required, reference_prefix, "
            "reviewers_per_application, blind_review, same_nationality_conflict, disagreement_threshold, "
            "min_reviews_for_normalisation, offer_response_days, created_at, updated_at) "
            "VALUES (:p, :title, :year, '', :opens, :closes, 'closed', 10000, '[]', '[]', 0, 'BEN', 1, false, "
            "false, 1.5, 3, 14, now(), now())"),
            {"p": programme_id, "title": f"Cohort {year}", "year": year, "opens": datetime(year - 1, 9, 1, tzinfo=UTC),
             "closes": datetime(year - 1, 11, 30, tzinfo=UTC)})
    call_ids = list(conn.scalars(sa.text("SELECT id FROM calls ORDER BY id")))
    params["calls"] = call_ids
    countries = ", ".join(f"('{c}', '{r}')" for c, r in COUNTRIES)
    conn.execute(sa.text(
        "INSERT INTO users (email, full_name, password_hash, email_confirmed_at, is_active_account, created_at, "
        "updated_at, session_token) SELECT 'alum' || g || '@bench.example', 'Alumnus ' || g, 'x', now(), true, "
        "now(), now(), md5(random()::text) FROM generate_series(1, :n) g"), params)
    for i in range(3):
        user_id = conn.scalar(sa.text(
            "INSERT INTO users (email, full_name, password_hash, is_active_account, created_at, updated_at, "
            "session_token) VALUES (:e, :name, 'x', true, now(), now(), md5(random()::text)) RETURNING id"),
            {"e": f"staff{i}@bench.example", "name": f"Staff {i}"})
        conn.execute(sa.text("INSERT INTO user_roles (user_id, role) VALUES (:u, 'staff')"), {"u": user_id})
    conn.execute(sa.text(
        f"WITH c(code, region) AS (VALUES {countries}), cc AS (SELECT code, region, row_number() OVER () - 1 AS k "  # noqa: S608
        "FROM c) "
        "INSERT INTO applications (call_id, applicant_id, status, reference, submitted_at, given_name, family_name, "
        "nationality, country_of_residence, region, created_at, updated_at) "
        "SELECT (:calls)[1 + u.id % cardinality(:calls)], u.id, 'offer_accepted', 'BEN-' || u.id, now(), "
        "'Alumnus', u.id::text, cc.code, cc.code, cc.region, now(), now() "
        "FROM users u JOIN cc ON cc.k = u.id % 10 WHERE u.email LIKE 'alum%@bench.example'"), params)
    conn.execute(sa.text(
        "INSERT INTO fellows (application_id, user_id, call_id, home_country, home_region, status, arrival_date, "
        "planned_return_date, actual_return_date, notes, directory_opt_in, created_at, updated_at) "
        "SELECT a.id, a.applicant_id, a.call_id, a.nationality, a.region, 'completed', d - 730, d, d, '', false, "
        "now(), now() FROM (SELECT *, CAST(:today AS date) - 1 - ((id * 7919) % :spread) AS d FROM applications) a"),
        params)
    # Each follow-up in the state daily runs up to yesterday would have left it; `age` = days since due.
    conn.execute(sa.text(
        "INSERT INTO follow_ups (fellow_id, months_after_return, due_on, status, sent_at, reminders_sent, "
        "last_reminded_at, overdue_at, lapsed_at, completed_at, link_nonce) "
        "SELECT fellow_id, months, due_on, "
        "  CASE WHEN age < :backlog THEN 'scheduled' WHEN answered THEN 'completed' WHEN age <= 7 THEN 'sent' "
        "       WHEN age <= 35 THEN 'reminded' WHEN age <= 90 THEN 'overdue' ELSE 'lapsed' END, "
        "  CASE WHEN age >= :backlog THEN sent_at END, "
        "  CASE WHEN age < :backlog OR answered OR age <= 7 THEN 0 WHEN age <= 21 THEN 1 ELSE 2 END, "
        "  CASE WHEN age >= :backlog AND NOT answered AND age > 7 THEN sent_at + interval '7 days' END, "
        "  CASE WHEN age >= :backlog AND NOT answered AND age > 35 THEN sent_at + interval '35 days' END, "
        "  CASE WHEN age >= :backlog AND NOT answered AND age > 90 THEN sent_at + interval '90 days' END, "
        "  CASE WHEN age >= :backlog AND answered THEN sent_at + interval '10 days' END, "
        "  CASE WHEN age >= :backlog AND NOT answered THEN md5(fellow_id::text || '-' || months) END "
        "FROM (SELECT f.id AS fellow_id, m.months, due_on, CAST(:today AS date) - due_on AS age, "
        "             (due_on + time '01:00') AT TIME ZONE 'UTC' AS sent_at, "
        "             ((f.id + m.months) % 10 < 6 AND CAST(:today AS date) - due_on >= 10) AS answered "
        "      FROM fellows f CROSS JOIN (VALUES (6), (12), (24), (36), (60)) m(months) "
        "      CROSS JOIN LATERAL (SELECT (f.actual_return_date + make_interval(months => m.months))::date AS due_on) x"
        "     ) s"), params)
    conn.execute(sa.text(
        "UPDATE fellows SET lost_contact_since = :now - interval '30 days' WHERE EXISTS "
        "(SELECT 1 FROM follow_ups fu WHERE fu.fellow_id = fellows.id AND fu.status = 'lapsed')"), params)


def child(alumni: int, server_url: str, redis_url: str) -> dict[str, Any]:
    """Seed a database of its own with `alumni`, run the daily job once, return the figures."""
    from flask_migrate import upgrade

    from fellowship import create_app
    from fellowship.alumni.followups import run_daily
    from fellowship.extensions import db

    url = fresh_database(server_url, f"bench_followups_{alumni}")
    instance = tempfile.mkdtemp(prefix="bench-followups-")
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url, REDIS_URL=redis_url, RATELIMIT_STORAGE_URI=redis_url,
                     INSTANCE_DIR=instance, PUBLIC_URL="https://fellowship.example")
    with app.app_context():
        upgrade()
        started = time.perf_counter()
        with db.engine.begin() as conn:
            seed(conn, alumni)
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
        seed_seconds = time.perf_counter() - started
        follow_ups = db.session.scalar(sa.text("SELECT count(*) FROM follow_ups"))
        db.session.remove()

        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        tracemalloc.start()
        started = time.perf_counter()
        summary = run_daily(NOW, batch_size=BATCH_SIZE)
        seconds = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rss_delta = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
        outbox = db.session.scalar(sa.text("SELECT count(*) FROM outbox_messages"))
        db.session.remove()
        db.engine.dispose()
    return {"alumni": alumni, "follow_ups": follow_ups, "seed_s": seed_seconds, "run_s": seconds,
            "peak_kib": peak / 1024, "rss_delta_kib": rss_delta, "outbox": outbox, "sent": summary.sent,
            "reminded": summary.reminded, "overdue": summary.overdue, "lapsed": summary.lapsed,
            "lost_contact": summary.lost_contact, "digest": summary.digest_sent}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--child", type=int)
    parser.add_argument("--server")
    parser.add_argument("--redis")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.server, args.redis)))
        return

    from tests.servers import PostgresServer, RedisServer

    postgres, redis = PostgresServer(), RedisServer()
    postgres.start()
    redis.start()
    rows = []
    try:
        server_url = postgres.url().rsplit("/", 1)[0]
        for size in (int(s) for s in args.sizes.split(",")):
            out = subprocess.run([sys.executable, "-m", "bench.followups", "--child", str(size), "--server",
                                  server_url, "--redis", redis.url], capture_output=True, text=True, check=False,
                                 env={**os.environ, "PYTHONHASHSEED": "0"})
            if out.returncode:
                sys.stderr.write(out.stderr[-4000:])
                raise SystemExit(f"benchmark at {size} alumni failed")
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    finally:
        redis.stop()
        postgres.cleanup()

    print(f"\nDaily follow-up job (run_daily, batch {BATCH_SIZE}, under tracemalloc), now = {NOW:%Y-%m-%d %H:%M} UTC, "
          f"backlog {BACKLOG_DAYS} days\n")
    header = (f"{'alumni':>8} {'follow-ups':>10} {'seed s':>7} {'sent':>6} {'remind':>6} {'overdue':>7} "
              f"{'lapsed':>6} {'lost':>5} {'emails':>6} {'run s':>7} {'emails/s':>8} {'py peak MiB':>11} "
              f"{'RSS +MiB':>8}")
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['alumni']:>8} {r['follow_ups']:>10} {r['seed_s']:>7.1f} {r['sent']:>6} {r['reminded']:>6} "
              f"{r['overdue']:>7} {r['lapsed']:>6} {r['lost_contact']:>5} {r['outbox']:>6} {r['run_s']:>7.2f} "
              f"{r['outbox'] / r['run_s']:>8.0f} {r['peak_kib'] / 1024:>11.2f} {r['rss_delta_kib'] / 1024:>8.2f}")
    if len(rows) >= 2:
        small, large = rows[0], rows[-1]
        print(f"\n{large['alumni'] // small['alumni']}× the alumni: {large['run_s'] / small['run_s']:.1f}× the time, "
              f"{large['peak_kib'] / small['peak_kib']:.2f}× the Python peak memory, RSS growth "
              f"{small['rss_delta_kib'] / 1024:.1f} → {large['rss_delta_kib'] / 1024:.1f} MiB (flat means about 1×).")


if __name__ == "__main__":
    main()
