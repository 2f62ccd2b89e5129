"""The transactional outbox: one row per email, written in the transaction that causes it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, CheckConstraint, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fellowship.models import Base, IdMixin, LabelledEnum, TimestampMixin, UTCDateTime, enum_column, utcnow


class MessageStatus(LabelledEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"

    @classmethod
    def _labels(cls) -> dict[str, Any]:
        return {"pending": _l("Pending"), "sent": _l("Sent"), "failed": _l("Failed")}


class OutboxMessage(IdMixin, TimestampMixin, Base):
    __tablename__ = "outbox_messages"
    __table_args__ = (
        # The sweep's query: pending messages whose next attempt is due.
        Index("ix_outbox_messages_status_next_attempt_at", "status", "next_attempt_at"),
        # The staff page's failed list and its bulk re-send: failed messages by when they failed.
        Index("ix_outbox_messages_status_failed_at", "status", "failed_at"),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
    )

    recipient: Mapped[str] = mapped_column(String(254), index=True)
    #: Name of the template pair under templates/emails/ (NAME.txt and NAME.html).
    template: Mapped[str] = mapped_column(String(100))
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    subject: Mapped[str] = mapped_column(String(300))
    #: The recipient's language: the subject was rendered in it, and the body is rendered in it at delivery.
    locale: Mapped[str] = mapped_column(String(10), default="en", server_default="en")
    status: Mapped[MessageStatus] = mapped_column(
        enum_column(MessageStatus, "message_status"), default=MessageStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: When the first attempt since queuing (or since staff re-sent it) was made; the retry budget counts from it.
    first_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: A worker claimed the message and may be talking SMTP until then; nobody else sends it before.
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: When a delivery task for it was last handed to the broker; cleared when a worker takes it. The sweep
    #: hands it again only if that was longer than OUTBOX_SWEEP_GRACE_SECONDS ago.
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The Message-ID header; the same on every attempt so a receiver can tell a repeat.
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    #: Set by scheduled jobs ("draft-reminder:7d:application:42"); unique, so a job run twice, or by
    #: two beats at once, cannot queue the same notice twice.
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
