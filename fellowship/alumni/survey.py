"""The follow-up survey answered through the emailed link, and the alumnus's own career entries."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from flask_babel import gettext as _
from sqlalchemy import CursorResult, Select, select, update

from fellowship.alumni.followups import LINK_MAX_AGE, LINK_SALT
from fellowship.alumni.models import CareerEntry, FollowUp, FollowUpResponse, FollowUpStatus, LeadershipLevel
from fellowship.applications.models import Sector
from fellowship.audit.services import record
from fellowship.auth import tokens
from fellowship.auth.models import User
from fellowship.errors import DomainError
from fellowship.extensions import db
from fellowship.fellows.models import Fellow, FellowStatus
from fellowship.locks import lock_row
from fellowship.models import utcnow
from fellowship.words import N_

log = logging.getLogger(__name__)

# Messages (English) translated where raised: `_(LINK_USED)`.
LINK_EXPIRED = N_("This follow-up link has expired. Ask the programme office for a new one, "
                  "or log in to update your career.")
LINK_USED = N_("This follow-up was already answered. Thank you!")
LINK_INVALID = N_("This link is not valid. Check that you copied the whole link from the email.")
LINK_FOR_SOMEONE_ELSE = N_("This follow-up link was sent to another person, and you are logged in with your own "
                           "account. Log out, then open the link from the email again.")


class FollowUpLinkProblem(DomainError):
    """The survey link cannot be used; the message says why."""


class FollowUpLinkForSomeoneElse(FollowUpLinkProblem):
    """The link was opened while logged in as another person than the alumnus it was sent to."""


@dataclass(frozen=True)
class CareerInput:
    """A position as entered in the survey or on the career page."""

    position: str
    organisation: str
    sector: Sector
    country: str
    environmental: bool
    leadership_level: LeadershipLevel

    def same_as(self, entry: CareerEntry | None) -> bool:
        return entry is not None and (
            entry.position.strip().casefold() == self.position.strip().casefold()
            and entry.organisation.strip().casefold() == self.organisation.strip().casefold()
            and entry.sector == self.sector and entry.country == self.country
            and entry.environmental == self.environmental and entry.leadership_level == self.leadership_level)


@dataclass(frozen=True)
class SurveyAnswer:
    """Everything the follow-up survey asks."""

    country_of_residence: str
    country_of_work: str
    career: CareerInput
    projects_led: int = 0
    policies_contributed: int = 0
    publications: int = 0
    people_trained: int = 0
    awards: int = 0
    collaboration_with_japan: bool = False
    achievements_text: str = ""
    directory_consent: bool = False


# --- The link ---------------------------------------------------------------------------------

def follow_up_for_token(token: str, visitor_id: int | None = None) -> FollowUp:
    """The follow-up this link answers, if it may still be used; else a readable FollowUpLinkProblem.

    The link works without an account; opened by someone logged in as another person it is refused, so nobody
    sees an alumnus's current position or answers in their name from their own session.
    """
    try:
        payload = tokens.read_token(LINK_SALT, token, LINK_MAX_AGE, _(LINK_EXPIRED))
    except tokens.TokenExpired:
        raise FollowUpLinkProblem(_(LINK_EXPIRED)) from None
    except DomainError:
        raise FollowUpLinkProblem(_(LINK_INVALID)) from None
    follow_up_id, nonce = payload.get("fid"), payload.get("n")
    if not isinstance(follow_up_id, int) or not isinstance(nonce, str):
        raise FollowUpLinkProblem(_(LINK_INVALID))
    follow_up = db.session.get(FollowUp, follow_up_id)
    if follow_up is None:
        raise FollowUpLinkProblem(_(LINK_INVALID))
    if follow_up.status is FollowUpStatus.COMPLETED:
        raise FollowUpLinkProblem(_(LINK_USED))
    if follow_up.link_nonce is None or not secrets.compare_digest(follow_up.link_nonce, nonce):
        raise FollowUpLinkProblem(_(LINK_INVALID))
    if visitor_id is not None:
        owner_id = db.session.scalar(select(Fellow.user_id).where(Fellow.id == follow_up.fellow_id))
        if owner_id != visitor_id:
            raise FollowUpLinkForSomeoneElse(_(LINK_FOR_SOMEONE_ELSE))
    return follow_up


# --- Careers ----------------------------------------------------------------------------------

def current_career_entry(fellow_id: int) -> CareerEntry | None:
    """The open-ended (current) position, the latest if several."""
    return db.session.scalar(
        select(CareerEntry).where(CareerEntry.fellow_id == fellow_id, CareerEntry.end_date.is_(None))
        .order_by(CareerEntry.id.desc()).limit(1))


def career_entries(fellow_id: int) -> Select[CareerEntry]:
    """The alumnus's positions, current first then the most recent, for paginate()."""
    return (select(CareerEntry).where(CareerEntry.fellow_id == fellow_id)
            .order_by(CareerEntry.end_date.is_not(None), CareerEntry.start_date.desc(), CareerEntry.id.desc()))


def add_career_entry(fellow: Fellow, career: CareerInput, *, follow_up_id: int | None = None,
                     today: date | None = None) -> CareerEntry | None:
    """Record the current position, closing the previous one; None when it is the same as the current one."""
    today = today or utcnow().date()
    lock_row(Fellow, fellow.id)  # two positions added at once: the second closes the first, not the same old one
    current = current_career_entry(fellow.id)
    if career.same_as(current):
        return None
    if current is not None:
        current.end_date = today
    entry = CareerEntry(fellow_id=fellow.id, position=career.position.strip(),
                        organisation=career.organisation.strip(), sector=career.sector, country=career.country,
                        start_date=today, end_date=None, environmental=career.environmental,
                        leadership_level=career.leadership_level, follow_up_id=follow_up_id)
    db.session.add(entry)
    db.session.flush()
    record("alumni.career_added", entry, fellow_id=fellow.id, follow_up_id=follow_up_id,
           closed_entry_id=current.id if current else None)
    return entry


def set_directory_consent(fellow: Fellow, consent: bool) -> None:
    """Agree (or no longer agree) to appear in the alumni directory."""
    if fellow.directory_opt_in != consent:
        fellow.directory_opt_in = consent
        db.session.flush()
        record("alumni.directory_consent", fellow, consent=consent)


def alumnus_for_user(user: User) -> Fellow | None:
    """The user's alumnus record (a completed fellowship), the latest if several; None if they are not one."""
    return db.session.scalar(
        select(Fellow).where(Fellow.user_id == user.id, Fellow.status == FellowStatus.COMPLETED)
        .order_by(Fellow.id.desc()).limit(1))


# --- Answering --------------------------------------------------------------------------------

def submit_follow_up(token: str, answer: SurveyAnswer, *, now: datetime | None = None,
                     visitor_id: int | None = None) -> FollowUpResponse:
    """Store the answer, the current position and directory consent; the link is used up; contact is recovered."""
    now = now or utcnow()
    follow_up = follow_up_for_token(token, visitor_id)
    # Claiming the link is one conditional UPDATE, so two submissions at once cannot both count.
    claimed = cast(CursorResult[Any], db.session.execute(
        update(FollowUp)
        .where(FollowUp.id == follow_up.id, FollowUp.link_nonce == follow_up.link_nonce,
               FollowUp.status != FollowUpStatus.COMPLETED)
        .values(status=FollowUpStatus.COMPLETED, completed_at=now, link_nonce=None)
        .execution_options(synchronize_session=False))).rowcount
    if not claimed:
        raise FollowUpLinkProblem(_(LINK_USED))
    return _record_answer(follow_up, answer, now)


def _record_answer(follow_up: FollowUp, answer: SurveyAnswer, now: datetime) -> FollowUpResponse:
    """The answer of a follow-up just claimed (by its link or in the app): the response, the current position,
    directory consent; contact is recovered."""
    db.session.refresh(follow_up)
    fellow = db.session.get_one(Fellow, follow_up.fellow_id)
    response = FollowUpResponse(
        follow_up_id=follow_up.id, fellow_id=fellow.id, country_of_residence=answer.country_of_residence,
        country_of_work=answer.country_of_work, projects_led=answer.projects_led,
        policies_contributed=answer.policies_contributed, publications=answer.publications,
        people_trained=answer.people_trained, awards=answer.awards,
        collaboration_with_japan=answer.collaboration_with_japan, achievements_text=answer.achievements_text.strip(),
        directory_consent=answer.directory_consent, extra={}, submitted_at=now)
    db.session.add(response)
    entry = add_career_entry(fellow, answer.career, follow_up_id=follow_up.id, today=now.date())
    recovered = fellow.lost_contact_since is not None
    fellow.lost_contact_since = None
    set_directory_consent(fellow, answer.directory_consent)
    db.session.flush()
    record("alumni.follow_up_answered", follow_up, fellow_id=fellow.id, months=follow_up.months_after_return,
           career_entry_id=entry.id if entry else None, recovered=recovered, actor_id=fellow.user_id)
    log.info("follow-up %s answered by fellow %s%s", follow_up.id, fellow.id,
             " (contact recovered)" if recovered else "")
    return response


# --- Answering in the app ("My surveys") -------------------------------------------------------------------------

#: Follow-ups sent and not answered yet: a logged-in alumnus answers them from "My surveys", without the emailed link
#: (a lapsed one too: answering it recovers the contact, as the link does).
WAITING = (FollowUpStatus.SENT, FollowUpStatus.REMINDED, FollowUpStatus.OVERDUE, FollowUpStatus.LAPSED)


def waiting_follow_ups(user_id: int) -> list[FollowUp]:
    """The user's follow-ups waiting for an answer (any of their fellowships), the oldest due first; one query."""
    return list(db.session.scalars(
        select(FollowUp).join(Fellow, Fellow.id == FollowUp.fellow_id)
        .where(Fellow.user_id == user_id, FollowUp.status.in_(WAITING))
        .order_by(FollowUp.due_on, FollowUp.id)))


def own_follow_up(follow_up_id: int, user_id: int) -> FollowUp | None:
    """The follow-up if it was sent to this user (answered or not, but never one still scheduled); else None."""
    return db.session.scalar(
        select(FollowUp).join(Fellow, Fellow.id == FollowUp.fellow_id)
        .where(FollowUp.id == follow_up_id, Fellow.user_id == user_id,
               FollowUp.status != FollowUpStatus.SCHEDULED))


def submit_own_follow_up(follow_up: FollowUp, answer: SurveyAnswer, *, now: datetime | None = None
                         ) -> FollowUpResponse:
    """Answer the logged-in alumnus's own follow-up (the view checked ownership with `own_follow_up`).

    Claimed as the emailed link claims it: one conditional UPDATE, so an answer sent at the same moment through the
    link (or a second tab) cannot also count; the link stops working."""
    now = now or utcnow()
    claimed = cast(CursorResult[Any], db.session.execute(
        update(FollowUp)
        .where(FollowUp.id == follow_up.id, FollowUp.status.in_(WAITING))
        .values(status=FollowUpStatus.COMPLETED, completed_at=now, link_nonce=None)
        .execution_options(synchronize_session=False))).rowcount
    if not claimed:
        raise FollowUpLinkProblem(_(LINK_USED))
    return _record_answer(follow_up, answer, now)
