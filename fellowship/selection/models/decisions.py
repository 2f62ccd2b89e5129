"""The chair's adjustments to the proposed selection, decisions, and offers to accepted applicants."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fellowship.models import Base, IdMixin, LabelledEnum, UTCDateTime, enum_column, utcnow


class AdjustmentAction(LabelledEnum):
    INCLUDE = "include"  #: select although the proposal leaves it out
    EXCLUDE = "exclude"  #: leave out although the proposal selects it

    @classmethod
    def _labels(cls) -> dict[str, Any]:
        return {"include": _l("Include"), "exclude": _l("Exclude")}


class SelectionAdjustment(IdMixin, Base):
    """The chair overrides the proposed selection for one application, with a recorded reason."""

    __tablename__ = "selection_adjustments"

    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), unique=True)
    action: Mapped[AdjustmentAction] = mapped_column(enum_column(AdjustmentAction, "adjustment_action"))
    reason: Mapped[str] = mapped_column(Text)
    made_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    made_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DecisionOutcome(LabelledEnum):
    ACCEPT = "accept"
    WAITLIST = "waitlist"
    REJECT = "reject"

    @classmethod
    def _labels(cls) -> dict[str, Any]:
        return {"accept": _l("Accept"), "waitlist": _l("Waitlist"), "reject": _l("Reject")}


class Decision(IdMixin, Base):
    """A recorded outcome for one application; emailed once confirmed, through the outbox."""

    __tablename__ = "decisions"
    __table_args__ = (Index("ix_decisions_call_outcome", "call_id", "outcome"),)

    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), unique=True)
    outcome: Mapped[DecisionOutcome] = mapped_column(enum_column(DecisionOutcome, "decision_outcome"))
    #: The reason as staff typed it, or (a reason the system gave) in English for the record.
    reason: Mapped[str] = mapped_column(Text, default="")
    #: A reason the system gave, as a message of selection.reasons.REASONS ([key, params]) shown in each reader's
    #: language; None for a reason staff typed.
    reason_message: Mapped[list[Any] | None] = mapped_column(JSON)
    #: Position on the waitlist (1 = first to be offered a freed place).
    waitlist_position: Mapped[int | None] = mapped_column()
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: Set when staff confirmed sending; the email is then in the outbox.
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    #: Groups the decisions sent together, for the progress page.
    batch_key: Mapped[str | None] = mapped_column(String(40), index=True)

    @property
    def shown_reason(self) -> str:
        """The reason in the reader's language when the system gave it; as typed when staff did."""
        from fellowship.i18n.messages import shown_message

        return shown_message(self.reason_message, self.reason)


class OfferStatus(LabelledEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"

    @classmethod
    def _labels(cls) -> dict[str, Any]:
        return {"pending": _l("Awaiting answer"), "accepted": _l("Accepted"), "declined": _l("Declined"),
                "expired": _l("Expired")}


class Offer(IdMixin, Base):
    """A place offered to an accepted (or promoted) applicant, to accept or decline by a deadline."""

    __tablename__ = "offers"
    __table_args__ = (Index("ix_offers_status_expires_at", "status", "expires_at"),)

    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), unique=True)
    status: Mapped[OfferStatus] = mapped_column(enum_column(OfferStatus, "offer_status"),
                                                default=OfferStatus.PENDING)
    offered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: What the applicant chose to tell us when declining (optional).
    decline_reason: Mapped[str | None] = mapped_column(Text)
    #: Set when this offer went to a waitlisted applicant after a decline or expiry.
    promoted_from_offer_id: Mapped[int | None] = mapped_column(ForeignKey("offers.id", ondelete="SET NULL"))
