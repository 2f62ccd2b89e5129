"""Reviewing as a reviewer meets it: the assignments list, the application (blind or not) with its documents, the
rubric, drafts, submission, edits until the panel locks, the other reviews; and who may open what."""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage

from fellowship.applications.models import Application, Document, Referee, RefereeStatus
from fellowship.audit.models import AuditEntry
from fellowship.auth.models import Role, User
from fellowship.calls.models import Call, DocumentKind
from fellowship.documents.services import save_validated
from fellowship.documents.validation import validate_upload
from fellowship.extensions import db, limiter
from fellowship.models import utcnow
from fellowship.selection.models import (
    ApplicationScore,
    Assignment,
    Conflict,
    ConflictKind,
    ConflictSource,
    Recommendation,
    Review,
    ReviewStatus,
)
from fellowship.selection.reviewing import save_review
from tests.conftest import login, submit_form
from tests.documents.files import PDF
from tests.factories import CallFactory, UserFactory, submitted_application
from tests.querycount import counted_statements
from tests.selection.factories import AssignmentFactory, add_rubric

APPLICANT_NAMES = ("Amani", "Njeri")  # tests.factories.complete_sections
PHONE = "+254 700 000000"


@pytest.fixture(autouse=True)
def fresh_rate_limits(app) -> Iterator[None]:
    """Many logins in this module: counters on this app's storage, empty for each test (as tests/documents)."""
    limiter.init_app(app)
    with app.app_context(), contextlib.suppress(Exception):
        limiter.reset()
    yield


def reviewer(name: str = "Kenji Sato") -> User:
    return UserFactory(roles=[Role.REVIEWER], full_name=name)


def setup_review(*, blind: bool = False, reviewers: int = 1, year: int = 2027):
    """A call with a two-criterion rubric, one application under review, and `reviewers` assigned to it."""
    call = CallFactory(blind_review=blind, year=year)
    criteria = add_rubric(call, 1, 3)
    criteria[0].description = "Grades, degrees and research so far."
    criteria[0].level_descriptions = {"1": "No relevant record", "2": "Weak record", "3": "Solid record",
                                      "4": "Strong record with distinctions", "5": "Exceptional, published work"}
    db.session.commit()
    application = submitted_application(call)
    people = [reviewer(name) for name in ("Kenji Sato", "Grace Mensah", "Ravi Patel")[:reviewers]]
    assignments = [AssignmentFactory(application=application, reviewer_id=p.id) for p in people]
    return call, criteria, application, people, assignments


def page_of(assignment: Assignment) -> str:
    return f"/review/assignments/{assignment.id}"


def score_form(criteria, *scores: int, recommendation: str = "", comment: str = "", button: str = "submit") -> dict:
    data: dict[str, str] = {f"score_{c.id}": str(s) for c, s in zip(criteria, scores, strict=False)}
    data.update(comment=comment, recommendation=recommendation)
    data.update({"submit_review": "Submit review"} if button == "submit" else {"save_draft": "Save draft"})
    return data


def review_of(assignment: Assignment) -> Review | None:
    db.session.expire_all()
    return db.session.scalar(select(Review).where(Review.assignment_id == assignment.id))


def add_document(application: Application, kind: DocumentKind, name: str, referee: Referee | None = None) -> Document:
    checked = validate_upload(FileStorage(io.BytesIO(PDF), filename=name), kind)
    document = save_validated(application, kind, checked, referee=referee)
    db.session.commit()
    return document


def add_referee_with_letter(application: Application) -> tuple[Referee, Document]:
    referee = Referee(application_id=application.id, name="Prof. Wanjiru Kamau", email="w.kamau@uonbi.example",
                      relation="Thesis supervisor", status=RefereeStatus.RECEIVED, received_at=utcnow())
    db.session.add(referee)
    db.session.commit()
    return referee, add_document(application, DocumentKind.REFERENCE_LETTER, "kamau-letter-for-njeri.pdf", referee)




# --- The page and the rubric -------------------------------------------------------------------------------------

def test_the_rubric_shows_each_criterion_with_the_description_of_every_level(client, app_ctx):
    call, criteria, application, (kenji,), (assignment,) = setup_review()
    login(client, kenji.email)
    html = client.get(page_of(assignment)).get_data(as_text=True)
    # One fieldset per criterion, its legend the criterion's name, its description tied to the group.
    fieldsets = re.findall(r"<fieldset[^>]*>\s*<legend>(.*?)</legend>", html, re.S)
    assert [re.sub(r"<[^>]+>|\s+", " ", f).split("(")[0].strip() for f in fieldsets] == ["Criterion A", "Criterion B"]
    assert f'aria-describedby="score_{criteria[0].id}-hint"' in html
    assert "Grades, degrees and research so far." in html
    # Each level's description is the label of its radio button.
    for level, text in criteria[0].level_descriptions.items():
        radio = f"score_{criteria[0].id}-{int(level) - 1}"
        assert re.search(rf'<input[^>]*id="{radio}"[^>]*type="radio"[^>]*value="{level}"[^>]*>\s*'
                         rf'<label for="{radio}"><strong>{level}</strong> — {re.escape(text)}</label>', html), text
    assert 'value="Save draft"' in html and 'value="Submit review"' in html


def test_a_draft_may_be_partial_and_comes_back_filled_in(client, app_ctx):
    call, criteria, application, (kenji,), (assignment,) = setup_review()
    login(client, kenji.email)
    response = submit_form(client, page_of(assignment),
                           score_form(criteria, 4, comment="Strong water background.", button="draft"),
                           follow_redirects=True)
    assert "Your draft is saved." in response.get_data(as_text=True)
    review = review_of(assignment)
    assert review is not None and review.status is ReviewStatus.DRAFT and review.weighted_score is None
    assert {s.criterion_id: s.score for s in review.scores} == {criteria[0].id: 4}
    html = client.get(page_of(assignment)).get_data(as_text=True)
    assert re.search(rf'id="score_{criteria[0].id}-3"[^>]*value="4"|value="4"[^>]*id="score_{criteria[0].id}-3"', html)
    assert re.search(rf'<input checked[^>]*id="score_{criteria[0].id}-3"', html)
    assert "Strong water background." in html
    assert db.session.scalar(select(func.count()).select_from(ApplicationScore)) == 0  # drafts count for nothing


def test_submitting_needs_every_criterion_and_a_recommendation(client, app_ctx):
    call, criteria, application, (kenji,), (assignment,) = setup_review()
    login(client, kenji.email)
    response = submit_form(client, page_of(assignment), score_form(criteria, 4))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "To submit the review, give a score for “Criterion B” and a recommendation." in html
    assert re.search(rf'id="score_{criteria[1].id}-error">Choose a score from 1 to 5', html)
    assert 'id="recommendation-error">Choose a recommendation' in html
    assert review_of(assignment) is None  # nothing half-saved

    response = submit_form(client, page_of(assignment), score_form(criteria, 4, 3, recommendation="support"),
                           follow_redirects=True)
    assert "Your review is submitted." in response.get_data(as_text=True)
    review = review_of(assignment)
    assert review is not None and review.status is ReviewStatus.SUBMITTED and review.submitted_at is not None
    assert str(review.weighted_score) in ("3.25", "3.2500")  # (4 + 3·3) / 4
    score = db.session.get(ApplicationScore, application.id)
    assert score is not None and score.review_count == 1 and str(score.raw_mean).startswith("3.25")
    audit = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "selection.review_submitted"))
    assert audit is not None and audit.details["scores"] == {str(criteria[0].id): 4, str(criteria[1].id): 3}


def test_a_submitted_review_can_be_edited_until_the_panel_locks(client, app_ctx):
    call, criteria, application, (kenji,), (assignment,) = setup_review()
    staff = UserFactory(roles=[Role.STAFF])
    login(client, kenji.email)
    submit_form(client, page_of(assignment), score_form(criteria, 4, 3, recommendation="support"))
    html = client.get(page_of(assignment)).get_data(as_text=True)
    assert 'value="Update review"' in html and 'value="Save draft"' not in html

    response = submit_form(client, page_of(assignment), score_form(criteria, 5, 5, recommendation="strongly_support"),
                           follow_redirects=True)
    assert "Your review is updated." in response.get_data(as_text=True)
    review = review_of(assignment)
    assert review is not None and review.status is ReviewStatus.SUBMITTED and str(review.weighted_score).startswith("5")
    assert str(db.session.get(ApplicationScore, application.id).raw_mean).startswith("5")
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("selection.review_%"))
                                 .order_by(AuditEntry.id)).all()
    assert actions == ["selection.review_submitted", "selection.review_updated"]

    staff_client = client.application.test_client()
    login(staff_client, staff.email)
    panel = f"/staff/calls/{call.id}/panel"
    assert "Lock the reviews" in staff_client.get(panel).get_data(as_text=True)
    locked = submit_form(staff_client, f"/staff/calls/{call.id}/panel/lock", {"next": panel}, page=panel)
    assert locked.status_code == 302 and locked.location == panel
    assert "Reopen the reviews" in staff_client.get(panel).get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Call, call.id).panel_locked_at is not None

    html = client.get(page_of(assignment)).get_data(as_text=True)
    assert "The panel has locked the reviews" in html and 'value="Update review"' not in html
    response = submit_form(client, page_of(assignment), score_form(criteria, 1, 1, recommendation="oppose"))
    assert "The panel has locked the reviews." in response.get_data(as_text=True)
    assert str(review_of(assignment).weighted_score).startswith("5")  # unchanged

    submit_form(staff_client, f"/staff/calls/{call.id}/panel/unlock", {}, page=panel)
    response = submit_form(client, page_of(assignment), score_form(criteria, 1, 1, recommendation="oppose"),
                           follow_redirects=True)
    assert "Your review is updated." in response.get_data(as_text=True)
    locks = db.session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("selection.panel_%"))
                               .order_by(AuditEntry.id)).all()
    assert locks == ["selection.panel_locked", "selection.panel_unlocked"]


def test_only_staff_lock_the_panel(client, app_ctx):
    call, criteria, application, (kenji,), (assignment,) = setup_review()
    login(client, kenji.email)
    response = submit_form(client, f"/staff/calls/{call.id}/panel/lock", {}, page=page_of(assignment))
    assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(Call, call.id).panel_locked_at is None


def test_other_reviews_are_hidden_until_the_reviewer_submitted_their_own(client, app_ctx):
    call, criteria, application, (kenji, grace), (mine, theirs) = setup_review(reviewers=2)
    save_review(theirs, {criteria[0].id: 2, criteria[1].id: 2}, "Plan lacks a budget.", Recommendation.OPPOSE,
                submit=True)
    db.session.commit()
    login(client, kenji.email)
    before = client.get(page_of(mine)).get_data(as_text=True)
    assert "Plan lacks a budget." not in before and "Grace Mensah" not in before

    submit_form(client, page_of(mine), score_form(criteria, 3, 3, recommendation="neutral", button="draft"))
    assert "Plan lacks a budget." not in client.get(page_of(mine)).get_data(as_text=True)  # a draft is not enough

    after = submit_form(client, page_of(mine), score_form(criteria, 4, 4, recommendation="support"),
                        follow_redirects=True).get_data(as_text=True)
    assert "Plan lacks a budget." in after and "Grace Mensah" in after and "Oppose" in after


def test_blind_review_hides_the_applicants_identity_and_file_names(client, app_ctx):
    for year, blind in ((2027, True), (2028, False)):
        call, criteria, application, (kenji, grace), (mine, theirs) = setup_review(blind=blind, reviewers=2,
                                                                                   year=year)
        cv = add_document(application, DocumentKind.CV, "Amani-Njeri-CV-2027.pdf")
        referee, letter = add_referee_with_letter(application)
        save_review(theirs, {criteria[0].id: 2, criteria[1].id: 2}, "Thin plan.", Recommendation.OPPOSE, submit=True)
        save_review(mine, {criteria[0].id: 4, criteria[1].id: 4}, "", Recommendation.SUPPORT, submit=True)
        db.session.commit()
        applicant_email = db.session.get(User, application.applicant_id).email
        login(client, kenji.email)
        html = client.get(page_of(mine)).get_data(as_text=True)
        dashboard = client.get("/review").get_data(as_text=True)
        # The date of birth as the form's date question shows it (tests.factories.complete_sections: 1996-04-12).
        identifiers = [*APPLICANT_NAMES, "April 12, 1996", PHONE, cv.filename, letter.filename, referee.name,
                       referee.email, "Grace Mensah"]
        shown = {"Kenya", "Africa", "University of Nairobi", "Water officer", "I will study water systems.",
                 "I want to protect rivers", "IELTS 7.5", "Thesis supervisor", application.reference}
        assert all(text in html for text in shown), [t for t in shown if t not in html]
        assert applicant_email not in html
        if blind:
            assert [i for i in identifiers if i in html] == []
            assert not any(name in dashboard for name in APPLICANT_NAMES) and "Blind review" in dashboard
            assert "Reviewer 1" in html and "Referee 1" in html and "CV" in html
        else:
            assert [i for i in identifiers if i not in html] == []
            assert "Amani Njeri" in dashboard
        client.post("/auth/logout", data={"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', html)[1]})


# --- The reviewer's list -----------------------------------------------------------------------------------------

def test_the_list_shows_my_assignments_and_its_query_count_does_not_grow(client, app_ctx):
    call, criteria, application, (kenji, grace), (mine, theirs) = setup_review(reviewers=2)
    login(client, kenji.email)
    with counted_statements() as few:
        html = client.get("/review").get_data(as_text=True)
    assert application.reference in html and "Not started" in html and "1 application assigned" in html

    for _ in range(6):
        AssignmentFactory(application=submitted_application(call), reviewer_id=kenji.id)
    save_review(mine, {criteria[0].id: 4, criteria[1].id: 4}, "", Recommendation.SUPPORT, submit=True)
    other_call = CallFactory(year=2031)
    AssignmentFactory(application=submitted_application(other_call), reviewer_id=grace.id)  # not kenji's
    db.session.commit()
    with counted_statements() as many:
        html = client.get("/review").get_data(as_text=True)
    assert "7 applications assigned" in html and "Submitted" in html
    assert len(many) == len(few)


# --- Authorization: what a reviewer may not open gives 404 ----------------------------------------------------

def test_a_reviewer_gets_404_for_anything_not_assigned_to_them_or_conflicted(client, app_ctx):
    call, criteria, application, (kenji, grace), (mine, graces) = setup_review(reviewers=2)
    cv = add_document(application, DocumentKind.CV, "cv.pdf")
    unassigned = submitted_application(call)
    unassigned_cv = add_document(unassigned, DocumentKind.CV, "other-cv.pdf")
    conflicted = submitted_application(call)
    conflicted_cv = add_document(conflicted, DocumentKind.CV, "conflicted-cv.pdf")
    conflicted_assignment = AssignmentFactory(application=conflicted, reviewer_id=kenji.id)
    db.session.add(Conflict(reviewer_id=kenji.id, application_id=conflicted.id, kind=ConflictKind.RELATIVE,
                            source=ConflictSource.DECLARED, note="My cousin."))
    db.session.commit()
    missing_id = db.session.scalar(select(func.max(Assignment.id))) + 100

    login(client, kenji.email)
    assert client.get(page_of(mine)).status_code == 200
    download = client.get(f"/documents/{cv.id}")
    assert download.status_code == 200 and download.data == PDF

    assert client.get(f"/review/assignments/{missing_id}").status_code == 404  # no such assignment
    assert client.get(page_of(graces)).status_code == 404  # another reviewer's assignment
    assert client.get(f"/documents/{unassigned_cv.id}").status_code == 404  # an application not assigned to me
    assert client.get(page_of(conflicted_assignment)).status_code == 404  # assigned, but a conflict
    assert client.get(f"/documents/{conflicted_cv.id}").status_code == 404
    # Posting a review to someone else's assignment is refused the same way, and saves nothing.
    response = submit_form(client, page_of(graces), score_form(criteria, 5, 5, recommendation="support"),
                           page=page_of(mine))
    assert response.status_code == 404 and review_of(graces) is None
    assert "conflicted-cv.pdf" not in client.get("/review").get_data(as_text=True)
    assert conflicted.reference not in client.get("/review").get_data(as_text=True)


def test_every_document_link_on_the_review_page_downloads(client, app_ctx):
    call, criteria, application, (kenji,), (assignment,) = setup_review()
    add_document(application, DocumentKind.CV, "cv.pdf")
    add_document(application, DocumentKind.TRANSCRIPT, "transcript.pdf")
    add_referee_with_letter(application)
    login(client, kenji.email)
    html = client.get(page_of(assignment)).get_data(as_text=True)
    links = re.findall(r'href="(/documents/\d+)"', html)
    assert len(links) >= 2
    assert all(client.get(link).status_code == 200 for link in links), links
    assert "Reference letter" in html  # listed, with a link when the documents area lets reviewers download it
