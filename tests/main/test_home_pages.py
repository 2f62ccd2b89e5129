"""Each role lands on its own work: the home page lists that role's pending work from the demo data (`flask
seed-demo`), each item linking to the page where it is done, in a number of queries that does not grow with the data."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from fellowship.alumni.models import FollowUp, FollowUpStatus
from fellowship.applications.models import Application, ApplicationStatus
from fellowship.auth.models import Role, User, UserRole
from fellowship.calls.models import Call, CallStatus
from fellowship.demo import DEMO_PASSWORD
from fellowship.extensions import db
from fellowship.fellows.models import Fellow
from fellowship.selection.models import (
    Assignment,
    AssignmentStatus,
    Review,
    ReviewStatus,
    StageAssignment,
    StageReview,
)
from tests.conftest import login
from tests.factories import ApplicationFactory, CallFactory, UserFactory
from tests.querycount import counted_statements


def home_of(client: FlaskClient, email: str) -> str:
    login(client, email, DEMO_PASSWORD)
    response = client.get("/")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def section(html: str, role: str) -> str:
    match = re.search(rf'<section id="home-{role}".*?</section>', html, re.S)
    assert match, f"the home page has no {role} section"
    return match.group(0)


def links(html: str) -> set[str]:
    return {href.replace("&amp;", "&") for href in re.findall(r'href="([^"]+)"', html)}


def user(email: str) -> User:
    return db.session.scalars(select(User).where(User.email == email)).one()


def home_queries(client: FlaskClient) -> int:
    with counted_statements() as statements:
        assert client.get("/").status_code == 200
    return len(statements)


def test_the_applicants_home_lists_each_application_with_what_is_missing_and_the_deadline_in_their_zone(
        demo: Flask, client: FlaskClient) -> None:
    applicant = user("applicant@example.org")
    drafts = db.session.scalars(select(Application).where(Application.applicant_id == applicant.id,
                                                          Application.status == ApplicationStatus.DRAFT)).all()
    assert drafts, "the demo applicant has a draft"
    html = section(home_of(client, applicant.email), "applicant")
    draft = drafts[0]
    assert draft.call.title in html
    assert f"/applications/{draft.id}" in links(html)
    assert "Deadline" in html and "(Asia/Tokyo)" in html and "days left" in html  # the programme's zone, named
    assert "Still missing" in html or "Everything is in" in html

    # In the zone the applicant chose, named too.
    applicant.time_zone = "Africa/Nairobi"
    db.session.commit()
    assert "(Africa/Nairobi)" in section(client.get("/").get_data(as_text=True), "applicant")


def test_the_applicants_home_offers_the_answer_to_an_offer(demo: Flask, client: FlaskClient) -> None:
    from fellowship.selection.models import Offer, OfferStatus

    offer = db.session.scalars(select(Offer).where(Offer.status == OfferStatus.PENDING)).first()
    assert offer is not None, "the demo data holds a pending offer (fellowship/demo.py)"
    application = db.session.get_one(Application, offer.application_id)
    applicant = db.session.get_one(User, application.applicant_id)
    applicant.password_hash = user("applicant@example.org").password_hash  # to log in with the demo password
    db.session.commit()
    html = section(home_of(client, applicant.email), "applicant")
    assert "An offer to answer" in html and f"/applications/{application.id}" in links(html)


def test_the_reviewers_home_lists_assignments_by_due_date_and_how_many_are_left(
        demo: Flask, client: FlaskClient) -> None:
    reviewer = user("reviewer@example.org")
    open_ids = set(db.session.scalars(
        select(Assignment.id).outerjoin(Review, Review.assignment_id == Assignment.id)
        .where(Assignment.reviewer_id == reviewer.id,
               (Review.id.is_(None)) | (Review.status != ReviewStatus.SUBMITTED))))
    assert open_ids, "the demo reviewer has reviews to do"
    # The count covers the later review rounds too (the demo's expert round gives the reviewer some).
    open_in_rounds = db.session.scalar(
        select(func.count()).select_from(StageAssignment)
        .outerjoin(StageReview, StageReview.assignment_id == StageAssignment.id)
        .where(StageAssignment.reviewer_id == reviewer.id, StageAssignment.status == AssignmentStatus.ACTIVE,
               (StageReview.id.is_(None)) | (StageReview.status != ReviewStatus.SUBMITTED)))
    assert open_in_rounds, "the demo reviewer has reviews to do in a later round"
    html = section(home_of(client, reviewer.email), "reviewer")
    assert re.search(rf"<strong>{len(open_ids) + open_in_rounds}</strong> reviews? left to submit", html)
    listed = [int(i) for i in re.findall(r'href="/review/assignments/(\d+)"', html)]
    assert listed and set(listed) <= open_ids
    due = {a.id: a.due_at for a in db.session.scalars(select(Assignment).where(Assignment.id.in_(listed)))}
    assert [due[i] for i in listed] == sorted(due[i] for i in listed)  # soonest due first
    assert "/review" in links(html)


def test_the_staff_home_lists_calls_by_stage_deadlines_failed_emails_overdue_follow_ups_and_returns_due(
        demo: Flask, client: FlaskClient) -> None:
    html = section(home_of(client, "staff@example.org"), "staff")
    hrefs = links(html)
    open_call = db.session.scalars(select(Call).where(Call.status == CallStatus.OPEN)).first()
    reviewing = db.session.scalars(select(Call).where(Call.status.in_([CallStatus.REVIEWING,
                                                                       CallStatus.CLOSED]))).first()
    assert open_call is not None and reviewing is not None
    assert "Open for applications: <strong>1</strong>" in html
    assert f"/staff/calls/{open_call.id}/applications" in hrefs  # where an open call's work is done
    assert any(h.startswith(f"/staff/calls/{reviewing.id}/") for h in hrefs)
    assert "closes" in html and "(Asia/Tokyo)" in html  # the next deadline, the zone named
    overdue = db.session.query(FollowUp).filter(FollowUp.status.in_([FollowUpStatus.OVERDUE,
                                                                     FollowUpStatus.LAPSED])).count()
    assert overdue > 0
    assert re.search(rf'<span class="figure">{overdue}</span>\s*<span class="label">overdue follow-ups', html)
    assert {"/staff/outbox/?status=failed", "/staff/alumni/overdue", "/staff/fellows/returns-due"} <= hrefs
    assert "Background processing" in html  # the worker/beat health block stays on the staff home


def test_the_alumnus_home_shows_the_survey_waiting_and_a_nudge_to_update_the_career(
        demo: Flask, client: FlaskClient) -> None:
    alumnus = user("alumnus@example.org")
    waiting = db.session.scalars(select(FollowUp).join(Fellow).where(
        Fellow.user_id == alumnus.id, FollowUp.status.in_([FollowUpStatus.SENT, FollowUpStatus.REMINDED]))).all()
    assert len(waiting) == 1, "the demo alumnus has one survey waiting"
    html = section(home_of(client, alumnus.email), "alumnus")
    assert "1 survey is waiting" in html
    assert f"/alumni/surveys/{waiting[0].id}" in links(html)
    assert "Update your career" in html and "/alumni/career" in links(html)


def test_the_admin_home_lists_invitations_not_accepted_and_recent_activity_in_sentences(
        demo: Flask, client: FlaskClient) -> None:
    from fellowship.admin.services import invite_user
    from fellowship.audit.services import record

    admin = user("admin@example.org")
    invite_user("new.reviewer@example.org", "Noa Newreviewer", Role.REVIEWER, by=admin)
    record("auth.role_granted", user("staff@example.org"), actor_id=admin.id, role="staff")
    db.session.commit()
    page = home_of(client, admin.email)
    html = section(page, "admin")
    assert "Noa Newreviewer" in html and "/admin/users?q=new.reviewer@example.org" in links(html)
    assert re.search(r'<span class="figure">1</span>\s*<span class="label">invitation not yet accepted', html)
    assert "Ada Admin" in html  # the recent audit, as sentences naming the person
    assert "/admin/audit" in links(html)
    section(page, "staff")  # an admin is also staff here: each role's section


def test_a_person_with_several_roles_sees_each_roles_section(demo: Flask, client: FlaskClient) -> None:
    alumnus = user("alumnus@example.org")
    alumnus.roles.append(UserRole(role=Role.REVIEWER))
    db.session.commit()
    page = home_of(client, alumnus.email)
    for role in ("applicant", "reviewer", "alumnus"):
        section(page, role)
    assert 'id="home-staff"' not in page and 'id="home-admin"' not in page


def add_work(person: User, count: int) -> None:
    """More of everything: drafts in more open calls, assignments, surveys waiting, audit entries."""
    from tests.alumni.factories import add_follow_up
    from tests.selection.factories import AssignmentFactory

    reviewer = user("reviewer@example.org")
    fellow = db.session.scalars(select(Fellow).where(Fellow.user_id == user("alumnus@example.org").id)).one()
    taken = set(db.session.scalars(select(FollowUp.months_after_return).where(FollowUp.fellow_id == fellow.id)))
    for _ in range(count):
        call = CallFactory()
        ApplicationFactory(call=call, applicant=person)
        AssignmentFactory(application=ApplicationFactory(call=call, applicant=UserFactory()), reviewer_id=reviewer.id)
        months = max(taken) + 12
        taken.add(months)
        add_follow_up(fellow, months, FollowUpStatus.SENT)
    db.session.commit()


@pytest.mark.parametrize("email", ["applicant@example.org", "reviewer@example.org", "staff@example.org",
                                   "alumnus@example.org", "admin@example.org"])
def test_each_home_page_runs_the_same_number_of_queries_whatever_the_amount_of_work(
        demo: Flask, client: FlaskClient, email: str) -> None:
    login(client, email, DEMO_PASSWORD)
    add_work(user(email), 1)
    client.get("/")
    before = home_queries(client)
    add_work(user(email), 4)
    # Never more with more work. (The admin's recent activity names its objects with one query per kind of object
    # among the entries shown, so more work can show fewer kinds: each new call's form creation is one entry.)
    assert home_queries(client) <= before
