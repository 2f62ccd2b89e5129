"""Celery tasks of eligibility: the beat job that closes calls at their deadline and screens them."""

from __future__ import annotations

from celery import shared_task

from fellowship.eligibility import services
from fellowship.extensions import db


@shared_task(name="eligibility.close_due_calls", acks_late=True)
def close_due_calls_task() -> list[int]:
    """Close and screen every call past its deadline; safe to run often and from two beats at once."""
    screened = services.close_due_calls()
    db.session.commit()
    return screened
