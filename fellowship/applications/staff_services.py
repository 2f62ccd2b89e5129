"""Queries behind the staff list of a call's applications and its CSV export: filters, counts, streamed rows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from flask import abort
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Select, and_, event, false, func, or_, select, true
from sqlalchemy.orm import ORMExecuteState, Session, lazyload

from fellowship import cached
from fellowship.applications import answer_filters
from fellowship.applications.answers import answers_of, form_of
from fellowship.applications.models import (
    Application,
    ApplicationStatus,
    Document,
    EligibilityResult,
    EnvironmentalField,
    Referee,
)
from fellowship.audit.services import record
from fellowship.auth.models import User
from fellowship.calls.models import Call, DocumentKind
from fellowship.eligibility.rules import RULES
from fellowship.extensions import db
from fellowship.geo import REGIONS, country_name
from fellowship.i18n.texts import current_locale
from fellowship.questions.display import DisplayedSection, displayed_answers
from fellowship.questions.models import Questionnaire
from fellowship.spreadsheets import neutralise_formula

#: Values of the eligibility filter, with their labels.
ELIGIBILITY_CHOICES: dict[str, Any] = {
    "eligible": _l("Eligible"),
    "ineligible": _l("Not eligible"),
    "not_screened": _l("Not screened yet"),
    "overridden": _l("Overridden by staff"),
}
MAX_SEARCH_LENGTH = 100


@dataclass(frozen=True, slots=True)
class ListFilters:
    """The staff list's filters, read from the query string; unknown values are ignored rather than refused."""

    status: str = ""
    nationality: str = ""
    region: str = ""
    field: str = ""
    eligibility: str = ""
    q: str = ""
    #: Answer filters: (question id, question key, value), each a value the question offers.
    answers: tuple[tuple[int, str, str], ...] = ()

    @classmethod
    def from_args(cls, args: Mapping[str, str],
                  questions: tuple[answer_filters.FilterQuestion, ...] = ()) -> ListFilters:
        """Filters from request.args, each kept only if it is one of the values offered."""
        status = args.get("status", "")
        field = args.get("field", "")
        region = args.get("region", "")
        eligibility = args.get("eligibility", "")
        nationality = args.get("nationality", "").strip().upper()
        return cls(
            status=status if status in ApplicationStatus._value2member_map_ else "",
            nationality=nationality if len(nationality) == 2 and nationality.isalpha() else "",
            region=region if region in REGIONS else "",
            field=field if field in EnvironmentalField._value2member_map_ else "",
            eligibility=eligibility if eligibility in ELIGIBILITY_CHOICES else "",
            q=" ".join(args.get("q", "").split())[:MAX_SEARCH_LENGTH],
            answers=answer_filters.chosen_answers(args, questions),
        )

    def as_args(self) -> dict[str, str]:
        """The filters that are set, for links (pager, export) that keep them."""
        plain = {k: v for k, v in asdict(self).items() if v and k != "answers"}
        return plain | {answer_filters.PREFIX + key: value for _qid, key, value in self.answers}

    @property
    def active(self) -> bool:
        return bool(self.as_args())


def get_call_or_404(call_id: int) -> Call:
    """The call with its programme, without its quotas and rubric (the list pages do not show them)."""
    call = db.session.scalar(select(Call).where(Call.id == call_id)
                             .options(lazyload(Call.quotas), lazyload(Call.criteria)))
    if call is None:
        abort(404)
    return call


def get_call_and_form_or_404(call_id: int) -> tuple[Call, answer_filters.FormStamp | None]:
    """The call (as get_call_or_404) and which version of its form it has, in one statement."""
    row = db.session.execute(
        select(Call, Questionnaire.version, Questionnaire.updated_at)
        .outerjoin(Questionnaire, Questionnaire.id == Call.questionnaire_id)
        .where(Call.id == call_id).options(lazyload(Call.quotas), lazyload(Call.criteria))).first()
    if row is None:
        abort(404)
    call, version, changed_at = row
    stamp = (answer_filters.FormStamp(call.questionnaire_id, version, changed_at)
             if call.questionnaire_id is not None else None)
    return call, stamp


def _conditions(call_id: int, filters: ListFilters) -> list[ColumnElement[bool]]:
    decided = func.coalesce(Application.eligibility_override, Application.eligible)
    conditions: list[ColumnElement[bool]] = [Application.call_id == call_id]
    if filters.status:
        conditions.append(Application.status == ApplicationStatus(filters.status))
    if filters.nationality:
        conditions.append(Application.nationality == filters.nationality)
    if filters.region:
        conditions.append(Application.region == filters.region)
    if filters.field:
        conditions.append(Application.environmental_field == EnvironmentalField(filters.field))
    if filters.eligibility == "eligible":
        conditions.append(decided.is_(true()))
    elif filters.eligibility == "ineligible":
        conditions.append(decided.is_(false()))
    elif filters.eligibility == "not_screened":
        conditions.append(and_(Application.eligible.is_(None), Application.eligibility_override.is_(None)))
    elif filters.eligibility == "overridden":
        conditions.append(Application.eligibility_override.is_not(None))
    if filters.q:
        conditions.append(or_(
            Application.search_name.contains(filters.q.lower(), autoescape=True),
            Application.reference.startswith(filters.q.upper(), autoescape=True),
        ))
    conditions.extend(answer_filters.conditions(Application.response_id, filters.answers))
    return conditions


def list_query(call_id: int, filters: ListFilters) -> Select[*tuple[Any, ...]]:
    """Only the columns the list shows, filtered, oldest first: rows, never ORM objects."""
    return (
        select(Application.id, Application.reference, Application.given_name, Application.family_name,
               Application.nationality, Application.region, Application.environmental_field, Application.status,
               Application.eligible, Application.eligibility_override, Application.submitted_at)
        .where(*_conditions(call_id, filters))
        .order_by(Application.id)
    )


def count(call_id: int, filters: ListFilters) -> int:
    """How many applications match the filters."""
    return db.session.scalar(select(func.count(Application.id)).where(*_conditions(call_id, filters))) or 0


#: Per call: applications per status and the nationalities present, which every view of the list shows. Both scan
#: the whole call, so they are cached until an application of the call is added, removed, or changes status,
#: nationality or call (fellowship.cached).
LIST_FIGURES = cached.aggregate("call-application-figures")


def _list_figures(call_id: int) -> dict[str, Any]:
    counts = db.session.execute(
        select(Application.status, func.count(Application.id))
        .where(Application.call_id == call_id).group_by(Application.status)
    ).all()
    codes = db.session.scalars(
        select(Application.nationality).distinct()
        .where(Application.call_id == call_id, Application.nationality.is_not(None))
    ).all()
    return {"counts": {status.value: n for status, n in counts}, "nationalities": sorted(c for c in codes if c)}


def list_figures(call_id: int) -> dict[str, Any]:
    return LIST_FIGURES.get(call_id, lambda: _list_figures(call_id))


def status_counts(call_id: int) -> dict[ApplicationStatus, int]:
    """Applications of the call per status, in the lifecycle's order (cached; one grouped query when not)."""
    counts = list_figures(call_id)["counts"]
    return {status: counts[status.value] for status in ApplicationStatus if status.value in counts}


def nationality_choices(call_id: int) -> list[tuple[str, str]]:
    """(code, country name) of the nationalities present in the call, sorted by name (cached; one DISTINCT query)."""
    codes = list_figures(call_id)["nationalities"]
    return sorted(((code, country_name(code)) for code in codes), key=lambda pair: pair[1])


_FIGURE_INPUTS: cached.Inputs = {Application: ("status", "nationality", "call_id")}


@event.listens_for(Session, "after_flush")
def _note_changed_applications(session: Session, _context: Any) -> None:
    for call_id in cached.flushed_scopes(session, _FIGURE_INPUTS):
        LIST_FIGURES.changed(session, call_id)


@event.listens_for(Session, "do_orm_execute")
def _note_bulk_application_change(state: ORMExecuteState) -> None:
    call_ids = cached.statement_scopes(state, _FIGURE_INPUTS)
    if call_ids is None:
        LIST_FIGURES.changed(state.session, None)  # the statement does not say which calls it touches
    else:
        for call_id in call_ids:
            LIST_FIGURES.changed(state.session, call_id)


def eligibility_label(eligible: bool | None, override: bool | None) -> str:
    """How staff read the screening outcome of one row."""
    decided = override if override is not None else eligible
    if decided is None:
        return _("Not screened")
    if override is not None:
        return _("Eligible (override)") if decided else _("Not eligible (override)")
    return _("Eligible") if decided else _("Not eligible")


# --- The staff detail page -------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class StaffDetail:
    application: Application
    documents: list[Document]
    referees: list[Referee]
    results: list[EligibilityResult]
    applicant: User | None
    override_by: User | None
    #: The answers to the call's form, section by section (every question: staff read personal data too).
    answers: list[DisplayedSection]


def load_detail(application: Application) -> StaffDetail:
    """Documents, referees and eligibility results of one application (one query each), and the override's author."""
    documents = db.session.scalars(
        select(Document).where(Document.application_id == application.id)
        .order_by(Document.kind == DocumentKind.REFERENCE_LETTER, Document.kind, Document.id)).all()
    referees = db.session.scalars(
        select(Referee).where(Referee.application_id == application.id).order_by(Referee.id)).all()
    order = list(RULES)
    results = sorted(
        db.session.scalars(select(EligibilityResult).where(EligibilityResult.application_id == application.id)),
        key=lambda r: order.index(r.rule) if r.rule in order else len(order))
    override_by = (db.session.get(User, application.eligibility_override_by_id)
                   if application.eligibility_override_by_id else None)
    return StaffDetail(application=application, documents=list(documents), referees=list(referees),
                       results=results, applicant=db.session.get(User, application.applicant_id),
                       override_by=override_by,
                       answers=displayed_answers(form_of(application), answers_of(application), current_locale()))


# --- Export cells (fellowship/applications/answer_exports.py builds the files) -------------------------

def safe_cell(value: Any) -> str:
    """A cell as text that a spreadsheet will not run as a formula: '=1+1' becomes "'=1+1"."""
    if value is None:
        return ""
    if type(value) is str:  # most cells: skip the label lookup (hasattr on a str raises inside, per cell)
        return neutralise_formula(value)
    if isinstance(value, datetime):
        text = value.strftime("%Y-%m-%d %H:%M")
    elif hasattr(value, "label"):
        text = str(value.label)
    else:
        text = str(value)
    return neutralise_formula(text)


def record_view(application: Application) -> None:
    """Audit that a staff member opened an applicant's personal data."""
    record("applications.viewed", application)
