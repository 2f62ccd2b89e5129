"""After return home: scheduled follow-up surveys, their answers, and career entries."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fellowship.applications.models import Sector
from fellowship.models import Base, IdMixin, LabelledEnum, TimestampMixin, UTCDateTime, enum_column, utcnow


class FollowUpStatus(LabelledEnum):
    SCHEDULED = "scheduled"
    SENT = "sent"
    REMINDED = "reminded"
    COMPLETED = "completed"
    OVERDUE = "overdue"
    LAPSED = "lapsed"

    @classmethod
    def _labels(cls) -> dict[str, Any]:
        return {"scheduled": _l("Scheduled"), "sent": _l("Sent"), "reminded": _l("Reminded"),
                "completed": _l("Completed"), "overdue": _l("Overdue"), "lapsed": _l("Lapsed")}


class FollowUp(IdMixin, Base):
    """One survey due at return + N months; the daily job moves it along and never repeats a step."""

    __tablename__ = "follow_ups"
    __table_args__ = (
        UniqueConstraint("fellow_id", "months_after_return", name="uq_follow_ups_fellow_id_months"),
        Index("ix_follow_ups_status_due_on", "status", "due_on"),
        Index("ix_follow_ups_status_sent_at", "status", "sent_at"),  # reminders, overdue and lapse steps
        CheckConstraint("reminders_sent >= 0", name="reminders_not_negative"),
    )

    fellow_id: Mapped[int] = mapped_column(ForeignKey("fellows.id", ondelete="CASCADE"), index=True)
    months_after_return: Mapped[int] = mapped_column()
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[FollowUpStatus] = mapped_column(enum_column(FollowUpStatus, "follow_up_status"),
                                                   default=FollowUpStatus.SCHEDULED)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reminders_sent: Mapped[int] = mapped_column(default=0)
    last_reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lapsed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Random value inside the emailed survey link; cleared when answered, so the link works once.
    link_nonce: Mapped[str | None] = mapped_column(String(64))


class FollowUpResponse(IdMixin, Base):
    """What the alumnus answered in one follow-up survey."""

    __tablename__ = "follow_up_responses"
    __table_args__ = (Index("ix_follow_up_responses_fellow_submitted", "fellow_id", "submitted_at"),)

    follow_up_id: Mapped[int] = mapped_column(ForeignKey("follow_ups.id", ondelete="CASCADE"), unique=True)
    fellow_id: Mapped[int] = mapped_column(ForeignKey("fellows.id", ondelete="CASCADE"))
    country_of_residence: Mapped[str] = mapped_column(String(2))
    country_of_work: Mapped[str] = mapped_column(String(2))
    projects_led: Mapped[int] = mapped_column(default=0)
    policies_contributed: Mapped[int] = mapped_column(default=0)
    publications: Mapped[int] = mapped_column(default=0)
    people_trained: Mapped[int] = mapped_column(default=0)
    awards: Mapped[int] = mapped_column(default=0)
    collaboration_with_japan: Mapped[bool] = mapped_column(default=False)
    achievements_text: Mapped[str] = mapped_column(Text, default="")
    directory_consent: Mapped[bool] = mapped_column(default=False)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LeadershipLevel(LabelledEnum):
    STAFF = "staff"
    TEAM_LEAD = "team_lead"
    MANAGER = "manager"
    SENIOR = "senior_leader"  #: director, head of unit or organisation, elected or appointed office

    @classmethod
    def _labels(cls) -> dict[str, Any]:
        return {"staff": _l("Staff"), "team_lead": _l("Team lead"), "manager": _l("Manager"),
                "senior_leader": _l("Senior leader")}

    @property
    def is_leadership(self) -> bool:
        return self is not LeadershipLevel.STAFF


class CareerEntry(IdMixin, TimestampMixin, Base):
    """A position the alumnus held; the one without an end date is the current one."""

    __tablename__ = "career_entries"
    __table_args__ = (Index("ix_career_entries_fellow_current", "fellow_id", "end_date"),)

    fellow_id: Mapped[int] = mapped_column(ForeignKey("fellows.id", ondelete="CASCADE"))
    position: Mapped[str] = mapped_column(String(200))
    organisation: Mapped[str] = mapped_column(String(200))
    sector: Mapped[Sector] = mapped_column(enum_column(Sector, "career_sector"))
    country: Mapped[str] = mapped_column(String(2), index=True)
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    environmental: Mapped[bool] = mapped_column(default=True)
    leadership_level: Mapped[LeadershipLevel] = mapped_column(enum_column(LeadershipLevel, "leadership_level"))
    #: The follow-up survey it came from, or None when entered from the alumnus's account.
    follow_up_id: Mapped[int | None] = mapped_column(ForeignKey("follow_ups.id", ondelete="SET NULL"))


class ExportStatus(LabelledEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"

    @classmethod
    def _labels(cls) -> dict[str, Any]:
        return {"queued": _l("Queued"), "running": _l("Running"), "done": _l("Done"), "failed": _l("Failed")}


class ExportJob(IdMixin, TimestampMixin, Base):
    """A large export built by a Celery task, with progress, downloaded when done."""

    __tablename__ = "export_jobs"

    kind: Mapped[str] = mapped_column(String(60))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[ExportStatus] = mapped_column(enum_column(ExportStatus, "export_status"),
                                                 default=ExportStatus.QUEUED)
    total_rows: Mapped[int | None] = mapped_column()
    done_rows: Mapped[int] = mapped_column(default=0)
    storage_key: Mapped[str | None] = mapped_column(String(100))
    filename: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
