"""A call's selection panel: its reviewers, their declared and automatic conflicts of interest."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fellowship.auth.models import User
from fellowship.models import Base, IdMixin, LabelledEnum, UTCDateTime, enum_column, utcnow


class CallReviewer(IdMixin, Base):
    """A reviewer serving on one call's panel, with what automatic conflict rules compare."""

    __tablename__ = "call_reviewers"
    __table_args__ = (
        UniqueConstraint("call_id", "reviewer_id", name="uq_call_reviewers_call_id_reviewer_id"),
        CheckConstraint("max_assignments IS NULL OR max_assignments >= 0", name="cap_not_negative"),
    )

    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: Most applications this reviewer takes in this call (None: no cap).
    max_assignments: Mapped[int | None] = mapped_column()
    #: Compared with applicants' institutions for the automatic same-institution conflict.
    institution: Mapped[str | None] = mapped_column(String(200))
    #: ISO alpha-2; compared with applicants' nationality when the call asks for it.
    nationality: Mapped[str | None] = mapped_column(String(2))
    #: False once the reviewer withdrew from the panel; their open assignments are reassigned.
    active: Mapped[bool] = mapped_column(default=True)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    reviewer: Mapped[User] = relationship(lazy="joined", innerjoin=True)


class ConflictKind(LabelledEnum):
    SAME_INSTITUTION = "same_institution"
    SUPERVISOR = "supervisor"
    RELATIVE = "relative"
    SAME_NATIONALITY = "same_nationality"
    OTHER = "other"

    @classmethod
    def _labels(cls) -> dict[str, Any]:
        return {"same_institution": _l("Same institution"), "supervisor": _l("Supervisor"),
                "relative": _l("Relative"), "same_nationality": _l("Same nationality"), "other": _l("Other")}


class ConflictSource(LabelledEnum):
    DECLARED = "declared"  #: by the reviewer (or staff on their behalf)
    AUTOMATIC = "automatic"  #: by a rule (same institution, same nationality)
    RECUSAL = "recusal"  #: the reviewer stepped back from an assigned application

    @classmethod
    def _labels(cls) -> dict[str, Any]:
        return {"declared": _l("Declared"), "automatic": _l("Automatic"), "recusal": _l("Recusal")}


class Conflict(IdMixin, Base):
    """A tie between a reviewer and an applicant: the reviewer is never assigned, cannot open the file."""

    __tablename__ = "conflicts"
    __table_args__ = (
        UniqueConstraint("reviewer_id", "application_id", "kind", name="uq_conflicts_reviewer_application_kind"),
        Index("ix_conflicts_application_reviewer", "application_id", "reviewer_id"),
    )

    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"))
    kind: Mapped[ConflictKind] = mapped_column(enum_column(ConflictKind, "conflict_kind"))
    source: Mapped[ConflictSource] = mapped_column(enum_column(ConflictSource, "conflict_source"))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
