"""Weighted scores, normalisation and disagreement, checked against a worked example computed by hand.

THE WORKED EXAMPLE (test_normalised_scores_match_the_worked_example)

Rubric: criterion A (weight 1) and criterion B (weight 3), so a review's weighted score is (A + 3·B) / 4.
Three reviewers: H is harsh, L is lenient, M is average but new to the panel. Four applications P1..P4, two
reviewers each. The call normalises a reviewer from 3 submitted reviews (min_reviews_for_normalisation = 3) and
flags disagreement above a spread of 1.5 (disagreement_threshold).

    review   A  B   weighted (A + 3B) / 4
    H  P1    2  3   11 / 4 = 2.75
    H  P2    2  1    5 / 4 = 1.25
    H  P3    2  2    8 / 4 = 2.00
    L  P2    4  3   13 / 4 = 3.25
    L  P3    4  4   16 / 4 = 4.00
    L  P4    4  5   19 / 4 = 4.75
    M  P1    3  3   12 / 4 = 3.00
    M  P4    5  3   14 / 4 = 3.50

Standard deviations are population ones: sd = sqrt(mean(x²) − mean(x)²).

Reviewers:
    H: n = 3, mean = (2.75 + 1.25 + 2.00) / 3 = 2.00; deviations +0.75, −0.75, 0
       variance = (0.5625 + 0.5625 + 0) / 3 = 0.375; sd = sqrt(0.375) = 0.6124  → normalised (3 ≥ 3, sd > 0)
    L: n = 3, mean = (3.25 + 4.00 + 4.75) / 3 = 4.00; deviations −0.75, 0, +0.75
       variance = 0.375; sd = 0.6124                                           → normalised
    M: n = 2, mean = 3.25, sd = 0.25                                           → NOT normalised (2 < 3): raw

Call, over all 8 weighted scores:
    sum = 2.75 + 1.25 + 2 + 3.25 + 4 + 4.75 + 3 + 3.5 = 24.5; call_mean = 24.5 / 8 = 3.0625
    sum of squares = 7.5625 + 1.5625 + 4 + 10.5625 + 16 + 22.5625 + 9 + 12.25 = 83.5; mean of squares = 10.4375
    variance = 10.4375 − 3.0625² = 10.4375 − 9.37890625 = 1.05859375; call_sd = 1.028880

z-scores z = (s − reviewer_mean) / reviewer_sd, mapped back as call_mean + z · call_sd:
    H P1: z = +0.75 / 0.6124 = +1.224745 (= sqrt(1.5)); z · call_sd = sqrt(1.5 × 1.05859375) = 1.260115
          → 3.0625 + 1.260115 = 4.322615
    H P2: z = −1.224745 → 3.0625 − 1.260115 = 1.802385
    H P3: z = 0         → 3.0625
    L P2: z = −1.224745 → 1.802385      (the same as H's P2, though the raw scores are 1.25 and 3.25)
    L P3: z = 0         → 3.0625        (the same as H's P3, though the raw scores are 2.00 and 4.00)
    L P4: z = +1.224745 → 4.322615
    M P1: raw 3.00;  M P4: raw 3.50     (too few reviews)
    All within [1, 5]: no clamping.

Applications:
          raw_mean                  normalised_mean                     spread (max − min)     disagreement (> 1.5)
    P1    (2.75 + 3.00)/2 = 2.8750  (4.322615 + 3.00)/2 = 3.6613        3.00 − 2.75 = 0.25      no
    P2    (1.25 + 3.25)/2 = 2.2500  (1.802385 + 1.802385)/2 = 1.8024    3.25 − 1.25 = 2.00      yes
    P3    (2.00 + 4.00)/2 = 3.0000  (3.0625 + 3.0625)/2 = 3.0625        4.00 − 2.00 = 2.00      yes
    P4    (4.75 + 3.50)/2 = 4.1250  (4.322615 + 3.50)/2 = 3.9113        4.75 − 3.50 = 1.25      no

Ranking by raw mean:        P4 (4.125) > P3 (3.000) > P1 (2.875) > P2 (2.250)
Ranking by normalised mean: P4 (3.9113) > P1 (3.6613) > P3 (3.0625) > P2 (1.8024)
P1 drew the harsh reviewer for what was H's best application; P3 was only L's middle one. Raw scores put P3
ahead; once each reviewer counts alike, P1 is ahead. H and L ranked P2 below P3 and, normalised, their scores
of both applications agree exactly.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from fellowship.auth.models import Role, User
from fellowship.calls.models import Call
from fellowship.errors import DomainError
from fellowship.extensions import db
from fellowship.selection.models import (
    ApplicationScore,
    Assignment,
    AssignmentStatus,
    Recommendation,
    Review,
    ReviewerStrictness,
)
from fellowship.selection.reviewing import save_review
from fellowship.selection.scores import recompute_call, weighted_score
from tests.factories import CallFactory, UserFactory, submitted_application
from tests.querycount import counted_statements
from tests.selection.factories import AssignmentFactory, add_rubric

#: (reviewer, application, score A, score B) — the table of the module docstring.
WORKED_REVIEWS = [
    ("H", "P1", 2, 3), ("H", "P2", 2, 1), ("H", "P3", 2, 2),
    ("L", "P2", 4, 3), ("L", "P3", 4, 4), ("L", "P4", 4, 5),
    ("M", "P1", 3, 3), ("M", "P4", 5, 3),
]


def d(value: str) -> Decimal:
    return Decimal(value)


def four(value: Decimal | None) -> Decimal:
    assert value is not None
    return Decimal(value).quantize(Decimal("0.0001"))




def review_call(reviews: list[tuple[str, str, int, int]], **call_settings: object):
    """A call with the two-criterion rubric (weights 1 and 3) and `reviews` submitted through the service."""
    call = CallFactory(**call_settings)
    criterion_a, criterion_b = add_rubric(call, 1, 3)
    reviewers: dict[str, User] = {}
    applications = {}
    for reviewer_key, app_key, score_a, score_b in reviews:
        if reviewer_key not in reviewers:
            reviewers[reviewer_key] = UserFactory(roles=[Role.REVIEWER], full_name=f"Reviewer {reviewer_key}")
        if app_key not in applications:
            applications[app_key] = submitted_application(call)
        assignment = AssignmentFactory(application=applications[app_key], reviewer_id=reviewers[reviewer_key].id)
        save_review(assignment, {criterion_a.id: score_a, criterion_b.id: score_b}, "", Recommendation.SUPPORT,
                    submit=True)
        db.session.commit()
    return call, reviewers, applications


def scores_by_application(call: Call) -> dict[int, ApplicationScore]:
    db.session.expire_all()
    return {s.application_id: s for s in db.session.scalars(
        select(ApplicationScore).where(ApplicationScore.call_id == call.id))}


def test_weighted_score_is_the_weighted_mean_to_four_decimals():
    assert weighted_score({1: 2, 2: 3}, {1: d("1"), 2: d("3")}) == d("2.7500")  # (2 + 9) / 4
    assert weighted_score({1: 1, 2: 2, 3: 2}, {1: d("1"), 2: d("1"), 3: d("1")}) == d("1.6667")  # 5 / 3
    assert weighted_score({1: 5, 2: 1}, {1: d("0.5"), 2: d("1.5")}) == d("2.0000")  # (2.5 + 1.5) / 2
    with pytest.raises(DomainError, match="Every criterion"):
        weighted_score({1: 4}, {1: d("1"), 2: d("3")})


def test_normalised_scores_match_the_worked_example(app_ctx):
    call, reviewers, apps = review_call(WORKED_REVIEWS, min_reviews_for_normalisation=3,
                                        disagreement_threshold=d("1.5"))

    weighted = {(r.reviewer_id, r.application_id): r.weighted_score
                for r in db.session.scalars(select(Review).where(Review.call_id == call.id))}
    expected_weighted = {("H", "P1"): "2.75", ("H", "P2"): "1.25", ("H", "P3"): "2.00", ("L", "P2"): "3.25",
                         ("L", "P3"): "4.00", ("L", "P4"): "4.75", ("M", "P1"): "3.00", ("M", "P4"): "3.50"}
    assert {k: four(v) for k, v in weighted.items()} == {
        (reviewers[r].id, apps[a].id): four(d(v)) for (r, a), v in expected_weighted.items()}

    strictness = {s.reviewer_id: s for s in db.session.scalars(
        select(ReviewerStrictness).where(ReviewerStrictness.call_id == call.id))}
    assert {key: (s.review_count, four(s.mean), four(s.stddev), s.normalised)
            for key, s in ((k, strictness[u.id]) for k, u in reviewers.items())} == {
        "H": (3, d("2.0000"), d("0.6124"), True),
        "L": (3, d("4.0000"), d("0.6124"), True),
        "M": (2, d("3.2500"), d("0.2500"), False),
    }

    scores = scores_by_application(call)
    got = {key: (s.review_count, four(s.raw_mean), four(s.normalised_mean), four(s.spread), s.disagreement)
           for key, s in ((k, scores[a.id]) for k, a in apps.items())}
    assert got == {
        "P1": (2, d("2.8750"), d("3.6613"), d("0.2500"), False),
        "P2": (2, d("2.2500"), d("1.8024"), d("2.0000"), True),
        "P3": (2, d("3.0000"), d("3.0625"), d("2.0000"), True),
        "P4": (2, d("4.1250"), d("3.9113"), d("1.2500"), False),
    }

    by_raw = sorted(apps, key=lambda k: scores[apps[k].id].raw_mean or 0, reverse=True)
    by_normalised = sorted(apps, key=lambda k: scores[apps[k].id].normalised_mean or 0, reverse=True)
    assert by_raw == ["P4", "P3", "P1", "P2"]
    assert by_normalised == ["P4", "P1", "P3", "P2"]


def test_harsh_and_lenient_reviewers_agree_once_normalised(app_ctx):
    """H and L both reviewed P2 and P3: raw means differ by 2 points, normalised values are identical."""
    call, reviewers, apps = review_call(WORKED_REVIEWS)
    strictness = {s.reviewer_id: s for s in db.session.scalars(select(ReviewerStrictness))}
    harsh, lenient = strictness[reviewers["H"].id], strictness[reviewers["L"].id]
    assert four(lenient.mean) - four(harsh.mean) == d("2.0000")
    scores = scores_by_application(call)
    # Each of P2, P3 has one review by H and one by L; equal normalised values make the mean equal to each of them.
    for key, expected in (("P2", d("1.8024")), ("P3", d("3.0625"))):
        assert four(scores[apps[key].id].normalised_mean) == expected
        assert four(scores[apps[key].id].raw_mean) != expected


def test_a_reviewer_below_the_threshold_or_without_spread_counts_raw(app_ctx):
    # N reviewed three applications (enough) but scored each the same: no spread to normalise by.
    # O reviewed one application with N (too few).
    reviews = [("N", "P1", 3, 3), ("N", "P2", 3, 3), ("N", "P3", 3, 3), ("O", "P1", 5, 5)]
    call, reviewers, apps = review_call(reviews, min_reviews_for_normalisation=3)
    strictness = {s.reviewer_id: s for s in db.session.scalars(select(ReviewerStrictness))}
    assert (strictness[reviewers["N"].id].review_count, four(strictness[reviewers["N"].id].stddev),
            strictness[reviewers["N"].id].normalised) == (3, d("0.0000"), False)
    assert (strictness[reviewers["O"].id].review_count, strictness[reviewers["O"].id].normalised) == (1, False)
    scores = scores_by_application(call)
    # Both raw: P1 = (3 + 5) / 2 with a spread of 2 (flagged); P2 and P3 keep N's 3.
    assert (four(scores[apps["P1"].id].normalised_mean), four(scores[apps["P1"].id].raw_mean),
            scores[apps["P1"].id].disagreement) == (d("4.0000"), d("4.0000"), True)
    assert four(scores[apps["P2"].id].normalised_mean) == d("3.0000")
    assert not scores[apps["P2"].id].disagreement  # a single review never disagrees


def test_normalised_values_are_clamped_to_the_1_to_5_scale(app_ctx):
    """R scores 4, 4, 5 (mean 4.3333, sd 0.4714); S scores 1, 1 (too few to normalise). The call's 5 scores have
    mean 3 and sd sqrt(11.8 − 9) = 1.6733. R's 5 has z = 1.4142 and maps to 3 + 1.4142 × 1.6733 = 5.3664, above
    the scale: it counts as 5. R's 4s map to 3 − 0.7071 × 1.6733 = 1.8168."""
    reviews = [("R", "P1", 4, 4), ("R", "P2", 4, 4), ("R", "P3", 5, 5), ("S", "P4", 1, 1), ("S", "P5", 1, 1)]
    call, _, apps = review_call(reviews, min_reviews_for_normalisation=3)
    scores = scores_by_application(call)
    assert {k: four(scores[a.id].normalised_mean) for k, a in apps.items()} == {
        "P1": d("1.8168"), "P2": d("1.8168"), "P3": d("5.0000"), "P4": d("1.0000"), "P5": d("1.0000")}


def test_only_submitted_reviews_on_active_assignments_count_and_stale_rows_go(app_ctx):
    call, reviewers, apps = review_call(WORKED_REVIEWS)
    criteria = call.criteria
    # A draft counts for nothing.
    extra = submitted_application(call)
    draft = AssignmentFactory(application=extra, reviewer_id=reviewers["M"].id)
    save_review(draft, {criteria[0].id: 5}, "", None, submit=False)
    db.session.commit()
    assert extra.id not in scores_by_application(call)

    # H's assignment to P1 is withdrawn (H left the panel): P1 keeps only M's review, H has two reviews left.
    assignment = db.session.scalar(select(Assignment).where(Assignment.application_id == apps["P1"].id,
                                                            Assignment.reviewer_id == reviewers["H"].id))
    assignment.status = AssignmentStatus.WITHDRAWN
    recompute_call(call.id)
    db.session.commit()
    scores = scores_by_application(call)
    assert (scores[apps["P1"].id].review_count, four(scores[apps["P1"].id].raw_mean)) == (1, d("3.0000"))
    h = db.session.get(ReviewerStrictness, (call.id, reviewers["H"].id))
    assert h is not None and (h.review_count, h.normalised) == (2, False)

    # M's assignment to P1 goes too: P1 has no counted review, so no score row at all.
    assignment = db.session.scalar(select(Assignment).where(Assignment.application_id == apps["P1"].id,
                                                            Assignment.reviewer_id == reviewers["M"].id))
    assignment.status = AssignmentStatus.WITHDRAWN
    recompute_call(call.id)
    db.session.commit()
    assert apps["P1"].id not in scores_by_application(call)
    assert set(scores_by_application(call)) == {apps["P2"].id, apps["P3"].id, apps["P4"].id}


def test_recompute_is_set_based_its_statement_count_does_not_grow_with_reviews(app_ctx):
    small, _, _ = review_call(WORKED_REVIEWS[:2])
    large, _, _ = review_call(WORKED_REVIEWS + [(r + "2", a + "b", s1, s2) for r, a, s1, s2 in WORKED_REVIEWS],
                              year=2028)
    counts = []
    for call in (small, large):
        with counted_statements() as statements:
            recompute_call(call.id)
            db.session.commit()
        counts.append(len(statements))
    assert counts[0] == counts[1]
    assert len(scores_by_application(large)) == 8
