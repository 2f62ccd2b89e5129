"""Referees named by an applicant; each uploads a letter through an emailed single-use link."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fellowship.models import Base, IdMixin, LabelledEnum, TimestampMixin, UTCDateTime, enum_column

if TYPE_CHECKING:
    from fellowship.applications.models.application import Application


class RefereeStatus(LabelledEnum):
    INVITED = "invited"
    RECEIVED = "received"

    @classmethod
    def _labels(cls) -> dict[str, Any]:
        return {"invited": _l("Waiting for the letter"), "received": _l("Letter received")}


class Referee(IdMixin, TimestampMixin, Base):
    __tablename__ = "referees"
    __table_args__ = (UniqueConstraint("application_id", "email", name="uq_referees_application_id_email"),)

    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    relation: Mapped[str] = mapped_column(String(200))
    status: Mapped[RefereeStatus] = mapped_column(
        enum_column(RefereeStatus, "referee_status"), default=RefereeStatus.INVITED)
    #: Random value inside the emailed link; cleared when the letter arrives, so the link works once.
    link_nonce: Mapped[str | None] = mapped_column(String(64))
    invited_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reminders_sent: Mapped[int] = mapped_column(default=0)
    last_reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The language the referee is written to in, chosen by the applicant (fellowship.i18n.LOCALES).
    locale: Mapped[str] = mapped_column(String(10), default="en", server_default="en")

    application: Mapped[Application] = relationship(back_populates="referees")
