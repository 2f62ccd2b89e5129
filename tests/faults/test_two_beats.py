"""Drill: two beat processes (each in its own worker) fire the daily jobs again and again at once; every
follow-up invitation and every draft reminder is sent exactly once, because the database's constraints
decide (conditional updates, unique outbox keys), not the timing."""

from __future__ import annotations

import time
from collections import Counter
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from fellowship.alumni.followups import schedule_follow_ups
from fellowship.alumni.models import FollowUp, FollowUpStatus
from fellowship.extensions import db
from fellowship.models import utcnow
from fellowship.notifications.models import MessageStatus, OutboxMessage
from tests.alumni.factories import make_alumnus
from tests.applications.helpers import owner_email
from tests.factories import ApplicationFactory, CallFactory
from tests.servers import wait_until

pytestmark = [pytest.mark.faults, pytest.mark.worker]

ALUMNI = 12
DRAFTS = 12
RUN_FOR_SECONDS = 10
DAILY_TASKS = ("alumni.run_daily_followups", "applications.remind_drafts")


def test_two_beats_firing_the_daily_jobs_together_send_each_follow_up_and_reminder_once(stage, report_proof):
    with stage.app.app_context():
        cohort = CallFactory()
        for _ in range(ALUMNI):  # six-month follow-ups fell due last week and were not sent yet
            schedule_follow_ups(make_alumnus(cohort, returned_on=date.today() - timedelta(days=190)))
        closing = CallFactory(closes_at=utcnow() + timedelta(days=5))  # the week-before reminder is due
        drafters = [owner_email(ApplicationFactory(call=closing)) for _ in range(DRAFTS)]
        db.session.commit()

    # Both beats schedule every job each second: the "daily" jobs run dozens of times, several at once.
    beats = [stage.worker(beat=True, SCHEDULED_JOBS_EVERY_SECONDS="1") for _ in range(2)]
    time.sleep(RUN_FOR_SECONDS)
    for beat in beats:
        beat.stop()
    job_runs = {task: sum(beat.log().count(f"Task {task}[") for beat in beats) // 2 for task in DAILY_TASKS}
    expected = ALUMNI + DRAFTS
    wait_until(lambda: stage.outbox()[MessageStatus.SENT] == expected, timeout=5,
               message=f"outbox: {stage.outbox()}")

    with stage.app.app_context():
        templates = Counter(db.session.scalars(select(OutboxMessage.template)))
        follow_ups = Counter(db.session.scalars(select(FollowUp.status).where(FollowUp.months_after_return == 6)))
    counts = stage.delivery_counts(expected)
    received = Counter(message["To"] for message in stage.smtp.messages)
    report_proof("two beats running the daily jobs", **counts,
                 follow_up_job_runs=job_runs["alumni.run_daily_followups"],
                 draft_reminder_job_runs=job_runs["applications.remind_drafts"])
    assert all(runs >= 4 for runs in job_runs.values()), job_runs  # the drill really raced them
    assert templates == {"alumni/followup_invitation": ALUMNI, "applications/draft_reminder": DRAFTS}
    assert follow_ups == {FollowUpStatus.SENT: ALUMNI}
    assert counts == {"queued": expected, "delivered": expected, "duplicated": 0, "lost": 0}
    assert all(received[email] == 1 for email in drafters) and sum(received.values()) == expected
