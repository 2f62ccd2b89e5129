"""Scheduled job of the offers: expire unanswered offers and promote from the waitlist."""

from __future__ import annotations

from celery import shared_task

from fellowship.extensions import db
from fellowship.selection import decisions


@shared_task(name="selection.expire_offers", acks_late=True)
def expire_offers_task() -> int:
    expired = decisions.expire_offers()
    db.session.commit()
    return expired
