"""The daily follow-up job is idempotent: twice the same day, or two processes at once, send nothing twice."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select

from fellowship.alumni.followups import DailySummary, run_daily, schedule_follow_ups
from fellowship.alumni.models import FollowUp, FollowUpStatus
from fellowship.auth.models import Role
from fellowship.extensions import db
from fellowship.fellows.models import Fellow
from fellowship.notifications.models import OutboxMessage
from tests.alumni.factories import make_alumnus
from tests.factories import CallFactory, UserFactory

RETURNED = date(2023, 3, 10)
SIX_MONTHS_DUE = datetime(2023, 9, 10, 1, 0, tzinfo=UTC)


def alumni(count: int) -> list[int]:
    call = CallFactory()
    ids = []
    for _ in range(count):
        fellow = make_alumnus(call, returned_on=RETURNED)
        schedule_follow_ups(fellow)
        ids.append(fellow.id)
    db.session.commit()
    return ids


def outbox_count() -> int:
    return db.session.scalar(select(func.count()).select_from(OutboxMessage)) or 0


def statuses() -> Counter[FollowUpStatus]:
    db.session.expire_all()
    return Counter(db.session.scalars(select(FollowUp.status).where(FollowUp.months_after_return == 6)))


def test_the_daily_job_run_twice_the_same_day_queues_nothing_the_second_time(app_ctx):
    UserFactory(roles=[Role.STAFF])
    alumni(3)
    steps = [SIX_MONTHS_DUE + timedelta(days=d) for d in (0, 7, 21, 35, 90)]
    for now in steps:
        first = run_daily(now, batch_size=2)  # batches smaller than the work: keyset pagination is exercised
        queued = outbox_count()
        assert first != DailySummary()
        assert run_daily(now + timedelta(hours=3), batch_size=2) == DailySummary()
        assert outbox_count() == queued
    assert statuses() == Counter({FollowUpStatus.LAPSED: 3})
    # 3 alumni × (invitation + 2 reminders) + one digest on the overdue day and one on the lapse day.
    assert outbox_count() == 3 * 3 + 2
    assert db.session.scalar(select(func.count()).select_from(Fellow)
                             .where(Fellow.lost_contact_since.is_not(None))) == 3


def run_in_two_processes(app, now: datetime) -> list[DailySummary]:
    """Two workers, each with its own app context and database connection, start run_daily at the same moment."""
    barrier = threading.Barrier(2)
    results: list[DailySummary] = []
    errors: list[BaseException] = []

    def beat() -> None:
        with app.app_context():
            try:
                barrier.wait(10)
                results.append(run_daily(now, batch_size=3))
            except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
                errors.append(exc)
                db.session.rollback()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=beat) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    assert len(results) == 2
    return results


def test_two_processes_running_the_daily_job_at_once_send_each_follow_up_exactly_once(app, app_ctx):
    UserFactory(roles=[Role.STAFF])
    alumni(8)

    results = run_in_two_processes(app, SIX_MONTHS_DUE)
    assert sum(r.sent for r in results) == 8
    assert statuses() == Counter({FollowUpStatus.SENT: 8})
    keys = Counter(db.session.scalars(select(OutboxMessage.dedupe_key)))
    assert len(keys) == 8 and set(keys.values()) == {1}
    assert all(k.endswith(":sent") for k in keys)

    results = run_in_two_processes(app, SIX_MONTHS_DUE + timedelta(days=7))
    assert sum(r.reminded for r in results) == 8
    results = run_in_two_processes(app, SIX_MONTHS_DUE + timedelta(days=90))
    assert sum(r.lapsed for r in results) == 8 and sum(r.lost_contact for r in results) == 8
    assert statuses() == Counter({FollowUpStatus.LAPSED: 8})
    keys = Counter(db.session.scalars(select(OutboxMessage.dedupe_key)))
    assert set(keys.values()) == {1}
    assert sum(1 for k in keys if k.endswith(":reminder1")) == 8
    assert sum(1 for k in keys if k.startswith("followup-digest:")) == 1  # one staff member, one digest


def test_the_daily_job_is_a_named_task_on_the_beat_schedule(app):
    assert "alumni.run_daily_followups" in app.extensions["celery"].tasks
    entry = app.config["CELERY"]["beat_schedule"]["alumni-followups"]
    assert entry["task"] == "alumni.run_daily_followups"
    assert entry["schedule"].hour == {1} and entry["schedule"].minute == {0}
