"""Fellows from the accepted offer to the return home: creation, staff edits, the return, returns that are due."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, select, update
from sqlalchemy.exc import IntegrityError

from fellowship.applications.models import Application
from fellowship.audit.services import record
from fellowship.auth.models import User
from fellowship.errors import DomainError
from fellowship.extensions import db
from fellowship.fellows.models import Fellow, FellowStatus
from fellowship.locks import lock_row
from fellowship.signals import offer_accepted

log = logging.getLogger(__name__)

#: Fields staff may change with update_fellow.
EDITABLE_FIELDS = ("host_institution", "supervisor", "study_programme", "arrival_date", "planned_return_date",
                   "status", "notes")
#: Status changes staff may make by editing; COMPLETED is reached only by recording the return (record_return).
TRANSITIONS: dict[FellowStatus, set[FellowStatus]] = {
    FellowStatus.PRE_ARRIVAL: {FellowStatus.IN_JAPAN, FellowStatus.WITHDRAWN},
    FellowStatus.IN_JAPAN: {FellowStatus.WITHDRAWN},
    FellowStatus.COMPLETED: set(),
    FellowStatus.WITHDRAWN: set(),
}


class FellowFieldError(DomainError):
    """A rule broken by one field's value; views show the message beside that field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def create_fellow(application: Application) -> Fellow:
    """The fellow record of an accepted offer; returns the existing one if it was already created."""
    existing = db.session.scalar(select(Fellow).where(Fellow.application_id == application.id))
    if existing is not None:
        return existing
    fellow = Fellow(application_id=application.id, user_id=application.applicant_id, call_id=application.call_id,
                    home_country=application.nationality or application.country_of_residence or "",
                    home_region=application.region, status=FellowStatus.PRE_ARRIVAL)
    try:
        with db.session.begin_nested():  # a concurrent accept may have inserted it: the unique key decides
            db.session.add(fellow)
    except IntegrityError:
        return db.session.scalars(select(Fellow).where(Fellow.application_id == application.id)).one()
    record("fellows.created", fellow, application_id=application.id, call_id=application.call_id)
    return fellow


@offer_accepted.connect
def _fellow_for_accepted_offer(application: Application, **_extra: Any) -> None:
    """Selection announced an accepted offer: its fellow record is created in the same transaction."""
    create_fellow(application)


def _check_dates(arrival: date | None, planned_return: date | None) -> None:
    if arrival and planned_return and planned_return <= arrival:
        raise FellowFieldError("planned_return_date", _("The planned return date must be after the arrival date."))


def update_fellow(fellow: Fellow, *, by: User | None, **fields: Any) -> Fellow:
    """Staff change the fellowship's details or move its status on (pre-arrival → in Japan, or withdrawn)."""
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    # The fellow's row first: a status change made by someone else at the same moment is seen, not overwritten.
    lock_row(Fellow, fellow.id)
    db.session.refresh(fellow, ["status"])
    arrival = fields.get("arrival_date", fellow.arrival_date)
    planned = fields.get("planned_return_date", fellow.planned_return_date)
    _check_dates(arrival, planned)
    status = fields.get("status", fellow.status)
    if status is not fellow.status:
        if status is FellowStatus.COMPLETED:
            raise FellowFieldError("status", _("Record the return home to complete the fellowship."))
        if status not in TRANSITIONS[fellow.status]:
            raise FellowFieldError("status", _("A fellow whose status is “%(current)s” cannot be marked “%(new)s”.",
                                               current=fellow.status.label, new=status.label))
        if status is FellowStatus.IN_JAPAN and arrival is None:
            raise FellowFieldError("arrival_date", _("Enter the arrival date before marking the fellow in Japan."))
    changes = {name: value for name, value in fields.items() if getattr(fellow, name) != value}
    for name, value in changes.items():
        setattr(fellow, name, value)
    db.session.flush()
    if changes:
        record("fellows.updated", fellow, actor_id=by.id if by else None,
               changes={k: v.isoformat() if isinstance(v, date) else str(v) for k, v in changes.items()})
    return fellow


def record_return(fellow: Fellow, actual_return_date: date, by: User | None, *, today: date | None = None) -> Fellow:
    """The fellow went home on `actual_return_date`: they become an alumnus and their follow-ups are scheduled."""
    from fellowship.alumni.followups import schedule_follow_ups

    today = today or date.today()
    if fellow.status is FellowStatus.COMPLETED:
        raise DomainError(_("The return home of this fellow is already recorded."))
    if fellow.status is not FellowStatus.IN_JAPAN:
        raise DomainError(_("Only a fellow in Japan can return home; this fellow is “%(status)s”.",
                            status=fellow.status.label))
    if actual_return_date > today:
        raise FellowFieldError("actual_return_date", _("The return date cannot be in the future."))
    if fellow.arrival_date and actual_return_date <= fellow.arrival_date:
        raise FellowFieldError("actual_return_date", _("The return date must be after the arrival date."))
    # Conditional UPDATE: two staff confirming the same return at once cannot both complete it.
    moved = db.session.execute(
        update(Fellow).where(Fellow.id == fellow.id, Fellow.status == FellowStatus.IN_JAPAN)
        .values(status=FellowStatus.COMPLETED, actual_return_date=actual_return_date).returning(Fellow.id)
        .execution_options(synchronize_session=False)).scalar_one_or_none()
    if not moved:
        raise DomainError(_("The return home of this fellow is already recorded."))
    db.session.refresh(fellow)
    schedule_follow_ups(fellow)
    db.session.flush()
    record("fellows.returned", fellow, actor_id=by.id if by else None,
           actual_return_date=actual_return_date.isoformat())
    log.info("fellow %s returned home on %s", fellow.id, actual_return_date)
    return fellow


def returns_due(today: date) -> Select[Fellow]:
    """Fellows still in Japan whose planned return date has passed, the longest overdue first."""
    return (select(Fellow).where(Fellow.status == FellowStatus.IN_JAPAN, Fellow.planned_return_date < today)
            .order_by(Fellow.planned_return_date, Fellow.id))


def confirm_returns_due(today: date, by: User | None, fellow_ids: Iterable[int] | None = None) -> int:
    """Staff confirm that fellows past their planned return went home then; returns how many were confirmed.

    `fellow_ids` limits it to the rows shown on the page; ids no longer due (confirmed meanwhile) are skipped.
    """
    stmt = returns_due(today)
    if fellow_ids is not None:
        stmt = stmt.where(Fellow.id.in_(list(fellow_ids)))
    confirmed = 0
    for fellow in db.session.scalars(stmt).all():
        assert fellow.planned_return_date is not None  # noqa: S101 - guaranteed by the query
        try:
            record_return(fellow, fellow.planned_return_date, by, today=today)
        except DomainError as exc:
            log.info("return of fellow %s not confirmed: %s", fellow.id, exc)
            continue
        confirmed += 1
    return confirmed
