"""Assignments of reviewers to applications, and their reviews scored against the call's rubric."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fellowship.models import Base, IdMixin, LabelledEnum, TimestampMixin, UTCDateTime, enum_column, utcnow


class AssignmentStatus(LabelledEnum):
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"  #: the reviewer left the panel or was unassigned; the application got another

    @classmethod
    def _labels(cls) -> dict[str, Any]:
        return {"active": _l("Active"), "withdrawn": _l("Withdrawn")}


class Assignment(IdMixin, Base):
    __tablename__ = "assignments"
    __table_args__ = (
        UniqueConstraint("application_id", "reviewer_id", name="uq_assignments_application_id_reviewer_id"),
        # A reviewer's list: its page in due order and its count (application_id for the conflict check), index-only.
        Index("ix_assignments_reviewer_status_due", "reviewer_id", "status", "due_at", "id", "application_id"),
        Index("ix_assignments_call_status", "call_id", "status"),
        Index("ix_assignments_status_due_at", "status", "due_at"),  # reviewer reminders
    )

    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[AssignmentStatus] = mapped_column(
        enum_column(AssignmentStatus, "assignment_status"), default=AssignmentStatus.ACTIVE)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: Null when assigned automatically.
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: The reminder window last claimed ("<due epoch>:before", "<due epoch>:overdue-<n>"): one reminder per window,
    #: decided by one conditional UPDATE (selection/reminders.py).
    reminded_window: Mapped[str | None] = mapped_column(String(40))

    review: Mapped[Review | None] = relationship(back_populates="assignment", lazy="raise", uselist=False)


class ReviewStatus(LabelledEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"

    @classmethod
    def _labels(cls) -> dict[str, Any]:
        return {"draft": _l("Draft"), "submitted": _l("Submitted")}


class Recommendation(LabelledEnum):
    STRONGLY_SUPPORT = "strongly_support"
    SUPPORT = "support"
    NEUTRAL = "neutral"
    OPPOSE = "oppose"

    @classmethod
    def _labels(cls) -> dict[str, Any]:
        return {"strongly_support": _l("Strongly support"), "support": _l("Support"), "neutral": _l("Neutral"),
                "oppose": _l("Oppose")}


class Review(IdMixin, TimestampMixin, Base):
    __tablename__ = "reviews"
    __table_args__ = (
        Index("ix_reviews_application_status", "application_id", "status"),
        Index("ix_reviews_reviewer_status", "reviewer_id", "status"),
    )

    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id", ondelete="CASCADE"), unique=True)
    #: Copied from the assignment so score queries need no join.
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    status: Mapped[ReviewStatus] = mapped_column(enum_column(ReviewStatus, "review_status"),
                                                 default=ReviewStatus.DRAFT)
    comment: Mapped[str] = mapped_column(Text, default="")
    recommendation: Mapped[Recommendation | None] = mapped_column(enum_column(Recommendation, "recommendation"))
    #: Σ(weight × score) / Σ(weight) over the rubric, on the 1-5 scale; set when submitted.
    weighted_score: Mapped[Decimal | None] = mapped_column(Numeric(6, 4))
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    assignment: Mapped[Assignment] = relationship(back_populates="review", lazy="raise")
    scores: Mapped[list[ReviewScore]] = relationship(back_populates="review", cascade="all, delete-orphan",
                                                     lazy="selectin")


class ReviewScore(Base):
    __tablename__ = "review_scores"
    __table_args__ = (
        UniqueConstraint("review_id", "criterion_id", name="uq_review_scores_review_id_criterion_id"),
        CheckConstraint("score BETWEEN 1 AND 5", name="score_1_to_5"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id", ondelete="CASCADE"), index=True)
    criterion_id: Mapped[int] = mapped_column(ForeignKey("rubric_criteria.id", ondelete="CASCADE"), index=True)
    score: Mapped[int] = mapped_column()

    review: Mapped[Review] = relationship(back_populates="scores")
