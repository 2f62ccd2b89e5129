"""Reviewing: a reviewer's assignments, their review (drafts, submission, edits until the panel locks), the other
reviews once their own is in, and what a reviewer sees of an application (identifiers hidden in blind calls)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from flask import abort
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import ColumnElement, Select, case, exists, func, null, select
from sqlalchemy.orm import aliased

from fellowship.applications.models import Application, Document, Referee, RefereeStatus
from fellowship.audit.services import record
from fellowship.auth.models import User
from fellowship.calls.models import Call, DocumentKind
from fellowship.calls.services import lock_call
from fellowship.errors import DomainError
from fellowship.extensions import db
from fellowship.models import utcnow
from fellowship.selection.models import (
    Assignment,
    AssignmentStatus,
    Conflict,
    Recommendation,
    Review,
    ReviewScore,
    ReviewStatus,
)
from fellowship.selection.scores import recompute_call, weighted_score
from fellowship.words import N_, and_list

log = logging.getLogger(__name__)

PANEL_LOCKED = N_("The panel has locked the reviews.")
SCORES = range(1, 6)


def _no_conflict(application_id: Any, reviewer_id: Any) -> ColumnElement[bool]:
    return ~exists().where(Conflict.application_id == application_id, Conflict.reviewer_id == reviewer_id)


# --- The reviewer's dashboard and their assignments ------------------------------------------------------------

def reviewer_assignments(reviewer_id: int, call_id: int | None = None) -> Select[*tuple[Any, ...]]:
    """The reviewer's active, unconflicted assignments with their review's state, for paginate(); soonest due
    first. Applicant names only where the call is not blind (None otherwise)."""
    blind = Call.blind_review
    stmt = (
        select(Assignment.id.label("assignment_id"), Assignment.application_id, Application.reference,
               Call.title.label("call_title"), Call.blind_review, Assignment.due_at,
               Review.status.label("review_status"), Review.submitted_at,
               _unless(blind, Application.given_name).label("given_name"),
               _unless(blind, Application.family_name).label("family_name"))
        .join(Application, Application.id == Assignment.application_id)
        .join(Call, Call.id == Assignment.call_id)
        .outerjoin(Review, Review.assignment_id == Assignment.id)
        .where(Assignment.reviewer_id == reviewer_id, Assignment.status == AssignmentStatus.ACTIVE,
               _no_conflict(Assignment.application_id, Assignment.reviewer_id))
        .order_by(Assignment.due_at, Assignment.id)
    )
    if call_id is not None:
        stmt = stmt.where(Assignment.call_id == call_id)
    return stmt


def reviewer_assignment_count(reviewer_id: int, call_id: int | None = None) -> Select[Any]:
    """How many rows `reviewer_assignments` gives, counted on the assignments alone (the joins it adds never drop a
    row: an assignment always has its application and call), so the count is an index scan of the reviewer's own."""
    stmt = (select(func.count(Assignment.id))
            .where(Assignment.reviewer_id == reviewer_id, Assignment.status == AssignmentStatus.ACTIVE,
                   _no_conflict(Assignment.application_id, Assignment.reviewer_id)))
    if call_id is not None:
        stmt = stmt.where(Assignment.call_id == call_id)
    return stmt


def _unless(condition: Any, value: Any) -> ColumnElement[Any]:
    return case((condition, null()), else_=value)


def get_assignment_for_reviewer_or_404(assignment_id: int) -> Assignment:
    """The current user's own active assignment, on an application they have no conflict with; else 404."""
    assignment = db.session.scalar(
        select(Assignment).where(Assignment.id == assignment_id, Assignment.reviewer_id == current_user.id,
                                 Assignment.status == AssignmentStatus.ACTIVE,
                                 _no_conflict(Assignment.application_id, Assignment.reviewer_id)))
    if assignment is None:
        abort(404)
    return assignment


def review_for(assignment: Assignment) -> Review | None:
    """The assignment's review (draft or submitted), if the reviewer started one."""
    return db.session.scalar(select(Review).where(Review.assignment_id == assignment.id))


# --- Saving a review --------------------------------------------------------------------------------------------

def save_review(assignment: Assignment, scores: Mapping[int, int], comment: str,
                recommendation: Recommendation | None, submit: bool) -> Review:
    """Save the reviewer's scores as a draft (may be partial) or submit them (complete); a submitted review stays
    submitted and can be edited until the panel locks. Refreshes the call's scores when submitted."""
    # Lock the call row: a save and the panel lock cannot interleave, nor two saves or recomputes of the call;
    # the assignment is read again under it (a recusal or an unassignment may have just withdrawn it).
    lock_call(assignment.call_id)
    locked_at = db.session.execute(select(Call.panel_locked_at).where(Call.id == assignment.call_id)).scalar_one()
    if locked_at is not None:
        raise DomainError(_(PANEL_LOCKED))
    db.session.refresh(assignment, ["status"])
    if assignment.status is not AssignmentStatus.ACTIVE:
        raise DomainError(_("You are no longer assigned to this application; the review was not saved."))
    call = db.session.get_one(Call, assignment.call_id)
    criteria = {c.id: c for c in call.criteria}
    unknown = [cid for cid in scores if cid not in criteria]
    if unknown:
        raise DomainError(_("A score was given for a criterion that is not in this call's rubric."))
    if any(value not in SCORES for value in scores.values()):
        raise DomainError(_("Each score is a whole number from 1 to 5."))

    review = review_for(assignment)
    was_submitted = review is not None and review.status is ReviewStatus.SUBMITTED
    if was_submitted or submit:
        missing = [_("a score for “%(criterion)s”", criterion=c.name) for cid, c in criteria.items()
                   if cid not in scores]
        if recommendation is None:
            missing.append(_("a recommendation"))
        if not criteria:
            raise DomainError(_("This call has no rubric yet; a review cannot be submitted."))
        if missing:
            raise DomainError(_("To submit the review, give %(missing)s.", missing=and_list(missing)))

    if review is None:
        review = Review(assignment_id=assignment.id, application_id=assignment.application_id,
                        reviewer_id=assignment.reviewer_id, call_id=assignment.call_id)
        db.session.add(review)
    by_criterion = {s.criterion_id: s for s in review.scores}
    for criterion_id, value in scores.items():
        if criterion_id in by_criterion:
            by_criterion[criterion_id].score = value
        else:
            review.scores.append(ReviewScore(criterion_id=criterion_id, score=value))
    for criterion_id, old in by_criterion.items():
        if criterion_id not in scores:
            review.scores.remove(old)
    review.comment = comment.strip()
    review.recommendation = recommendation

    if not (was_submitted or submit):
        db.session.flush()
        log.info("review draft %s saved by reviewer %s", review.id, review.reviewer_id)
        return review

    review.weighted_score = weighted_score(scores, {cid: c.weight for cid, c in criteria.items()})
    review.status = ReviewStatus.SUBMITTED
    if review.submitted_at is None:
        review.submitted_at = utcnow()
    db.session.flush()
    record("selection.review_updated" if was_submitted else "selection.review_submitted", review,
           application_id=review.application_id, assignment_id=assignment.id,
           scores={str(cid): scores[cid] for cid in criteria}, weighted_score=str(review.weighted_score),
           recommendation=recommendation.value if recommendation else None)
    recompute_call(assignment.call_id)
    return review


# --- The other reviews ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class OtherReview:
    """Another reviewer's submitted review, as a reviewer who submitted their own may read it."""

    reviewer_label: str
    weighted_score: Decimal | None
    recommendation: Recommendation | None
    comment: str
    submitted_at: datetime | None
    #: criterion id → score
    scores: dict[int, int] = field(default_factory=dict)


def visible_reviews(application_id: int, reviewer_id: int) -> list[OtherReview]:
    """Other reviewers' submitted reviews of the application, once this reviewer submitted theirs (else none);
    in blind calls the others are "Reviewer 1", "Reviewer 2", ... by order of submission, never named."""
    own_submitted = db.session.scalar(select(exists().where(
        Review.application_id == application_id, Review.reviewer_id == reviewer_id,
        Review.status == ReviewStatus.SUBMITTED)))
    if not own_submitted:
        return []
    reviewer = aliased(User)
    rows = db.session.execute(
        select(Review, reviewer.full_name, Call.blind_review)
        .join(Assignment, Assignment.id == Review.assignment_id)
        .join(reviewer, reviewer.id == Review.reviewer_id)
        .join(Call, Call.id == Review.call_id)
        .where(Review.application_id == application_id, Review.reviewer_id != reviewer_id,
               Review.status == ReviewStatus.SUBMITTED, Assignment.status == AssignmentStatus.ACTIVE,
               _no_conflict(Review.application_id, Review.reviewer_id))
        .order_by(Review.submitted_at, Review.id)
    ).all()
    return [
        OtherReview(reviewer_label=_("Reviewer %(number)d", number=n) if blind else name,
                    weighted_score=review.weighted_score,
                    recommendation=review.recommendation, comment=review.comment,
                    submitted_at=review.submitted_at, scores={s.criterion_id: s.score for s in review.scores})
        for n, (review, name, blind) in enumerate(rows, start=1)
    ]


# --- What a reviewer sees of an application ---------------------------------------------------------------------

@dataclass(frozen=True)
class Fact:
    label: str
    value: str
    #: Long text, shown with its line breaks.
    prose: bool = False


@dataclass(frozen=True)
class FactSection:
    key: str
    title: str
    facts: list[Fact]


@dataclass(frozen=True)
class DocumentLink:
    document_id: int
    kind: DocumentKind
    #: The kind (numbered for letters) in blind calls; kind and file name otherwise.
    label: str


@dataclass(frozen=True)
class RefereeLine:
    #: "Referee 1" in blind calls; the name otherwise.
    name: str
    email: str | None
    relation: str
    letter_received: bool


@dataclass(frozen=True)
class ReviewerView:
    """Everything a reviewer may read of one application."""

    blind: bool
    title: str
    sections: list[FactSection]
    documents: list[DocumentLink]
    referees: list[RefereeLine]
    #: The language the application is written in (answers are shown as typed, never translated).
    locale: str | None = None


def _text(value: Any) -> str:
    if value is None or value == "":
        return "—"
    label = getattr(value, "label", None)
    return str(label) if isinstance(label, str) else str(value)


def _sections(application: Application, *, blind: bool) -> list[FactSection]:
    """The answers of the call's form, section by section; in a blind review without the personal-data questions."""
    from flask_babel import gettext

    from fellowship.applications import answers
    from fellowship.i18n.texts import current_locale
    from fellowship.questions.display import displayed_answers
    from fellowship.questions.kinds import QuestionKind

    shown = displayed_answers(answers.form_of(application), answers.answers_of(application), current_locale(),
                              hide_personal=blind)
    sections = []
    for section in shown:
        facts = []
        for answer in section.answers:
            if answer.entries:  # a repeatable group: one line per entry
                value = "\n".join("; ".join(f"{label}: {text or '—'}" for label, text in entry)
                                   for entry in answer.entries)
                facts.append(Fact(answer.label, value, prose=True))
            else:
                facts.append(Fact(answer.label, answer.text or "—", prose=answer.kind is QuestionKind.LONG_TEXT))
        if section.key == "personal" or (section is shown[0] and not any(s.key == "personal" for s in shown)):
            facts.append(Fact(gettext("Region"), _text(application.region)))  # where the nationality sits (M49)
        sections.append(FactSection(section.key, section.title, facts))
    return sections


def _reviewer_view(application: Application, *, blind: bool) -> ReviewerView:
    documents = db.session.scalars(
        select(Document).where(Document.application_id == application.id)
        .order_by(Document.kind == DocumentKind.REFERENCE_LETTER, Document.kind, Document.id)).all()
    referees = db.session.scalars(
        select(Referee).where(Referee.application_id == application.id).order_by(Referee.id)).all()
    letter_numbers = {ref.id: n for n, ref in enumerate(referees, start=1)}
    links = []
    for doc in documents:
        if blind:
            number = letter_numbers.get(doc.referee_id) if doc.referee_id else None
            label = (_("%(document)s (referee %(number)d)", document=doc.kind.label, number=number) if number
                     else doc.kind.label)
        else:
            label = f"{doc.kind.label}: {doc.filename}"
        links.append(DocumentLink(document_id=doc.id, kind=doc.kind, label=label))
    lines = [RefereeLine(name=_("Referee %(number)d", number=n) if blind else ref.name,
                         email=None if blind else ref.email,
                         relation=ref.relation, letter_received=ref.status is RefereeStatus.RECEIVED)
             for n, ref in enumerate(referees, start=1)]
    title = (application.reference or _("Application %(number)d", number=application.id)) if blind else (
        f"{application.display_name} ({application.reference})" if application.reference
        else application.display_name)
    return ReviewerView(blind=blind, title=title, sections=_sections(application, blind=blind), documents=links,
                        referees=lines, locale=application.locale)


def blind_view(application: Application) -> ReviewerView:
    """The application without personal identifiers: no names, date of birth, gender, phone, referee names or
    emails, document file names (their kind only)."""
    return _reviewer_view(application, blind=True)


def reviewer_view(application: Application) -> ReviewerView:
    """What a reviewer sees of the application: the blind view when the call reviews blind, else the full file."""
    return _reviewer_view(application, blind=application.call.blind_review)


# --- The panel lock ---------------------------------------------------------------------------------------------

def _locked_call(call: Call) -> Call:
    lock_call(call.id)
    db.session.refresh(call, ["panel_locked_at"])
    return call


def lock_panel(call: Call, by: User) -> None:
    """Close the reviews of the call: submitted reviews can no longer be edited, nor new ones saved."""
    _locked_call(call)
    if call.panel_locked_at is not None:
        raise DomainError(_("The panel has already locked the reviews."))
    call.panel_locked_at = utcnow()
    db.session.flush()
    record("selection.panel_locked", call, actor_id=by.id)
    log.info("panel of call %s locked by user %s", call.id, by.id)


def decisions_sent(call_id: int) -> bool:
    """Whether any decision of the call has been sent: the reviews can then no longer be reopened."""
    from fellowship.selection.models import Decision

    return db.session.scalar(select(Decision.id).where(Decision.call_id == call_id, Decision.sent_at.is_not(None))
                             .limit(1)) is not None


def unlock_panel(call: Call, by: User) -> None:
    """Reopen the reviews of the call for editing; refused once decisions were sent (they rest on these reviews)."""
    _locked_call(call)
    if call.panel_locked_at is None:
        raise DomainError(_("The reviews are not locked."))
    if decisions_sent(call.id):  # read under the call's lock, which sending decisions also takes
        raise DomainError(_("The reviews cannot be reopened: decisions based on them have already been sent."))
    call.panel_locked_at = None
    db.session.flush()
    record("selection.panel_unlocked", call, actor_id=by.id)
    log.info("panel of call %s unlocked by user %s", call.id, by.id)
