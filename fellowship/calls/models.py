"""Programmes and their yearly calls, with eligibility settings, quotas and the review rubric."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Numeric, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fellowship.i18n.texts import Texts, TextsType, current_locale, texts_of, translated
from fellowship.models import Base, IdMixin, LabelledEnum, TimestampMixin, UTCDateTime, enum_column

DEFAULT_TIME_ZONE = "Asia/Tokyo"
#: Follow-up surveys after return home, in months (issue: alumni follow-up).
DEFAULT_FOLLOWUP_MONTHS = [6, 12, 24, 36, 60]


class CallStatus(LabelledEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"
    REVIEWING = "reviewing"
    DECIDED = "decided"
    ARCHIVED = "archived"

    @classmethod
    def _labels(cls) -> dict[str, Any]:
        return {"draft": _l("Draft"), "open": _l("Open for applications"), "closed": _l("Closed"),
                "reviewing": _l("Under review"), "decided": _l("Decided"), "archived": _l("Archived")}


class DegreeLevel(enum.StrEnum):
    """Ordered from lowest to highest; eligibility compares positions in this order."""

    SECONDARY = "secondary"
    BACHELOR = "bachelor"
    MASTER = "master"
    DOCTORATE = "doctorate"

    @property
    def rank(self) -> int:
        return list(DegreeLevel).index(self)

    @property
    def label(self) -> str:
        return str(_DEGREE_LABELS[self.value])

    @property
    def lazy_label(self) -> Any:
        return _DEGREE_LABELS[self.value]


class DocumentKind(enum.StrEnum):
    CV = "cv"
    TRANSCRIPT = "transcript"
    PASSPORT = "passport"
    DEGREE_CERTIFICATE = "degree_certificate"
    LANGUAGE_CERTIFICATE = "language_certificate"
    OTHER = "other"
    REFERENCE_LETTER = "reference_letter"  #: uploaded by a referee; never shown to the applicant

    @property
    def label(self) -> str:
        return str(_DOCUMENT_LABELS[self.value])

    @property
    def lazy_label(self) -> Any:
        return _DOCUMENT_LABELS[self.value]


_DEGREE_LABELS = {"secondary": _l("Secondary school"), "bachelor": _l("Bachelor's degree"),
                  "master": _l("Master's degree"), "doctorate": _l("Doctorate")}
_DOCUMENT_LABELS = {"cv": _l("CV"), "transcript": _l("Academic transcript"), "passport": _l("Passport page"),
                    "degree_certificate": _l("Degree certificate"), "language_certificate": _l("Language certificate"),
                    "other": _l("Other document"), "reference_letter": _l("Reference letter")}


class Programme(IdMixin, TimestampMixin, Base):
    __tablename__ = "programmes"

    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    #: IANA zone in which staff enter a call's times; applicants also see their own zone.
    time_zone: Mapped[str] = mapped_column(String(64), default=DEFAULT_TIME_ZONE)
    followup_months: Mapped[list[int]] = mapped_column(JSON, default=lambda: list(DEFAULT_FOLLOWUP_MONTHS))

    calls: Mapped[list[Call]] = relationship(back_populates="programme", lazy="raise")


class Call(IdMixin, TimestampMixin, Base):
    __tablename__ = "calls"
    __table_args__ = (
        CheckConstraint("closes_at > opens_at", name="closes_after_opening"),
        CheckConstraint("places >= 0", name="places_not_negative"),
        CheckConstraint("references_required >= 0", name="references_not_negative"),
        CheckConstraint("reviewers_per_application >= 1", name="at_least_one_reviewer"),
        Index("ix_calls_status_closes_at", "status", "closes_at"),
    )

    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id", ondelete="RESTRICT"), index=True)
    #: The English title (the source); `title` reads it in the reader's language.
    title_source: Mapped[str] = mapped_column("title", String(200))
    year: Mapped[int] = mapped_column()
    #: The English description (the source); `description` reads it in the reader's language.
    description_source: Mapped[str] = mapped_column("description", Text, default="")
    #: Staff's translations of the title and description, {lang: text}; a missing one falls back to English.
    title_translations: Mapped[Texts | None] = mapped_column(TextsType)
    description_translations: Mapped[Texts | None] = mapped_column(TextsType)
    #: What the programme adds to the privacy notice for this call, per language (English first).
    privacy_notice: Mapped[Texts | None] = mapped_column(TextsType)
    #: Staff-written paragraphs of this call's emails, {email key: {lang: text}} (see fellowship.i18n.content).
    email_texts: Mapped[dict[str, dict[str, str]] | None] = mapped_column(JSON)
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[CallStatus] = mapped_column(enum_column(CallStatus, "call_status"), default=CallStatus.DRAFT)
    places: Mapped[int] = mapped_column(default=10)
    #: Age at the closing date must not exceed this (None: no limit).
    max_age: Mapped[int | None] = mapped_column()
    min_degree: Mapped[DegreeLevel | None] = mapped_column(enum_column(DegreeLevel, "degree_level"))
    #: ISO 3166 alpha-2 codes of eligible nationalities.
    eligible_countries: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: DocumentKind values an application must include.
    required_documents: Mapped[list[str]] = mapped_column(JSON, default=lambda: ["cv", "transcript", "passport"])
    references_required: Mapped[int] = mapped_column(default=2)
    #: Prefix of reference numbers, e.g. "ELF" gives ELF-2027-00042; numbered per prefix and year
    #: (applications' ReferenceSeries), so calls sharing both share one counter.
    reference_prefix: Mapped[str] = mapped_column(String(10), default="ELF")
    #: When the deadline job screened eligibility; set once, so the job is idempotent.
    screened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reviewers_per_application: Mapped[int] = mapped_column(default=3)
    blind_review: Mapped[bool] = mapped_column(default=False)
    #: Referees are invited only once their candidate is shortlisted (selection stages), not when named.
    references_at_shortlist: Mapped[bool] = mapped_column(default=False, server_default=false())
    #: Treat reviewer and applicant of the same nationality as a conflict of interest.
    same_nationality_conflict: Mapped[bool] = mapped_column(default=False)
    #: When reviews are due (assignments take this due date; reminders before it, then overdue).
    review_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Once set, submitted reviews can no longer be edited (the panel met and ranked).
    panel_locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Weighted-score spread between reviewers above which an application is flagged for discussion.
    disagreement_threshold: Mapped[Decimal] = mapped_column(Numeric(4, 2), default=Decimal("1.5"), server_default="1.5")
    #: A reviewer's scores are normalised once they have submitted at least this many reviews.
    min_reviews_for_normalisation: Mapped[int] = mapped_column(default=3, server_default="3")
    #: Days an applicant has to accept or decline an offer.
    offer_response_days: Mapped[int] = mapped_column(default=14, server_default="14")
    #: Incremented whenever an input of the proposed selection changes; stored proposals of other versions are stale.
    ranking_version: Mapped[int] = mapped_column(default=0, server_default="0")
    #: The call's application form (a questionnaire of the questions engine); the call owns it.
    questionnaire_id: Mapped[int | None] = mapped_column(ForeignKey("questionnaires.id", ondelete="RESTRICT"),
                                                         index=True)
    #: Eligibility rule -> key of the question it reads, e.g. {"nationality": "citizenship"}; a rule not named here
    #: reads the question tagged for it (fellowship.eligibility.rules.DEFAULT_TAGS).
    eligibility_questions: Mapped[dict[str, str] | None] = mapped_column(JSON)

    programme: Mapped[Programme] = relationship(back_populates="calls", lazy="joined")
    quotas: Mapped[list[RegionalQuota]] = relationship(
        back_populates="call", cascade="all, delete-orphan", order_by="RegionalQuota.region", lazy="selectin")
    criteria: Mapped[list[RubricCriterion]] = relationship(
        back_populates="call", cascade="all, delete-orphan", order_by="RubricCriterion.position", lazy="selectin")

    title = translated("title_source", "title_translations", "title")
    description = translated("description_source", "description_translations", "description")

    @property
    def time_zone(self) -> str:
        return self.programme.time_zone


class RegionalQuota(Base):
    """At least `min_share_percent` of the call's places go to applicants from `region` (UN M49)."""

    __tablename__ = "regional_quotas"
    __table_args__ = (
        UniqueConstraint("call_id", "region", name="uq_regional_quotas_call_id_region"),
        CheckConstraint("min_share_percent BETWEEN 0 AND 100", name="share_is_percentage"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    region: Mapped[str] = mapped_column(String(60))
    min_share_percent: Mapped[int] = mapped_column()

    call: Mapped[Call] = relationship(back_populates="quotas")


class RubricCriterion(Base):
    """One criterion of the call's rubric, scored 1-5 and weighted."""

    __tablename__ = "rubric_criteria"
    __table_args__ = (CheckConstraint("weight > 0", name="weight_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    #: The English name and description (the source); `name` and `description` read them in the reader's language.
    name_source: Mapped[str] = mapped_column("name", String(120))
    description_source: Mapped[str] = mapped_column("description", Text, default="")
    weight: Mapped[Decimal] = mapped_column(Numeric(6, 3), default=Decimal("1"))
    #: What each score 1..5 means, keyed "1".."5" (English).
    level_descriptions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    name_translations: Mapped[Texts | None] = mapped_column(TextsType)
    description_translations: Mapped[Texts | None] = mapped_column(TextsType)
    #: Translations of the level descriptions, {level: {lang: text}}.
    level_translations: Mapped[dict[str, dict[str, str]] | None] = mapped_column(JSON)

    call: Mapped[Call] = relationship(back_populates="criteria")

    name = translated("name_source", "name_translations", "name")
    description = translated("description_source", "description_translations", "description")

    def level_description(self, level: str | int) -> str:
        """What score `level` means, in the reader's language (English if not translated)."""
        english = str((self.level_descriptions or {}).get(str(level), ""))
        return texts_of(english, (self.level_translations or {}).get(str(level))).get_for(current_locale())
