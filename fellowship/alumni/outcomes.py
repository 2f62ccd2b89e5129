"""Outcome figures of the programme, per cohort or across cohorts, computed by the database.

Every figure is a GROUP BY with conditional aggregates over one row per alumnus (fellows with status COMPLETED);
nothing loops over alumni in Python. The dashboard runs ONE such query, grouped by (cohort, home country, home
region), and adds those few rows up in Python for each view (overall, by region, by country, by cohort); its rows
are cached in Redis until a change to fellows, follow-ups, answers or careers commits (`grouped_figures`).

Definitions (the dashboard's footnotes repeat them):
- return rate: alumni whose latest answered follow-up gives a country of residence in their home UN M49 region,
  over alumni who answered at least one follow-up. Alumni who never answered are left out of the denominator:
  where they live is unknown, and counting them as "not returned" would punish silence, not emigration.
- environmental / leadership share: over alumni with a current career entry (one without an end date);
  leadership = any level above staff (LeadershipLevel.is_leadership).
- follow-up response rate: completed over follow-ups already sent (sent, reminded, overdue, lapsed, completed);
  scheduled ones are not yet due and do not count.

The country -> region mapping comes from fellowship/data/m49.csv (through fellowship.geo). SQL cannot call
region_of, so it is written into the query as a CASE with one IN-list per region: the same text on PostgreSQL and
SQLite (SQLite has no `VALUES ... AS t(col, ...)` alias list), with no temporary table to create or clean up, and
only five branches for the planner to evaluate per row.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Select, and_, case, event, func, literal, select
from sqlalchemy.orm import ORMExecuteState, Session

from fellowship import cached
from fellowship.alumni.models import CareerEntry, FollowUp, FollowUpResponse, FollowUpStatus, LeadershipLevel
from fellowship.calls.models import Call
from fellowship.extensions import db
from fellowship.fellows.models import Fellow, FellowStatus
from fellowship.geo import REGIONS, country_choices, country_name, region_name, region_of
from fellowship.words import N_

#: Follow-ups that have been sent (whatever happened next): the response rate's denominator.
SENT_STATUSES = (FollowUpStatus.SENT, FollowUpStatus.REMINDED, FollowUpStatus.OVERDUE, FollowUpStatus.LAPSED,
                 FollowUpStatus.COMPLETED)
#: The home region of rows whose region is unknown (a value in the query; shown translated).
UNKNOWN = N_("Unknown")


@dataclass(frozen=True, slots=True)
class Figures:
    """Outcome counts of one group of alumni (a cohort, a region, a country, or all); rates are derived."""

    key: str  #: the group's value (call id, region, alpha-2 code, or "all")
    label: str  #: what a reader sees
    alumni: int
    answered: int  #: alumni with at least one follow-up answer: the return rate's denominator
    returned: int  #: of those, living in their home region according to their latest answer
    with_career: int  #: alumni with a current career entry: the shares' denominator
    environmental: int
    leadership: int
    followups_sent: int
    followups_completed: int
    overdue: int
    lapsed: int
    lost_contact: int

    @staticmethod
    def _rate(numerator: int, denominator: int) -> float | None:
        return numerator / denominator if denominator else None

    @property
    def return_rate(self) -> float | None:
        return self._rate(self.returned, self.answered)

    @property
    def environmental_share(self) -> float | None:
        return self._rate(self.environmental, self.with_career)

    @property
    def leadership_share(self) -> float | None:
        return self._rate(self.leadership, self.with_career)

    @property
    def response_rate(self) -> float | None:
        return self._rate(self.followups_completed, self.followups_sent)


@dataclass(frozen=True, slots=True)
class Outcomes:
    """The figures of one cohort (or of all cohorts): overall, by home region and by home country."""

    cohort_id: int | None
    cohort_label: str
    overall: Figures
    by_region: list[Figures]
    by_country: list[Figures]  #: most alumni first


@dataclass(frozen=True, slots=True)
class Cohort:
    id: int
    title: str
    year: int


def percent(value: float | None) -> str:
    """A rate as readers see it: '75.0%', or 'n/a' when its denominator is zero."""
    return "n/a" if value is None else f"{value * 100:.1f}%"


@functools.cache
def _countries_by_region() -> dict[str, tuple[str, ...]]:
    """Alpha-2 codes of each M49 region, from the shipped table."""
    codes = [code for code, _ in country_choices()]
    return {region: tuple(sorted(c for c in codes if region_of(c) == region)) for region in REGIONS}


def region_expression(country: Any) -> ColumnElement[str | None]:
    """SQL for the M49 region of a country column (NULL for unknown codes): region_of, inside the query."""
    return case(*((country.in_(codes), literal(region)) for region, codes in _countries_by_region().items()),
                else_=None)


def latest_response(fellow_ids: Sequence[int] | None = None) -> Any:
    """Each alumnus's latest follow-up answer (country of residence), one row per fellow (of `fellow_ids`)."""
    stmt = select(FollowUpResponse.fellow_id, FollowUpResponse.country_of_residence,
                    func.row_number().over(partition_by=FollowUpResponse.fellow_id,
                                           order_by=(FollowUpResponse.submitted_at.desc(),
                                                     FollowUpResponse.id.desc())).label("rn"))
    if fellow_ids is not None:
        stmt = stmt.where(FollowUpResponse.fellow_id.in_(fellow_ids))
    ranked = stmt.subquery()
    return select(ranked.c.fellow_id, ranked.c.country_of_residence).where(ranked.c.rn == 1).subquery("latest")


def current_career(fellow_ids: Sequence[int] | None = None) -> Any:
    """Each alumnus's current career entry (no end date; the newest if several), one row per fellow."""
    stmt = select(CareerEntry.fellow_id, CareerEntry.environmental, CareerEntry.leadership_level,
                    CareerEntry.position, CareerEntry.organisation, CareerEntry.country, CareerEntry.sector,
                    func.row_number().over(partition_by=CareerEntry.fellow_id,
                                           order_by=(CareerEntry.start_date.desc(), CareerEntry.id.desc()))
                    .label("rn")).where(CareerEntry.end_date.is_(None))
    if fellow_ids is not None:
        stmt = stmt.where(CareerEntry.fellow_id.in_(fellow_ids))
    ranked = stmt.subquery()
    return select(ranked).where(ranked.c.rn == 1).subquery("career")


def followup_counts(fellow_ids: Sequence[int] | None = None) -> Any:
    """Per fellow: follow-ups sent, completed, overdue and lapsed."""
    def count_of(*statuses: FollowUpStatus) -> ColumnElement[int]:
        return func.sum(case((FollowUp.status.in_(statuses), 1), else_=0))

    stmt = (select(FollowUp.fellow_id, count_of(*SENT_STATUSES).label("sent"),
                   count_of(FollowUpStatus.COMPLETED).label("completed"),
                   count_of(FollowUpStatus.OVERDUE).label("overdue"), count_of(FollowUpStatus.LAPSED).label("lapsed"),
                   func.min(case((FollowUp.status == FollowUpStatus.SCHEDULED, FollowUp.due_on))).label("next_due"))
            .group_by(FollowUp.fellow_id))
    if fellow_ids is not None:
        stmt = stmt.where(FollowUp.fellow_id.in_(fellow_ids))
    return stmt.subquery("followups")


def home_region_column() -> ColumnElement[str]:
    """The fellow's stored home region, else derived from the home country, else 'Unknown'."""
    return func.coalesce(Fellow.home_region, region_expression(Fellow.home_country), literal(UNKNOWN))


def _alumni_rows(cohort_id: int | None) -> Any:
    """One row per alumnus: grouping keys and 0/1 flags (and follow-up counts) to sum up."""
    latest, career, followups = latest_response(), current_career(), followup_counts()

    def flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return case((condition, 1), else_=0)

    home_region = home_region_column()
    stmt = (
        select(Fellow.id.label("fellow_id"), Fellow.call_id, Fellow.home_country, home_region.label("home_region"),
               flag(latest.c.fellow_id.is_not(None)).label("answered"),
               flag(and_(latest.c.fellow_id.is_not(None),
                         region_expression(latest.c.country_of_residence) == home_region)).label("returned"),
               flag(career.c.fellow_id.is_not(None)).label("with_career"),
               flag(career.c.environmental.is_(True)).label("environmental"),
               flag(and_(career.c.fellow_id.is_not(None), career.c.leadership_level != LeadershipLevel.STAFF))
               .label("leadership"),
               func.coalesce(followups.c.sent, 0).label("followups_sent"),
               func.coalesce(followups.c.completed, 0).label("followups_completed"),
               func.coalesce(followups.c.overdue, 0).label("overdue"),
               func.coalesce(followups.c.lapsed, 0).label("lapsed"),
               flag(Fellow.lost_contact_since.is_not(None)).label("lost_contact"))
        .outerjoin(latest, latest.c.fellow_id == Fellow.id)
        .outerjoin(career, career.c.fellow_id == Fellow.id)
        .outerjoin(followups, followups.c.fellow_id == Fellow.id)
        .where(Fellow.status == FellowStatus.COMPLETED)
    )
    if cohort_id is not None:
        stmt = stmt.where(Fellow.call_id == cohort_id)
    return stmt.subquery("alumni")


_SUMMED = ("answered", "returned", "with_career", "environmental", "leadership", "followups_sent",
           "followups_completed", "overdue", "lapsed", "lost_contact")


def _figures_query(group: str | None, cohort_id: int | None) -> Select[*tuple[Any, ...]]:
    """Aggregates over the alumni (of one cohort, or all), one row per value of the column `group` (or one row)."""
    rows = _alumni_rows(cohort_id)
    sums = [func.coalesce(func.sum(rows.c[name]), 0).label(name) for name in _SUMMED]
    if group is None:
        return select(literal("all").label("key"), func.count(rows.c.fellow_id).label("alumni"), *sums)
    key = rows.c[group]
    return select(key.label("key"), func.count(rows.c.fellow_id).label("alumni"), *sums).group_by(key)


def _row_figures(row: Any, label: str) -> Figures:
    return Figures(key=str(row.key), label=label, alumni=row.alumni, answered=int(row.answered),
                   returned=int(row.returned), with_career=int(row.with_career),
                   environmental=int(row.environmental), leadership=int(row.leadership),
                   followups_sent=int(row.followups_sent), followups_completed=int(row.followups_completed),
                   overdue=int(row.overdue), lapsed=int(row.lapsed), lost_contact=int(row.lost_contact))


def cohort_label(cohort_id: int | None) -> str:
    """'All cohorts', or the call's title."""
    if cohort_id is None:
        return _("All cohorts")
    return db.session.scalar(select(Call.title).where(Call.id == cohort_id)) or _("Cohort %(id)d", id=cohort_id)


# --- The dashboard: one grouped query, cached until an input changes --------------------------------------------

#: Rows of these tables feed the figures: a committed change to any of them makes the cached figures stale.
OUTCOME_INPUTS: tuple[type, ...] = (Fellow, FollowUp, FollowUpResponse, CareerEntry)
FIGURES = cached.aggregate("outcome-figures")


def _group_rows() -> list[dict[str, Any]]:
    """The figures summed per (cohort, home country, home region): everything the dashboard rolls up, one query."""
    rows = _alumni_rows(None)
    sums = [func.coalesce(func.sum(rows.c[name]), 0).label(name) for name in _SUMMED]
    stmt = (select(rows.c.call_id, rows.c.home_country, rows.c.home_region,
                   func.count(rows.c.fellow_id).label("alumni"), *sums)
            .group_by(rows.c.call_id, rows.c.home_country, rows.c.home_region))
    return [{"call_id": r.call_id, "home_country": r.home_country, "home_region": r.home_region,
             "alumni": int(r.alumni), **{name: int(r._mapping[name]) for name in _SUMMED}}
            for r in db.session.execute(stmt)]


def grouped_figures() -> list[dict[str, Any]]:
    """`_group_rows`, cached until a change to fellows, follow-ups, answers or careers commits."""
    return FIGURES.get("all", _group_rows)


@event.listens_for(Session, "after_flush")
def _note_changed_inputs(session: Session, _context: Any) -> None:
    if any(isinstance(obj, OUTCOME_INPUTS) for group in (session.new, session.dirty, session.deleted)
           for obj in group):
        FIGURES.changed(session, None)


@event.listens_for(Session, "do_orm_execute")
def _note_bulk_change(state: ORMExecuteState) -> None:
    if ((state.is_insert or state.is_update or state.is_delete) and state.bind_mapper is not None
            and issubclass(state.bind_mapper.class_, OUTCOME_INPUTS)):
        FIGURES.changed(state.session, None)


def _add(total: dict[str, int], row: dict[str, Any]) -> None:
    for name in ("alumni", *_SUMMED):
        total[name] = total.get(name, 0) + row[name]


def _figures(key: Any, label: str, total: dict[str, int]) -> Figures:
    return Figures(key=str(key), label=label, **{name: total.get(name, 0) for name in ("alumni", *_SUMMED)})


def _rolled_up(rows: list[dict[str, Any]], column: str) -> dict[Any, dict[str, int]]:
    totals: dict[Any, dict[str, int]] = {}
    for row in rows:
        _add(totals.setdefault(row[column], {}), row)
    return totals


def outcomes(cohort_id: int | None = None, grouped: list[dict[str, Any]] | None = None) -> Outcomes:
    """The figures of one cohort (a call id) or of all cohorts: overall, by home region and by home country.

    `grouped` is `grouped_figures()` when the caller already has it."""
    if grouped is None:
        grouped = grouped_figures()
    rows = [r for r in grouped if cohort_id is None or r["call_id"] == cohort_id]
    overall: dict[str, int] = {}
    for row in rows:
        _add(overall, row)
    regions = _rolled_up(rows, "home_region")
    by_region = [_figures(key, _(UNKNOWN) if key == UNKNOWN else region_name(key), regions[key])
                 for key in sorted(regions)]
    countries = _rolled_up(rows, "home_country")
    order = sorted(countries, key=lambda k: (-countries[k]["alumni"], k is None, k or ""))
    by_country = [_figures(key, country_name(key), countries[key]) for key in order]
    return Outcomes(cohort_id, cohort_label(cohort_id), _figures("all", _("All alumni"), overall), by_region,
                    by_country)


def cohort_comparison(grouped: list[dict[str, Any]] | None = None) -> list[Figures]:
    """The overall figures of every cohort that has alumni, oldest first."""
    per_cohort = _rolled_up(grouped_figures() if grouped is None else grouped, "call_id")
    if not per_cohort:
        return []
    calls = db.session.execute(select(Call.id, Call.title, Call.year).where(Call.id.in_(list(per_cohort)))
                               .order_by(Call.year, Call.id)).all()
    return [_figures(call.id, call.title, per_cohort[call.id]) for call in calls]


def cohorts() -> Sequence[Cohort]:
    """Calls that have at least one fellow, newest first: the dashboard's cohort selector."""
    rows = db.session.execute(select(Call.id, Call.title, Call.year)
                              .where(select(Fellow.id).where(Fellow.call_id == Call.id).exists())
                              .order_by(Call.year.desc(), Call.id.desc())).all()
    return [Cohort(row.id, row.title, row.year) for row in rows]
