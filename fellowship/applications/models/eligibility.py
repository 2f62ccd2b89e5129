"""The result of each eligibility rule for an application, with the reason shown to staff."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fellowship.models import Base, UTCDateTime, utcnow

if TYPE_CHECKING:
    from fellowship.applications.models.application import Application


class EligibilityResult(Base):
    __tablename__ = "eligibility_results"
    __table_args__ = (UniqueConstraint("application_id", "rule", name="uq_eligibility_results_application_id_rule"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    #: Rule name, e.g. "age_at_deadline", "nationality", "degree", "documents", "references".
    rule: Mapped[str] = mapped_column(String(40))
    passed: Mapped[bool] = mapped_column()
    #: The reason in English, as the rule gave it: kept for the record (and the only text of rows screened before
    #: reasons were stored as messages); readers see `shown_reason`.
    reason: Mapped[str] = mapped_column(Text)
    #: The reason as a message of eligibility.rules.REASONS, [key, params], shown in each reader's language.
    reason_message: Mapped[list[Any] | None] = mapped_column(JSON)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    application: Mapped[Application] = relationship(back_populates="eligibility_results")

    @property
    def shown_reason(self) -> str:
        """The reason in the reader's language (the stored English for a row from before messages)."""
        from fellowship.eligibility.rules import REASONS

        return REASONS.shown(self.reason_message, self.reason)
