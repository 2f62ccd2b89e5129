"""A second review round used end to end: staff give it a panel and rubric and assign the candidates who advanced
into it (automatically and by hand, conflicts respected); its reviewers see only those candidates, with the round's
rubric, blind as the round says, due date shown; their scores, normalised per reviewer, enter the final ranking
with the round's weight."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from fellowship.auth.models import Role
from fellowship.extensions import db
from fellowship.selection import review_rounds, stages
from fellowship.selection.models import (
    AssignmentStatus,
    Conflict,
    ConflictKind,
    ConflictSource,
    SelectionStage,
    StageAssignment,
    StageKind,
    StageScore,
)
from tests.conftest import login, submit_form
from tests.factories import UserFactory
from tests.selection.test_ranking_page import Ranked, make_ranked, ranking_page, row

#: What each reviewer gives each candidate on every criterion of the round (by the worked example's numbers).
ROUND_SCORES = {2: 2, 4: 3, 3: 5, 5: 4}


@pytest.fixture
def ranked(app_ctx) -> Ranked:
    return make_ranked()


def two_rounds(ranked: Ranked, staff, *, blind: bool = True) -> tuple[SelectionStage, SelectionStage]:
    """review (the call's, 50%) -> shortlist of 4 by quota (2, 4, 3, 5 advance) -> second review round (50%)."""
    call = ranked.call
    call.min_reviews_for_normalisation = 10  # each reviewer's scores count raw: the sums below are exact
    cut = stages.add_stage(call, stages.StageSettings(StageKind.SHORTLIST, "Shortlist", advance_count=4,
                                                      advance_by_quota=True), staff)
    second = stages.add_stage(call, stages.StageSettings(
        StageKind.REVIEW, "Panel round", weight=50, reviewers_per_application=2, blind=blind,
        due_at=datetime(2030, 5, 4, 12, 0, tzinfo=UTC)), staff)
    first = stages.first_review_stage(stages.stages_of(call.id))
    assert first is not None
    stages.set_weights(call, {first.id: 50, second.id: 50}, staff)
    db.session.commit()
    return cut, second


def reviewer_client(app, email: str):
    client = app.test_client()
    login(client, email)
    return client


def refs(html: str) -> set[str]:
    return set(re.findall(r"ELF-\d{4}-\d{5}", html))


def test_a_second_review_round_reviews_only_the_advanced_with_its_rubric_and_counts_by_its_weight(
        app, staff_client, ranked, staff):
    cut, second = two_rounds(ranked, staff)
    one = UserFactory(roles=[Role.REVIEWER], email="one@panel.example", full_name="Reviewer One")
    two = UserFactory(roles=[Role.REVIEWER], email="two@panel.example", full_name="Reviewer Two")
    # A conflict of interest holds in every round: One never reviews candidate 3.
    db.session.add(Conflict(reviewer_id=one.id, application_id=ranked.apps[3].id, kind=ConflictKind.SUPERVISOR,
                            source=ConflictSource.DECLARED))
    db.session.commit()
    page = f"/staff/calls/{ranked.call.id}/rounds/{second.id}"

    # Before the shortlist is confirmed nobody has advanced into the round.
    assert "No candidate has advanced into this round yet" in staff_client.get(page).get_data(as_text=True)
    stages.confirm_advancing(ranked.call, cut, staff)
    db.session.commit()

    for email in (one.email, two.email):
        assert submit_form(staff_client, f"{page}/panel", {"email": email}, page=page).status_code == 302
    for name, weight in (("Leadership", "2"), ("Vision", "1")):
        assert submit_form(staff_client, f"{page}/criteria", {"name": name, "weight": weight},
                           page=page).status_code == 302
    assert submit_form(staff_client, f"{page}/auto-assign", {}, page=page).status_code == 302
    pairs = set(db.session.execute(select(StageAssignment.application_id, StageAssignment.reviewer_id)
                                   .where(StageAssignment.stage_id == second.id,
                                          StageAssignment.status == AssignmentStatus.ACTIVE)).all())
    advanced = {ranked.apps[n].id for n in (2, 4, 3, 5)}
    assert {a for a, _r in pairs} == advanced
    assert (ranked.apps[3].id, one.id) not in pairs and len(pairs) == 7
    html = staff_client.get(page).get_data(as_text=True)
    assert "4 candidates in this round." in html and ranked.ref(1) not in html and ranked.ref(6) not in html

    # By hand: a candidate who did not advance is refused with the reason beside the field.
    refused = submit_form(staff_client, f"{page}/assign", {"application": ranked.apps[1].id, "reviewer": two.id},
                          page=page)
    assert refused.status_code == 422
    conflicted = staff_client.post(f"{page}/assign", data={
        "application": ranked.apps[3].id, "reviewer": one.id,
        "csrf_token": re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                                staff_client.get(page).get_data(as_text=True)).group(1)})
    assert conflicted.status_code == 422 and "conflict of interest" in conflicted.get_data(as_text=True)

    # The round's reviewers see the advanced candidates only, blind, with the round's rubric and due date.
    mine = {one.id: reviewer_client(app, one.email), two.id: reviewer_client(app, two.email)}
    listing = mine[one.id].get("/review/rounds").get_data(as_text=True)
    assert refs(listing) == {ranked.ref(n) for n in (2, 4, 5)}
    assert "Panel round" in listing and "Given2" not in listing and "Blind review" in listing
    assert "2030" in listing
    others = db.session.scalars(select(StageAssignment.id).where(StageAssignment.reviewer_id == two.id)).first()
    assert mine[one.id].get(f"/review/rounds/{others}").status_code == 404

    for reviewer_id, client in mine.items():
        for assignment_id, application_id in db.session.execute(
                select(StageAssignment.id, StageAssignment.application_id)
                .where(StageAssignment.reviewer_id == reviewer_id, StageAssignment.stage_id == second.id)).all():
            url = f"/review/rounds/{assignment_id}"
            form = client.get(url).get_data(as_text=True)
            assert "Leadership" in form and "Vision" in form and "Blind review" in form
            assert "Given" not in form.split("<main", 1)[-1]
            number = next(n for n, a in ranked.apps.items() if a.id == application_id)
            criteria = stages.stage_criteria(second)
            scores = {f"score_{c.id}": str(ROUND_SCORES[number]) for c in criteria}
            token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
            done = client.post(url, data={**scores, "submit_review": "Submit review", "csrf_token": token})
            assert done.status_code == 302, done.get_data(as_text=True)

    round_scores = dict(db.session.execute(select(StageScore.application_id, StageScore.normalised_score)
                                           .where(StageScore.stage_id == second.id)).all())
    assert {n: float(round_scores[ranked.apps[n].id]) for n in ROUND_SCORES} == {2: 2.0, 4: 3.0, 3: 5.0, 5: 4.0}

    html = ranking_page(staff_client, ranked.call)
    # Combined = 50% first review + 50% second round: 2 -> 3.20, 4 -> 3.55, 3 -> 4.25, 5 -> 3.50.
    assert "Panel round 50%" in html
    assert "4.40 2.00 3.20" in row(html, ranked.apps[2])
    assert "4.10 3.00 3.55" in row(html, ranked.apps[4])
    assert "3.50 5.00 4.25" in row(html, ranked.apps[3])
    assert "Not shortlisted" in row(html, ranked.apps[1])


def test_a_round_that_is_not_blind_shows_names_and_submitting_needs_every_criterion(app, ranked, staff):
    cut, second = two_rounds(ranked, staff, blind=False)
    stages.confirm_advancing(ranked.call, cut, staff)
    reviewer = UserFactory(roles=[Role.REVIEWER], email="open@panel.example")
    review_rounds.add_member(second, reviewer.email, staff)
    review_rounds.add_criterion(second, "Leadership", 1, "", staff)
    review_rounds.add_criterion(second, "Vision", 1, "", staff)
    review_rounds.auto_assign(ranked.call, second, staff)
    db.session.commit()
    client = reviewer_client(app, reviewer.email)
    assert "Given2" in client.get("/review/rounds").get_data(as_text=True)
    assignment = db.session.scalars(select(StageAssignment).where(
        StageAssignment.application_id == ranked.apps[2].id)).one()
    url = f"/review/rounds/{assignment.id}"
    form = client.get(url).get_data(as_text=True)
    leadership = stages.stage_criteria(second)[0]
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
    refused = client.post(url, data={f"score_{leadership.id}": "4", "comment": "Kept as typed.",
                                     "submit_review": "Submit review", "csrf_token": token})
    body = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "Choose a score from 1 to 5 to submit the review." in body
    assert "Kept as typed." in body
    assert db.session.scalar(select(StageScore).where(StageScore.stage_id == second.id)) is None


def test_the_first_round_and_shortlists_have_no_round_page(staff_client, ranked, staff):
    cut, _second = two_rounds(ranked, staff)
    first = stages.first_review_stage(stages.stages_of(ranked.call.id))
    assert first is not None
    for stage_id in (first.id, cut.id):
        assert staff_client.get(f"/staff/calls/{ranked.call.id}/rounds/{stage_id}").status_code == 404
