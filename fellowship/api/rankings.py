"""The current ranking of a call over its stages, with the proposed selection (scope rankings:read, staff).

The same figures as the staff ranking page (fellowship.selection.ranking): each candidate's stage scores and
combined score, place, quota group, whether the proposal selects them (and whether only for a quota seat), their
waitlist place and the chair's adjustment. The cursor carries how many rows were read, since the order is by score
(the scores' index), not by a key a client could resume after.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask_smorest import Blueprint, abort

from fellowship.api.auth import token_required
from fellowship.api.pagination import CursorPage, decode_cursor, encode_cursor, link_header
from fellowship.api.schemas import ID, PageArgsSchema, PageSchema
from fellowship.applications.models import ApplicationStatus
from fellowship.auth.tokens import Scope
from fellowship.extensions import db
from fellowship.selection import ranking
from fellowship.selection.models import AdjustmentAction

blp = Blueprint("api_rankings", __name__, url_prefix="/api/v1/calls",
                description="The current ranking of a call and its proposed selection (scope rankings:read).")


class StageWeightSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    weight = ma.fields.Integer(required=True, metadata={"description": "Share in the combined score, in percent."})


class StageScoreSchema(ma.Schema):
    stage_id = ma.fields.Integer(required=True)
    score = ma.fields.Float(required=True, allow_none=True)


class QuotaSeatsSchema(ma.Schema):
    region = ma.fields.String(required=True, metadata={"description": "UN M49 region."})
    percent = ma.fields.Integer(required=True, metadata={"description": "At least this share of the places."})
    minimum = ma.fields.Integer(required=True, metadata={"description": "Seats the quota needs."})
    proposed = ma.fields.Integer(required=True, metadata={"description": "Seats the proposal gives the region."})
    met = ma.fields.Boolean(required=True)


class AdjustmentSchema(ma.Schema):
    action = ma.fields.String(required=True, validate=ma.validate.OneOf([a.value for a in AdjustmentAction]),
                              metadata={"enum": [a.value for a in AdjustmentAction]})
    reason = ma.fields.String(required=True, allow_none=True)
    by = ma.fields.String(required=True, allow_none=True)


class CandidateSchema(ma.Schema):
    application_id = ma.fields.Integer(required=True)
    reference = ma.fields.String(required=True, allow_none=True)
    name = ma.fields.String(required=True)
    nationality = ma.fields.String(required=True, allow_none=True, metadata={"description": "ISO alpha-2."})
    region = ma.fields.String(required=True, allow_none=True, metadata={"description": "UN M49 region."})
    status = ma.fields.String(required=True, validate=ma.validate.OneOf([s.value for s in ApplicationStatus]),
                              metadata={"enum": [s.value for s in ApplicationStatus]})
    place = ma.fields.Integer(required=True, allow_none=True, metadata={
        "description": "Place in the ranking (1 best); null without a score (not ranked, or not shortlisted)."})
    review_count = ma.fields.Integer(required=True)
    enough_reviews = ma.fields.Boolean(required=True)
    raw_mean = ma.fields.Float(required=True, allow_none=True, metadata={
        "description": "First review round: mean weighted score of the counted reviews."})
    normalised_mean = ma.fields.Float(required=True, allow_none=True, metadata={
        "description": "First review round: the same after normalising each reviewer's strictness."})
    stage_scores = ma.fields.List(ma.fields.Nested(StageScoreSchema), required=True, metadata={
        "description": "A call in stages: each weighted stage's score (in the order of `stages`); else empty."})
    combined_score = ma.fields.Float(required=True, allow_none=True, metadata={
        "description": "The score the ranking orders by (the stages' weighted combination, or the first round's "
                       "score under the chosen sort)."})
    quota_group = ma.fields.String(required=True, allow_none=True, metadata={
        "description": "The region whose quota the candidate counts towards; null when the region has none."})
    selected = ma.fields.Boolean(required=True, metadata={"description": "Whether the proposal selects them."})
    selected_by_quota = ma.fields.Boolean(required=True, metadata={
        "description": "Selected only to meet a regional quota (ranked below someone left out)."})
    waitlist_position = ma.fields.Integer(required=True, allow_none=True)
    proposal = ma.fields.String(required=True, metadata={"description": "The proposal's words for the row."})
    adjustment = ma.fields.Nested(AdjustmentSchema, required=True, allow_none=True, metadata={
        "description": "The chair's include or exclude, with the reason; null when none."})


class RankingSchema(PageSchema):
    call_id = ma.fields.Integer(required=True)
    sort = ma.fields.String(required=True, validate=ma.validate.OneOf(ranking.SORTS),
                            metadata={"enum": list(ranking.SORTS)})
    places = ma.fields.Integer(required=True)
    ranked = ma.fields.Integer(required=True, metadata={"description": "Applications in the ranking."})
    selected_count = ma.fields.Integer(required=True)
    waitlist_count = ma.fields.Integer(required=True)
    feasible = ma.fields.Boolean(required=True, metadata={"description": "False when a quota cannot be met."})
    explanation = ma.fields.List(ma.fields.String(), required=True)
    quotas = ma.fields.List(ma.fields.Nested(QuotaSeatsSchema), required=True)
    stages = ma.fields.List(ma.fields.Nested(StageWeightSchema), required=True, metadata={
        "description": "The weighted stages of a call in stages; empty for a one-round call."})
    items = ma.fields.List(ma.fields.Nested(CandidateSchema), required=True)


class RankingArgsSchema(PageArgsSchema):
    sort = ma.fields.String(load_default="normalised", validate=ma.validate.OneOf(ranking.SORTS), metadata={
        "description": "Order by the normalised scores (default) or the raw ones."})


def _candidate(row: ranking.RankingRow, data: ranking.Ranking, quota_regions: set[str]) -> dict[str, Any]:
    combined = row.combined if data.stages else (row.raw_mean if data.sort == "raw" else row.normalised_mean)
    return {
        "application_id": row.id, "reference": row.reference, "name": row.name, "nationality": row.nationality,
        "region": row.region, "status": row.status.value, "place": row.rank, "review_count": row.review_count,
        "enough_reviews": not row.missing_reviews, "raw_mean": row.raw_mean, "normalised_mean": row.normalised_mean,
        "stage_scores": [{"stage_id": stage.stage_id, "score": score}
                         for stage, score in zip(data.stages, row.stage_scores, strict=True)],
        "combined_score": combined,
        "quota_group": row.region if row.region in quota_regions else None,
        "selected": row.selected, "selected_by_quota": data.proposal.selected_by_quota(row.id),
        "waitlist_position": row.waitlist_position, "proposal": row.proposal,
        "adjustment": ({"action": row.adjustment, "reason": row.adjustment_reason, "by": row.adjusted_by}
                       if row.adjustment else None),
    }


@blp.route(f"/<{ID}:call_id>/ranking")
@token_required(Scope.RANKINGS_READ)
@blp.arguments(RankingArgsSchema, location="query", as_kwargs=True)
@blp.response(200, RankingSchema)
@blp.alt_response(404, response="NOT_FOUND")
def get_ranking(call_id: int, cursor: str | None = None, limit: int = 50, sort: str = "normalised") -> Any:
    """The call's ranking in order (best first, then those without a score) with the whole call's proposed
    selection: places, quota seats, the proposal's explanation."""
    chosen = ranking.parse_sort(sort)
    found = ranking.call_with_stored_proposal(call_id, chosen)
    if found is None:
        abort(404)
    assert found is not None
    call, stored = found
    offset = decode_cursor(cursor) if cursor else 0
    data = ranking.ranking_slice(call, chosen, offset, limit, stored)
    if data.refreshed:
        db.session.commit()  # keep the recomputed proposal for the next requests, as the ranking page does
    summary = data.proposal
    read = offset + len(data.rows)
    page = CursorPage(items=data.rows, next_cursor=encode_cursor(read) if read < summary.ranked else None)
    quota_regions = {seat.region for seat in summary.seats}
    body = {
        "call_id": call.id, "sort": chosen, "places": call.places, "ranked": summary.ranked,
        "selected_count": summary.selected_count, "waitlist_count": summary.waitlist_count,
        "feasible": summary.feasible,
        "explanation": [line.translated() if isinstance(line, ranking.Explanation) else str(line)
                        for line in summary.explanation],
        "quotas": [{"region": q.region, "percent": q.percent, "minimum": q.minimum, "proposed": q.proposed,
                    "met": q.met} for q in summary.seats],
        "stages": [{"id": s.stage_id, "name": s.name, "weight": s.weight} for s in data.stages],
        "items": [_candidate(row, data, quota_regions) for row in data.rows],
        "next_cursor": page.next_cursor,
    }
    return body, 200, link_header(page)
