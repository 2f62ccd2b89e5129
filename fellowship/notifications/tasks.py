"""Celery tasks of the outbox: deliver one message, and the beat sweep.

No task is ever queued with a countdown or ETA: a retry's time lives in its row and the sweep dispatches it
when due, so a broker that dies holds nothing the workers would have to restore.
"""

from __future__ import annotations

import logging

from celery import shared_task
from sqlalchemy.exc import SQLAlchemyError

from fellowship.extensions import db
from fellowship.notifications import services

log = logging.getLogger(__name__)


@shared_task(name=services.DELIVER_TASK, acks_late=True, reject_on_worker_lost=True)
def deliver_message_task(message_id: int) -> str:
    try:
        return services.deliver(message_id).status
    except SQLAlchemyError as exc:  # the claim could not be made: nothing was sent, the row still says so
        log.warning("outbox message %s not attempted, the database is unavailable (%s); the sweep retries it",
                    message_id, exc.__class__.__name__)
        return "skipped"


@shared_task(name="notifications.sweep_outbox", acks_late=True)
def sweep_outbox_task() -> int:
    queued = services.sweep()
    db.session.commit()  # the messages are handed to the broker after this commit
    return queued
