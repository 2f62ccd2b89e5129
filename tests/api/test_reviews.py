"""GET /api/v1/calls/{id}/reviews: staff read every submitted review of a round; a reviewer's token only their own."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from fellowship.auth.tokens import Scope
from fellowship.extensions import db
from fellowship.selection.models import (
    ApplicationScore,
    Assignment,
    Conflict,
    ConflictKind,
    ConflictSource,
    Recommendation,
    Review,
    SelectionStage,
    StageKind,
)
from fellowship.selection.reviewing import save_review
from tests.api.world import SCORES, World, token_header
from tests.querycount import counted_statements
from tests.selection.factories import AssignmentFactory, panel_reviewer


def reviews_url(world: World, **args: Any) -> str:
    query = "&".join(f"{k}={v}" for k, v in args.items())
    return f"/api/v1/calls/{world.call.id}/reviews" + (f"?{query}" if query else "")


def walk(client: Any, url: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    """Every item of a list, page after page by the Link header (which must agree with next_cursor)."""
    items: list[dict[str, Any]] = []
    next_url: str | None = url
    while next_url:
        response = client.get(next_url, headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        items.extend(body["items"])
        link = response.headers.get("Link")
        assert (link is None) == (body["next_cursor"] is None)
        next_url = link[1:link.index(">")].removeprefix("http://localhost") if link else None
    return items


def test_staff_read_every_submitted_review_of_the_first_round_with_scores_total_and_normalised_score(world, client):
    # A draft is the reviewer's work in progress: not listed.
    third = panel_reviewer(world.call, email="third@example.org")
    draft = AssignmentFactory(application=world.applications[0], reviewer_id=third.id)
    criteria = {c.name: c.id for c in world.call.criteria}
    save_review(draft, {criteria["Criterion A"]: 1}, "Half done.", None, submit=False)
    db.session.commit()

    response = client.get(reviews_url(world), headers=token_header(world.staff))

    assert response.status_code == 200
    items = response.get_json()["items"]
    assert len(items) == 2 * len(world.applications)
    first = items[0]
    application = world.applications[0]
    score = db.session.get(ApplicationScore, application.id)
    assert first["application_id"] == application.id
    assert first["application_reference"] == application.reference
    assert first["reviewer"] == {"id": world.reviewer.id, "name": "Rin Reviewer"}
    assert first["stage"]["round"] == 1 and first["stage"]["name"] == "Review"
    assert [(s["criterion"], s["weight"], s["score"]) for s in first["scores"]] == [
        ("Criterion A", 1.0, SCORES[0][0][0]), ("Criterion B", 2.0, SCORES[0][0][1])]
    assert first["total"] == 3.0  # (1 x 3 + 2 x 3) / 3
    assert Decimal(str(first["normalised_score"])) == score.normalised_mean
    assert first["recommendation"] == "support" and first["counted"] is True
    assert first["submitted_at"].endswith("+00:00")
    # A blind call: no review names the applicant.
    assert "Wanjiru" not in response.get_data(as_text=True)


def test_a_later_round_is_read_by_its_stage_id_and_other_stages_are_not_found(world, client):
    headers = token_header(world.staff)

    items = client.get(reviews_url(world, stage_id=world.second_round.id), headers=headers).get_json()["items"]

    assert [(i["application_id"], i["total"], i["recommendation"]) for i in items] == [
        (a.id, float(s), None) for a, s in zip(world.applications[:4], (1, 5, 2, 5), strict=True)]
    assert {i["stage"]["name"] for i in items} == {"Second review"}
    assert items[0]["scores"] == [{"criterion_id": items[0]["scores"][0]["criterion_id"], "criterion": "Leadership",
                                   "weight": 1.0, "score": 1}]
    shortlist = SelectionStage(call_id=world.call.id, position=9, kind=StageKind.SHORTLIST, name="Cut")
    db.session.add(shortlist)
    db.session.commit()
    assert client.get(reviews_url(world, stage_id=shortlist.id), headers=headers).status_code == 404
    assert client.get("/api/v1/calls/999999/reviews", headers=headers).status_code == 404


def test_reviews_of_one_application(world, client):
    application = world.applications[3]
    items = client.get(reviews_url(world, application_id=application.id),
                       headers=token_header(world.staff)).get_json()["items"]
    assert {i["application_id"] for i in items} == {application.id}
    assert {i["reviewer"]["id"] for i in items} == {world.reviewer.id, world.other_reviewer.id}


def test_a_reviewers_token_reads_only_their_own_reviews_and_not_after_a_recusal(world, client):
    headers = token_header(world.reviewer)

    items = client.get(reviews_url(world), headers=headers).get_json()["items"]

    assert len(items) == len(world.applications)
    assert {i["reviewer"]["id"] for i in items} == {world.reviewer.id}
    db.session.add(Conflict(reviewer_id=world.reviewer.id, application_id=world.applications[0].id,
                            kind=ConflictKind.OTHER, source=ConflictSource.RECUSAL, note="I know her."))
    db.session.commit()
    items = client.get(reviews_url(world), headers=headers).get_json()["items"]
    assert world.applications[0].id not in {i["application_id"] for i in items}
    # Staff still see it, no longer counted.
    staff_items = client.get(reviews_url(world, application_id=world.applications[0].id),
                             headers=token_header(world.staff)).get_json()["items"]
    assert {i["reviewer"]["id"]: i["counted"] for i in staff_items}[world.reviewer.id] is False


def test_an_applicants_token_and_a_token_without_the_scope_are_refused(world, client):
    applicant = client.get(reviews_url(world), headers=token_header(world.applicant))
    assert applicant.status_code == 403
    assert applicant.mimetype == "application/problem+json"
    without_scope = client.get(reviews_url(world), headers=token_header(world.staff, [Scope.RANKINGS_READ]))
    assert without_scope.status_code == 403
    assert "reviews:read" in without_scope.get_json()["detail"]
    assert client.get(reviews_url(world)).status_code == 401


def test_the_cursor_walks_every_review_once_and_a_forged_cursor_is_a_400(world, client):
    headers = token_header(world.staff)
    ids = [i["id"] for i in walk(client, reviews_url(world, limit=3), headers)]
    every = db.session.scalars(sa.select(Review.id).where(Review.call_id == world.call.id).order_by(Review.id)).all()
    assert ids == list(every)
    forged = client.get(reviews_url(world, cursor="bm90LWEtY3Vyc29y"), headers=headers)
    assert forged.status_code == 400
    assert forged.mimetype == "application/problem+json"


def test_a_page_costs_the_same_statements_whatever_its_size(world, client):
    headers = token_header(world.staff)
    client.get(reviews_url(world, limit=1), headers=headers)  # warm: the token's last use, the stored plans
    with counted_statements() as small:
        assert len(client.get(reviews_url(world, limit=2), headers=headers).get_json()["items"]) == 2
    with counted_statements() as large:
        assert len(client.get(reviews_url(world, limit=10), headers=headers).get_json()["items"]) == 10
    assert len(large) == len(small)
    # More reviews in the call change nothing either.
    more = panel_reviewer(world.call, email="more@example.org")
    for application in world.applications:
        assignment = db.session.scalars(sa.select(Assignment).where(Assignment.application_id == application.id)
                                        ).first()
        assert assignment is not None
        extra = AssignmentFactory(application=application, reviewer_id=more.id)
        criteria = {c.id: 3 for c in world.call.criteria}
        save_review(extra, criteria, "", Recommendation.NEUTRAL, submit=True)
        db.session.commit()
    url = reviews_url(world, limit=15)  # (reading world.call after the commits reloads it: not the request's cost)
    with counted_statements() as after:
        assert len(client.get(url, headers=headers).get_json()["items"]) == 15
    assert len(after) == len(small), "\n\n".join(after)
