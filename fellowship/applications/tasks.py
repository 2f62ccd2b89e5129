"""Scheduled jobs of the applications area."""

from __future__ import annotations

from celery import shared_task

from fellowship.applications import services
from fellowship.extensions import db


@shared_task(name="applications.remind_drafts", acks_late=True)
def remind_drafts_task() -> int:
    queued = services.remind_drafts()
    db.session.commit()
    return queued
