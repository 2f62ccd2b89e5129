"""Scheduled job of the interviews area: the reminder 24 hours before each interview."""

from __future__ import annotations

from celery import shared_task

from fellowship.extensions import db
from fellowship.interviews import services


@shared_task(name="interviews.send_reminders", acks_late=True)
def send_reminders_task() -> int:
    """Queue due interview reminders; safe to run twice or from two beats (conditional write per booking)."""
    queued = services.send_due_reminders()
    db.session.commit()
    return queued
