"""Fellows: accepted applicants who took the offer, from arrival to return (scope fellows:read, staff)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask_smorest import Blueprint, abort
from sqlalchemy import Row, select

from fellowship.api.auth import token_required
from fellowship.api.pagination import CursorPage, decode_cursor, encode_cursor, link_header
from fellowship.api.schemas import ID, PageArgsSchema, PageSchema
from fellowship.applications.models import Application
from fellowship.auth.tokens import Scope
from fellowship.calls.models import Call
from fellowship.extensions import db
from fellowship.fellows.models import Fellow, FellowStatus

blp = Blueprint("api_fellows", __name__, url_prefix="/api/v1/fellows",
                description="Fellows, each with their cohort and time in Japan (scope fellows:read).")

COUNTRY = ma.validate.Regexp(r"^[A-Z]{2}$", error="An ISO 3166-1 alpha-2 code in capitals, such as KE.")


class CohortSchema(ma.Schema):
    id = ma.fields.Integer(required=True, metadata={"description": "The call the fellow was selected in."})
    title = ma.fields.String(required=True)
    year = ma.fields.Integer(required=True)


class FellowSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    application_id = ma.fields.Integer(required=True)
    reference = ma.fields.String(required=True, allow_none=True)
    given_name = ma.fields.String(required=True, allow_none=True)
    family_name = ma.fields.String(required=True, allow_none=True)
    cohort = ma.fields.Nested(CohortSchema, required=True)
    status = ma.fields.String(required=True, validate=ma.validate.OneOf([s.value for s in FellowStatus]),
                              metadata={"enum": [s.value for s in FellowStatus]})
    home_country = ma.fields.String(required=True, metadata={"description": "ISO alpha-2."})
    home_region = ma.fields.String(required=True, allow_none=True, metadata={"description": "UN M49 region."})
    host_institution = ma.fields.String(required=True, allow_none=True)
    supervisor = ma.fields.String(required=True, allow_none=True)
    study_programme = ma.fields.String(required=True, allow_none=True)
    arrival_date = ma.fields.Date(required=True, allow_none=True)
    planned_return_date = ma.fields.Date(required=True, allow_none=True)
    actual_return_date = ma.fields.Date(required=True, allow_none=True)
    lost_contact_since = ma.fields.AwareDateTime(required=True, allow_none=True)
    directory_opt_in = ma.fields.Boolean(required=True)


class FellowPageSchema(PageSchema):
    items = ma.fields.List(ma.fields.Nested(FellowSchema), required=True)


class FellowArgsSchema(PageArgsSchema):
    cohort = ma.fields.Integer(validate=ma.validate.Range(min=1, max=2**31 - 1), metadata={
        "description": "Only the fellows selected in this call (its id)."})
    status = ma.fields.String(validate=ma.validate.OneOf([s.value for s in FellowStatus]),
                              metadata={"enum": [s.value for s in FellowStatus]})
    country = ma.fields.String(validate=COUNTRY, metadata={"description": "Only fellows from this home country."})


def _fellow_columns() -> Any:
    return (select(Fellow.id, Fellow.application_id, Application.reference, Application.given_name,
                   Application.family_name, Fellow.call_id, Call.title.label("call_title"),
                   Call.year.label("call_year"), Fellow.status, Fellow.home_country, Fellow.home_region,
                   Fellow.host_institution, Fellow.supervisor, Fellow.study_programme, Fellow.arrival_date,
                   Fellow.planned_return_date, Fellow.actual_return_date, Fellow.lost_contact_since,
                   Fellow.directory_opt_in)
            .join(Application, Application.id == Fellow.application_id)
            .join(Call, Call.id == Fellow.call_id))


def fellow_out(row: Row[Any]) -> dict[str, Any]:
    return {"id": row.id, "application_id": row.application_id, "reference": row.reference,
            "given_name": row.given_name, "family_name": row.family_name,
            "cohort": {"id": row.call_id, "title": row.call_title, "year": row.call_year},
            "status": FellowStatus(row.status).value, "home_country": row.home_country,
            "home_region": row.home_region, "host_institution": row.host_institution,
            "supervisor": row.supervisor, "study_programme": row.study_programme,
            "arrival_date": row.arrival_date, "planned_return_date": row.planned_return_date,
            "actual_return_date": row.actual_return_date, "lost_contact_since": row.lost_contact_since,
            "directory_opt_in": row.directory_opt_in}


@blp.route("")
@token_required(Scope.FELLOWS_READ)
@blp.arguments(FellowArgsSchema, location="query", as_kwargs=True)
@blp.response(200, FellowPageSchema)
def list_fellows(cursor: str | None = None, limit: int = 50, cohort: int | None = None, status: str | None = None,
                 country: str | None = None) -> Any:
    """Fellows by id (every status: pre-arrival, in Japan, completed, withdrawn), filtered by cohort, status and
    home country; one statement per page."""
    stmt = _fellow_columns()
    if cohort is not None:
        stmt = stmt.where(Fellow.call_id == cohort)
    if status:
        stmt = stmt.where(Fellow.status == FellowStatus(status))
    if country:
        stmt = stmt.where(Fellow.home_country == country)
    if cursor:
        stmt = stmt.where(Fellow.id > decode_cursor(cursor))
    rows = db.session.execute(stmt.order_by(Fellow.id).limit(limit + 1)).all()
    page = CursorPage(items=rows[:limit], next_cursor=encode_cursor(rows[limit - 1].id) if len(rows) > limit else None)
    return {"items": [fellow_out(row) for row in page.items], "next_cursor": page.next_cursor}, 200, link_header(page)


@blp.route(f"/<{ID}:fellow_id>")
@token_required(Scope.FELLOWS_READ)
@blp.response(200, FellowSchema)
@blp.alt_response(404, response="NOT_FOUND")
def get_fellow(fellow_id: int) -> Any:
    """One fellow."""
    row = db.session.execute(_fellow_columns().where(Fellow.id == fellow_id)).first()
    if row is None:
        abort(404)
    assert row is not None
    return fellow_out(row)
