"""The result of each eligibility rule for an application, with the reason shown to staff."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
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
    reason: Mapped[str] = mapped_column(Text)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    application: Mapped[Application] = relationship(back_populates="eligibility_results")
