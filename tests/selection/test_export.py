"""The ranking's CSV and XLSX exports: every ranked application, every submitted review's scores, safe cells, audit."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from fellowship.audit.models import AuditEntry
from fellowship.auth.models import Role
from fellowship.extensions import db
from fellowship.selection.models import Recommendation, Review, ReviewerStrictness, ReviewScore, ReviewStatus
from tests.factories import UserFactory
from tests.selection.factories import AssignmentFactory, RubricCriterionFactory
from tests.selection.test_ranking_page import Ranked, make_ranked

SUBMITTED = datetime(2027, 5, 1, 9, 0, tzinfo=UTC)


def add_review(ranked: Ranked, n: int, reviewer, scores: tuple[int, int], weighted: str,
               recommendation: Recommendation | None, comment: str, *, minutes: int = 0,
               status: ReviewStatus = ReviewStatus.SUBMITTED) -> None:
    application = ranked.apps[n]
    assignment = AssignmentFactory(application=application, reviewer_id=reviewer.id)
    criteria = ranked.call.criteria
    db.session.add(Review(
        assignment_id=assignment.id, application_id=application.id, reviewer_id=reviewer.id,
        call_id=ranked.call.id, status=status, comment=comment, recommendation=recommendation,
        weighted_score=Decimal(weighted) if status is ReviewStatus.SUBMITTED else None,
        submitted_at=SUBMITTED + timedelta(minutes=minutes) if status is ReviewStatus.SUBMITTED else None,
        scores=[ReviewScore(criterion_id=c.id, score=s) for c, s in zip(criteria, scores, strict=True)]))
    db.session.commit()


@pytest.fixture
def reviewed(app_ctx) -> Ranked:
    """The ranking's worked example with a two-criterion rubric and these reviews:

    application 2: Alice 5/4 (4.6667, support), Bob 4/4 (4.0, a comment a spreadsheet would run)
    application 4: Alice 5/5 (5.0), Bob 1/2 (1.3333, oppose)
    application 3: Bob 3/3 (3.0)
    application 1: Alice's draft only: not exported
    """
    ranked = make_ranked()
    RubricCriterionFactory(call=ranked.call, position=0, name="Academic merit", weight=Decimal(2))
    RubricCriterionFactory(call=ranked.call, position=1, name="Leadership potential", weight=Decimal(1))
    db.session.refresh(ranked.call)
    alice = UserFactory(roles=[Role.REVIEWER], full_name="Alice Reviewer")
    bob = UserFactory(roles=[Role.REVIEWER], full_name="Bob Reviewer")
    add_review(ranked, 2, alice, (5, 4), "4.6667", Recommendation.SUPPORT, "Excellent.")
    add_review(ranked, 2, bob, (4, 4), "4.0", Recommendation.STRONGLY_SUPPORT, '=HYPERLINK("http://evil.example")',
               minutes=5)
    add_review(ranked, 4, alice, (5, 5), "5.0", Recommendation.STRONGLY_SUPPORT, "Outstanding.")
    add_review(ranked, 4, bob, (1, 2), "1.3333", Recommendation.OPPOSE, "Weak plan.", minutes=5)
    add_review(ranked, 3, bob, (3, 3), "3.0", Recommendation.NEUTRAL, "Fine.")
    add_review(ranked, 1, alice, (2, 2), "2.0", None, "Draft thoughts", status=ReviewStatus.DRAFT)
    ranked.apps[5].given_name = "@SUM(A1)"
    db.session.add(ReviewerStrictness(call_id=ranked.call.id, reviewer_id=alice.id, review_count=2,
                                      mean=Decimal("4.8333"), stddev=Decimal("0.2357"), normalised=False))
    db.session.commit()
    return ranked


HEADER = ["Rank", "Reference", "Given name", "Family name", "Nationality", "Region", "Status", "Submitted reviews",
          "Raw mean", "Normalised mean", "Spread", "Disagreement", "Proposal", "Chair's adjustment",
          "Adjustment reason", "Reviewer", "Review submitted at (UTC)", "Weighted score", "Recommendation",
          "Academic merit", "Leadership potential", "Comment"]


def csv_export(client, ranked: Ranked, **params: object) -> tuple[bytes, list[list[str]]]:
    response = client.get(f"/staff/calls/{ranked.call.id}/ranking.csv", query_string=params)
    assert response.status_code == 200 and response.is_streamed
    assert response.mimetype == "text/csv" and response.mimetype_params.get("charset") == "utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.get_data()
    return body, list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def number(text: str) -> Decimal:
    return Decimal(text)


def test_the_csv_has_one_row_per_submitted_review_with_the_application_repeated(staff_client, reviewed):
    body, rows = csv_export(staff_client, reviewed)
    assert body.startswith(b"\xef\xbb\xbfRank,")
    assert rows[0] == HEADER
    data = rows[1:]
    # Normalised order 2, 4, 1, 3, 5, 6; 2 and 4 have two reviews each; 1 only a draft; 5 and 6 none.
    assert [(r[0], r[1], r[15]) for r in data] == [
        ("1", "ELF-2027-00002", "Alice Reviewer"), ("1", "ELF-2027-00002", "Bob Reviewer"),
        ("2", "ELF-2027-00004", "Alice Reviewer"), ("2", "ELF-2027-00004", "Bob Reviewer"),
        ("3", "ELF-2027-00001", ""), ("4", "ELF-2027-00003", "Bob Reviewer"), ("5", "ELF-2027-00005", ""),
        ("", "ELF-2027-00006", ""),
    ]
    first = data[0]
    assert first[2:8] == ["Given2", "Family2", "Nepal", "Asia", "Under review", "2"]
    assert [number(v) for v in first[8:11]] == [Decimal("4.00"), Decimal("4.40"), Decimal("0.5")]
    assert first[11:15] == ["No", "Selected", "", ""]
    assert first[16] == "2027-05-01 09:00" and number(first[17]) == Decimal("4.6667")
    assert first[18:] == ["Support", "5", "4", "Excellent."]
    assert data[3][11] == "Yes" and data[3][17:21] == ["1.3333", "Oppose", "1", "2"]
    assert data[5][12] == "Selected (quota)" and data[2][12] == "Waitlist 1 (a quota seat went to a lower rank)"
    assert "Draft thoughts" not in body.decode("utf-8")

    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "selection.ranking_exported"))
    assert entry is not None and entry.object_id == reviewed.call.id
    assert entry.details == {"format": "csv", "sort": "normalised", "applications": 6}


def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised(staff_client, reviewed):
    _, rows = csv_export(staff_client, reviewed)
    comments = {r[15]: r[21] for r in rows[1:] if r[1] == "ELF-2027-00002"}
    assert comments["Bob Reviewer"] == '\'=HYPERLINK("http://evil.example")'
    assert next(r[2] for r in rows[1:] if r[1] == "ELF-2027-00005") == "'@SUM(A1)"


def test_the_export_follows_the_chosen_sort_and_the_chairs_adjustments(staff_client, reviewed, staff):
    from fellowship.selection.ranking import adjust

    adjust(reviewed.call, reviewed.apps[4], "include", "Panel agreed after discussion.", staff)
    db.session.commit()
    _, rows = csv_export(staff_client, reviewed, sort="raw")
    assert [r[1] for r in rows[1:]][::1] == ["ELF-2027-00001", "ELF-2027-00002", "ELF-2027-00002", "ELF-2027-00003",
                                             "ELF-2027-00004", "ELF-2027-00004", "ELF-2027-00005", "ELF-2027-00006"]
    included = next(r for r in rows[1:] if r[1] == "ELF-2027-00004")
    assert included[12:15] == ["Selected (included by the chair)", "include", "Panel agreed after discussion."]


def test_the_xlsx_holds_every_review_with_numbers_as_numbers_and_the_reviewers_sheet(staff_client, reviewed):
    response = staff_client.get(f"/staff/calls/{reviewed.call.id}/ranking.xlsx")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "ranking-2027-call-" in response.headers["Content-Disposition"]
    workbook = load_workbook(io.BytesIO(response.get_data()))
    assert workbook.sheetnames == ["Ranking", "Reviewers"]
    rows = list(workbook["Ranking"].values)
    assert list(rows[0]) == HEADER
    assert [(r[1], r[15]) for r in rows[1:]] == [
        ("ELF-2027-00002", "Alice Reviewer"), ("ELF-2027-00002", "Bob Reviewer"),
        ("ELF-2027-00004", "Alice Reviewer"), ("ELF-2027-00004", "Bob Reviewer"),
        ("ELF-2027-00001", None), ("ELF-2027-00003", "Bob Reviewer"), ("ELF-2027-00005", None),
        ("ELF-2027-00006", None),
    ]
    first = rows[1]
    assert first[0] == 1 and first[7] == 2 and first[8] == pytest.approx(4.0) and first[9] == pytest.approx(4.4)
    assert first[16] == datetime(2027, 5, 1, 9, 0)
    assert first[17] == pytest.approx(4.6667) and first[18:] == ("Support", 5, 4, "Excellent.")
    assert rows[5][1] == "ELF-2027-00001" and rows[5][15:] == (None,) * 7  # no submitted review
    assert rows[2][21] == '\'=HYPERLINK("http://evil.example")'  # text, never a formula
    assert list(workbook["Reviewers"].values) == [
        ("Reviewer", "Submitted reviews", "Mean weighted score", "Standard deviation", "Normalised"),
        ("Alice Reviewer", 2, pytest.approx(4.8333), pytest.approx(0.2357), "No")]
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "selection.ranking_exported"))
    assert entry is not None and entry.details["format"] == "xlsx"
