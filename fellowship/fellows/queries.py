"""Queries behind the staff pages of fellows and alumni: filtered lists in constant queries, one person's timeline."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import ColumnElement, Select, and_, event, func, nulls_last, select
from sqlalchemy.orm import ORMExecuteState, Session

from fellowship import cached
from fellowship.alumni.models import CareerEntry, FollowUp, FollowUpResponse, FollowUpStatus
from fellowship.applications.models import Application, Sector
from fellowship.calls.models import Call
from fellowship.extensions import db
from fellowship.fellows.models import Fellow, FellowStatus
from fellowship.geo import REGIONS, country_name
from fellowship.selection.models import Decision, Offer

#: Follow-up status filter value for alumni with no follow-up due yet.
NO_FOLLOW_UP_DUE = "none"
LOST_CONTACT_CHOICES = {"yes": _l("Lost contact"), "no": _l("In contact")}


def _country(value: str) -> str:
    value = value.strip().upper()
    return value if len(value) == 2 and value.isalpha() else ""


def _int(value: str) -> int | None:
    return int(value) if value.isdigit() else None


def cohort_choices() -> list[tuple[str, str]]:
    """Calls that have fellows, newest first, as (id, label) pairs for the cohort filter."""
    return [(str(c["id"]), c["label"]) for c in alumni_list_figures()["cohorts"]]


#: The cohorts (calls with fellows) and how many alumni each has: the cohort filter's choices and the alumni list's
#: total read every fellow, so they are cached until a fellow is added or removed or changes status or call, or a
#: call is renamed (fellowship.cached).
ALUMNI_LIST_FIGURES = cached.aggregate("alumni-list-figures")
_ALUMNI_LIST_INPUTS: cached.Inputs = {Fellow: ("status", "call_id"),
                                      Call: ("year", "title_source", "title_translations")}


def alumni_list_figures() -> dict[str, Any]:
    """{"cohorts": [{"id", "label", "alumni"}, ...] newest first}, cached."""
    return ALUMNI_LIST_FIGURES.get("all", _alumni_list_figures)


def _alumni_list_figures() -> dict[str, Any]:
    alumni = func.count(Fellow.id).filter(Fellow.status == FellowStatus.COMPLETED)
    rows = db.session.execute(select(Call.id, Call.year, Call.title, alumni)
                              .join(Fellow, Fellow.call_id == Call.id)
                              .group_by(Call.id, Call.year, Call.title)
                              .order_by(Call.year.desc(), Call.id.desc())).all()
    return {"cohorts": [{"id": call_id, "label": f"{year} · {title}", "alumni": count}
                        for call_id, year, title, count in rows]}


@event.listens_for(Session, "after_flush")
def _note_changed_cohorts(session: Session, _context: Any) -> None:
    if cached.flushed_scopes(session, _ALUMNI_LIST_INPUTS):
        ALUMNI_LIST_FIGURES.changed(session, None)


@event.listens_for(Session, "do_orm_execute")
def _note_bulk_cohort_change(state: ORMExecuteState) -> None:
    if cached.statement_scopes(state, _ALUMNI_LIST_INPUTS) != set():
        ALUMNI_LIST_FIGURES.changed(state.session, None)


@dataclass(frozen=True, slots=True)
class FellowFilters:
    """Filters of the fellows list, from the query string; values not offered are ignored."""

    cohort: str = ""
    status: str = ""
    country: str = ""

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> FellowFilters:
        status = args.get("status", "")
        cohort = args.get("cohort", "")
        return cls(cohort=cohort if _int(cohort) is not None else "",
                   status=status if status in FellowStatus._value2member_map_ else "",
                   country=_country(args.get("country", "")))

    def as_args(self) -> dict[str, str]:
        return {k: v for k, v in asdict(self).items() if v}

    @property
    def active(self) -> bool:
        return bool(self.as_args())


def fellows_query(filters: FellowFilters) -> Select[*tuple[Any, ...]]:
    """Fellows with the columns of the list, newest cohort first."""
    stmt = (select(Fellow.id, Fellow.status, Fellow.home_country, Fellow.host_institution, Fellow.arrival_date,
                   Fellow.planned_return_date, Fellow.actual_return_date, Application.given_name,
                   Application.family_name, Application.reference, Call.year.label("call_year"),
                   Call.title.label("call_title"))
            .join(Application, Application.id == Fellow.application_id)
            .join(Call, Call.id == Fellow.call_id)
            .order_by(Call.year.desc(), Application.family_name, Application.given_name, Fellow.id))
    if filters.cohort:
        stmt = stmt.where(Fellow.call_id == int(filters.cohort))
    if filters.status:
        stmt = stmt.where(Fellow.status == FellowStatus(filters.status))
    if filters.country:
        stmt = stmt.where(Fellow.home_country == filters.country)
    return stmt


def returns_due_query(today: date) -> Select[*tuple[Any, ...]]:
    """Fellows still in Japan past their planned return date, as list columns, the longest overdue first."""
    return (select(Fellow.id, Fellow.host_institution, Fellow.arrival_date, Fellow.planned_return_date,
                   Fellow.home_country, Application.given_name, Application.family_name,
                   Call.year.label("call_year"), Call.title.label("call_title"))
            .join(Application, Application.id == Fellow.application_id)
            .join(Call, Call.id == Fellow.call_id)
            .where(Fellow.status == FellowStatus.IN_JAPAN, Fellow.planned_return_date < today)
            .order_by(Fellow.planned_return_date, Fellow.id))


@dataclass(frozen=True, slots=True)
class AlumniFilters:
    """Filters of the alumni list, from the query string; values not offered are ignored."""

    cohort: str = ""
    country: str = ""
    region: str = ""
    sector: str = ""
    follow_up: str = ""
    lost_contact: str = ""

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> AlumniFilters:
        cohort, region, sector = args.get("cohort", ""), args.get("region", ""), args.get("sector", "")
        follow_up, lost = args.get("follow_up", ""), args.get("lost_contact", "")
        return cls(cohort=cohort if _int(cohort) is not None else "",
                   country=_country(args.get("country", "")),
                   region=region if region in REGIONS else "",
                   sector=sector if sector in Sector._value2member_map_ else "",
                   follow_up=follow_up if (follow_up in FollowUpStatus._value2member_map_
                                           or follow_up == NO_FOLLOW_UP_DUE) else "",
                   lost_contact=lost if lost in LOST_CONTACT_CHOICES else "")

    def as_args(self) -> dict[str, str]:
        return {k: v for k, v in asdict(self).items() if v}

    @property
    def active(self) -> bool:
        return bool(self.as_args())


def alumni_query(filters: AlumniFilters, today: date) -> Select[*tuple[Any, ...]]:
    """Alumni with their current career entry and latest due follow-up, joined by id: no query per row.

    The current career entry is the latest one without an end date; the latest due follow-up is the one with
    the latest due date on or before `today`.
    """
    current_entry = (select(CareerEntry.id).where(CareerEntry.fellow_id == Fellow.id, CareerEntry.end_date.is_(None))
                     .order_by(nulls_last(CareerEntry.start_date.desc()), CareerEntry.id.desc())
                     .limit(1).correlate(Fellow).scalar_subquery())
    latest_due = (select(FollowUp.id).where(FollowUp.fellow_id == Fellow.id, FollowUp.due_on <= today)
                  .order_by(FollowUp.due_on.desc(), FollowUp.id.desc()).limit(1).correlate(Fellow).scalar_subquery())
    stmt = (select(Fellow.id, Fellow.home_country, Fellow.home_region, Fellow.actual_return_date,
                   Fellow.lost_contact_since, Application.given_name, Application.family_name,
                   Call.year.label("call_year"), Call.title.label("call_title"),
                   CareerEntry.position, CareerEntry.organisation, CareerEntry.sector,
                   FollowUp.months_after_return, FollowUp.due_on, FollowUp.status.label("follow_up_status"))
            .join(Application, Application.id == Fellow.application_id)
            .join(Call, Call.id == Fellow.call_id)
            .outerjoin(CareerEntry, CareerEntry.id == current_entry)
            .outerjoin(FollowUp, FollowUp.id == latest_due)
            .where(Fellow.status == FellowStatus.COMPLETED)
            .order_by(Fellow.actual_return_date.desc(), Fellow.id.desc()))
    conditions = _fellow_conditions(filters)
    if filters.sector:
        conditions.append(CareerEntry.sector == Sector(filters.sector))
    if filters.follow_up == NO_FOLLOW_UP_DUE:
        conditions.append(FollowUp.id.is_(None))
    elif filters.follow_up:
        conditions.append(FollowUp.status == FollowUpStatus(filters.follow_up))
    return stmt.where(and_(*conditions)) if conditions else stmt


def _fellow_conditions(filters: AlumniFilters) -> list[ColumnElement[bool]]:
    """The filters on the fellow's own columns (cohort, home country and region, contact)."""
    conditions: list[ColumnElement[bool]] = []
    if filters.cohort:
        conditions.append(Fellow.call_id == int(filters.cohort))
    if filters.country:
        conditions.append(Fellow.home_country == filters.country)
    if filters.region:
        conditions.append(Fellow.home_region == filters.region)
    if filters.lost_contact == "yes":
        conditions.append(Fellow.lost_contact_since.is_not(None))
    elif filters.lost_contact == "no":
        conditions.append(Fellow.lost_contact_since.is_(None))
    return conditions


def cached_alumni_total(filters: AlumniFilters) -> int | None:
    """How many rows `alumni_query` gives, from the cached cohort figures when they tell (no filter, or only the
    cohort); None otherwise."""
    if filters.country or filters.region or filters.sector or filters.follow_up or filters.lost_contact:
        return None
    return sum(c["alumni"] for c in alumni_list_figures()["cohorts"] if not filters.cohort
               or str(c["id"]) == filters.cohort)


def alumni_count(filters: AlumniFilters, today: date) -> Select[Any]:
    """How many rows `alumni_query` gives. Without a career or follow-up filter, counted on fellows alone: the
    outer joins (and their per-row subqueries) never add or drop a row, so only their filters need them."""
    if filters.sector or filters.follow_up:
        return select(func.count()).select_from(alumni_query(filters, today).order_by(None).subquery())
    return select(func.count(Fellow.id)).where(Fellow.status == FellowStatus.COMPLETED, *_fellow_conditions(filters))


NEEDS_ATTENTION = (FollowUpStatus.OVERDUE, FollowUpStatus.LAPSED)


def overdue_follow_ups_query() -> Select[*tuple[Any, ...]]:
    """Follow-ups overdue or lapsed, the oldest due first, with the alumnus's name and cohort."""
    return (select(FollowUp.id, FollowUp.fellow_id, FollowUp.months_after_return, FollowUp.due_on, FollowUp.status,
                   FollowUp.reminders_sent, FollowUp.overdue_at, FollowUp.lapsed_at, Fellow.home_country,
                   Fellow.lost_contact_since, Application.given_name, Application.family_name,
                   Call.year.label("call_year"))
            .join(Fellow, Fellow.id == FollowUp.fellow_id)
            .join(Application, Application.id == Fellow.application_id)
            .join(Call, Call.id == Fellow.call_id)
            .where(FollowUp.status.in_(NEEDS_ATTENTION))
            .order_by(FollowUp.due_on, FollowUp.id))


def attention_counts(today: date) -> tuple[int, int]:
    """(returns due, follow-ups overdue or lapsed) for the staff home page, in one query."""
    returns = (select(func.count(Fellow.id))
               .where(Fellow.status == FellowStatus.IN_JAPAN, Fellow.planned_return_date < today).scalar_subquery())
    overdue = select(func.count(FollowUp.id)).where(FollowUp.status.in_(NEEDS_ATTENTION)).scalar_subquery()
    row = db.session.execute(select(returns, overdue)).one()
    return int(row[0] or 0), int(row[1] or 0)


def lost_contact_query() -> Select[*tuple[Any, ...]]:
    """Alumni flagged lost-contact, the longest lost first."""
    return (select(Fellow.id, Fellow.home_country, Fellow.lost_contact_since, Fellow.actual_return_date,
                   Application.given_name, Application.family_name, Call.year.label("call_year"))
            .join(Application, Application.id == Fellow.application_id)
            .join(Call, Call.id == Fellow.call_id)
            .where(Fellow.lost_contact_since.is_not(None))
            .order_by(Fellow.lost_contact_since, Fellow.id))


@dataclass(frozen=True)
class TimelineItem:
    """One dated event in an alumnus's timeline."""

    on: date
    kind: str  #: application, decision, offer, fellowship, return, career, follow_up, lost_contact
    title: str
    details: list[tuple[str, str]] = field(default_factory=list)
    response: FollowUpResponse | None = None


@dataclass(frozen=True)
class Timeline:
    fellow: Fellow
    application: Application
    call: Call
    items: list[TimelineItem]


def _day(value: datetime | date | None) -> date | None:
    return value.date() if isinstance(value, datetime) else value


def _fmt(value: datetime | date | None) -> str:
    day = _day(value)
    return day.isoformat() if day else ""


def _sector_label(sector: Sector) -> str:
    return sector.label


def timeline(fellow: Fellow) -> Timeline:
    """Application → fellowship → careers → follow-ups of one person as dated items, newest first."""
    application = db.session.get_one(Application, fellow.application_id)
    call = application.call
    decision = db.session.scalar(select(Decision).where(Decision.application_id == application.id))
    offer = db.session.scalar(select(Offer).where(Offer.application_id == application.id)
                              .order_by(Offer.offered_at.desc()).limit(1))
    careers = db.session.scalars(select(CareerEntry).where(CareerEntry.fellow_id == fellow.id)).all()
    follow_ups = db.session.execute(
        select(FollowUp, FollowUpResponse).outerjoin(FollowUpResponse, FollowUpResponse.follow_up_id == FollowUp.id)
        .where(FollowUp.fellow_id == fellow.id)).all()

    items: list[TimelineItem] = []

    def add(on: datetime | date | None, kind: str, title: str, details: list[tuple[str, str]] | None = None,
            response: FollowUpResponse | None = None) -> None:
        day = _day(on)
        if day is not None:
            items.append(TimelineItem(day, kind, title, [(k, v) for k, v in details or [] if v], response))

    # Statuses as their labels in lower case: in English the words the page always showed ("accept", "declined").
    add(application.submitted_at, "application", _("Applied to %(call)s", call=call.title),
        [(_("Reference"), application.reference or ""), (_("Cohort"), f"{call.year} · {call.title}")])
    if decision is not None:
        add(decision.sent_at or decision.decided_at, "decision",
            _("Decision: %(outcome)s", outcome=decision.outcome.label.lower()), [(_("Reason"), decision.shown_reason)])
    if offer is not None and offer.responded_at is not None:
        add(offer.responded_at, "offer", _("Offer %(status)s", status=offer.status.label.lower()))
    add(fellow.arrival_date, "fellowship", _("Arrived in Japan"),
        [(_("Host institution"), fellow.host_institution or ""), (_("Supervisor"), fellow.supervisor or ""),
         (_("Study programme"), fellow.study_programme or ""),
         (_("Planned return"), _fmt(fellow.planned_return_date))])
    add(fellow.actual_return_date, "return", _("Returned home"))
    for entry in careers:
        add(entry.start_date or entry.created_at, "career", f"{entry.position}, {entry.organisation}",
            [(_("Sector"), _sector_label(entry.sector)), (_("Country"), country_name(entry.country)),
             (_("Environmental work"), _("Yes") if entry.environmental else _("No")),
             (_("Leadership level"), entry.leadership_level.label),
             (_("Until"), _fmt(entry.end_date) if entry.end_date else _("current"))])
    for follow_up, response in follow_ups:
        add(follow_up.due_on, "follow_up",
            ngettext("Follow-up at %(num)d month: %(status)s", "Follow-up at %(num)d months: %(status)s",
                     follow_up.months_after_return, status=follow_up.status.label.lower()),
            [(_("Due"), _fmt(follow_up.due_on)), (_("Sent"), _fmt(follow_up.sent_at)),
             (_("Reminders"), str(follow_up.reminders_sent) if follow_up.reminders_sent else ""),
             (_("Last reminded"), _fmt(follow_up.last_reminded_at)),
             (_("Overdue since"), _fmt(follow_up.overdue_at)),
             (_("Lapsed"), _fmt(follow_up.lapsed_at)), (_("Answered"), _fmt(follow_up.completed_at))], response)
    add(fellow.lost_contact_since, "lost_contact", _("Lost contact"))
    order = {k: i for i, k in enumerate(("application", "decision", "offer", "fellowship", "return", "career",
                                          "follow_up", "lost_contact"))}
    items.sort(key=lambda item: (item.on, order[item.kind]), reverse=True)
    return Timeline(fellow=fellow, application=application, call=call, items=items)

