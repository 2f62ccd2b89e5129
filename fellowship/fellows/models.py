"""Fellows: accepted applicants who took the offer, from arrival in Japan to their return home."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fellowship.models import Base, IdMixin, LabelledEnum, TimestampMixin, UTCDateTime, enum_column


class FellowStatus(LabelledEnum):
    PRE_ARRIVAL = "pre_arrival"
    IN_JAPAN = "in_japan"
    COMPLETED = "completed"  #: returned home: an alumnus
    WITHDRAWN = "withdrawn"

    @classmethod
    def _labels(cls) -> dict[str, Any]:
        return {"pre_arrival": _l("Pre-arrival"), "in_japan": _l("In Japan"), "completed": _l("Completed"),
                "withdrawn": _l("Withdrawn")}


class Fellow(IdMixin, TimestampMixin, Base):
    __tablename__ = "fellows"
    __table_args__ = (
        Index("ix_fellows_call_status", "call_id", "status"),
        Index("ix_fellows_status_planned_return", "status", "planned_return_date"),
        Index("ix_fellows_home_country", "home_country"),
    )

    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="RESTRICT"), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    #: The cohort: the call the fellow was selected in.
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="RESTRICT"))
    #: ISO alpha-2 of the home country (the nationality at application), and its UN M49 region.
    home_country: Mapped[str] = mapped_column(String(2))
    home_region: Mapped[str | None] = mapped_column(String(40), index=True)
    status: Mapped[FellowStatus] = mapped_column(enum_column(FellowStatus, "fellow_status"),
                                                 default=FellowStatus.PRE_ARRIVAL)
    host_institution: Mapped[str | None] = mapped_column(String(200))
    supervisor: Mapped[str | None] = mapped_column(String(200))
    study_programme: Mapped[str | None] = mapped_column(String(200))
    arrival_date: Mapped[date | None] = mapped_column(Date)
    planned_return_date: Mapped[date | None] = mapped_column(Date)
    actual_return_date: Mapped[date | None] = mapped_column(Date, index=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    #: Set when the last follow-up reminder went unanswered; cleared when the alumnus answers again.
    lost_contact_since: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    #: The alumnus agreed to appear in the alumni directory.
    directory_opt_in: Mapped[bool] = mapped_column(default=False, index=True)
