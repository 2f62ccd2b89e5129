"""Calls, as the public site shows them: open and past calls, never drafts. No token needed."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask_smorest import Blueprint, abort
from sqlalchemy import select

from fellowship.api.pagination import link_header, paginate_by_cursor
from fellowship.api.schemas import ID, PageArgsSchema, PageSchema
from fellowship.calls import services as call_services
from fellowship.calls.models import Call, CallStatus
from fellowship.extensions import db

blp = Blueprint("api_calls", __name__, url_prefix="/api/v1/calls",
                description="The programme's calls for applications, open and past (public; no token needed).")

PUBLIC_STATUSES = [status for status in CallStatus if status is not CallStatus.DRAFT]


class ProgrammeSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    time_zone = ma.fields.String(required=True, metadata={"description": "The programme's IANA time zone."})


class CallSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    title = ma.fields.String(required=True)
    description = ma.fields.String(required=True)
    year = ma.fields.Integer(required=True)
    status = ma.fields.String(required=True, validate=ma.validate.OneOf([s.value for s in PUBLIC_STATUSES]),
                              metadata={"enum": [s.value for s in PUBLIC_STATUSES]})
    accepting_applications = ma.fields.Boolean(required=True, metadata={
        "description": "Whether the call takes applications now (open, and between its opening and closing)."})
    opens_at = ma.fields.AwareDateTime(required=True)
    closes_at = ma.fields.AwareDateTime(required=True)
    places = ma.fields.Integer(required=True)
    programme = ma.fields.Nested(ProgrammeSchema, required=True)
    eligible_countries = ma.fields.List(ma.fields.String(), required=True, metadata={
        "description": "ISO 3166-1 alpha-2 codes; empty: every country."})
    max_age = ma.fields.Integer(allow_none=True, required=True)
    required_documents = ma.fields.List(ma.fields.String(), required=True)
    references_required = ma.fields.Integer(required=True)


class CallPageSchema(PageSchema):
    items = ma.fields.List(ma.fields.Nested(CallSchema), required=True)


class CallArgsSchema(PageArgsSchema):
    status = ma.fields.String(validate=ma.validate.OneOf([s.value for s in PUBLIC_STATUSES]),
                              metadata={"description": "Only calls in this state."})


def call_out(call: Call) -> dict[str, Any]:
    return {"id": call.id, "title": call.title, "description": call.description, "year": call.year,
            "status": call.status.value, "accepting_applications": call_services.is_accepting(call),
            "opens_at": call.opens_at, "closes_at": call.closes_at, "places": call.places,
            "programme": call.programme, "eligible_countries": call.eligible_countries or [],
            "max_age": call.max_age, "required_documents": call.required_documents or [],
            "references_required": call.references_required}


@blp.route("")
@blp.arguments(CallArgsSchema, location="query", as_kwargs=True)
@blp.alt_response(400, response="BAD_REQUEST")
@blp.response(200, CallPageSchema)
def list_calls(cursor: str | None = None, limit: int = 50, status: str | None = None) -> Any:
    """Calls, oldest first: every call the public site shows (open and past, never drafts)."""
    stmt = select(Call).where(Call.status.in_(PUBLIC_STATUSES))
    if status:
        stmt = stmt.where(Call.status == CallStatus(status))
    page = paginate_by_cursor(stmt, Call.id, cursor=cursor, limit=limit)
    return {"items": [call_out(call) for call in page.items], "next_cursor": page.next_cursor}, 200, link_header(page)


@blp.route(f"/<{ID}:call_id>")
@blp.response(200, CallSchema)
@blp.alt_response(404, response="NOT_FOUND")
def get_call(call_id: int) -> Any:
    """One call (a draft is not found)."""
    call = db.session.get(Call, call_id)
    if call is None or call.status is CallStatus.DRAFT:
        abort(404)
    assert call is not None
    return call_out(call)
