"""Interview slots, bookings and interview scores (migration 0017); the stage itself is selection's SelectionStage."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Numeric, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from fellowship.models import Base, IdMixin, LabelledEnum, TimestampMixin, UTCDateTime, enum_column


class InterviewMode(LabelledEnum):
    VIDEO = "video"  #: `location` is the video link
    PHONE = "phone"  #: the panel calls the candidate (`location`: instructions or a number)
    IN_PERSON = "in_person"  #: `location` names the place

    @classmethod
    def _labels(cls) -> dict[str, Any]:
        return {"video": _l("Video call"), "phone": _l("Phone"), "in_person": _l("In person")}


class BookingStatus(LabelledEnum):
    BOOKED = "booked"  #: holds one of the slot's places
    CANCELLED = "cancelled"  #: released its place
    NO_SHOW = "no_show"  #: staff marked that the candidate did not come (keeps the place: the time has passed)

    @classmethod
    def _labels(cls) -> dict[str, Any]:
        return {"booked": _l("Booked"), "cancelled": _l("Cancelled"), "no_show": _l("No-show")}


class InterviewSlot(IdMixin, TimestampMixin, Base):
    """An interview time of one interview stage: start (UTC; entered in the programme's zone), length, places."""

    __tablename__ = "interview_slots"
    __table_args__ = (
        CheckConstraint("capacity >= 1", name="slot_capacity_positive"),
        CheckConstraint("duration_minutes BETWEEN 5 AND 480", name="slot_duration_range"),
        #: The database itself refuses an overbooked slot, whatever a service does.
        CheckConstraint("booked_count BETWEEN 0 AND capacity", name="slot_not_overbooked"),
        Index("ix_interview_slots_stage_starts", "stage_id", "starts_at"),
    )

    stage_id: Mapped[int] = mapped_column(ForeignKey("selection_stages.id", ondelete="CASCADE"))
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    duration_minutes: Mapped[int] = mapped_column(default=30)
    capacity: Mapped[int] = mapped_column(default=1)
    #: Places taken by BOOKED and NO_SHOW bookings; changed only by conditional UPDATEs (services.py).
    booked_count: Mapped[int] = mapped_column(default=0)
    mode: Mapped[InterviewMode] = mapped_column(enum_column(InterviewMode, "interview_mode"))
    #: The video link, the phone arrangements, or the place's name and address (by mode).
    location: Mapped[str] = mapped_column(String(500), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    @property
    def places_left(self) -> int:
        return self.capacity - self.booked_count


class SlotPanelMember(Base):
    """An interviewer sitting on one slot (chosen among the stage's panel)."""

    __tablename__ = "interview_slot_panel"
    __table_args__ = (UniqueConstraint("slot_id", "user_id", name="uq_interview_slot_panel_slot_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("interview_slots.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)


class InterviewBooking(IdMixin, TimestampMixin, Base):
    """A candidate's place in a slot; rescheduling moves it to another slot of the same stage."""

    __tablename__ = "interview_bookings"
    __table_args__ = (
        # One live booking per candidate and stage (cancelled ones are history).
        Index("uq_interview_bookings_live", "stage_id", "application_id", unique=True,
              postgresql_where=text("status <> 'cancelled'"), sqlite_where=text("status <> 'cancelled'")),
        Index("ix_interview_bookings_slot_status", "slot_id", "status"),
        Index("ix_interview_bookings_reminder_due", "reminder_due_at",
              postgresql_where=text("reminded_at IS NULL"), sqlite_where=text("reminded_at IS NULL")),
    )

    slot_id: Mapped[int] = mapped_column(ForeignKey("interview_slots.id", ondelete="CASCADE"))
    stage_id: Mapped[int] = mapped_column(ForeignKey("selection_stages.id", ondelete="CASCADE"))
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    status: Mapped[BookingStatus] = mapped_column(enum_column(BookingStatus, "booking_status"),
                                                  default=BookingStatus.BOOKED)
    booked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: When the reminder is due (24 hours before the slot); the beat job sends it once (reminded_at).
    reminder_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Bumped at each reschedule: the confirmation email of each booked time is queued once.
    version: Mapped[int] = mapped_column(default=1)


class InterviewScore(IdMixin, TimestampMixin, Base):
    """One interviewer's scores of one candidate against the interview stage's rubric, with notes."""

    __tablename__ = "interview_scores"
    __table_args__ = (
        UniqueConstraint("stage_id", "application_id", "interviewer_id", name="uq_interview_scores_one_each"),
        Index("ix_interview_scores_stage_interviewer", "stage_id", "interviewer_id"),
    )

    stage_id: Mapped[int] = mapped_column(ForeignKey("selection_stages.id", ondelete="CASCADE"))
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("interview_bookings.id", ondelete="CASCADE"), index=True)
    interviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: {criterion id (as text): 1-5}, the stage's rubric (selection's StageCriterion).
    scores: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    weighted_score: Mapped[Decimal] = mapped_column(Numeric(6, 4))
    notes: Mapped[str] = mapped_column(Text, default="")
    #: The interviewer's answers to the stage's notes questionnaire (when it has one), instead of `notes`.
    notes_response_id: Mapped[int | None] = mapped_column(ForeignKey("responses.id", ondelete="SET NULL"),
                                                          index=True)
