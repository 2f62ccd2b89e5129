"""Screening at the deadline: run the rules over every submitted application, store the reasons; staff overrides."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import lazyload

from fellowship.applications.answers import answers_of_many, application_form
from fellowship.applications.models import (
    Application,
    ApplicationStatus,
    Document,
    EligibilityResult,
    Referee,
    RefereeStatus,
)
from fellowship.audit.services import record
from fellowship.auth.models import User
from fellowship.calls.models import Call, CallStatus, DocumentKind
from fellowship.calls.services import lock_call
from fellowship.eligibility.rules import ApplicationSnapshot, CallRules, Outcome, evaluate
from fellowship.errors import DomainError
from fellowship.extensions import db
from fellowship.i18n.texts import SOURCE_LOCALE
from fellowship.models import utcnow

log = logging.getLogger(__name__)

#: Applications screened per round of set-based queries.
BATCH_SIZE = 500
#: Statuses the screening (and an override) decides between; later statuses are left alone.
SCREENED_STATUSES = frozenset({ApplicationStatus.SUBMITTED, ApplicationStatus.INELIGIBLE,
                               ApplicationStatus.UNDER_REVIEW})
OVERRIDABLE_STATUSES = frozenset({ApplicationStatus.INELIGIBLE, ApplicationStatus.UNDER_REVIEW})
MAX_REASON_LENGTH = 2000


@dataclass(frozen=True, slots=True)
class ScreeningSummary:
    """What closing a call did; `ran` is False when it was not due or had already been screened."""

    call_id: int
    ran: bool
    screened: int = 0
    eligible: int = 0
    ineligible: int = 0


def decided_eligible(application: Application) -> bool | None:
    """Eligibility as it stands: the staff override if any, else the rules' result (None: not screened)."""
    if application.eligibility_override is not None:
        return application.eligibility_override
    return application.eligible


def _status_for(eligible: bool | None) -> ApplicationStatus:
    return ApplicationStatus.UNDER_REVIEW if eligible else ApplicationStatus.INELIGIBLE


def _snapshots(applications: Sequence[Application]) -> dict[int, ApplicationSnapshot]:
    """Snapshots of a batch: grouped queries for documents, letters and answers (never one per application)."""
    ids = [a.id for a in applications]
    kinds: dict[int, set[DocumentKind]] = defaultdict(set)
    for application_id, kind in db.session.execute(
        select(Document.application_id, Document.kind).where(Document.application_id.in_(ids))
        .group_by(Document.application_id, Document.kind)
    ):
        kinds[application_id].add(kind)
    letters: dict[int, int] = dict(db.session.execute(
        select(Referee.application_id, func.count(Referee.id))
        .where(Referee.application_id.in_(ids), Referee.status == RefereeStatus.RECEIVED)
        .group_by(Referee.application_id)
    ).all())
    answers = answers_of_many([a.response_id for a in applications if a.response_id is not None])
    return {
        a.id: ApplicationSnapshot(
            answers=answers.get(a.response_id, {}) if a.response_id is not None else {},
            document_kinds=frozenset(kinds.get(a.id, ())), letters_received=letters.get(a.id, 0),
        )
        for a in applications
    }


def call_rules(call: Call) -> CallRules:
    """The call's rules over its application form (each rule reads the question the call names, else the tagged)."""
    return CallRules.from_call(call, application_form(call))


def _screen_batch(rules: CallRules, applications: Sequence[Application]) -> dict[int, bool]:
    """Run every rule over a batch, store one result per rule (updating earlier ones), set eligible and status."""
    if not applications:
        return {}
    snapshots = _snapshots(applications)
    existing: dict[tuple[int, str], EligibilityResult] = {
        (r.application_id, r.rule): r
        for r in db.session.scalars(
            select(EligibilityResult).where(EligibilityResult.application_id.in_([a.id for a in applications])))
    }
    now = utcnow()
    decisions: dict[int, bool] = {}
    # Evaluated in English: each reason is kept as a message (to_json) every reader sees in their own language,
    # and its English text (str) for the record, whatever language the screening runs in.
    with force_locale(SOURCE_LOCALE):
        every_outcome = {a.id: evaluate(snapshots[a.id], rules) for a in applications}
    for application in applications:
        outcomes: dict[str, Outcome] = every_outcome[application.id]
        for rule, outcome in outcomes.items():
            result = existing.get((application.id, rule))
            reason, message = str(outcome.reason), outcome.reason.to_json()
            if result is None:
                db.session.add(EligibilityResult(application_id=application.id, rule=rule, passed=outcome.passed,
                                                 reason=reason, reason_message=message, checked_at=now))
            else:
                result.passed, result.reason, result.reason_message, result.checked_at = (
                    outcome.passed, reason, message, now)
        application.eligible = all(o.passed for o in outcomes.values())
        if application.status in SCREENED_STATUSES:
            application.status = _status_for(decided_eligible(application))
        decisions[application.id] = application.eligible
    db.session.flush()
    return decisions


def screen_application(application_id: int) -> bool:
    """Screen one submitted application: store each rule's result and set eligible and status; returns eligible."""
    application = db.session.get(Application, application_id)
    if application is None:
        raise DomainError(_("There is no such application."))
    lock_call(application.call_id)  # as withdrawals and decisions do: the status read next is the current one
    db.session.refresh(application, ["status"])
    if application.status in (ApplicationStatus.DRAFT, ApplicationStatus.WITHDRAWN):
        raise DomainError(_("Only submitted applications are screened for eligibility."))
    eligible = _screen_batch(call_rules(application.call), [application])[application.id]
    log.info("application %s screened: eligible=%s status=%s", application.id, eligible, application.status)
    return eligible


def close_and_screen_call(call_id: int) -> ScreeningSummary:
    """Close a call whose deadline has passed and screen its submitted applications, once (idempotent)."""
    # Lock the call's row only (its programme is outer-joined, which PostgreSQL cannot lock), then re-read it:
    # a second process waiting here sees screened_at already set and does nothing.
    lock_call(call_id)  # a row lock on PostgreSQL; on SQLite the write lock, taken before anything is read
    call = db.session.get(Call, call_id, populate_existing=True)
    if call is None:
        raise DomainError(_("There is no such call."))
    now = utcnow()
    if call.closes_at > now or call.screened_at is not None:
        return ScreeningSummary(call_id=call.id, ran=False)
    if call.status is CallStatus.OPEN:
        call.status = CallStatus.CLOSED
        log.info("call %s closed at its deadline", call.id)
    rules = call_rules(call)
    screened = eligible = 0
    last_id = 0
    while True:
        # Keyset batches by id: each round reads the next BATCH_SIZE submitted applications.
        batch = db.session.scalars(
            select(Application).options(lazyload(Application.call))
            .where(Application.call_id == call.id, Application.status == ApplicationStatus.SUBMITTED,
                   Application.id > last_id)
            .order_by(Application.id).limit(BATCH_SIZE)
        ).all()
        if not batch:
            break
        decisions = _screen_batch(rules, batch)
        screened += len(decisions)
        eligible += sum(1 for a in batch if decided_eligible(a))
        last_id = batch[-1].id
    call.screened_at = now
    summary = ScreeningSummary(call_id=call.id, ran=True, screened=screened, eligible=eligible,
                               ineligible=screened - eligible)
    record("eligibility.call_screened", call, screened=screened, eligible=eligible, ineligible=screened - eligible)
    db.session.flush()
    log.info("call %s screened: %s applications, %s eligible", call.id, screened, eligible)
    return summary


def close_due_calls() -> list[int]:
    """Close and screen every call past its deadline not yet screened; skips calls another process is screening."""
    due_ids = db.session.scalars(
        select(Call.id)
        .where(Call.status.in_([CallStatus.OPEN, CallStatus.CLOSED]), Call.closes_at <= utcnow(),
               Call.screened_at.is_(None))
        .order_by(Call.id)
        .with_for_update(skip_locked=True)
    ).all()
    screened: list[int] = []
    for call_id in due_ids:
        if close_and_screen_call(call_id).ran:
            screened.append(call_id)
    return screened


def override_eligibility(application: Application, eligible: bool, reason: str, by: User) -> None:
    """Record a staff decision on eligibility that wins over the rules, with who, when and why."""
    reason = reason.strip()
    if not reason:
        raise DomainError(_("Give a reason for the override."))
    if len(reason) > MAX_REASON_LENGTH:
        raise DomainError(_("Keep the reason under %(num)d characters.", num=MAX_REASON_LENGTH))
    # The call's row first, as decisions, offers and withdrawals take it: the status read next is the current one.
    lock_call(application.call_id)
    db.session.refresh(application, ["status", "eligibility_override"])
    if application.status not in OVERRIDABLE_STATUSES:
        raise DomainError(_("Eligibility can be overridden only once the application has been screened, "
                          "and before the selection decision."))
    old_override, old_status = application.eligibility_override, application.status
    application.eligibility_override = eligible
    application.eligibility_override_reason = reason
    application.eligibility_override_by_id = by.id
    application.eligibility_override_at = utcnow()
    application.status = _status_for(eligible)
    record("eligibility.overridden", application, actor_id=by.id, reason=reason,
           old_override=old_override, new_override=eligible, rules_result=application.eligible,
           old_status=old_status.value, new_status=application.status.value)
    db.session.flush()
    log.info("application %s eligibility overridden to %s by user %s", application.id, eligible, by.id)


def unmet_rules(application: Application) -> list[EligibilityResult]:
    """The rules an application failed when the screening made it ineligible, in the order staff read them, for
    its applicant (nothing once staff overrode the screening: their reason is their own)."""
    from fellowship.eligibility.rules import RULES

    if application.status is not ApplicationStatus.INELIGIBLE or application.eligibility_override is not None:
        return []
    order = list(RULES)
    return sorted(db.session.scalars(select(EligibilityResult).where(
        EligibilityResult.application_id == application.id, EligibilityResult.passed.is_(False))),
        key=lambda r: order.index(r.rule) if r.rule in order else len(order))
