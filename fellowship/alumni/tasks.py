"""Celery tasks of the alumni area: the daily follow-up job."""

from __future__ import annotations

from celery import shared_task

from fellowship.alumni import followups


@shared_task(name="alumni.run_daily_followups", acks_late=True)
def run_daily_followups_task() -> dict[str, int | bool]:
    """Send due follow-ups, reminders, overdue and lapse marks, and the staff digest; commits per batch."""
    summary = followups.run_daily()
    return {"sent": summary.sent, "reminded": summary.reminded, "overdue": summary.overdue,
            "lapsed": summary.lapsed, "lost_contact": summary.lost_contact, "digest_sent": summary.digest_sent}
