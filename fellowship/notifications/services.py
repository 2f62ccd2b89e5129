"""Queue emails in the outbox, deliver each once, retry what was refused, and re-queue what was left behind.

Delivery never holds a database transaction while it talks SMTP: a worker claims a message with a lease (a
committed conditional UPDATE), sends it, then records "sent", retrying that write through a database outage for as
long as its lease lasts. Nothing waits in the broker: a refused message's next attempt time is in its row, and the
beat sweep hands it to a worker when it is due.
"""

from __future__ import annotations

import logging
import re
import smtplib
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any, cast

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import ColumnElement, CursorResult, and_, event, func, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from fellowship.audit.services import record
from fellowship.auth.models import User
from fellowship.errors import DomainError
from fellowship.extensions import db
from fellowship.i18n import DEFAULT_LOCALE, LOCALES
from fellowship.i18n.texts import LocalizedText, current_locale
from fellowship.models import UTCDateTime, utcnow
from fellowship.notifications.mailer import build_email, render_text, smtp_connection
from fellowship.notifications.models import MessageStatus, OutboxMessage

log = logging.getLogger(__name__)

#: Key in Session.info holding ids of messages created in the open transaction.
_PENDING_KEY = "outbox_pending_ids"
#: The clocks of the host that stored a due time and of the worker may differ by a moment.
_CLOCK_TOLERANCE = timedelta(seconds=2)
#: Recording "sent" gives up this long before the lease ends, so no other worker can have claimed the message.
_LEASE_MARGIN = timedelta(seconds=2)
#: Steps of an SMTP exchange that may each take up to MAIL_TIMEOUT (connect, EHLO, MAIL, RCPT, DATA, end of data).
_SMTP_STEPS = 6
DELIVER_TASK = "notifications.deliver_message"


def public_link(path: str) -> str:
    """An absolute link for an email (PUBLIC_URL + path); workers have no request to build it from."""
    return f"{current_app.config['PUBLIC_URL']}{path}"


def queue_email(recipient: str, template: str, *, dedupe_key: str | None = None, locale: str | None = None,
                **context: Any) -> OutboxMessage | None:
    """Write an email to the outbox in the caller's transaction; it is dispatched after commit.

    It is written in the recipient's language: `locale` if given (a referee's), else the language saved on the
    recipient's account (see `recipient_locale`). With `dedupe_key`, a second call with the same key (even from
    another process at the same moment) queues nothing and returns None: the database's unique constraint decides.
    """
    locale = recipient_locale(recipient, locale)
    # A programme text read in the sender's language (a call's title) goes out in the recipient's.
    context = {key: value.in_locale(locale) if isinstance(value, LocalizedText) else value
               for key, value in context.items()}
    with force_locale(locale):
        # One line, whatever names or titles it quotes: a line break in a header would make the email unsendable.
        subject = " ".join(render_template(f"emails/{template}.subject.txt", **context).split())
    values = {
        "recipient": recipient, "template": template, "context": context, "subject": subject, "locale": locale,
        "message_id": f"<{uuid.uuid4().hex}@fellowship>", "next_attempt_at": utcnow(), "dispatched_at": utcnow(),
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


def recipient_locale(recipient: str, locale: str | None = None, account: User | None = None) -> str:
    """The language to write to `recipient` in: `locale` if it is one of ours, else the one saved on their account
    (`account` if given and it is theirs, else read by email), else the page's when they are the person acting (they
    read it now), else English."""
    if locale in LOCALES:
        return str(locale)
    if account is not None and account.email == recipient.strip().lower():
        saved = account.locale
    else:
        saved = db.session.scalar(select(User.locale).where(User.email == recipient.strip().lower()))
    if saved in LOCALES:
        return str(saved)
    if current_user and getattr(current_user, "email", None) == recipient:
        return current_locale() or DEFAULT_LOCALE
    return DEFAULT_LOCALE


@event.listens_for(Session, "after_commit")
def _dispatch_after_commit(session: Session) -> None:
    ids = session.info.pop(_PENDING_KEY, None)
    if ids:
        for message_id in sorted(ids):
            dispatch(message_id)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_PENDING_KEY, None)


def check_settings(config: Mapping[str, Any]) -> None:
    """Refuse to start with a lease too short to cover the SMTP exchange and the recording of "sent"."""
    lease, timeout = config["OUTBOX_LEASE_SECONDS"], config["MAIL_TIMEOUT"]
    if lease <= _SMTP_STEPS * timeout + 5:
        raise RuntimeError(f"OUTBOX_LEASE_SECONDS ({lease}) must be longer than {_SMTP_STEPS} x MAIL_TIMEOUT "
                           f"({timeout}) + 5 s: a worker holds a message that long while it sends it and records it.")


def dispatch(message_id: int) -> bool:
    """Hand a message to the broker now; a broker fault is logged, and the beat sweep sends it later.

    After a fault, this process stops trying for BROKER_RETRY_AFTER_SECONDS, so that a request queuing
    many emails while Redis is down is not slowed down by one failed connection per email.
    """
    # The app's own Celery instance (not a process-wide default), so each app talks to its own broker.
    state = current_app.extensions.setdefault("broker_health", {"down_until": 0.0})
    if time.monotonic() < state["down_until"]:
        return False
    task = current_app.extensions["celery"].tasks[DELIVER_TASK]
    try:
        task.apply_async((message_id,), retry=False)
    except Exception as exc:  # noqa: BLE001 - any broker fault must not undo the committed change
        state["down_until"] = time.monotonic() + current_app.config["BROKER_RETRY_AFTER_SECONDS"]
        log.warning("outbox message %s not queued (%s); the sweep will send it", message_id, exc)
        return False
    return True


@dataclass(frozen=True)
class DeliveryResult:
    #: "sent"; "retry" (refused, tried again later); "failed" (refused after the retry budget); "unrecorded"
    #: (accepted, but the database could not record it within the lease); "skipped" (not pending, not due, or
    #: held by another worker)
    status: str
    retry_in: float | None = None


@dataclass(frozen=True)
class Claim:
    """A message a worker holds under a lease: what it needs to send it and to record the outcome."""

    message_id: int
    recipient: str
    attempt: int  #: the attempts count this claim set; later writes check it, so they apply only to this claim
    first_attempt_at: datetime
    lease_until: datetime
    email: EmailMessage


def retry_delay(attempts: int) -> float:
    """Backoff after the n-th failed attempt: doubling from OUTBOX_RETRY_BASE_SECONDS, capped."""
    config = current_app.config
    return float(min(config["OUTBOX_RETRY_BASE_SECONDS"] * 2 ** min(max(attempts - 1, 0), 32),
                     config["OUTBOX_RETRY_MAX_SECONDS"]))


def deliver(message_id: int) -> DeliveryResult:
    """Send one outbox message if it is pending, due and not held by another worker, and record the outcome.

    The claim (a conditional UPDATE setting a lease) is committed before the SMTP exchange, and nothing holds a
    transaction during it: a database restart cannot undo a claim or lose a "sent". After the server accepted
    the message, "sent" is written with retries (a new session each time) until shortly before the lease ends;
    no other worker may claim it before then, so a database outage alone never sends a message twice.

    The one window for a second copy: the worker itself dies (or the database stays away for the whole lease)
    between the server's acceptance and the recording of "sent"; the lease then expires and the message is sent
    again, with the same Message-ID, by which mail systems recognise the copy.
    """
    claim = _claim(message_id, utcnow())
    if claim is None:
        return DeliveryResult("skipped")
    accepted = False
    try:
        with smtp_connection() as smtp:
            smtp.send_message(claim.email)
            accepted = True
            recorded = _record_sent(claim)  # before QUIT: the shortest window between acceptance and record
    except (smtplib.SMTPException, OSError) as exc:
        if not accepted:
            return _record_failure(claim, exc)
        raise
    if not recorded:
        return DeliveryResult("unrecorded")
    log.info("outbox message %s sent to %s", message_id, claim.recipient)
    return DeliveryResult("sent")


def _claim(message_id: int, now: datetime) -> Claim | None:
    """Take the message for one attempt under a lease, committed at once; None if it is not ours to send."""
    lease_until = now + timedelta(seconds=current_app.config["OUTBOX_LEASE_SECONDS"])
    with Session(db.engine) as session:
        claimed = cast(CursorResult[Any], session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.status == MessageStatus.PENDING,
                   OutboxMessage.next_attempt_at <= now + _CLOCK_TOLERANCE,
                   or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until <= now))
            .values(attempts=OutboxMessage.attempts + 1, lease_until=lease_until, dispatched_at=None,
                    first_attempt_at=func.coalesce(OutboxMessage.first_attempt_at, literal(now, UTCDateTime())))
            .execution_options(synchronize_session=False)
        )).rowcount
        if not claimed:
            session.rollback()
            return None
        message = session.get_one(OutboxMessage, message_id)
        claim = Claim(message_id, message.recipient, message.attempts, message.first_attempt_at or now,
                      lease_until, build_email(message))
        session.commit()
    return claim


def _record_sent(claim: Claim) -> bool:
    """Write "sent", retrying through a database outage until shortly before the lease ends; False if it never could."""
    deadline = claim.lease_until - _LEASE_MARGIN
    pause = 0.2
    while True:
        try:
            with Session(db.engine) as session:  # a new session (and pooled connection, pre-pinged) each time
                session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == claim.message_id, OutboxMessage.status == MessageStatus.PENDING)
                    .values(status=MessageStatus.SENT, sent_at=utcnow(), last_error=None, lease_until=None)
                    .execution_options(synchronize_session=False)
                )
                session.commit()
            return True
        except SQLAlchemyError as exc:
            if utcnow() + timedelta(seconds=pause) >= deadline:
                log.error("outbox message %s was accepted by the SMTP server but recording it as sent failed until "
                          "its lease ran out (%s); it will be sent again", claim.message_id, exc.__class__.__name__)
                return False
            log.warning("outbox message %s was accepted by the SMTP server; recording it as sent failed (%s), "
                        "trying again in %.1fs", claim.message_id, exc.__class__.__name__, pause)
            time.sleep(pause)
            pause = min(pause * 2, 2.0)


def _record_failure(claim: Claim, exc: Exception) -> DeliveryResult:
    """Count a refused or failed attempt: retry later with backoff, or fail for good once the retry budget is spent."""
    now = utcnow()
    error = f"{exc.__class__.__name__}: {exc}"[:1000]
    budget = timedelta(seconds=current_app.config["OUTBOX_RETRY_FOR_SECONDS"])
    give_up = now - claim.first_attempt_at >= budget
    delay = retry_delay(claim.attempt)
    values: dict[str, Any] = {"last_error": error, "lease_until": None}
    if give_up:
        values.update(status=MessageStatus.FAILED, failed_at=now)
    else:
        values["next_attempt_at"] = now + timedelta(seconds=delay)
    try:
        with Session(db.engine) as session:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == claim.message_id, OutboxMessage.status == MessageStatus.PENDING,
                       OutboxMessage.attempts == claim.attempt)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            session.commit()
    except SQLAlchemyError as db_exc:
        # Nothing was sent: when the lease ends, the sweep hands the message out again.
        log.warning("outbox message %s attempt %s failed (%s) and the database could not record it (%s); it is "
                    "tried again after its lease", claim.message_id, claim.attempt, error, db_exc.__class__.__name__)
        return DeliveryResult("retry", (claim.lease_until - now).total_seconds())
    if give_up:
        log.error("outbox message %s failed for good after %s attempts over %s: %s",
                  claim.message_id, claim.attempt, now - claim.first_attempt_at, error)
        return DeliveryResult("failed")
    log.warning("outbox message %s attempt %s failed (%s); retry in %ss", claim.message_id, claim.attempt, error, delay)
    return DeliveryResult("retry", delay)


def _due(now: datetime) -> ColumnElement[bool]:
    """Pending, due, held by no worker, and not handed to the broker within the grace period."""
    grace = timedelta(seconds=current_app.config["OUTBOX_SWEEP_GRACE_SECONDS"])
    return and_(OutboxMessage.status == MessageStatus.PENDING, OutboxMessage.next_attempt_at <= now,
                or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until <= now),
                or_(OutboxMessage.dispatched_at.is_(None), OutboxMessage.dispatched_at <= now - grace))


def sweep() -> int:
    """Mark every due message as handed over and queue it after the caller commits; returns how many.

    The only dispatcher of retries, and the safety net for first dispatches that were lost. One conditional
    UPDATE picks the messages, so two beats sweeping at once hand each message over once.
    """
    now = utcnow()
    batch = select(OutboxMessage.id).where(_due(now)).order_by(OutboxMessage.next_attempt_at).limit(1000)
    ids = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(batch.scalar_subquery()), _due(now))
        .values(dispatched_at=now)
        .returning(OutboxMessage.id)
        .execution_options(synchronize_session=False)
    ).scalars().all()
    db.session.info.setdefault(_PENDING_KEY, set()).update(ids)
    if ids:
        log.info("outbox sweep: %s due messages handed to the workers", len(ids))
    return len(ids)


@dataclass(frozen=True)
class FailedFilter:
    """Which failed messages the staff page lists and a bulk re-send takes."""

    template: str | None = None
    recipient: str | None = None  #: part of the address, any case
    failed_since: datetime | None = None
    message_id: int | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        conditions = [OutboxMessage.status == MessageStatus.FAILED]
        if self.message_id is not None:
            conditions.append(OutboxMessage.id == self.message_id)
        if self.template:
            conditions.append(OutboxMessage.template == self.template)
        if self.recipient:
            conditions.append(func.lower(OutboxMessage.recipient).contains(self.recipient.lower(), autoescape=True))
        if self.failed_since is not None:
            conditions.append(OutboxMessage.failed_at >= self.failed_since)
        return conditions

    def describe(self) -> dict[str, str]:
        """The filter as plain values, for the audit log."""
        described = {"template": self.template or "", "recipient": self.recipient or "",
                     "failed_since": self.failed_since.isoformat() if self.failed_since else ""}
        return {key: value for key, value in described.items() if value}


def count_failed(filters: FailedFilter) -> int:
    """How many failed messages match `filters`."""
    return db.session.scalar(select(func.count()).select_from(OutboxMessage).where(*filters.conditions())) or 0


def failed_templates() -> list[str]:
    """The templates (kinds of email) among failed messages, for the filter."""
    return list(db.session.scalars(select(OutboxMessage.template).distinct()
                                   .where(OutboxMessage.status == MessageStatus.FAILED)
                                   .order_by(OutboxMessage.template)))


def resend_failed(filters: FailedFilter) -> list[int]:
    """Put every failed message matching `filters` back in the queue with a fresh retry budget; returns their ids.

    One conditional UPDATE decides: a message is taken only while it is failed, so two re-sends at once (two
    clicks, two staff) queue each message once. Each is dispatched after the caller commits.
    """
    now = utcnow()
    ids = list(db.session.execute(
        update(OutboxMessage)
        .where(*filters.conditions())
        .values(status=MessageStatus.PENDING, attempts=0, first_attempt_at=None, next_attempt_at=now,
                lease_until=None, failed_at=None, dispatched_at=now)
        .returning(OutboxMessage.id)
        .execution_options(synchronize_session=False)
    ).scalars())
    db.session.info.setdefault(_PENDING_KEY, set()).update(ids)
    return ids


def resend(message: OutboxMessage) -> None:
    """Put one failed message back in the queue (staff action); sent again once, after commit."""
    if not resend_failed(FailedFilter(message_id=message.id)):
        raise DomainError(_("Only a failed message can be re-sent; this one is no longer failed."))
    log.info("outbox message %s re-sent by staff", message.id)


def resend_failed_by_staff(filters: FailedFilter) -> int:
    """The staff page's bulk re-send: queue the matching failed messages again, audited; returns how many."""
    ids = resend_failed(filters)
    if ids:
        record("notifications.bulk_resent", count=len(ids), filters=filters.describe())
        log.info("%s failed outbox messages re-sent by staff (%s)", len(ids), filters.describe())
    return len(ids)


def status_counts() -> dict[str, int]:
    """Number of outbox messages in each status, for the staff page."""
    rows = db.session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    ).all()
    counts = {status.value: 0 for status in MessageStatus}
    counts.update({status.value: count for status, count in rows})
    return counts


# --- One message, as staff read it ----------------------------------------------------------------------------------

#: A personal single-use link's token (itsdangerous: base64url parts joined by dots): hidden on the staff page, where
#: it would let whoever reads it answer a survey, upload a letter or set a password in someone else's name.
_PERSONAL_TOKEN = re.compile(r"(https?://\S+/)([A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-.]{20,})")
PERSONAL_LINK_HIDDEN = _l("[personal link, hidden]")


def readable_text(message: OutboxMessage) -> str:
    """The message's plain-text body as the recipient reads it, personal link tokens hidden; a sentence if the
    template can no longer render it (renamed since it was queued)."""
    from jinja2 import TemplateError

    try:
        text = render_text(message.template, dict(message.context or {}))
    except TemplateError as exc:
        log.warning("outbox message %s: template %s does not render: %s", message.id, message.template, exc)
        return _("This message's text cannot be shown: its template (%(template)s) no longer renders it.",
                 template=message.template)
    hidden = str(PERSONAL_LINK_HIDDEN)
    return _PERSONAL_TOKEN.sub(lambda m: m.group(1) + hidden, text)


def recipient_condition(text: str | None) -> ColumnElement[bool] | None:
    """Messages whose recipient contains `text`, any case; None for an empty search."""
    text = (text or "").strip()
    if not text:
        return None
    return func.lower(OutboxMessage.recipient).contains(text.lower(), autoescape=True)
