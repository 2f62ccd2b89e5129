"""Applications and their answers (scope applications:read).

Staff and admins see every application, as on the staff pages; any other token sees only its owner's own
applications (another's is not found, as on the site). Reviewers read what they review through reviews:read.
Answers are those the staff detail page shows (the questionnaire engine's read-only text, conditional questions
that are hidden left out); documents are metadata only, never their contents.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask_smorest import Blueprint
from sqlalchemy import select
from sqlalchemy.orm import raiseload

from fellowship.api.auth import current_api_user, token_required
from fellowship.api.pagination import link_header, paginate_by_cursor
from fellowship.api.schemas import ID, PageArgsSchema, PageSchema
from fellowship.applications import staff_services
from fellowship.applications.models import Application, ApplicationStatus
from fellowship.applications.permissions import get_application_or_404
from fellowship.auth.models import User
from fellowship.auth.tokens import STAFF_ROLES, Scope

blp = Blueprint("api_applications", __name__, url_prefix="/api/v1/applications",
                description="Applications and their answers (scope applications:read): staff see every "
                            "application; other tokens only their owner's own.")

STATUSES = [status.value for status in ApplicationStatus]


class ApplicationSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    reference = ma.fields.String(allow_none=True, required=True, metadata={
        "description": "The reference given at submission (null for a draft)."})
    call_id = ma.fields.Integer(required=True)
    applicant_id = ma.fields.Integer(required=True)
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(STATUSES), metadata={"enum": STATUSES})
    given_name = ma.fields.String(allow_none=True, required=True)
    family_name = ma.fields.String(allow_none=True, required=True)
    nationality = ma.fields.String(allow_none=True, required=True, metadata={"description": "ISO 3166-1 alpha-2."})
    country_of_residence = ma.fields.String(allow_none=True, required=True)
    region = ma.fields.String(allow_none=True, required=True)
    eligible = ma.fields.Boolean(allow_none=True, required=True, metadata={
        "description": "The eligibility screening's result (null: not screened yet)."})
    created_at = ma.fields.AwareDateTime(required=True)
    submitted_at = ma.fields.AwareDateTime(allow_none=True, required=True)
    withdrawn_at = ma.fields.AwareDateTime(allow_none=True, required=True)


class AnswerSchema(ma.Schema):
    key = ma.fields.String(required=True, metadata={"description": "The question's key in the call's form."})
    label = ma.fields.String(required=True)
    kind = ma.fields.String(required=True, metadata={"description": "The question type."})
    text = ma.fields.String(required=True, metadata={"description": "The answer as text; empty if unanswered."})
    entries = ma.fields.List(ma.fields.List(ma.fields.Dict()), required=True, metadata={
        "description": "For a repeatable group: each entry as a list of {label, text}."})


class SectionSchema(ma.Schema):
    key = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    answers = ma.fields.List(ma.fields.Nested(AnswerSchema), required=True)


class DocumentSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    kind = ma.fields.String(required=True)
    filename = ma.fields.String(required=True)
    content_type = ma.fields.String(required=True)
    size = ma.fields.Integer(required=True, metadata={"description": "Bytes."})
    sha256 = ma.fields.String(required=True)
    uploaded_at = ma.fields.AwareDateTime(required=True)


class RefereeSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    relation = ma.fields.String(required=True)
    status = ma.fields.String(required=True)


class ApplicationDetailSchema(ApplicationSchema):
    sections = ma.fields.List(ma.fields.Nested(SectionSchema), required=True)
    documents = ma.fields.List(ma.fields.Nested(DocumentSchema), required=True)
    referees = ma.fields.List(ma.fields.Nested(RefereeSchema), required=True)


class ApplicationPageSchema(PageSchema):
    items = ma.fields.List(ma.fields.Nested(ApplicationSchema), required=True)


class ApplicationArgsSchema(PageArgsSchema):
    call_id = ma.fields.Integer(validate=ma.validate.Range(min=1, max=2**31 - 1),
                                metadata={"description": "Only applications to this call."})
    status = ma.fields.String(validate=ma.validate.OneOf(STATUSES), metadata={"description": "Only in this state."})


def sees_every_application(user: User) -> bool:
    return bool(user.role_set & STAFF_ROLES)


@blp.route("")
@token_required(Scope.APPLICATIONS_READ)
@blp.arguments(ApplicationArgsSchema, location="query", as_kwargs=True)
@blp.alt_response(400, response="BAD_REQUEST")
@blp.response(200, ApplicationPageSchema)
def list_applications(cursor: str | None = None, limit: int = 50, call_id: int | None = None,
                      status: str | None = None) -> Any:
    """Applications, oldest first; staff see every one, other tokens their owner's own."""
    user = current_api_user()
    stmt = select(Application).options(raiseload(Application.call))
    if not sees_every_application(user):
        stmt = stmt.where(Application.applicant_id == user.id)
    if call_id is not None:
        stmt = stmt.where(Application.call_id == call_id)
    if status is not None:
        stmt = stmt.where(Application.status == ApplicationStatus(status))
    page = paginate_by_cursor(stmt, Application.id, cursor=cursor, limit=limit)
    return {"items": page.items, "next_cursor": page.next_cursor}, 200, link_header(page)


@blp.route(f"/<{ID}:application_id>")
@token_required(Scope.APPLICATIONS_READ)
@blp.response(200, ApplicationDetailSchema)
@blp.alt_response(404, response="NOT_FOUND")
def get_application(application_id: int) -> Any:
    """One application with its answers, documents (metadata only) and referees."""
    user = current_api_user()
    # The site's own loader and rule (404 for an application the user may not see); non-staff: their own only.
    application = get_application_or_404(application_id, owner_only=not sees_every_application(user))
    detail = staff_services.load_detail(application)
    if sees_every_application(user):
        staff_services.record_view(application)  # as the staff detail page does; committed with the request's audit
    body: dict[str, Any] = {name: getattr(application, name) for name in ApplicationSchema().fields}
    body["sections"] = [{"key": section.key, "title": section.title,
                         "answers": [{"key": answer.key, "label": answer.label, "kind": str(answer.kind),
                                      "text": answer.text,
                                      "entries": [[{"label": label, "text": text} for label, text in entry]
                                                  for entry in answer.entries]}
                                     for answer in section.answers]}
                        for section in detail.answers]
    body["documents"] = detail.documents
    body["referees"] = detail.referees
    return body
