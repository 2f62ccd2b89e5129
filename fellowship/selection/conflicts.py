"""Conflicts of interest: declared by reviewers, added by rules, and recusals from assigned applications."""

from __future__ import annotations

import logging
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Select, and_, exists, func, literal, or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from fellowship.applications.models import Application, ApplicationStatus
from fellowship.audit.services import record
from fellowship.auth.models import User
from fellowship.calls.models import Call
from fellowship.calls.services import lock_call
from fellowship.errors import DomainError
from fellowship.extensions import db
from fellowship.models import UTCDateTime, utcnow
from fellowship.selection.models import (
    Assignment,
    AssignmentStatus,
    CallReviewer,
    Conflict,
    ConflictKind,
    ConflictSource,
    SelectionStage,
    StagePanelMember,
)

log = logging.getLogger(__name__)

#: Kinds a reviewer declares themself (the rules add same institution and same nationality too).
DECLARABLE_KINDS = (ConflictKind.SAME_INSTITUTION, ConflictKind.SUPERVISOR, ConflictKind.RELATIVE, ConflictKind.OTHER)


def _label(application: Application) -> str:
    return application.reference or _("application %(id)d", id=application.id)


def declare_conflict(reviewer: User, application: Application, kind: ConflictKind, note: str = "") -> Conflict:
    """Record a reviewer's tie to an applicant; if they were assigned to it, they recuse and it goes to another.

    Under the call's lock (as assignments and reviews take it): two declarations at once record one conflict
    and one recusal, and a review being saved meanwhile is either in first or refused.
    """
    lock_call(application.call_id)
    if not serves_on_call(reviewer.id, application.call_id):
        raise DomainError(_("Conflicts can be declared only for applications of a call whose panel you serve on."))
    duplicate = db.session.scalar(select(exists().where(
        Conflict.reviewer_id == reviewer.id, Conflict.application_id == application.id, Conflict.kind == kind)))
    if duplicate:
        raise DomainError(_("A conflict of this kind (%(kind)s) with %(application)s is already recorded.",
                            kind=kind.label.lower(), application=_label(application)))
    assignment = db.session.scalar(select(Assignment).where(
        Assignment.application_id == application.id, Assignment.reviewer_id == reviewer.id,
        Assignment.status == AssignmentStatus.ACTIVE))
    source = ConflictSource.RECUSAL if assignment is not None else ConflictSource.DECLARED
    conflict = Conflict(reviewer_id=reviewer.id, application_id=application.id, kind=kind, source=source,
                        note=note.strip())
    db.session.add(conflict)
    db.session.flush()
    record("selection.conflict_declared", conflict, application_id=application.id, reviewer_id=reviewer.id,
           kind=kind.value, source=source.value)
    log.info("conflict %s: reviewer %s declared %s with application %s", conflict.id, reviewer.id, kind.value,
             application.id)
    if assignment is not None:
        # Imported here: assignment imports this module for the conflict rules.
        from fellowship.selection import assignment as assignment_services

        assignment_services.withdraw_assignment(assignment, "recusal")
        record("selection.recused", assignment, application_id=application.id, reviewer_id=reviewer.id,
               conflict_id=conflict.id, kind=kind.value, note=conflict.note)
        log.info("assignment %s: reviewer %s recused", assignment.id, reviewer.id)
        assignment_services.reassign([application.id])
    # Imported here for the same reason: a conflict holds in every round, so later rounds give the candidate away too.
    from fellowship.selection import round_changes

    round_changes.release_conflicted_later_rounds(application.call_id)
    return conflict


def _later_round_member(reviewer_id: Any, call_id: Any) -> ColumnElement[bool]:
    return exists().where(StagePanelMember.user_id == reviewer_id, StagePanelMember.stage_id == SelectionStage.id,
                          SelectionStage.call_id == call_id)


def serves_on_call(reviewer_id: int, call_id: int) -> bool:
    """On the call's panel (its first round) or on the panel of one of its later review rounds."""
    first = exists().where(CallReviewer.call_id == call_id, CallReviewer.reviewer_id == reviewer_id)
    return bool(db.session.scalar(select(or_(first, _later_round_member(reviewer_id, call_id)))))


def recuse(assignment: Assignment, note: str, kind: ConflictKind = ConflictKind.OTHER) -> Conflict:
    """The assigned reviewer steps back from an application: a conflict (source: recusal), then reassignment."""
    if assignment.status is not AssignmentStatus.ACTIVE:
        raise DomainError(_("You are no longer assigned to this application."))
    reviewer = db.session.get_one(User, assignment.reviewer_id)
    application = db.session.get_one(Application, assignment.application_id)
    return declare_conflict(reviewer, application, kind, note)


def application_for_declaration(reviewer_id: int, reference: str) -> Application:
    """The submitted application with this reference in a call the reviewer serves on (same error otherwise)."""
    reference = reference.strip().upper()
    on_panel = exists().where(CallReviewer.call_id == Application.call_id, CallReviewer.reviewer_id == reviewer_id,
                              CallReviewer.active.is_(True))
    application = db.session.scalar(
        select(Application)
        .where(Application.reference == reference,
               or_(on_panel, _later_round_member(reviewer_id, Application.call_id))))
    if application is None:
        raise DomainError(_("No application with reference %(reference)s in a call whose panel you serve on. Check "
                            "the reference number.", reference=reference or _("(empty)")))
    return application


def declarations_query(reviewer_id: int) -> Select[Conflict, str | None, str]:
    """The reviewer's own declarations and recusals, newest first, with the reference and the call's title."""
    return (select(Conflict, Application.reference, Call.title)
            .join(Application, Application.id == Conflict.application_id)
            .join(Call, Call.id == Application.call_id)
            .where(Conflict.reviewer_id == reviewer_id,
                   Conflict.source.in_([ConflictSource.DECLARED, ConflictSource.RECUSAL]))
            .order_by(Conflict.created_at.desc(), Conflict.id.desc()))


def _rules(call: Call) -> list[tuple[ConflictKind, ColumnElement[bool]]]:
    institution = func.lower(func.trim(CallReviewer.institution))
    rules: list[tuple[ConflictKind, ColumnElement[bool]]] = [(
        ConflictKind.SAME_INSTITUTION,
        and_(institution != "", institution == func.lower(func.trim(Application.institution))),
    )]
    if call.same_nationality_conflict:
        rules.append((ConflictKind.SAME_NATIONALITY,
                      and_(CallReviewer.nationality != "",
                           func.upper(CallReviewer.nationality) == func.upper(Application.nationality))))
    return rules


def apply_automatic_conflicts(call: Call) -> int:
    """Add the rule-made conflicts of the call's panel (one INSERT ... SELECT per rule); safe to run again."""
    insert = postgresql_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    kind_type = Conflict.__table__.c.kind.type
    source_type = Conflict.__table__.c.source.type
    now = utcnow()
    added = 0
    for kind, condition in _rules(call):
        already = exists().where(Conflict.reviewer_id == CallReviewer.reviewer_id,
                                 Conflict.application_id == Application.id, Conflict.kind == kind)
        pairs = (
            select(CallReviewer.reviewer_id, Application.id, literal(kind, kind_type),
                   literal(ConflictSource.AUTOMATIC, source_type), literal("rule: " + kind.label.lower()),
                   literal(now, UTCDateTime()))
            .join(Application, Application.call_id == CallReviewer.call_id)
            .where(CallReviewer.call_id == call.id, Application.status != ApplicationStatus.DRAFT, condition,
                   ~already)
        )
        stmt = insert(Conflict).from_select(
            ["reviewer_id", "application_id", "kind", "source", "note", "created_at"], pairs
        ).on_conflict_do_nothing().returning(Conflict.id)
        added += len(db.session.execute(stmt).all())
    if added:
        record("selection.automatic_conflicts_added", call, added=added)
        log.info("call %s: %s automatic conflicts added", call.id, added)
    return added


def conflicted_pairs(call_id: int) -> set[tuple[int, int]]:
    """Every (application_id, reviewer_id) of the call with a conflict of any kind or source, and every
    panel member's own application (nobody reviews themself)."""
    rows = db.session.execute(
        select(Conflict.application_id, Conflict.reviewer_id).distinct()
        .join(Application, Application.id == Conflict.application_id)
        .where(Application.call_id == call_id)).all()
    own = db.session.execute(
        select(Application.id, Application.applicant_id)
        .join(CallReviewer, (CallReviewer.reviewer_id == Application.applicant_id)
              & (CallReviewer.call_id == Application.call_id))
        .where(Application.call_id == call_id)).all()
    return {(row.application_id, row.reviewer_id) for row in rows} | {(a, r) for a, r in own}
