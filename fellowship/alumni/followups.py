"""Follow-ups after return home: scheduling, and the daily job that sends, reminds, marks overdue and lapses.

Every state change in the daily job is a conditional UPDATE (`... WHERE id IN batch AND status = from`), and
every email carries an outbox dedupe key, so two runs the same day, or two beat processes at the same moment,
never move a row twice nor email anyone twice.
"""

from __future__ import annotations

import calendar
import logging
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

from flask_babel import force_locale, ngettext
from sqlalchemy import ColumnElement, CursorResult, and_, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from fellowship.alumni.models import FollowUp, FollowUpStatus
from fellowship.audit.services import record
from fellowship.auth import tokens
from fellowship.auth.models import Role, User, UserRole
from fellowship.calls.models import Call
from fellowship.extensions import db
from fellowship.fellows.models import Fellow
from fellowship.models import utcnow
from fellowship.notifications.services import public_link, queue_email, recipient_locale

log = logging.getLogger(__name__)

#: Reminders go out this many days after the follow-up was sent (one email each, the latest due only).
REMINDER_DAYS: tuple[int, ...] = (7, 21)
#: Unanswered this many days after sending (after the last reminder): overdue, shown to staff.
OVERDUE_AFTER_DAYS = 35
#: Unanswered this many days after sending: lapsed, and the alumnus is flagged lost-contact.
LAPSE_AFTER_DAYS = 90
#: The emailed survey link works this long (longer than LAPSE_AFTER_DAYS: a late answer still counts).
LINK_MAX_AGE = 120 * 24 * 3600
LINK_SALT = "fellowship.alumni-follow-up"
BATCH_SIZE = 1000
#: Staff page the digest links to (the fellows area's overdue list).
OVERDUE_PATH = "/staff/alumni/overdue"

_OPEN = (FollowUpStatus.SENT, FollowUpStatus.REMINDED)


# --- Scheduling -------------------------------------------------------------------------------

def add_months(start: date, months: int) -> date:
    """`start` plus whole months, same day of the month clamped to the month's last day (31 Aug + 6 → 28/29 Feb)."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def followup_months_for(fellow: Fellow) -> list[int]:
    """The programme's follow-up schedule (months after return) for the fellow's cohort."""
    call = db.session.get_one(Call, fellow.call_id)
    return sorted({int(m) for m in call.programme.followup_months if int(m) > 0})


def schedule_follow_ups(fellow: Fellow) -> int:
    """Create the alumnus's missing follow-ups at return + N months; returns how many were added.

    Idempotent: the unique (fellow, months) key decides, also against a concurrent call. Follow-ups not
    sent yet move with a corrected return date; those already sent keep theirs.
    """
    if fellow.actual_return_date is None:
        return 0
    returned = fellow.actual_return_date
    months = followup_months_for(fellow)
    existing = dict(db.session.execute(
        select(FollowUp.months_after_return, FollowUp.id).where(FollowUp.fellow_id == fellow.id)).all())
    missing = [m for m in months if m not in existing]
    added = 0
    if missing:
        insert = postgresql_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
        for month in missing:
            new_id = db.session.scalar(
                insert(FollowUp).values(fellow_id=fellow.id, months_after_return=month,
                                        due_on=add_months(returned, month), status=FollowUpStatus.SCHEDULED,
                                        reminders_sent=0)
                .on_conflict_do_nothing(index_elements=["fellow_id", "months_after_return"])
                .returning(FollowUp.id))
            added += new_id is not None
    for month, follow_up_id in existing.items():
        db.session.execute(
            update(FollowUp)
            .where(FollowUp.id == follow_up_id, FollowUp.status == FollowUpStatus.SCHEDULED,
                   FollowUp.due_on != add_months(returned, month))
            .values(due_on=add_months(returned, month))
            .execution_options(synchronize_session=False))
    db.session.flush()
    if added:
        record("alumni.follow_ups_scheduled", fellow, months=missing, returned_on=returned.isoformat())
        log.info("fellow %s: %s follow-ups scheduled", fellow.id, added)
    return added


# --- Links ------------------------------------------------------------------------------------

def follow_up_token(follow_up_id: int, nonce: str) -> str:
    return tokens.make_token(LINK_SALT, {"fid": follow_up_id, "n": nonce})


def follow_up_link(follow_up_id: int, nonce: str) -> str:
    """The absolute personal survey link (no password needed; works until answered or LINK_MAX_AGE)."""
    return public_link(f"/follow-up/{follow_up_token(follow_up_id, nonce)}")


def period_label(months: int) -> str:
    """'6 months', '1 year', '5 years'."""
    if months % 12:
        return ngettext("%(num)d month", "%(num)d months", months)
    return ngettext("%(num)d year", "%(num)d years", months // 12)


# --- The daily job ----------------------------------------------------------------------------

@dataclass(frozen=True)
class DailySummary:
    sent: int = 0
    reminded: int = 0
    overdue: int = 0
    lapsed: int = 0
    lost_contact: int = 0
    digest_sent: bool = False


def _batches(condition: ColumnElement[bool], batch_size: int) -> Iterator[list[int]]:
    """Ids matching `condition`, a batch at a time, by keyset on id: never the whole table in memory."""
    after_id = 0
    while True:
        ids = list(db.session.scalars(
            select(FollowUp.id).where(condition, FollowUp.id > after_id).order_by(FollowUp.id).limit(batch_size)))
        if not ids:
            return
        after_id = ids[-1]
        yield ids
        if len(ids) < batch_size:
            return


def _claim(ids: Sequence[int], condition: ColumnElement[bool], values: dict[str, Any]) -> list[int]:
    """Move the rows still matching `condition` (one conditional UPDATE); the ids this process moved."""
    return list(db.session.scalars(
        update(FollowUp).where(FollowUp.id.in_(ids), condition).values(**values)
        .returning(FollowUp.id).execution_options(synchronize_session=False)))


def _recipients(ids: Sequence[int]) -> list[Any]:
    """One row per follow-up: its id, months, nonce, and the alumnus's email, name and language (one query)."""
    return list(db.session.execute(
        select(FollowUp.id, FollowUp.months_after_return, FollowUp.link_nonce, User.email, User.full_name,
               User.locale)
        .join(Fellow, FollowUp.fellow_id == Fellow.id).join(User, Fellow.user_id == User.id)
        .where(FollowUp.id.in_(ids)).order_by(FollowUp.id)))


def _email(row: Any, template: str, step: str) -> bool:
    locale = recipient_locale(row.email, row.locale)
    with force_locale(locale):  # "6 months" in the alumnus's language, as the rest of the email
        period = period_label(row.months_after_return)
    message = queue_email(row.email, template, dedupe_key=f"followup:{row.id}:{step}", locale=locale,
                          name=row.full_name, period=period, survey_url=follow_up_link(row.id, row.link_nonce))
    return message is not None


def _send_due(now: datetime, batch_size: int) -> int:
    due = and_(FollowUp.status == FollowUpStatus.SCHEDULED, FollowUp.due_on <= now.date())
    sent = 0
    for ids in _batches(due, batch_size):
        claimed = _claim(ids, FollowUp.status == FollowUpStatus.SCHEDULED,
                         {"status": FollowUpStatus.SENT, "sent_at": now})
        if claimed:
            # Only the process that claimed a row writes its nonce; one executemany by primary key.
            db.session.execute(update(FollowUp), [{"id": i, "link_nonce": secrets.token_urlsafe(16)}
                                                  for i in claimed])
            sent += sum(_email(row, "alumni/followup_invitation", "sent") for row in _recipients(claimed))
        db.session.commit()
    return sent


def _remind(now: datetime, batch_size: int) -> int:
    reminded = 0
    # Latest reminder first: a run that missed days sends only the reminder due now, never two at once.
    for number in range(len(REMINDER_DAYS), 0, -1):
        window = and_(FollowUp.status.in_(_OPEN), FollowUp.reminders_sent < number,
                      FollowUp.sent_at <= now - timedelta(days=REMINDER_DAYS[number - 1]))
        for ids in _batches(window, batch_size):
            claimed = _claim(ids, and_(FollowUp.status.in_(_OPEN), FollowUp.reminders_sent < number),
                             {"status": FollowUpStatus.REMINDED, "reminders_sent": number, "last_reminded_at": now})
            reminded += sum(_email(row, "alumni/followup_reminder", f"reminder{number}")
                            for row in _recipients(claimed))
            db.session.commit()
    return reminded


def _mark_overdue(now: datetime, batch_size: int) -> int:
    late = and_(FollowUp.status.in_(_OPEN), FollowUp.sent_at <= now - timedelta(days=OVERDUE_AFTER_DAYS))
    overdue = 0
    for ids in _batches(late, batch_size):
        overdue += len(_claim(ids, FollowUp.status.in_(_OPEN), {"status": FollowUpStatus.OVERDUE, "overdue_at": now}))
        db.session.commit()
    return overdue


def _lapse(now: datetime, batch_size: int) -> tuple[int, int]:
    waiting = (*_OPEN, FollowUpStatus.OVERDUE)
    old = and_(FollowUp.status.in_(waiting), FollowUp.sent_at <= now - timedelta(days=LAPSE_AFTER_DAYS))
    lapsed = lost = 0
    for ids in _batches(old, batch_size):
        claimed = _claim(ids, FollowUp.status.in_(waiting),
                         {"status": FollowUpStatus.LAPSED, "lapsed_at": now,
                          "overdue_at": func.coalesce(FollowUp.overdue_at, now)})
        if claimed:
            lapsed += len(claimed)
            lost += cast(CursorResult[Any], db.session.execute(
                update(Fellow)
                .where(Fellow.id.in_(select(FollowUp.fellow_id).where(FollowUp.id.in_(claimed))),
                       Fellow.lost_contact_since.is_(None))
                .values(lost_contact_since=now).execution_options(synchronize_session=False))).rowcount
        db.session.commit()
    return lapsed, lost


def _send_digest(now: datetime, overdue: int, lapsed: int, lost: int) -> bool:
    """One email per staff member per day with what needs attention; nothing when nothing changed."""
    if not (overdue or lapsed or lost):
        return False
    totals = {
        "overdue_total": db.session.scalar(select(func.count()).select_from(FollowUp)
                                           .where(FollowUp.status == FollowUpStatus.OVERDUE)) or 0,
        "lost_contact_total": db.session.scalar(select(func.count()).select_from(Fellow)
                                                .where(Fellow.lost_contact_since.is_not(None))) or 0,
    }
    staff = db.session.execute(
        select(User.id, User.email, User.full_name).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == Role.STAFF, User.is_active_account.is_(True)).order_by(User.id)).all()
    day = now.date().isoformat()
    queued = 0
    for user_id, email, name in staff:
        queued += queue_email(email, "alumni/followup_digest", dedupe_key=f"followup-digest:{day}:{user_id}",
                              name=name, day=day, newly_overdue=overdue, newly_lapsed=lapsed, newly_lost=lost,
                              overdue_url=public_link(OVERDUE_PATH), locale=None, **totals) is not None
    db.session.commit()
    return queued > 0


def run_daily(now: datetime | None = None, batch_size: int = BATCH_SIZE) -> DailySummary:
    """Lapse, mark overdue, remind, send what is due, then email staff the day's digest.

    Unlike most services this one COMMITS, after every batch: it is a job's unit of work, so memory and
    locks stay small at any size, and a crash loses one batch at most (the next run picks it up). Call it
    with nothing pending in the session. Safe to run twice, or in two processes at once.
    Steps run from the latest stage back, so a row moves at most one stage per run.
    """
    now = now or utcnow()
    lapsed, lost = _lapse(now, batch_size)
    overdue = _mark_overdue(now, batch_size)
    reminded = _remind(now, batch_size)
    sent = _send_due(now, batch_size)
    digest = _send_digest(now, overdue, lapsed, lost)
    summary = DailySummary(sent=sent, reminded=reminded, overdue=overdue, lapsed=lapsed, lost_contact=lost,
                           digest_sent=digest)
    if sent or reminded or overdue or lapsed or digest:
        record("alumni.follow_ups_daily_run", None, day=now.date().isoformat(), sent=sent, reminded=reminded,
               overdue=overdue, lapsed=lapsed, lost_contact=lost, digest_sent=digest)
        db.session.commit()
    log.info("follow-ups daily run: %s", summary)
    return summary
