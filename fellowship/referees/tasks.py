"""Celery tasks of the referees area: the daily reminder run."""

from __future__ import annotations

from celery import shared_task

from fellowship.extensions import db
from fellowship.referees import services


@shared_task(name="referees.send_reminders", acks_late=True)
def send_reminders_task() -> int:
    """Email the referees whose letter is still awaited; committed batch by batch, safe to run twice."""
    queued = services.send_reminders(after_batch=db.session.commit)
    db.session.commit()
    return queued
