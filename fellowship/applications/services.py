"""The applicant's journey: start, save sections, check progress, submit, withdraw; draft reminders."""

from __future__ import annotations

import functools
import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from fellowship.applications import answers
from fellowship.applications.answers import SectionStatus
from fellowship.applications.declarations import declarations_record
from fellowship.applications.models import Application, ApplicationStatus, ReferenceSeries
from fellowship.audit.services import record
from fellowship.auth.models import User
from fellowship.calls.models import Call, CallStatus, DocumentKind
from fellowship.calls.services import lock_call
from fellowship.errors import DomainError
from fellowship.extensions import db
from fellowship.locks import lock_row
from fellowship.models import utcnow
from fellowship.notifications.services import public_link, queue_email, recipient_locale
from fellowship.questions.models import Questionnaire, QuestionnaireSection, Response
from fellowship.timezones import format_for_viewer

log = logging.getLogger(__name__)

#: Statuses from which an applicant may still withdraw.
WITHDRAWABLE = {ApplicationStatus.SUBMITTED, ApplicationStatus.UNDER_REVIEW, ApplicationStatus.INELIGIBLE,
                ApplicationStatus.WAITLISTED, ApplicationStatus.ACCEPTED}
#: Draft reminders: (key, how long before the deadline it becomes due).
DRAFT_REMINDERS = (("7d", timedelta(days=7)), ("1d", timedelta(days=1)))


class DeadlinePassed(DomainError):
    pass


def application_for(call_id: int, user_id: int) -> Application | None:
    return db.session.scalar(select(Application).where(Application.call_id == call_id,
                                                       Application.applicant_id == user_id))


def start_application(call: Call, user: User) -> Application:
    """The user's application to `call`, created as a draft if they have none yet.

    Several "apply" at once: the unique key (call, applicant) lets one insert win; the others' inserts are
    undone to a savepoint and they return the application the winner created.
    """
    existing = application_for(call.id, user.id)
    if existing is not None:
        return existing
    now = utcnow()
    if not (call.status is CallStatus.OPEN and call.opens_at <= now < call.closes_at):
        raise DomainError(_("This call is not accepting applications."))
    form = answers.application_form(call)
    application = Application(call_id=call.id, applicant_id=user.id)
    try:
        with db.session.begin_nested():
            db.session.add(application)
    except IntegrityError:
        existing = application_for(call.id, user.id)  # committed by the request that won
        if existing is None:
            raise
        return existing
    _prefill_names(application, form, user)
    record("applications.started", application, call_id=call.id)
    return application


def _prefill_names(application: Application, form: Any, user: User) -> None:
    """Answer the name questions from the account's name, as the form did before it was a questionnaire."""
    given, _space, family = user.full_name.strip().partition(" ")
    by_section: dict[int, tuple[QuestionnaireSection, dict[str, Any]]] = {}
    for tag, value in (("given_name", given), ("family_name", family)):
        question = answers.question_tagged(form, tag)
        if question is not None and value:
            section = question.section
            by_section.setdefault(section.id, (section, {}))[1][question.key] = value
    answers.response_of(application)
    for section, values in by_section.values():
        answers.save_answers(application, section, values)


def ensure_editable(application: Application, now: datetime | None = None) -> None:
    """Refuse any change after submission or after the deadline (by the server's clock)."""
    now = now or utcnow()
    if application.status is not ApplicationStatus.DRAFT:
        raise DomainError(_("This application has been submitted and can no longer be changed."))
    if now >= application.call.closes_at:
        applicant = db.session.get_one(User, application.applicant_id)  # the deadline in their zone, named
        deadline = format_for_viewer(application.call.closes_at, applicant, application.call.time_zone)
        raise DeadlinePassed(_("The deadline passed on %(deadline)s. The application can no longer be changed.",
                               deadline=deadline))


@dataclass(frozen=True)
class SectionSaved:
    """What a save kept and refused: answers refused (key -> why, shown beside the field) and what is still needed."""

    errors: dict[str, str]
    missing: dict[str, str]


def save_section(application: Application, section: QuestionnaireSection, values: dict[str, Any], *,
                 locked: bool = False) -> SectionSaved:
    """Store a section's well-formed answers (a draft may be partial) through the engine, then project the tagged
    ones onto the profile columns; returns what was refused and what is still missing.

    `locked`: the caller loaded the application with its row lock (permissions.get_application_or_404 with
    for_update) before reading its answers, so its status and answers are current: one lock, nothing read twice."""
    if not locked:
        lock_row(Application, application.id)  # a submit at the same moment either came first or waits for this save
        db.session.refresh(application, ["status"])
    ensure_editable(application)
    result = answers.save_answers(application, section, values, locked=locked)
    log.info("application %s: section %s saved", application.id, section.key)
    return SectionSaved(errors=dict(result.errors), missing=dict(result.missing))


@dataclass(frozen=True)
class Progress:
    sections: list[tuple[SectionStatus, dict[str, str]]]
    documents: dict[DocumentKind, bool]
    referees_named: int
    referees_received: int
    referees_required: int

    @property
    def missing_documents(self) -> list[str]:
        return [kind.label for kind, present in self.documents.items() if not present]

    @property
    def problems(self) -> list[str]:
        """Everything that still blocks submission, as sentences."""
        problems = [ngettext("%(section)s: %(num)d item missing.", "%(section)s: %(num)d items missing.",
                             len(missing), section=section.title) for section, missing in self.sections if missing]
        if self.missing_documents:
            problems.append(_("Documents missing: %(documents)s.", documents=", ".join(self.missing_documents)))
        if self.referees_named < self.referees_required:
            problems.append(ngettext("Name %(num)d referee; you have named %(named)d.",
                                     "Name %(num)d referees; you have named %(named)d.", self.referees_required,
                                     named=self.referees_named))
        return problems

    @property
    def complete(self) -> bool:
        return not self.problems


def progress(application: Application) -> Progress:
    """What is complete and what is missing, for the overview page and the submission check."""
    from fellowship.documents.services import required_kinds

    # The referees and the documents in one statement: a submit checks completeness first (make bench-surge).
    kinds = required_kinds(application)
    named, received, *present = db.session.execute(_progress_statement(tuple(kinds)),
                                                   {"application_id": application.id}).one()
    return Progress(
        sections=[(status, status.missing) for status in answers.section_statuses(application)],
        documents={kind: bool(has) for kind, has in zip(kinds, present, strict=True)},
        referees_named=int(named), referees_received=int(received),
        referees_required=application.call.references_required,
    )


@functools.cache
def _progress_statement(kinds: tuple[DocumentKind, ...]) -> Any:
    """progress' statement for calls requiring `kinds`, by the bound `application_id`: built once per process and
    set of kinds (building it and its cache key was two fifths of the check's Python time, py-spy on make
    bench-surge)."""
    from fellowship.documents.services import presence_columns
    from fellowship.referees.services import referee_count_columns

    application_id: Any = bindparam("application_id")
    return select(*referee_count_columns(application_id), *presence_columns(application_id, list(kinds)))


@functools.cache
def _reference_statement(dialect: str) -> Any:
    """take_reference_number's upsert by the bound `prefix` and `year`, built once per process and dialect
    (building it was half of taking a number, in Python)."""
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    return (insert(ReferenceSeries).values(prefix=bindparam("prefix"), year=bindparam("year"), last_number=1)
            .on_conflict_do_update(index_elements=[ReferenceSeries.prefix, ReferenceSeries.year],
                                   set_={"last_number": ReferenceSeries.last_number + 1})
            .returning(ReferenceSeries.last_number))


def take_reference_number(prefix: str, year: int) -> str:
    """The next reference number of the series (prefix, year), e.g. ELF-2027-00042.

    One upsert takes it: the series' row lock serialises concurrent submits, and a submit that fails gives its
    number back with its rollback. Calls that share a prefix and year share the series, so no two applications
    can ever be given the same reference (the call form also asks staff to keep each call's prefix its own).
    """
    number = db.session.scalar(_reference_statement(db.session.get_bind().dialect.name),
                               {"prefix": prefix, "year": year})
    return f"{prefix}-{year}-{number:05d}"


def submit_application(application: Application, declarations: Collection[str]) -> Application:
    """Submit a complete draft before the deadline, with every declaration made (`declarations`: their keys, from
    applications.declarations): one reference number, one confirmation email; when and what was declared is stored.

    Two submits at once: the conditional UPDATE lets exactly one of them move the draft on; the
    other raises, and its transaction (with the number it took) is rolled back.
    """
    declared = declarations_record(declarations)  # refused before any number is taken
    ensure_editable(application)
    # Completeness is read from the application's own rows, which the call's lock does not guard: it is checked
    # before that lock, so submits to one call queue on it only for the writes (make bench-surge). A save of this
    # application at the same moment holds the application's row: the UPDATE below waits for it.
    report = progress(application)
    if not report.complete:
        raise DomainError(_("The application is not complete yet: %(problems)s", problems=" ".join(report.problems)))
    # The call first, as screening and decisions lock it: a submit at the deadline then waits for (or goes before)
    # the screening instead of deadlocking with it. Shared: submits exclude the screening and decisions but not
    # each other (nothing in a submit writes the call's row: see `outside_ranking` below).
    lock_call(application.call_id, shared=True)
    ensure_editable(application)
    now = utcnow()
    applicant = db.session.get_one(User, application.applicant_id)
    # Everything that does not need the number is read before it is taken: the series' row is held from here until
    # the commit, and every submit with the same prefix and year waits for it (make bench-surge).
    submitted_at = format_for_viewer(now, applicant, application.call.time_zone)
    locale = recipient_locale(applicant.email, None, applicant)  # the account already loaded: not read again
    reference = take_reference_number(application.call.reference_prefix, application.call.year)
    # The call is named for the cache listeners, which would otherwise read which calls the UPDATE touches with
    # its own WHERE; the values written are set on the loaded application (no second read). A draft that becomes
    # a submitted application is in no ranking before or after, so the ranking's version is left alone.
    written = {"status": ApplicationStatus.SUBMITTED, "reference": reference, "submitted_at": now, "declared_at": now,
               "declarations": declared}
    updated_at = db.session.execute(
        update(Application)
        .where(Application.id == application.id, Application.status == ApplicationStatus.DRAFT)
        .values(**written).returning(Application.updated_at)
        .execution_options(synchronize_session=False, outside_ranking=True, touched_call_id=application.call_id)
    ).scalar_one_or_none()
    if updated_at is None:
        raise DomainError(_("This application has already been submitted."))
    for name, value in {**written, "updated_at": updated_at}.items():
        set_committed_value(application, name, value)
    if now >= application.call.closes_at:  # the clock may have passed the deadline while we waited
        raise DeadlinePassed(_("The deadline has passed; the application was not submitted."))
    queue_email(applicant.email, "applications/submitted", locale=locale,
                name=applicant.full_name, reference=reference,
                call_title=application.call.title, submitted_at=submitted_at,
                url=public_link(f"/applications/{application.id}"),
                programme_note=(application.call.email_texts or {}).get("application_submitted"))
    record("applications.submitted", application, reference=reference)
    log.info("application %s submitted as %s", application.id, reference)
    return application


def withdraw_application(application: Application) -> None:
    """The applicant withdraws a submitted application; it stays readable, nothing else changes.

    One conditional UPDATE (still in the status just read) decides between withdrawals sent at once, or a
    withdrawal and a decision or an offer's answer: only the winner emails and audits. The call's row is
    locked first, as recording, sending and answering decisions do, so they wait for each other in one order.
    """
    lock_call(application.call_id)
    db.session.refresh(application, ["status"])
    previous = application.status
    if previous is ApplicationStatus.WITHDRAWN:
        raise DomainError(_("This application is already withdrawn."))
    if previous not in WITHDRAWABLE:
        raise DomainError(_("This application cannot be withdrawn."))
    moved = db.session.execute(
        update(Application).where(Application.id == application.id, Application.status == previous)
        .values(status=ApplicationStatus.WITHDRAWN, withdrawn_at=utcnow()).returning(Application.id)
        .execution_options(synchronize_session=False, ranking_call_id=application.call_id)).scalar_one_or_none()
    db.session.refresh(application, ["status", "withdrawn_at"])
    if moved is None:  # another request changed it first (SQLite takes no row lock: the UPDATE decides)
        if application.status is ApplicationStatus.WITHDRAWN:
            raise DomainError(_("This application is already withdrawn."))
        raise DomainError(_("This application changed meanwhile and was not withdrawn. Please check it and try again."))
    applicant = db.session.get_one(User, application.applicant_id)
    queue_email(applicant.email, "applications/withdrawn", name=applicant.full_name,
                reference=application.reference, call_title=application.call.title)
    record("applications.withdrawn", application, previous=previous.value)


def applicant_applications(user_id: int) -> list[Application]:
    return list(db.session.scalars(
        select(Application).where(Application.applicant_id == user_id).order_by(Application.id.desc())))


def remind_drafts(now: datetime | None = None, batch_size: int = 500) -> int:
    """Email applicants with unfinished drafts a week and a day before the deadline; once each.

    The outbox's unique dedupe key makes a second run (or a second beat) queue nothing.
    """
    now = now or utcnow()
    queued = 0
    calls = db.session.scalars(select(Call).where(Call.status == CallStatus.OPEN, Call.closes_at > now,
                                                  Call.closes_at <= now + DRAFT_REMINDERS[0][1])).all()
    for call in calls:
        due = [key for key, before in DRAFT_REMINDERS if now >= call.closes_at - before]
        key = due[-1]  # the most urgent reminder that is due
        last_id = 0
        while True:
            rows = db.session.execute(
                select(Application.id, User.email, User.full_name, User.time_zone)
                .join(User, User.id == Application.applicant_id)
                .where(Application.call_id == call.id, Application.status == ApplicationStatus.DRAFT,
                       Application.id > last_id)
                .order_by(Application.id).limit(batch_size)).all()
            if not rows:
                break
            for row in rows:
                message = queue_email(
                    row.email, "applications/draft_reminder", dedupe_key=f"draft-reminder:{key}:{row.id}",
                    name=row.full_name, call_title=call.title, days=max(1, (call.closes_at - now).days),
                    deadline=format_for_viewer(call.closes_at, row, call.time_zone),
                    url=public_link(f"/applications/{row.id}"))
                queued += message is not None
            last_id = rows[-1].id
    if queued:
        log.info("draft reminders queued: %s", queued)
    return queued


def count_by_status(call_id: int) -> dict[str, int]:
    rows = db.session.execute(select(Application.status, func.count()).where(Application.call_id == call_id)
                              .group_by(Application.status)).all()
    return {status.value: n for status, n in rows}


# --- The applicant's home page --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ApplicantHomeItem:
    """One of the applicant's applications on their home page; `progress` for a draft that can still be submitted."""

    application: Application
    progress: Progress | None


def applicant_home(user_id: int, now: datetime | None = None) -> list[ApplicantHomeItem]:
    """The applicant's applications (newest first), each open draft with what is still missing.

    A fixed number of queries whatever the number of applications: the applications with their calls and
    programmes, then the documents, referees, responses and answers of all open drafts at once (and each call's form,
    loaded once); `Progress` is built as `progress()` builds it.
    """
    from sqlalchemy import case
    from sqlalchemy.orm import joinedload

    from fellowship.applications.models import Document, Referee, RefereeStatus

    now = now or utcnow()
    applications = list(db.session.scalars(
        select(Application).where(Application.applicant_id == user_id)
        .options(joinedload(Application.call).joinedload(Call.programme))
        .order_by(Application.id.desc())).unique())
    drafts = [a for a in applications if a.status is ApplicationStatus.DRAFT and a.call.closes_at > now]
    present: set[tuple[int, DocumentKind]] = set()
    referees: dict[int, tuple[int, int]] = {}
    draft_answers: dict[int, dict[str, Any]] = {}
    draft_responses: dict[int, Response] = {}
    forms: dict[int, Questionnaire] = {}
    if drafts:
        ids = [a.id for a in drafts]
        present = {(row.application_id, row.kind) for row in db.session.execute(
            select(Document.application_id, Document.kind).distinct().where(Document.application_id.in_(ids)))}
        referees = {row.application_id: (int(row.named), int(row.received)) for row in db.session.execute(
            select(Referee.application_id, func.count(Referee.id).label("named"),
                   func.count(case((Referee.status == RefereeStatus.RECEIVED, 1))).label("received"))
            .where(Referee.application_id.in_(ids)).group_by(Referee.application_id))}
        response_ids = [a.response_id for a in drafts if a.response_id is not None]
        draft_answers = answers.answers_of_many(response_ids)
        # Every draft call's form at once (its sections, questions and groups' children load by selectin).
        form_ids = {a.call.questionnaire_id for a in drafts if a.call.questionnaire_id is not None}
        forms = {q.id: q for q in db.session.scalars(select(Questionnaire).where(Questionnaire.id.in_(form_ids)))}
        draft_responses = {r.id: r for r in db.session.scalars(select(Response).where(Response.id.in_(response_ids)))}
    items = []
    for application in applications:
        report = None
        if application in drafts:
            required = [DocumentKind(v) for v in application.call.required_documents or []
                        if v in DocumentKind._value2member_map_]
            named, received = referees.get(application.id, (0, 0))
            response = draft_responses.get(application.response_id or 0)
            given = draft_answers.get(application.response_id or 0, {})
            form = forms.get(application.call.questionnaire_id or 0) or answers.form_of(application)
            statuses = [SectionStatus(section, answers.engine().missing(response, section, given) if response else {})
                        for section in form.sections]
            report = Progress(sections=[(status, status.missing) for status in statuses],
                              documents={kind: (application.id, kind) in present for kind in required},
                              referees_named=named, referees_received=received,
                              referees_required=application.call.references_required)
        items.append(ApplicantHomeItem(application, report))
    return items
