"""Conflicts of interest as reviewers meet them: declared by reference, recusal, and no access afterwards."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from fellowship.audit.models import AuditEntry
from fellowship.calls.models import CallStatus, DocumentKind
from fellowship.documents.services import save_validated
from fellowship.documents.validation import validate_upload
from fellowship.errors import DomainError
from fellowship.extensions import db
from fellowship.models import utcnow
from fellowship.selection import assignment as services
from fellowship.selection import conflicts
from fellowship.selection.models import (
    ApplicationScore,
    Assignment,
    AssignmentStatus,
    Conflict,
    ConflictKind,
    ConflictSource,
    Review,
    ReviewStatus,
)
from fellowship.selection.permissions import reviewer_may_see
from fellowship.selection.scores import recompute_call
from tests.conftest import login, submit_form
from tests.documents.files import PDF
from tests.factories import CallFactory, UserFactory, submitted_application
from tests.selection.factories import panel_reviewer


@pytest.fixture
def call(app_ctx):
    return CallFactory(status=CallStatus.CLOSED, reviewers_per_application=1,
                       review_due_at=utcnow() + timedelta(days=20))


def actions() -> list[str]:
    return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_a_reviewer_declares_a_conflict_by_reference_without_opening_the_file(client, call):
    application = submitted_application(call, institution="Elsewhere")
    other_call_application = submitted_application(CallFactory(status=CallStatus.CLOSED, year=2028))
    reviewer = panel_reviewer(call, email="reviewer@example.org")
    login(client, "reviewer@example.org")

    response = submit_form(client, "/review/conflicts", {
        "reference": f" {application.reference.lower()} ", "kind": "supervisor", "note": "I supervised her MSc."})
    assert response.status_code == 302
    page = client.get(response.location).get_data(as_text=True)
    assert f"Conflict of interest with {application.reference} declared. You will not be assigned to it." in page
    assert application.reference in page and "I supervised her MSc." in page
    assert application.given_name not in page, "the reviewer sees the reference only"

    conflict = db.session.scalars(select(Conflict)).one()
    assert (conflict.reviewer_id, conflict.application_id, conflict.kind, conflict.source) == (
        reviewer.id, application.id, ConflictKind.SUPERVISOR, ConflictSource.DECLARED)
    assert "selection.conflict_declared" in actions()
    assert services.auto_assign(call).pairs == [], "a declared conflict is never assigned"
    db.session.rollback()  # a preview only; and it holds the call's lock, which the next request takes too

    # A reference of a call they do not serve on, or none at all, gets the same answer.
    for reference in (other_call_application.reference, "ELF-1999-99999"):
        html = submit_form(client, "/review/conflicts", {"reference": reference, "kind": "relative",
                                                         "note": "x"}).get_data(as_text=True)
        assert f"No application with reference {reference} in a call whose panel you serve on." in html
    # "Other" needs a note; the same conflict twice is refused.
    html = submit_form(client, "/review/conflicts", {"reference": application.reference, "kind": "other",
                                                     "note": ""}).get_data(as_text=True)
    assert "Say in a few words what the tie is." in html
    html = submit_form(client, "/review/conflicts", {"reference": application.reference, "kind": "supervisor",
                                                     "note": "again"}).get_data(as_text=True)
    assert "is already recorded" in html
    assert db.session.scalars(select(Conflict)).all() == [conflict]


def test_declaring_a_conflict_on_an_assigned_application_recuses_logs_and_reassigns(app_ctx, call):
    application = submitted_application(call, institution="Elsewhere")
    first = panel_reviewer(call)
    second = panel_reviewer(call)
    services.auto_assign(call)
    db.session.commit()
    holder, other = (first, second) if services.call_load(call.id, first.id) else (second, first)

    conflict = conflicts.declare_conflict(holder, application, ConflictKind.RELATIVE, "My niece")
    db.session.commit()

    assert conflict.source is ConflictSource.RECUSAL
    withdrawn = db.session.scalar(select(Assignment).where(Assignment.reviewer_id == holder.id))
    assert withdrawn.status is AssignmentStatus.WITHDRAWN
    taken = db.session.scalar(select(Assignment).where(Assignment.reviewer_id == other.id))
    assert taken.application_id == application.id and taken.status is AssignmentStatus.ACTIVE
    recused = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "selection.recused")).one()
    assert (recused.object_type, recused.object_id, recused.details["note"]) == ("Assignment", withdrawn.id,
                                                                                 "My niece")


def test_the_recuse_page_withdraws_the_assignment_and_gives_the_application_to_another(app, client, call):
    application = submitted_application(call, institution="Elsewhere")
    reviewer = panel_reviewer(call, email="reviewer@example.org")
    item = services.assign(call, application, reviewer, None)
    db.session.commit()
    colleague_user = panel_reviewer(call, email="colleague@example.org")
    url = f"/review/assignments/{item.id}/recuse"

    colleague = app.test_client()
    login(colleague, "colleague@example.org")
    assert colleague.get(url).status_code == 404, "only the assigned reviewer can recuse"

    login(client, "reviewer@example.org")
    assert application.reference in client.get(url).get_data(as_text=True)
    html = submit_form(client, url, {"kind": "other", "note": ""}).get_data(as_text=True)
    assert "Say in a few words why you step back." in html
    response = submit_form(client, url, {"kind": "other", "note": "We co-authored a paper."}, follow_redirects=True)
    assert f"You stepped back from {application.reference}; it goes to another reviewer." in response.get_data(
        as_text=True)

    db.session.expire_all()
    assert item.status is AssignmentStatus.WITHDRAWN
    conflict = db.session.scalars(select(Conflict)).one()
    assert (conflict.source, conflict.note) == (ConflictSource.RECUSAL, "We co-authored a paper.")
    assert [a for a in actions() if a in ("selection.conflict_declared", "selection.recused")] == [
        "selection.conflict_declared", "selection.recused"]
    active = db.session.scalars(select(Assignment).where(Assignment.status == AssignmentStatus.ACTIVE)).all()
    assert [(a.application_id, a.reviewer_id) for a in active] == [(application.id, colleague_user.id)]
    assert client.get(url).status_code == 404, "no second recusal from a withdrawn assignment"


def test_a_conflicted_reviewer_can_no_longer_open_the_applications_documents(client, call):
    application = submitted_application(call, institution="Elsewhere")
    cv = save_validated(application, DocumentKind.CV,
                        validate_upload(FileStorage(io.BytesIO(PDF), filename="cv.pdf"), DocumentKind.CV))
    reviewer = panel_reviewer(call, email="reviewer@example.org")
    staff = UserFactory(email="staff@example.org")
    services.assign(call, application, reviewer, staff)
    db.session.commit()
    login(client, "reviewer@example.org")
    assert reviewer_may_see(reviewer.id, application.id)
    assert client.get(f"/documents/{cv.id}").status_code == 200

    submit_form(client, "/review/conflicts", {"reference": application.reference, "kind": "relative",
                                              "note": "My cousin."})
    assert not reviewer_may_see(reviewer.id, application.id)
    assert client.get(f"/documents/{cv.id}").status_code == 404
    with pytest.raises(DomainError, match="has a conflict of interest"):
        services.assign(call, application, reviewer, staff)


def test_a_recusal_after_submitting_takes_that_review_out_of_the_scores(app_ctx, call):
    call.reviewers_per_application = 2
    application = submitted_application(call, institution="Elsewhere")
    first, second = panel_reviewer(call), panel_reviewer(call)
    services.auto_assign(call)
    for reviewer, score in ((first, "2"), (second, "4")):
        item = db.session.scalar(select(Assignment).where(Assignment.reviewer_id == reviewer.id))
        db.session.add(Review(assignment_id=item.id, application_id=application.id, reviewer_id=reviewer.id,
                              call_id=call.id, status=ReviewStatus.SUBMITTED, submitted_at=utcnow(),
                              weighted_score=Decimal(score)))
    db.session.flush()
    recompute_call(call.id)
    db.session.commit()
    assert db.session.get_one(ApplicationScore, application.id).review_count == 2

    conflicts.declare_conflict(first, application, ConflictKind.OTHER, "Discovered a joint project.")
    db.session.commit()
    db.session.expire_all()
    figures = db.session.get_one(ApplicationScore, application.id)
    assert (figures.review_count, figures.raw_mean) == (1, Decimal("4"))
