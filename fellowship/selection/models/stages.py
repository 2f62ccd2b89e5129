"""A call's selection in stages: review rounds, shortlists (cuts), interviews; their scores and who advanced.

See fellowship/selection/stages.py for the model in words and the interface the interviews area uses.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import escape
from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column

from fellowship.i18n.texts import SOURCE_LOCALE, LocalizedText, Texts
from fellowship.models import Base, IdMixin, LabelledEnum, TimestampMixin, UTCDateTime, enum_column, utcnow
from fellowship.selection.models.decisions import AdjustmentAction
from fellowship.selection.models.review import AssignmentStatus, ReviewStatus


class StageKind(LabelledEnum):
    REVIEW = "review"  #: reviewers score the file against the stage's rubric
    SHORTLIST = "shortlist"  #: a cut: the top N (or by quota) of the stages before it go on
    INTERVIEW = "interview"  #: a panel interviews the shortlisted and scores against the stage's rubric

    @classmethod
    def _labels(cls) -> dict[str, object]:
        return {"review": _l("Review round"), "shortlist": _l("Shortlist"), "interview": _l("Interview")}


#: The default name in English, the source (its msgid): a stage staff did not name shows it in the reader's language.
DEFAULT_STAGE_NAME = "Review"


class DefaultStageName(LocalizedText):
    """The name of a stage staff did not name, in the language being rendered; an email quoting it is written in
    its recipient's language (notifications.queue_email)."""

    def __new__(cls) -> DefaultStageName:
        name = str.__new__(cls, _("Review"))
        name.texts = Texts()
        return name

    def in_locale(self, locale: str | None) -> str:
        with force_locale(locale or SOURCE_LOCALE):
            return _("Review")

    def __html__(self) -> str:
        return str(escape(_("Review")))


def stage_name(stored: str | None) -> str:
    """A stage's name from its stored value (a query's `SelectionStage.name`): None is the default name."""
    return stored if stored else DefaultStageName()


class SelectionStage(IdMixin, TimestampMixin, Base):
    """One step of a call's selection after the eligibility screening, in `position` order."""

    __tablename__ = "selection_stages"
    __table_args__ = (
        UniqueConstraint("call_id", "position", name="uq_selection_stages_call_id_position"),
        CheckConstraint("weight BETWEEN 0 AND 100", name="weight_is_percentage"),
        CheckConstraint("advance_count IS NULL OR advance_count >= 0", name="advance_count_not_negative"),
        CheckConstraint("reviewers_per_application IS NULL OR reviewers_per_application >= 1",
                        name="stage_at_least_one_reviewer"),
    )

    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    #: 1-based order of the stage in the call (screening comes before stage 1, the final decision after the last).
    position: Mapped[int] = mapped_column()
    kind: Mapped[StageKind] = mapped_column(enum_column(StageKind, "stage_kind"))
    #: The name staff gave the stage; None: the default name, shown in each reader's language (`name`).
    custom_name: Mapped[str | None] = mapped_column("name", String(120))
    #: Share of this stage's normalised score in the final combined score, in percent (0 for a shortlist).
    weight: Mapped[int] = mapped_column(default=0)
    #: Later review rounds and interviews: reviewers (or interviewers) per application; the call's first review
    #: round uses the call's own settings (reviewers_per_application, review_due_at, blind_review).
    reviewers_per_application: Mapped[int | None] = mapped_column()
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    blind: Mapped[bool] = mapped_column(default=False)
    #: Shortlist: how many advance (None until staff set it).
    advance_count: Mapped[int | None] = mapped_column()
    #: Shortlist: fill the advancing places with the call's regional quotas applied to them.
    advance_by_quota: Mapped[bool] = mapped_column(default=False)
    #: Shortlist: when staff confirmed who advances (the cut is then fixed) and who did.
    advanced_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    advanced_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: Shortlist: when staff sent the outcome ("not shortlisted" emails to those who did not advance).
    outcome_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Interview: the questionnaire (fellowship/questions/) interviewers fill as their notes; None: free-text notes.
    notes_questionnaire_id: Mapped[int | None] = mapped_column(
        ForeignKey("questionnaires.id", ondelete="RESTRICT"), index=True)

    @hybrid_property
    def name(self) -> str:
        """The stage's name as the reader reads it: the one staff typed, else the default in their language."""
        return stage_name(self.custom_name)

    @name.inplace.setter
    def _name_setter(self, value: str | None) -> None:
        self.custom_name = value or None

    @name.inplace.expression
    @classmethod
    def _name_expression(cls) -> Any:
        # In a query: the stored name, None for the default; show it through stage_name().
        return cls.custom_name.label("name")

    @property
    def scored(self) -> bool:
        """Review rounds and interviews give a score; a shortlist only cuts."""
        return self.kind is not StageKind.SHORTLIST


class StageCriterion(Base):
    """One criterion of a stage's own rubric (later review rounds, interviews), scored 1-5 and weighted."""

    __tablename__ = "stage_criteria"
    __table_args__ = (CheckConstraint("weight > 0", name="stage_criterion_weight_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stage_id: Mapped[int] = mapped_column(ForeignKey("selection_stages.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    weight: Mapped[Decimal] = mapped_column(Numeric(6, 3), default=Decimal("1"))


class StagePanelMember(Base):
    """A member of a stage's panel (a later review round's reviewers, an interview's interviewers)."""

    __tablename__ = "stage_panel_members"
    __table_args__ = (UniqueConstraint("stage_id", "user_id", name="uq_stage_panel_members_stage_id_user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stage_id: Mapped[int] = mapped_column(ForeignKey("selection_stages.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)


class StageScore(Base):
    """An application's normalised score in one scored stage other than the call's first review round.

    Written by the area that scores the stage (interviews/ for an interview), on the 1-5 scale, already normalised
    per interviewer as review scores are; the final ranking combines it with the other stages by their weights.
    """

    __tablename__ = "stage_scores"
    __table_args__ = (Index("ix_stage_scores_stage_normalised", "stage_id", "normalised_score"),)

    stage_id: Mapped[int] = mapped_column(ForeignKey("selection_stages.id", ondelete="CASCADE"), primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"),
                                                primary_key=True, index=True)
    #: Copied from the stage: the ranking's stored proposals of this call become stale when a score changes.
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    score_count: Mapped[int] = mapped_column(default=0)
    raw_score: Mapped[Decimal | None] = mapped_column(Numeric(6, 4))
    normalised_score: Mapped[Decimal | None] = mapped_column(Numeric(6, 4))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class StageResult(Base):
    """Where one application stands at a shortlist once staff confirmed it: advanced or not, and why."""

    __tablename__ = "stage_results"
    __table_args__ = (
        Index("ix_stage_results_stage_advanced", "stage_id", "advanced", "application_id"),
        Index("ix_stage_results_stage_notified", "stage_id", "notified_at"),
    )

    stage_id: Mapped[int] = mapped_column(ForeignKey("selection_stages.id", ondelete="CASCADE"), primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"),
                                                primary_key=True, index=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    advanced: Mapped[bool] = mapped_column(default=False)
    #: Rank at the cut (1 = best combined score of the stages before it; None: no score).
    position: Mapped[int | None] = mapped_column()
    score: Mapped[Decimal | None] = mapped_column(Numeric(6, 4))
    #: Why: the rank, the quota seat, or the chair's adjustment (in English, for the record).
    reason: Mapped[str] = mapped_column(Text, default="")
    #: The same as a message of selection.reasons.REASONS ([key, params]), shown in each reader's language.
    reason_message: Mapped[list[Any] | None] = mapped_column(JSON)
    #: When the "not shortlisted" email was queued (set once, by a conditional UPDATE).
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class StageAdjustment(IdMixin, Base):
    """The chair includes or excludes one application at a shortlist, with a recorded reason."""

    __tablename__ = "stage_adjustments"
    __table_args__ = (
        UniqueConstraint("stage_id", "application_id", name="uq_stage_adjustments_stage_id_application_id"),
    )

    stage_id: Mapped[int] = mapped_column(ForeignKey("selection_stages.id", ondelete="CASCADE"), index=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    action: Mapped[AdjustmentAction] = mapped_column(enum_column(AdjustmentAction, "adjustment_action"))
    reason: Mapped[str] = mapped_column(Text)
    made_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    made_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class StageAssignment(IdMixin, Base):
    """A panel member of a later review round assigned one of the candidates who advanced into it.

    The call's first review round keeps its own `assignments` table; a later round's pairs live here, so the same
    reviewer may review the same candidate in two rounds.
    """

    __tablename__ = "stage_assignments"
    __table_args__ = (
        UniqueConstraint("stage_id", "application_id", "reviewer_id",
                         name="uq_stage_assignments_stage_application_reviewer"),
        # A reviewer's list of their round assignments, soonest due first.
        Index("ix_stage_assignments_reviewer_status_due", "reviewer_id", "status", "due_at", "id"),
        Index("ix_stage_assignments_stage_status", "stage_id", "status", "application_id"),
        Index("ix_stage_assignments_status_due_at", "status", "due_at"),  # reviewer reminders
    )

    stage_id: Mapped[int] = mapped_column(ForeignKey("selection_stages.id", ondelete="CASCADE"))
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[AssignmentStatus] = mapped_column(
        enum_column(AssignmentStatus, "assignment_status"), default=AssignmentStatus.ACTIVE)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: Null when assigned automatically.
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: The reminder window last claimed, as on the first round's assignments (selection/reminders.py).
    reminded_window: Mapped[str | None] = mapped_column(String(40))


class StageReview(IdMixin, TimestampMixin, Base):
    """A reviewer's review of one candidate in a later review round, against that round's rubric."""

    __tablename__ = "stage_reviews"
    __table_args__ = (Index("ix_stage_reviews_stage_status", "stage_id", "status"),)

    assignment_id: Mapped[int] = mapped_column(ForeignKey("stage_assignments.id", ondelete="CASCADE"), unique=True)
    #: Copied from the assignment so the round's score query needs no join.
    stage_id: Mapped[int] = mapped_column(ForeignKey("selection_stages.id", ondelete="CASCADE"))
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[ReviewStatus] = mapped_column(enum_column(ReviewStatus, "review_status"),
                                                 default=ReviewStatus.DRAFT)
    #: Criterion id (as text) -> score 1-5 (the round's StageCriterion rows).
    scores: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    comment: Mapped[str] = mapped_column(Text, default="")
    #: Σ(weight × score) / Σ(weight) over the round's rubric, on the 1-5 scale; set when submitted.
    weighted_score: Mapped[Decimal | None] = mapped_column(Numeric(6, 4))
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
