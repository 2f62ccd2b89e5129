"""Queue emails in the outbox, deliver them exactly once, and re-queue what was left behind."""

from __future__ import annotations

import logging
import smtplib
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from flask import current_app, render_template
from sqlalchemy import CursorResult, event, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from fellowship.errors import DomainError
from fellowship.extensions import db
from fellowship.models import utcnow
from fellowship.notifications.mailer import build_email, smtp_connection
from fellowship.notifications.models import MessageStatus, OutboxMessage

log = logging.getLogger(__name__)

#: Key in Session.info holding ids of messages created in the open transaction.
_PENDING_KEY = "outbox_pending_ids"
#: A retry queued with a countdown may arrive a moment before its stored due time.
_CLOCK_TOLERANCE = timedelta(seconds=2)
DELIVER_TASK = "notifications.deliver_message"


def public_link(path: str) -> str:
    """An absolute link for an email (PUBLIC_URL + path); workers have no request to build it from."""
    return f"{current_app.config['PUBLIC_URL']}{path}"


def queue_email(recipient: str, template: str, *, dedupe_key: str | None = None,
                **context: Any) -> OutboxMessage | None:
    """Write an email to the outbox in the caller's transaction; it is dispatched after commit.

    With `dedupe_key`, a second call with the same key (even from another process at the same
    moment) queues nothing and returns None: the database's unique constraint decides.
    """
    # One line, whatever names or titles it quotes: a line break in a header would make the email unsendable.
    subject = " ".join(render_template(f"emails/{template}.subject.txt", **context).split())
    values = {
        "recipient": recipient, "template": template, "context": context, "subject": subject,
        "message_id": f"<{uuid.uuid4().hex}@fellowship>", "next_attempt_at": utcnow(),
        "status": MessageStatus.PENDING, "attempts": 0, "dedupe_key": dedupe_key,
    }
    if dedupe_key is None:
        message = OutboxMessage(**values)
        db.session.add(message)
        db.session.flush()
    else:
        insert = postgresql_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
        new_id = db.session.scalar(
            insert(OutboxMessage).values(**values).on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(OutboxMessage.id)
        )
        if new_id is None:
            return None
        message = db.session.get_one(OutboxMessage, new_id)
    db.session.info.setdefault(_PENDING_KEY, set()).add(message.id)
    return message


@event.listens_for(Session, "after_commit")
def _dispatch_after_commit(session: Session) -> None:
    ids = session.info.pop(_PENDING_KEY, None)
    if ids:
        for message_id in sorted(ids):
            dispatch(message_id)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_PENDING_KEY, None)


def dispatch(message_id: int, countdown: float | None = None) -> bool:
    """Hand a message to the broker; a broker fault is logged, and the beat sweep sends it later.

    After a fault, this process stops trying for BROKER_RETRY_AFTER_SECONDS, so that a request queuing
    many emails while Redis is down is not slowed down by one failed connection per email.
    """
    # The app's own Celery instance (not a process-wide default), so each app talks to its own broker.
    state = current_app.extensions.setdefault("broker_health", {"down_until": 0.0})
    if time.monotonic() < state["down_until"]:
        return False
    task = current_app.extensions["celery"].tasks[DELIVER_TASK]
    try:
        task.apply_async((message_id,), countdown=countdown, retry=False)
    except Exception as exc:  # noqa: BLE001 - any broker fault must not undo the committed change
        state["down_until"] = time.monotonic() + current_app.config["BROKER_RETRY_AFTER_SECONDS"]
        log.warning("outbox message %s not queued (%s); the sweep will send it", message_id, exc)
        return False
    return True


@dataclass(frozen=True)
class DeliveryResult:
    status: str  #: "sent", "retry", "failed", or "skipped" (not pending, or not due)
    retry_in: float | None = None


def retry_delay(attempts: int) -> float:
    """Exponential backoff after the n-th failed attempt."""
    base = current_app.config["OUTBOX_RETRY_BASE_SECONDS"]
    return float(base * (2 ** max(attempts - 1, 0)))


def deliver(message_id: int) -> DeliveryResult:
    """Send one outbox message if it is still pending, and record the outcome.

    The conditional UPDATE that counts the attempt also locks the row until the outcome is
    committed, so two workers holding the same id never both send it (PostgreSQL and SQLite alike).
    It runs in its own session: delivery is one unit of work of its own, also when called in-process.

    "Sent" is committed as soon as the server has accepted the message, before QUIT: a worker that
    dies after that is not sending it again. A crash in the instant between the server's 250 reply
    and that commit can still send it twice (no SMTP client can avoid this); the copy carries the
    same Message-ID, by which mail systems recognise it.
    """
    now = utcnow()
    with Session(db.engine) as session:
        claimed = cast(CursorResult[Any], session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.status == MessageStatus.PENDING,
                   OutboxMessage.next_attempt_at <= now + _CLOCK_TOLERANCE)
            .values(attempts=OutboxMessage.attempts + 1)
            .execution_options(synchronize_session=False)
        )).rowcount
        if not claimed:
            session.rollback()
            return DeliveryResult("skipped")
        message = session.get_one(OutboxMessage, message_id)
        recipient, recorded_sent = message.recipient, False
        try:
            with smtp_connection() as smtp:
                smtp.send_message(build_email(message))
                message.status = MessageStatus.SENT
                message.sent_at = utcnow()
                message.last_error = None
                session.commit()
                recorded_sent = True
        except (smtplib.SMTPException, OSError) as exc:
            if not recorded_sent:
                return _record_failure(session, message, exc, now)
        log.info("outbox message %s sent to %s", message_id, recipient)
        return DeliveryResult("sent")


def _record_failure(session: Session, message: OutboxMessage, exc: Exception, now: datetime) -> DeliveryResult:
    """Count a refused or failed attempt: retry later with backoff, or fail for good after the last one."""
    message.last_error = f"{exc.__class__.__name__}: {exc}"[:1000]
    if message.attempts >= current_app.config["OUTBOX_MAX_ATTEMPTS"]:
        message.status = MessageStatus.FAILED
        session.commit()
        log.error("outbox message %s failed for good after %s attempts: %s",
                  message.id, message.attempts, message.last_error)
        return DeliveryResult("failed")
    delay = retry_delay(message.attempts)
    message.next_attempt_at = now + timedelta(seconds=delay)
    session.commit()
    log.warning("outbox message %s attempt %s failed (%s); retry in %ss",
                message.id, message.attempts, message.last_error, delay)
    return DeliveryResult("retry", delay)


def sweep() -> int:
    """Queue every pending message that is due and was not delivered in time; returns how many."""
    grace = timedelta(seconds=current_app.config["OUTBOX_SWEEP_GRACE_SECONDS"])
    now = utcnow()
    due_ids = db.session.scalars(
        select(OutboxMessage.id)
        .where(OutboxMessage.status == MessageStatus.PENDING, OutboxMessage.next_attempt_at <= now - grace)
        .order_by(OutboxMessage.next_attempt_at)
        .limit(1000)
    ).all()
    queued = sum(dispatch(message_id) for message_id in due_ids)
    if due_ids:
        log.info("outbox sweep: %s due, %s queued", len(due_ids), queued)
    return queued


def resend(message: OutboxMessage) -> None:
    """Put a failed message back in the queue (staff action); sent again once, after commit."""
    if message.status != MessageStatus.FAILED:
        raise DomainError("Only a failed message can be re-sent.")
    message.status = MessageStatus.PENDING
    message.attempts = 0
    message.next_attempt_at = utcnow()
    db.session.info.setdefault(_PENDING_KEY, set()).add(message.id)


def status_counts() -> dict[str, int]:
    """Number of outbox messages in each status, for the staff page."""
    rows = db.session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    ).all()
    counts = {status.value: 0 for status in MessageStatus}
    counts.update({status.value: count for status, count in rows})
    return counts
