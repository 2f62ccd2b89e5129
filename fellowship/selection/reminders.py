"""Reminders to reviewers of every review round (the call's first and its later ones): one service, one beat job.

An unsubmitted review is reminded three days before its due date, then weekly once overdue. Each assignment has
one reminder per window ("<due epoch>:before", "<due epoch>:overdue-<n>"): the job claims the window with one
conditional UPDATE (`reminded_window IS DISTINCT FROM :window`), so two beats, or a job run twice, claim it once;
the claimed assignments are then grouped into one email per reviewer, round and due date, queued through the
outbox in the reviewer's language (with a dedupe key as the outbox's own guard). A due date moved by staff opens
new windows. Conflicted assignments (hidden from the reviewer) and rounds whose call is past reviewing are skipped.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, and_, exists, select, update

from fellowship.audit.services import record
from fellowship.auth.models import User
from fellowship.calls.models import Call, CallStatus
from fellowship.extensions import db
from fellowship.models import utcnow
from fellowship.notifications.services import public_link, queue_email
from fellowship.selection.assignment import REVIEWS_PATH
from fellowship.selection.models import (
    Assignment,
    AssignmentStatus,
    Conflict,
    Review,
    ReviewStatus,
    SelectionStage,
    StageAssignment,
    StageReview,
)
from fellowship.selection.review_rounds import ROUNDS_PATH, round_title
from fellowship.timezones import format_for_viewer

log = logging.getLogger(__name__)

#: The first reminder goes this long before the due date; overdue ones then weekly.
REMIND_BEFORE = timedelta(days=3)
OVERDUE_EVERY_DAYS = 7
#: Calls whose reviewers are reminded (before decisions).
REMINDED_CALL_STATUSES = (CallStatus.CLOSED, CallStatus.REVIEWING)


def reminder_kind(due_at: datetime, now: datetime) -> str | None:
    """'before' within three days of the due date, 'overdue-<n>' in the n-th week after it, else None."""
    if now < due_at - REMIND_BEFORE:
        return None
    if now < due_at:
        return "before"
    return f"overdue-{(now - due_at).days // OVERDUE_EVERY_DAYS}"


def window(due_at: datetime, kind: str) -> str:
    return f"{int(due_at.timestamp())}:{kind}"


@dataclass(frozen=True)
class _Table:
    """Where one kind of round keeps its assignments and reviews, and what its reminder names."""

    assignment: Any  # Assignment or StageAssignment
    review: Any  # Review or StageReview
    later: bool

    def scope(self) -> ColumnElement[Any]:
        """The column grouping one email: the call (first round) or the stage (later round)."""
        return cast(ColumnElement[Any], self.assignment.stage_id if self.later else self.assignment.call_id)

    def open_to_remind(self) -> ColumnElement[bool]:
        """Rounds still reviewing: the call before decisions (and, for the first round, its panel not locked)."""
        a = self.assignment
        call_open = and_(Call.id == a.call_id, Call.status.in_(REMINDED_CALL_STATUSES))
        return and_(call_open, Call.panel_locked_at.is_(None)) if not self.later else call_open


TABLES = (_Table(Assignment, Review, later=False), _Table(StageAssignment, StageReview, later=True))


def _due_rows(table: _Table, now: datetime) -> list[Any]:
    """Active, unsubmitted, unconflicted assignments due within three days or overdue (index: status, due_at)."""
    a, r = table.assignment, table.review
    submitted = exists().where(r.assignment_id == a.id, r.status == ReviewStatus.SUBMITTED)
    conflicted = exists().where(Conflict.application_id == a.application_id, Conflict.reviewer_id == a.reviewer_id)
    return list(db.session.execute(
        select(a.id, a.reviewer_id, table.scope().label("scope_id"), a.call_id, a.due_at, a.reminded_window)
        .join(Call, table.open_to_remind())
        .where(a.status == AssignmentStatus.ACTIVE, a.due_at <= now + REMIND_BEFORE, ~submitted, ~conflicted)
        .order_by(a.id)))


def _claim(table: _Table, ids: list[int], claimed_window: str) -> set[int]:
    """Claim these assignments' reminder window: one conditional UPDATE; only the rows it changed are reminded."""
    a = table.assignment
    result = cast(CursorResult[Any], db.session.execute(
        update(a).where(a.id.in_(ids), a.status == AssignmentStatus.ACTIVE,
                        a.reminded_window.is_distinct_from(claimed_window))
        .values(reminded_window=claimed_window).returning(a.id).execution_options(synchronize_session=False)))
    return {row[0] for row in result}


def send_review_reminders(now: datetime | None = None) -> int:
    """Remind the reviewers of every round of their unsubmitted reviews due within three days or overdue: one email
    per reviewer, round and due date, each assignment reminded once per window. Returns the emails queued."""
    now = now or utcnow()
    queued = 0
    for table in TABLES:
        windows: dict[str, list[Any]] = defaultdict(list)
        for row in _due_rows(table, now):
            kind = reminder_kind(row.due_at, now)
            if kind is not None and row.reminded_window != window(row.due_at, kind):
                windows[window(row.due_at, kind)].append(row)
        groups: Counter[tuple[int, int, int, datetime, str]] = Counter()
        for claimed_window, rows in sorted(windows.items()):
            claimed = _claim(table, [row.id for row in rows], claimed_window)
            for row in rows:
                if row.id in claimed:
                    kind = claimed_window.split(":", 1)[1]
                    groups[(row.reviewer_id, row.scope_id, row.call_id, row.due_at, kind)] += 1
        queued += _queue(table, groups)
    if queued:
        log.info("review reminders: %s queued", queued)
    return queued


def _queue(table: _Table, groups: Counter[tuple[int, int, int, datetime, str]]) -> int:
    """One email per (reviewer, round, due date, window), in the reviewer's language, through the outbox."""
    if not groups:
        return 0
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_({g[0] for g in groups})))}
    calls = {c.id: c for c in db.session.scalars(select(Call).where(Call.id.in_({g[2] for g in groups})))}
    stages = ({s.id: s for s in db.session.scalars(select(SelectionStage).where(
        SelectionStage.id.in_({g[1] for g in groups})))} if table.later else {})
    queued = 0
    for (reviewer_id, scope_id, call_id, due_at, kind), count in sorted(groups.items()):
        user, call = users[reviewer_id], calls[call_id]
        stage = stages.get(scope_id)
        prefix = "selection-round-reminder" if table.later else "selection-reminder"
        message = queue_email(
            user.email, "selection/assignment_reminder", dedupe_key=f"{prefix}:{scope_id}:{reviewer_id}:"
                                                                    f"{int(due_at.timestamp())}:{kind}",
            name=user.full_name, count=count,
            call_title=round_title(call, stage, user) if stage is not None else call.title,
            due=format_for_viewer(due_at, user, call.time_zone), overdue=kind != "before",
            url=public_link(ROUNDS_PATH if stage is not None else REVIEWS_PATH))
        if message is not None:
            queued += 1
            record("selection.review_reminder_sent", stage if stage is not None else call, reviewer_id=reviewer_id,
                   pending=count, reminder=kind, **({"call_id": call.id} if stage is not None else {}))
    return queued

