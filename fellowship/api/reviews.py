"""Reviews of a call's applications, one review round at a time (scope reviews:read).

Staff and admins read every submitted review of the round. A reviewer's token reads only the reviewer's own
submitted reviews that still count (not after a recusal, a conflict of interest or a withdrawn assignment): the
other reviewers' reviews stay behind the review page's rules. No review carries the applicant's name, so a blind
call stays blind to whoever reads them; applications are named by id and reference.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask_smorest import Blueprint, abort
from sqlalchemy import select

from fellowship.api.auth import current_api_user, token_required
from fellowship.api.pagination import CursorPage, decode_cursor, encode_cursor, link_header
from fellowship.api.schemas import ID, PageArgsSchema, PageSchema
from fellowship.auth.models import Role
from fellowship.auth.tokens import Scope
from fellowship.calls.models import Call
from fellowship.extensions import db
from fellowship.selection.models import Recommendation
from fellowship.selection.review_records import ReviewFilter, ReviewRecord, review_records, review_round

blp = Blueprint("api_reviews", __name__, url_prefix="/api/v1/calls",
                description="Submitted reviews of a call's applications, by review round (scope reviews:read; "
                            "reviewers: their own).")

STAFF_ROLES = (Role.STAFF, Role.ADMIN)


class CriterionScoreSchema(ma.Schema):
    criterion_id = ma.fields.Integer(required=True)
    criterion = ma.fields.String(required=True, metadata={"description": "The criterion's name."})
    weight = ma.fields.Float(required=True, metadata={"description": "The criterion's weight in the rubric."})
    score = ma.fields.Integer(required=True, metadata={"description": "1 (weak) to 5 (outstanding)."})


class ReviewerSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)


class StageRefSchema(ma.Schema):
    id = ma.fields.Integer(required=True, allow_none=True, metadata={
        "description": "The selection stage; null for a one-round call whose stages were never set up."})
    name = ma.fields.String(required=True)
    round = ma.fields.Integer(required=True, metadata={"description": "The stage's position in the call (1 first)."})


class ReviewSchema(ma.Schema):
    id = ma.fields.Integer(required=True, metadata={"description": "Unique within the review round."})
    application_id = ma.fields.Integer(required=True)
    application_reference = ma.fields.String(required=True, allow_none=True)
    reviewer = ma.fields.Nested(ReviewerSchema, required=True)
    stage = ma.fields.Nested(StageRefSchema, required=True)
    scores = ma.fields.List(ma.fields.Nested(CriterionScoreSchema), required=True, metadata={
        "description": "The score given for each criterion of the round's rubric, in the rubric's order."})
    total = ma.fields.Float(required=True, allow_none=True, metadata={
        "description": "The weighted score: sum of weight x score over sum of weights, 1 to 5."})
    normalised_score = ma.fields.Float(required=True, allow_none=True, metadata={
        "description": "The application's score in this round: the mean of its counted reviews after each "
                       "reviewer's scores are normalised for strictness (null while it has none)."})
    counted = ma.fields.Boolean(required=True, metadata={
        "description": "False when the review no longer counts (assignment withdrawn, conflict of interest)."})
    recommendation = ma.fields.String(required=True, allow_none=True, validate=ma.validate.OneOf(
        [r.value for r in Recommendation]), metadata={
        "enum": [r.value for r in Recommendation],
        "description": "The reviewer's recommendation (the first round asks for one; later rounds do not)."})
    comment = ma.fields.String(required=True)
    submitted_at = ma.fields.AwareDateTime(required=True, allow_none=True)


class ReviewPageSchema(PageSchema):
    items = ma.fields.List(ma.fields.Nested(ReviewSchema), required=True)


class ReviewArgsSchema(PageArgsSchema):
    stage_id = ma.fields.Integer(validate=ma.validate.Range(min=1, max=2**31 - 1), metadata={
        "description": "A review round of the call (its stage id); omit for the call's first review round."})
    application_id = ma.fields.Integer(validate=ma.validate.Range(min=1, max=2**31 - 1), metadata={
        "description": "Only the reviews of this application."})


def review_out(record: ReviewRecord) -> dict[str, Any]:
    return {"id": record.id, "application_id": record.application_id, "application_reference": record.reference,
            "reviewer": {"id": record.reviewer_id, "name": record.reviewer_name},
            "stage": {"id": record.stage_id, "name": record.stage_name, "round": record.round},
            "scores": [{"criterion_id": s.criterion_id, "criterion": s.criterion, "weight": s.weight,
                        "score": s.score} for s in record.scores],
            "total": record.weighted_score, "normalised_score": record.normalised_score, "counted": record.counted,
            "recommendation": record.recommendation.value if record.recommendation else None,
            "comment": record.comment, "submitted_at": record.submitted_at}


@blp.route(f"/<{ID}:call_id>/reviews")
@token_required(Scope.REVIEWS_READ)
@blp.arguments(ReviewArgsSchema, location="query", as_kwargs=True)
@blp.response(200, ReviewPageSchema)
@blp.alt_response(404, response="NOT_FOUND")
def list_reviews(call_id: int, cursor: str | None = None, limit: int = 50, stage_id: int | None = None,
                 application_id: int | None = None) -> Any:
    """Submitted reviews of one review round of the call, by id: reviewer, criterion scores, total, the
    application's normalised score in the round. A reviewer's token: only the reviewer's own reviews."""
    if db.session.scalar(select(Call.id).where(Call.id == call_id)) is None:
        abort(404)
    found = review_round(call_id, stage_id)
    if found is None:
        abort(404, message="The call has no review round with this stage id.")
    assert found is not None
    user = current_api_user()
    own_only = not user.has_role(*STAFF_ROLES)
    which = ReviewFilter(after_id=decode_cursor(cursor) if cursor else None, application_id=application_id,
                         reviewer_id=user.id if own_only else None, counted_only=own_only)
    records = review_records(found, which, limit + 1)
    page = CursorPage(items=records[:limit],
                      next_cursor=encode_cursor(records[limit - 1].id) if len(records) > limit else None)
    return {"items": [review_out(r) for r in page.items], "next_cursor": page.next_cursor}, 200, link_header(page)
