"""Scheduled jobs of the selection area: reviewer reminders."""

from __future__ import annotations

from celery import shared_task

from fellowship.extensions import db
from fellowship.selection import assignment


@shared_task(name="selection.remind_reviewers", acks_late=True)
def remind_reviewers_task() -> int:
    """Email reviewers whose reviews are due within three days or overdue; safe to run twice (dedupe keys)."""
    queued = assignment.send_review_reminders()
    db.session.commit()
    return queued
