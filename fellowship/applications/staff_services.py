"""Queries behind the staff list of a call's applications and its CSV export: filters, counts, streamed rows."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from flask import abort
from sqlalchemy import ColumnElement, Engine, Select, and_, event, false, func, or_, select, true
from sqlalchemy.orm import ORMExecuteState, Session, lazyload

from fellowship import cached
from fellowship.applications.models import (
    Application,
    ApplicationStatus,
    Document,
    EligibilityResult,
    EnvironmentalField,
    Referee,
)
from fellowship.audit.services import PendingEntry, pending, record
from fellowship.auth.models import User
from fellowship.calls.models import Call, DocumentKind
from fellowship.eligibility.rules import RULES
from fellowship.extensions import db
from fellowship.geo import REGIONS, country_name
from fellowship.spreadsheets import neutralise_formula

#: Values of the eligibility filter, with their labels.
ELIGIBILITY_CHOICES: dict[str, str] = {
    "eligible": "Eligible",
    "ineligible": "Not eligible",
    "not_screened": "Not screened yet",
    "overridden": "Overridden by staff",
}
#: Rows fetched per round trip while streaming the export.
EXPORT_BATCH = 500
#: A spreadsheet reads a cell starting with one of these as a formula (or may): such cells get a leading quote.
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

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> ListFilters:
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
        )

    def as_args(self) -> dict[str, str]:
        """The filters that are set, for links (pager, export) that keep them."""
        return {k: v for k, v in asdict(self).items() if v}

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
        return "Not screened"
    label = "Eligible" if decided else "Not eligible"
    return f"{label} (override)" if override is not None else label


# --- The staff detail page -------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class StaffDetail:
    application: Application
    documents: list[Document]
    referees: list[Referee]
    results: list[EligibilityResult]
    applicant: User | None
    override_by: User | None


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
                       override_by=override_by)


# --- The CSV export --------------------------------------------------------------------------------------

EXPORT_HEADER = ["Reference", "Given name", "Family name", "Nationality", "Nationality code", "Region",
                 "Country of residence", "Gender", "Highest degree", "Environmental field", "Status",
                 "Eligibility", "Submitted at (UTC)"]


def _export_query(call_id: int, filters: ListFilters) -> Select[*tuple[Any, ...]]:
    return (
        select(Application.reference, Application.given_name, Application.family_name, Application.nationality,
               Application.region, Application.country_of_residence, Application.gender,
               Application.highest_degree, Application.environmental_field, Application.status,
               Application.eligible, Application.eligibility_override, Application.submitted_at)
        .where(*_conditions(call_id, filters))
        .order_by(Application.id)
    )


def safe_cell(value: Any) -> str:
    """A cell as text that a spreadsheet will not run as a formula: '=1+1' becomes "'=1+1"."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        text = value.strftime("%Y-%m-%d %H:%M")
    elif hasattr(value, "label"):
        text = str(value.label)
    else:
        text = str(value)
    return neutralise_formula(text)


def _export_row(row: Any) -> list[str]:
    return [safe_cell(v) for v in (
        row.reference, row.given_name, row.family_name,
        country_name(row.nationality) if row.nationality else None, row.nationality, row.region,
        country_name(row.country_of_residence) if row.country_of_residence else None,
        row.gender.label if row.gender else None, row.highest_degree,
        row.environmental_field, row.status, eligibility_label(row.eligible, row.eligibility_override),
        row.submitted_at,
    )]


def export_csv(call_id: int, filters: ListFilters, engine: Engine) -> Iterator[bytes]:
    """The filtered list as UTF-8 CSV with a BOM (for Excel), read and yielded in batches, never whole in memory.

    It reads on a connection of its own, not the request's session: the response is sent after the request ends.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(EXPORT_HEADER)
    with engine.connect() as connection:
        result = connection.execution_options(yield_per=EXPORT_BATCH).execute(_export_query(call_id, filters))
        for rows in result.partitions():
            for row in rows:
                writer.writerow(_export_row(row))
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():  # no rows: the header alone
        yield buffer.getvalue().encode("utf-8")


def export_entry(call: Call, filters: ListFilters) -> PendingEntry:
    """The audit entry of an export of the call's applications, with its filters and how many rows it holds."""
    return pending("applications.exported", call, format="csv", filters=filters.as_args(),
                   rows=count(call.id, filters))


def record_view(application: Application) -> None:
    """Audit that a staff member opened an applicant's personal data."""
    record("applications.viewed", application)
