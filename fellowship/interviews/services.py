"""Slots, bookings, cancellations, no-shows, reminders and invitations of an interview stage.

Places are taken by one conditional UPDATE (`booked_count < capacity`): two candidates asking for the last place at
the same moment cannot both get it (PostgreSQL re-checks the condition on the row the other just wrote; SQLite
serialises writers), and the table's CHECK refuses an overbooked slot whatever happens. A candidate's own changes
(book, reschedule, cancel) are serialised by their application's row lock, so they never hold two live bookings.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time, get_timezone_location
from flask_babel import gettext as _
from sqlalchemy import CursorResult, Select, and_, exists, select, update

from fellowship import signals
from fellowship.applications.models import Application
from fellowship.audit.services import record
from fellowship.auth.models import User
from fellowship.calls.models import Call
from fellowship.errors import DomainError
from fellowship.extensions import db
from fellowship.i18n.texts import current_locale
from fellowship.interviews.calendar import invitation_ics
from fellowship.interviews.models import (
    BookingStatus,
    InterviewBooking,
    InterviewMode,
    InterviewSlot,
    SlotPanelMember,
)
from fellowship.locks import lock_row
from fellowship.models import utcnow
from fellowship.notifications.services import public_link, queue_email, recipient_locale
from fellowship.selection.models import SelectionStage, StageKind, StageResult
from fellowship.selection.stages import last_cut_before, stage_panel, stages_of
from fellowship.timezones import babel_locale, local_to_utc, viewer_zone

log = logging.getLogger(__name__)

#: Candidates book, reschedule and cancel until this long before the interview starts.
CHANGE_CUTOFF = timedelta(hours=24)
#: The reminder goes out this long before the interview.
REMINDER_BEFORE = timedelta(hours=24)
REMINDER_BATCH = 500


class SlotTaken(DomainError):
    """The slot's last place went to someone else a moment ago."""


# --- Reading ------------------------------------------------------------------------------------------------------

def interview_stage(stage_id: int, call_id: int | None = None) -> SelectionStage | None:
    """The interview stage `stage_id` (of `call_id` when given), or None."""
    stmt = select(SelectionStage).where(SelectionStage.id == stage_id, SelectionStage.kind == StageKind.INTERVIEW)
    if call_id is not None:
        stmt = stmt.where(SelectionStage.call_id == call_id)
    return db.session.scalar(stmt)


def is_shortlisted(stage: SelectionStage, application_id: int) -> bool:
    """Whether the application advanced at the last confirmed shortlist before this interview stage."""
    cut = last_cut_before(stages_of(stage.call_id), stage.position)
    if cut is None:
        return False
    return bool(db.session.scalar(select(exists().where(
        StageResult.stage_id == cut.id, StageResult.application_id == application_id,
        StageResult.advanced.is_(True)))))


def candidate_application(stage: SelectionStage, user: Any) -> Application | None:
    """The user's application in the stage's call, if it was shortlisted for this interview."""
    user_id = getattr(user, "id", None)
    if user_id is None:
        return None
    application = db.session.scalar(select(Application).where(Application.call_id == stage.call_id,
                                                              Application.applicant_id == user_id))
    if application is None or not is_shortlisted(stage, application.id):
        return None
    return application


def live_booking(stage_id: int, application_id: int) -> InterviewBooking | None:
    """The candidate's booking in the stage that is not cancelled (booked or no-show), if any."""
    return db.session.scalar(select(InterviewBooking).where(
        InterviewBooking.stage_id == stage_id, InterviewBooking.application_id == application_id,
        InterviewBooking.status != BookingStatus.CANCELLED))


def slots_query(stage: SelectionStage) -> Select[Any]:
    return (select(InterviewSlot).where(InterviewSlot.stage_id == stage.id)
            .order_by(InterviewSlot.starts_at, InterviewSlot.id))


def open_slots(stage: SelectionStage, now: datetime | None = None) -> list[InterviewSlot]:
    """Slots a candidate may still choose: a place left, and starting more than 24 hours from now."""
    now = now or utcnow()
    return list(db.session.scalars(slots_query(stage).where(
        InterviewSlot.booked_count < InterviewSlot.capacity, InterviewSlot.starts_at > now + CHANGE_CUTOFF)))


def slot_panel_ids(slot_ids: list[int]) -> dict[int, list[int]]:
    found: dict[int, list[int]] = {}
    if slot_ids:
        for slot_id, user_id in db.session.execute(select(SlotPanelMember.slot_id, SlotPanelMember.user_id)
                                                   .where(SlotPanelMember.slot_id.in_(slot_ids))):
            found.setdefault(slot_id, []).append(user_id)
    return found


def sits_on_slot(user_id: int, slot_id: int) -> bool:
    return bool(db.session.scalar(select(exists().where(SlotPanelMember.slot_id == slot_id,
                                                        SlotPanelMember.user_id == user_id))))


def change_refusal(slot: InterviewSlot, now: datetime | None = None) -> str | None:
    """Why a candidate can no longer change a booking in this slot (inside 24 hours), or None."""
    now = now or utcnow()
    if slot.starts_at - now < CHANGE_CUTOFF:
        return _("Interviews can be booked, rescheduled or cancelled only until 24 hours before they start; "
                 "this one starts in less than 24 hours. Please write to the programme office.")
    return None


def _city(zone: str, locale: str) -> str:
    return str(get_timezone_location(ZoneInfo(zone), locale=babel_locale(locale), return_city=True))


def when_for(moment: datetime, zone: str, other_zone: str | None = None, locale: str | None = None) -> str:
    """'Tue 4 May 2027, 09:00 in Dakar (17:00 in Tokyo)': a slot's time in the reader's zone, the zone named by its
    city, with the programme's own time beside it when the zones differ (in the reader's language)."""
    locale = locale or current_locale() or "en"
    local = moment.astimezone(ZoneInfo(zone))
    day = format_date(local, "EEE d MMM y", locale=babel_locale(locale))
    time = format_time(local, "HH:mm", locale=babel_locale(locale))
    if other_zone and other_zone != zone:
        other = format_time(moment.astimezone(ZoneInfo(other_zone)), "HH:mm", locale=babel_locale(locale))
        return _("%(day)s, %(time)s in %(city)s (%(other_time)s in %(other_city)s)", day=day, time=time,
                 city=_city(zone, locale), other_time=other, other_city=_city(other_zone, locale))
    return _("%(day)s, %(time)s in %(city)s", day=day, time=time, city=_city(zone, locale))


# --- Slots --------------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class SlotSettings:
    """A slot as staff enter it: the start is a wall-clock time in the programme's zone."""

    starts_local: datetime
    duration_minutes: int
    capacity: int
    mode: InterviewMode
    location: str
    panel_ids: tuple[int, ...]


def create_slot(call: Call, stage: SelectionStage, settings: SlotSettings, by: User) -> InterviewSlot:
    """Offer an interview time in the stage (start entered in the programme's zone), with its panel."""
    if stage.kind is not StageKind.INTERVIEW:
        raise DomainError(_("Slots belong to an interview stage."))
    starts_at = local_to_utc(settings.starts_local, call.time_zone)
    if starts_at <= utcnow():
        raise DomainError(_("The interview must start in the future."))
    if settings.mode is not InterviewMode.PHONE and not settings.location.strip():
        raise DomainError(_("Give the video link or the place of the interview."))
    allowed = {u.id for u in stage_panel(stage)}
    if not settings.panel_ids:
        raise DomainError(_("Choose at least one interviewer."))
    if not set(settings.panel_ids) <= allowed:
        raise DomainError(_("Interviewers are chosen among the stage's panel."))
    slot = InterviewSlot(stage_id=stage.id, call_id=call.id, starts_at=starts_at,
                         duration_minutes=settings.duration_minutes, capacity=settings.capacity,
                         mode=settings.mode, location=settings.location.strip(), created_by_id=by.id)
    db.session.add(slot)
    db.session.flush()
    for user_id in sorted(set(settings.panel_ids)):
        db.session.add(SlotPanelMember(slot_id=slot.id, user_id=user_id))
    db.session.flush()
    record("interviews.slot_created", slot, actor_id=by.id, call_id=call.id, stage_id=stage.id,
           starts_at=starts_at.isoformat(), capacity=slot.capacity, mode=slot.mode.value,
           panel=sorted(set(settings.panel_ids)))
    log.info("interview slot %s created in stage %s", slot.id, stage.id)
    return slot


# --- Booking ------------------------------------------------------------------------------------------------------

def _take_place(slot_id: int) -> bool:
    """One place of the slot, if one is left (a conditional write: never more than the capacity)."""
    taken = cast(CursorResult[Any], db.session.execute(
        update(InterviewSlot).where(InterviewSlot.id == slot_id, InterviewSlot.booked_count < InterviewSlot.capacity)
        .values(booked_count=InterviewSlot.booked_count + 1).execution_options(synchronize_session=False)))
    return taken.rowcount == 1


def _release_place(slot_id: int) -> None:
    db.session.execute(update(InterviewSlot).where(InterviewSlot.id == slot_id, InterviewSlot.booked_count > 0)
                       .values(booked_count=InterviewSlot.booked_count - 1)
                       .execution_options(synchronize_session=False))


def book(stage: SelectionStage, application: Application, slot_id: int, by: User, *,
         on_behalf: bool = False) -> InterviewBooking:
    """Book (or move the live booking to) slot `slot_id` for the candidate; staff may book on their behalf.

    Refused with the reason: not shortlisted, the slot full ("just taken"), or a change inside 24 hours (candidates;
    staff may still book or move someone until the interview starts)."""
    lock_row(Application, application.id)
    if not is_shortlisted(stage, application.id):
        raise DomainError(_("This candidate was not shortlisted for this interview."))
    slot = db.session.scalar(select(InterviewSlot).where(InterviewSlot.id == slot_id,
                                                         InterviewSlot.stage_id == stage.id))
    if slot is None:
        raise DomainError(_("Choose one of the interview times offered."))
    now = utcnow()
    current = live_booking(stage.id, application.id)
    if current is not None and current.status is BookingStatus.NO_SHOW:
        raise DomainError(_("This candidate was marked as not having come to the interview."))
    if current is not None and current.slot_id == slot.id:
        return current
    if current is not None:
        old_slot = db.session.get_one(InterviewSlot, current.slot_id)
        refusal = change_refusal(old_slot, now)
        if refusal and not (on_behalf and old_slot.starts_at > now):
            raise DomainError(refusal)
    refusal = change_refusal(slot, now)
    if slot.starts_at <= now or (refusal and not on_behalf):
        raise DomainError(_("This interview time can no longer be booked: bookings close 24 hours before it starts."))
    # Places change in slot-id order, so two candidates swapping slots cannot wait on each other.
    if current is not None and current.slot_id < slot.id:
        _release_place(current.slot_id)
    if not _take_place(slot.id):
        raise SlotTaken(_("Sorry, that interview time was just taken by another candidate. "
                          "Please choose one of the times still open."))
    if current is not None and current.slot_id > slot.id:
        _release_place(current.slot_id)
    db.session.expire(slot, ["booked_count"])
    if current is None:
        booking = InterviewBooking(slot_id=slot.id, stage_id=stage.id, application_id=application.id,
                                   status=BookingStatus.BOOKED, booked_by_id=by.id,
                                   reminder_due_at=slot.starts_at - REMINDER_BEFORE)
        db.session.add(booking)
        action = "interviews.booked"
        before = None
    else:
        booking, before = current, current.slot_id
        booking.slot_id, booking.version = slot.id, booking.version + 1
        booking.reminder_due_at, booking.reminded_at = slot.starts_at - REMINDER_BEFORE, None
        action = "interviews.rescheduled"
    db.session.flush()
    record(action, booking, actor_id=by.id, call_id=stage.call_id, stage_id=stage.id, application_id=application.id,
           slot_id=slot.id, previous_slot_id=before, on_behalf=on_behalf, starts_at=slot.starts_at.isoformat())
    _confirm(stage, application, booking, slot)
    log.info("%s: booking %s of application %s in slot %s", action, booking.id, application.id, slot.id)
    return booking


def _candidate(application: Application) -> User:
    return db.session.get_one(User, application.applicant_id)


def _confirm(stage: SelectionStage, application: Application, booking: InterviewBooking,
             slot: InterviewSlot) -> None:
    """The confirmation email with the .ics invitation, once per booked time (the booking's version)."""
    call = db.session.get_one(Call, stage.call_id)
    candidate = _candidate(application)
    zone = viewer_zone(candidate, call.time_zone)
    locale = recipient_locale(candidate.email)
    queue_email(candidate.email, "interviews/confirmation",
                dedupe_key=f"interview-booking-{booking.id}-v{booking.version}",
                name=candidate.full_name, call_title=call.title, stage_name=stage.name,
                when=when_for(slot.starts_at, zone, call.time_zone, locale), duration=slot.duration_minutes,
                mode=slot.mode.value, location=slot.location,
                link=public_link(f"/interviews/{stage.id}"),
                attachments=[{"filename": "interview.ics", "content_type": "text/calendar",
                              "content": invitation_ics(booking, slot, stage, call, zone)}])


def cancel(booking: InterviewBooking, by: User, *, by_staff: bool = False) -> None:
    """Cancel a booking and free its place; candidates only until 24 hours before (staff until it starts)."""
    application = db.session.get_one(Application, booking.application_id)
    lock_row(Application, application.id)
    db.session.refresh(booking)
    if booking.status is not BookingStatus.BOOKED:
        raise DomainError(_("This booking is no longer active."))
    slot = db.session.get_one(InterviewSlot, booking.slot_id)
    now = utcnow()
    refusal = change_refusal(slot, now)
    if refusal and not (by_staff and slot.starts_at > now):
        raise DomainError(refusal)
    booking.status, booking.cancelled_at = BookingStatus.CANCELLED, now
    db.session.flush()
    _release_place(slot.id)
    db.session.expire(slot, ["booked_count"])
    record("interviews.cancelled", booking, actor_id=by.id, call_id=slot.call_id, stage_id=booking.stage_id,
           application_id=booking.application_id, slot_id=slot.id, by_staff=by_staff)
    log.info("booking %s cancelled", booking.id)


def mark_no_show(booking: InterviewBooking, by: User) -> None:
    """Record that the candidate did not come (once the interview has started): they get no interview score."""
    from fellowship.interviews.scoring import recompute_stage

    slot = db.session.get_one(InterviewSlot, booking.slot_id)
    if slot.starts_at > utcnow():
        raise DomainError(_("A no-show can be recorded once the interview has started."))
    marked = cast(CursorResult[Any], db.session.execute(
        update(InterviewBooking).where(InterviewBooking.id == booking.id,
                                       InterviewBooking.status == BookingStatus.BOOKED)
        .values(status=BookingStatus.NO_SHOW, updated_at=utcnow()).execution_options(synchronize_session=False)))
    if marked.rowcount != 1:
        raise DomainError(_("Only a booked interview can be marked as a no-show."))
    db.session.refresh(booking)
    record("interviews.no_show", booking, actor_id=by.id, call_id=slot.call_id, stage_id=booking.stage_id,
           application_id=booking.application_id, slot_id=slot.id)
    recompute_stage(db.session.get_one(SelectionStage, booking.stage_id))
    log.info("booking %s marked no-show", booking.id)


# --- Invitations and reminders ------------------------------------------------------------------------------------

def invite_shortlisted(shortlist: SelectionStage, advanced_ids: list[int]) -> int:
    """Email each shortlisted candidate a link to book a slot of the interview stage after this shortlist, once."""
    stages = stages_of(shortlist.call_id)
    following = [s for s in stages if s.position > shortlist.position]
    interview = next((s for s in following if s.kind is StageKind.INTERVIEW), None)
    if interview is None or any(s.kind is StageKind.SHORTLIST and s.position < interview.position
                                for s in following):
        return 0
    call = db.session.get_one(Call, shortlist.call_id)
    queued = 0
    if advanced_ids:
        for application_id, email, name, reference in db.session.execute(
                select(Application.id, User.email, User.full_name, Application.reference)
                .join(User, User.id == Application.applicant_id).where(Application.id.in_(sorted(advanced_ids)))):
            key = f"interview-{interview.id}-invite-{application_id}"
            if queue_email(email, "interviews/invitation", dedupe_key=key,
                           name=name, call_title=call.title, reference=reference, stage_name=interview.name,
                           link=public_link(f"/interviews/{interview.id}")):
                queued += 1
    log.info("%s interview invitations queued for stage %s", queued, interview.id)
    return queued


def send_due_reminders(now: datetime | None = None) -> int:
    """Queue the reminder of every booking whose reminder is due; each once (a conditional write claims it)."""
    now = now or utcnow()
    due = list(db.session.scalars(select(InterviewBooking.id).where(
        InterviewBooking.reminded_at.is_(None), InterviewBooking.reminder_due_at <= now,
        InterviewBooking.status == BookingStatus.BOOKED).order_by(InterviewBooking.id).limit(REMINDER_BATCH)))
    sent = 0
    for booking_id in due:
        claimed = cast(CursorResult[Any], db.session.execute(
            update(InterviewBooking).where(InterviewBooking.id == booking_id, InterviewBooking.reminded_at.is_(None),
                                           InterviewBooking.status == BookingStatus.BOOKED)
            .values(reminded_at=now).execution_options(synchronize_session=False)))
        if claimed.rowcount != 1:
            continue
        row = db.session.execute(
            select(InterviewBooking, InterviewSlot, Application, SelectionStage, Call)
            .join(InterviewSlot, InterviewSlot.id == InterviewBooking.slot_id)
            .join(Application, Application.id == InterviewBooking.application_id)
            .join(SelectionStage, SelectionStage.id == InterviewBooking.stage_id)
            .join(Call, Call.id == InterviewSlot.call_id)
            .where(InterviewBooking.id == booking_id)).one()
        booking, slot, application, stage, call = row
        if slot.starts_at <= now:  # the interview has begun: a reminder is no use any more
            continue
        candidate = _candidate(application)
        zone = viewer_zone(candidate, call.time_zone)
        queue_email(candidate.email, "interviews/reminder",
                    dedupe_key=f"interview-reminder-{booking.id}-v{booking.version}",
                    name=candidate.full_name, call_title=call.title, stage_name=stage.name,
                    when=when_for(slot.starts_at, zone, call.time_zone, recipient_locale(candidate.email)),
                    mode=slot.mode.value,
                    location=slot.location, link=public_link(f"/interviews/{stage.id}"))
        sent += 1
    if sent:
        log.info("%s interview reminders queued", sent)
    return sent


def bookings_of_slots(slot_ids: list[int]) -> dict[int, list[Any]]:
    """slot id -> its live bookings with the candidate's reference and name (one query for a page of slots)."""
    found: dict[int, list[Any]] = {}
    if slot_ids:
        for row in db.session.execute(
                select(InterviewBooking.id, InterviewBooking.slot_id, InterviewBooking.status,
                       InterviewBooking.application_id, Application.reference, Application.given_name,
                       Application.family_name)
                .join(Application, Application.id == InterviewBooking.application_id)
                .where(and_(InterviewBooking.slot_id.in_(slot_ids),
                            InterviewBooking.status != BookingStatus.CANCELLED))
                .order_by(InterviewBooking.id)):
            found.setdefault(row.slot_id, []).append(row)
    return found


@signals.stage_outcome_sent.connect
def _invite_to_book(stage: SelectionStage, advanced_ids: list[int] | None = None, **_kwargs: Any) -> None:
    """Staff sent a shortlist's outcome: those who advanced to an interview are emailed a link to book a slot."""
    invite_shortlisted(stage, list(advanced_ids or ()))
