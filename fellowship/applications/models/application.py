"""An applicant's file for one call: its sections, status and reference number."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fellowship.auth.models import User
from fellowship.calls.models import Call, DegreeLevel
from fellowship.models import Base, IdMixin, LabelledEnum, TimestampMixin, UTCDateTime, enum_column

if TYPE_CHECKING:
    from fellowship.applications.models.document import Document
    from fellowship.applications.models.eligibility import EligibilityResult
    from fellowship.applications.models.referee import Referee
    from fellowship.questions.models import Response


class ApplicationStatus(LabelledEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    INELIGIBLE = "ineligible"
    UNDER_REVIEW = "under_review"
    ACCEPTED = "accepted"
    WAITLISTED = "waitlisted"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    OFFER_ACCEPTED = "offer_accepted"
    OFFER_DECLINED = "offer_declined"

    @classmethod
    def _labels(cls) -> dict[str, str]:
        #: "Offer made" while the offer waits for an answer; "Accepted" only once the applicant accepted it.
        return {"draft": _l("Draft"), "submitted": _l("Submitted"), "ineligible": _l("Ineligible"),
                "under_review": _l("Under review"), "accepted": _l("Offer made"), "waitlisted": _l("Waitlisted"),
                "rejected": _l("Not selected"), "withdrawn": _l("Withdrawn"), "offer_accepted": _l("Accepted"),
                "offer_declined": _l("Offer declined")}


class Gender(LabelledEnum):
    FEMALE = "female"
    MALE = "male"
    NON_BINARY = "non_binary"
    UNDISCLOSED = "undisclosed"

    @classmethod
    def _labels(cls) -> dict[str, Any]:
        return {"female": _l("Female"), "male": _l("Male"), "non_binary": _l("Non-binary"),
                "undisclosed": _l("Prefer not to say")}


class Sector(LabelledEnum):
    GOVERNMENT = "government"
    NGO = "ngo"
    ACADEMIA = "academia"
    PRIVATE = "private"
    INTERNATIONAL = "international_organisation"
    OTHER = "other"

    @classmethod
    def _labels(cls) -> dict[str, Any]:
        return {"government": _l("Government"), "ngo": _l("NGO / civil society"),
                "academia": _l("University / research"), "private": _l("Private sector"),
                "international_organisation": _l("International organisation"),
                "other": _l("Other")}


class EnvironmentalField(LabelledEnum):
    CLIMATE_MITIGATION = "climate_mitigation"
    CLIMATE_ADAPTATION = "climate_adaptation"
    BIODIVERSITY = "biodiversity"
    WATER = "water"
    WASTE = "waste"
    ENERGY = "energy"
    AIR_QUALITY = "air_quality"
    FORESTS_LAND = "forests_land"
    OCEANS_COASTS = "oceans_coasts"
    DISASTER_RISK = "disaster_risk"
    ENVIRONMENTAL_POLICY = "environmental_policy"
    OTHER = "other"

    @classmethod
    def _labels(cls) -> dict[str, Any]:
        return {"climate_mitigation": _l("Climate mitigation"), "climate_adaptation": _l("Climate adaptation"),
                "biodiversity": _l("Biodiversity"), "water": _l("Water"), "waste": _l("Waste"), "energy": _l("Energy"),
                "air_quality": _l("Air quality"), "forests_land": _l("Forests and land"),
                "oceans_coasts": _l("Oceans and coasts"), "disaster_risk": _l("Disaster risk reduction"),
                "environmental_policy": _l("Environmental policy"), "other": _l("Other")}


class LanguageLevel(LabelledEnum):
    """CEFR levels."""

    NONE = "none"
    A1 = "A1"
    A2 = "A2"
    B1 = "B1"
    B2 = "B2"
    C1 = "C1"
    C2 = "C2"
    NATIVE = "native"

    @classmethod
    def _labels(cls) -> dict[str, Any]:
        # CEFR level codes read the same in every language; "None" and "Native speaker" are words.
        return {"none": _l("None"), "A1": "A1", "A2": "A2", "B1": "B1", "B2": "B2", "C1": "C1", "C2": "C2",
                "native": _l("Native speaker")}


class Application(IdMixin, TimestampMixin, Base):
    __tablename__ = "applications"
    __table_args__ = (
        UniqueConstraint("call_id", "applicant_id", name="uq_applications_call_id_applicant_id"),
        # The staff list filters by call and one of these, then orders by id.
        Index("ix_applications_call_status", "call_id", "status"),
        Index("ix_applications_call_nationality", "call_id", "nationality"),
        Index("ix_applications_call_region", "call_id", "region"),
        Index("ix_applications_call_field", "call_id", "environmental_field"),
        Index("ix_applications_call_eligible", "call_id", "eligible"),
        Index("ix_applications_environmental_field", "environmental_field"),  # the alumni directory
        CheckConstraint("(status = 'draft') OR (reference IS NOT NULL)", name="submitted_has_reference"),
    )

    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="RESTRICT"), index=True)
    applicant_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[ApplicationStatus] = mapped_column(
        enum_column(ApplicationStatus, "application_status"), default=ApplicationStatus.DRAFT)
    #: e.g. ELF-2027-00042; given once, at submission.
    reference: Mapped[str | None] = mapped_column(String(32), unique=True)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: When the applicant made the declarations on the review-and-submit page (set with the submission).
    declared_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The declarations' exact wording as the applicant ticked them, one per line.
    declarations: Mapped[str | None] = mapped_column(Text)

    # Personal
    given_name: Mapped[str | None] = mapped_column(String(100))
    family_name: Mapped[str | None] = mapped_column(String(100))
    #: Lower-cased "given family" for the staff search.
    search_name: Mapped[str | None] = mapped_column(String(210), index=True)
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    gender: Mapped[Gender | None] = mapped_column(enum_column(Gender, "gender"))
    nationality: Mapped[str | None] = mapped_column(String(2))
    country_of_residence: Mapped[str | None] = mapped_column(String(2))
    #: UN M49 region of the nationality, kept in step by the service for filters and quotas.
    region: Mapped[str | None] = mapped_column(String(40))
    # Education
    highest_degree: Mapped[DegreeLevel | None] = mapped_column(enum_column(DegreeLevel, "degree_level"))
    #: Kept as a column for the same-institution conflict of interest (applications.profile).
    institution: Mapped[str | None] = mapped_column(String(200))
    # Environmental field
    environmental_field: Mapped[EnvironmentalField | None] = mapped_column(
        enum_column(EnvironmentalField, "environmental_field"))
    #: The applicant's answers to the call's questionnaire; the columns above are copies of its tagged answers
    #: (applications.profile), kept for the lists, quotas and conflicts that filter on them.
    response_id: Mapped[int | None] = mapped_column(ForeignKey("responses.id", ondelete="RESTRICT"), unique=True)

    #: The language the applicant was reading when they last saved an answer. Answers are kept as typed, never
    #: translated, so staff and reviewers are shown which language an application is written in.
    locale: Mapped[str | None] = mapped_column(String(10))

    #: Outcome of the deadline screening (None: not screened yet); an override wins.
    eligible: Mapped[bool | None] = mapped_column()
    eligibility_override: Mapped[bool | None] = mapped_column()
    eligibility_override_reason: Mapped[str | None] = mapped_column(Text)
    eligibility_override_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    eligibility_override_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    call: Mapped[Call] = relationship(lazy="joined", innerjoin=True)
    applicant: Mapped[User] = relationship(foreign_keys=[applicant_id], lazy="raise")
    documents: Mapped[list[Document]] = relationship(back_populates="application", lazy="raise",
                                                     cascade="all, delete-orphan")
    referees: Mapped[list[Referee]] = relationship(back_populates="application", lazy="raise",
                                                   cascade="all, delete-orphan", order_by="Referee.id")
    eligibility_results: Mapped[list[EligibilityResult]] = relationship(
        back_populates="application", lazy="raise", cascade="all, delete-orphan",
        order_by="EligibilityResult.id")
    response: Mapped[Response | None] = relationship(lazy="raise")

    @property
    def display_name(self) -> str:
        return " ".join(p for p in (self.given_name, self.family_name) if p) or "(no name yet)"

    @property
    def is_editable(self) -> bool:
        return self.status is ApplicationStatus.DRAFT
