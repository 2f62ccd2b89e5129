"""Alumni and their outcome indicators (scope alumni:read, staff).

`/alumni/outcomes` gives the figures staff see on /staff/outcomes (fellowship.alumni.outcomes: the same cached
grouped query, the same definitions), for all cohorts or one; `/alumni` lists the alumni with their current career
and latest due follow-up, with the staff alumni list's filters (fellowship.fellows.queries).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import marshmallow as ma
from flask_smorest import Blueprint, abort
from sqlalchemy import Row

from fellowship.alumni import outcomes
from fellowship.alumni.models import FollowUpStatus
from fellowship.api.auth import token_required
from fellowship.api.fellows import COUNTRY, CohortSchema
from fellowship.api.pagination import CursorPage, decode_cursor, encode_cursor, link_header
from fellowship.api.schemas import PageArgsSchema, PageSchema
from fellowship.applications.models import Sector
from fellowship.auth.tokens import Scope
from fellowship.extensions import db
from fellowship.fellows import queries
from fellowship.fellows.models import Fellow
from fellowship.geo import REGIONS

blp = Blueprint("api_alumni", __name__, url_prefix="/api/v1/alumni",
                description="Alumni and the programme's outcome figures (scope alumni:read).")

FOLLOW_UP_FILTERS = [*(s.value for s in FollowUpStatus), queries.NO_FOLLOW_UP_DUE]


def _rate(description: str) -> ma.fields.Float:
    return ma.fields.Float(required=True, allow_none=True, metadata={
        "description": f"{description} (0 to 1); null when its denominator is zero."})


class FiguresSchema(ma.Schema):
    """Outcome counts of one group of alumni, and the rates the dashboard derives from them."""

    key = ma.fields.String(required=True, metadata={
        "description": "The group: 'all', a call id (cohort), a UN M49 region or 'Unknown', an alpha-2 code."})
    label = ma.fields.String(required=True)
    alumni = ma.fields.Integer(required=True)
    answered = ma.fields.Integer(required=True, metadata={"description": "Alumni who answered a follow-up."})
    returned = ma.fields.Integer(required=True, metadata={
        "description": "Of those, living in their home region according to their latest answer."})
    with_career = ma.fields.Integer(required=True, metadata={"description": "Alumni with a current career entry."})
    environmental = ma.fields.Integer(required=True)
    leadership = ma.fields.Integer(required=True)
    followups_sent = ma.fields.Integer(required=True)
    followups_completed = ma.fields.Integer(required=True)
    overdue = ma.fields.Integer(required=True)
    lapsed = ma.fields.Integer(required=True)
    lost_contact = ma.fields.Integer(required=True)
    return_rate = _rate("returned / answered")
    environmental_share = _rate("environmental / with_career")
    leadership_share = _rate("leadership / with_career")
    response_rate = _rate("followups_completed / followups_sent")


class OutcomesSchema(ma.Schema):
    cohort_id = ma.fields.Integer(required=True, allow_none=True, metadata={"description": "Null: all cohorts."})
    cohort_label = ma.fields.String(required=True)
    overall = ma.fields.Nested(FiguresSchema, required=True)
    by_region = ma.fields.List(ma.fields.Nested(FiguresSchema), required=True, metadata={
        "description": "By home region (UN M49), by name."})
    by_country = ma.fields.List(ma.fields.Nested(FiguresSchema), required=True, metadata={
        "description": "By home country, most alumni first."})
    cohorts = ma.fields.List(ma.fields.Nested(FiguresSchema), required=True, metadata={
        "description": "Every cohort with alumni compared (whatever `cohort` is), oldest first."})


class OutcomesArgsSchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    cohort = ma.fields.Integer(validate=ma.validate.Range(min=1, max=2**31 - 1), metadata={
        "description": "A cohort (the call id of a call with fellows); omit for all cohorts."})


def figures_out(figures: outcomes.Figures) -> dict[str, Any]:
    return {"key": figures.key, "label": figures.label, "alumni": figures.alumni, "answered": figures.answered,
            "returned": figures.returned, "with_career": figures.with_career,
            "environmental": figures.environmental, "leadership": figures.leadership,
            "followups_sent": figures.followups_sent, "followups_completed": figures.followups_completed,
            "overdue": figures.overdue, "lapsed": figures.lapsed, "lost_contact": figures.lost_contact,
            "return_rate": figures.return_rate, "environmental_share": figures.environmental_share,
            "leadership_share": figures.leadership_share, "response_rate": figures.response_rate}


@blp.route("/outcomes")
@token_required(Scope.ALUMNI_READ)
@blp.arguments(OutcomesArgsSchema, location="query", as_kwargs=True)
@blp.response(200, OutcomesSchema)
@blp.alt_response(404, response="NOT_FOUND")
def get_outcomes(cohort: int | None = None) -> Any:
    """The outcome figures of the staff dashboard: overall, by home region, by home country, and the cohorts
    compared; for all cohorts or one (a call without fellows is not found)."""
    if cohort is not None and cohort not in {c.id for c in outcomes.cohorts()}:
        abort(404, message="No cohort with this id: pass the id of a call with fellows.")
    grouped = outcomes.grouped_figures()
    data = outcomes.outcomes(cohort, grouped)
    return {"cohort_id": data.cohort_id, "cohort_label": data.cohort_label, "overall": figures_out(data.overall),
            "by_region": [figures_out(f) for f in data.by_region],
            "by_country": [figures_out(f) for f in data.by_country],
            "cohorts": [figures_out(f) for f in outcomes.cohort_comparison(grouped)]}


class CareerSchema(ma.Schema):
    position = ma.fields.String(required=True)
    organisation = ma.fields.String(required=True)
    sector = ma.fields.String(required=True, validate=ma.validate.OneOf([s.value for s in Sector]),
                              metadata={"enum": [s.value for s in Sector]})


class LatestFollowUpSchema(ma.Schema):
    months_after_return = ma.fields.Integer(required=True)
    due_on = ma.fields.Date(required=True)
    status = ma.fields.String(required=True, validate=ma.validate.OneOf([s.value for s in FollowUpStatus]),
                              metadata={"enum": [s.value for s in FollowUpStatus]})


class AlumnusSchema(ma.Schema):
    id = ma.fields.Integer(required=True, metadata={"description": "The fellow's id (as in /api/v1/fellows)."})
    given_name = ma.fields.String(required=True, allow_none=True)
    family_name = ma.fields.String(required=True, allow_none=True)
    cohort = ma.fields.Nested(CohortSchema, required=True)
    home_country = ma.fields.String(required=True)
    home_region = ma.fields.String(required=True, allow_none=True)
    actual_return_date = ma.fields.Date(required=True, allow_none=True)
    lost_contact_since = ma.fields.AwareDateTime(required=True, allow_none=True)
    current_career = ma.fields.Nested(CareerSchema, required=True, allow_none=True, metadata={
        "description": "The latest career entry without an end date; null when none."})
    latest_follow_up = ma.fields.Nested(LatestFollowUpSchema, required=True, allow_none=True, metadata={
        "description": "The follow-up with the latest due date up to today; null when none is due yet."})


class AlumnusPageSchema(PageSchema):
    items = ma.fields.List(ma.fields.Nested(AlumnusSchema), required=True)


class AlumniArgsSchema(PageArgsSchema):
    cohort = ma.fields.Integer(validate=ma.validate.Range(min=1, max=2**31 - 1),
                               metadata={"description": "A cohort (call id)."})
    country = ma.fields.String(validate=COUNTRY, metadata={"description": "Home country (alpha-2)."})
    region = ma.fields.String(validate=ma.validate.OneOf(REGIONS), metadata={"enum": list(REGIONS)})
    sector = ma.fields.String(validate=ma.validate.OneOf([s.value for s in Sector]), metadata={
        "enum": [s.value for s in Sector], "description": "The current career's sector."})
    follow_up = ma.fields.String(validate=ma.validate.OneOf(FOLLOW_UP_FILTERS), metadata={
        "enum": FOLLOW_UP_FILTERS, "description": "The latest due follow-up's status; 'none': none due yet."})
    lost_contact = ma.fields.String(validate=ma.validate.OneOf(["yes", "no"]), metadata={"enum": ["yes", "no"]})


def alumnus_out(row: Row[Any]) -> dict[str, Any]:
    career = ({"position": row.position, "organisation": row.organisation, "sector": Sector(row.sector).value}
              if row.position is not None else None)
    follow_up = ({"months_after_return": row.months_after_return, "due_on": row.due_on,
                  "status": FollowUpStatus(row.follow_up_status).value} if row.due_on is not None else None)
    return {"id": row.id, "given_name": row.given_name, "family_name": row.family_name,
            "cohort": {"id": row.call_id, "title": row.call_title, "year": row.call_year},
            "home_country": row.home_country, "home_region": row.home_region,
            "actual_return_date": row.actual_return_date, "lost_contact_since": row.lost_contact_since,
            "current_career": career, "latest_follow_up": follow_up}


@blp.route("")
@token_required(Scope.ALUMNI_READ)
@blp.arguments(AlumniArgsSchema, location="query", as_kwargs=True)
@blp.response(200, AlumnusPageSchema)
def list_alumni(cursor: str | None = None, limit: int = 50, cohort: int | None = None, country: str = "",
                region: str = "", sector: str = "", follow_up: str = "", lost_contact: str = "") -> Any:
    """Alumni (fellows who completed the fellowship) by id, with their current career and latest due follow-up;
    the staff alumni list's filters. One statement per page."""
    filters = queries.AlumniFilters(cohort=str(cohort) if cohort is not None else "", country=country, region=region,
                                    sector=sector, follow_up=follow_up, lost_contact=lost_contact)
    stmt = queries.alumni_query(filters, date.today()).add_columns(Fellow.call_id).order_by(None)
    if cursor:
        stmt = stmt.where(Fellow.id > decode_cursor(cursor))
    rows = db.session.execute(stmt.order_by(Fellow.id).limit(limit + 1)).all()
    page = CursorPage(items=rows[:limit], next_cursor=encode_cursor(rows[limit - 1].id) if len(rows) > limit else None)
    return {"items": [alumnus_out(row) for row in page.items], "next_cursor": page.next_cursor}, 200, link_header(page)
