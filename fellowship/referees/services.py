"""Referees: named by the applicant, invited by email, upload one letter through a single-use link."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, cast

from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from sqlalchemy import CursorResult, Select, delete, func, select, update
from sqlalchemy.orm import joinedload
from werkzeug.datastructures import FileStorage

from fellowship.applications.models import Application, ApplicationStatus, Document, Referee, RefereeStatus
from fellowship.audit.services import record
from fellowship.auth import tokens
from fellowship.auth.models import User
from fellowship.calls.models import Call, CallStatus, DocumentKind
from fellowship.documents.services import save_validated
from fellowship.documents.validation import validate_upload
from fellowship.errors import DomainError
from fellowship.extensions import db
from fellowship.i18n.services import check_locale
from fellowship.locks import lock_row
from fellowship.models import utcnow
from fellowship.notifications.services import public_link, queue_email
from fellowship.timezones import format_in_zone
from fellowship.words import N_

log = logging.getLogger(__name__)

LETTER_SALT = "fellowship.referee-letter"
#: A hard cap on any link's age; the call's deadline, checked on every use, normally ends it sooner.
LINK_MAX_AGE = 400 * 24 * 3600
#: Referees may be named (and letters arrive) while the application is in one of these states.
OPEN_STATUSES = (ApplicationStatus.DRAFT, ApplicationStatus.SUBMITTED)
#: At least this many referees may be named, or the call's requirement plus two spares.
MIN_REFEREE_LIMIT = 5

REMINDER_INTERVAL = timedelta(days=7)
FINAL_REMINDER_BEFORE = timedelta(days=2)
#: Never two emails to the same referee closer together than this (the daily job may drift a little).
MIN_REMINDER_GAP = timedelta(hours=20)
#: A referee invited at shortlist (after the call's deadline) has this long from the invitation to upload the letter.
LETTER_DAYS_AT_SHORTLIST = timedelta(days=14)
REMINDER_BATCH = 200

# Messages (English) translated where raised: `_(LINK_USED)`.
DEADLINE_PASSED = N_("The deadline for this application has passed.")
LINK_USED = N_("This link has already been used — the letter was received. Thank you.")
LINK_REVOKED = N_("This link is no longer valid. The applicant may have removed you as a referee.")
LINK_FOR_THE_REFEREE = N_("This link is for your referee, %(name)s: a reference letter must come from the referee "
                          "themselves, so it cannot be uploaded from your account. If they did not receive the "
                          "email, check their address on your referees page or write to the programme office.")
APPLICATION_CLOSED = N_("This application has been withdrawn or closed; no letter is needed.")


class LetterLinkProblem(DomainError):
    """The referee's link cannot be used; the message says why."""


class LetterLinkForTheReferee(LetterLinkProblem):
    """The link was opened by the applicant the letter is about."""


LETTER_ARRIVED = N_("This referee's letter has arrived; the referee cannot be removed.")


# --- The applicant's side ---------------------------------------------------------------------

def referee_limit(call: Call) -> int:
    return max(MIN_REFEREE_LIMIT, call.references_required + 2)


def referees_locked_reason(application: Application, *, removing: bool = False) -> str | None:
    """Why the applicant cannot add (or, with `removing`, remove) referees now, or None."""
    if utcnow() >= application.call.closes_at:
        return _("The deadline has passed; referees can no longer be changed.")
    if application.status not in OPEN_STATUSES:
        return _("This application is closed; referees can no longer be changed.")
    if removing and application.status is not ApplicationStatus.DRAFT:
        return _("This application has been submitted; referees can no longer be removed (you may still add one).")
    return None


def referees_for_application(application_id: int) -> Select[Referee]:
    """The application's referees in the order they were named, for paginate()."""
    return select(Referee).where(Referee.application_id == application_id).order_by(Referee.id)


def referee_summary(application: Application) -> tuple[int, int]:
    """(referees named, letters received) for the application, in one query."""
    named, received = db.session.execute(select(*referee_count_columns(application.id))).one()
    return int(named), int(received)


def referee_count_columns(application_id: Any) -> tuple[Any, Any]:
    """(referees named, letters received) as two columns, for a caller's own SELECT (`application_id`: an id, or a
    bound parameter of a statement built once)."""
    named = select(func.count(Referee.id)).where(Referee.application_id == application_id)
    received = named.where(Referee.status == RefereeStatus.RECEIVED)
    return named.scalar_subquery().label("referees_named"), received.scalar_subquery().label("letters_received")


def add_referee(application: Application, name: str, email: str, relation: str, locale: str = "en") -> Referee:
    """Name a referee and queue their invitation; allowed until the deadline, also after submission.

    Under the application's row lock, so referees named at the same moment are counted against the limit in turn.
    """
    lock_row(Application, application.id)
    db.session.refresh(application, ["status"])
    reason = referees_locked_reason(application)
    if reason:
        raise DomainError(reason)
    email = email.strip().lower()
    applicant = db.session.get_one(User, application.applicant_id)
    if email == applicant.email:
        raise DomainError(_("Your referee must be someone else; use their email address, not yours."))
    existing = db.session.scalar(
        select(Referee.id).where(Referee.application_id == application.id, Referee.email == email))
    if existing is not None:
        raise DomainError(_("You have already named a referee with this email address."))
    named, _received = referee_summary(application)
    limit = referee_limit(application.call)
    if named >= limit:
        raise DomainError(ngettext("You can name at most %(num)d referee. Remove one who has not sent a letter first.",
                                   "You can name at most %(num)d referees. Remove one who has not sent a letter "
                                   "first.", limit))
    locale = check_locale(locale)
    # A call that asks for references at shortlist invites the referee only once the candidate is shortlisted
    # (invite_named_referees): until then the referee is named, with no link (invited_at and link_nonce unset).
    at_shortlist = application.call.references_at_shortlist
    referee = Referee(application_id=application.id, name=name.strip(), email=email, relation=relation.strip(),
                      locale=locale, status=RefereeStatus.INVITED, reminders_sent=0,
                      link_nonce=None if at_shortlist else secrets.token_urlsafe(16),
                      invited_at=None if at_shortlist else utcnow())
    db.session.add(referee)
    db.session.flush()
    if not at_shortlist:
        _email_referee(referee, application, "referees/invitation")
    record("referees.added", referee, application_id=application.id, email=email)
    log.info("referee %s added to application %s", referee.id, application.id)
    return referee


def remove_referee(referee: Referee) -> None:
    """Take back an invitation whose letter has not arrived; its link stops working.

    The DELETE is conditional on the letter still being awaited: a letter arriving at the same moment (its
    upload claims the link by a conditional UPDATE) either came first, and the referee stays, or comes too late.
    """
    if referee.status is RefereeStatus.RECEIVED:
        raise DomainError(_(LETTER_ARRIVED))
    reason = referees_locked_reason(referee.application, removing=True)
    if reason:
        raise DomainError(reason)
    removed = cast(CursorResult[Any], db.session.execute(
        delete(Referee).where(Referee.id == referee.id, Referee.status == RefereeStatus.INVITED)
        .execution_options(synchronize_session=False))).rowcount
    if not removed:
        raise DomainError(_(LETTER_ARRIVED))
    record("referees.removed", referee, application_id=referee.application_id, email=referee.email)
    db.session.expunge(referee)
    db.session.flush()


def invite_named_referees(application_ids: list[int]) -> int:
    """Invite the named, not yet invited referees of these (just shortlisted) applications; the number invited.

    Each referee is claimed by a conditional UPDATE (invited_at IS NULL), so a second call invites nobody twice.
    """
    if not application_ids:
        return 0
    now = utcnow()
    invited = 0
    named = db.session.scalars(
        select(Referee.id).where(Referee.application_id.in_(sorted(application_ids)), Referee.invited_at.is_(None),
                                 Referee.status == RefereeStatus.INVITED).order_by(Referee.id)).all()
    for referee_id in named:
        claimed = cast(CursorResult[Any], db.session.execute(
            update(Referee).where(Referee.id == referee_id, Referee.invited_at.is_(None))
            .values(invited_at=now, link_nonce=secrets.token_urlsafe(16))
            .execution_options(synchronize_session=False))).rowcount
        if not claimed:
            continue
        referee = db.session.get_one(Referee, referee_id)
        db.session.refresh(referee)
        _email_referee(referee, referee.application, "referees/invitation", dedupe_key=f"referee-invite-{referee_id}")
        record("referees.invited_at_shortlist", referee, application_id=referee.application_id, email=referee.email)
        invited += 1
    log.info("%s referees of %s shortlisted applications invited", invited, len(application_ids))
    return invited


def _letters_at_shortlist(referee: Referee) -> bool:
    """A referee invited at shortlist writes after the deadline, while the candidate is still under review."""
    application = referee.application
    return (application.call.references_at_shortlist and referee.invited_at is not None
            and application.status is ApplicationStatus.UNDER_REVIEW)


def letter_link(referee: Referee) -> str:
    """The absolute single-use upload link for the referee's current nonce."""
    token = tokens.make_token(LETTER_SALT, {"rid": referee.id, "n": referee.link_nonce})
    return public_link(f"/referee/{token}")


def deadline_text(call: Call) -> str:
    return format_in_zone(call.closes_at, call.time_zone)


def letter_due_text(referee: Referee, application: Application) -> str:
    """When the letter is due: the call's deadline, or for a referee invited at shortlist (the deadline has
    passed) LETTER_DAYS_AT_SHORTLIST after the invitation, in the programme's zone."""
    call = application.call
    if call.references_at_shortlist and referee.invited_at is not None and referee.invited_at >= call.closes_at:
        return format_in_zone(referee.invited_at + LETTER_DAYS_AT_SHORTLIST, call.time_zone)
    return deadline_text(call)


def _email_referee(referee: Referee, application: Application, template: str, *,
                   dedupe_key: str | None = None) -> bool:
    """Queue an invitation or reminder in the referee's language; False when the dedupe key was already used."""
    with force_locale(referee.locale or "en"):  # the deadline and the call's title read in the referee's language
        deadline, call_title = letter_due_text(referee, application), application.call.title
    message = queue_email(
        referee.email, template, dedupe_key=dedupe_key, locale=referee.locale, referee_name=referee.name,
        applicant_name=application.display_name, call_title=call_title,
        relation=referee.relation, deadline=deadline, letter_url=letter_link(referee),
        programme_note=(application.call.email_texts or {}).get("referee_invitation"))
    return message is not None


def change_referee_locale(referee: Referee, locale: str) -> None:
    """Write to the referee in another language from now on (their reminders)."""
    referee.locale = check_locale(locale)
    record("referees.locale_changed", referee, application_id=referee.application_id, locale=referee.locale)
    db.session.flush()


# --- The referee's side -----------------------------------------------------------------------

def referee_for_token(token: str, visitor_id: int | None = None) -> Referee:
    """The referee whose link this is, if it may still be used; else a readable LetterLinkProblem.

    The link works without an account; opened by the applicant the letter is about, it is refused (a letter they
    uploaded themselves would count as the referee's).
    """
    try:
        payload = tokens.read_token(LETTER_SALT, token, LINK_MAX_AGE, _(DEADLINE_PASSED))
    except DomainError as exc:
        raise LetterLinkProblem(str(exc)) from None
    referee_id, nonce = payload.get("rid"), payload.get("n")
    if not isinstance(referee_id, int) or not isinstance(nonce, str):
        raise LetterLinkProblem(_("This link is not valid. Check that you copied the whole link."))
    referee = db.session.scalar(
        select(Referee).options(joinedload(Referee.application)).where(Referee.id == referee_id))
    if referee is None:
        raise LetterLinkProblem(_(LINK_REVOKED))
    if visitor_id is not None and visitor_id == referee.application.applicant_id:
        raise LetterLinkForTheReferee(_(LINK_FOR_THE_REFEREE, name=referee.name))
    if referee.link_nonce is None and referee.status is RefereeStatus.RECEIVED:
        raise LetterLinkProblem(_(LINK_USED))
    if referee.link_nonce is None or not secrets.compare_digest(referee.link_nonce, nonce):
        raise LetterLinkProblem(_(LINK_REVOKED))
    if _letters_at_shortlist(referee):
        return referee
    if referee.application.status not in OPEN_STATUSES:
        raise LetterLinkProblem(_(APPLICATION_CLOSED))
    if utcnow() >= referee.application.call.closes_at:
        raise LetterLinkProblem(_(DEADLINE_PASSED))
    return referee


def receive_letter(token: str, upload: FileStorage | None, visitor_id: int | None = None) -> Document:
    """Store the referee's letter, use up the link, and tell the applicant (without the letter)."""
    referee = referee_for_token(token, visitor_id)
    application = referee.application
    checked = validate_upload(upload, DocumentKind.REFERENCE_LETTER)
    now = utcnow()
    # Claiming the link is one conditional UPDATE, so two uploads at once cannot both succeed.
    claimed = cast(CursorResult[Any], db.session.execute(
        update(Referee)
        .where(Referee.id == referee.id, Referee.link_nonce == referee.link_nonce,
               Referee.status == RefereeStatus.INVITED)
        .values(status=RefereeStatus.RECEIVED, received_at=now, link_nonce=None)
        .execution_options(synchronize_session=False)
    )).rowcount
    if not claimed:
        raise LetterLinkProblem(_(LINK_USED))
    db.session.refresh(referee)
    document = save_validated(application, DocumentKind.REFERENCE_LETTER, checked, referee=referee)
    applicant = db.session.get_one(User, application.applicant_id)
    queue_email(applicant.email, "referees/letter_received", name=applicant.full_name,
                referee_name=referee.name, call_title=application.call.title,
                referees_url=public_link(f"/applications/{application.id}/referees"))
    record("referees.letter_received", referee, application_id=application.id, document_id=document.id)
    log.info("reference letter from referee %s received for application %s", referee.id, application.id)
    return document


# --- Reminders --------------------------------------------------------------------------------

def due_reminder(referee: Referee, call: Call, now: datetime) -> str | None:
    """Which reminder is due now ("1", "2", ... weekly, or "final" two days before the deadline), if any.

    Reminders follow the calendar, not the count sent: a run missed for a week sends the current
    one only, and each has a name of its own, used in the outbox dedupe key.
    """
    if referee.status is not RefereeStatus.INVITED or referee.invited_at is None or now >= call.closes_at:
        return None
    if now - (referee.last_reminded_at or referee.invited_at) < MIN_REMINDER_GAP:
        return None
    if now >= call.closes_at - FINAL_REMINDER_BEFORE:
        return "final"
    week = (now - referee.invited_at) // REMINDER_INTERVAL
    if week < 1:
        return None
    if referee.last_reminded_at and referee.last_reminded_at >= referee.invited_at + week * REMINDER_INTERVAL:
        return None  # this week's reminder went out already
    return str(week)


def _reminder_candidates(now: datetime, after_id: int, limit: int) -> list[int]:
    """Ids of invited referees of open applications in calls still open, from the call side (indexed)."""
    return list(db.session.scalars(
        select(Referee.id)
        .join(Application, Referee.application_id == Application.id)
        .join(Call, Application.call_id == Call.id)
        .where(Call.status == CallStatus.OPEN, Call.closes_at > now, Application.status.in_(OPEN_STATUSES),
               Referee.status == RefereeStatus.INVITED, Referee.invited_at <= now - MIN_REMINDER_GAP,
               Referee.id > after_id)
        .order_by(Referee.id)
        .limit(limit)
    ))


def send_reminders(now: datetime | None = None, *, batch_size: int = REMINDER_BATCH,
                   after_batch: Callable[[], None] | None = None) -> int:
    """Queue the reminders due now, batch by batch; returns how many were queued.

    `after_batch` (the task passes a commit) runs after each batch. Each reminder has a dedupe
    key, so two runs on the same day, or at the same moment, queue it once.
    """
    now = now or utcnow()
    queued = 0
    after_id = 0
    while ids := _reminder_candidates(now, after_id, batch_size):
        after_id = ids[-1]
        referees = db.session.scalars(
            select(Referee).options(joinedload(Referee.application)).where(Referee.id.in_(ids))
            .order_by(Referee.id)
        ).all()
        for referee in referees:
            which = due_reminder(referee, referee.application.call, now)
            if which is None:
                continue
            if _email_referee(referee, referee.application, "referees/reminder",
                              dedupe_key=f"referee-reminder:{referee.id}:{which}"):
                referee.reminders_sent += 1
                referee.last_reminded_at = now
                record("referees.reminded", referee, application_id=referee.application_id, reminder=which)
                queued += 1
        db.session.flush()
        if after_batch is not None:
            after_batch()
        if len(ids) < batch_size:
            break
    if queued:
        log.info("referee reminders: %s queued", queued)
    return queued
