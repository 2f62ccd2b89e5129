"""Scheduled jobs of the selection area: reviewer reminders."""

from __future__ import annotations

from celery import shared_task

from fellowship.extensions import db
from fellowship.selection import reminders


@shared_task(name="selection.remind_reviewers", acks_late=True)
def remind_reviewers_task() -> int:
    """Email reviewers of every round whose reviews are due within three days or overdue; safe to run twice or
    from two beats (each assignment's reminder window is claimed by one conditional UPDATE)."""
    queued = reminders.send_review_reminders()
    db.session.commit()
    return queued
